//! Writing the Prometheus text format (version 0.0.4): a family's `# HELP` and `# TYPE`
//! lines, then its samples, label values escaped.

use std::fmt::Write;

pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line: `name{label="value",…} value`.
pub(crate) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, text)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escaped(text));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

/// Whole numbers without a fraction, as Prometheus writes them.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_label_values_and_write_whole_numbers_plainly() {
        let mut out = String::new();
        sample(&mut out, "x_total", &[("route", "/a\"b\\c")], 3.0);
        sample(&mut out, "y_seconds", &[], 0.25);
        assert_eq!(out, "x_total{route=\"/a\\\"b\\\\c\"} 3\ny_seconds 0.25\n");
    }
}

//! `Content-Type` and `Content-Disposition` header values: the leading type and its
//! `; name=value` parameters.

/// Splits `type/subtype; a=b; c="d"` into the lowercased media type and its parameters.
pub(super) fn split_media_type(value: &str) -> (String, Vec<(String, String)>) {
    let (essence, rest) = value.split_once(';').unwrap_or((value, ""));
    (essence.trim().to_ascii_lowercase(), parse_params(rest))
}

/// Parses `; name=value; name="quoted \"value\""` parameters. Names are lowercased; in a
/// quoted value a backslash escapes only `"` and `\` (browsers send Windows paths and
/// percent-encode quotes, so other backslashes are kept).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b';' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b';' {
            i += 1;
        }
        let name = String::from_utf8_lossy(&b[start..i])
            .trim()
            .to_ascii_lowercase();
        if i >= b.len() || b[i] == b';' {
            out.push((name, String::new()));
            continue;
        }
        i += 1; // '='
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = Vec::new();
            while i < b.len() {
                match b[i] {
                    b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                        v.push(b[i + 1]);
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            while i < b.len() && b[i] != b';' {
                i += 1;
            }
            String::from_utf8_lossy(&v).into_owned()
        } else {
            let start = i;
            while i < b.len() && b[i] != b';' {
                i += 1;
            }
            String::from_utf8_lossy(&b[start..i]).trim().to_string()
        };
        out.push((name, value));
    }
    out
}

/// The first parameter called `name` (lowercase).
pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

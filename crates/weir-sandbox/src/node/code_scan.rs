//! Whether JavaScript source names one of a set of globals: an identifier outside
//! comments and string literals, not read as a property (`x.Buffer` is not the global).
//! A light scan, not a parse: regular-expression literals and the code inside template
//! literals' `${…}` are read as text, so a name there may be missed or counted; the
//! answer only decides whether Node's globals are made ahead of use (a built-in's first
//! load makes them anyway).

/// Whether `source` names any of `names` as a global.
pub(crate) fn names_any(source: &str, names: &[&str]) -> bool {
    let bytes = source.as_bytes();
    let mut at = 0;
    // The last byte of code that was not white space: a `.` before a name makes it a
    // property.
    let mut previous = b' ';
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = find(bytes, at + 2, b"\n").unwrap_or(bytes.len());
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = find(bytes, at + 2, b"*/").map_or(bytes.len(), |end| end + 2);
            }
            b'\'' | b'"' | b'`' => {
                at = string_end(bytes, at + 1, byte);
                previous = byte;
            }
            _ if is_identifier_start(byte) => {
                let start = at;
                while at < bytes.len() && is_identifier_part(bytes[at]) {
                    at += 1;
                }
                let word = &source[start..at];
                if previous != b'.' && names.contains(&word) {
                    return true;
                }
                previous = b'a';
            }
            _ => {
                if !byte.is_ascii_whitespace() {
                    previous = byte;
                }
                at += 1;
            }
        }
    }
    false
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn is_identifier_part(byte: u8) -> bool {
    is_identifier_start(byte) || byte.is_ascii_digit()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

/// Where the string literal opened by `quote` before `from` ends (just past it).
fn string_end(bytes: &[u8], mut at: usize, quote: u8) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            byte if byte == quote => return at + 1,
            b'\n' if quote != b'`' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["Buffer", "fetch", "URL"];

    #[test]
    fn globals_in_code_are_found() {
        assert!(names_any("var b = Buffer.from('x');", NAMES));
        assert!(names_any("const r = await fetch(url)", NAMES));
        assert!(names_any("x = new URL(u)", NAMES));
        assert!(names_any("if (typeof Buffer !== 'undefined') {}", NAMES));
    }

    #[test]
    fn comments_strings_and_properties_are_not_globals() {
        assert!(!names_any(
            "// fetch the ticket\n/* Buffer */ var x = 1;",
            NAMES
        ));
        assert!(!names_any(
            "log('fetch failed'); log(\"URL\"); log(`Buffer`);",
            NAMES
        ));
        assert!(!names_any(
            "api.fetch(); client.URL = 1; this.Buffer",
            NAMES
        ));
        assert!(!names_any(
            "var fetched = prefetch + URLs + Buffers;",
            NAMES
        ));
        assert!(!names_any("'it\\'s fetch' + \"a \\\" URL\"", NAMES));
        assert!(!names_any("", NAMES));
    }
}

//! JSON bodies: the nesting depth is checked in one pass over the bytes before
//! serde_json parses them.

use serde_json::Value;

use super::{BodyError, Limits, malformed};

/// Whether arrays/objects nest deeper than `limit`, found by one pass over the bytes
/// (brackets inside strings do not count), so serde_json never recurses past it.
fn json_too_deep(body: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

pub(super) fn parse_json(body: &[u8], limits: &Limits) -> Result<Value, BodyError> {
    // Some senders start JSON with a UTF-8 byte order mark, which serde_json refuses.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let limit = limits.depth();
    if json_too_deep(body, limit) {
        return Err(BodyError::TooDeep { limit });
    }
    serde_json::from_slice(body).map_err(|e| malformed("JSON", e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::inbound_body::tests::{data, err};
    use crate::inbound_body::{BodyError, Limits, parse};

    #[test]
    fn malformed_json_reports_the_position() {
        let e = err(Some("application/json"), b"{\n  \"a\": x\n}");
        let BodyError::Malformed { kind, message } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*kind, "JSON");
        assert!(message.contains("line 2"), "{message}");
        assert_eq!(e.status(), 400);
        assert!(e.message().starts_with("malformed JSON body: "));
        assert!(matches!(
            err(Some("application/json"), b""),
            BodyError::Malformed { kind: "JSON", .. }
        ));
        assert!(matches!(
            err(Some("application/json"), b"{} x"),
            BodyError::Malformed { kind: "JSON", .. }
        ));
    }

    #[test]
    fn json_with_a_byte_order_mark() {
        assert_eq!(data("application/json", "\u{feff}[1]"), json!([1]));
    }

    #[test]
    fn json_1000_deep_is_too_deep() {
        let arrays = "[".repeat(1000) + &"]".repeat(1000);
        let e = err(Some("application/json"), arrays.as_bytes());
        assert_eq!(e, BodyError::TooDeep { limit: 64 });
        assert_eq!(e.status(), 400);
        assert!(e.message().contains("64"));
        let objects = r#"{"a":"#.repeat(1000) + "1" + &"}".repeat(1000);
        assert_eq!(
            err(Some("application/json"), objects.as_bytes()),
            BodyError::TooDeep { limit: 64 }
        );
        // Unbalanced and huge: refused before serde_json recurses.
        let open = "[".repeat(100_000);
        assert_eq!(
            err(Some("application/json"), open.as_bytes()),
            BodyError::TooDeep { limit: 64 }
        );
    }

    #[test]
    fn json_depth_limit_is_exact_and_ignores_strings() {
        let at = "[".repeat(64) + &"]".repeat(64);
        assert!(parse(Some("application/json"), at.as_bytes(), &Limits::default()).is_ok());
        let over = "[".repeat(65) + &"]".repeat(65);
        assert_eq!(
            err(Some("application/json"), over.as_bytes()),
            BodyError::TooDeep { limit: 64 }
        );
        let brackets_in_strings = format!(r#"["{}", "\"{}"]"#, "[".repeat(200), "{".repeat(200));
        assert!(
            parse(
                Some("application/json"),
                brackets_in_strings.as_bytes(),
                &Limits::default()
            )
            .is_ok()
        );
        // A limit above serde_json's own acts as 127.
        let huge = Limits {
            max_bytes: 1 << 20,
            max_depth: 10_000,
        };
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(
            parse(Some("application/json"), deep.as_bytes(), &huge).unwrap_err(),
            BodyError::TooDeep { limit: 127 }
        );
    }
}

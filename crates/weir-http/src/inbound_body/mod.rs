//! Parsing the body of an incoming third-party webhook (POSTed to a per-installation URL)
//! into JSON for the app's handler.
//!
//! [`parse`] checks the size first, then picks a parser by the media type of the
//! `Content-Type` (case-insensitive, parameters such as `charset` ignored):
//!
//! | media type | `data` |
//! | --- | --- |
//! | `application/json`, `application/*+json` | the JSON document (a leading UTF-8 BOM is skipped) |
//! | `application/xml`, `text/xml`, `application/*+xml` | the XML mapped as described in `xml.rs` |
//! | `application/x-www-form-urlencoded` | `{"key": "value"}`; a repeated key becomes an array of strings in order; bad percent-encoding is decoded lossily, never an error |
//! | `multipart/form-data` (needs `boundary`) | `{"name": "value"}` for text fields, `{"name": {"filename", "content_type", "size", "content_base64"}}` for file parts (a part with a `filename` parameter); repeated names become arrays |
//! | `text/plain` | the text (lossy UTF-8) |
//! | none (or an empty header), empty body | `null` |
//! | none, non-empty body | the JSON document if the body parses as JSON within the limits, else the text |
//!
//! Any other media type is refused with 415. Nesting deeper than [`Limits::max_depth`] is
//! refused ([`BodyError::TooDeep`]); the depth is checked without recursion.
//!
//! # Modules
//!
//! - `json.rs`: JSON, with the depth check done before serde_json recurses;
//! - `xml.rs`: XML, with the XML→JSON mapping and its security and strictness rules;
//! - `form.rs`: `application/x-www-form-urlencoded`;
//! - `multipart.rs`: `multipart/form-data`, with why it is not parsed by `multer`;
//! - `params.rs`: `Content-Type` / `Content-Disposition` values and their parameters;
//! - `support.rs`: helpers the parsers share (error positions, repeated keys).

mod form;
mod json;
mod multipart;
mod params;
mod support;
mod xml;

use std::fmt;

use serde_json::Value;

use form::parse_form;
use json::parse_json;
use multipart::parse_multipart;
use params::{param, split_media_type};
use xml::parse_xml;

/// The deepest nesting accepted whatever [`Limits::max_depth`] says: serde_json refuses
/// 128 levels, and values this deep are still safe to drop and serialize recursively.
const HARD_MAX_DEPTH: usize = 127;

/// What an inbound body may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest body accepted, in bytes (default 128 KiB).
    pub max_bytes: usize,
    /// The deepest nesting accepted: JSON arrays/objects, or XML elements (the root is
    /// depth 1). Default 64; values above 127 act as 127.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 128 * 1024,
            max_depth: 64,
        }
    }
}

impl Limits {
    fn depth(&self) -> usize {
        self.max_depth.min(HARD_MAX_DEPTH)
    }
}

/// A parsed inbound body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBody {
    /// The body as JSON (see the module documentation for each media type).
    pub data: Value,
    /// The body as text (lossy UTF-8).
    pub raw: String,
    /// The media type, lowercased, without parameters; `""` when absent.
    pub content_type: String,
}

/// Why an inbound body was refused.
#[derive(Debug, PartialEq)]
pub enum BodyError {
    /// The body is larger than [`Limits::max_bytes`] (413).
    TooLarge { limit: usize },
    /// The media type is not one this module parses (415).
    UnsupportedType { given: String },
    /// The body does not parse as its media type says (400). `kind` is `"JSON"`, `"XML"`,
    /// `"form"` or `"multipart"`; `message` is the parser's, with a position where known.
    Malformed { kind: &'static str, message: String },
    /// The body nests deeper than [`Limits::max_depth`] (400).
    TooDeep { limit: usize },
}

const ACCEPTED_TYPES: &str = "application/json (and application/*+json), application/xml, \
    text/xml (and application/*+xml), application/x-www-form-urlencoded, multipart/form-data \
    and text/plain";

impl BodyError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            BodyError::TooLarge { .. } => 413,
            BodyError::UnsupportedType { .. } => 415,
            BodyError::Malformed { .. } | BodyError::TooDeep { .. } => 400,
        }
    }

    /// A precise, human-readable explanation for the sender.
    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge { limit } => {
                format!("the request body is larger than the limit of {limit} bytes")
            }
            BodyError::UnsupportedType { given } if given.is_empty() => {
                format!("the content type is not valid; accepted types are {ACCEPTED_TYPES}")
            }
            BodyError::UnsupportedType { given } => {
                format!("unsupported content type `{given}`; accepted types are {ACCEPTED_TYPES}")
            }
            BodyError::Malformed { kind, message } => format!("malformed {kind} body: {message}"),
            BodyError::TooDeep { limit } => {
                format!("the request body is nested more than {limit} levels deep")
            }
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for BodyError {}

/// Parses `body`, sent with the `Content-Type` header value `content_type`, into JSON.
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    limits: &Limits,
) -> Result<ParsedBody, BodyError> {
    if body.len() > limits.max_bytes {
        return Err(BodyError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let raw = String::from_utf8_lossy(body).into_owned();
    let header = content_type.map(str::trim).filter(|c| !c.is_empty());
    let Some(header) = header else {
        let data = if body.is_empty() {
            Value::Null
        } else {
            parse_json(body, limits).unwrap_or_else(|_| Value::String(raw.clone()))
        };
        return Ok(ParsedBody {
            data,
            raw,
            content_type: String::new(),
        });
    };
    let (essence, params) = split_media_type(header);
    let data = match classify(&essence) {
        Some(Kind::Json) => parse_json(body, limits)?,
        Some(Kind::Xml) => parse_xml(body, limits)?,
        Some(Kind::Form) => parse_form(body),
        Some(Kind::Multipart) => {
            let boundary = param(&params, "boundary").ok_or_else(|| {
                malformed(
                    "multipart",
                    "the Content-Type has no `boundary` parameter".to_string(),
                )
            })?;
            parse_multipart(body, boundary)?
        }
        Some(Kind::Text) => Value::String(raw.clone()),
        None => return Err(BodyError::UnsupportedType { given: essence }),
    };
    Ok(ParsedBody {
        data,
        raw,
        content_type: essence,
    })
}

fn malformed(kind: &'static str, message: String) -> BodyError {
    BodyError::Malformed { kind, message }
}

// ---------------------------------------------------------------------------------------
// Media types

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Xml,
    Form,
    Multipart,
    Text,
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn classify(essence: &str) -> Option<Kind> {
    let (ty, sub) = essence.split_once('/')?;
    let token = |s: &str| !s.is_empty() && s.chars().all(is_token_char);
    if !token(ty) || !token(sub) {
        return None;
    }
    let suffixed = |suffix: &str| sub.len() > suffix.len() && sub.ends_with(suffix);
    match (ty, sub) {
        ("application", "json") => Some(Kind::Json),
        ("application", _) if suffixed("+json") => Some(Kind::Json),
        ("application" | "text", "xml") => Some(Kind::Xml),
        ("application", _) if suffixed("+xml") => Some(Kind::Xml),
        ("application", "x-www-form-urlencoded") => Some(Kind::Form),
        ("multipart", "form-data") => Some(Kind::Multipart),
        ("text", "plain") => Some(Kind::Text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Shared with the submodules' tests.

    pub(super) fn ok(content_type: Option<&str>, body: &str) -> ParsedBody {
        parse(content_type, body.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{body:?} should parse: {}", e.message()))
    }

    pub(super) fn data(content_type: &str, body: &str) -> Value {
        ok(Some(content_type), body).data
    }

    pub(super) fn err(content_type: Option<&str>, body: &[u8]) -> BodyError {
        match parse(content_type, body, &Limits::default()) {
            Ok(parsed) => panic!("{body:?} should fail, got {:?}", parsed.data),
            Err(e) => e,
        }
    }

    // --- limits and size ---

    #[test]
    fn limits_default() {
        let limits = Limits::default();
        assert_eq!(limits.max_bytes, 128 * 1024);
        assert_eq!(limits.max_depth, 64);
    }

    #[test]
    fn body_one_byte_over_the_limit_is_too_large() {
        let limits = Limits {
            max_bytes: 10,
            max_depth: 64,
        };
        let at_limit = parse(Some("text/plain"), b"0123456789", &limits).unwrap();
        assert_eq!(at_limit.data, json!("0123456789"));
        let e = parse(Some("text/plain"), b"0123456789A", &limits).unwrap_err();
        assert_eq!(e, BodyError::TooLarge { limit: 10 });
        assert_eq!(e.status(), 413);
        assert!(e.message().contains("10 bytes"), "{}", e.message());
    }

    #[test]
    fn size_is_checked_before_the_type() {
        let limits = Limits {
            max_bytes: 1,
            max_depth: 64,
        };
        let e = parse(Some("image/png"), b"\x89PNG", &limits).unwrap_err();
        assert_eq!(e, BodyError::TooLarge { limit: 1 });
        let big = vec![b'x'; 128 * 1024 + 1];
        assert_eq!(
            err(Some("application/json"), &big),
            BodyError::TooLarge { limit: 128 * 1024 }
        );
    }

    // --- media types ---

    #[test]
    fn media_type_is_case_insensitive_and_parameters_are_ignored() {
        let parsed = ok(Some(" Application/JSON ; charset=UTF-8"), r#"{"a":1}"#);
        assert_eq!(parsed.data, json!({"a": 1}));
        assert_eq!(parsed.content_type, "application/json");
        assert_eq!(parsed.raw, r#"{"a":1}"#);
    }

    #[test]
    fn vendor_json_types_are_accepted() {
        let parsed = ok(Some("application/vnd.api+json"), r#"{"data":[]}"#);
        assert_eq!(parsed.data, json!({"data": []}));
        assert_eq!(parsed.content_type, "application/vnd.api+json");
        assert_eq!(data("application/merge-patch+json", "[1]"), json!([1]));
    }

    #[test]
    fn unsupported_type_is_415_and_named() {
        let e = err(Some("image/png"), b"\x89PNG");
        assert_eq!(
            e,
            BodyError::UnsupportedType {
                given: "image/png".to_string()
            }
        );
        assert_eq!(e.status(), 415);
        let message = e.message();
        assert!(message.contains("`image/png`"), "{message}");
        for accepted in [
            "application/json",
            "application/*+json",
            "application/xml",
            "text/xml",
            "application/*+xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ] {
            assert!(message.contains(accepted), "{message} lacks {accepted}");
        }
    }

    #[test]
    fn other_types_are_refused() {
        for given in [
            "text/html",
            "application/+json",
            "text/json",
            "json",
            "application/json/x",
            "/",
            "multipart/mixed; boundary=x",
            "text/vnd+xml",
        ] {
            let e = err(Some(given), b"{}");
            assert!(
                matches!(e, BodyError::UnsupportedType { .. }),
                "{given}: {e:?}"
            );
            assert_eq!(e.status(), 415);
        }
    }

    #[test]
    fn missing_content_type() {
        let empty = ok(None, "");
        assert_eq!(empty.data, Value::Null);
        assert_eq!(empty.content_type, "");
        assert_eq!(ok(None, r#"{"a":[1,2]}"#).data, json!({"a": [1, 2]}));
        assert_eq!(ok(None, "hello there").data, json!("hello there"));
        assert_eq!(ok(None, "<a>x</a>").data, json!("<a>x</a>"));
        // An empty header value counts as no header.
        assert_eq!(ok(Some("  "), "").data, Value::Null);
        // JSON deeper than the limit is not JSON within the limits: it is kept as text.
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(ok(None, &deep).data, json!(deep));
    }

    #[test]
    fn text_plain_is_a_string() {
        let parsed = ok(Some("text/plain; charset=utf-8"), "line 1\nline 2");
        assert_eq!(parsed.data, json!("line 1\nline 2"));
        assert_eq!(parsed.content_type, "text/plain");
        let lossy = parse(Some("text/plain"), b"a\xffb", &Limits::default()).unwrap();
        assert_eq!(lossy.data, json!("a\u{fffd}b"));
        assert_eq!(lossy.raw, "a\u{fffd}b");
    }

    // --- errors ---

    #[test]
    fn statuses_and_messages() {
        let cases = [
            (BodyError::TooLarge { limit: 5 }, 413, "limit of 5 bytes"),
            (
                BodyError::UnsupportedType {
                    given: "a/b".into(),
                },
                415,
                "`a/b`",
            ),
            (
                BodyError::Malformed {
                    kind: "form",
                    message: "bad".into(),
                },
                400,
                "malformed form body: bad",
            ),
            (BodyError::TooDeep { limit: 3 }, 400, "3 levels"),
        ];
        for (e, status, needle) in cases {
            assert_eq!(e.status(), status);
            assert!(e.message().contains(needle), "{}", e.message());
            assert_eq!(e.to_string(), e.message());
        }
    }

    // --- robustness ---

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Random bodies, half of them built from the characters that matter to the parsers.
    fn random_body(rng: &mut XorShift) -> Vec<u8> {
        const PIECES: &[&[u8]] = &[
            b"<",
            b">",
            b"</",
            b"/>",
            b"<a>",
            b"</a>",
            b"<b x=\"1\">",
            b"</b>",
            b"&amp;",
            b"&#65;",
            b"&",
            b";",
            b"<![CDATA[",
            b"]]>",
            b"<!--",
            b"-->",
            b"<?xml version=\"1.0\"?>",
            b"<!DOCTYPE",
            b"\"",
            b"'",
            b"=",
            b"{",
            b"}",
            b"[",
            b"]",
            b":",
            b",",
            b"1",
            b"\\",
            b"\r\n",
            b"--XyZ",
            b"--XyZ--",
            b"Content-Disposition: form-data; name=\"f\"",
            b"; filename=\"x\"",
            b"%",
            b"%E2",
            b"+",
            b"a",
            b" ",
            b"\xff",
            b"\xe2\x82",
        ];
        let len = rng.below(64);
        let mut body = Vec::new();
        if rng.below(2) == 0 {
            for _ in 0..len {
                body.push(rng.next() as u8);
            }
        } else {
            for _ in 0..len {
                body.extend_from_slice(PIECES[rng.below(PIECES.len())]);
            }
        }
        body
    }

    #[test]
    fn random_bodies_never_panic() {
        let types = [
            None,
            Some("application/json"),
            Some("application/vnd.api+json"),
            Some("application/xml"),
            Some("text/xml"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=XyZ"),
            Some("multipart/form-data"),
            Some("text/plain"),
            Some("image/png"),
        ];
        let limits = Limits {
            max_bytes: 1024,
            max_depth: 8,
        };
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let body = random_body(&mut rng);
            for content_type in types {
                if let Err(e) = parse(content_type, &body, &limits) {
                    assert!(matches!(e.status(), 400 | 413 | 415));
                    assert!(!e.message().is_empty());
                }
            }
        }
        // Random content types too.
        for _ in 0..500 {
            let ct = String::from_utf8_lossy(&random_body(&mut rng)).into_owned();
            let _ = parse(Some(&ct), b"x", &limits);
        }
    }
}

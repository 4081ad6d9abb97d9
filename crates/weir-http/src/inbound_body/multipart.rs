//! `multipart/form-data` bodies.
//!
//! # Why not `multer`
//!
//! multipart/form-data is parsed by a small parser in this module rather than `multer`:
//! `multer` is not in the dependency tree (axum's `multipart` feature is off) and would
//! bring `encoding_rs`, `spin` and a stream-based, async API that needs an executor for a
//! body that is already in memory. The parser follows RFC 7578/2046: an optional preamble,
//! `--boundary` lines ended by CRLF, part headers ended by an empty line, and the closing
//! `--boundary--` (the epilogue after it is ignored). Each part needs
//! `Content-Disposition: form-data; name="…"`. A file part's `content_type` is its
//! `Content-Type` header as sent, or `application/octet-stream` when absent. Text field
//! values are decoded as lossy UTF-8.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::params::{param, split_media_type};
use super::support::{at, push_repeated};
use super::{BodyError, malformed};

fn multipart_error(body: &[u8], pos: usize, message: impl fmt::Display) -> BodyError {
    malformed("multipart", format!("{message} at {}", at(body, pos)))
}

/// The offset of the next `\r\n--boundary` at or after `from` that is a real delimiter:
/// followed by `--`, a space or tab, CR, or the end of the body.
fn find_delimiter(body: &[u8], from: usize, crlf_delimiter: &[u8]) -> Option<usize> {
    let mut search = from;
    while search <= body.len() {
        let found = search + memchr::memmem::find(body.get(search..)?, crlf_delimiter)?;
        let after = body.get(found + crlf_delimiter.len()..).unwrap_or(&[]);
        if after.is_empty() || after.starts_with(b"--") || matches!(after[0], b' ' | b'\t' | b'\r')
        {
            return Some(found);
        }
        search = found + 1;
    }
    None
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file name of a part: `filename*=UTF-8''…` (RFC 5987) when given in UTF-8, else
/// `filename`.
fn part_filename(params: &[(String, String)]) -> Option<String> {
    if let Some(extended) = param(params, "filename*") {
        let mut pieces = extended.splitn(3, '\'');
        if let (Some(charset), Some(_language), Some(value)) =
            (pieces.next(), pieces.next(), pieces.next())
            && charset.eq_ignore_ascii_case("utf-8")
        {
            return Some(percent_decode(value));
        }
    }
    param(params, "filename").map(str::to_string)
}

pub(super) fn parse_multipart(body: &[u8], boundary: &str) -> Result<Value, BodyError> {
    if boundary.is_empty() || boundary.len() > 200 || boundary.contains(['\r', '\n']) {
        return Err(malformed(
            "multipart",
            format!("the boundary `{boundary}` is not valid"),
        ));
    }
    let crlf_delimiter = format!("\r\n--{boundary}").into_bytes();
    let delimiter = &crlf_delimiter[2..];

    // The first delimiter opens the body or follows the preamble.
    let mut pos = if body.starts_with(delimiter) {
        0
    } else {
        match find_delimiter(body, 0, &crlf_delimiter) {
            Some(found) => found + 2,
            None => {
                return Err(malformed(
                    "multipart",
                    format!("the opening boundary `--{boundary}` was not found"),
                ));
            }
        }
    };

    let mut fields = Map::new();
    loop {
        let mut p = pos + delimiter.len();
        let rest = body.get(p..).unwrap_or(&[]);
        if rest.starts_with(b"--") {
            return Ok(Value::Object(fields));
        }
        if rest.is_empty() {
            return Err(multipart_error(
                body,
                body.len(),
                format_args!("the body ended before the closing boundary `--{boundary}--`"),
            ));
        }
        while matches!(body.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
        if body.get(p..p + 2) != Some(b"\r\n") {
            return Err(multipart_error(
                body,
                p,
                "a boundary line must end with CRLF",
            ));
        }
        p += 2;

        // The part runs to the next delimiter: headers, an empty line, then the content.
        let part_start = p;
        let Some(next) = find_delimiter(body, p, &crlf_delimiter) else {
            return Err(multipart_error(
                body,
                body.len(),
                format_args!("the body ended before the closing boundary `--{boundary}--`"),
            ));
        };
        let part = &body[p..next];
        let (header_block, content): (&[u8], &[u8]) = if let Some(rest) = part.strip_prefix(b"\r\n")
        {
            (&[], rest)
        } else if let Some(end) = memchr::memmem::find(part, b"\r\n\r\n") {
            (&part[..end], &part[end + 4..])
        } else if let Some(headers) = part.strip_suffix(b"\r\n") {
            // Headers, then the delimiter's own CRLF: a part without content.
            (headers, &[])
        } else {
            return Err(multipart_error(
                body,
                part_start,
                "the part's headers are not ended by an empty line",
            ));
        };

        let mut disposition = None;
        let mut part_type = None;
        let header_text = String::from_utf8_lossy(header_block);
        let mut lines: Vec<(String, String)> = Vec::new();
        for line in header_text.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                // A folded continuation of the previous header (obsolete, but harmless).
                match lines.last_mut() {
                    Some((_, value)) => {
                        value.push(' ');
                        value.push_str(line.trim());
                    }
                    None => {
                        return Err(multipart_error(
                            body,
                            part_start,
                            "a part's headers start with a continuation line",
                        ));
                    }
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(multipart_error(
                    body,
                    part_start,
                    format_args!("the part header line `{line}` has no `:`"),
                ));
            };
            lines.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        for (name, value) in lines {
            match name.as_str() {
                "content-disposition" if disposition.is_none() => disposition = Some(value),
                "content-type" if part_type.is_none() => part_type = Some(value),
                _ => {}
            }
        }

        let Some(disposition) = disposition else {
            return Err(multipart_error(
                body,
                part_start,
                "a part has no Content-Disposition header",
            ));
        };
        let (disposition_type, params) = split_media_type(&disposition);
        if disposition_type != "form-data" {
            return Err(multipart_error(
                body,
                part_start,
                format_args!(
                    "a part's Content-Disposition is `{disposition_type}`, not `form-data`"
                ),
            ));
        }
        let Some(name) = param(&params, "name") else {
            return Err(multipart_error(
                body,
                part_start,
                "a part's Content-Disposition has no `name`",
            ));
        };
        let value = match part_filename(&params) {
            Some(filename) => {
                let mut file = Map::new();
                file.insert("filename".to_string(), Value::String(filename));
                file.insert(
                    "content_type".to_string(),
                    Value::String(
                        part_type.unwrap_or_else(|| "application/octet-stream".to_string()),
                    ),
                );
                file.insert("size".to_string(), Value::from(content.len()));
                file.insert(
                    "content_base64".to_string(),
                    Value::String(STANDARD.encode(content)),
                );
                Value::Object(file)
            }
            None => Value::String(String::from_utf8_lossy(content).into_owned()),
        };
        push_repeated(&mut fields, name.to_string(), value);
        pos = next + 2;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::inbound_body::{Limits, parse};

    const MULTIPART: &str = "multipart/form-data; boundary=XyZ";

    fn multipart(ct: &str, body: &[u8]) -> Result<Value, BodyError> {
        parse(Some(ct), body, &Limits::default()).map(|p| p.data)
    }

    #[test]
    fn multipart_text_field_and_file() {
        let body = b"preamble to ignore\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"title\"\r\n\
\r\n\
Hello, world\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"upload\"; filename=\"a b.txt\"\r\n\
Content-Type: text/plain\r\n\
\r\n\
file\r\ncontent\r\n\
--XyZ\r\n\
content-disposition: form-data; name=\"blob\"; filename=\"x.bin\"\r\n\
\r\n\
\x00\x01\xff\r\n\
--XyZ--\r\n\
epilogue";
        let parsed = parse(Some(MULTIPART), body, &Limits::default()).unwrap();
        assert_eq!(parsed.content_type, "multipart/form-data");
        assert_eq!(
            parsed.data,
            json!({
                "title": "Hello, world",
                "upload": {
                    "filename": "a b.txt",
                    "content_type": "text/plain",
                    "size": 13,
                    "content_base64": STANDARD.encode("file\r\ncontent"),
                },
                "blob": {
                    "filename": "x.bin",
                    "content_type": "application/octet-stream",
                    "size": 3,
                    "content_base64": "AAH/",
                },
            })
        );
    }

    #[test]
    fn multipart_repeated_names_quoted_boundary_and_empty_values() {
        let body = "--a:b c\r\n\
Content-Disposition: form-data; name=tag\r\n\r\n\
one\r\n\
--a:b c\r\n\
Content-Disposition: form-data; name=\"tag\"\r\n\r\n\
two\r\n\
--a:b c\r\n\
Content-Disposition: form-data; name=\"empty\"\r\n\r\n\
\r\n\
--a:b c\r\n\
Content-Disposition: form-data; name=\"nf\"; filename=\"\"\r\n\r\n\
\r\n\
--a:b c\r\n\
Content-Disposition: form-data; name=\"euro\"; filename*=UTF-8''%E2%82%AC.txt\r\n\r\n\
x\r\n\
--a:b c--";
        let value = multipart(r#"multipart/form-data; BOUNDARY="a:b c""#, body.as_bytes()).unwrap();
        assert_eq!(value["tag"], json!(["one", "two"]));
        assert_eq!(value["empty"], json!(""));
        assert_eq!(value["nf"]["filename"], json!(""));
        assert_eq!(value["nf"]["size"], json!(0));
        assert_eq!(value["euro"]["filename"], json!("€.txt"));
        // A line that merely starts with the boundary is content.
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZabc\r\n--XyZ--";
        assert_eq!(
            multipart(MULTIPART, body).unwrap(),
            json!({"a": "x\r\n--XyZabc"})
        );
        // A part whose headers run into the delimiter has no content.
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--XyZ--";
        assert_eq!(multipart(MULTIPART, body).unwrap(), json!({"a": ""}));
        // Folded header lines are joined.
        let body = b"--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv\r\n--XyZ--";
        assert_eq!(multipart(MULTIPART, body).unwrap(), json!({"a": "v"}));
        // No parts at all.
        assert_eq!(multipart(MULTIPART, b"--XyZ--\r\n").unwrap(), json!({}));
    }

    #[test]
    fn multipart_errors() {
        let is_malformed = |r: Result<Value, BodyError>, needle: &str| match r {
            Err(BodyError::Malformed {
                kind: "multipart",
                message,
            }) => assert!(message.contains(needle), "{message} lacks {needle}"),
            other => panic!("expected malformed multipart, got {other:?}"),
        };
        let good = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--";
        is_malformed(multipart("multipart/form-data", good), "boundary");
        is_malformed(
            multipart("multipart/form-data; boundary=", good),
            "boundary",
        );
        is_malformed(
            multipart(MULTIPART, b"no boundary here"),
            "opening boundary",
        );
        is_malformed(multipart(MULTIPART, b""), "opening boundary");
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
            ),
            "closing boundary",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ",
            ),
            "closing boundary",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
            ),
            "Content-Disposition",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
            ),
            "form-data",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
            ),
            "name",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nbad line\r\n\r\nx\r\n--XyZ--",
            ),
            "no `:`",
        );
        is_malformed(
            multipart(
                MULTIPART,
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n--XyZ--",
            ),
            "empty line",
        );
        is_malformed(multipart(MULTIPART, b"--XyZ junk"), "CRLF");
    }
}

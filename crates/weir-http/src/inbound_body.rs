//! Parsing the body of an incoming third-party webhook (POSTed to a per-installation URL)
//! into JSON for the app's handler.
//!
//! [`parse`] checks the size first, then picks a parser by the media type of the
//! `Content-Type` (case-insensitive, parameters such as `charset` ignored):
//!
//! | media type | `data` |
//! | --- | --- |
//! | `application/json`, `application/*+json` | the JSON document (a leading UTF-8 BOM is skipped) |
//! | `application/xml`, `text/xml`, `application/*+xml` | the XML mapped as below |
//! | `application/x-www-form-urlencoded` | `{"key": "value"}`; a repeated key becomes an array of strings in order; bad percent-encoding is decoded lossily, never an error |
//! | `multipart/form-data` (needs `boundary`) | `{"name": "value"}` for text fields, `{"name": {"filename", "content_type", "size", "content_base64"}}` for file parts (a part with a `filename` parameter); repeated names become arrays |
//! | `text/plain` | the text (lossy UTF-8) |
//! | none (or an empty header), empty body | `null` |
//! | none, non-empty body | the JSON document if the body parses as JSON within the limits, else the text |
//!
//! Any other media type is refused with 415. Nesting deeper than [`Limits::max_depth`] is
//! refused ([`BodyError::TooDeep`]); the depth is checked without recursion.
//!
//! # XML to JSON
//!
//! - The document becomes `{"<root name>": <root element>}`.
//! - An element with no attributes and no child elements becomes its text, a string
//!   (`<a>hi</a>` → `"hi"`, whitespace kept as written; `<a/>` → `""`).
//! - Any other element becomes an object, in this order:
//!   - each attribute as `"@name": "value"` (values normalized as XML requires: tabs
//!     and line ends become spaces, references decoded);
//!   - each child element under its name; a name that occurs more than once becomes an
//!     array of the children in document order, kept at the position of the first one;
//!   - the element's text, if it has any non-whitespace text, as `"#text"`: all its text
//!     pieces concatenated, with leading and trailing whitespace trimmed.
//! - CDATA sections count as text. Line ends in text are normalized to `\n`.
//! - Names are kept as written, namespace prefixes included (`<soap:Body>` → key
//!   `"soap:Body"`, `xmlns:soap="…"` → `"@xmlns:soap"`); namespaces are not resolved.
//! - Comments, processing instructions and the XML declaration are dropped.
//!
//! Example: `<order id="7"><item>a</item><item sku="x">b</item><note/>paid</order>` →
//! `{"order": {"@id": "7", "item": ["a", {"@sku": "x", "#text": "b"}], "note": "", "#text": "paid"}}`.
//!
//! Security and strictness: a `<!DOCTYPE` anywhere is refused (DTDs are not accepted), so
//! no entity is ever defined or expanded and an entity bomb costs one linear scan. Only the
//! five predefined entities (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;`) and numeric character
//! references are decoded; any other entity reference is an error. The body must be UTF-8
//! (an `encoding` in the declaration is ignored). Element nesting (the root is depth 1)
//! deeper than the limit is [`BodyError::TooDeep`]. Mismatched or unclosed tags, content
//! outside the root element, several roots and an empty document are
//! [`BodyError::Malformed`] with the parser's message and the line and column.
//!
//! # Multipart
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
use quick_xml::XmlVersion;
use quick_xml::escape::{EscapeError, resolve_xml_entity};
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value};

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

/// Splits `type/subtype; a=b; c="d"` into the lowercased media type and its parameters.
fn split_media_type(value: &str) -> (String, Vec<(String, String)>) {
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
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------
// Positions

/// The 1-based line and column (in characters) of byte offset `pos` of `text`.
fn line_col(text: &[u8], pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

fn at(text: &[u8], pos: usize) -> String {
    let (line, column) = line_col(text, pos);
    format!("line {line}, column {column}")
}

// ---------------------------------------------------------------------------------------
// JSON

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

fn parse_json(body: &[u8], limits: &Limits) -> Result<Value, BodyError> {
    // Some senders start JSON with a UTF-8 byte order mark, which serde_json refuses.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let limit = limits.depth();
    if json_too_deep(body, limit) {
        return Err(BodyError::TooDeep { limit });
    }
    serde_json::from_slice(body).map_err(|e| malformed("JSON", e.to_string()))
}

// ---------------------------------------------------------------------------------------
// XML

/// An element being read: its name, its object (attributes, then children) and its text.
struct Frame {
    name: String,
    object: Map<String, Value>,
    text: String,
    has_attributes: bool,
    has_children: bool,
}

impl Frame {
    fn into_value(self) -> (String, Value) {
        if !self.has_attributes && !self.has_children {
            return (self.name, Value::String(self.text));
        }
        let mut object = self.object;
        let text = self.text.trim_matches(is_xml_whitespace);
        if !text.is_empty() {
            object.insert("#text".to_string(), Value::String(text.to_string()));
        }
        (self.name, Value::Object(object))
    }
}

fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// A permissive check of the XML `Name` production: enough to refuse names that are
/// empty, start with a digit, `-`, `.`, or contain markup or punctuation (so no key can
/// start with `@` or `#`).
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    let start_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
    match chars.next() {
        Some(c) if start_ok(c) => {}
        _ => return false,
    }
    chars.all(|c| start_ok(c) || c.is_ascii_digit() || c == '-' || c == '.')
}

fn insert_child(object: &mut Map<String, Value>, name: String, value: Value) {
    // Element values are never arrays, so an array here is a repeated name.
    match object.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            object.insert(name, value);
        }
    }
}

fn xml_error(text: &str, pos: usize, message: impl fmt::Display) -> BodyError {
    malformed("XML", format!("{message} at {}", at(text.as_bytes(), pos)))
}

const ONLY_ENTITIES: &str =
    "only &lt; &gt; &amp; &apos; &quot; and numeric character references are accepted";

/// An attribute syntax error, placed at its own position (quick-xml counts from the
/// character after the tag's `<`).
fn attribute_error(text: &str, tag_pos: usize, name: &str, e: AttrError) -> BodyError {
    let (offset, what) = match e {
        AttrError::ExpectedEq(p) => (p, "an attribute name must be followed by `=`".to_string()),
        AttrError::ExpectedValue(p) => {
            (p, "`=` must be followed by an attribute value".to_string())
        }
        AttrError::UnquotedValue(p) => (
            p,
            "an attribute value must be enclosed in `\"` or `'`".to_string(),
        ),
        AttrError::ExpectedQuote(p, quote) => (
            p,
            format!(
                "missing closing quote `{}` in an attribute value",
                quote as char
            ),
        ),
        AttrError::Duplicated(p, _) => (p, "duplicated attribute".to_string()),
    };
    let pos = tag_pos.saturating_add(1).saturating_add(offset);
    xml_error(text, pos, format_args!("{what} in `<{name}>`"))
}

fn open_frame(text: &str, pos: usize, start: &BytesStart<'_>) -> Result<Frame, BodyError> {
    let name = start.name().into_inner();
    if !is_xml_name(name) {
        return Err(xml_error(
            text,
            pos,
            format_args!("invalid element name `{name}`"),
        ));
    }
    let mut object = Map::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| attribute_error(text, pos, name, e))?;
        let key = attribute.key.into_inner();
        if !is_xml_name(key) {
            return Err(xml_error(
                text,
                pos,
                format_args!("invalid attribute name `{key}` in `<{name}>`"),
            ));
        }
        let value = attribute
            .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
            .map_err(|e| match e {
                quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, entity)) => xml_error(
                    text,
                    pos,
                    format_args!(
                        "unknown entity `&{entity};` in attribute `{key}` of `<{name}>` \
                         ({ONLY_ENTITIES})"
                    ),
                ),
                e => xml_error(
                    text,
                    pos,
                    format_args!("in attribute `{key}` of `<{name}>`: {e}"),
                ),
            })?;
        object.insert(format!("@{key}"), Value::String(value.into_owned()));
    }
    Ok(Frame {
        name: name.to_string(),
        has_attributes: !object.is_empty(),
        object,
        text: String::new(),
        has_children: false,
    })
}

fn parse_xml(body: &[u8], limits: &Limits) -> Result<Value, BodyError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        malformed(
            "XML",
            format!(
                "the body is not valid UTF-8 (invalid byte at {})",
                at(body, e.valid_up_to())
            ),
        )
    })?;
    let limit = limits.depth();
    let mut reader = Reader::from_str(text);
    reader.config_mut().enable_all_checks(true);

    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    let mut first_event = true;
    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let pos = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                return Err(match e {
                    quick_xml::Error::Syntax(quick_xml::errors::SyntaxError::UnclosedDoctype)
                    | quick_xml::Error::IllFormed(
                        quick_xml::errors::IllFormedError::MissingDoctypeName,
                    ) => xml_error(text, pos, "DTDs (`<!DOCTYPE …>`) are not accepted"),
                    e => xml_error(text, pos, e),
                });
            }
        };
        let is_first = std::mem::replace(&mut first_event, false);
        match event {
            Event::Decl(_) if is_first => {}
            Event::Decl(_) => {
                return Err(xml_error(
                    text,
                    pos,
                    "the XML declaration is allowed only at the start of the document",
                ));
            }
            Event::DocType(_) => {
                return Err(xml_error(
                    text,
                    pos,
                    "DTDs (`<!DOCTYPE …>`) are not accepted",
                ));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = start.name().into_inner().to_string();
                let first = root.as_ref().map_or("", |(n, _)| n.as_str());
                return Err(xml_error(
                    text,
                    pos,
                    format_args!(
                        "more than one root element: `<{name}>` follows the root `<{first}>`"
                    ),
                ));
            }
            Event::Start(start) => {
                if stack.len() >= limit {
                    return Err(BodyError::TooDeep { limit });
                }
                stack.push(open_frame(text, pos, &start)?);
            }
            Event::Empty(start) => {
                if stack.len() >= limit {
                    return Err(BodyError::TooDeep { limit });
                }
                let frame = open_frame(text, pos, &start)?;
                close_frame(&mut stack, &mut root, frame);
            }
            Event::End(end) => {
                let Some(frame) = stack.pop() else {
                    let name = end.name().into_inner();
                    return Err(xml_error(
                        text,
                        pos,
                        format_args!("`</{name}>` closes no open element"),
                    ));
                };
                close_frame(&mut stack, &mut root, frame);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(text, pos, &mut stack, root.is_some(), &content)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                if stack.is_empty() {
                    return Err(outside_root(text, pos, root.is_some()));
                }
                push_text(text, pos, &mut stack, root.is_some(), &content)?;
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => String::new(),
                        Err(e) => return Err(xml_error(text, pos, e)),
                    }
                } else {
                    match resolve_xml_entity(&r) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(xml_error(
                                text,
                                pos,
                                format_args!("unknown entity `&{};` ({ONLY_ENTITIES})", &*r),
                            ));
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(outside_root(text, pos, root.is_some()));
                }
                push_text(text, pos, &mut stack, root.is_some(), &resolved)?;
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(xml_error(
                        text,
                        text.len(),
                        format_args!("the document ended before `<{}>` was closed", open.name),
                    ));
                }
                break;
            }
        }
    }
    match root {
        Some((name, value)) => {
            let mut document = Map::new();
            document.insert(name, value);
            Ok(Value::Object(document))
        }
        None => Err(malformed(
            "XML",
            "the document is empty: no root element".to_string(),
        )),
    }
}

fn close_frame(stack: &mut [Frame], root: &mut Option<(String, Value)>, frame: Frame) {
    let (name, value) = frame.into_value();
    match stack.last_mut() {
        Some(parent) => {
            parent.has_children = true;
            insert_child(&mut parent.object, name, value);
        }
        None => *root = Some((name, value)),
    }
}

fn outside_root(text: &str, pos: usize, after_root: bool) -> BodyError {
    let message = if after_root {
        "trailing content after the root element"
    } else {
        "content before the root element"
    };
    xml_error(text, pos, message)
}

fn push_text(
    text: &str,
    pos: usize,
    stack: &mut [Frame],
    after_root: bool,
    content: &str,
) -> Result<(), BodyError> {
    match stack.last_mut() {
        Some(frame) => {
            frame.text.push_str(content);
            Ok(())
        }
        None if content.chars().all(is_xml_whitespace) => Ok(()),
        None => {
            let offset = content.len() - content.trim_start_matches(is_xml_whitespace).len();
            Err(outside_root(text, pos.saturating_add(offset), after_root))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Forms

fn push_repeated(object: &mut Map<String, Value>, key: String, value: Value) {
    // Values are strings or file objects, never arrays, so an array is a repeated key.
    insert_child(object, key, value);
}

fn parse_form(body: &[u8]) -> Value {
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(body) {
        push_repeated(
            &mut object,
            key.into_owned(),
            Value::String(value.into_owned()),
        );
    }
    Value::Object(object)
}

// ---------------------------------------------------------------------------------------
// Multipart

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

fn parse_multipart(body: &[u8], boundary: &str) -> Result<Value, BodyError> {
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
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn ok(content_type: Option<&str>, body: &str) -> ParsedBody {
        parse(content_type, body.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{body:?} should parse: {}", e.message()))
    }

    fn data(content_type: &str, body: &str) -> Value {
        ok(Some(content_type), body).data
    }

    fn err(content_type: Option<&str>, body: &[u8]) -> BodyError {
        match parse(content_type, body, &Limits::default()) {
            Ok(parsed) => panic!("{body:?} should fail, got {:?}", parsed.data),
            Err(e) => e,
        }
    }

    fn xml(body: &str) -> Value {
        data("application/xml", body)
    }

    fn xml_err(body: &str) -> String {
        match err(Some("application/xml"), body.as_bytes()) {
            BodyError::Malformed {
                kind: "XML",
                message,
            } => message,
            other => panic!("{body:?}: expected malformed XML, got {other:?}"),
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

    // --- JSON ---

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

    // --- XML ---

    #[test]
    fn xml_text_only_elements_are_strings() {
        assert_eq!(xml("<a>hi</a>"), json!({"a": "hi"}));
        assert_eq!(xml("<a/>"), json!({"a": ""}));
        assert_eq!(xml("<a></a>"), json!({"a": ""}));
        assert_eq!(xml("<a>  spaced  </a>"), json!({"a": "  spaced  "}));
        assert_eq!(xml("<a>l1\r\nl2</a>"), json!({"a": "l1\nl2"}));
    }

    #[test]
    fn xml_attributes_children_and_mixed_text() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<order id="7" status='paid'>
  <item>a</item>
  <item sku="x">b</item>
  <note/>
  total
  <meta><k>v</k></meta>
</order>"#;
        assert_eq!(
            xml(body),
            json!({"order": {
                "@id": "7",
                "@status": "paid",
                "item": ["a", {"@sku": "x", "#text": "b"}],
                "note": "",
                "meta": {"k": "v"},
                "#text": "total",
            }})
        );
        // Key order: attributes, children in document order, then #text.
        let order = xml(body);
        let keys: Vec<&String> = order["order"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["@id", "@status", "item", "note", "meta", "#text"]);
        // Whitespace-only text beside attributes is dropped; empty element with attributes.
        assert_eq!(xml(r#"<a x="1">  </a>"#), json!({"a": {"@x": "1"}}));
        assert_eq!(xml(r#"<a x="1"/>"#), json!({"a": {"@x": "1"}}));
        assert_eq!(
            xml(r#"<a x="1">text</a>"#),
            json!({"a": {"@x": "1", "#text": "text"}})
        );
        // A repeated child becomes an array in document order even with others between.
        assert_eq!(
            xml("<r><i>1</i><j>x</j><i>2</i><i>3</i></r>"),
            json!({"r": {"i": ["1", "2", "3"], "j": "x"}})
        );
        // Attribute values are normalized: tab and newlines become spaces.
        assert_eq!(xml("<a v=\"x\ty\nz\"/>"), json!({"a": {"@v": "x y z"}}));
    }

    #[test]
    fn xml_module_doc_example_holds() {
        assert_eq!(
            xml(r#"<order id="7"><item>a</item><item sku="x">b</item><note/>paid</order>"#),
            json!({"order": {"@id": "7", "item": ["a", {"@sku": "x", "#text": "b"}], "note": "", "#text": "paid"}})
        );
    }

    #[test]
    fn xml_cdata_counts_as_text() {
        assert_eq!(
            xml("<a><![CDATA[<b>not a tag</b> & co]]></a>"),
            json!({"a": "<b>not a tag</b> & co"})
        );
        assert_eq!(xml("<a>x <![CDATA[y]]> z</a>"), json!({"a": "x y z"}));
        assert_eq!(
            xml(r#"<a k="v"><![CDATA[data]]></a>"#),
            json!({"a": {"@k": "v", "#text": "data"}})
        );
    }

    #[test]
    fn xml_namespaces_comments_and_pis() {
        let body = r#"<?xml version="1.0"?>
<!-- leading comment -->
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <?php echo 1; ?>
  <soap:Body><!-- inner --><m:Ping xmlns:m="urn:x">ok</m:Ping></soap:Body>
</soap:Envelope>
<!-- trailing comment -->
"#;
        assert_eq!(
            xml(body),
            json!({"soap:Envelope": {
                "@xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/",
                "soap:Body": {"m:Ping": {"@xmlns:m": "urn:x", "#text": "ok"}},
            }})
        );
        assert_eq!(xml("<a>x<!-- c -->y<?pi z?></a>"), json!({"a": "xy"}));
    }

    #[test]
    fn xml_types_are_accepted() {
        assert_eq!(data("text/xml", "<a>1</a>"), json!({"a": "1"}));
        assert_eq!(
            data("application/atom+xml; charset=utf-8", "<feed/>"),
            json!({"feed": ""})
        );
        let parsed = ok(Some("Application/SOAP+XML"), "<x/>");
        assert_eq!(parsed.content_type, "application/soap+xml");
    }

    #[test]
    fn xml_entities() {
        assert_eq!(
            xml("<a>&lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x20AC;</a>"),
            json!({"a": "<>&'\" AB€"})
        );
        assert_eq!(
            xml(r#"<a v="&lt;&#65;&amp;"/>"#),
            json!({"a": {"@v": "<A&"}})
        );
        let message = xml_err("<a>&nbsp;</a>");
        assert!(message.contains("unknown entity `&nbsp;`"), "{message}");
        assert!(message.contains("line 1, column 4"), "{message}");
        let message = xml_err(r#"<a v="&foo;"/>"#);
        assert!(message.contains("unknown entity `&foo;`"), "{message}");
        xml_err("<a>&#0;</a>");
        xml_err("<a>&#xD800;</a>");
        xml_err("<a>&#xZZ;</a>");
        xml_err("<a>AT&T</a>");
        xml_err("<a>&amp</a>");
    }

    #[test]
    fn xml_doctype_is_refused() {
        let message = xml_err("<!DOCTYPE a><a/>");
        assert!(message.contains("DTDs"), "{message}");
        assert!(message.contains("not accepted"), "{message}");
        let message = xml_err(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a>&xxe;</a>",
        );
        assert!(message.contains("DTDs"), "{message}");
        assert!(message.contains("line 2, column 1"), "{message}");
        let message = xml_err("<!DOCTYPE a [");
        assert!(message.contains("DTDs"), "{message}");
    }

    #[test]
    fn xml_billion_laughs_is_refused_quickly() {
        let mut bomb = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n");
        bomb.push_str(" <!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let previous = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            let refs = format!("&{previous};").repeat(10);
            bomb.push_str(&format!(" <!ENTITY lol{i} \"{refs}\">\n"));
        }
        bomb.push_str("]>\n<lolz>&lol9;</lolz>");
        let started = Instant::now();
        let message = xml_err(&bomb);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(message.contains("DTDs"), "{message}");
        // Without the DTD the reference is merely unknown.
        let message = xml_err("<lolz>&lol9;</lolz>");
        assert!(message.contains("unknown entity"), "{message}");
    }

    #[test]
    fn xml_1000_deep_is_too_deep() {
        let deep = "<a>".repeat(1000) + &"</a>".repeat(1000);
        let e = err(Some("application/xml"), deep.as_bytes());
        assert_eq!(e, BodyError::TooDeep { limit: 64 });
        assert_eq!(e.status(), 400);
        let at_limit = "<a>".repeat(64) + &"</a>".repeat(64);
        assert!(parse(Some("text/xml"), at_limit.as_bytes(), &Limits::default()).is_ok());
        let over = "<a>".repeat(64) + "<b/>" + &"</a>".repeat(64);
        assert_eq!(
            err(Some("text/xml"), over.as_bytes()),
            BodyError::TooDeep { limit: 64 }
        );
    }

    #[test]
    fn xml_malformed_documents() {
        let message = xml_err("<a>\n  <b></c>\n</a>");
        assert!(message.contains("expected `</b>`"), "{message}");
        assert!(message.contains("line 2, column 6"), "{message}");

        let message = xml_err("<a/>garbage");
        assert!(message.contains("trailing content"), "{message}");
        assert!(message.contains("line 1, column 5"), "{message}");

        let message = xml_err("<a/><b/>");
        assert!(message.contains("more than one root"), "{message}");

        let message = xml_err("");
        assert!(message.contains("empty"), "{message}");
        let message = xml_err("  \n <!-- only a comment -->\n");
        assert!(message.contains("no root element"), "{message}");

        let message = xml_err("<a><b>");
        assert!(message.contains("`<b>` was closed"), "{message}");

        let message = xml_err("text<a/>");
        assert!(message.contains("before the root"), "{message}");

        let message = xml_err("<a/><![CDATA[x]]>");
        assert!(message.contains("trailing content"), "{message}");

        let message = xml_err("</a>");
        assert!(message.contains("</a>"), "{message}");

        let message = xml_err("<a x=1/>");
        assert!(message.contains("attribute"), "{message}");

        let message = xml_err(r#"<a x="1" x="2"/>"#);
        assert!(message.contains("duplicated"), "{message}");
        assert!(message.contains("line 1, column 10"), "{message}");

        let message = xml_err("<a><1b/></a>");
        assert!(message.contains("invalid element name"), "{message}");

        let message = xml_err("<a/>\n<?xml version=\"1.0\"?>");
        assert!(message.contains("declaration"), "{message}");

        let message = xml_err("<a");
        assert!(message.contains("line 1, column 1"), "{message}");

        let e = err(Some("application/xml"), b"<a>\xff</a>");
        assert!(
            matches!(&e, BodyError::Malformed { kind: "XML", message } if message.contains("UTF-8")),
            "{e:?}"
        );
    }

    // --- forms ---

    #[test]
    fn form_values_and_repeated_keys() {
        let parsed = ok(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "a=1&b=hello+world&a=2&c=%E2%82%AC&a=3&empty=&flag",
        );
        assert_eq!(parsed.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            parsed.data,
            json!({"a": ["1", "2", "3"], "b": "hello world", "c": "€", "empty": "", "flag": ""})
        );
        assert_eq!(data("application/x-www-form-urlencoded", ""), json!({}));
    }

    #[test]
    fn form_bad_percent_encoding_is_lossy() {
        assert_eq!(
            data("application/x-www-form-urlencoded", "a=%zz&b=%&c=%ff"),
            json!({"a": "%zz", "b": "%", "c": "\u{fffd}"})
        );
    }

    // --- multipart ---

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

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col(b"ab\ncd", 0), (1, 1));
        assert_eq!(line_col(b"ab\ncd", 4), (2, 2));
        assert_eq!("€x".len(), 4);
        assert_eq!(line_col("€x".as_bytes(), 3), (1, 2));
        assert_eq!(line_col(b"ab", 99), (1, 3));
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

//! XML bodies, mapped to JSON.
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

use std::fmt;

use quick_xml::XmlVersion;
use quick_xml::escape::{EscapeError, resolve_xml_entity};
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value};

use super::support::{at, insert_child};
use super::{BodyError, Limits, malformed};

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

pub(super) fn parse_xml(body: &[u8], limits: &Limits) -> Result<Value, BodyError> {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use crate::inbound_body::tests::{data, err, ok};
    use crate::inbound_body::{BodyError, Limits, parse};

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
}

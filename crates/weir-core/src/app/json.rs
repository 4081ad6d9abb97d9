//! Reading the JSON (and YAML) files of a package: strictly (a key given twice is an
//! error, where `serde_json` would silently keep the last), into JSON values that know
//! their JSON pointer, so that a problem can say exactly where it is. YAML files (the
//! integration.app connector specs) are read into the same JSON values.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::problem::PackageProblem;

/// Parses a whole file; syntax errors and duplicate keys come back located by line:column.
pub fn parse_file(file: &str, bytes: &[u8]) -> Result<Value, PackageProblem> {
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|strict| strict.0)
        .map_err(|e| {
            let location = format!("{}:{}", e.line(), e.column());
            PackageProblem::new(file, location, without_position(e.to_string()))
        })
}

/// Parses a whole YAML file into a JSON value; errors come back located by line:column.
pub fn parse_yaml_file(file: &str, bytes: &[u8]) -> Result<Value, PackageProblem> {
    yaml_serde::from_slice::<StrictValue>(bytes)
        .map(|strict| strict.0)
        .map_err(|e| {
            let location = e
                .location()
                .map_or(String::new(), |l| format!("{}:{}", l.line(), l.column()));
            PackageProblem::new(file, location, without_position(e.to_string()))
        })
}

/// The parsers append " at line L column C"; the problem's location says it already.
fn without_position(message: String) -> String {
    match message.split_once(" at line ") {
        Some((text, _)) => text.to_owned(),
        None => message,
    }
}

/// A JSON value that refuses duplicate object keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut seen = BTreeSet::new();
        while let Some(key) = access.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key {key:?} is given twice")));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A value inside a file, with its JSON pointer.
#[derive(Clone)]
pub struct Node<'a> {
    pub file: &'a str,
    pub value: &'a Value,
    pub pointer: String,
}

impl<'a> Node<'a> {
    pub fn root(file: &'a str, value: &'a Value) -> Self {
        Node {
            file,
            value,
            pointer: String::new(),
        }
    }

    /// The location to report: the JSON pointer, empty for the whole document.
    pub fn location(&self) -> &str {
        &self.pointer
    }

    pub fn problem(&self, message: impl Into<String>) -> PackageProblem {
        PackageProblem::new(self.file, self.location(), message)
    }

    /// A member of this object, if present (also when this is not an object).
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.value.get(key).map(|value| Node {
            file: self.file,
            value,
            pointer: format!(
                "{}/{}",
                self.pointer,
                key.replace('~', "~0").replace('/', "~1")
            ),
        })
    }

    pub fn members(&self) -> Result<Vec<(&'a str, Node<'a>)>, PackageProblem> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.problem("must be an object"))?;
        Ok(object
            .keys()
            .map(|key| (key.as_str(), self.get(key).expect("a present key")))
            .collect())
    }

    pub fn items(&self) -> Result<Vec<Node<'a>>, PackageProblem> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.problem("must be an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(index, value)| Node {
                file: self.file,
                value,
                pointer: format!("{}/{index}", self.pointer),
            })
            .collect())
    }

    pub fn string(&self) -> Result<&'a str, PackageProblem> {
        self.value
            .as_str()
            .ok_or_else(|| self.problem("must be a string"))
    }

    pub fn boolean(&self) -> Result<bool, PackageProblem> {
        self.value
            .as_bool()
            .ok_or_else(|| self.problem("must be true or false"))
    }

    /// A whole number within `range`.
    pub fn integer(&self, range: std::ops::RangeInclusive<i64>) -> Result<i64, PackageProblem> {
        self.value
            .as_i64()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                self.problem(format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            })
    }

    /// An object whose every value is a string, e.g. headers.
    pub fn string_map(&self) -> Result<Vec<(String, String)>, PackageProblem> {
        self.members()?
            .into_iter()
            .map(|(key, value)| Ok((key.to_owned(), value.string()?.to_owned())))
            .collect()
    }

    /// Reports members other than `allowed`, naming them and the allowed ones.
    pub fn unknown_members(&self, allowed: &[&str]) -> Vec<PackageProblem> {
        let Some(object) = self.value.as_object() else {
            return Vec::new();
        };
        object
            .keys()
            .filter(|key| !allowed.contains(&key.as_str()))
            .map(|key| {
                self.get(key).expect("a present key").problem(format!(
                    "unknown field {key:?} (expected one of: {})",
                    allowed.join(", ")
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_located() {
        let problem = parse_file("manifest.json", b"{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!(
            problem.to_string(),
            "manifest.json 3:5: the key \"a\" is given twice"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let problem = parse_file("x.json", b"{\"a\": }").unwrap_err();
        assert_eq!(problem.to_string(), "x.json 1:7: expected value");
    }

    #[test]
    fn yaml_reads_into_json_values() {
        let value = parse_yaml_file(
            "spec.yml",
            b"name: Hook\nkey: hook\nmethods:\n  handle: {}\n",
        );
        assert_eq!(value.unwrap()["methods"]["handle"], serde_json::json!({}));
        let problem = parse_yaml_file("spec.yml", b"key: a\nkey: b\n").unwrap_err();
        assert_eq!(problem.file, "spec.yml");
        assert_eq!(
            problem.to_string(),
            "spec.yml 1:1: the key \"key\" is given twice"
        );
    }

    #[test]
    fn nodes_know_their_pointer() {
        let value = parse_file("x.json", br#"{"a/b": {"c": [1, "two"]}}"#).unwrap();
        let root = Node::root("x.json", &value);
        let items = root.get("a/b").unwrap().get("c").unwrap().items().unwrap();
        assert_eq!(items[1].pointer, "/a~1b/c/1");
        assert_eq!(
            items[0].string().unwrap_err().to_string(),
            "x.json /a~1b/c/0: must be a string"
        );
        assert_eq!(root.string().unwrap_err().location, "");
    }
}

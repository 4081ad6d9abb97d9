//! `$db`: the key-value store each installation has (Freshworks semantics, REFERENCE §1).
//!
//! This module holds the rules, as pure functions over JSON: what a valid key and value
//! are, the options of `set`, and what each `update` operation does to a stored value. The
//! errors carry the platform's statuses and texts, because apps branch on them
//! (`err.status === 404`).

use serde_json::{Map, Value, json};

/// Limits of the platform (docs): key length, and key plus value size.
pub const MAX_KEY_CHARS: usize = 60;
pub const MAX_ENTRY_BYTES: usize = 40 * 1024;

/// A `$db` error: the app's promise is rejected with its `{status, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub status: u16,
    pub message: String,
}

impl DataError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        DataError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        DataError::new(404, "Record not found")
    }

    pub fn condition_failed() -> Self {
        DataError::new(400, "The setIf conditional request failed")
    }
}

/// `setIf`: write only if the key exists, or only if it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetIf {
    Exists,
    Absent,
}

/// A checked `$db.set(key, value, options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SetRequest {
    pub key: String,
    pub value: Value,
    /// Seconds the entry lives; `None` keeps it until deleted.
    pub ttl: Option<u64>,
    pub set_if: Option<SetIf>,
}

/// Checks a key: a non-blank string of at most 60 characters.
pub fn key(value: Option<&Value>) -> Result<String, DataError> {
    let key = match value {
        None | Some(Value::Null) => {
            return Err(DataError::new(
                400,
                "Mandatory attributes (key or value) is missing",
            ));
        }
        Some(Value::String(key)) => key.as_str(),
        Some(_) => return Err(DataError::new(400, "The key should be a string")),
    };
    if key.trim().is_empty() {
        return Err(DataError::new(400, "The key cannot be blank"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(DataError::new(
            400,
            format!("Key length should not exceed {MAX_KEY_CHARS} characters"),
        ));
    }
    Ok(key.to_owned())
}

/// Checks the arguments of `$db.set(key, value, options?)`.
pub fn set_request(key: &Value, value: &Value, options: &Value) -> Result<SetRequest, DataError> {
    let key = self::key(Some(key))?;
    let value = match value {
        Value::Null => {
            return Err(DataError::new(
                400,
                "Mandatory attributes (key or value) is missing",
            ));
        }
        Value::Object(object) if !object.is_empty() => Value::Object(clean(object.clone())),
        _ => {
            return Err(DataError::new(
                422,
                "The value should be a non-empty JSON object",
            ));
        }
    };
    check_size(&key, &value)?;
    let mut request = SetRequest {
        key,
        value,
        ttl: None,
        set_if: None,
    };
    match options {
        Value::Null => {}
        Value::Object(options) => {
            for (name, option) in options {
                match name.as_str() {
                    "ttl" => request.ttl = Some(ttl(option)?),
                    "setIf" => request.set_if = Some(set_if(option)?),
                    other => {
                        return Err(DataError::new(
                            400,
                            format!("Invalid option {other} inside options"),
                        ));
                    }
                }
            }
        }
        _ => return Err(DataError::new(400, "The options should be a JSON object")),
    }
    Ok(request)
}

fn ttl(value: &Value) -> Result<u64, DataError> {
    value
        .as_u64()
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| DataError::new(400, "The ttl should be a positive whole number of seconds"))
}

fn set_if(value: &Value) -> Result<SetIf, DataError> {
    match value.as_str() {
        Some("exist") => Ok(SetIf::Exists),
        Some("not_exist") => Ok(SetIf::Absent),
        _ => Err(DataError::new(
            422,
            "The setIf value should be \"exist\" or \"not_exist\"",
        )),
    }
}

/// The key and its value together must stay within 40 KB.
pub fn check_size(key: &str, value: &Value) -> Result<(), DataError> {
    if key.len() + value.to_string().len() > MAX_ENTRY_BYTES {
        return Err(DataError::new(
            400,
            format!(
                "The combined size of the key and value should not exceed {} KB",
                MAX_ENTRY_BYTES / 1024
            ),
        ));
    }
    Ok(())
}

/// `""` is stored as null, as the platform does (NaN and ±Infinity arrive as null already:
/// JSON has no way to say them).
fn clean(object: Map<String, Value>) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(s) if s.is_empty() => (name, Value::Null),
            Value::Object(inner) => (name, Value::Object(clean(inner))),
            other => (name, other),
        })
        .collect()
}

/// `$db.update(key, action, attributes)` applied to the stored value (`None` if the key
/// has none). Increment and append on a missing key store the attributes as given.
pub fn update(
    current: Option<&Value>,
    action: &Value,
    attributes: &Value,
) -> Result<Value, DataError> {
    let action = action.as_str().unwrap_or_default();
    match (action, current) {
        ("increment" | "append", None) => {
            check_update(action, attributes)?;
            Ok(attributes.clone())
        }
        (_, None) if ["set", "remove"].contains(&action) => Err(DataError::not_found()),
        ("increment", Some(current)) => increment(current, attributes),
        ("append", Some(current)) => append(current, attributes),
        ("set", Some(current)) => set_paths(current, attributes),
        ("remove", Some(current)) => remove_paths(current, attributes),
        _ => Err(DataError::new(
            400,
            format!("Invalid action {action:?}: use increment, append, set or remove"),
        )),
    }
}

fn check_update(action: &str, attributes: &Value) -> Result<(), DataError> {
    let Some(fields) = attributes.as_object().filter(|f| !f.is_empty()) else {
        return Err(DataError::new(
            400,
            format!("Invalid value for {action}: give an object of attributes"),
        ));
    };
    for (name, value) in fields {
        let fits = if action == "increment" {
            value.is_number()
        } else {
            value.is_array()
        };
        if !fits {
            let kind = if action == "increment" {
                "a number"
            } else {
                "an array"
            };
            return Err(DataError::new(
                400,
                format!("Invalid value for {action}: {name} must be {kind}"),
            ));
        }
    }
    Ok(())
}

fn increment(current: &Value, attributes: &Value) -> Result<Value, DataError> {
    check_update("increment", attributes)?;
    let mut stored = current.clone();
    for (name, by) in attributes.as_object().into_iter().flatten() {
        let now = stored.get(name).cloned().unwrap_or(json!(0));
        let sum = match (now.as_i64(), by.as_i64()) {
            (Some(a), Some(b)) => a.checked_add(b).map(Value::from),
            _ => match (now.as_f64(), by.as_f64()) {
                (Some(a), Some(b)) => serde_json::Number::from_f64(a + b).map(Value::Number),
                _ => None,
            },
        };
        let Some(sum) = sum else {
            return Err(DataError::new(
                400,
                format!("Invalid value for increment: {name} is not a number"),
            ));
        };
        stored[name] = sum;
    }
    Ok(stored)
}

fn append(current: &Value, attributes: &Value) -> Result<Value, DataError> {
    check_update("append", attributes)?;
    let mut stored = current.clone();
    for (name, items) in attributes.as_object().into_iter().flatten() {
        match stored.get_mut(name) {
            None | Some(Value::Null) => stored[name] = items.clone(),
            Some(Value::Array(list)) => {
                list.extend(items.as_array().into_iter().flatten().cloned())
            }
            Some(_) => {
                return Err(DataError::new(
                    400,
                    format!("Invalid value for append: {name} is not an array"),
                ));
            }
        }
    }
    Ok(stored)
}

/// `set` takes dotted paths (`"logs.ticket_1.time": 500`), creating objects on the way.
fn set_paths(current: &Value, attributes: &Value) -> Result<Value, DataError> {
    let Some(fields) = attributes.as_object().filter(|f| !f.is_empty()) else {
        return Err(DataError::new(
            400,
            "Invalid value for set: give an object of attributes",
        ));
    };
    let mut stored = current.clone();
    for (path, value) in fields {
        let mut node = &mut stored;
        let segments: Vec<&str> = path.split('.').collect();
        for segment in &segments[..segments.len() - 1] {
            if !node.get(*segment).is_some_and(Value::is_object) {
                node[*segment] = json!({});
            }
            node = &mut node[*segment];
        }
        node[segments[segments.len() - 1]] = value.clone();
    }
    Ok(stored)
}

/// `remove` takes an array of dotted paths.
fn remove_paths(current: &Value, attributes: &Value) -> Result<Value, DataError> {
    let Some(paths) = attributes
        .as_array()
        .filter(|p| p.iter().all(Value::is_string))
    else {
        return Err(DataError::new(
            400,
            "Invalid value for remove: give an array of attribute paths",
        ));
    };
    let mut stored = current.clone();
    for path in paths.iter().filter_map(Value::as_str) {
        let segments: Vec<&str> = path.split('.').collect();
        let mut node = Some(&mut stored);
        for segment in &segments[..segments.len() - 1] {
            node = node.and_then(|n| n.get_mut(*segment));
        }
        if let Some(Value::Object(parent)) = node {
            parent.remove(segments[segments.len() - 1]);
        }
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, message: &str) -> DataError {
        DataError::new(status, message)
    }

    #[test]
    fn set_checks_key_value_and_options() {
        let set = |args: &Value| set_request(&args[0], &args[1], &args[2]);
        let ok = set(&json!(["k", {"a": 1, "b": ""}, {"ttl": 60, "setIf": "not_exist"}])).unwrap();
        assert_eq!(ok.value, json!({"a": 1, "b": null}));
        assert_eq!((ok.ttl, ok.set_if), (Some(60), Some(SetIf::Absent)));
        let cases = [
            (
                json!([" ", {"a": 1}]),
                error(400, "The key cannot be blank"),
            ),
            (
                json!(["x".repeat(61), {"a": 1}]),
                error(400, "Key length should not exceed 60 characters"),
            ),
            (
                json!(["k"]),
                error(400, "Mandatory attributes (key or value) is missing"),
            ),
            (
                json!(["k", "text"]),
                error(422, "The value should be a non-empty JSON object"),
            ),
            (
                json!(["k", {}]),
                error(422, "The value should be a non-empty JSON object"),
            ),
            (
                json!(["k", {"a": 1}, {"setIf": "maybe"}]),
                error(422, "The setIf value should be \"exist\" or \"not_exist\""),
            ),
            (
                json!(["k", {"a": 1}, {"expire": 5}]),
                error(400, "Invalid option expire inside options"),
            ),
            (
                json!(["k", {"a": "x".repeat(41 * 1024)}]),
                error(
                    400,
                    "The combined size of the key and value should not exceed 40 KB",
                ),
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(set(&args).unwrap_err(), expected, "{args}");
        }
    }

    #[test]
    fn update_actions() {
        let stored = json!({"count": 1, "tags": ["a"], "logs": {"t1": {"time": 5}}});
        assert_eq!(
            update(Some(&stored), &json!("increment"), &json!({"count": 2})).unwrap()["count"],
            3
        );
        assert_eq!(
            update(Some(&stored), &json!("append"), &json!({"tags": ["b"]})).unwrap()["tags"],
            json!(["a", "b"])
        );
        assert_eq!(
            update(
                Some(&stored),
                &json!("set"),
                &json!({"logs.t2.time": 7, "owner": "me"})
            )
            .unwrap(),
            json!({"count": 1, "tags": ["a"], "logs": {"t1": {"time": 5}, "t2": {"time": 7}}, "owner": "me"})
        );
        assert_eq!(
            update(
                Some(&stored),
                &json!("remove"),
                &json!(["logs.t1", "count"])
            )
            .unwrap(),
            json!({"tags": ["a"], "logs": {}})
        );
        assert_eq!(
            update(None, &json!("increment"), &json!({"count": 2})).unwrap(),
            json!({"count": 2})
        );
        assert_eq!(
            update(None, &json!("set"), &json!({"a": 1})).unwrap_err(),
            DataError::not_found()
        );
        assert_eq!(
            update(Some(&stored), &json!("increment"), &json!({"tags": 1})).unwrap_err(),
            error(400, "Invalid value for increment: tags is not a number")
        );
        assert_eq!(
            update(Some(&stored), &json!("append"), &json!({"tags": "b"})).unwrap_err(),
            error(400, "Invalid value for append: tags must be an array")
        );
        assert_eq!(
            update(Some(&stored), &json!("merge"), &json!({})).unwrap_err(),
            error(
                400,
                "Invalid action \"merge\": use increment, append, set or remove"
            )
        );
    }
}

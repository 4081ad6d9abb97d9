//! integration.app "mapping" methods (REFERENCE §4 1.7): an output computed from the
//! input by formulas, without code. Weir evaluates the formula a selector mapping needs:
//! `{"$var": "$.parameters.userId"}` reads a value of the input by its path; anything
//! else is a literal, with objects and arrays evaluated member by member. An unknown
//! formula (a one-key object whose key starts with `$`) is an error that names it, never
//! a silent literal.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

/// `mapping` evaluated over `input` (e.g. `{"parameters": {…}, "credentials": {…}}`).
pub fn evaluate(mapping: &Value, input: &Value) -> Result<Value, MappingError> {
    match mapping {
        Value::Object(object) => match object.iter().next() {
            // A formula is an object of one `$` key.
            Some((key, argument)) if object.len() == 1 && key.starts_with('$') => {
                match key.as_str() {
                    "$var" => variable(argument, input),
                    formula => Err(MappingError(format!(
                        "the formula {formula} is not supported (Weir evaluates $var)"
                    ))),
                }
            }
            _ => evaluate_members(object, input),
        },
        Value::Array(items) => items.iter().map(|item| evaluate(item, input)).collect(),
        literal => Ok(literal.clone()),
    }
}

fn evaluate_members(object: &Map<String, Value>, input: &Value) -> Result<Value, MappingError> {
    object
        .iter()
        .map(|(key, value)| Ok((key.clone(), evaluate(value, input)?)))
        .collect::<Result<Map<_, _>, _>>()
        .map(Value::Object)
}

/// `$.a.b` (or `a.b`): the value at that path, `null` where the input has none.
fn variable(path: &Value, input: &Value) -> Result<Value, MappingError> {
    let Some(path) = path.as_str() else {
        return Err(MappingError(format!(
            "$var takes a path like \"$.parameters.id\", not {path}"
        )));
    };
    let steps = path.strip_prefix('$').unwrap_or(path);
    let mut at = input;
    for step in steps.split('.').filter(|step| !step.is_empty()) {
        at = match at {
            Value::Object(object) => object.get(step).unwrap_or(&Value::Null),
            Value::Array(items) => step
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    Ok(at.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn variables_are_read_by_path_and_the_rest_is_literal() {
        let mapping = json!({
            "globalWebhookKey": "all-events",
            "globalWebhookEventSelector": {"$var": "$.parameters.userId"},
            "list": [{"$var": "$.credentials.teams.1"}, 3],
        });
        let input = json!({"parameters": {"userId": "U7"}, "credentials": {"teams": ["a", "b"]}});
        assert_eq!(
            evaluate(&mapping, &input).unwrap(),
            json!({"globalWebhookKey": "all-events", "globalWebhookEventSelector": "U7",
                "list": ["b", 3]})
        );
        assert_eq!(
            evaluate(&json!({"$var": "$.missing.x"}), &input).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn unknown_formulas_are_named() {
        let error = evaluate(&json!({"$concat": ["a", "b"]}), &json!({})).unwrap_err();
        assert_eq!(
            error.0,
            "the formula $concat is not supported (Weir evaluates $var)"
        );
        let error = evaluate(&json!({"$var": 3}), &json!({})).unwrap_err();
        assert!(error.0.starts_with("$var takes a path"), "{error}");
    }
}

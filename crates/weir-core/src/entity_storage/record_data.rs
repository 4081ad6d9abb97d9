//! What a record's `data` may hold, checked against its entity's declaration: only the
//! declared fields, each value of its field's type (or `null`, no value), every required
//! field with a value, and at most 100 KB of JSON (docs). Also the form in which filterable
//! values are compared, so that `getAll` finds `5` whether the record holds `5` or `5.0`.
//!
//! Limits from the docs: `text` 64 characters, `paragraph` 2048, numbers 15 digits, dates
//! `YYYY-MM-DD`, date-times ISO 8601. Guessed: a date-time needs its offset (`Z` or
//! `+05:30`), as an instant without one is ambiguous; a required text is missing when
//! blank; an `enum` value is the choice's `value`, not its `id`.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value};

use super::EntityError;
use crate::app::entities::{EntityDefinition, EntityField, FieldType};

/// The JSON of a record's data, at most (docs: 100 KB).
pub const MAX_RECORD_BYTES: usize = 100 * 1024;
pub const MAX_TEXT_CHARS: usize = 64;
pub const MAX_PARAGRAPH_CHARS: usize = 2048;
/// Numbers have at most 15 digits before the point: below 10^15 in magnitude.
const NUMBER_LIMIT: f64 = 1e15;

/// The data of a new record (`create(data)`), checked.
pub fn new_record(
    entity: &EntityDefinition,
    given: &Value,
) -> Result<Map<String, Value>, EntityError> {
    let data = checked_fields(entity, given)?;
    complete(entity, &data)?;
    Ok(data)
}

/// The data of a record after `update(id, changes)`: the given fields replace the stored
/// ones, the others stay (a field given `null` is cleared).
pub fn updated_record(
    entity: &EntityDefinition,
    stored: &Map<String, Value>,
    changes: &Value,
) -> Result<Map<String, Value>, EntityError> {
    let changes = checked_fields(entity, changes)?;
    let mut data = stored.clone();
    data.extend(changes);
    complete(entity, &data)?;
    Ok(data)
}

/// The given fields, each known to the entity and of its type.
fn checked_fields(
    entity: &EntityDefinition,
    given: &Value,
) -> Result<Map<String, Value>, EntityError> {
    let Value::Object(fields) = given else {
        return Err(EntityError::invalid(
            "The record's data should be a JSON object of its fields",
        ));
    };
    for (name, value) in fields {
        let Some(field) = entity.field(name) else {
            let known: Vec<&str> = entity.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(EntityError::invalid(format!(
                "Unknown field {name:?}: the fields of {} are {}",
                entity.name,
                known.join(", ")
            )));
        };
        check_value(field, value)
            .map_err(|why| EntityError::invalid(format!("Invalid value for {name:?}: {why}")))?;
    }
    Ok(fields.clone())
}

/// Every required field has a value, and the whole fits.
fn complete(entity: &EntityDefinition, data: &Map<String, Value>) -> Result<(), EntityError> {
    for field in entity.fields.iter().filter(|f| f.required) {
        let missing = match data.get(&field.name) {
            None | Some(Value::Null) => true,
            Some(Value::String(text)) => text.trim().is_empty(),
            Some(_) => false,
        };
        if missing {
            return Err(EntityError::invalid(format!(
                "The required field {:?} has no value",
                field.name
            )));
        }
    }
    let size = Value::Object(data.clone()).to_string().len();
    if size > MAX_RECORD_BYTES {
        return Err(EntityError::invalid(format!(
            "The record is too large: {size} bytes of JSON, the limit is {MAX_RECORD_BYTES}"
        )));
    }
    Ok(())
}

/// Whether `value` fits `field`: `null`, or a value of its type within its limits. `Err`
/// says what the field takes.
pub fn check_value(field: &EntityField, value: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let fits = match field.kind {
        FieldType::Text => text_within(value, MAX_TEXT_CHARS),
        FieldType::Paragraph => text_within(value, MAX_PARAGRAPH_CHARS),
        FieldType::Integer => whole_number(value).is_some(),
        FieldType::Float => number(value).is_some(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Date => date(value).is_some(),
        FieldType::Datetime => instant(value).is_some(),
        FieldType::Enum => value
            .as_str()
            .is_some_and(|v| field.choices.iter().any(|c| c.value == v)),
    };
    match fits {
        true => Ok(()),
        false => Err(expected(field)),
    }
}

/// What a field of `field`'s type takes, for error messages.
fn expected(field: &EntityField) -> String {
    match field.kind {
        FieldType::Text => format!("must be text of at most {MAX_TEXT_CHARS} characters"),
        FieldType::Paragraph => {
            format!("must be text of at most {MAX_PARAGRAPH_CHARS} characters")
        }
        FieldType::Integer => "must be a whole number of at most 15 digits".into(),
        FieldType::Float => "must be a number of at most 15 digits before the point".into(),
        FieldType::Boolean => "must be true or false".into(),
        FieldType::Date => "must be a date such as \"2024-01-31\"".into(),
        FieldType::Datetime => "must be an ISO 8601 date and time with its offset, such as \
             \"2024-01-31T09:30:00.000Z\""
            .into(),
        FieldType::Enum => {
            let values: Vec<String> = field
                .choices
                .iter()
                .map(|c| format!("{:?}", c.value))
                .collect();
            format!("must be one of {}", values.join(", "))
        }
    }
}

/// The form in which a value of `field` is compared by `getAll`'s filters; `None` for
/// `null`, and for a value that does not fit the field (checked values always fit).
pub fn filter_value(field: &EntityField, value: &Value) -> Option<String> {
    if value.is_null() || check_value(field, value).is_err() {
        return None;
    }
    match field.kind {
        FieldType::Text | FieldType::Paragraph | FieldType::Enum | FieldType::Date => {
            value.as_str().map(str::to_owned)
        }
        FieldType::Integer => whole_number(value).map(|n| n.to_string()),
        FieldType::Float => number(value).map(|n| n.to_string()),
        FieldType::Boolean => value.as_bool().map(|b| b.to_string()),
        FieldType::Datetime => instant(value).map(|at| at.to_string()),
    }
}

/// The record's filterable values, as `getAll` compares them: `(field, value)` for each
/// filterable field that has one.
pub fn filter_values(
    entity: &EntityDefinition,
    data: &Map<String, Value>,
) -> Vec<(String, String)> {
    entity
        .fields
        .iter()
        .filter(|field| field.filterable)
        .filter_map(|field| {
            let value = filter_value(field, data.get(&field.name)?)?;
            Some((field.name.clone(), value))
        })
        .collect()
}

fn text_within(value: &Value, max_chars: usize) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.chars().count() <= max_chars)
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|n| n.abs() < NUMBER_LIMIT)
}

/// A whole number, also when written `5.0`.
fn whole_number(value: &Value) -> Option<i64> {
    let n = number(value)?;
    match value.as_i64() {
        Some(whole) => Some(whole),
        None if n.fract() == 0.0 => Some(n as i64),
        None => None,
    }
}

fn date(value: &Value) -> Option<Date> {
    let text = value.as_str()?;
    let shaped = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    shaped.then(|| text.parse().ok()).flatten()
}

fn instant(value: &Value) -> Option<Timestamp> {
    value.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::entities::Choice;

    fn field(name: &str, kind: FieldType) -> EntityField {
        EntityField {
            name: name.into(),
            label: None,
            kind,
            required: false,
            filterable: true,
            choices: match kind {
                FieldType::Enum => vec![
                    Choice {
                        id: 1,
                        value: "Pending".into(),
                    },
                    Choice {
                        id: 2,
                        value: "Done".into(),
                    },
                ],
                _ => vec![],
            },
            section: None,
        }
    }

    fn restaurants() -> EntityDefinition {
        let mut name = field("name", FieldType::Text);
        name.required = true;
        name.filterable = false;
        EntityDefinition {
            name: "restaurants".into(),
            fields: vec![
                name,
                field("seats", FieldType::Integer),
                field("rating", FieldType::Float),
                field("open", FieldType::Boolean),
                field("status", FieldType::Enum),
                field("since", FieldType::Date),
                field("checked_at", FieldType::Datetime),
                field("notes", FieldType::Paragraph),
            ],
            declaration: Value::Null,
        }
    }

    fn invalid(message: &str) -> EntityError {
        EntityError::invalid(message)
    }

    #[test]
    fn a_new_record_holds_declared_fields_of_their_types() {
        let entity = restaurants();
        let data = json!({"name": "Barbq", "seats": 40, "rating": 4.5, "open": true,
                          "status": "Pending", "since": "2020-12-09",
                          "checked_at": "2020-12-09T11:24:47.230Z", "notes": null});
        assert_eq!(
            new_record(&entity, &data).unwrap(),
            data.as_object().unwrap().clone()
        );
        let cases = [
            (
                json!("text"),
                invalid("The record's data should be a JSON object of its fields"),
            ),
            (
                json!({"seats": 1}),
                invalid("The required field \"name\" has no value"),
            ),
            (
                json!({"name": "  "}),
                invalid("The required field \"name\" has no value"),
            ),
            (
                json!({"name": null}),
                invalid("The required field \"name\" has no value"),
            ),
            (
                json!({"name": "x", "owner": "me"}),
                invalid(
                    "Unknown field \"owner\": the fields of restaurants are name, seats, \
                     rating, open, status, since, checked_at, notes",
                ),
            ),
            (
                json!({"name": "x".repeat(65)}),
                invalid("Invalid value for \"name\": must be text of at most 64 characters"),
            ),
            (
                json!({"name": "x", "seats": 4.5}),
                invalid("Invalid value for \"seats\": must be a whole number of at most 15 digits"),
            ),
            (
                json!({"name": "x", "seats": 1e15}),
                invalid("Invalid value for \"seats\": must be a whole number of at most 15 digits"),
            ),
            (
                json!({"name": "x", "rating": "4.5"}),
                invalid(
                    "Invalid value for \"rating\": must be a number of at most 15 digits \
                     before the point",
                ),
            ),
            (
                json!({"name": "x", "open": "yes"}),
                invalid("Invalid value for \"open\": must be true or false"),
            ),
            (
                json!({"name": "x", "status": 1}),
                invalid("Invalid value for \"status\": must be one of \"Pending\", \"Done\""),
            ),
            (
                json!({"name": "x", "since": "2020-02-30"}),
                invalid("Invalid value for \"since\": must be a date such as \"2024-01-31\""),
            ),
            (
                json!({"name": "x", "since": "20200201"}),
                invalid("Invalid value for \"since\": must be a date such as \"2024-01-31\""),
            ),
            (
                json!({"name": "x", "checked_at": "2020-12-09T11:24:47"}),
                invalid(
                    "Invalid value for \"checked_at\": must be an ISO 8601 date and time \
                     with its offset, such as \"2024-01-31T09:30:00.000Z\"",
                ),
            ),
            (
                json!({"name": "x", "notes": "n".repeat(2049)}),
                invalid("Invalid value for \"notes\": must be text of at most 2048 characters"),
            ),
        ];
        for (given, error) in cases {
            assert_eq!(new_record(&entity, &given), Err(error), "{given}");
        }
    }

    #[test]
    fn a_record_is_at_most_100_kb() {
        let mut entity = restaurants();
        let mut notes: Vec<EntityField> = (0..60)
            .map(|i| field(&format!("p{i}"), FieldType::Paragraph))
            .collect();
        entity.fields.append(&mut notes);
        let mut data = json!({"name": "x"});
        for i in 0..60 {
            data[format!("p{i}")] = json!("n".repeat(2000));
        }
        let error = new_record(&entity, &data).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(
            error.message.starts_with("The record is too large: 12"),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_update_merges_and_is_checked_whole() {
        let entity = restaurants();
        let stored = json!({"name": "Barbq", "seats": 40});
        let stored = stored.as_object().unwrap();
        assert_eq!(
            Value::Object(
                updated_record(&entity, stored, &json!({"seats": null, "open": false})).unwrap()
            ),
            json!({"name": "Barbq", "seats": null, "open": false})
        );
        assert_eq!(
            updated_record(&entity, stored, &json!({"name": null})),
            Err(invalid("The required field \"name\" has no value"))
        );
        assert_eq!(
            updated_record(&entity, stored, &json!({"seats": "many"}))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn filter_values_compare_numbers_and_instants_by_value() {
        let entity = restaurants();
        let seats = entity.field("seats").unwrap();
        assert_eq!(
            filter_value(seats, &json!(5)),
            filter_value(seats, &json!(5.0))
        );
        let rating = entity.field("rating").unwrap();
        assert_eq!(
            filter_value(rating, &json!(4)),
            filter_value(rating, &json!(4.0))
        );
        assert_eq!(filter_value(rating, &json!(4.5)).as_deref(), Some("4.5"));
        let checked = entity.field("checked_at").unwrap();
        assert_eq!(
            filter_value(checked, &json!("2020-12-09T16:54:47.230+05:30")),
            filter_value(checked, &json!("2020-12-09T11:24:47.23Z"))
        );
        assert_eq!(filter_value(seats, &Value::Null), None);
        assert_eq!(filter_value(seats, &json!("five")), None);

        let data = json!({"name": "Barbq", "seats": 40, "open": true, "status": null});
        assert_eq!(
            filter_values(&entity, data.as_object().unwrap()),
            [
                ("seats".to_owned(), "40".to_owned()),
                ("open".into(), "true".into())
            ],
            "not the unfilterable name, nor a null"
        );
    }
}

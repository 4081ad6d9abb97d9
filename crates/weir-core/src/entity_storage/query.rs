//! `getAll({query, next})`: which records to list, and from where.
//!
//! A query compares filterable fields with values, for equality (docs): `{field: value}`
//! (several fields: all must match), `{$and: [{field: value}, …]}`, or
//! `{$or: [{field: value}, …]}`. A page ends with `links.next.marker` when more records
//! follow; `next: {marker}` asks for them. Records are listed in the order they were
//! made, and the marker holds the number of the page's last record, so a page is one
//! indexed range whatever the depth.
//!
//! Guessed, as the docs do not say: at most [`MAX_CONDITIONS`] conditions; each element of
//! `$and`/`$or` names one field, and operators do not nest; a query value is checked as a
//! record's value of that field would be, and `null` finds nothing and is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::EntityError;
use super::record_data::{check_value, filter_value};
use crate::app::entities::EntityDefinition;

/// Conditions one query may hold.
pub const MAX_CONDITIONS: usize = 10;

/// A checked `getAll` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: Filter,
    /// List the records made after the one with this number (the page's marker).
    pub after: Option<i64>,
}

/// The records a query finds: those meeting all its conditions, or any of them (`$or`).
/// No condition finds every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `(field, value)` pairs, distinct, each value as `record_data::filter_value`
    /// gives it.
    pub conditions: Vec<(String, String)>,
    pub any: bool,
}

impl Filter {
    /// How many of its conditions a record must meet (a record has one value a field, so
    /// it meets each condition at most once): all, one for `$or`, none without conditions.
    pub fn needed(&self) -> usize {
        match (self.conditions.is_empty(), self.any) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => self.conditions.len(),
        }
    }
}

/// Checks `getAll`'s options (`undefined`, `{}`, or `{query?, next?}`).
pub fn list_request(
    entity: &EntityDefinition,
    options: &Value,
) -> Result<ListRequest, EntityError> {
    let options = match options {
        Value::Null => {
            return Ok(ListRequest {
                filter: Filter::default(),
                after: None,
            });
        }
        Value::Object(options) => options,
        _ => {
            return Err(EntityError::invalid(
                "The options of getAll should be an object",
            ));
        }
    };
    if let Some(other) = options
        .keys()
        .find(|k| !["query", "next"].contains(&k.as_str()))
    {
        return Err(EntityError::invalid(format!(
            "Invalid option {other:?} of getAll: it takes query and next"
        )));
    }
    let filter = match options.get("query") {
        None | Some(Value::Null) => Filter::default(),
        Some(Value::Object(query)) => filter(entity, query)?,
        Some(_) => return Err(EntityError::invalid("The query should be an object")),
    };
    let after = match options.get("next") {
        None | Some(Value::Null) => None,
        Some(next) => Some(
            next.get("marker")
                .and_then(Value::as_str)
                .and_then(parse_marker)
                .ok_or_else(|| {
                    EntityError::invalid("next.marker is not a marker that getAll gave")
                })?,
        ),
    };
    Ok(ListRequest { filter, after })
}

fn filter(entity: &EntityDefinition, query: &Map<String, Value>) -> Result<Filter, EntityError> {
    let operator = query.keys().find(|k| k.starts_with('$'));
    let (pairs, any): (Vec<(&String, &Value)>, bool) = match operator.map(String::as_str) {
        None => (query.iter().collect(), false),
        Some(op @ ("$and" | "$or")) if query.len() == 1 => {
            let Some(list) = query[op].as_array().filter(|l| !l.is_empty()) else {
                return Err(EntityError::invalid(format!(
                    "{op} should be an array of conditions such as {{\"field\": \"value\"}}"
                )));
            };
            let mut pairs = Vec::with_capacity(list.len());
            for condition in list {
                match condition.as_object().filter(|c| c.len() == 1) {
                    Some(single) => pairs.extend(single.iter()),
                    None => {
                        return Err(EntityError::invalid(format!(
                            "Each condition of {op} should name one field, such as \
                             {{\"field\": \"value\"}}"
                        )));
                    }
                }
            }
            (pairs, op == "$or")
        }
        Some("$and" | "$or") => {
            return Err(EntityError::invalid(
                "A query with $and or $or holds nothing else",
            ));
        }
        Some(other) => {
            return Err(EntityError::invalid(format!(
                "Unknown operator {other:?}: a query compares fields, with $and or $or"
            )));
        }
    };
    if pairs.len() > MAX_CONDITIONS {
        return Err(EntityError::invalid(format!(
            "A query holds at most {MAX_CONDITIONS} conditions, not {}",
            pairs.len()
        )));
    }
    let mut conditions: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        let condition = (name.clone(), condition_value(entity, name, value)?);
        if !conditions.contains(&condition) {
            conditions.push(condition);
        }
    }
    Ok(Filter { conditions, any })
}

fn condition_value(
    entity: &EntityDefinition,
    name: &str,
    value: &Value,
) -> Result<String, EntityError> {
    if name.starts_with('$') {
        return Err(EntityError::invalid(format!(
            "{name} cannot be used inside a condition: operators do not nest"
        )));
    }
    let Some(field) = entity.field(name).filter(|f| f.filterable) else {
        let filterable: Vec<&str> = entity
            .fields
            .iter()
            .filter(|f| f.filterable)
            .map(|f| f.name.as_str())
            .collect();
        let which = match filterable.is_empty() {
            true => "none".to_owned(),
            false => filterable.join(", "),
        };
        return Err(EntityError::invalid(format!(
            "{name:?} is not a filterable field of {} (filterable: {which})",
            entity.name
        )));
    };
    if value.is_null() {
        return Err(EntityError::invalid(format!(
            "Invalid value for {name:?} in the query: give a value to compare with"
        )));
    }
    check_value(field, value).map_err(|why| {
        EntityError::invalid(format!("Invalid value for {name:?} in the query: {why}"))
    })?;
    filter_value(field, value)
        .ok_or_else(|| EntityError::invalid(format!("Invalid value for {name:?} in the query")))
}

/// The marker of the page that follows the record numbered `last`.
pub fn marker(last: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{last}"))
}

fn parse_marker(marker: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(marker).ok()?;
    let number = std::str::from_utf8(&bytes).ok()?.strip_prefix("after:")?;
    number.parse().ok().filter(|n: &i64| *n >= 0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::entities::{EntityField, FieldType};

    fn entity() -> EntityDefinition {
        let field = |name: &str, kind, filterable| EntityField {
            name: name.into(),
            label: None,
            kind,
            required: false,
            filterable,
            choices: vec![],
            section: None,
        };
        EntityDefinition {
            name: "appointments".into(),
            fields: vec![
                field("ticket_id", FieldType::Integer, true),
                field("city", FieldType::Text, true),
                field("notes", FieldType::Paragraph, false),
            ],
            declaration: Value::Null,
        }
    }

    fn conditions(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, v)| ((*f).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn queries_in_the_docs_forms() {
        let entity = entity();
        let request = |options: Value| list_request(&entity, &options).unwrap();
        assert_eq!(request(Value::Null).filter.needed(), 0);
        assert_eq!(request(json!({})).filter, Filter::default());
        let plain = request(json!({"query": {"ticket_id": 7, "city": "Chennai"}})).filter;
        assert_eq!(
            plain.conditions,
            conditions(&[("ticket_id", "7"), ("city", "Chennai")])
        );
        assert_eq!(plain.needed(), 2);
        let all = request(json!({"query": {"$and": [{"ticket_id": 7.0}, {"city": "Chennai"}]}}));
        assert_eq!(all.filter, plain);
        let any = request(
            json!({"query": {"$or": [{"city": "Chennai"}, {"city": "Pune"},
                                                   {"city": "Pune"}]}}),
        )
        .filter;
        assert_eq!(
            any.conditions,
            conditions(&[("city", "Chennai"), ("city", "Pune")])
        );
        assert_eq!(any.needed(), 1);
    }

    #[test]
    fn markers_round_trip_and_strange_ones_are_refused() {
        let entity = entity();
        let next = json!({"next": {"marker": marker(41)}});
        assert_eq!(list_request(&entity, &next).unwrap().after, Some(41));
        for bad in [
            json!({"next": {"marker": "%%%"}}),
            json!({"next": {"marker": 41}}),
            json!({"next": "x"}),
            json!({"next": {"marker": URL_SAFE_NO_PAD.encode("after:-1")}}),
        ] {
            assert_eq!(
                list_request(&entity, &bad),
                Err(EntityError::invalid(
                    "next.marker is not a marker that getAll gave"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let entity = entity();
        let cases = [
            (json!("x"), "The options of getAll should be an object"),
            (
                json!({"limit": 5}),
                "Invalid option \"limit\" of getAll: it takes query and next",
            ),
            (json!({"query": [1]}), "The query should be an object"),
            (
                json!({"query": {"notes": "x"}}),
                "\"notes\" is not a filterable field of appointments (filterable: ticket_id, city)",
            ),
            (
                json!({"query": {"owner": "x"}}),
                "\"owner\" is not a filterable field of appointments (filterable: ticket_id, city)",
            ),
            (
                json!({"query": {"ticket_id": "seven"}}),
                "Invalid value for \"ticket_id\" in the query: must be a whole number of at most 15 digits",
            ),
            (
                json!({"query": {"city": null}}),
                "Invalid value for \"city\" in the query: give a value to compare with",
            ),
            (
                json!({"query": {"$or": []}}),
                "$or should be an array of conditions such as {\"field\": \"value\"}",
            ),
            (
                json!({"query": {"$or": [{"city": "a", "ticket_id": 1}]}}),
                "Each condition of $or should name one field, such as {\"field\": \"value\"}",
            ),
            (
                json!({"query": {"$or": [{"$and": [{"city": "a"}]}]}}),
                "$and cannot be used inside a condition: operators do not nest",
            ),
            (
                json!({"query": {"$or": [{"city": "a"}], "ticket_id": 1}}),
                "A query with $and or $or holds nothing else",
            ),
            (
                json!({"query": {"$gt": {"ticket_id": 1}}}),
                "Unknown operator \"$gt\": a query compares fields, with $and or $or",
            ),
        ];
        for (options, message) in cases {
            assert_eq!(
                list_request(&entity, &options),
                Err(EntityError::invalid(message)),
                "{options}"
            );
        }
        let many: Vec<Value> = (0..11).map(|i| json!({"ticket_id": i})).collect();
        assert_eq!(
            list_request(&entity, &json!({"query": {"$or": many}})),
            Err(EntityError::invalid(
                "A query holds at most 10 conditions, not 11"
            ))
        );
    }
}

//! Entity storage, `$db.entity`: the records of the custom objects an app declares in
//! `config/entities.json` ([`crate::app::entities`]), one store per installation.
//!
//! This module holds the rules, as pure functions over JSON: what a record's data may hold
//! ([`record_data`]), what `getAll` may ask for ([`query`]), how records are named
//! ([`display_id`]), and the shapes the app's promises settle with. The engine brings them
//! to the store.
//!
//! Shapes, from the Freshworks docs:
//! - a record is `{display_id, created_time, updated_time, data}`, times in ISO 8601 with
//!   milliseconds (`2020-12-09T11:24:47.230Z`), `display_id` the entity's prefix and a
//!   number (`scshv-2`);
//! - `create(data)`, `get(id)` and `update(id, data)` resolve `{record}`;
//! - `getAll({query?, next?})` resolves `{records, links}`, with `links.next.marker` when
//!   there is a next page, which `getAll({query, next: {marker}})` reads;
//! - errors reject with `{status, message}` (404 "Record not found" for an unknown id).
//!
//! Guessed, as the docs do not say: `delete(id)` resolves `{}`; `links` is `{}` on the
//! last page; `schema()` resolves `{name, prefix, fields}` with the fields as declared
//! (the docs list `id`, `name` and `prefix`; Weir has no numeric entity id); `update`
//! merges the given fields into the record (the docs' example answers with fields the
//! call did not give) and a field given `null` is cleared; the statuses and texts of the
//! errors other than "Record not found".

pub mod display_id;
pub mod query;
pub mod record_data;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// An entity storage error: the app's promise is rejected with its `{status, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityError {
    pub status: u16,
    pub message: String,
}

impl EntityError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        EntityError {
            status,
            message: message.into(),
        }
    }

    /// Asked for by a display id the entity does not have (any more).
    pub fn record_not_found() -> Self {
        EntityError::new(404, "Record not found")
    }

    /// `$db.entity(…).get(name)` for an entity `config/entities.json` does not declare.
    pub fn entity_not_found(name: &Value) -> Self {
        let name = match name {
            Value::String(name) => format!("{name:?}"),
            other => other.to_string(),
        };
        EntityError::new(
            404,
            format!("Entity {name} is not declared in config/entities.json"),
        )
    }

    /// Invalid input, which the app must change before trying again.
    pub fn invalid(message: impl Into<String>) -> Self {
        EntityError::new(400, message)
    }
}

/// A record as the app sees it.
pub fn record_json(
    display_id: &str,
    created: Timestamp,
    updated: Timestamp,
    data: &Map<String, Value>,
) -> Value {
    json!({
        "display_id": display_id,
        "created_time": crate::delivery::event_time(created),
        "updated_time": crate::delivery::event_time(updated),
        "data": data,
    })
}

/// What `getAll` resolves with: the page's records, and the marker of the next page if
/// there is one.
pub fn list_json(records: Vec<Value>, next_marker: Option<String>) -> Value {
    let links = match next_marker {
        Some(marker) => json!({"next": {"marker": marker}}),
        None => json!({}),
    };
    json!({"records": records, "links": links})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_lists_have_the_docs_shapes() {
        let created: Timestamp = "2020-12-09T11:24:47.230Z".parse().unwrap();
        let updated: Timestamp = "2020-12-09T11:28:00Z".parse().unwrap();
        let mut data = Map::new();
        data.insert("short_code".into(), json!("BBQN"));
        let record = record_json("scshv-2", created, updated, &data);
        assert_eq!(
            record,
            json!({"display_id": "scshv-2", "created_time": "2020-12-09T11:24:47.230Z",
                   "updated_time": "2020-12-09T11:28:00.000Z", "data": {"short_code": "BBQN"}})
        );
        assert_eq!(
            list_json(vec![record.clone()], Some("m".into())),
            json!({"records": [record], "links": {"next": {"marker": "m"}}})
        );
        assert_eq!(list_json(vec![], None), json!({"records": [], "links": {}}));
    }

    #[test]
    fn an_unknown_entity_is_named() {
        assert_eq!(
            EntityError::entity_not_found(&json!("hotels")).message,
            "Entity \"hotels\" is not declared in config/entities.json"
        );
        assert_eq!(
            EntityError::entity_not_found(&Value::Null).message,
            "Entity null is not declared in config/entities.json"
        );
    }
}

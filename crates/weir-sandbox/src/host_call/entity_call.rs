//! Entity storage calls, `$db.entity({version: "v1"}).get(name).<operation>(…)`: the
//! prelude names them `entity.<operation>` and passes the entity's name before the app's
//! arguments.

use serde_json::Value;

use super::Args;

/// One operation on one entity's records.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityCall {
    /// The entity's name, as the app gave it to `get(name)`.
    pub entity: Value,
    pub operation: EntityOperation,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntityOperation {
    /// `schema()`.
    Schema,
    /// `create(data)`.
    Create { data: Value },
    /// `get(displayId)`.
    Get { id: Value },
    /// `update(displayId, data)`.
    Update { id: Value, data: Value },
    /// `delete(displayId)`.
    Delete { id: Value },
    /// `getAll({query?, next?})`.
    GetAll { options: Value },
}

impl EntityCall {
    /// `entity.<operation>`'s arguments: `[entity, …the app's]`.
    pub(super) fn parse(operation: &str, args: &mut Args) -> Option<Self> {
        let operation = match operation {
            "schema" => EntityOperation::Schema,
            "create" => EntityOperation::Create { data: args.at(1) },
            "get" => EntityOperation::Get { id: args.at(1) },
            "update" => EntityOperation::Update {
                id: args.at(1),
                data: args.at(2),
            },
            "delete" => EntityOperation::Delete { id: args.at(1) },
            "getAll" => EntityOperation::GetAll {
                options: args.at(1),
            },
            _ => return None,
        };
        Some(EntityCall {
            entity: args.at(0),
            operation,
        })
    }

    /// The name the prelude gives the call, e.g. `entity.create`.
    pub fn name(&self) -> &'static str {
        match self.operation {
            EntityOperation::Schema => "entity.schema",
            EntityOperation::Create { .. } => "entity.create",
            EntityOperation::Get { .. } => "entity.get",
            EntityOperation::Update { .. } => "entity.update",
            EntityOperation::Delete { .. } => "entity.delete",
            EntityOperation::GetAll { .. } => "entity.getAll",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::HostCall;

    #[test]
    fn every_operation_parses_with_the_entity_first() {
        for name in [
            "entity.schema",
            "entity.create",
            "entity.get",
            "entity.update",
            "entity.delete",
            "entity.getAll",
        ] {
            let call = HostCall::parse(name, json!(["rooms"])).unwrap();
            assert_eq!(call.name(), name, "{call:?}");
        }
        assert_eq!(
            HostCall::parse("entity.update", json!(["rooms", "abcde-1", {"n": 2}])).unwrap(),
            HostCall::Entity(EntityCall {
                entity: json!("rooms"),
                operation: EntityOperation::Update {
                    id: json!("abcde-1"),
                    data: json!({"n": 2}),
                },
            })
        );
        assert_eq!(
            HostCall::parse("entity.getAll", json!(["rooms"])).unwrap(),
            HostCall::Entity(EntityCall {
                entity: json!("rooms"),
                operation: EntityOperation::GetAll {
                    options: Value::Null
                },
            })
        );
        assert_eq!(
            HostCall::parse("entity.list", json!(["rooms"]))
                .unwrap_err()
                .to_string(),
            "\"entity.list\" is not a platform call that Weir offers"
        );
    }
}

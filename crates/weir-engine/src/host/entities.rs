//! `$db.entity(…)`: entity storage, backed by the store. The rules and the shapes the app
//! sees are `weir_core::entity_storage`'s (shapes guessed where the Freshworks docs are
//! silent are listed there); here they meet the installation's records.
//!
//! Which entities exist is the app's `config/entities.json`, as the version the
//! installation runs declares it. Records of an entity that a later version drops stay in
//! the store, unreachable, until the installation is uninstalled.

use serde_json::{Value, json};
use weir_core::app::EntityDefinition;
use weir_core::entity_storage::display_id::RecordIds;
use weir_core::entity_storage::{EntityError, list_json, query, record_data, record_json};
use weir_sandbox::{EntityCall, EntityOperation, HostError, HostResult};
use weir_store::{EntityList, EntityRecord, EntityRecordChange, NewEntityRecord, RecordKey, Store};

use super::CallContext;

/// An update reads, merges and writes at the version it read; on a race it starts over.
const UPDATE_ATTEMPTS: usize = 5;

/// One entity's records, as one installation sees them.
struct Records<'a> {
    store: &'a dyn Store,
    context: &'a CallContext,
    entity: &'a EntityDefinition,
    ids: RecordIds,
}

type Answer = Result<Result<Value, EntityError>, weir_store::StoreError>;

pub(super) async fn call(
    store: &dyn Store,
    context: &CallContext,
    call: &EntityCall,
    page_size: u32,
) -> HostResult {
    let declared = context
        .app
        .entities
        .iter()
        .find(|entity| call.entity.as_str() == Some(entity.name.as_str()));
    let Some(entity) = declared else {
        let error = EntityError::entity_not_found(&call.entity);
        return Err(HostError::new(error.status, error.message));
    };
    let records = Records {
        store,
        context,
        entity,
        ids: RecordIds::new(&context.installation.id, &entity.name),
    };
    let answer = match &call.operation {
        EntityOperation::Schema => Ok(Ok(records.schema())),
        EntityOperation::Create { data } => records.create(data).await,
        EntityOperation::Get { id } => records.get(id).await,
        EntityOperation::Update { id, data } => records.update(id, data).await,
        EntityOperation::Delete { id } => records.delete(id).await,
        EntityOperation::GetAll { options } => records.list(options, page_size).await,
    };
    match answer {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(HostError::new(error.status, error.message)),
        Err(error) => Err(super::internal(error)),
    }
}

impl Records<'_> {
    fn key(&self, number: i64) -> RecordKey<'_> {
        RecordKey {
            installation: &self.context.installation.id,
            entity: &self.entity.name,
            number,
        }
    }

    /// `{record}`, as `create`, `get` and `update` resolve.
    fn answer(&self, record: &EntityRecord) -> Value {
        json!({"record": self.shown(record)})
    }

    fn shown(&self, record: &EntityRecord) -> Value {
        let id = self.ids.display_id(record.number);
        record_json(&id, record.created_at, record.updated_at, &record.data)
    }

    fn schema(&self) -> Value {
        json!({
            "name": self.entity.name,
            "prefix": self.ids.prefix(),
            "fields": self.entity.declaration.get("fields").cloned().unwrap_or_default(),
        })
    }

    async fn create(&self, data: &Value) -> Answer {
        let data = match record_data::new_record(self.entity, data) {
            Ok(data) => data,
            Err(error) => return Ok(Err(error)),
        };
        let values = record_data::filter_values(self.entity, &data);
        let record = NewEntityRecord {
            installation: &self.context.installation.id,
            entity: &self.entity.name,
            data: &data,
            values: &values,
            now: weir_core::now(),
        };
        let stored = self.store.insert_entity_record(record).await?;
        Ok(Ok(self.answer(&stored)))
    }

    async fn get(&self, id: &Value) -> Answer {
        let number = match self.ids.number(id) {
            Ok(number) => number,
            Err(error) => return Ok(Err(error)),
        };
        Ok(match self.store.entity_record(&self.key(number)).await? {
            Some(record) => Ok(self.answer(&record)),
            None => Err(EntityError::record_not_found()),
        })
    }

    async fn update(&self, id: &Value, changes: &Value) -> Answer {
        let number = match self.ids.number(id) {
            Ok(number) => number,
            Err(error) => return Ok(Err(error)),
        };
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(stored) = self.store.entity_record(&self.key(number)).await? else {
                return Ok(Err(EntityError::record_not_found()));
            };
            let data = match record_data::updated_record(self.entity, &stored.data, changes) {
                Ok(data) => data,
                Err(error) => return Ok(Err(error)),
            };
            let values = record_data::filter_values(self.entity, &data);
            let now = weir_core::now();
            let change = EntityRecordChange {
                key: self.key(number),
                version: stored.version,
                data: &data,
                values: &values,
                now,
            };
            if self.store.update_entity_record(change).await? {
                let updated = EntityRecord {
                    data,
                    version: stored.version + 1,
                    updated_at: now,
                    ..stored
                };
                return Ok(Ok(self.answer(&updated)));
            }
        }
        Ok(Err(EntityError::new(
            409,
            "The record changed while it was being updated; try again",
        )))
    }

    async fn delete(&self, id: &Value) -> Answer {
        let number = match self.ids.number(id) {
            Ok(number) => number,
            Err(error) => return Ok(Err(error)),
        };
        Ok(
            match self.store.delete_entity_record(&self.key(number)).await? {
                true => Ok(json!({})),
                false => Err(EntityError::record_not_found()),
            },
        )
    }

    async fn list(&self, options: &Value, page_size: u32) -> Answer {
        let request = match query::list_request(self.entity, options) {
            Ok(request) => request,
            Err(error) => return Ok(Err(error)),
        };
        let list = EntityList {
            installation: &self.context.installation.id,
            entity: &self.entity.name,
            filter: &request.filter,
            after: request.after,
            limit: page_size,
        };
        let page = self.store.entity_records(&list).await?;
        let next = match (page.more, page.records.last()) {
            (true, Some(last)) => Some(query::marker(last.number)),
            _ => None,
        };
        let records = page.records.iter().map(|r| self.shown(r)).collect();
        Ok(Ok(list_json(records, next)))
    }
}

//! Entity storage (`$db.entity`) in the store, for both backends: each installation's
//! records of the custom objects its app declares, with their SQL, parameters and decoding
//! together here.
//!
//! A record is keyed by installation, entity and number (`seq`); its display id is the
//! entity's prefix and that number (`weir_core::entity_storage::display_id`), so it needs
//! no column. `entity_counters` hands out the numbers, so that none is given twice even
//! after its record is deleted. The values of filterable fields are kept beside the record,
//! one row each in `entity_values`, so that `getAll`'s equality filters are index lookups;
//! they are replaced with the record, in the same transaction. Uninstalling removes the
//! installation's records (a trigger, as for schedules).

use std::sync::LazyLock;

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::{Map, Value};
use weir_core::InstallationId;
use weir_core::entity_storage::query::{Filter, MAX_CONDITIONS};

use crate::params::Param;
use crate::rows::{self, Columns};
use crate::sql_store::{Backend, SqlStore};
use crate::{Result, StoreError};

/// The records of entity storage, one installation's at a time.
#[async_trait]
pub trait EntityRecords: Send + Sync {
    /// Stores a new record under its entity's next number, with its filterable values, in
    /// one transaction. `NotFound` if the installation does not exist.
    async fn insert_entity_record(&self, record: NewEntityRecord<'_>) -> Result<EntityRecord>;
    async fn entity_record(&self, key: &RecordKey<'_>) -> Result<Option<EntityRecord>>;
    /// Replaces a record's data and filterable values if it is still at `version` (an
    /// update computed from what was read); returns whether it was.
    async fn update_entity_record(&self, change: EntityRecordChange<'_>) -> Result<bool>;
    /// Deletes a record with its values; returns whether there was one.
    async fn delete_entity_record(&self, key: &RecordKey<'_>) -> Result<bool>;
    /// One page of an entity's records that pass a filter, in the order they were made.
    async fn entity_records(&self, list: &EntityList<'_>) -> Result<EntityPage>;
}

/// Which record: of this installation's entity, the one numbered `number`.
#[derive(Debug, Clone, Copy)]
pub struct RecordKey<'a> {
    pub installation: &'a InstallationId,
    pub entity: &'a str,
    pub number: i64,
}

/// A record to create; the store numbers it.
#[derive(Debug, Clone, Copy)]
pub struct NewEntityRecord<'a> {
    pub installation: &'a InstallationId,
    pub entity: &'a str,
    pub data: &'a Map<String, Value>,
    /// `(field, value)` for each filterable field that has a value, as the filters compare
    /// them (`record_data::filter_values`).
    pub values: &'a [(String, String)],
    pub now: Timestamp,
}

/// A record's new data, to be written only over the version it was computed from.
#[derive(Debug, Clone, Copy)]
pub struct EntityRecordChange<'a> {
    pub key: RecordKey<'a>,
    pub version: i64,
    pub data: &'a Map<String, Value>,
    pub values: &'a [(String, String)],
    pub now: Timestamp,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    pub number: i64,
    pub data: Map<String, Value>,
    /// Counts the writes to the record.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which page of an entity's records to list.
#[derive(Debug, Clone, Copy)]
pub struct EntityList<'a> {
    pub installation: &'a InstallationId,
    pub entity: &'a str,
    pub filter: &'a Filter,
    /// The records numbered after this one; `None` from the first.
    pub after: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntityPage {
    pub records: Vec<EntityRecord>,
    /// More records pass the filter after the page's last.
    pub more: bool,
}

/// Hands out the entity's next number; the installation's foreign key refuses a missing
/// installation.
const NEXT_NUMBER: &str = "INSERT INTO entity_counters (installation_id, entity, last_seq) \
    VALUES ($1, $2, 1) ON CONFLICT (installation_id, entity) \
    DO UPDATE SET last_seq = entity_counters.last_seq + 1 RETURNING last_seq AS id";
const INSERT_RECORD: &str = "INSERT INTO entity_records \
    (installation_id, entity, seq, data, version, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, 1, $5, $5)";
const INSERT_VALUE: &str = "INSERT INTO entity_values (installation_id, entity, seq, field, value) \
    VALUES ($1, $2, $3, $4, $5)";
const RECORD: &str = "SELECT seq, data, version, created_at, updated_at FROM entity_records \
    WHERE installation_id = $1 AND entity = $2 AND seq = $3";
const UPDATE_RECORD: &str = "UPDATE entity_records \
    SET data = $5, version = version + 1, updated_at = $6 \
    WHERE installation_id = $1 AND entity = $2 AND seq = $3 AND version = $4 RETURNING seq AS id";
const DELETE_VALUES: &str =
    "DELETE FROM entity_values WHERE installation_id = $1 AND entity = $2 AND seq = $3";
/// The record's values go with it (`ON DELETE CASCADE`).
const DELETE_RECORD: &str =
    "DELETE FROM entity_records WHERE installation_id = $1 AND entity = $2 AND seq = $3";

/// Lists records: `$3` the number to start after, `$4` how many conditions a record must
/// meet (0 lists all), `$5` the limit, then a `(field, value)` pair for each of the
/// `MAX_CONDITIONS` conditions, `NULL` where unused (which meets nothing). A record has one
/// value a field, so it meets each distinct condition at most once: counting the values
/// that meet one tells whether it meets all of them, or any.
static LIST_RECORDS: LazyLock<String> = LazyLock::new(|| {
    let conditions: Vec<String> = (0..MAX_CONDITIONS)
        .map(|i| format!("(v.field = ${} AND v.value = ${})", 6 + 2 * i, 7 + 2 * i))
        .collect();
    format!(
        "SELECT r.seq, r.data, r.version, r.created_at, r.updated_at FROM entity_records r \
         WHERE r.installation_id = $1 AND r.entity = $2 AND r.seq > $3 \
         AND ($4 = 0 OR r.seq IN (SELECT v.seq FROM entity_values v \
         WHERE v.installation_id = $1 AND v.entity = $2 AND v.seq > $3 AND ({}) \
         GROUP BY v.seq HAVING COUNT(*) >= $4)) \
         ORDER BY r.seq LIMIT $5",
        conditions.join(" OR ")
    )
});

fn key_params(key: &RecordKey<'_>) -> Vec<Param> {
    vec![
        key.installation.as_str().into(),
        key.entity.into(),
        key.number.into(),
    ]
}

/// `INSERT_VALUE` for each value of the record numbered `number`.
fn value_rows(
    installation: &InstallationId,
    entity: &str,
    number: i64,
    values: &[(String, String)],
) -> Vec<(&'static str, Vec<Param>)> {
    values
        .iter()
        .map(|(field, value)| {
            let params = vec![
                installation.as_str().into(),
                entity.into(),
                number.into(),
                field.as_str().into(),
                value.as_str().into(),
            ];
            (INSERT_VALUE, params)
        })
        .collect()
}

fn record(row: &dyn Columns) -> Result<EntityRecord> {
    let data = match serde_json::from_str(&row.text("data")?) {
        Ok(Value::Object(data)) => data,
        Ok(other) => return Err(StoreError::Corrupt(format!("data: not an object: {other}"))),
        Err(e) => return Err(StoreError::Corrupt(format!("data: {e}"))),
    };
    Ok(EntityRecord {
        number: row.int("seq")?,
        data,
        version: row.int("version")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

fn timestamp(row: &dyn Columns, column: &str) -> Result<Timestamp> {
    Timestamp::from_millisecond(row.int(column)?)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

#[async_trait]
impl<B: Backend> EntityRecords for SqlStore<B> {
    async fn insert_entity_record(&self, record: NewEntityRecord<'_>) -> Result<EntityRecord> {
        let installation = record.installation.clone();
        let entity = record.entity.to_owned();
        let data = record.data.clone();
        let values = record.values.to_vec();
        let at = rows::millis(record.now);
        let first = vec![installation.as_str().into(), entity.as_str().into()];
        let json = Value::Object(data.clone()).to_string();
        let then = Box::new(move |number: i64| {
            let row = vec![
                installation.as_str().into(),
                entity.as_str().into(),
                number.into(),
                json.into(),
                at.into(),
            ];
            let mut statements = vec![(INSERT_RECORD, row)];
            statements.extend(value_rows(&installation, &entity, number, &values));
            statements
        });
        let number = self
            .backend
            .chained_write((NEXT_NUMBER, first), then)
            .await?
            .ok_or_else(|| StoreError::Backend("numbering a record gave no number".into()))?;
        Ok(EntityRecord {
            number,
            data,
            version: 1,
            created_at: record.now,
            updated_at: record.now,
        })
    }

    async fn entity_record(&self, key: &RecordKey<'_>) -> Result<Option<EntityRecord>> {
        let found = self.backend.fetch(RECORD, key_params(key), record).await?;
        Ok(found.into_iter().next())
    }

    async fn update_entity_record(&self, change: EntityRecordChange<'_>) -> Result<bool> {
        let mut first = key_params(&change.key);
        first.push(change.version.into());
        first.push(Value::Object(change.data.clone()).to_string().into());
        first.push(rows::millis(change.now).into());
        let installation = change.key.installation.clone();
        let entity = change.key.entity.to_owned();
        let values = change.values.to_vec();
        let then = Box::new(move |number: i64| {
            let key = RecordKey {
                installation: &installation,
                entity: &entity,
                number,
            };
            let mut statements = vec![(DELETE_VALUES, key_params(&key))];
            statements.extend(value_rows(&installation, &entity, number, &values));
            statements
        });
        let updated = self
            .backend
            .chained_write((UPDATE_RECORD, first), then)
            .await?;
        Ok(updated.is_some())
    }

    async fn delete_entity_record(&self, key: &RecordKey<'_>) -> Result<bool> {
        Ok(self.backend.execute(DELETE_RECORD, key_params(key)).await? > 0)
    }

    async fn entity_records(&self, list: &EntityList<'_>) -> Result<EntityPage> {
        let filter = list.filter;
        if filter.conditions.len() > MAX_CONDITIONS {
            return Err(StoreError::Backend(format!(
                "a filter holds at most {MAX_CONDITIONS} conditions"
            )));
        }
        let needed = i64::try_from(filter.needed()).unwrap_or(i64::MAX);
        let mut params = vec![
            list.installation.as_str().into(),
            list.entity.into(),
            list.after.unwrap_or(0).into(),
            needed.into(),
            (i64::from(list.limit) + 1).into(),
        ];
        for slot in 0..MAX_CONDITIONS {
            let condition = filter.conditions.get(slot);
            params.push(Param::MaybeText(condition.map(|(f, _)| f.clone())));
            params.push(Param::MaybeText(condition.map(|(_, v)| v.clone())));
        }
        let mut records = self
            .backend
            .fetch(LIST_RECORDS.as_str(), params, record)
            .await?;
        let more = records.len() > list.limit as usize;
        records.truncate(list.limit as usize);
        Ok(EntityPage { records, more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_statement_has_a_slot_for_every_condition() {
        let last = 5 + 2 * MAX_CONDITIONS;
        assert!(LIST_RECORDS.contains(&format!("v.value = ${last})")));
        assert!(!LIST_RECORDS.contains(&format!("${}", last + 1)));
    }
}

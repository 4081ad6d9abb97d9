//! Display ids: how a record is named to the app, `<prefix>-<number>` (`scshv-2`), the
//! entity's prefix and the record's number, counted from 1 in the order records are made.
//!
//! Freshworks generates a prefix per entity; Weir derives it (five lower-case letters) from
//! the installation and the entity's name, so it is the same on every node and needs no
//! storage, and an id of one entity or installation never names a record of another. The
//! store keeps the number; a number is never given twice in an entity, even after its
//! record is deleted.

use serde_json::Value;

use super::EntityError;
use crate::InstallationId;

const PREFIX_LETTERS: usize = 5;

/// The ids of one entity's records in one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordIds {
    prefix: String,
}

impl RecordIds {
    pub fn new(installation: &InstallationId, entity: &str) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(installation.as_str().as_bytes())
            .chain_update([0])
            .chain_update(entity.as_bytes())
            .finalize();
        let prefix = digest
            .iter()
            .take(PREFIX_LETTERS)
            .map(|byte| char::from(b'a' + byte % 26))
            .collect();
        RecordIds { prefix }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The display id of the record numbered `number`.
    pub fn display_id(&self, number: i64) -> String {
        format!("{}-{number}", self.prefix)
    }

    /// The number of the record the app names by `given`. A string that is no display id
    /// of this entity names no record (404); anything but a string is a mistake (400).
    pub fn number(&self, given: &Value) -> Result<i64, EntityError> {
        let text = match given {
            Value::String(text) => text,
            Value::Null => return Err(EntityError::invalid("The record's display_id is missing")),
            _ => {
                return Err(EntityError::invalid(
                    "The record's display_id should be a string such as \"abcde-1\"",
                ));
            }
        };
        text.strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|digits| !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<i64>().ok())
            .ok_or_else(EntityError::record_not_found)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn installation(id: &str) -> InstallationId {
        InstallationId::parse(id).unwrap()
    }

    #[test]
    fn the_prefix_is_stable_and_differs_between_entities_and_installations() {
        let one = RecordIds::new(&installation("ins_1"), "restaurants");
        assert_eq!(one, RecordIds::new(&installation("ins_1"), "restaurants"));
        assert_eq!(one.prefix().len(), 5);
        assert!(one.prefix().bytes().all(|b| b.is_ascii_lowercase()));
        // Stored ids are made of it: it must never change between versions of Weir.
        assert_eq!(one.prefix(), "qazly");
        assert_ne!(one, RecordIds::new(&installation("ins_1"), "hotels"));
        assert_ne!(one, RecordIds::new(&installation("ins_2"), "restaurants"));
    }

    #[test]
    fn display_ids_round_trip_and_others_are_not_found() {
        let ids = RecordIds::new(&installation("ins_1"), "restaurants");
        let id = ids.display_id(42);
        assert_eq!(id, format!("{}-42", ids.prefix()));
        assert_eq!(ids.number(&json!(id)), Ok(42));
        let other = RecordIds::new(&installation("ins_1"), "hotels").display_id(42);
        for unknown in [
            other,
            format!("{}-042", ids.prefix()),
            format!("{}-", ids.prefix()),
            format!("{}-+4", ids.prefix()),
            format!("{}-99999999999999999999", ids.prefix()),
            "42".into(),
        ] {
            assert_eq!(
                ids.number(&json!(unknown)),
                Err(EntityError::record_not_found()),
                "{unknown}"
            );
        }
        assert_eq!(ids.number(&json!(42)).unwrap_err().status, 400);
        assert_eq!(ids.number(&Value::Null).unwrap_err().status, 400);
    }
}

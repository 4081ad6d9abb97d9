//! Identifiers. Weir's own ids are a short prefix naming the kind (`app_`, `ins_`, …)
//! followed by 26 characters of Crockford base32: 48 bits of milliseconds since the epoch,
//! then 80 random bits. They sort by creation time, which makes cursor pagination a plain
//! `WHERE id > cursor ORDER BY id`.
//!
//! Account ids are the exception: the host product usually has its own (Freshworks'
//! `account_id`, Zoho's `orgId`), so an operator may choose one.

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;

use crate::InvalidValue;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new time-ordered id with the given prefix, e.g. `app_01JD3…`. Within one process ids
/// strictly increase, even when many are made in the same millisecond.
pub fn generate(prefix: &str) -> String {
    static LAST: Mutex<u128> = Mutex::new(0);
    let millis = jiff::Timestamp::now().as_millisecond().max(0) as u128;
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).expect("the operating system's random source failed");
    let mut candidate = millis << 80;
    for (i, byte) in random.iter().enumerate() {
        candidate |= (*byte as u128) << (8 * (9 - i));
    }
    let value = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        *last = candidate.max(*last + 1);
        *last
    };
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    for i in (0..26).rev() {
        id.push(CROCKFORD[((value >> (5 * i)) & 31) as usize] as char);
    }
    id
}

/// The characters allowed in any id: safe in URLs, logs and file names.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// True for a string that can be an id: 1 to 64 characters of letters, digits, `_`, `-`
/// or `.`, starting with a letter or digit (so never `.` or `..`).
pub fn is_id(value: &str) -> bool {
    value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.chars().all(is_id_char)
}

fn parse_id(kind: &str, value: &str) -> Result<String, InvalidValue> {
    if !is_id(value) {
        return Err(InvalidValue(format!(
            "{kind} id must be 1 to 64 characters of letters, digits, '_', '-' or '.', \
             starting with a letter or digit, got {value:?}"
        )));
    }
    Ok(value.to_owned())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id of this kind.
            pub fn generate() -> Self {
                Self(generate($prefix))
            }

            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                parse_id($kind, value).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        $crate::deserialize_by_parse!($name);
    };
}

id_type!(
    /// A tenant of the host product; chosen by the operator or generated (`acc_…`).
    AccountId, "account", "acc"
);
id_type!(
    /// One uploaded version of an app package (`app_…`).
    AppId, "app", "app"
);
id_type!(
    /// One app installed in one account (`ins_…`).
    InstallationId, "installation", "ins"
);
id_type!(
    /// A per-account API key, by which it is listed and revoked (`key_…`).
    ApiKeyId, "API key", "key"
);
id_type!(
    /// One run of one handler (`inv_…`).
    InvocationId, "invocation", "inv"
);
id_type!(
    /// One posted product event (`evt_…`).
    EventId, "event", "evt"
);
id_type!(
    /// An outbound webhook subscription: where an account's events are delivered (`sub_…`).
    SubscriptionId, "subscription", "sub"
);
id_type!(
    /// One call of a registered webhook: its `referenceId` (`ref_…`).
    ReferenceId, "reference", "ref"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_prefix_and_strictly_increase() {
        let first = AppId::generate();
        let second = AppId::generate();
        assert!(first.as_str().starts_with("app_"));
        assert_eq!(first.as_str().len(), 4 + 26);
        assert!(first < second, "{first} should sort before {second}");
        assert_eq!(AppId::parse(first.as_str()), Ok(first));
    }

    #[test]
    fn ids_reject_unsafe_characters() {
        assert!(AccountId::parse("12345").is_ok());
        assert!(AccountId::parse("org.600-abc_1").is_ok());
        let err = AccountId::parse("a/b").unwrap_err();
        assert!(err.0.contains("account id"), "{err}");
        assert!(AccountId::parse("").is_err());
        assert!(AccountId::parse("..").is_err());
        assert!(AccountId::parse(".x").is_err());
        assert!(AccountId::parse(&"x".repeat(65)).is_err());
    }
}

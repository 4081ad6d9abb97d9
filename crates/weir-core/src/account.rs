//! Accounts: the tenants of the host product, and the facts about them that apps see in
//! every payload envelope (`account_id`, `domain`, `region`, the product's name).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use crate::{AccountId, InvalidValue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub domain: Domain,
    pub region: Region,
    pub product: Product,
    /// Department ids (Zoho Desk); extension webhooks are filtered by them.
    pub departments: Departments,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The data centre an account lives in, as Freshworks names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Region {
    US,
    EU,
    EUC,
    AUS,
    IND,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::US,
        Region::EU,
        Region::EUC,
        Region::AUS,
        Region::IND,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Region::US => "US",
            Region::EU => "EU",
            Region::EUC => "EUC",
            Region::AUS => "AUS",
            Region::IND => "IND",
        }
    }
}

impl FromStr for Region {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, InvalidValue> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| {
                InvalidValue(format!(
                    "region must be one of US, EU, EUC, AUS, IND, got {value:?}"
                ))
            })
    }
}

/// The account's host name in the product, e.g. `acme.freshsales.io`: no scheme, no path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue(format!(
                "domain must be a host name such as \"acme.freshsales.io\" (no scheme or path), got {value:?}"
            ))
        };
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if value.is_empty() || value.len() > 253 || !value.split('.').all(label_ok) {
            return Err(invalid());
        }
        Ok(Domain(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The host product an account uses (`freshsales`, `freshdesk`, `zoho_desk`, …). Its shape
/// is checked here; which events it has is the event catalogue's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Product(String);

impl Product {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let ok = !value.is_empty()
            && value.len() <= 40
            && value.starts_with(|c: char| c.is_ascii_lowercase())
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(InvalidValue(format!(
                "product must be a lower-case name such as \"freshsales\" (letters, digits, '_'), got {value:?}"
            )));
        }
        Ok(Product(value.to_owned()))
    }

    /// Zoho Desk, whose event types extension webhooks subscribe to.
    pub fn zoho_desk() -> Product {
        Product(crate::catalogue::ZOHO_DESK.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Department ids of the host product (Zoho Desk's `departmentIds`): distinct, not
/// blank, at most 1,000 of at most 100 characters each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Departments(Vec<String>);

impl Departments {
    const MAX_COUNT: usize = 1_000;
    const MAX_LENGTH: usize = 100;

    pub fn parse(ids: Vec<String>) -> Result<Self, InvalidValue> {
        if ids.len() > Self::MAX_COUNT {
            return Err(InvalidValue(format!(
                "at most {} departments, got {}",
                Self::MAX_COUNT,
                ids.len()
            )));
        }
        let mut seen = HashSet::new();
        for (index, id) in ids.iter().enumerate() {
            if id.trim().is_empty() || id.chars().count() > Self::MAX_LENGTH {
                return Err(InvalidValue(format!(
                    "[{index}]: must be 1 to 100 characters, not blank"
                )));
            }
            if !seen.insert(id.as_str()) {
                return Err(InvalidValue(format!("[{index}]: {id:?} is listed twice")));
            }
        }
        Ok(Departments(ids))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|d| d == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for Departments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Departments::parse(Vec::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

crate::deserialize_by_parse!(Domain, Product);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_bare_host_names() {
        assert_eq!(
            Domain::parse("Acme.Freshsales.io").unwrap().as_str(),
            "acme.freshsales.io"
        );
        for bad in [
            "",
            "https://acme.io",
            "acme.io/path",
            "-acme.io",
            "acme..io",
            "a b.io",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn regions_parse_exactly() {
        assert_eq!("EUC".parse::<Region>(), Ok(Region::EUC));
        let err = "eu".parse::<Region>().unwrap_err();
        assert!(err.0.contains("US, EU, EUC, AUS, IND"), "{err}");
    }

    #[test]
    fn departments_are_distinct_and_bounded() {
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Departments::parse(ids(&["sales", "support"])).is_ok());
        assert_eq!(
            Departments::parse(ids(&["a", "b", "a"])).unwrap_err().0,
            "[2]: \"a\" is listed twice"
        );
        assert_eq!(
            Departments::parse(ids(&[" "])).unwrap_err().0,
            "[0]: must be 1 to 100 characters, not blank"
        );
        let many: Vec<String> = (0..1_001).map(|n| n.to_string()).collect();
        assert_eq!(
            Departments::parse(many).unwrap_err().0,
            "at most 1000 departments, got 1001"
        );
    }

    #[test]
    fn products_are_lower_case_names() {
        assert!(Product::parse("freshworks_crm").is_ok());
        assert!(Product::parse("Freshsales").is_err());
        assert!(Product::parse("").is_err());
        assert_eq!(Product::parse("zoho_desk"), Ok(Product::zoho_desk()));
    }
}

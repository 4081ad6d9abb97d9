//! Where an event comes from. The source decides which handler runs for it
//! ([`crate::AppDefinition::handler_for`]) and what envelope the handler receives.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::{InvalidValue, Product, catalogue};

/// Where an event comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// The host product posted it for the apps of this product (the posted `product`, else
    /// the account's): a product the catalogue knows ([`EventSource::known_product`]).
    Product(Product),
    /// A request to an installation's target URL: always `onExternalEvent`.
    External,
    /// An event that a connector's global webhook routed to an installation, named by the
    /// connector event's key.
    Connector,
    /// Weir itself, for one installation and by name: the app's lifecycle, its schedules.
    /// Any scope of the app may declare the handler; none is ever fanned out.
    Platform,
    /// Weir's own news for the operator (`crate::operational`): stored as events of the
    /// instance account, delivered only to operational webhooks, never to handlers.
    Operational,
}

/// What the store keeps for the sources that are not products: the `product` column holds
/// a product's name, or one of these. No product of the catalogue bears them (a test in
/// this module checks).
const EXTERNAL: &str = "external";
const CONNECTOR: &str = "connector";
const PLATFORM: &str = "platform";
const OPERATIONAL: &str = "operational";

impl EventSource {
    /// The source of an event posted for `product`, which the catalogue must know (as a
    /// Freshworks product, or Zoho Desk).
    pub fn known_product(product: &str) -> Result<EventSource, UnknownProduct> {
        let unknown = || UnknownProduct(product.to_owned());
        catalogue::events_of(product).ok_or_else(unknown)?;
        // A name the catalogue knows is always a well-formed product name.
        Product::parse(product)
            .map(EventSource::Product)
            .map_err(|_| unknown())
    }

    /// As stored: the product's name, `external`, `connector`, `platform` or
    /// `operational`.
    pub fn as_str(&self) -> &str {
        match self {
            EventSource::Product(product) => product.as_str(),
            EventSource::External => EXTERNAL,
            EventSource::Connector => CONNECTOR,
            EventSource::Platform => PLATFORM,
            EventSource::Operational => OPERATIONAL,
        }
    }

    /// The source a stored value names (see [`EventSource::as_str`]).
    pub fn parse(stored: &str) -> Result<EventSource, InvalidValue> {
        match stored {
            EXTERNAL => Ok(EventSource::External),
            CONNECTOR => Ok(EventSource::Connector),
            PLATFORM => Ok(EventSource::Platform),
            OPERATIONAL => Ok(EventSource::Operational),
            product => Product::parse(product).map(EventSource::Product),
        }
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as stored, so that the API shows what it always has (`"product":
/// "freshsales"`, `"product": "external"`).
impl Serialize for EventSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A product name the catalogue does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a product Weir knows; known products: {products}, {zoho}",
    products = catalogue::products().join(", "),
    zoho = catalogue::ZOHO_DESK
)]
pub struct UnknownProduct(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn product(name: &str) -> EventSource {
        EventSource::Product(Product::parse(name).unwrap())
    }

    #[test]
    fn sources_round_trip_through_the_stored_strings() {
        for (source, stored) in [
            (EventSource::External, "external"),
            (EventSource::Connector, "connector"),
            (EventSource::Platform, "platform"),
            (EventSource::Operational, "operational"),
            (product("freshsales"), "freshsales"),
            (product("zoho_desk"), "zoho_desk"),
        ] {
            assert_eq!(source.as_str(), stored);
            assert_eq!(EventSource::parse(stored), Ok(source.clone()));
            assert_eq!(serde_json::to_value(&source).unwrap(), stored);
        }
        assert!(EventSource::parse("Not A Product").is_err());
        assert!(EventSource::parse("").is_err());
    }

    #[test]
    fn no_known_product_is_read_back_as_another_source() {
        let known = catalogue::products().iter().chain([&catalogue::ZOHO_DESK]);
        for name in known {
            let source = EventSource::known_product(name).unwrap();
            assert_eq!(source, product(name));
            assert_eq!(EventSource::parse(source.as_str()), Ok(source));
        }
    }

    #[test]
    fn only_catalogue_products_are_known() {
        assert_eq!(
            EventSource::known_product("acme").unwrap_err().to_string(),
            "\"acme\" is not a product Weir knows; known products: freshdesk, freshservice, \
             freshsales, freshworks_crm, freshteam, freshchat, freshcaller, zoho_desk"
        );
        for reserved in [
            "external",
            "connector",
            "platform",
            "operational",
            "Freshsales",
        ] {
            assert!(EventSource::known_product(reserved).is_err(), "{reserved}");
        }
    }
}

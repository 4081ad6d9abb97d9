//! Event names, parsed against the catalogue of their source: a name that parses is one
//! an installation's handler or a subscription can be waiting for.

use std::fmt;

use serde::{Serialize, Serializer};

use super::{AppEvent, EventSource};
use crate::catalogue;

/// The name of an event its source has, e.g. `onContactCreate` for `freshsales`,
/// `Ticket_Add` for `zoho_desk`. Every such name is in the catalogue, so it is held as
/// the catalogue's own string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventName(&'static str);

impl EventName {
    /// `name` if `source` has an event of that name:
    /// - a product: its product events (Zoho Desk: its event types); a product the
    ///   catalogue does not know has none;
    /// - a target URL: `onExternalEvent`;
    /// - Weir itself: the lifecycle events and `onScheduledEvent`;
    /// - a connector: none the catalogue knows (its events are its app's own, declared
    ///   under `events/`);
    /// - Weir's operational events: `subscription.disabled` and the rest.
    pub fn parse(source: &EventSource, name: &str) -> Result<EventName, UnknownEvent> {
        let known = events_of(source);
        match known.iter().find(|known| **known == name) {
            Some(known) => Ok(EventName(known)),
            None => Err(UnknownEvent {
                name: name.to_owned(),
                of: source.as_str().to_owned(),
                known,
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

fn events_of(source: &EventSource) -> Vec<&'static str> {
    match source {
        EventSource::Product(product) => catalogue::events_of(product.as_str()).unwrap_or_default(),
        EventSource::External => vec![AppEvent::External.name()],
        EventSource::Platform => AppEvent::LIFECYCLE
            .into_iter()
            .chain([AppEvent::Scheduled])
            .map(AppEvent::name)
            .collect(),
        EventSource::Connector => Vec::new(),
        EventSource::Operational => crate::OperationalEventType::names(),
    }
}

impl From<AppEvent> for EventName {
    fn from(event: AppEvent) -> Self {
        EventName(event.name())
    }
}

impl From<EventName> for String {
    fn from(name: EventName) -> Self {
        name.0.to_owned()
    }
}

impl PartialEq<str> for EventName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for EventName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// A name its source has no event of; the message lists the ones it has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not an event of {of}; its events are: {}", known.join(", "))]
pub struct UnknownEvent {
    pub name: String,
    /// The source, as stored (a product's name). Not `source`: thiserror takes a field
    /// of that name for the error's cause.
    pub of: String,
    pub known: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Product;

    fn product(name: &str) -> EventSource {
        EventSource::Product(Product::parse(name).unwrap())
    }

    #[test]
    fn a_products_events_parse() {
        let name = EventName::parse(&product("freshsales"), "onContactCreate").unwrap();
        assert_eq!(name.as_str(), "onContactCreate");
        assert_eq!(String::from(name), "onContactCreate");
        let zoho = EventName::parse(&product("zoho_desk"), "Ticket_Add").unwrap();
        assert_eq!(zoho.to_string(), "Ticket_Add");
    }

    #[test]
    fn an_unknown_event_is_refused_with_the_products_list() {
        let error = EventName::parse(&product("freshsales"), "onContactDelete").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"onContactDelete\" is not an event of freshsales; its events are: \
             onContactCreate, onContactUpdate, onDealCreate, onDealUpdate, \
             onSalesAccountCreate, onSalesAccountUpdate, onCustomModuleCreate, \
             onCustomModuleUpdate, onAppointmentCreate, onAppointmentUpdate, onTaskCreate, \
             onTaskUpdate, onLeadCreate, onLeadUpdate"
        );
    }

    /// Every product's list is in the message, whatever its length, in catalogue order.
    #[test]
    fn every_product_refuses_an_unknown_event_with_the_same_message_shape() {
        for name in catalogue::products().iter().chain([&catalogue::ZOHO_DESK]) {
            let error = EventName::parse(&product(name), "onNoSuchThing").unwrap_err();
            let known = catalogue::events_of(name).unwrap();
            assert_eq!(
                error.to_string(),
                format!(
                    "\"onNoSuchThing\" is not an event of {name}; its events are: {}",
                    known.join(", ")
                )
            );
            for event in known {
                assert!(
                    EventName::parse(&product(name), event).is_ok(),
                    "{name}: {event}"
                );
            }
        }
        assert!(EventName::parse(&product("freshsales"), "onLeadCreate").is_ok());
        assert!(EventName::parse(&product("freshworks_crm"), "onCpqDocumentCreate").is_ok());
        assert!(EventName::parse(&product("freshsales"), "onCpqDocumentCreate").is_err());
        assert!(EventName::parse(&product("freshdesk"), "onArticleCreate").is_ok());
        assert!(EventName::parse(&product("freshservice"), "onTicketDelete").is_err());
    }

    #[test]
    fn another_products_event_is_not_this_ones() {
        let error = EventName::parse(&product("freshsales"), "Ticket_Add").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("\"Ticket_Add\" is not an event of freshsales; its events are: "),
            "{error}"
        );
        assert!(EventName::parse(&product("freshdesk"), "onDealCreate").is_err());
        assert!(EventName::parse(&product("freshdesk"), "onTicketCreate").is_ok());
    }

    #[test]
    fn a_product_the_catalogue_does_not_know_has_no_events() {
        let error = EventName::parse(&product("acme"), "onContactCreate").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"onContactCreate\" is not an event of acme; its events are: "
        );
    }

    #[test]
    fn app_events_belong_to_their_sources() {
        let external = EventName::parse(&EventSource::External, "onExternalEvent").unwrap();
        assert_eq!(external, EventName::from(AppEvent::External));
        assert!(EventName::parse(&EventSource::External, "onAppInstall").is_err());
        for event in [
            "onAppInstall",
            "onAppUninstall",
            "afterAppUpdate",
            "onScheduledEvent",
        ] {
            assert!(
                EventName::parse(&EventSource::Platform, event).is_ok(),
                "{event}"
            );
        }
        assert!(EventName::parse(&EventSource::Platform, "onExternalEvent").is_err());
        assert!(
            EventName::parse(&product("freshsales"), "onAppInstall").is_err(),
            "a product posts no app event"
        );
        assert!(EventName::parse(&EventSource::Connector, "chat-message").is_err());
    }
}

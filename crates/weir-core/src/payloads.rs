//! Built-in sample payloads of product events (`payloads/`): what the host product posts
//! for each event, for the simulator and for tests. Events without a sample of their own
//! get a plain body made from their name ([`body`]), so that a handler reading the
//! record's id (`payload.data.ticket.id`) finds one whatever the event.

use serde_json::{Value, json};

use crate::event::record_key;

/// `(product, event, file)` for each sample under `payloads/`.
macro_rules! samples {
    ($($product:literal / $event:literal),* $(,)?) => {
        &[$((
            $product,
            $event,
            include_str!(concat!("../payloads/", $product, "/", $event, ".json")),
        )),*]
    };
}

/// Kept in the binary, so `weir dev` needs no files of its own. Freshsales' are seed
/// 001's and the documentation's; Freshdesk's and Freshservice's follow the sample
/// payloads of the product-event pages (ticket, conversation, contact, company, change,
/// user), trimmed to the fields apps commonly read.
const FILES: &[(&str, &str, &str)] = samples![
    "freshsales" / "onContactCreate",
    "freshsales" / "onContactUpdate",
    "freshsales" / "onDealCreate",
    "freshsales" / "onDealUpdate",
    "freshsales" / "onSalesAccountCreate",
    "freshsales" / "onSalesAccountUpdate",
    "freshsales" / "onCustomModuleCreate",
    "freshsales" / "onCustomModuleUpdate",
    "freshsales" / "onAppointmentCreate",
    "freshsales" / "onAppointmentUpdate",
    "freshsales" / "onTaskCreate",
    "freshsales" / "onTaskUpdate",
    "freshsales" / "onLeadCreate",
    "freshsales" / "onLeadUpdate",
    "freshdesk" / "onTicketCreate",
    "freshdesk" / "onTicketUpdate",
    "freshdesk" / "onConversationCreate",
    "freshdesk" / "onContactCreate",
    "freshdesk" / "onContactUpdate",
    "freshdesk" / "onCompanyCreate",
    "freshservice" / "onTicketCreate",
    "freshservice" / "onTicketUpdate",
    "freshservice" / "onConversationCreate",
    "freshservice" / "onChangeCreate",
    "freshservice" / "onUserCreate",
];

/// Freshworks CRM shares Freshsales' samples (the same events, the same payloads).
fn sample_product(product: &str) -> &str {
    match product {
        "freshworks_crm" => "freshsales",
        other => other,
    }
}

/// The sample of `event` for `product`: `{"event", "data", "actor"?, "changes"?}`, as
/// posted to Weir.
pub fn sample(product: &str, event: &str) -> Option<Value> {
    let product = sample_product(product);
    FILES
        .iter()
        .find(|(p, e, _)| *p == product && *e == event)
        .and_then(|(_, _, text)| serde_json::from_str(text).ok())
}

/// The events a product has samples for.
pub fn sampled_events(product: &str) -> Vec<&'static str> {
    let product = sample_product(product);
    FILES
        .iter()
        .filter(|(p, _, _)| *p == product)
        .map(|(_, e, _)| *e)
        .collect()
}

/// What the host product would post for `event`: its sample, else a body made from the
/// event's name: the record it is about with an id (`onTimeEntryCreate` →
/// `{"time_entry": {"id": 1}}`), an actor, and for an update a change of `updated_at`.
pub fn body(product: &str, event: &str) -> Value {
    if let Some(sample) = sample(product, event) {
        return sample;
    }
    let record = record_key(event);
    let mut body = json!({
        "event": event,
        "data": {record: {"id": 1, "created_at": "2024-05-01T09:00:00Z"}},
        "actor": {"id": 2, "type": "agent", "name": "Sample Agent"},
    });
    if event.ends_with("Update") {
        body["changes"] = json!({"updated_at": ["2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z"]});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    /// Whether `data` holds a record with an id (most are named after the event, as
    /// `ticket`; Freshsales' custom module records are `custom_module_record`).
    fn has_a_record(body: &Value) -> bool {
        let Some(data) = body["data"].as_object() else {
            return false;
        };
        data.values().any(|record| record["id"].is_u64())
    }

    #[test]
    fn every_freshsales_event_has_a_sample_that_names_it() {
        let events = catalogue::product_events("freshsales").unwrap();
        assert_eq!(sampled_events("freshsales"), events.to_vec());
        for event in events {
            let sample = sample("freshworks_crm", event).unwrap();
            assert_eq!(sample["event"], *event);
            assert!(sample["data"].is_object(), "{event}");
            assert_eq!(
                sample["changes"].is_object(),
                event.ends_with("Update"),
                "{event}"
            );
        }
    }

    #[test]
    fn every_sample_parses_names_its_event_and_is_in_the_catalogue() {
        for (product, event, _) in FILES {
            let sample = sample(product, event).unwrap_or_else(|| panic!("{product} {event}"));
            assert_eq!(sample["event"], *event);
            assert!(
                catalogue::product_events(product).unwrap().contains(event),
                "{product} {event}"
            );
            assert!(has_a_record(&sample), "{product} {event}: {sample}");
        }
    }

    #[test]
    fn the_common_desk_and_service_events_have_ids_handlers_read() {
        let ticket = sample("freshdesk", "onTicketCreate").unwrap();
        assert_eq!(ticket["data"]["ticket"]["id"], 1042);
        assert_eq!(ticket["data"]["requester"]["id"], 5001);
        assert_eq!(ticket["data"]["ticket"]["requester_id"], 5001);
        let update = sample("freshdesk", "onTicketUpdate").unwrap();
        assert_eq!(update["changes"]["status"], json!([2, 3]));
        let service = sample("freshservice", "onTicketCreate").unwrap();
        assert_eq!(service["data"]["ticket"]["id"], 2051);
        assert!(service["data"]["requester"]["id"].is_u64());
        assert_eq!(sample("freshservice", "onTicketDelete"), None);
    }

    #[test]
    fn events_without_a_sample_get_a_record_with_an_id() {
        let time_entry = body("freshdesk", "onTimeEntryCreate");
        assert_eq!(time_entry["event"], "onTimeEntryCreate");
        assert_eq!(time_entry["data"]["time_entry"]["id"], 1);
        assert!(time_entry.get("changes").is_none());
        let update = body("freshworks_crm", "onCpqDocumentUpdate");
        assert_eq!(update["data"]["cpq_document"]["id"], 1);
        assert!(update["changes"].is_object());
        // A sample, where there is one.
        assert_eq!(
            body("freshdesk", "onTicketCreate")["data"]["ticket"]["id"],
            1042
        );
        // Every event of every product has a record with an id.
        for product in catalogue::products() {
            for event in catalogue::product_events(product).unwrap() {
                let posted = body(product, event);
                assert!(has_a_record(&posted), "{product} {event}: {posted}");
            }
        }
    }
}

//! Built-in sample payloads of product events (`payloads/`): what the host product posts
//! for each event, for the simulator and for tests.

use serde_json::Value;

/// `(product, event, file)`: kept in the binary, so `weir dev` needs no files of its own.
const FILES: &[(&str, &str, &str)] = &[
    (
        "freshsales",
        "onContactCreate",
        include_str!("../payloads/freshsales/onContactCreate.json"),
    ),
    (
        "freshsales",
        "onContactUpdate",
        include_str!("../payloads/freshsales/onContactUpdate.json"),
    ),
    (
        "freshsales",
        "onDealCreate",
        include_str!("../payloads/freshsales/onDealCreate.json"),
    ),
    (
        "freshsales",
        "onDealUpdate",
        include_str!("../payloads/freshsales/onDealUpdate.json"),
    ),
    (
        "freshsales",
        "onSalesAccountCreate",
        include_str!("../payloads/freshsales/onSalesAccountCreate.json"),
    ),
    (
        "freshsales",
        "onSalesAccountUpdate",
        include_str!("../payloads/freshsales/onSalesAccountUpdate.json"),
    ),
    (
        "freshsales",
        "onCustomModuleCreate",
        include_str!("../payloads/freshsales/onCustomModuleCreate.json"),
    ),
    (
        "freshsales",
        "onCustomModuleUpdate",
        include_str!("../payloads/freshsales/onCustomModuleUpdate.json"),
    ),
    (
        "freshsales",
        "onAppointmentCreate",
        include_str!("../payloads/freshsales/onAppointmentCreate.json"),
    ),
    (
        "freshsales",
        "onAppointmentUpdate",
        include_str!("../payloads/freshsales/onAppointmentUpdate.json"),
    ),
    (
        "freshsales",
        "onTaskCreate",
        include_str!("../payloads/freshsales/onTaskCreate.json"),
    ),
    (
        "freshsales",
        "onTaskUpdate",
        include_str!("../payloads/freshsales/onTaskUpdate.json"),
    ),
];

/// The sample of `event` for `product` (Freshworks CRM shares Freshsales' samples):
/// `{"event", "data", "actor"?, "changes"?}`, as posted to Weir.
pub fn sample(product: &str, event: &str) -> Option<Value> {
    let product = match product {
        "freshworks_crm" => "freshsales",
        other => other,
    };
    FILES
        .iter()
        .find(|(p, e, _)| *p == product && *e == event)
        .map(|(_, _, text)| serde_json::from_str(text).expect("built-in samples are JSON"))
}

/// The events a product has samples for.
pub fn sampled_events(product: &str) -> Vec<&'static str> {
    let product = match product {
        "freshworks_crm" => "freshsales",
        other => other,
    };
    FILES
        .iter()
        .filter(|(p, _, _)| *p == product)
        .map(|(_, e, _)| *e)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_freshsales_event_has_a_sample_that_names_it() {
        let events = crate::catalogue::product_events("freshsales").unwrap();
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
        assert_eq!(sample("freshdesk", "onTicketCreate"), None);
    }
}

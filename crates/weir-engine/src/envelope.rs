//! The payloads handlers receive (REFERENCE §1 "Payload envelopes"): what every event
//! carries about the account and the installation, plus what the event itself adds.

use serde_json::{Value, json};
use weir_core::{Account, Installation};

/// `{account_id, domain, event, region, timestamp, iparams}`: the fields every envelope
/// has. `iparams` holds the secure values too: server code gets them all.
pub fn base(account: &Account, installation: &Installation, event: &str) -> Value {
    let iparams = &installation.iparams;
    let mut all = iparams.public.clone();
    all.extend(iparams.secure.clone());
    json!({
        "account_id": account.id.as_str(),
        "domain": account.domain.as_str(),
        "event": event,
        "region": account.region.as_str(),
        "timestamp": weir_core::now().as_millisecond(),
        "iparams": all,
    })
}

/// `onScheduledEvent`: the base plus the schedule's `data`.
pub fn scheduled(account: &Account, installation: &Installation, data: Value) -> Value {
    let mut envelope = base(
        account,
        installation,
        crate::host::schedule::SCHEDULED_EVENT,
    );
    envelope["data"] = data;
    envelope
}

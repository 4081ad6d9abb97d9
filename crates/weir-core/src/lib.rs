//! Weir's pure domain: the things the platform talks about, parsed and checked.
//!
//! Everything here is plain data and functions: no async, no database, no network. Values
//! are parsed once at the edge into these types ("parse, don't validate"), so the rest of
//! Weir can trust them. The only outside resources used are the clock and the operating
//! system's random number generator, for new ids and tokens.

pub mod account;
pub mod api_key;
pub mod app;
pub mod app_data;
pub mod catalogue;
pub mod delivery;
pub mod entity_storage;
pub mod event;
pub mod http_method;
pub mod ids;
pub mod installation;
pub mod invocation;
pub mod oauth;
pub mod operational;
pub mod package;
pub mod payloads;
pub mod registered_webhook;
pub mod schedule;
pub mod sealing;
pub mod secret;
pub mod security_context;
pub mod signed_pass;
pub mod subscription;

pub use account::{Account, Departments, Domain, Product, Region};
pub use api_key::ApiKey;
pub use app::{
    App, AppDefinition, AppName, ConnectorEventKind, IparamSpec, IparamsPage, Method,
    PackageProblem, PlatformVersion, WebhookMethods,
};
pub use delivery::{
    Attempt, Delivery, DeliveryStatus, PreviousSecret, SignatureScheme, SubscriptionKind,
    WebhookSecret, WebhookSubscription,
};
pub use event::{
    AppEvent, EventName, EventSource, Job, JobStatus, ProductEvent, Subscription, UnknownEvent,
    UnknownProduct,
};
pub use http_method::HttpMethod;
pub use ids::{
    AccountId, ApiKeyId, AppId, EventId, InstallationId, InvocationId, ReferenceId, SubscriptionId,
};
pub use installation::{Installation, InstallationStatus, Iparams, target_url};
pub use invocation::{ConsoleLine, InvocationFilter, InvocationRecord, InvocationStatus};
pub use operational::{OperationalEvent, OperationalEventType};
pub use package::{MAX_PACKAGE_BYTES, MAX_PACKAGE_ENTRIES, Package, PackageError, PackageLimits};
pub use registered_webhook::WebhookInvocation;
pub use schedule::{Repeat, Schedule, ScheduleLimits, ScheduleSpec, TimeUnit};
pub use sealing::{Keyring, SealError, SealingKey};
pub use secret::{ApiToken, TargetToken, TokenHash};
pub use subscription::{
    SpecProblem, SubscriptionChange, SubscriptionRequest, SubscriptionSpec, SubscriptionUrl,
};

/// Serde support for string newtypes with a `parse` function: deserialise a string, then
/// parse it, so that a bad value is reported by serde with the field's path.
#[macro_export]
#[doc(hidden)]
macro_rules! deserialize_by_parse {
    ($($name:ident),*) => {$(
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&value).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// A value that failed to parse, with a message that says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// Lower-case hex SHA-256: token hashes and package digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The current time at the precision Weir stores (milliseconds), so that a value read
/// back equals the value written.
pub fn now() -> jiff::Timestamp {
    let millis = jiff::Timestamp::now().as_millisecond();
    jiff::Timestamp::from_millisecond(millis).expect("the clock is within jiff's range")
}

//! Webhook subscriptions as asked for: the URL deliveries go to and the settings of their
//! delivery, parsed once in one place, whoever asks (the operator through the API, or an
//! app's `resources.json` at install), so that every subscription meets the same rules.

mod spec;
mod subscription_url;

pub use spec::{
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT_MS, MAX_BATCH_SIZE, MAX_IN_FLIGHT, MAX_LINGER_MS,
    MAX_RATE_PER_SECOND, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, SpecProblem, SubscriptionChange,
    SubscriptionRequest, SubscriptionSpec,
};
pub use subscription_url::SubscriptionUrl;

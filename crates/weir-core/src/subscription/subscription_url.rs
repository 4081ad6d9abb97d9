//! Where a subscription's deliveries go.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::InvalidValue;

/// An absolute `http` or `https` URL with a host, kept as given (deliveries call it as
/// written). Whether its address may be called is decided at connect time, by the
/// outbound client's SSRF guard, not here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriptionUrl(String);

impl SubscriptionUrl {
    pub fn parse(url: &str) -> Result<SubscriptionUrl, InvalidValue> {
        let parsed =
            url::Url::parse(url).map_err(|e| InvalidValue(format!("{url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(InvalidValue(format!(
                "{url:?} must be an http or https URL with a host"
            )));
        }
        Ok(SubscriptionUrl(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<SubscriptionUrl> for String {
    fn from(url: SubscriptionUrl) -> Self {
        url.0
    }
}

impl fmt::Display for SubscriptionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SubscriptionUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_are_kept_as_given() {
        for url in [
            "https://hooks.example.com/zoho",
            "http://127.0.0.1:8080/in?x=1",
            "HTTPS://Example.com",
        ] {
            assert_eq!(SubscriptionUrl::parse(url).unwrap().as_str(), url);
        }
    }

    #[test]
    fn other_urls_are_refused_saying_why() {
        assert_eq!(
            SubscriptionUrl::parse("ftp://x.io/hook").unwrap_err().0,
            "\"ftp://x.io/hook\" must be an http or https URL with a host"
        );
        assert_eq!(
            SubscriptionUrl::parse("mailto:someone@example.com")
                .unwrap_err()
                .0,
            "\"mailto:someone@example.com\" must be an http or https URL with a host"
        );
        assert_eq!(
            SubscriptionUrl::parse("/hook").unwrap_err().0,
            "\"/hook\" is not a URL: relative URL without a base"
        );
        assert_eq!(
            SubscriptionUrl::parse("https://").unwrap_err().0,
            "\"https://\" is not a URL: empty host"
        );
    }
}

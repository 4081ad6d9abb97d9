//! Where `$request` may go (REFERENCE §1): HTTPS only, a host name (no IP address) that is
//! fully qualified, and one the manifest's `whitelisted-domains` allows. A host the
//! operator overrides (REFERENCE §8) may also use plain HTTP.

use reqwest::Url;

use crate::outbound::Outbound;

pub(super) const MUST_BE_HTTPS: &str = "Invalid URL - Must be HTTPS";
pub(super) const NO_IP: &str = "Invalid URL - IP is disallowed";
pub(super) const MUST_BE_FQDN: &str = "Invalid URL - Must be FQDN";
pub(super) const NOT_WHITELISTED: &str = "This domain has not been whitelisted";

/// The URL, if the platform's rules allow calling it; else the platform's message.
/// `http_declared`: a request template that names `http` as its protocol may use it.
pub(super) fn checked(
    outbound: &Outbound,
    url: &str,
    http_declared: bool,
) -> Result<Url, &'static str> {
    let url = Url::parse(url.trim()).map_err(|_| MUST_BE_HTTPS)?;
    let host = match url.host() {
        Some(url::Host::Domain(host)) => host.to_owned(),
        Some(_) => return Err(NO_IP),
        None => return Err(MUST_BE_FQDN),
    };
    let plain_http_allowed =
        url.scheme() == "http" && (http_declared || outbound.is_overridden(&host));
    if url.scheme() != "https" && !plain_http_allowed {
        return Err(MUST_BE_HTTPS);
    }
    if !is_fqdn(&host) {
        return Err(MUST_BE_FQDN);
    }
    Ok(url)
}

/// At least two labels, each of letters, digits and inner hyphens, the last not numeric.
fn is_fqdn(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !labels[labels.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// Whether one of the (already rendered) `whitelisted-domains` entries allows `url`:
/// same scheme and host, `*.` matching one or more labels, and the same port when the
/// entry names one. A host override does not change the rules: the app's URL is checked.
pub(super) fn whitelisted(url: &Url, entries: &[String]) -> bool {
    entries.iter().any(|entry| allows(entry, url))
}

fn allows(entry: &str, url: &Url) -> bool {
    let entry = entry.trim().trim_end_matches('/');
    let Some((scheme, authority)) = entry.split_once("://") else {
        return false;
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) => (host, Some(port)),
            Err(_) => return false,
        },
        None => (authority, None),
    };
    let Some(url_host) = url.host_str() else {
        return false;
    };
    let url_host = url_host.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let host_matches = match host.strip_prefix("*.") {
        Some(parent) => url_host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => url_host == host,
    };
    let scheme_matches = scheme.eq_ignore_ascii_case(url.scheme())
        || (url.scheme() == "http" && scheme.eq_ignore_ascii_case("https"));
    scheme_matches && host_matches && port.is_none_or(|p| url.port_or_known_default() == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::OutboundSettings;

    fn outbound() -> Outbound {
        let mut settings = OutboundSettings::default();
        settings
            .host_overrides
            .insert("api.github.com".into(), "127.0.0.1:9".parse().unwrap());
        Outbound::new(settings)
    }

    #[test]
    fn applies_the_platform_rules_in_order() {
        let outbound = outbound();
        let cases = [
            ("https://api.example.com/x", Ok(())),
            ("http://api.example.com/x", Err(MUST_BE_HTTPS)),
            ("ftp://api.example.com/x", Err(MUST_BE_HTTPS)),
            ("not a url", Err(MUST_BE_HTTPS)),
            ("https://10.0.0.1/x", Err(NO_IP)),
            ("https://[::1]/x", Err(NO_IP)),
            ("https://localhost/x", Err(MUST_BE_FQDN)),
            ("https://under_score.example.com/x", Err(MUST_BE_FQDN)),
            ("http://api.github.com/repos", Ok(())),
        ];
        for (url, expected) in cases {
            assert_eq!(
                checked(&outbound, url, false).map(|_| ()),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn whitelist_entries_match_scheme_host_and_wildcards() {
        let entries = vec![
            "https://*.freshdesk.com".to_owned(),
            "https://api.github.com".to_owned(),
            "https://hooks.example.com:8443/".to_owned(),
        ];
        let allowed = |url: &str| whitelisted(&Url::parse(url).unwrap(), &entries);
        assert!(allowed("https://acme.freshdesk.com/api/v2/tickets"));
        assert!(allowed("https://a.b.freshdesk.com/"));
        assert!(!allowed("https://freshdesk.com/"));
        assert!(!allowed("https://evilfreshdesk.com/"));
        assert!(allowed("https://API.github.com/repos"));
        // An overridden host keeps its https entry when the app itself uses http.
        assert!(allowed("http://api.github.com/repos"));
        assert!(!allowed("https://api.github.com.evil.com/"));
        assert!(allowed("https://hooks.example.com:8443/x"));
        assert!(!allowed("https://hooks.example.com/x"));
    }
}

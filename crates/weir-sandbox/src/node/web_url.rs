//! The WHATWG URL parser behind `URL` and `url.domainToASCII`: the `url` crate (already
//! in the build for the outbound client), which implements the URL Standard, getters and
//! setters included (`url::quirks`). Parsing is the hard part of `URL`, and the part
//! where a hand-written copy would differ from Node's and from the outbound client's.

use url::{Url, quirks};

/// `input` parsed against `base`, if both parse.
pub(crate) fn parse(input: &str, base: Option<&str>) -> Option<Url> {
    let base = match base {
        Some(base) => Some(Url::parse(base).ok()?),
        None => None,
    };
    Url::options().base_url(base.as_ref()).parse(input).ok()
}

/// `href`, `origin`, `protocol`, `username`, `password`, `host`, `hostname`, `port`,
/// `pathname`, `search` and `hash`, as `URL`'s getters give them.
pub(crate) fn parts(url: &Url) -> [String; 11] {
    [
        quirks::href(url).to_owned(),
        quirks::origin(url),
        quirks::protocol(url).to_owned(),
        quirks::username(url).to_owned(),
        quirks::password(url).to_owned(),
        quirks::host(url).to_owned(),
        quirks::hostname(url).to_owned(),
        quirks::port(url).to_owned(),
        quirks::pathname(url).to_owned(),
        quirks::search(url).to_owned(),
        quirks::hash(url).to_owned(),
    ]
}

/// `url` with its `part` set to `value`, as `URL`'s setter does: a value the setter
/// refuses leaves the URL as it was. `None` for a part with no setter, or an `href`
/// that does not parse (the setter then throws).
pub(crate) fn set(url: &mut Url, part: &str, value: &str) -> Option<()> {
    // The standard's setters ignore what they cannot apply: the results are dropped.
    match part {
        "href" => return quirks::set_href(url, value).ok(),
        "protocol" => drop(quirks::set_protocol(url, value)),
        "username" => drop(quirks::set_username(url, value)),
        "password" => drop(quirks::set_password(url, value)),
        "host" => drop(quirks::set_host(url, value)),
        "hostname" => drop(quirks::set_hostname(url, value)),
        "port" => drop(quirks::set_port(url, value)),
        "pathname" => quirks::set_pathname(url, value),
        "search" => quirks::set_search(url, value),
        "hash" => quirks::set_hash(url, value),
        _ => return None,
    }
    Some(())
}

pub(crate) fn domain_to_ascii(domain: &str) -> String {
    quirks::domain_to_ascii(domain)
}

pub(crate) fn domain_to_unicode(domain: &str) -> String {
    quirks::domain_to_unicode(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_as_node_s_url_gives_them() {
        let url = parse("../b?x=1#top", Some("https://user:pw@Example.COM:8443/a/c")).unwrap();
        let got = parts(&url);
        assert_eq!(
            got,
            [
                "https://user:pw@example.com:8443/b?x=1#top",
                "https://example.com:8443",
                "https:",
                "user",
                "pw",
                "example.com:8443",
                "example.com",
                "8443",
                "/b",
                "?x=1",
                "#top",
            ]
            .map(str::to_owned)
        );
        assert!(parse("not a url", None).is_none());
        assert!(parse("/relative", Some("also not")).is_none());
    }

    #[test]
    fn setters_apply_what_the_standard_allows() {
        let mut url = parse("http://a.example/x", None).unwrap();
        set(&mut url, "port", "8080").unwrap();
        set(&mut url, "protocol", "https").unwrap();
        set(&mut url, "search", "q=1 2").unwrap();
        assert_eq!(url.as_str(), "https://a.example:8080/x?q=1%202");
        set(&mut url, "port", "not a port").unwrap();
        assert_eq!(parts(&url)[7], "8080");
        assert!(set(&mut url, "href", "::").is_none());
        assert_eq!(domain_to_ascii("mañana.com"), "xn--maana-pta.com");
        assert_eq!(domain_to_unicode("xn--maana-pta.com"), "mañana.com");
    }
}

//! The URLs `weir dev` prints and its pages show: the pages on loopback, the URLs third
//! parties call under the public URL (a tunnel's, with `--public-url`).

use weir_core::AppDefinition;

pub struct Urls {
    /// `http://localhost:<port>`: the pages answer there only (`local_only`).
    local: String,
    /// The base third parties use, without a trailing slash.
    public: String,
    app_name: String,
    /// The installation's target URL, for external events.
    pub target: String,
}

impl Urls {
    pub fn new(port: u16, public: &str, app_name: &str, target: String) -> Self {
        Urls {
            local: format!("http://localhost:{port}"),
            public: public.trim_end_matches('/').to_owned(),
            app_name: app_name.to_owned(),
            target,
        }
    }

    pub fn simulator(&self) -> String {
        format!("{}/web/test", self.local)
    }

    pub fn iparams(&self) -> String {
        format!("{}/custom_configs", self.local)
    }

    /// Where the developer starts an OAuth authorization of the dev installation (the
    /// page sends the browser on to the authorization server).
    pub fn oauth_authorize(&self, integration: &str) -> String {
        match integration {
            "" => format!("{}/web/oauth/authorize", self.local),
            name => format!(
                "{}/web/oauth/authorize?integration={}",
                self.local,
                encode_segment(name)
            ),
        }
    }

    /// The redirect URI to register with the authorization server.
    pub fn oauth_callback(&self) -> String {
        weir_engine::oauth::redirect_uri(&self.public)
    }

    /// `(key, url)` of each of the app's global webhooks: by the app's name rather than
    /// a version's id, so they hold across edits (see `global_webhook_key`).
    pub fn global_webhooks(&self, definition: &AppDefinition) -> Vec<(String, String)> {
        let name = encode_segment(&self.app_name);
        let url = |key: &str| format!("{}/in/global/{name}/{key}", self.public);
        let webhooks = definition.global_webhooks.iter();
        webhooks.map(|w| (w.key.clone(), url(&w.key))).collect()
    }

    /// The webhook key of a request path to one of those URLs, e.g. `chat-events` of
    /// `/in/global/chat-connector/chat-events`.
    pub fn global_webhook_key<'a>(&self, path: &'a str) -> Option<&'a str> {
        let (name, key) = path.strip_prefix("/in/global/")?.split_once('/')?;
        (decode_segment(name)? == self.app_name).then_some(key)
    }
}

/// A path segment as URLs carry it: bytes other than letters, digits and `-._~` as `%XX`.
fn encode_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// The text of a path segment, `%XX` decoded; `None` if it is not UTF-8 or a `%` is
/// not followed by two hex digits.
fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_accents_round_trip_through_the_url() {
        let urls = Urls::new(
            10001,
            "https://t.example/",
            "Chat Connector é",
            String::new(),
        );
        assert_eq!(
            encode_segment("Chat Connector é"),
            "Chat%20Connector%20%C3%A9"
        );
        let path = "/in/global/Chat%20Connector%20%C3%A9/chat-events";
        assert_eq!(urls.global_webhook_key(path), Some("chat-events"));
        assert_eq!(
            urls.global_webhook_key("/in/global/Other/chat-events"),
            None
        );
        assert_eq!(urls.global_webhook_key("/in/global/Chat%2/x"), None);
        assert_eq!(urls.simulator(), "http://localhost:10001/web/test");
    }
}

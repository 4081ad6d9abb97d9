//! OAuth 2.0 as Freshworks apps declare it (`config/oauth_config.json`) and as
//! authorization servers answer it: the pure half of Weir's OAuth support. The engine
//! (`weir_engine::oauth`) does the I/O: it renders the `<%= oauth_iparams.x %>` templates,
//! calls the token endpoint and keeps the tokens sealed.
//!
//! Two shapes of `oauth_config.json` are read. Freshworks documents the first; the second
//! is Weir's reading of the platform 3.1 `integrations` and may differ from Freshworks' in
//! details it does not document publicly:
//!
//! ```json
//! {"client_id": "…", "client_secret": "…",
//!  "authorize_url": "https://<%= oauth_iparams.domain %>/oauth/authorize",
//!  "token_url": "https://<%= oauth_iparams.domain %>/oauth/token",
//!  "options": {"scope": "read write"},
//!  "token_type": "account",
//!  "oauth_iparams": {"domain": {"display_name": "Domain", "type": "text", "required": true}}}
//!
//! {"integrations": {"<name>": { the same fields, plus an optional "display_name" }}}
//! ```
//!
//! - `options` are sent as query parameters of the authorize URL (`scope`, `access_type`,
//!   `prompt`, …); values that are not strings are written out as JSON.
//! - `token_type` is `account` (the default) or `agent`. Weir has no agents of its own, so
//!   both keep one token per installation and integration.
//! - `oauth_iparams` has the shape of `iparams.json`; only each entry's `required` is read.

use std::fmt;

use serde_json::Value;

pub const FILE: &str = "config/oauth_config.json";

/// The integration name of a configuration without `integrations` (platform 2.x): the
/// tokens of such an app are stored under it.
pub const DEFAULT_INTEGRATION: &str = "";

/// An app's `oauth_config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    integrations: Vec<OAuthIntegration>,
}

/// One authorization server an app is a client of.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthIntegration {
    /// [`DEFAULT_INTEGRATION`] for a 2.x configuration, else its key under `integrations`.
    pub name: String,
    pub display_name: Option<String>,
    /// These four may hold `<%= oauth_iparams.x %>` substitutions.
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    /// Extra query parameters of the authorize URL, in the order given.
    pub options: Vec<(String, String)>,
    pub token_type: TokenType,
    pub oauth_iparams: Vec<OAuthIparam>,
}

impl fmt::Debug for OAuthIntegration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthIntegration")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("options", &self.options)
            .field("token_type", &self.token_type)
            .field("oauth_iparams", &self.oauth_iparams)
            .finish()
    }
}

/// Whose token it is: the account's (one for the installation) or each agent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    Account,
    Agent,
}

/// A value the installer gives when authorizing, for the templates of the configuration
/// and of requests (`<%= oauth_iparams.domain %>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthIparam {
    pub name: String,
    pub required: bool,
}

impl OAuthConfig {
    /// Reads the file's JSON; each problem names the field, as a JSON pointer.
    pub fn parse(value: &Value) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let Some(root) = value.as_object() else {
            return Err(vec![format!("{FILE}: must be a JSON object")]);
        };
        let integrations = match root.get("integrations") {
            None => integration(DEFAULT_INTEGRATION, "", value, &mut problems)
                .into_iter()
                .collect(),
            Some(Value::Object(named)) if !named.is_empty() => named
                .iter()
                .filter_map(|(name, spec)| {
                    let pointer = format!("/integrations/{}", escape(name));
                    integration(name, &pointer, spec, &mut problems)
                })
                .collect(),
            Some(_) => {
                problems.push(format!(
                    "{FILE} /integrations: must be an object of integrations by name"
                ));
                Vec::new()
            }
        };
        match problems.is_empty() {
            true => Ok(OAuthConfig { integrations }),
            false => Err(problems),
        }
    }

    pub fn integrations(&self) -> &[OAuthIntegration] {
        &self.integrations
    }

    /// The integration `name` (a 3.1 template's `oauth`), or with no name (`isOAuth`, or
    /// an operator who names none) the app's only one.
    pub fn integration(&self, name: Option<&str>) -> Result<&OAuthIntegration, String> {
        let names = || {
            let names: Vec<&str> = self.integrations.iter().map(|i| i.name.as_str()).collect();
            names.join(", ")
        };
        match name {
            Some(name) => self
                .integrations
                .iter()
                .find(|i| i.name == name)
                .ok_or_else(|| format!("{FILE} has no integration {name:?} (it has: {})", names())),
            None => match &self.integrations[..] {
                [only] => Ok(only),
                _ => Err(format!(
                    "{FILE} has several integrations ({}): name one",
                    names()
                )),
            },
        }
    }
}

/// One integration's fields, at `pointer` in the file.
fn integration(
    name: &str,
    pointer: &str,
    spec: &Value,
    problems: &mut Vec<String>,
) -> Option<OAuthIntegration> {
    let before = problems.len();
    let Some(fields) = spec.as_object() else {
        problems.push(format!("{FILE} {pointer}: must be an object"));
        return None;
    };
    let mut text = |key: &str, required: bool| -> Option<String> {
        match fields.get(key) {
            Some(Value::String(value)) if !value.trim().is_empty() => Some(value.clone()),
            None if !required => None,
            None => {
                problems.push(format!("{FILE} {pointer}/{key}: missing"));
                None
            }
            Some(_) => {
                problems.push(format!(
                    "{FILE} {pointer}/{key}: must be a non-empty string"
                ));
                None
            }
        }
    };
    let client_id = text("client_id", true);
    let client_secret = text("client_secret", true);
    let authorize_url = text("authorize_url", true);
    let token_url = text("token_url", true);
    let display_name = text("display_name", false);
    let token_type = match text("token_type", false).as_deref() {
        None | Some("account") => TokenType::Account,
        Some("agent") => TokenType::Agent,
        Some(other) => {
            problems.push(format!(
                "{FILE} {pointer}/token_type: {other:?} must be \"account\" or \"agent\""
            ));
            TokenType::Account
        }
    };
    let options = match fields.get("options") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(options)) => options
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), value)
            })
            .collect(),
        Some(_) => {
            problems.push(format!("{FILE} {pointer}/options: must be an object"));
            Vec::new()
        }
    };
    let oauth_iparams = match fields.get("oauth_iparams") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(specs)) => specs
            .iter()
            .map(|(name, spec)| OAuthIparam {
                name: name.clone(),
                required: spec.get("required") == Some(&Value::Bool(true)),
            })
            .collect(),
        Some(_) => {
            problems.push(format!("{FILE} {pointer}/oauth_iparams: must be an object"));
            Vec::new()
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(OAuthIntegration {
        name: name.to_owned(),
        display_name,
        client_id: client_id?,
        client_secret: client_secret?,
        authorize_url: authorize_url?,
        token_url: token_url?,
        options,
        token_type,
        oauth_iparams,
    })
}

/// A key as a JSON pointer writes it.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Parameters of the authorize URL Weir sets itself; `options` cannot replace them.
const OWN_PARAMETERS: [&str; 4] = ["response_type", "client_id", "redirect_uri", "state"];

/// The URL the installer's browser is sent to (RFC 6749 §4.1.1): the integration's
/// `authorize_url` (rendered), with `response_type=code`, `client_id`, `redirect_uri`,
/// `state` and the `options` added to whatever query it has.
pub fn authorize_url(
    authorize_url: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    options: &[(String, String)],
) -> Result<String, String> {
    let mut url = url::Url::parse(authorize_url.trim())
        .map_err(|e| format!("{FILE} authorize_url {authorize_url:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "{FILE} authorize_url {authorize_url:?} must be an https:// URL"
        ));
    }
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        for (key, value) in options {
            if !OWN_PARAMETERS.contains(&key.as_str()) {
                query.append_pair(key, value);
            }
        }
    }
    Ok(url.into())
}

/// What a token endpoint granted (RFC 6749 §5.1). Its `Debug` never prints the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds the access token lives, if the server says.
    pub expires_in: Option<u64>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a token endpoint's answer grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The server refused (RFC 6749 §5.2): `invalid_grant`, say, with its description.
    #[error("the token endpoint refused: {0}")]
    Refused(String),
    /// The answer is not a grant at all.
    #[error("the token endpoint's answer is not a token grant: {0}")]
    Unreadable(String),
}

/// The longest description of a refusal kept from a server's answer.
const MAX_DESCRIPTION: usize = 200;

/// Reads a token endpoint's answer of `status`: JSON as the RFC has it, or a form-encoded
/// body, which some servers (GitHub's classic endpoint) send unless asked for JSON.
pub fn parse_grant(status: u16, body: &[u8]) -> Result<Grant, GrantError> {
    let fields: serde_json::Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(GrantError::Unreadable("not a JSON object".into())),
        Err(_) => url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    };
    let text = |key: &str| match fields.get(key) {
        Some(Value::String(value)) if !value.is_empty() => Some(value.clone()),
        _ => None,
    };
    if let Some(error) = text("error") {
        let mut why = match text("error_description") {
            Some(description) => format!("{error}: {description}"),
            None => error,
        };
        if why.len() > MAX_DESCRIPTION {
            let mut end = MAX_DESCRIPTION;
            while !why.is_char_boundary(end) {
                end -= 1;
            }
            why.truncate(end);
            why.push('…');
        }
        return Err(GrantError::Refused(why));
    }
    if !(200..300).contains(&status) {
        return Err(GrantError::Refused(format!("status {status}")));
    }
    let Some(access_token) = text("access_token") else {
        return Err(GrantError::Unreadable("no access_token".into()));
    };
    let expires_in = match fields.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Some(Value::String(n)) => n.trim().parse().ok(),
        _ => None,
    };
    Ok(Grant {
        access_token,
        refresh_token: text("refresh_token"),
        expires_in,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flat() -> Value {
        json!({
            "client_id": "cid",
            "client_secret": "csecret",
            "authorize_url": "https://<%= oauth_iparams.domain %>/oauth/authorize",
            "token_url": "https://auth.example.com/oauth/token",
            "options": {"scope": "read write", "access_type": "offline", "state": "mine"},
            "token_type": "account",
            "oauth_iparams": {"domain": {"display_name": "Domain", "required": true},
                              "region": {"display_name": "Region"}}
        })
    }

    #[test]
    fn reads_the_flat_shape_as_one_default_integration() {
        let config = OAuthConfig::parse(&flat()).unwrap();
        let only = config.integration(None).unwrap();
        assert_eq!(only.name, DEFAULT_INTEGRATION);
        assert_eq!(only.token_type, TokenType::Account);
        assert_eq!(only.options[0], ("scope".into(), "read write".into()));
        assert_eq!(
            only.oauth_iparams,
            [
                OAuthIparam {
                    name: "domain".into(),
                    required: true
                },
                OAuthIparam {
                    name: "region".into(),
                    required: false
                }
            ]
        );
        assert!(!format!("{only:?}").contains("csecret"));
    }

    #[test]
    fn reads_named_integrations_and_picks_one() {
        let config = OAuthConfig::parse(&json!({"integrations": {
            "zoom": flat(),
            "google": {"client_id": "g", "client_secret": "s", "token_type": "agent",
                       "authorize_url": "https://accounts.google.com/o/oauth2/auth",
                       "token_url": "https://oauth2.googleapis.com/token"}
        }}))
        .unwrap();
        assert_eq!(
            config.integration(Some("google")).unwrap().token_type,
            TokenType::Agent
        );
        assert_eq!(
            config.integration(None).unwrap_err(),
            "config/oauth_config.json has several integrations (zoom, google): name one"
        );
        assert_eq!(
            config.integration(Some("nope")).unwrap_err(),
            "config/oauth_config.json has no integration \"nope\" (it has: zoom, google)"
        );
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let problems = OAuthConfig::parse(&json!({"integrations": {"a/b": {
            "client_id": "", "authorize_url": 3, "token_url": "https://t.example.com",
            "token_type": "user", "options": []
        }}}))
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "config/oauth_config.json /integrations/a~1b/client_id: must be a non-empty string",
                "config/oauth_config.json /integrations/a~1b/client_secret: missing",
                "config/oauth_config.json /integrations/a~1b/authorize_url: must be a non-empty string",
                "config/oauth_config.json /integrations/a~1b/token_type: \"user\" must be \"account\" or \"agent\"",
                "config/oauth_config.json /integrations/a~1b/options: must be an object",
            ]
        );
        assert!(OAuthConfig::parse(&json!([])).is_err());
    }

    #[test]
    fn the_authorize_url_carries_the_client_the_callback_the_state_and_the_options() {
        let config = OAuthConfig::parse(&flat()).unwrap();
        let only = config.integration(None).unwrap();
        let url = authorize_url(
            "https://auth.example.com/oauth/authorize?audience=api",
            "cid",
            "https://weir.example.com/oauth/callback",
            "st&ate",
            &only.options,
        )
        .unwrap();
        assert_eq!(
            url,
            "https://auth.example.com/oauth/authorize?audience=api&response_type=code\
             &client_id=cid&redirect_uri=https%3A%2F%2Fweir.example.com%2Foauth%2Fcallback\
             &state=st%26ate&scope=read+write&access_type=offline"
        );
        assert!(authorize_url("ftp://x.example.com", "c", "r", "s", &[]).is_err());
        assert!(authorize_url("not a url", "c", "r", "s", &[]).is_err());
    }

    #[test]
    fn grants_are_read_from_json_or_form_bodies() {
        let json = br#"{"access_token":"at","refresh_token":"rt","expires_in":3600,"token_type":"bearer"}"#;
        assert_eq!(
            parse_grant(200, json).unwrap(),
            Grant {
                access_token: "at".into(),
                refresh_token: Some("rt".into()),
                expires_in: Some(3600)
            }
        );
        let form = b"access_token=at2&scope=repo&token_type=bearer";
        let grant = parse_grant(200, form).unwrap();
        assert_eq!(
            (grant.access_token.as_str(), grant.expires_in),
            ("at2", None)
        );
        assert!(!format!("{grant:?}").contains("at2"));
        let refused = br#"{"error":"invalid_grant","error_description":"the code was used"}"#;
        assert_eq!(
            parse_grant(400, refused).unwrap_err(),
            GrantError::Refused("invalid_grant: the code was used".into())
        );
        assert_eq!(
            parse_grant(500, b"oops").unwrap_err(),
            GrantError::Refused("status 500".into())
        );
        assert!(matches!(
            parse_grant(200, br#"{"token":"x"}"#),
            Err(GrantError::Unreadable(_))
        ));
        assert!(matches!(
            parse_grant(200, b"[1]"),
            Err(GrantError::Unreadable(_))
        ));
    }
}

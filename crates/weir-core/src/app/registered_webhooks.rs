//! Registered outbound webhooks (Coviu style, seed 003) in `config/webhooks.json`: an array
//! of `{id, url, method?, headers?, queryParams?, payload_encoding?}`. Apps trigger them by
//! id and never see the URL; header values (and the URL) may use `<%= iparam.name %>` so
//! that secrets live in the installation's secure iparams, not in the package.

use super::json::Node;
use super::problem::Problems;
use crate::HttpMethod;

pub const FILE: &str = "config/webhooks.json";
/// The methods a registration may name (Coviu's; no PATCH).
const METHODS: &[HttpMethod] = &[
    HttpMethod::Get,
    HttpMethod::Post,
    HttpMethod::Put,
    HttpMethod::Delete,
];
const FIELDS: &[&str] = &[
    "id",
    "url",
    "method",
    "headers",
    "queryParams",
    "payload_encoding",
    "then",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    pub id: String,
    pub url: String,
    /// GET, POST, PUT or DELETE; `None` when the registration names none (see
    /// `method_for`).
    pub method: Option<HttpMethod>,
    /// Sent with every call; values may be `<%= iparam.x %>` templates.
    pub headers: Vec<(String, String)>,
    /// The only query parameters a caller may pass.
    pub query_params: Vec<String>,
    /// True when callers pass the body base64-encoded and it is sent as binary.
    pub base64_payload: bool,
    /// A `server.js` function to run on the response of a call from outside (the trigger
    /// API), which may trigger further webhooks: a chain.
    pub then: Option<String>,
}

impl RegisteredWebhook {
    /// The method of a call: the registered one; failing that POST when the call carries a
    /// body (or the registration takes binary ones), else GET. Coviu's docs require a
    /// method, yet its own `send-jpeg` example has none.
    pub fn method_for(&self, has_body: bool) -> HttpMethod {
        match self.method {
            Some(method) => method,
            None if has_body || self.base64_payload => HttpMethod::Post,
            None => HttpMethod::Get,
        }
    }
}

pub(super) fn parse(root: &Node, problems: &mut Problems) -> Vec<RegisteredWebhook> {
    let mut webhooks: Vec<RegisteredWebhook> = Vec::new();
    for node in problems.take(root.items()).unwrap_or_default() {
        let Some(webhook) = registration(&node, problems) else {
            continue;
        };
        if webhooks.iter().any(|w| w.id == webhook.id) {
            let at = node.get("id").expect("parsed above");
            problems.push(at.problem(format!(
                "the webhook id {:?} is registered twice",
                webhook.id
            )));
            continue;
        }
        webhooks.push(webhook);
    }
    webhooks
}

fn registration(node: &Node, problems: &mut Problems) -> Option<RegisteredWebhook> {
    let before = problems.len();
    problems.take(node.members())?;
    for problem in node.unknown_members(FIELDS) {
        problems.push(problem);
    }
    let field = |key: &str, problems: &mut Problems| match node.get(key) {
        None => {
            problems.push(node.problem(format!("needs \"{key}\"")));
            None
        }
        Some(value) => problems.take(value.string().map(|s| (s.to_owned(), value))),
    };
    let id = field("id", problems).and_then(|(id, at)| {
        let ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        problems.take(if ok {
            Ok(id)
        } else {
            Err(at.problem("must be letters, digits, '-', '_' or '.'"))
        })
    });
    let url = field("url", problems).and_then(|(url, at)| {
        let ok = url.starts_with("https://") || url.starts_with("http://");
        problems.take(if ok {
            Ok(url)
        } else {
            Err(at.problem("must be an http:// or https:// URL"))
        })
    });
    let method = match node.get("method") {
        None => Some(None),
        Some(at) => problems.take(at.string()).and_then(|method| {
            let known = HttpMethod::parse(method).filter(|known| METHODS.contains(known));
            problems.take(match known {
                Some(known) => Ok(Some(known)),
                None => Err(at.problem(format!(
                    "unknown method {method:?} (one of: {})",
                    HttpMethod::names(METHODS)
                ))),
            })
        }),
    };
    let headers = node
        .get("headers")
        .map_or(Some(Vec::new()), |h| problems.take(h.string_map()));
    let query_params = node.get("queryParams").map_or(Some(Vec::new()), |q| {
        let items = problems.take(q.items())?;
        items
            .iter()
            .map(|i| problems.take(i.string().map(str::to_owned)))
            .collect()
    });
    let base64_payload =
        match node.get("payload_encoding") {
            None => false,
            Some(encoding) => match encoding.value.as_str() {
                Some("base64") => {
                    let typed = headers
                        .iter()
                        .flatten()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
                    if !typed {
                        problems.push(encoding.problem(
                            "base64 payloads need a Content-Type header (e.g. image/jpeg)",
                        ));
                    }
                    true
                }
                _ => {
                    problems.push(encoding.problem("the only payload_encoding is \"base64\""));
                    false
                }
            },
        };
    let then = match node.get("then") {
        None => None,
        Some(then) => match then.value.as_str() {
            Some(handler) if !handler.is_empty() => Some(handler.to_owned()),
            _ => {
                problems.push(then.problem("must name a server.js function"));
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(RegisteredWebhook {
        id: id?,
        url: url?,
        method: method?,
        headers: headers?,
        query_params: query_params?,
        base64_payload,
        then,
    })
}

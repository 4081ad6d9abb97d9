//! `config/requests.json`: request templates for `$request.invokeTemplate` (platform 2.3+):
//! `{"name": {"schema": {method, protocol?, host, path?, headers?, query?}, "options": {…}}}`.

use super::json::Node;
use super::problem::Problems;
use crate::HttpMethod;

pub const FILE: &str = "config/requests.json";
/// Freshworks allows at most this many templates per app.
const MAX_TEMPLATES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTemplate {
    pub name: String,
    /// An [`HttpMethod`], upper-case.
    pub method: String,
    /// `https` (default) or `http`.
    pub protocol: String,
    /// May hold `<%= iparam.x %>` / `<%= context.x %>` substitutions.
    pub host: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// 1 to 5.
    pub max_attempts: Option<u8>,
    /// 0 to 1500 ms.
    pub retry_delay_ms: Option<u16>,
    pub is_oauth: bool,
    /// The `oauth_config.json` integration to use (platform 3.1).
    pub oauth: Option<String>,
}

pub(super) fn parse(root: &Node, problems: &mut Problems) -> Vec<RequestTemplate> {
    let members = problems.take(root.members()).unwrap_or_default();
    if members.len() > MAX_TEMPLATES {
        problems.push(root.problem(format!("holds more than {MAX_TEMPLATES} templates")));
    }
    members
        .into_iter()
        .filter_map(|(name, node)| template(name, &node, problems))
        .collect()
}

fn template(name: &str, node: &Node, problems: &mut Problems) -> Option<RequestTemplate> {
    let count = problems.len();
    let Some(schema) = node.get("schema") else {
        problems.push(node.problem("needs a \"schema\" with method and host"));
        return None;
    };
    problems.take(schema.members())?;
    let method = required_string(&schema, "method", problems).and_then(|(m, at)| {
        problems.take(match HttpMethod::parse(m) {
            Some(method) => Ok(method.as_str().to_owned()),
            None => Err(at.problem(format!(
                "unknown method {m:?} (one of: {})",
                HttpMethod::names(&HttpMethod::ALL)
            ))),
        })
    });
    let host = required_string(&schema, "host", problems).map(|(h, _)| h.to_owned());
    let protocol = match schema.get("protocol") {
        None => Some("https".to_owned()),
        Some(p) => problems.take(p.string().and_then(|v| match v {
            "https" | "http" => Ok(v.to_owned()),
            _ => Err(p.problem(format!("{v:?} must be \"https\" or \"http\""))),
        })),
    };
    let path = match schema.get("path") {
        None => Some("/".to_owned()),
        Some(p) => problems.take(p.string().and_then(|v| {
            if v.starts_with('/') {
                Ok(v.to_owned())
            } else {
                Err(p.problem(format!("{v:?} must start with /")))
            }
        })),
    };
    let headers = schema
        .get("headers")
        .map_or(Some(Vec::new()), |h| problems.take(h.string_map()));
    let query = schema
        .get("query")
        .map_or(Some(Vec::new()), |q| problems.take(q.string_map()));
    let options = node.get("options");
    let option = |key: &str| options.as_ref().and_then(|o| o.get(key));
    let max_attempts =
        option("maxAttempts").map(|n| problems.take(n.integer(1..=5)).map(|v| v as u8));
    let retry_delay_ms =
        option("retryDelay").map(|n| problems.take(n.integer(0..=1500)).map(|v| v as u16));
    let is_oauth = option("isOAuth").map(|n| problems.take(n.boolean()));
    let oauth = option("oauth").map(|n| problems.take(n.string().map(str::to_owned)));
    if problems.len() > count {
        return None;
    }
    Some(RequestTemplate {
        name: name.to_owned(),
        method: method?,
        protocol: protocol?,
        host: host?,
        path: path?,
        headers: headers?,
        query: query?,
        max_attempts: max_attempts.flatten(),
        retry_delay_ms: retry_delay_ms.flatten(),
        is_oauth: is_oauth.flatten().unwrap_or(false),
        oauth: oauth.flatten(),
    })
}

fn required_string<'a>(
    node: &Node<'a>,
    key: &str,
    problems: &mut Problems,
) -> Option<(&'a str, Node<'a>)> {
    match node.get(key) {
        None => {
            problems.push(node.problem(format!("needs a \"{key}\"")));
            None
        }
        Some(value) => problems.take(value.string()).map(|s| (s, value)),
    }
}

//! The platform calls an app can make, as the sandbox hands them to the [`Host`]: one
//! variant per platform global (`$db`, `$schedule`, `$request`, `apiClient`, `$webhooks`,
//! `generateTargetUrl`), and one for the HTTP requests of Node's `http`, `https` and
//! `fetch` (which npm packages such as `axios` make).
//!
//! The prelude names each call (`db.set`, `request.url`, …) and passes its arguments as
//! JSON; [`HostCall::parse`] reads the two once, where the call leaves JavaScript, so that
//! hosts match on variants instead of strings. A name the prelude does not make is refused
//! here and never reaches a host.
//!
//! What the prelude decides is typed (which call, which HTTP method). What the app passed
//! stays JSON, one field per argument: checking it is the platform's rules' job (in
//! `weir-core` and the engine), and the app sees their errors, so a wrong type must reach
//! them as it was given. An argument the app left out is `null`, which every rule reads as
//! absent.
//!
//! [`Host`]: crate::Host

use serde_json::Value;

mod entity_call;

pub use entity_call::{EntityCall, EntityOperation};

/// One platform call, with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum HostCall {
    /// `$db.set/get/update/delete(key, …)`.
    Db(DbCall),
    /// `$schedule.create/update/delete/fetch(…)`.
    Schedule(ScheduleCall),
    /// `$request.get/post/put/patch/delete(url, options)` and
    /// `$request.invokeTemplate(name, options)`.
    Request(RequestCall),
    /// A connector's `apiClient.get/post/put/patch/delete(path, …)`.
    ApiClient(ApiClientCall),
    /// `$webhooks.trigger(webhookId, data, headers, queryParams)`.
    TriggerWebhook(WebhookTrigger),
    /// `generateTargetUrl(options?)`.
    GenerateTargetUrl { options: Value },
    /// Entity storage: `$db.entity({version: "v1"}).get(name).<operation>(…)`.
    Entity(EntityCall),
    /// A request made with Node's `http`/`https` modules or with `fetch`.
    NodeHttp(NodeRequest),
}

impl HostCall {
    /// The call the prelude names `name`, with `args` as it passes them: a JSON array of
    /// the app's arguments, or an object for `request.url` (`{method, url, options}`),
    /// `apiClient.*` (`{path, query}` or `{path, data}`) and `node.http`/`node.fetch`
    /// (`{method, url, headers, body, timeout_ms}`).
    pub fn parse(name: &str, args: Value) -> Result<HostCall, UnknownCall> {
        let mut args = Args(args);
        let call = match name.split_once('.') {
            Some(("db", operation)) => DbCall::parse(operation, &mut args).map(HostCall::Db),
            Some(("schedule", operation)) => ScheduleOperation::parse(operation).map(|operation| {
                HostCall::Schedule(ScheduleCall {
                    operation,
                    given: args.at(0),
                })
            }),
            Some(("request", "url")) => {
                let method = args.field("method");
                let Some(parsed) = method.as_str().and_then(HttpMethod::parse) else {
                    return Err(UnknownCall::with_method(name, &method));
                };
                Some(HostCall::Request(RequestCall::Url(UrlRequest {
                    method: parsed,
                    url: args.field("url"),
                    options: args.field("options"),
                })))
            }
            Some(("request", "invokeTemplate")) => {
                Some(HostCall::Request(RequestCall::Template(TemplateRequest {
                    name: args.at(0),
                    options: args.at(1),
                })))
            }
            Some(("apiClient", method)) => HttpMethod::parse(method).map(|method| {
                HostCall::ApiClient(ApiClientCall {
                    method,
                    path: args.field("path"),
                    query: args.field("query"),
                    data: args.field("data"),
                })
            }),
            Some(("webhooks", "trigger")) => Some(HostCall::TriggerWebhook(WebhookTrigger {
                webhook_id: args.at(0),
                data: args.at(1),
                headers: args.at(2),
                query_params: args.at(3),
            })),
            None if name == "generateTargetUrl" => Some(HostCall::GenerateTargetUrl {
                options: args.at(0),
            }),
            Some(("entity", operation)) => {
                EntityCall::parse(operation, &mut args).map(HostCall::Entity)
            }
            Some(("node", api)) => NodeApi::parse(api).map(|api| {
                HostCall::NodeHttp(NodeRequest {
                    api,
                    method: args.field("method"),
                    url: args.field("url"),
                    headers: args.field("headers"),
                    body: args.field("body"),
                    timeout_ms: args.field("timeout_ms"),
                })
            }),
            _ => None,
        };
        call.ok_or_else(|| UnknownCall::named(name))
    }

    /// The name the prelude gives the call, e.g. `db.set`, `request.url`, `apiClient.get`:
    /// for logs and the simulator of `weir dev`.
    pub fn name(&self) -> &'static str {
        match self {
            HostCall::Db(call) => match call.operation {
                DbOperation::Set { .. } => "db.set",
                DbOperation::Get => "db.get",
                DbOperation::Update { .. } => "db.update",
                DbOperation::Delete => "db.delete",
            },
            HostCall::Schedule(call) => match call.operation {
                ScheduleOperation::Create => "schedule.create",
                ScheduleOperation::Update => "schedule.update",
                ScheduleOperation::Delete => "schedule.delete",
                ScheduleOperation::Fetch => "schedule.fetch",
            },
            HostCall::Request(RequestCall::Url(_)) => "request.url",
            HostCall::Request(RequestCall::Template(_)) => "request.invokeTemplate",
            HostCall::ApiClient(call) => match call.method {
                HttpMethod::Get => "apiClient.get",
                HttpMethod::Post => "apiClient.post",
                HttpMethod::Put => "apiClient.put",
                HttpMethod::Patch => "apiClient.patch",
                HttpMethod::Delete => "apiClient.delete",
            },
            HostCall::TriggerWebhook(_) => "webhooks.trigger",
            HostCall::GenerateTargetUrl { .. } => "generateTargetUrl",
            HostCall::Entity(call) => call.name(),
            HostCall::NodeHttp(request) => match request.api {
                NodeApi::Http => "node.http",
                NodeApi::Fetch => "node.fetch",
            },
        }
    }
}

/// `$db.<operation>(key, …)`: every operation names a key first.
#[derive(Debug, Clone, PartialEq)]
pub struct DbCall {
    pub key: Value,
    pub operation: DbOperation,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DbOperation {
    /// `$db.set(key, value, options?)`.
    Set { value: Value, options: Value },
    /// `$db.get(key)`.
    Get,
    /// `$db.update(key, action, attributes)`.
    Update { action: Value, attributes: Value },
    /// `$db.delete(key)`.
    Delete,
}

impl DbCall {
    /// `$db.<operation>`'s arguments: `[key, …]`.
    fn parse(operation: &str, args: &mut Args) -> Option<Self> {
        let operation = match operation {
            "set" => DbOperation::Set {
                value: args.at(1),
                options: args.at(2),
            },
            "get" => DbOperation::Get,
            "update" => DbOperation::Update {
                action: args.at(1),
                attributes: args.at(2),
            },
            "delete" => DbOperation::Delete,
            _ => return None,
        };
        Some(DbCall {
            key: args.at(0),
            operation,
        })
    }
}

impl DbOperation {
    /// The method's name in JavaScript: `set`, `get`, `update` or `delete`.
    pub fn name(&self) -> &'static str {
        match self {
            DbOperation::Set { .. } => "set",
            DbOperation::Get => "get",
            DbOperation::Update { .. } => "update",
            DbOperation::Delete => "delete",
        }
    }
}

/// `$schedule.<operation>(given)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleCall {
    pub operation: ScheduleOperation,
    /// What the app passed: the schedule (`{name, data, schedule_at, …}`) to create or
    /// update, `{name}` to delete or fetch.
    pub given: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleOperation {
    Create,
    Update,
    Delete,
    Fetch,
}

impl ScheduleOperation {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "create" => ScheduleOperation::Create,
            "update" => ScheduleOperation::Update,
            "delete" => ScheduleOperation::Delete,
            "fetch" => ScheduleOperation::Fetch,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RequestCall {
    /// `$request.<method>(url, options)`.
    Url(UrlRequest),
    /// `$request.invokeTemplate(name, options)`: a request of `config/requests.json`.
    Template(TemplateRequest),
}

#[derive(Debug, Clone, PartialEq)]
pub struct UrlRequest {
    pub method: HttpMethod,
    pub url: Value,
    pub options: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRequest {
    pub name: Value,
    /// `{context?, body?, query?}`.
    pub options: Value,
}

/// `apiClient.<method>(path, query)` for `get` and `delete`, `(path, data)` for the others.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiClientCall {
    pub method: HttpMethod,
    pub path: Value,
    pub query: Value,
    pub data: Value,
}

/// `$webhooks.trigger(webhookId, data, headers, queryParams)`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookTrigger {
    pub webhook_id: Value,
    pub data: Value,
    pub headers: Value,
    pub query_params: Value,
}

/// An HTTP request of Node's `http`/`https` modules or of `fetch`, as the sandbox's
/// built-ins make it from what the app (or its npm packages) asked. Unlike `$request`,
/// there is no template and no whitelist (on Freshworks, these run on Node and reach any
/// host): the platform's outbound rules alone apply (SSRF guard, host overrides,
/// timeouts, response size).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRequest {
    /// Which API made it.
    pub api: NodeApi,
    /// The method as sent (`GET`, `PROPFIND`, …).
    pub method: Value,
    /// The absolute `http:` or `https:` URL.
    pub url: Value,
    /// `[[name, value], …]`, in order, repeated names allowed.
    pub headers: Value,
    /// The body's bytes, in base64; `null` for none.
    pub body: Value,
    /// The app's own timeout in milliseconds, if it set one (the platform's still caps it).
    pub timeout_ms: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeApi {
    /// `http.request`, `https.request` (and `get`): what `axios`, `request`, `needle` use.
    Http,
    /// The global `fetch`.
    Fetch,
}

impl NodeApi {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "http" => Some(NodeApi::Http),
            "fetch" => Some(NodeApi::Fetch),
            _ => None,
        }
    }
}

/// The methods `$request` and `apiClient` offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    /// As JavaScript names it: `get`, `post`, `put`, `patch` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
            HttpMethod::Put => "put",
            HttpMethod::Patch => "patch",
            HttpMethod::Delete => "delete",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "get" => HttpMethod::Get,
            "post" => HttpMethod::Post,
            "put" => HttpMethod::Put,
            "patch" => HttpMethod::Patch,
            "delete" => HttpMethod::Delete,
            _ => return None,
        })
    }
}

/// The arguments as the prelude passes them, each taken out once (they can be large: a
/// `$db` value, a request's body).
struct Args(Value);

impl Args {
    /// The app's argument at `index`; `null` when it passed fewer.
    fn at(&mut self, index: usize) -> Value {
        self.0.get_mut(index).map(Value::take).unwrap_or_default()
    }

    /// A field of the object the prelude builds; `null` when absent.
    fn field(&mut self, name: &str) -> Value {
        self.0.get_mut(name).map(Value::take).unwrap_or_default()
    }
}

/// A call the prelude does not make: a bug of the prelude, refused in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCall {
    /// What was asked, as the message shows it: `"db.list"`, or
    /// `"request.url" with method "head"`.
    asked: String,
}

impl UnknownCall {
    fn named(name: &str) -> Self {
        UnknownCall {
            asked: format!("{name:?}"),
        }
    }

    fn with_method(name: &str, method: &Value) -> Self {
        UnknownCall {
            asked: format!("{name:?} with method {method}"),
        }
    }
}

impl std::fmt::Display for UnknownCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a platform call that Weir offers", self.asked)
    }
}

impl std::error::Error for UnknownCall {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every name the prelude makes.
    const NAMES: [&str; 19] = [
        "db.set",
        "db.get",
        "db.update",
        "db.delete",
        "schedule.create",
        "schedule.update",
        "schedule.delete",
        "schedule.fetch",
        "request.url",
        "request.invokeTemplate",
        "apiClient.get",
        "apiClient.post",
        "apiClient.put",
        "apiClient.patch",
        "apiClient.delete",
        "webhooks.trigger",
        "generateTargetUrl",
        "node.http",
        "node.fetch",
    ];

    #[test]
    fn every_name_of_the_prelude_parses_to_a_call_of_that_name() {
        for name in NAMES {
            let args = json!({"method": "post", "url": "https://api.example.com"});
            let args = match name {
                "request.url" => args,
                _ => json!([]),
            };
            let call = HostCall::parse(name, args).unwrap();
            assert_eq!(call.name(), name, "{call:?}");
        }
    }

    #[test]
    fn arguments_land_in_their_fields_and_missing_ones_are_null() {
        let parse = |name: &str, args: Value| HostCall::parse(name, args).unwrap();
        assert_eq!(
            parse("db.set", json!(["k", {"a": 1}])),
            HostCall::Db(DbCall {
                key: json!("k"),
                operation: DbOperation::Set {
                    value: json!({"a": 1}),
                    options: Value::Null,
                },
            })
        );
        assert_eq!(
            parse("db.update", json!(["k", "increment", {"n": 1}])),
            HostCall::Db(DbCall {
                key: json!("k"),
                operation: DbOperation::Update {
                    action: json!("increment"),
                    attributes: json!({"n": 1}),
                },
            })
        );
        assert_eq!(
            parse("db.get", json!([])),
            HostCall::Db(DbCall {
                key: Value::Null,
                operation: DbOperation::Get,
            })
        );
        assert_eq!(
            parse("schedule.fetch", json!([{"name": "daily"}])),
            HostCall::Schedule(ScheduleCall {
                operation: ScheduleOperation::Fetch,
                given: json!({"name": "daily"}),
            })
        );
        assert_eq!(
            parse(
                "request.url",
                json!({"method": "patch", "url": "https://a.example.com", "options": {"json": {}}})
            ),
            HostCall::Request(RequestCall::Url(UrlRequest {
                method: HttpMethod::Patch,
                url: json!("https://a.example.com"),
                options: json!({"json": {}}),
            }))
        );
        assert_eq!(
            parse(
                "request.invokeTemplate",
                json!(["getTicket", {"context": {}}])
            ),
            HostCall::Request(RequestCall::Template(TemplateRequest {
                name: json!("getTicket"),
                options: json!({"context": {}}),
            }))
        );
        assert_eq!(
            parse(
                "apiClient.get",
                json!({"path": "users/me", "query": {"page": 2}})
            ),
            HostCall::ApiClient(ApiClientCall {
                method: HttpMethod::Get,
                path: json!("users/me"),
                query: json!({"page": 2}),
                data: Value::Null,
            })
        );
        assert_eq!(
            parse(
                "webhooks.trigger",
                json!(["orders", {"id": 1}, null, {"q": "1"}])
            ),
            HostCall::TriggerWebhook(WebhookTrigger {
                webhook_id: json!("orders"),
                data: json!({"id": 1}),
                headers: Value::Null,
                query_params: json!({"q": "1"}),
            })
        );
        assert_eq!(
            parse("generateTargetUrl", json!(["opts"])),
            HostCall::GenerateTargetUrl {
                options: json!("opts")
            }
        );
        assert_eq!(
            parse(
                "node.fetch",
                json!({"method": "POST", "url": "https://a.example.com/x", "headers": [["a", "1"]], "body": "e30="})
            ),
            HostCall::NodeHttp(NodeRequest {
                api: NodeApi::Fetch,
                method: json!("POST"),
                url: json!("https://a.example.com/x"),
                headers: json!([["a", "1"]]),
                body: json!("e30="),
                timeout_ms: Value::Null,
            })
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_name_in_the_message() {
        for name in [
            "db.list",
            "db",
            "schedule",
            "request.head",
            "apiClient.head",
            "apiClient.",
            "webhooks.list",
            "fetch",
            "node.net",
            "node",
            "",
        ] {
            let refused = HostCall::parse(name, json!([])).unwrap_err();
            assert_eq!(
                refused.to_string(),
                format!("{name:?} is not a platform call that Weir offers")
            );
        }
        // `request.url` names its method among its arguments: one the prelude never
        // passes is refused too.
        for method in [json!("head"), json!("GET"), Value::Null] {
            let args = json!({"method": method, "url": "https://a.example.com"});
            assert_eq!(
                HostCall::parse("request.url", args)
                    .unwrap_err()
                    .to_string(),
                format!(
                    "\"request.url\" with method {method} is not a platform call that Weir offers"
                )
            );
        }
    }
}

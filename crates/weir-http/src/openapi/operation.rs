//! What the document says of one route, written beside the route in `routes::table`:
//! who may call it, its query and body, its answers, and the errors it can give. The
//! errors that follow from the rest (a token → 401; a path id → 404; a JSON body → 400,
//! 413, 415, 422; a query → 400) are added here, so that an entry lists only its own.

use serde_json::{Map, Value, json};

/// The bearer tokens a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The platform operator's token.
    Admin,
    /// An API key of one account, for that account's things.
    AccountKey,
    /// The `securityContext` an installation's extension webhook deliveries carry (`wsc_…`),
    /// for that installation's things.
    SecurityContext,
    /// An installation's client token (`wct_…`): triggers its registered webhooks.
    ClientToken,
    /// A portal link's token (`wpt_…`): one account's subscriptions and deliveries.
    PortalToken,
}

impl Auth {
    const ALL: [Auth; 5] = [
        Auth::Admin,
        Auth::AccountKey,
        Auth::SecurityContext,
        Auth::ClientToken,
        Auth::PortalToken,
    ];

    fn scheme(self) -> &'static str {
        match self {
            Auth::Admin => "adminToken",
            Auth::AccountKey => "accountKey",
            Auth::SecurityContext => "securityContext",
            Auth::ClientToken => "clientToken",
            Auth::PortalToken => "portalToken",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Auth::Admin => {
                "The admin token of the instance (the platform operator): may do anything."
            }
            Auth::AccountKey => {
                "An API key of one account (`weir_ak_…`): acts on that account only."
            }
            Auth::SecurityContext => {
                "An installation's `securityContext` (`wsc_…`, sent with its extension webhook deliveries): reaches that installation only."
            }
            Auth::ClientToken => {
                "An installation's client token (`wct_…`): may trigger that installation's registered webhooks, and nothing else."
            }
            Auth::PortalToken => {
                "A portal link's token (`wpt_…`, short-lived): reads one account's subscriptions, deliveries and attempts, and replays or retries its deliveries."
            }
        }
    }
}

pub(super) fn security_schemes() -> Value {
    let schemes = Auth::ALL.iter().map(|auth| {
        let scheme = json!({
            "type": "http",
            "scheme": "bearer",
            "description": auth.description(),
        });
        (auth.scheme().to_owned(), scheme)
    });
    Value::Object(schemes.collect())
}

/// A route's description. Build it with the methods below; every route needs a summary,
/// its callers (`auth`, or `public`) and at least one answer.
#[derive(Debug, Clone)]
pub struct Operation {
    tag: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    auth: Vec<Auth>,
    query: Vec<QueryParameter>,
    body: Option<RequestBody>,
    answers: Vec<Answer>,
    errors: Vec<u16>,
}

#[derive(Debug, Clone)]
struct QueryParameter {
    name: &'static str,
    schema: Value,
    description: &'static str,
}

#[derive(Debug, Clone)]
struct RequestBody {
    content_type: &'static [&'static str],
    schema: Value,
    required: bool,
    /// A JSON body parsed strictly: its faults are 400, 413, 415 and 422.
    json: bool,
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    description: &'static str,
    content_type: Option<&'static str>,
    schema: Value,
    headers: Vec<(&'static str, &'static str)>,
}

/// The schema named `name` in the document's components.
pub fn named(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// One page of a list of the schema named `name`.
pub fn page_of(name: &str) -> Value {
    json!({
        "type": "object",
        "required": ["data", "next_cursor"],
        "additionalProperties": false,
        "properties": {
            "data": {"type": "array", "items": named(name)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `?cursor=` for the next page; null on the last.",
            },
        },
    })
}

impl Operation {
    pub fn new(tag: &'static str, summary: &'static str) -> Self {
        Operation {
            tag,
            summary,
            description: None,
            auth: Vec::new(),
            query: Vec::new(),
            body: None,
            answers: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    /// The tokens the route accepts (any other gets 403, or 404 for another's things).
    pub fn auth(mut self, accepted: &[Auth]) -> Self {
        self.auth = accepted.to_vec();
        self
    }

    /// `?limit=&cursor=`.
    pub fn paginated(self) -> Self {
        self.query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
            "How many items a page holds.",
        )
        .query(
            "cursor",
            json!({"type": "string"}),
            "The `next_cursor` of the page before.",
        )
    }

    /// An optional query parameter (unknown ones are refused with 400).
    pub fn query(mut self, name: &'static str, schema: Value, description: &'static str) -> Self {
        self.query.push(QueryParameter {
            name,
            schema,
            description,
        });
        self
    }

    /// A JSON body of the schema named `name`, parsed strictly.
    pub fn json_body(self, name: &str) -> Self {
        self.json_body_schema(named(name), true)
    }

    /// A JSON body that may be left out (every field has a default).
    pub fn optional_json_body(self, name: &str) -> Self {
        self.json_body_schema(named(name), false)
    }

    fn json_body_schema(mut self, schema: Value, required: bool) -> Self {
        self.body = Some(RequestBody {
            content_type: &["application/json"],
            schema,
            required,
            json: true,
        });
        self
    }

    /// A body that is not strict JSON (a zip; whatever a third party posts).
    pub fn raw_body(mut self, content_type: &'static [&'static str], schema: Value) -> Self {
        self.body = Some(RequestBody {
            content_type,
            schema,
            required: true,
            json: false,
        });
        self
    }

    /// A JSON answer of the given schema.
    pub fn answers(self, status: u16, description: &'static str, schema: Value) -> Self {
        self.answer(status, description, Some("application/json"), schema)
    }

    /// An answer with a body of another type.
    pub fn answer(
        mut self,
        status: u16,
        description: &'static str,
        content_type: Option<&'static str>,
        schema: Value,
    ) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content_type,
            schema,
            headers: Vec::new(),
        });
        self
    }

    /// A header of the answer added last (e.g. `Location`).
    pub fn header(mut self, name: &'static str, description: &'static str) -> Self {
        if let Some(answer) = self.answers.last_mut() {
            answer.headers.push((name, description));
        }
        self
    }

    /// 204 with no body.
    pub fn no_content(self, description: &'static str) -> Self {
        self.answer(204, description, None, Value::Null)
    }

    /// Errors of this route beyond those its token, path, query and body imply.
    pub fn errors(mut self, statuses: &[u16]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }

    /// Every error status the route can answer, in order.
    fn error_statuses(&self, path: &str) -> Vec<u16> {
        let mut statuses = self.errors.clone();
        if !self.auth.is_empty() {
            statuses.push(401);
            if self.auth.len() < Auth::ALL.len() {
                statuses.push(403);
            }
        }
        if path.contains('{') {
            statuses.extend([400, 404]);
        }
        if !self.query.is_empty() {
            statuses.push(400);
        }
        if let Some(body) = &self.body
            && body.json
        {
            statuses.extend([400, 413, 415, 422]);
        }
        statuses.sort_unstable();
        statuses.dedup();
        statuses
    }

    pub(super) fn to_json(&self, path: &str) -> Value {
        let mut operation = Map::new();
        operation.insert("tags".into(), json!([self.tag]));
        operation.insert("summary".into(), json!(self.summary));
        operation.insert(
            "operationId".into(),
            json!(operation_id(self.tag, self.summary)),
        );
        if let Some(description) = self.description {
            operation.insert("description".into(), json!(description));
        }
        let security: Vec<Value> = self
            .auth
            .iter()
            .map(|auth| json!({ auth.scheme(): [] }))
            .collect();
        operation.insert("security".into(), Value::Array(security));
        let parameters = self.parameters(path);
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = &self.body {
            let content: Map<String, Value> = body
                .content_type
                .iter()
                .map(|ty| ((*ty).to_owned(), json!({"schema": body.schema})))
                .collect();
            operation.insert(
                "requestBody".into(),
                json!({"required": body.required, "content": content}),
            );
        }
        operation.insert("responses".into(), self.responses(path));
        Value::Object(operation)
    }

    fn parameters(&self, path: &str) -> Vec<Value> {
        let in_path = path_parameters(path).map(|(before, name)| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": path_parameter_description(before, name),
                "schema": {"type": "string"},
            })
        });
        let in_query = self.query.iter().map(|parameter| {
            json!({
                "name": parameter.name,
                "in": "query",
                "required": false,
                "description": parameter.description,
                "schema": parameter.schema,
            })
        });
        in_path.chain(in_query).collect()
    }

    fn responses(&self, path: &str) -> Value {
        let mut responses = Map::new();
        for answer in &self.answers {
            let mut response = Map::new();
            response.insert("description".into(), json!(answer.description));
            if let Some(content_type) = answer.content_type {
                response.insert(
                    "content".into(),
                    json!({ content_type: {"schema": answer.schema} }),
                );
            }
            if !answer.headers.is_empty() {
                let headers: Map<String, Value> = answer
                    .headers
                    .iter()
                    .map(|(name, description)| {
                        let header =
                            json!({"description": description, "schema": {"type": "string"}});
                        ((*name).to_owned(), header)
                    })
                    .collect();
                response.insert("headers".into(), Value::Object(headers));
            }
            responses.insert(answer.status.to_string(), Value::Object(response));
        }
        for status in self.error_statuses(path) {
            let name = error_name(status);
            let reference = json!({"$ref": format!("#/components/responses/{name}")});
            responses.insert(status.to_string(), reference);
        }
        Value::Object(responses)
    }
}

/// `("accounts", "id")` for each `{id}` of the template, with the segment before it.
fn path_parameters(path: &str) -> impl Iterator<Item = (&str, &str)> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut found = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let before = if i > 0 { segments[i - 1] } else { "" };
            found.push((before, name));
        }
    }
    found.into_iter()
}

fn path_parameter_description(before: &str, name: &str) -> String {
    let what = match (before, name) {
        ("accounts", _) => "The account's id.",
        ("api-keys", _) => "The API key's id (`key_…`).",
        ("installations", _) => "The installation's id (`ins_…`).",
        ("apps", _) => "The id of one version of the app (`app_…`).",
        ("events", "id") => "The event's id (`evt_…`).",
        ("events", _) => "The key of one of the connector's events.",
        ("invocations", _) => "The invocation's id (`inv_…`).",
        ("subscriptions", _) => "The subscription's id (`sub_…`).",
        ("deliveries", _) => "The delivery's id: the `webhook-id` its requests carry (`msg_…`).",
        ("webhook-invocations", _) => "The call's `referenceId`.",
        ("webhooks", _) => "The id of a registered webhook of the app.",
        ("in", _) => "The token of an installation's target URL.",
        ("global", _) => "The app's name (the newest version answers), or one version's id.",
        (_, "key") => "The key of one of the app's global webhooks.",
        _ => "",
    };
    what.to_owned()
}

/// `accounts` + `Create an account` → `accounts.createAnAccount`: stable, readable ids
/// for client generators.
fn operation_id(tag: &str, summary: &str) -> String {
    let mut id = String::with_capacity(tag.len() + summary.len() + 1);
    id.push_str(&tag.replace('-', "_"));
    id.push('.');
    let mut upper_next = false;
    for (i, c) in summary.chars().enumerate() {
        if c.is_ascii_alphanumeric() {
            match (i, upper_next) {
                (0, _) => id.push(c.to_ascii_lowercase()),
                (_, true) => id.push(c.to_ascii_uppercase()),
                (_, false) => id.push(c),
            }
            upper_next = false;
        } else {
            upper_next = true;
        }
    }
    id
}

/// The errors the API answers: each status's name in the document, and when it is given.
const ERRORS: [(u16, &str, &str); 13] = [
    (
        400,
        "BadRequest",
        "Malformed: a path, query or body that is not what this route reads.",
    ),
    (401, "Unauthorized", "No token, or one that is not valid."),
    (
        403,
        "Forbidden",
        "The token is of a kind this route refuses, or reaches another account.",
    ),
    (
        404,
        "NotFound",
        "No such thing, or it belongs to another account.",
    ),
    (409, "Conflict", "In conflict with the current state."),
    (
        410,
        "Gone",
        "It was there, and is no more (an uninstalled installation's target URL).",
    ),
    (413, "PayloadTooLarge", "The body is larger than the limit."),
    (
        415,
        "UnsupportedMediaType",
        "The Content-Type is not one this route reads.",
    ),
    (
        422,
        "Unprocessable",
        "Well-formed, but not valid: the message names the field.",
    ),
    (
        429,
        "RateLimited",
        "Too many requests: try again after `Retry-After` seconds.",
    ),
    (
        500,
        "Internal",
        "A fault of Weir's, logged in full; the answer says nothing of it.",
    ),
    (
        502,
        "BadGateway",
        "A third party (an app's handler, an OAuth server, a webhook) failed.",
    ),
    (
        503,
        "Unavailable",
        "Not available now: try again after `Retry-After` seconds.",
    ),
];

fn error_name(status: u16) -> &'static str {
    ERRORS
        .iter()
        .find(|(known, _, _)| *known == status)
        .map(|(_, name, _)| *name)
        .unwrap_or_else(|| panic!("{status} is not an error the document describes"))
}

/// `components.responses`: one per error status, each the one error shape.
pub(super) fn error_responses() -> Value {
    let responses = ERRORS.iter().map(|(status, name, description)| {
        let mut response = json!({
            "description": description,
            "content": {"application/json": {"schema": named("Error")}},
        });
        let header = match status {
            401 => Some(("WWW-Authenticate", "`Bearer`.")),
            429 | 503 => Some(("Retry-After", "Seconds to wait before trying again.")),
            _ => None,
        };
        if let Some((name, about)) = header {
            response["headers"] = json!({
                name: {"description": about, "schema": {"type": "string"}},
            });
        }
        ((*name).to_owned(), response)
    });
    Value::Object(responses.collect())
}

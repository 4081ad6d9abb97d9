//! The OpenAPI 3.1 document of the HTTP surface, made from the same route table that
//! builds the router (`routes::table`): a route cannot be served without being described,
//! nor described without being served. Each entry says who may call it, its parameters,
//! its body, its answers and the errors it can give; the named schemas are in `schemas`.
//!
//! The document is served at `GET /api/v1/openapi.json` and committed as
//! `docs/openapi.json` (a test keeps the two equal; `WEIR_BLESS=1` rewrites the file).

mod operation;
mod schemas;

pub use operation::{Auth, Operation, named, page_of};

use axum::http::Method;
use serde_json::{Map, Value, json};

/// One documented route: the method and template (axum's `{param}` syntax, which is
/// OpenAPI's too) and what the document says of it.
pub struct Documented<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub operation: &'a Operation,
}

/// The whole document, for the routes given.
pub fn document<'a>(routes: impl IntoIterator<Item = Documented<'a>>) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = route.operation.to_json(route.path);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Weir",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "schemas": schemas::all(),
            "responses": operation::error_responses(),
            "securitySchemes": operation::security_schemes(),
        },
    })
}

const DESCRIPTION: &str = "The operator API of Weir, an app-events platform (`/api/v1`), \
with its inbound URLs (`/in/…`) and health routes. Every error is \
`{\"error\": {\"code\", \"message\", \"details\"?}}` with the status that says whose \
mistake it was. Lists take `?limit=` (1 to 200) and `?cursor=` and answer \
`{\"data\": [...], \"next_cursor\": ...}`. See docs/api.md.";

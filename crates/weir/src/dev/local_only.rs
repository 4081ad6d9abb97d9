//! The simulator runs handlers, shows secure iparams and writes files on request, with
//! no token: only the developer at this machine may ask. So its routes answer only
//! requests that name this server on loopback (`Host`, and `Origin` when sent): a page of
//! another site cannot reach them under a name of its own (DNS rebinding), a tunnel to
//! `--public-url` carries webhooks but not these pages, and a cross-site form cannot post
//! (writes must be JSON, which needs a CORS preflight, never granted). Their answers may
//! not be framed by another page (clickjacking) and load nothing but their own assets.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::DevError;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'";

/// The `Host` values of this server on loopback, e.g. `localhost:10001`.
pub fn own_hosts(port: u16) -> Vec<String> {
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .map(|host| format!("{host}:{port}"))
        .collect()
}

pub async fn local_only(
    State(own_hosts): State<Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refused) = check(&own_hosts, &request) {
        return refused.into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = HeaderValue::from_static(CONTENT_SECURITY_POLICY);
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn check(own_hosts: &[String], request: &Request) -> Result<(), DevError> {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let ours = |host: &str| own_hosts.iter().any(|own| own.eq_ignore_ascii_case(host));
    let host = text(header::HOST);
    if !ours(host) {
        return Err(DevError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Host {host:?} is not this server on loopback (open http://{}); the simulator \
                 answers its own pages only",
                own_hosts.first().map_or("localhost", String::as_str)
            ),
        ));
    }
    let origin = text(header::ORIGIN);
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if !origin.is_empty() && !ours(origin_host) {
        return Err(DevError::new(
            StatusCode::FORBIDDEN,
            format!("requests from {origin} are refused: the simulator answers its own pages only"),
        ));
    }
    let media_type = text(header::CONTENT_TYPE).split(';').next().unwrap_or("");
    let is_json = media_type.trim().eq_ignore_ascii_case("application/json");
    if request.method() == Method::POST && !is_json {
        return Err(DevError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: the simulator takes application/json",
        ));
    }
    Ok(())
}

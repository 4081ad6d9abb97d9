//! The operator console (`/console`) and the account portal (`/portal`): plain HTML, CSS
//! and JavaScript embedded in the binary, no third-party asset, each page under a strict
//! Content-Security-Policy. The pages call the operator API (`/api/v1`) like any client:
//! the console with its session cookie (`session.rs`), the portal with its link's token
//! (`portal.rs`).

pub mod portal;
pub mod session;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use weir_core::ApiToken;

use crate::error::ApiError;
use crate::state::ServerState;

const LOGIN_HTML: &str = include_str!("assets/login.html");
const CONSOLE_HTML: &str = include_str!("assets/console.html");
const CONSOLE_JS: &str = include_str!("assets/console.js");
const PORTAL_HTML: &str = include_str!("assets/portal.html");
const PORTAL_JS: &str = include_str!("assets/portal.js");
const SHARED_JS: &str = include_str!("assets/shared.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Where the login page shows why a login failed.
const ERROR_SLOT: &str = "<!--error-->";
/// A form's body is one token: no need for more.
const LOGIN_BODY_BYTES: usize = 4096;

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/console", get(console_page))
        .route("/console/login", post(login))
        .route("/console/logout", post(logout))
        .route(
            "/console/assets/style.css",
            get(|| asset(STYLE_CSS, "text/css")),
        )
        .route("/console/assets/shared.js", get(|| asset(SHARED_JS, JS)))
        .route("/console/assets/console.js", get(|| asset(CONSOLE_JS, JS)))
        .route("/console/assets/portal.js", get(|| asset(PORTAL_JS, JS)))
        .route("/portal", get(portal_page))
}

const JS: &str = "text/javascript; charset=utf-8";

/// Scripts and styles from Weir alone, calls to Weir alone, and no framing.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A page of the console: HTML under the console's policy, never framed, never cached.
fn console_html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn login_page(status: StatusCode, error: &str) -> Response {
    let error = match error {
        "" => String::new(),
        message => format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message)),
    };
    console_html(status, LOGIN_HTML.replace(ERROR_SLOT, &error))
}

/// The console for a live session, else the login form.
async fn console_page(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let live = match session::cookie(&headers) {
        Some(token) => session::is_live(&state, token).await?,
        None => false,
    };
    Ok(match live {
        true => console_html(StatusCode::OK, CONSOLE_HTML.to_owned()),
        false => login_page(StatusCode::OK, ""),
    })
}

/// The login form's POST: the admin token, checked as the API checks it; a session
/// cookie and the console on success.
async fn login(State(state): State<ServerState>, request: Request) -> Result<Response, ApiError> {
    if request.headers().contains_key(header::ORIGIN) {
        session::check_origin(request.headers(), &state)?;
    }
    let body = crate::body::read_limited(request.into_body(), LOGIN_BODY_BYTES).await?;
    let token = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty()
        || !state
            .admin_token
            .matches(&ApiToken::from_given(token).hash())
    {
        return Ok(login_page(
            StatusCode::UNAUTHORIZED,
            "That is not the admin token.",
        ));
    }
    let cookie = session::set_cookie(&state, Some(&session::issue(&state, weir_core::now())));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/console")]).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a cookie of ASCII"),
    );
    Ok(response)
}

/// Ends every console session (they all stand for the one admin) and clears the cookie.
async fn logout(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(token) = session::cookie(&headers) else {
        return Err(ApiError::unauthorized("no console session to end"));
    };
    session::check_not_forged(&headers, &state)?;
    if session::is_live(&state, token).await? {
        session::end_all(&state, weir_core::now()).await?;
    }
    let cookie = session::set_cookie(&state, None);
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a cookie of ASCII"),
    );
    Ok(response)
}

/// The portal: framed only by the ancestors the operator allows.
async fn portal_page(State(state): State<ServerState>) -> Response {
    let policy = CONSOLE_CSP.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {}", state.console.portal_frame_ancestors),
    );
    let mut response = console_html(StatusCode::OK, PORTAL_HTML.to_owned());
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if state.console.portal_frame_ancestors != "'none'" {
        // The CSP says who may frame it; X-Frame-Options would forbid them all.
        headers.remove(header::X_FRAME_OPTIONS);
    }
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

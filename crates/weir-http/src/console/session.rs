//! The console's session: a signed, expiring pass (`weir_core::signed_pass`) in an
//! HttpOnly, SameSite=Strict cookie, standing for the admin. Stateless, so every node
//! accepts it: it is signed with a key derived from the server's shared key and the admin
//! token's hash, so changing the admin token ends every session; logging out moves the
//! store's "sessions since" forward, which ends every session issued before.
//!
//! A cookie is sent by the browser on its own, so a request it authenticates that changes
//! something must also carry `X-Weir-Console: 1` (a page of another site cannot set it
//! without a CORS preflight, which Weir never grants) and an `Origin` that is Weir's own.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use jiff::{SignedDuration, Timestamp};
use weir_core::signed_pass::{self, Pass, PassKind};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ServerState;

pub const COOKIE: &str = "weir_console";
/// The header every cookie-authenticated change must carry.
pub const CSRF_HEADER: &str = "x-weir-console";
/// How long a session lasts; the page asks for the token again after.
pub const LIFETIME: SignedDuration = SignedDuration::from_hours(8);
/// The store's setting: sessions issued at or before it (unix ms) are over.
const SESSIONS_SINCE: &str = "console_sessions_since";

fn key(state: &ServerState) -> Vec<u8> {
    let purpose = format!("console-session\n{}", state.admin_token.as_str());
    state.engine.derived_key(&purpose)
}

/// A new session's cookie value.
pub fn issue(state: &ServerState, now: Timestamp) -> String {
    let pass = Pass {
        subject: "admin".into(),
        issued_at: now,
        expires_at: now + LIFETIME,
    };
    signed_pass::issue(&key(state), PassKind::ConsoleSession, &pass)
}

/// The `Set-Cookie` value that holds `token` (or, `None`, clears the cookie).
pub fn set_cookie(state: &ServerState, token: Option<&str>) -> String {
    let secure = match state.public_url().starts_with("https://") {
        true => "; Secure",
        false => "",
    };
    let (value, max_age) = match token {
        Some(token) => (token, LIFETIME.as_secs()),
        None => ("", 0),
    };
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

/// Ends every session issued until now (all stand for the one admin).
pub async fn end_all(state: &ServerState, now: Timestamp) -> Result<(), ApiError> {
    let since = now.as_millisecond().to_string();
    state.store().put_setting(SESSIONS_SINCE, &since).await?;
    Ok(())
}

/// Whether `token` is a live session.
pub async fn is_live(state: &ServerState, token: &str) -> Result<bool, ApiError> {
    let now = weir_core::now();
    let Some(pass) = signed_pass::verify(&key(state), PassKind::ConsoleSession, token, now) else {
        return Ok(false);
    };
    let since = state.store().setting(SESSIONS_SINCE).await?;
    let since = since
        .and_then(|ms| ms.parse::<i64>().ok())
        .unwrap_or(i64::MIN);
    Ok(pass.issued_at.as_millisecond() > since)
}

/// The session cookie's value, if the request has one.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The admin, if the request carries a live session and, for a change, the CSRF proofs.
pub async fn caller(parts: &Parts, state: &ServerState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = cookie(&parts.headers) else {
        return Ok(None);
    };
    if !is_live(state, token).await? {
        return Err(ApiError::unauthorized(
            "the console session has ended (expired, logged out, or the admin token changed); \
             log in again",
        ));
    }
    if !is_safe(&parts.method) {
        check_not_forged(&parts.headers, state)?;
    }
    Ok(Some(Caller::Admin))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A change authenticated by the cookie must come from Weir's own pages.
pub fn check_not_forged(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(ApiError::forbidden(format!(
            "a change made with the console's cookie must carry the header {CSRF_HEADER}: 1 \
             (API clients send Authorization: Bearer <token> instead)"
        )));
    }
    check_origin(headers, state)
}

/// The request's `Origin` must be Weir's: its public URL's, or that of the `Host` the
/// request was sent to. Browsers send it with every cross-origin or unsafe request.
pub fn check_origin(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(origin) = text(header::ORIGIN) else {
        return Err(ApiError::forbidden(
            "a change made with the console's cookie must carry an Origin header",
        ));
    };
    let own_host = text(header::HOST).is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
    });
    if own_host || origin.eq_ignore_ascii_case(public_origin(state.public_url())) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "the request comes from {origin}, not from Weir's own pages"
    )))
}

/// `https://ev.example.com` of `https://ev.example.com/some/base`.
fn public_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; weir_console=wcs_x; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers), Some("wcs_x"));
        headers.insert(header::COOKIE, "weir_console=".parse().unwrap());
        assert_eq!(cookie(&headers), None);
    }

    #[test]
    fn a_public_origin_drops_the_path() {
        assert_eq!(
            public_origin("https://ev.example.com/base"),
            "https://ev.example.com"
        );
        assert_eq!(
            public_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}

//! OAuth for apps: how an installation gets the access token its `isOAuth` requests (and
//! 3.1 templates' `oauth`) carry, keeps it sealed, and has it refreshed.
//!
//! The flow (the engine's commands are in `commands/oauth.rs`):
//!
//! 1. The app is installed as any other; its `onAppInstall` runs without a token (one that
//!    needs it fails as a request without a token fails).
//! 2. The operator (or the account, with its key) asks Weir to authorize the installation:
//!    Weir answers the integration's authorize URL with `client_id`, `redirect_uri`
//!    (`<public URL>/oauth/callback`, one for all installations), the `options` as query
//!    parameters, and a `state` of 256 random bits. Weir keeps only the state's hash, with
//!    the installation, the integration and the `oauth_iparams` given, for ten minutes.
//! 3. The installer's browser comes back to `/oauth/callback?code=…&state=…`. The state
//!    is the guard: it is taken (deleted) as it is read, so it serves once; an unknown, used
//!    or expired state gets nothing. Weir trades the code for tokens at the `token_url`
//!    through the outbound client ([`provider`]) and stores them ([`tokens`]), sealed
//!    at rest by the store as every secret is.
//! 4. A request with `isOAuth` gets the token ([`access`]): as `<%= access_token %>` where
//!    the app writes it, else as `Authorization: Bearer`. An expired token is refreshed
//!    before the call; a 401 answer makes Weir refresh once and send the call once more
//!    ([`refresh`]). Refreshed tokens are stored. A failed refresh rejects the app's call
//!    with status 401 and a message that says the installation must be authorized again.
//!
//! The operator may also set tokens directly (tests, migrations from another platform);
//! the API never shows a token, only whether one is set and when it expires.
//!
//! What Weir had to guess of Freshworks' public documentation is written down in
//! `weir_core::oauth` (the 3.1 `integrations` shape, `options` as query parameters) and
//! here: tokens are per installation and integration, whatever the `token_type` (Weir has
//! no agents); the client authenticates in the form body; the token endpoint is asked for
//! JSON; `access_token` is offered to request templates' headers only, `oauth_iparams` to
//! every part of a template.

pub mod access;
pub mod provider;
pub mod refresh;
pub mod tokens;

pub use refresh::RefreshLocks;

/// The one callback path, under the public URL, for every installation and integration.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// The `redirect_uri` of every authorization: what the operator registers with the
/// authorization server.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'))
}

//! The JavaScript sandbox (QuickJS, through `rquickjs`).
//!
//! For now it offers the syntax check of an app package's JavaScript, which `weir validate`
//! and app uploads run; the handler runtime with the platform globals arrives with its own
//! issue. It knows nothing of SQL or sockets.

mod syntax;

pub use syntax::check_syntax;

//! Node compatibility for handlers: the built-in modules that npm packages `require`
//! (`buffer`, `crypto`, `events`, `http`, `https`, `stream`, `url`, `util`, `zlib`, …)
//! and the globals Node gives them (`Buffer`, `URL`, `TextEncoder`, `fetch`, …), built
//! inside the sandbox and its limits.
//!
//! The modules are JavaScript of our own (`js/`), compiled once per process and run in
//! an invocation's context only when something requires them; under them are a few pure
//! Rust functions ([`natives`]) for what JavaScript cannot do well (hashes, signatures,
//! random bytes, URL parsing, compression). HTTP goes out as one platform call
//! (`node.http`), answered by the engine through Weir's one outbound client, so its SSRF
//! guard, host overrides, timeouts and call records apply to `axios` as to `$request`.
//! Modules that would reach the host (`fs`, `child_process`, `net`, …) load, so that
//! packages which merely mention them load too, and throw a clear error when used.

pub(crate) mod built_ins;
mod code_scan;
mod codec;
mod der;
mod digest;
mod keys;
pub(crate) mod natives;
mod web_url;
mod zlib;

pub(crate) use code_scan::names_any;

/// Node's globals that are made only when needed (node/js/internal/globals.js lists the
/// same): an app that names one gets them ahead of use.
pub(crate) const GLOBALS: &[&str] = &[
    "Buffer",
    "Blob",
    "URL",
    "URLSearchParams",
    "TextEncoder",
    "TextDecoder",
    "AbortController",
    "AbortSignal",
    "Event",
    "EventTarget",
    "DOMException",
    "File",
    "fetch",
    "Headers",
    "Request",
    "Response",
    "FormData",
    "ReadableStream",
    "WritableStream",
    "TransformStream",
    "crypto",
    "structuredClone",
];

use std::sync::Arc;

use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, IntoJs, Object, Value};

use crate::code::AppCode;

/// Adds to the prelude's `host` what Node compatibility needs: whether the app's code
/// names one of Node's globals (`nodeGlobals`), and `node(what, name)`, which gives the
/// natives (`'natives'`: made on first use, since most invocations load no built-in and
/// making two dozen functions would cost every one of them), a built-in module's
/// function (`'builtin'`), or the text of a package's data file (`'source'`, for
/// `require('./x.json')`).
/// `max_output` caps what one native call may make: the invocation's memory allowance.
pub(crate) fn add_to_host<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    code: &Arc<AppCode>,
    max_output: usize,
) -> rquickjs::Result<()> {
    host.set("nodeGlobals", code.names_node_globals())?;
    let code = code.clone();
    // One function for the three, since each function made costs every invocation.
    let node = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, what: String, name: Opt<String>| -> rquickjs::Result<Value<'js>> {
            let name = name.0.unwrap_or_default();
            match what.as_str() {
                "natives" => natives::natives(&ctx, max_output).map(Object::into_value),
                "builtin" => built_ins::load(&ctx, &name).map(Function::into_value),
                "source" => match code.source(&name) {
                    Some(text) => text.into_js(&ctx),
                    None => Err(Exception::throw_reference(
                        &ctx,
                        &format!("Cannot find module {name}"),
                    )),
                },
                other => Err(Exception::throw_type(
                    &ctx,
                    &format!("no host.node({other})"),
                )),
            }
        },
    )?;
    host.set("node", node)
}

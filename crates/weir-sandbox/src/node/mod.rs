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
mod codec;
mod der;
mod digest;
mod keys;
pub(crate) mod natives;
mod web_url;
mod zlib;

use std::sync::Arc;

use rquickjs::{Ctx, Exception, Function, Object};

use crate::code::AppCode;

/// Adds to the prelude's `host` what Node compatibility needs: the natives (`node`), the
/// built-in modules' loader (`builtin`), the names apps may require (`builtinNames`),
/// and the text of a package's data files (`source`, for `require('./x.json')`).
/// `max_output` caps what one native call may make: the invocation's memory allowance.
pub(crate) fn add_to_host<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    code: &Arc<AppCode>,
    max_output: usize,
) -> rquickjs::Result<()> {
    host.set("node", natives::natives(ctx, max_output)?)?;
    host.set(
        "builtin",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            built_ins::load(&ctx, &name)
        })?,
    )?;
    host.set("builtinNames", built_ins::names().collect::<Vec<_>>())?;
    let code = code.clone();
    host.set(
        "source",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, path: String| -> rquickjs::Result<String> {
                code.source(&path).map(str::to_owned).ok_or_else(|| {
                    Exception::throw_reference(&ctx, &format!("Cannot find module {path}"))
                })
            },
        )?,
    )?;
    Ok(())
}

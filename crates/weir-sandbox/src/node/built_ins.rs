//! Node's built-in modules, by name: the source of each one the sandbox offers, or why it
//! is not offered. `require('crypto')` and `require('node:crypto')` name the same one,
//! and (as in Node) a built-in's name always means the built-in, whatever
//! `node_modules` holds: `require('buffer/')` reaches the npm package of that name.
//!
//! A module compiles once per process, the first time any invocation requires it, and
//! runs afresh in each invocation's context that requires it: nothing of one invocation
//! survives into the next. Each is wrapped as
//! `function (exports, require, module, internal)`, where `require` reaches built-ins
//! only and `internal` holds the natives and the platform call, which apps never see.

use std::sync::OnceLock;

use rquickjs::{Ctx, Exception, Function, Result};

use crate::bytecode;

/// What the sandbox has under a built-in's name.
enum Offer {
    /// Our module's source.
    Module(&'static str),
    /// A module whose every function throws, naming itself and why: loading it works,
    /// so packages that only mention it (`form-data` requires `fs` at its top) load.
    Unavailable(&'static str),
}

struct BuiltIn {
    name: &'static str,
    /// Whether apps may require it (the others are parts of the offered ones).
    public: bool,
    offer: Offer,
    bytecode: OnceLock<Vec<u8>>,
}

const fn offered(name: &'static str, source: &'static str) -> BuiltIn {
    BuiltIn {
        name,
        public: true,
        offer: Offer::Module(source),
        bytecode: OnceLock::new(),
    }
}

const fn part(name: &'static str, source: &'static str) -> BuiltIn {
    BuiltIn {
        name,
        public: false,
        offer: Offer::Module(source),
        bytecode: OnceLock::new(),
    }
}

const fn unavailable(name: &'static str, why: &'static str) -> BuiltIn {
    BuiltIn {
        name,
        public: true,
        offer: Offer::Unavailable(why),
        bytecode: OnceLock::new(),
    }
}

const FILES: &str = "handlers cannot reach the host's files";
const PROCESSES: &str = "handlers cannot start processes or threads";
const SOCKETS: &str =
    "handlers reach the network through http, https and fetch only, which go through the platform";
const ENGINE: &str = "handlers cannot reach the JavaScript engine or the host";

static BUILT_INS: [BuiltIn; 66] = [
    offered("assert", include_str!("js/assert.js")),
    offered("assert/strict", include_str!("js/assert_strict.js")),
    offered("async_hooks", include_str!("js/async_hooks.js")),
    offered("buffer", include_str!("js/buffer.js")),
    unavailable("child_process", PROCESSES),
    unavailable("cluster", PROCESSES),
    offered("console", include_str!("js/console.js")),
    offered("constants", include_str!("js/constants.js")),
    offered("crypto", include_str!("js/crypto.js")),
    unavailable("dgram", SOCKETS),
    offered(
        "diagnostics_channel",
        include_str!("js/diagnostics_channel.js"),
    ),
    unavailable("dns", SOCKETS),
    unavailable("dns/promises", SOCKETS),
    unavailable("domain", ENGINE),
    offered("events", include_str!("js/events.js")),
    unavailable("fs", FILES),
    unavailable("fs/promises", FILES),
    offered("http", include_str!("js/http.js")),
    unavailable("http2", SOCKETS),
    offered("https", include_str!("js/https.js")),
    unavailable("inspector", ENGINE),
    unavailable("module", ENGINE),
    offered("net", include_str!("js/net.js")),
    offered("os", include_str!("js/os.js")),
    offered("path", include_str!("js/path.js")),
    offered("path/posix", include_str!("js/path_posix.js")),
    offered("path/win32", include_str!("js/path_posix.js")),
    offered("perf_hooks", include_str!("js/perf_hooks.js")),
    offered("process", include_str!("js/process.js")),
    offered("punycode", include_str!("js/punycode.js")),
    offered("querystring", include_str!("js/querystring.js")),
    unavailable("readline", FILES),
    unavailable("readline/promises", FILES),
    unavailable("repl", ENGINE),
    offered("stream", include_str!("js/stream.js")),
    offered("stream/consumers", include_str!("js/stream_consumers.js")),
    offered("stream/promises", include_str!("js/stream_promises.js")),
    offered("stream/web", include_str!("js/stream_web.js")),
    offered("string_decoder", include_str!("js/string_decoder.js")),
    offered("sys", include_str!("js/sys.js")),
    offered("timers", include_str!("js/timers.js")),
    offered("timers/promises", include_str!("js/timers_promises.js")),
    offered("tls", include_str!("js/tls.js")),
    unavailable("trace_events", ENGINE),
    offered("tty", include_str!("js/tty.js")),
    offered("url", include_str!("js/url.js")),
    offered("util", include_str!("js/util.js")),
    offered("util/types", include_str!("js/util_types.js")),
    unavailable("v8", ENGINE),
    unavailable("vm", ENGINE),
    unavailable("wasi", ENGINE),
    unavailable("worker_threads", PROCESSES),
    offered("zlib", include_str!("js/zlib.js")),
    unavailable("test", ENGINE),
    // Parts of the modules above, shared between them.
    part("internal/abort", include_str!("js/internal/abort.js")),
    part("internal/blob", include_str!("js/internal/blob.js")),
    part("internal/fetch", include_str!("js/internal/fetch.js")),
    part(
        "internal/http_client",
        include_str!("js/internal/http_client.js"),
    ),
    part("internal/inspect", include_str!("js/internal/inspect.js")),
    part(
        "internal/text_coding",
        include_str!("js/internal/text_coding.js"),
    ),
    part(
        "internal/unavailable",
        include_str!("js/internal/unavailable.js"),
    ),
    part(
        "internal/web_streams",
        include_str!("js/internal/web_streams.js"),
    ),
    part("internal/errors", include_str!("js/internal/errors.js")),
    part("internal/globals", include_str!("js/internal/globals.js")),
    part("internal/process", include_str!("js/internal/process.js")),
    part("internal/timers", include_str!("js/internal/timers.js")),
];

/// How built-in modules start once wrapped; kept on the source's first line.
const WRAPPER: &str = "(function (exports, require, module, internal) { ";

/// The built-in an app's `require(name)` names (`crypto`, `node:crypto`), if any: its
/// name as the prelude loads it.
pub(crate) fn app_visible(name: &str) -> Option<&'static str> {
    let bare = name.strip_prefix("node:").unwrap_or(name);
    BUILT_INS
        .iter()
        .find(|built_in| built_in.public && built_in.name == bare)
        // `test` exists only as `node:test`, as in Node.
        .filter(|built_in| built_in.name != "test" || name.starts_with("node:"))
        .map(|built_in| built_in.name)
}

/// The built-in `name`'s wrapped function, from bytecode compiled once per process.
pub(crate) fn load<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Function<'js>> {
    let Some(built_in) = BUILT_INS.iter().find(|b| b.name == name) else {
        return Err(Exception::throw_type(
            ctx,
            &format!("No such built-in module: node:{name}"),
        ));
    };
    let bytecode = match built_in.bytecode.get() {
        Some(bytecode) => bytecode,
        None => {
            let source = match built_in.offer {
                Offer::Module(source) => format!("{WRAPPER}{source}\n}})"),
                Offer::Unavailable(why) => format!(
                    "{WRAPPER}module.exports = require('internal/unavailable')({name:?}, {why:?});\n}})"
                ),
            };
            let compiled = bytecode::compile(ctx, &format!("node:{name}"), &source)?;
            built_in.bytecode.get_or_init(|| compiled)
        }
    };
    bytecode::run(ctx, bytecode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_the_node_prefix_are_one_module() {
        assert_eq!(app_visible("crypto"), Some("crypto"));
        assert_eq!(app_visible("node:crypto"), Some("crypto"));
        assert_eq!(app_visible("node:stream/promises"), Some("stream/promises"));
        assert_eq!(app_visible("fs"), Some("fs"));
        assert_eq!(app_visible("buffer/"), None, "the npm package of that name");
        assert_eq!(app_visible("internal/fetch"), None);
        assert_eq!(app_visible("test"), None);
        assert_eq!(app_visible("node:test"), Some("test"));
        assert_eq!(app_visible("lodash"), None);
    }

    #[test]
    fn every_module_compiles() {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            for built_in in &BUILT_INS {
                if let Err(e) = load(&ctx, built_in.name) {
                    let thrown = ctx.catch();
                    panic!("node:{} does not compile: {e}: {thrown:?}", built_in.name);
                }
            }
        });
    }
}

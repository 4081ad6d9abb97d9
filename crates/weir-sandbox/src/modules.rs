//! ES modules for QuickJS: the resolver and loader an invocation's runtime uses for
//! `import`, over the invocation's own app code (the rules are in `code.rs`).
//!
//! A module compiles once per app version: the first invocation that imports it declares
//! it from source and keeps its bytecode in the `AppCode`; every later one loads that.
//! QuickJS keeps loaded modules in the context, so each invocation, in a fresh context,
//! evaluates its modules afresh: module state does not survive between invocations.

use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Ctx, Exception, Module, Result, Runtime};

use crate::code::{AppCode, Kind};

/// Points `runtime`'s `import` at `code`. Done for every invocation, whatever it runs: a
/// warm runtime would otherwise still import the previous invocation's app.
pub(crate) fn serve(runtime: &Runtime, code: &Arc<AppCode>) {
    runtime.set_loader(PackageResolver(code.clone()), PackageLoader(code.clone()));
}

/// Turns an import name into the package path of the module it names, which is also the
/// module's name in stacks.
struct PackageResolver(Arc<AppCode>);

impl Resolver for PackageResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        self.0
            .resolve_import(base, name)
            .map_err(|message| Exception::throw_message(ctx, &message))
    }
}

/// Loads a module the resolver named, from its bytecode.
struct PackageLoader(Arc<AppCode>);

impl Loader for PackageLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        path: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        load(ctx, &self.0, path)
    }
}

fn load<'js>(ctx: &Ctx<'js>, code: &AppCode, path: &str) -> Result<Module<'js, Declared>> {
    let Some(source) = code.source(path) else {
        return Err(Exception::throw_message(
            ctx,
            &format!("Cannot find module {path}"),
        ));
    };
    // The first compile declares the module in this context already; it is used as it is,
    // since loading its bytecode too would give the context two modules of one name.
    let mut declared = None;
    let bytecode = code.bytecode(path, Kind::Module, || {
        let module = Module::declare(ctx.clone(), path, source)?;
        let bytecode = module.write(WriteOptions::default())?;
        declared = Some(module);
        Ok::<_, rquickjs::Error>(bytecode)
    })?;
    match declared {
        Some(module) => Ok(module),
        // SAFETY: the bytes were written by `Module::write` above, by this process's
        // QuickJS, from this app version's source; `Module::load` copies them.
        None => unsafe { Module::load(ctx.clone(), &bytecode) },
    }
}

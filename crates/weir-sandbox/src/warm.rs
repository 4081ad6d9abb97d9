//! A JavaScript thread's QuickJS runtime, kept warm between the thread's invocations only
//! while no invocation has left anything in it.
//!
//! A runtime runs one invocation at a time, but one after another, and QuickJS's memory
//! is per runtime: whatever an invocation leaves behind (objects in reference cycles,
//! which QuickJS collects only when an allocation crosses its GC threshold, and which
//! after a big invocation lies above the memory limit; queued promise jobs; grown
//! tables) is taken from the next invocation's memory, whoever's it is. So each
//! invocation gets its own allowance on top of what the runtime holds when it starts
//! (see `meter.rs`), and after it the runtime is kept only if a garbage collection
//! brings it back to what it held when new.

use std::rc::Rc;

use rquickjs::{Context, Function, Runtime};

use crate::invocation::Limits;
use crate::meter::{Meter, Metered};

/// What a runtime may hold after an invocation, over what it held when new, and still
/// be reused: QuickJS keeps its atom and shape tables at the size they grew to (an app
/// of 120 functions run with a payload of 5,000 keys leaves about 75 KiB).
const KEPT_BYTES: usize = 256 * 1024;

pub(crate) struct WarmRuntime {
    runtime: Runtime,
    meter: Rc<Meter>,
    /// What the runtime held when new, with no context in it.
    clean_bytes: usize,
}

impl WarmRuntime {
    /// A new runtime; `None` when QuickJS cannot even allocate one.
    pub(crate) fn new() -> Option<WarmRuntime> {
        let meter = Rc::new(Meter::default());
        let runtime = Runtime::new_with_alloc(Metered(meter.clone())).ok()?;
        warm_up(&runtime)?;
        Some(WarmRuntime {
            runtime,
            clean_bytes: meter.in_use(),
            meter,
        })
    }

    /// The runtime, with an invocation's memory and stack limits set.
    pub(crate) fn begin(&self, limits: &Limits) -> &Runtime {
        self.meter.allow(limits.memory_bytes);
        self.runtime.set_max_stack_size(limits.stack_bytes);
        &self.runtime
    }

    /// Whether an allocation was refused since [`WarmRuntime::begin`].
    pub(crate) fn ran_out_of_memory(&self) -> bool {
        self.meter.refused()
    }

    /// Whether the next invocation would find the runtime as if new: no promise job
    /// queued, and after a garbage collection no more memory held than then (give or
    /// take QuickJS's tables). Called once the invocation's context is dropped.
    pub(crate) fn is_clean(&self) -> bool {
        if self.runtime.is_job_pending() {
            return false;
        }
        self.runtime.run_gc();
        self.meter.in_use() <= self.clean_bytes + KEPT_BYTES
    }
}

/// Does once what every invocation does first, so that the runtime's baseline includes
/// the tables QuickJS grows then and keeps (about 120 KiB for rquickjs's function class).
fn warm_up(runtime: &Runtime) -> Option<()> {
    let context = Context::full(runtime).ok()?;
    context
        .with(|ctx| Function::new(ctx, || ()).map(drop))
        .ok()?;
    drop(context);
    runtime.run_gc();
    Some(())
}

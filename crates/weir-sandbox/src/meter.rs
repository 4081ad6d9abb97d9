//! QuickJS's memory, counted by its allocator, against the allowance of the invocation
//! that runs in the runtime now.
//!
//! QuickJS's own limit (`JS_SetMemoryLimit`) is per runtime and says nothing when it
//! refuses: QuickJS then throws `InternalError: out of memory`, or `null` when even that
//! error cannot be allocated, and an app can catch either. Counting here instead gives
//! each invocation an allowance of its own on top of what the runtime already holds, and
//! a record of whether an allocation was refused, whatever became of the exception.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

use rquickjs::allocator::{Allocator, RustAllocator};

/// What one runtime's allocator holds and may hold. Shared by the allocator (inside the
/// runtime) and the thread that runs invocations in that runtime.
pub(crate) struct Meter {
    /// Bytes the runtime holds now, as the allocator sized its blocks.
    in_use: Cell<usize>,
    /// What `in_use` may reach: allocations that would pass it are refused.
    limit: Cell<usize>,
    /// Whether an allocation was refused since the last [`Meter::allow`].
    refused: Cell<bool>,
}

impl Default for Meter {
    /// No limit until the first invocation: QuickJS allocates the runtime itself first.
    fn default() -> Self {
        Meter {
            in_use: Cell::new(0),
            limit: Cell::new(usize::MAX),
            refused: Cell::new(false),
        }
    }
}

impl Meter {
    /// From now on the runtime may hold `more` bytes over what it holds now: the
    /// allowance of the invocation about to run, whatever the runtime kept before it.
    pub(crate) fn allow(&self, more: usize) {
        self.limit.set(self.in_use.get().saturating_add(more));
        self.refused.set(false);
    }

    pub(crate) fn in_use(&self) -> usize {
        self.in_use.get()
    }

    /// Whether an allocation was refused since the invocation began: it ran out of memory,
    /// even if it caught the error QuickJS threw for it.
    pub(crate) fn refused(&self) -> bool {
        self.refused.get()
    }

    fn admit(&self, more: usize) -> bool {
        let admitted = self.in_use.get().saturating_add(more) <= self.limit.get();
        if !admitted {
            self.refused.set(true);
        }
        admitted
    }

    fn add(&self, bytes: usize) {
        self.in_use.set(self.in_use.get().saturating_add(bytes));
    }

    fn remove(&self, bytes: usize) {
        self.in_use.set(self.in_use.get().saturating_sub(bytes));
    }
}

/// The runtime's allocator: Rust's, through rquickjs's [`RustAllocator`], counted in a
/// [`Meter`].
pub(crate) struct Metered(pub(crate) Rc<Meter>);

impl Metered {
    /// Counts a block `RustAllocator` returned (null when it failed).
    fn counted(&self, block: *mut u8) -> *mut u8 {
        if !block.is_null() {
            // SAFETY: `block` was just returned by `RustAllocator`, not freed since.
            self.0.add(unsafe { RustAllocator::usable_size(block) });
        }
        block
    }
}

// SAFETY: every block is allocated, resized, sized and freed by `RustAllocator`, which
// meets the trait's contract; this type only refuses requests (returning null, which the
// contract allows) and counts sizes.
unsafe impl Allocator for Metered {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.admit(size) {
            return ptr::null_mut();
        }
        let block = RustAllocator.alloc(size);
        self.counted(block)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return ptr::null_mut();
        };
        if !self.0.admit(total) {
            return ptr::null_mut();
        }
        let block = RustAllocator.calloc(count, size);
        self.counted(block)
    }

    unsafe fn dealloc(&mut self, block: *mut u8) {
        // SAFETY: the caller hands back a block of this allocator, i.e. of `RustAllocator`.
        unsafe {
            self.0.remove(RustAllocator::usable_size(block));
            RustAllocator.dealloc(block);
        }
    }

    unsafe fn realloc(&mut self, block: *mut u8, new_size: usize) -> *mut u8 {
        if block.is_null() {
            return self.alloc(new_size);
        }
        // SAFETY: the caller hands over a live block of this allocator. When
        // `RustAllocator.realloc` fails, the old block is still live and still counted.
        unsafe {
            let old_size = RustAllocator::usable_size(block);
            if new_size > old_size && !self.0.admit(new_size - old_size) {
                return ptr::null_mut();
            }
            let moved = RustAllocator.realloc(block, new_size);
            if !moved.is_null() {
                self.0.remove(old_size);
                self.0.add(RustAllocator::usable_size(moved));
            }
            moved
        }
    }

    unsafe fn usable_size(block: *mut u8) -> usize {
        // SAFETY: the caller hands over a live block of this allocator.
        unsafe { RustAllocator::usable_size(block) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Runtime};

    fn runtime() -> (Runtime, Rc<Meter>) {
        let meter = Rc::new(Meter::default());
        let runtime = Runtime::new_with_alloc(Metered(meter.clone())).unwrap();
        (runtime, meter)
    }

    #[test]
    fn an_allowance_counts_from_what_the_runtime_holds_and_a_refusal_is_remembered() {
        let (runtime, meter) = runtime();
        let context = Context::full(&runtime).unwrap();
        meter.allow(4 * 1024 * 1024);
        let caught: String = context.with(|ctx| {
            ctx.eval(
                "var held = []; try { for (;;) held.push('x'.repeat(65536) + held.length); } \
                 catch (e) { held = null; String(e) }",
            )
            .unwrap()
        });
        assert_eq!(caught, "InternalError: out of memory");
        assert!(meter.refused(), "the refusal outlives the caught error");
        meter.allow(4 * 1024 * 1024);
        assert!(!meter.refused(), "each allowance starts afresh");
        let fits: usize = context.with(|ctx| ctx.eval("'y'.repeat(1 << 20).length").unwrap());
        assert_eq!(fits, 1 << 20);
    }

    #[test]
    fn what_quickjs_frees_is_counted_out() {
        let (runtime, meter) = runtime();
        runtime.run_gc();
        let empty = meter.in_use();
        let context = Context::full(&runtime).unwrap();
        context
            .with(|ctx| {
                ctx.eval::<(), _>("var a = []; for (var i = 0; i < 1e5; i++) a.push({ i });")
            })
            .unwrap();
        assert!(meter.in_use() > empty + 1024 * 1024, "{}", meter.in_use());
        drop(context);
        runtime.run_gc();
        assert_eq!(meter.in_use(), empty);
    }
}

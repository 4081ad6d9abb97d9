//! Running one invocation on the current thread, start to finish.
//!
//! Each invocation gets a fresh QuickJS context (in a warm runtime), so nothing survives
//! from one invocation to the next (as on Freshworks) and one app cannot see another's
//! globals. App code and the prelude run from bytecode compiled once.
//! What runs is a `server.js` handler, or a connector module's default export (imported
//! through `modules.rs`); both end in the same promise the loop waits on.
//! The thread drives a small event loop: it runs the handler and the promise jobs it
//! queues, and sleeps until a platform call answers or a timer is due, never past the
//! deadline. CPU loops are cut by QuickJS's interrupt handler at the same deadline.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{OnceLock, mpsc};
use std::time::Instant;

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Module, Object, Promise, Runtime,
};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::bytecode;
use crate::code::{AppCode, Kind, SERVER_JS};
use crate::host::HostResult;
use crate::invocation::{ConsoleLine, Entry, Invocation, Outcome, Render, Status};
use crate::modules;

const PRELUDE: &str = include_str!("prelude.js");

/// What the event loop and the host functions share on this thread.
#[derive(Default)]
struct Loop {
    next_id: u32,
    /// Platform calls not answered yet.
    calls_in_flight: usize,
    timers: BTreeMap<u32, Instant>,
    console: Vec<ConsoleLine>,
    console_bytes: usize,
    console_dropped: usize,
    render: Option<Render>,
}

impl Loop {
    fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }
}

/// How the handler ended, before the record is assembled.
struct Ending {
    status: Status,
    value: Option<Value>,
    error: Option<String>,
    stack: Option<String>,
}

impl Ending {
    fn failed(status: Status, error: impl Into<String>, stack: Option<String>) -> Self {
        Ending {
            status,
            value: None,
            error: Some(error.into()),
            stack,
        }
    }
}

/// Runs the invocation in `runtime` (made if there is none). A runtime is reused by the
/// thread's next invocation, in a fresh context, unless this one could leave anything
/// behind in it: after a timeout, running out of memory, or with promise jobs still
/// queued, it is dropped and the next invocation makes a new one.
pub(crate) fn run(
    invocation: Invocation,
    tokio: &Handle,
    runtime: &mut Option<Runtime>,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + invocation.limits.time;
    let state = Rc::new(RefCell::new(Loop::default()));
    let interrupted = Rc::new(Cell::new(false));
    if runtime.is_none() {
        *runtime = Runtime::new().ok();
    }
    let ending = match runtime.as_ref() {
        None => Ending::failed(Status::Error, "the JavaScript engine could not start", None),
        Some(runtime) => {
            runtime.set_memory_limit(invocation.limits.memory_bytes);
            runtime.set_max_stack_size(invocation.limits.stack_bytes);
            modules::serve(runtime, &invocation.code);
            let flag = interrupted.clone();
            runtime.set_interrupt_handler(Some(Box::new(move || {
                let late = Instant::now() >= deadline;
                if late {
                    flag.set(true);
                }
                late
            })));
            match Context::full(runtime) {
                Err(e) => Ending::failed(
                    Status::Error,
                    format!("the JavaScript engine failed: {e}"),
                    None,
                ),
                Ok(context) => context
                    .with(|ctx| drive(&ctx, &invocation, &state, &interrupted, deadline, tokio)),
            }
        }
    };
    let clean = matches!(ending.status, Status::Success | Status::Error)
        && runtime.as_ref().is_some_and(|r| !r.is_job_pending());
    if !clean {
        *runtime = None;
    }
    let state = state.take();
    Outcome {
        status: ending.status,
        value: ending.value,
        error: ending.error,
        stack: ending.stack,
        render: state.render,
        console: state.console,
        console_dropped: state.console_dropped,
        duration: started.elapsed(),
    }
}

fn drive(
    ctx: &Ctx<'_>,
    invocation: &Invocation,
    state: &Rc<RefCell<Loop>>,
    interrupted: &Rc<Cell<bool>>,
    deadline: Instant,
    tokio: &Handle,
) -> Ending {
    let (answers, answered) = mpsc::channel::<(u32, HostResult)>();
    let control = match install(ctx, invocation, state, tokio, answers) {
        Ok(control) => control,
        Err(error) => return ending_of(error, interrupted),
    };
    if let Err(error) = start(ctx, &control, invocation).catch(ctx) {
        return ending_of(error, interrupted);
    }
    loop {
        while ctx.execute_pending_job() {}
        if interrupted.get() {
            return timed_out(invocation);
        }
        let outcome: Option<String> = control
            .get::<_, Function>("outcome")
            .and_then(|f| f.call(()))
            .ok()
            .flatten();
        let (calls_in_flight, next_timer, rendered) = {
            let state = state.borrow();
            (
                state.calls_in_flight,
                state.timers.values().min().copied(),
                state.render.is_some(),
            )
        };
        if let Some(outcome) = &outcome
            && calls_in_flight == 0
            && (next_timer.is_none() || rendered)
        {
            return settled(outcome);
        }
        if calls_in_flight == 0 && next_timer.is_none() {
            return Ending::failed(
                Status::Timeout,
                "the handler's promise never settles: nothing it waits for is pending",
                None,
            );
        }
        let now = Instant::now();
        if now >= deadline {
            return timed_out(invocation);
        }
        let wake = next_timer.map_or(deadline, |due| due.min(deadline));
        match answered.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(first) => {
                for (id, result) in std::iter::once(first).chain(answered.try_iter()) {
                    state.borrow_mut().calls_in_flight -= 1;
                    let (ok, value) = match result {
                        Ok(value) => (true, value),
                        Err(value) => (false, value),
                    };
                    let settle = control.get::<_, Function>("settle");
                    let _ = settle.and_then(|f| f.call::<_, ()>((id, ok, value.to_string())));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => fire_due_timers(ctx, &control, state),
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
    }
}

/// Calls what the invocation runs; the prelude keeps the promise of its result.
fn start<'js>(
    ctx: &Ctx<'js>,
    control: &Object<'js>,
    invocation: &Invocation,
) -> rquickjs::Result<()> {
    let payload = invocation.payload.to_string();
    match &invocation.handler {
        Entry::Handler(name) => {
            control
                .get::<_, Function>("invoke")?
                .call((SERVER_JS, name.as_str(), payload))
        }
        Entry::Module(path) => {
            // Imported from here, with no importing file: the resolver reads `path` as a
            // package path. Loading and evaluating errors reject the promise.
            let imported: Promise = Module::import(ctx, path.as_str())?;
            control
                .get::<_, Function>("invokeModule")?
                .call((path.as_str(), imported, payload))
        }
    }
}

fn fire_due_timers(ctx: &Ctx<'_>, control: &Object<'_>, state: &Rc<RefCell<Loop>>) {
    let now = Instant::now();
    let due: Vec<u32> = {
        let mut state = state.borrow_mut();
        let due: Vec<u32> = state
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &due {
            state.timers.remove(id);
        }
        due
    };
    for id in due {
        let fire = control.get::<_, Function>("fire");
        if let Err(error) = fire.and_then(|f| f.call::<_, ()>((id,))).catch(ctx) {
            // A timer callback that throws is the app's bug, reported where it will see it.
            let mut state = state.borrow_mut();
            state.console.push(ConsoleLine {
                level: "error".into(),
                text: format!("uncaught in a timer: {error}"),
            });
        }
    }
}

fn settled(outcome: &str) -> Ending {
    let outcome: Value = serde_json::from_str(outcome).unwrap_or(Value::Null);
    if outcome["ok"] == Value::Bool(true) {
        return Ending {
            status: Status::Success,
            value: Some(outcome["value"].clone()),
            error: None,
            stack: None,
        };
    }
    let message = outcome["message"]
        .as_str()
        .unwrap_or("the handler failed")
        .to_owned();
    let stack = outcome["stack"].as_str().map(str::to_owned);
    let status = if message.contains("out of memory") {
        Status::OutOfMemory
    } else {
        Status::Error
    };
    Ending::failed(status, message, stack)
}

fn timed_out(invocation: &Invocation) -> Ending {
    let seconds = invocation.limits.time.as_secs_f64();
    Ending::failed(
        Status::Timeout,
        format!("the handler ran past its time limit of {seconds} s"),
        None,
    )
}

/// An exception caught on the Rust side: a timeout if the interrupt fired, out of memory
/// if QuickJS said so, else the error itself.
fn ending_of(error: CaughtError<'_>, interrupted: &Cell<bool>) -> Ending {
    if interrupted.get() {
        return Ending::failed(Status::Timeout, "the handler ran past its time limit", None);
    }
    let (message, stack) = match &error {
        CaughtError::Exception(exception) => (
            format!(
                "{}: {}",
                exception_name(exception),
                exception.message().unwrap_or_default()
            ),
            exception.stack(),
        ),
        other => (other.to_string(), None),
    };
    let status = if message.contains("out of memory") {
        Status::OutOfMemory
    } else {
        Status::Error
    };
    Ending::failed(status, message, stack)
}

fn exception_name(exception: &rquickjs::Exception<'_>) -> String {
    exception
        .get::<_, String>("name")
        .unwrap_or_else(|_| "Error".to_owned())
}

/// Installs the host functions and the prelude; returns the prelude's control object.
fn install<'js>(
    ctx: &Ctx<'js>,
    invocation: &Invocation,
    state: &Rc<RefCell<Loop>>,
    tokio: &Handle,
    answers: mpsc::Sender<(u32, HostResult)>,
) -> Result<Object<'js>, CaughtError<'js>> {
    let host = Object::new(ctx.clone()).catch(ctx)?;
    let env = invocation.env;
    let console_limit = invocation.limits.console_bytes;

    let (loop_state, platform, runtime) = (state.clone(), invocation.host.clone(), tokio.clone());
    let call = Function::new(ctx.clone(), move |name: String, args: String| -> u32 {
        let id = {
            let mut state = loop_state.borrow_mut();
            state.calls_in_flight += 1;
            state.next_id()
        };
        let args: Value = serde_json::from_str(&args).unwrap_or(Value::Null);
        let (platform, answers) = (platform.clone(), answers.clone());
        runtime.spawn(async move {
            let result = platform.call(name, args).await;
            let _ = answers.send((id, result));
        });
        id
    });
    let loop_state = state.clone();
    let timer = Function::new(ctx.clone(), move |ms: f64| -> u32 {
        let mut state = loop_state.borrow_mut();
        let id = state.next_id();
        let delay = std::time::Duration::from_secs_f64((ms.max(0.0)) / 1000.0);
        state.timers.insert(id, Instant::now() + delay);
        id
    });
    let loop_state = state.clone();
    let clear_timer = Function::new(ctx.clone(), move |id: u32| {
        loop_state.borrow_mut().timers.remove(&id);
    });
    let loop_state = state.clone();
    let console = Function::new(ctx.clone(), move |level: String, text: String| {
        let mut state = loop_state.borrow_mut();
        if state.console_bytes + text.len() > console_limit {
            state.console_dropped += text.len();
        } else {
            state.console_bytes += text.len();
            state.console.push(ConsoleLine { level, text });
        }
    });
    let loop_state = state.clone();
    let render = Function::new(ctx.clone(), move |json: String| {
        let given: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        loop_state.borrow_mut().render = Some(render_of(&given["error"], &given["data"]));
    });
    let code = invocation.code.clone();
    let resolve = Function::new(ctx.clone(), move |from: String, name: String| -> String {
        match code.resolve(&from, &name) {
            Ok((path, kind)) => {
                serde_json::json!({"path": path, "kind": kind.as_str()}).to_string()
            }
            Err(error) => serde_json::json!({"error": error}).to_string(),
        }
    });
    let code = invocation.code.clone();
    let load = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, kind: String| -> rquickjs::Result<Function<'js>> {
            load_module(
                &ctx,
                &code,
                &path,
                if kind == "app" { Kind::App } else { Kind::Npm },
            )
        },
    );
    let env = Function::new(ctx.clone(), move || env.to_owned());
    for (name, function) in [
        ("call", call),
        ("timer", timer),
        ("clearTimer", clear_timer),
        ("console", console),
        ("render", render),
        ("resolve", resolve),
        ("load", load),
        ("env", env),
    ] {
        host.set(name, function.catch(ctx)?).catch(ctx)?;
    }
    let prelude: Function = prelude(ctx).catch(ctx)?;
    prelude.call((host,)).catch(ctx)
}

/// The prelude's function, from bytecode compiled once per process.
pub(crate) fn prelude<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    static BYTECODE: OnceLock<Vec<u8>> = OnceLock::new();
    let bytecode = match BYTECODE.get() {
        Some(bytecode) => bytecode,
        None => {
            let compiled = bytecode::compile(ctx, "weir:prelude.js", PRELUDE)?;
            BYTECODE.get_or_init(|| compiled)
        }
    };
    bytecode::run(ctx, bytecode)
}

/// How the app's own files (`Kind::App`) and npm files (`Kind::Npm`) start once wrapped:
/// on the file's first line, whose columns in stacks are shifted by as much.
pub(crate) const APP_WRAPPER: &str = "(function (require) { var exports = {}; ";
pub(crate) const NPM_WRAPPER: &str =
    "(function (exports, require, module, __filename, __dirname) { ";

/// One file of the app, wrapped as its kind requires, as a function: compiled the first
/// time an invocation of this app version loads it, run from bytecode after that. The
/// wrapper stays on the file's first line so that line numbers in stacks are the file's.
pub(crate) fn load_module<'js>(
    ctx: &Ctx<'js>,
    code: &AppCode,
    path: &str,
    kind: Kind,
) -> rquickjs::Result<Function<'js>> {
    let Some(source) = code.source(path) else {
        let missing = format!("Cannot find module {path}");
        return Err(rquickjs::Exception::throw_reference(ctx, &missing));
    };
    let bytecode = code.bytecode(path, kind, || {
        let wrapped = match kind {
            Kind::App => format!("{APP_WRAPPER}{source}\n; return exports; }})"),
            Kind::Npm => format!("{NPM_WRAPPER}{source}\n}})"),
            // `resolve` never names one for `require`; ES modules load through `modules.rs`.
            Kind::Module => {
                let message = format!("{path} is an ES module: import it, do not require it");
                return Err(rquickjs::Exception::throw_type(ctx, &message));
            }
        };
        bytecode::compile(ctx, path, &wrapped)
    })?;
    bytecode::run(ctx, &bytecode)
}

/// `renderData(error?, data?)` as the platform answers it (REFERENCE §1).
fn render_of(error: &Value, data: &Value) -> Render {
    match error {
        Value::Null => Render::Ok {
            data: (!data.is_null()).then(|| data.clone()),
        },
        Value::Object(fields)
            if fields.contains_key("message") || fields.contains_key("status") =>
        {
            let status = fields
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (100..=599).contains(s))
                .unwrap_or(500);
            Render::Error {
                status,
                message: fields.get("message").cloned().unwrap_or(Value::Null),
            }
        }
        _ => Render::Invalid,
    }
}

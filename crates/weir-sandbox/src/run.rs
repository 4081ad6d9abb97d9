//! Running one invocation on the current thread, start to finish.
//!
//! Each invocation gets a fresh QuickJS context (in a warm runtime, see `warm.rs`), so
//! nothing survives from one invocation to the next (as on Freshworks) and one app cannot
//! see another's globals. App code and the prelude run from bytecode compiled once.
//! What runs is a `server.js` handler, or a connector module's default export (imported
//! through `modules.rs`); both end in the same promise the loop waits on.
//! The thread drives a small event loop: it runs the handler and the promise jobs it
//! queues, and sleeps until a platform call answers or a timer is due, never past the
//! deadline. CPU loops are cut by QuickJS's interrupt handler at the same deadline.
//! Between steps the loop checks the invocation's limits (time, memory, timers, the size
//! of what it returns): one broken ends the invocation at once, with that reason,
//! whatever the handler does with the exception that reports it in JavaScript.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Exception, Function, Module, Object, Promise,
};
use serde_json::Value;
use tokio::runtime::Handle;
use weir_core::{ConsoleLine, InvocationStatus};

use crate::bytecode;
use crate::code::{AppCode, Kind, SERVER_JS};
use crate::host::HostResult;
use crate::host_call::HostCall;
use crate::invocation::{Entry, Invocation, Limits, Outcome, Render};
use crate::modules;
use crate::node;
use crate::warm::WarmRuntime;

const PRELUDE: &str = include_str!("prelude.js");

/// What the event loop and the host functions share on this thread.
#[derive(Default)]
struct Loop {
    next_id: u32,
    /// Platform calls not answered yet.
    calls_in_flight: usize,
    /// The JSON of their arguments, held here (outside QuickJS's count) until answered.
    call_bytes: usize,
    timers: BTreeMap<u32, Instant>,
    /// Timers that do not keep the invocation waiting once its handler has settled
    /// (`timer.unref()`).
    unreferenced: BTreeSet<u32>,
    console: Vec<ConsoleLine>,
    console_bytes: usize,
    console_dropped: usize,
    render: Option<Render>,
    /// The first platform limit the invocation went past, as the developer reads it.
    exceeded: Option<String>,
}

impl Loop {
    fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn exceed(&mut self, message: String) {
        self.exceeded.get_or_insert(message);
    }

    /// A platform call no longer waits: it was answered, or refused before it left.
    fn release_call(&mut self, bytes: usize) {
        self.calls_in_flight -= 1;
        self.call_bytes -= bytes;
    }
}

/// A platform call's answer, as the host gave it.
struct Answer {
    id: u32,
    /// The size of the call's arguments, no longer held once it is answered.
    bytes: usize,
    result: HostResult,
}

/// How the handler ended, before the record is assembled.
struct Ending {
    status: InvocationStatus,
    value: Option<Value>,
    error: Option<String>,
    stack: Option<String>,
}

impl Ending {
    fn failed(status: InvocationStatus, error: impl Into<String>, stack: Option<String>) -> Self {
        Ending {
            status,
            value: None,
            error: Some(error.into()),
            stack,
        }
    }
}

/// Runs the invocation in the thread's `warm` runtime (made if there is none). The
/// runtime is reused by the thread's next invocation, in a fresh context, only if this
/// one can leave nothing behind in it: not after a timeout (its work would resume
/// there), nor after it ran out of memory, nor unless a garbage collection brings the
/// runtime back to what it held when new. Otherwise the next invocation makes a new one.
pub(crate) fn run(
    invocation: Invocation,
    tokio: &Handle,
    warm: &mut Option<WarmRuntime>,
) -> Outcome {
    let started = Instant::now();
    let state = Rc::new(RefCell::new(Loop::default()));
    if warm.is_none() {
        *warm = WarmRuntime::new();
    }
    let ending = match warm.as_ref() {
        None => Ending::failed(
            InvocationStatus::Error,
            "the JavaScript engine could not start",
            None,
        ),
        Some(runtime) => run_in(runtime, &invocation, &state, started, tokio),
    };
    let reusable = ending.status != InvocationStatus::Timeout
        && warm
            .as_ref()
            .is_some_and(|runtime| !runtime.ran_out_of_memory() && runtime.is_clean());
    if !reusable {
        *warm = None;
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

/// Runs the invocation in a fresh context of `warm`, which is dropped before this returns.
fn run_in(
    warm: &WarmRuntime,
    invocation: &Invocation,
    state: &Rc<RefCell<Loop>>,
    started: Instant,
    tokio: &Handle,
) -> Ending {
    let deadline = started + invocation.limits.time;
    let interrupted = Rc::new(Cell::new(false));
    let runtime = warm.begin(&invocation.limits);
    modules::serve(runtime, &invocation.code);
    let flag = interrupted.clone();
    runtime.set_interrupt_handler(Some(Box::new(move || {
        let late = Instant::now() >= deadline;
        if late {
            flag.set(true);
        }
        late
    })));
    let watch = Watch {
        warm,
        interrupted: &interrupted,
        state,
        limits: &invocation.limits,
    };
    match Context::full(runtime) {
        Err(_) if warm.ran_out_of_memory() => out_of_memory(&invocation.limits),
        Err(e) => Ending::failed(
            InvocationStatus::Error,
            format!("the JavaScript engine failed: {e}"),
            None,
        ),
        Ok(context) => context.with(|ctx| drive(&ctx, invocation, &watch, deadline, tokio)),
    }
}

/// The limits an invocation can break while its JavaScript runs, checked by the loop
/// between steps.
struct Watch<'a> {
    warm: &'a WarmRuntime,
    /// Set by the interrupt handler when it stopped JavaScript at the deadline.
    interrupted: &'a Cell<bool>,
    state: &'a Rc<RefCell<Loop>>,
    limits: &'a Limits,
}

impl Watch<'_> {
    /// How the invocation ends if it broke a limit: a platform limit it went past, its
    /// time, or its memory (an allocation refused, even if the handler caught the error).
    fn broken(&self) -> Option<Ending> {
        if let Some(message) = self.state.borrow().exceeded.clone() {
            return Some(Ending::failed(InvocationStatus::Error, message, None));
        }
        if self.interrupted.get() {
            return Some(timed_out(self.limits));
        }
        if self.warm.ran_out_of_memory() {
            return Some(out_of_memory(self.limits));
        }
        None
    }

    /// An exception that reached the Rust side: the limit behind it, else the error.
    fn ending_of(&self, error: CaughtError<'_>) -> Ending {
        self.broken().unwrap_or_else(|| error_ending(error))
    }
}

fn drive(
    ctx: &Ctx<'_>,
    invocation: &Invocation,
    watch: &Watch<'_>,
    deadline: Instant,
    tokio: &Handle,
) -> Ending {
    let (answers, answered) = mpsc::channel::<Answer>();
    let control = match install(ctx, invocation, watch.state, tokio, answers) {
        Ok(control) => control,
        Err(error) => return watch.ending_of(error),
    };
    if let Err(error) = start(ctx, &control, invocation).catch(ctx) {
        return watch.ending_of(error);
    }
    loop {
        while ctx.execute_pending_job() {}
        if let Some(ending) = watch.broken() {
            return ending;
        }
        // An outcome that cannot be read (too large, not JSON, out of memory) ends the
        // invocation with that reason: it must not pass for a promise still pending.
        let outcome: Option<String> = match control
            .get::<_, Function>("outcome")
            .and_then(|f| f.call(()))
            .catch(ctx)
        {
            Ok(outcome) => outcome,
            Err(error) => return watch.ending_of(error),
        };
        let next_timer = match what_next(outcome.as_deref(), &watch.state.borrow()) {
            Next::End(ending) => return ending,
            Next::Wait { next_timer } => next_timer,
        };
        let now = Instant::now();
        if now >= deadline {
            return timed_out(&invocation.limits);
        }
        let wake = next_timer.map_or(deadline, |due| due.min(deadline));
        let stepped = match answered.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(first) => settle_answers(ctx, &control, watch.state, first, &answered),
            Err(mpsc::RecvTimeoutError::Timeout) => fire_due_timers(ctx, &control, watch),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(()),
        };
        if let Err(error) = stepped {
            return watch.ending_of(error);
        }
    }
}

/// What the loop does once the queued jobs have run.
enum Next {
    End(Ending),
    /// Wait for a platform call's answer, or until the next timer is due.
    Wait {
        next_timer: Option<Instant>,
    },
}

/// The invocation is over when its promise has settled, no platform call is unanswered,
/// and no timer is pending but those `unref()`ed (timers no longer count once it has
/// called `renderData`: its answer is given). With nothing left to wait for, an
/// unsettled promise never settles.
fn what_next(outcome: Option<&str>, state: &Loop) -> Next {
    let next_timer = state.timers.values().min().copied();
    let waiting = state.calls_in_flight > 0 || next_timer.is_some();
    let held_by_timers = state
        .timers
        .keys()
        .any(|id| !state.unreferenced.contains(id));
    match outcome {
        Some(outcome)
            if state.calls_in_flight == 0 && (!held_by_timers || state.render.is_some()) =>
        {
            Next::End(settled(outcome))
        }
        _ if waiting => Next::Wait { next_timer },
        _ => Next::End(Ending::failed(
            InvocationStatus::Timeout,
            "the handler's promise never settles: nothing it waits for is pending",
            None,
        )),
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

/// Settles the promises of the platform calls answered so far: `first`, and any others
/// already waiting.
fn settle_answers<'js>(
    ctx: &Ctx<'js>,
    control: &Object<'js>,
    state: &Rc<RefCell<Loop>>,
    first: Answer,
    answered: &mpsc::Receiver<Answer>,
) -> Result<(), CaughtError<'js>> {
    for Answer { id, bytes, result } in std::iter::once(first).chain(answered.try_iter()) {
        state.borrow_mut().release_call(bytes);
        let (ok, json) = match result {
            Ok(value) => (true, value.to_string()),
            Err(error) => (false, error.to_json().to_string()),
        };
        control
            .get::<_, Function>("settle")
            .and_then(|f| f.call::<_, ()>((id, ok, json)))
            .catch(ctx)?;
    }
    Ok(())
}

fn fire_due_timers<'js>(
    ctx: &Ctx<'js>,
    control: &Object<'js>,
    watch: &Watch<'_>,
) -> Result<(), CaughtError<'js>> {
    let now = Instant::now();
    let due: Vec<u32> = {
        let mut state = watch.state.borrow_mut();
        let due: Vec<u32> = state
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &due {
            state.timers.remove(id);
            state.unreferenced.remove(id);
        }
        due
    };
    for id in due {
        let fire = control.get::<_, Function>("fire");
        let Err(error) = fire.and_then(|f| f.call::<_, ()>((id,))).catch(ctx) else {
            continue;
        };
        if watch.broken().is_some() {
            return Err(error);
        }
        // A timer callback that throws is the app's bug, reported where it will see it.
        watch.state.borrow_mut().console.push(ConsoleLine {
            level: "error".into(),
            text: format!("uncaught in a timer: {error}"),
        });
    }
    Ok(())
}

fn settled(outcome: &str) -> Ending {
    let outcome: Value = serde_json::from_str(outcome).unwrap_or(Value::Null);
    if outcome["ok"] == Value::Bool(true) {
        return Ending {
            status: InvocationStatus::Success,
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
    Ending::failed(InvocationStatus::Error, message, stack)
}

fn timed_out(limits: &Limits) -> Ending {
    let seconds = limits.time.as_secs_f64();
    Ending::failed(
        InvocationStatus::Timeout,
        format!("the handler ran past its time limit of {seconds} s"),
        None,
    )
}

fn out_of_memory(limits: &Limits) -> Ending {
    Ending::failed(
        InvocationStatus::OutOfMemory,
        format!(
            "out of memory: the handler needed more than its limit of {}",
            bytes_text(limits.memory_bytes)
        ),
        None,
    )
}

/// `64 MiB`, `512 KiB`, or `1000 bytes`.
fn bytes_text(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    match bytes {
        0 => "0 bytes".to_owned(),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// An exception the handler threw (no limit behind it), as the record shows it.
fn error_ending(error: CaughtError<'_>) -> Ending {
    match &error {
        CaughtError::Exception(exception) => Ending::failed(
            InvocationStatus::Error,
            format!(
                "{}: {}",
                exception_name(exception),
                exception.message().unwrap_or_default()
            ),
            exception.stack(),
        ),
        CaughtError::Value(value) => Ending::failed(
            InvocationStatus::Error,
            format!("the handler threw {}", thrown_text(value)),
            None,
        ),
        CaughtError::Error(error) => {
            Ending::failed(InvocationStatus::Error, error.to_string(), None)
        }
    }
}

/// A thrown value that is not an Error, e.g. `throw 'no ticket'` or `throw null`.
fn thrown_text(value: &rquickjs::Value<'_>) -> String {
    if let Some(text) = value.as_string().and_then(|s| s.to_string().ok()) {
        return Value::String(text).to_string();
    }
    if let Some(number) = value.as_number() {
        return number.to_string();
    }
    if let Some(flag) = value.as_bool() {
        return flag.to_string();
    }
    match value.type_name() {
        "null" | "undefined" => value.type_name().to_owned(),
        other => format!("a value of type {other}"),
    }
}

fn exception_name(exception: &Exception<'_>) -> String {
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
    answers: mpsc::Sender<Answer>,
) -> Result<Object<'js>, CaughtError<'js>> {
    let host = Object::new(ctx.clone()).catch(ctx)?;
    let env = invocation.env;
    let console_limit = invocation.limits.console_bytes;

    let (loop_state, platform, runtime) = (state.clone(), invocation.host.clone(), tokio.clone());
    let limits = invocation.limits;
    let call = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String, args: String| -> rquickjs::Result<u32> {
            let bytes = args.len();
            let id = add_call(&ctx, &mut loop_state.borrow_mut(), bytes, &limits)?;
            let args: Value = serde_json::from_str(&args).unwrap_or(Value::Null);
            let call = match HostCall::parse(&name, args) {
                Ok(call) => call,
                Err(unknown) => {
                    loop_state.borrow_mut().release_call(bytes);
                    // Thrown in the prelude's promise executor: the app's promise rejects
                    // with it, and the host never hears of the call.
                    return Err(Exception::throw_type(&ctx, &unknown.to_string()));
                }
            };
            let (platform, answers) = (platform.clone(), answers.clone());
            runtime.spawn(async move {
                let result = platform.call(call).await;
                let _ = answers.send(Answer { id, bytes, result });
            });
            Ok(id)
        },
    );
    let (loop_state, timers_limit) = (state.clone(), invocation.limits.timers);
    let timer = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, ms: f64| -> rquickjs::Result<u32> {
            add_timer(&ctx, &mut loop_state.borrow_mut(), ms, timers_limit)
        },
    );
    let loop_state = state.clone();
    let clear_timer = Function::new(ctx.clone(), move |id: u32| {
        let mut state = loop_state.borrow_mut();
        state.timers.remove(&id);
        state.unreferenced.remove(&id);
    });
    let loop_state = state.clone();
    let unref_timer = Function::new(ctx.clone(), move |id: u32, unreferenced: bool| {
        let mut state = loop_state.borrow_mut();
        if !unreferenced {
            state.unreferenced.remove(&id);
        } else if state.timers.contains_key(&id) {
            state.unreferenced.insert(id);
        }
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
    // The prelude reports the limits it checks (the size of a result) here, then throws.
    let loop_state = state.clone();
    let exceeded = Function::new(ctx.clone(), move |message: String| {
        loop_state.borrow_mut().exceed(message);
    });
    for (name, function) in [
        ("call", call),
        ("timer", timer),
        ("clearTimer", clear_timer),
        ("unrefTimer", unref_timer),
        ("console", console),
        ("render", render),
        ("resolve", resolve),
        ("load", load),
        ("env", env),
        ("exceeded", exceeded),
    ] {
        host.set(name, function.catch(ctx)?).catch(ctx)?;
    }
    node::add_to_host(ctx, &host, &invocation.code, invocation.limits.memory_bytes).catch(ctx)?;
    let prelude: Function = prelude(ctx).catch(ctx)?;
    let result_bytes = invocation.limits.result_bytes as f64;
    prelude.call((host, result_bytes)).catch(ctx)
}

/// A platform call's id, counted in. What calls wait on is held outside QuickJS (their
/// arguments here, their work on the shared async runtime and store), so past
/// `limits.calls` of them at once, or past `limits.memory_bytes` of arguments, the
/// invocation ends.
fn add_call(
    ctx: &Ctx<'_>,
    state: &mut Loop,
    bytes: usize,
    limits: &Limits,
) -> rquickjs::Result<u32> {
    let (calls, held) = (state.calls_in_flight + 1, state.call_bytes + bytes);
    let broken = if calls > limits.calls {
        Some(format!(
            "too many platform calls waiting for an answer: {calls}, the limit is {}",
            limits.calls
        ))
    } else if held > limits.memory_bytes {
        Some(format!(
            "the platform calls waiting for an answer carry too much: {held} bytes of \
             arguments, the limit is {}",
            limits.memory_bytes
        ))
    } else {
        None
    };
    if let Some(message) = broken {
        state.exceed(message.clone());
        return Err(Exception::throw_range(ctx, &message));
    }
    state.calls_in_flight = calls;
    state.call_bytes = held;
    Ok(state.next_id())
}

/// `setTimeout`'s half on this side: the timer's id, once it is due `ms` from now. Each
/// pending timer holds memory here, outside QuickJS's count, so past `limit` of them at
/// once the invocation ends.
fn add_timer(ctx: &Ctx<'_>, state: &mut Loop, ms: f64, limit: usize) -> rquickjs::Result<u32> {
    let pending = state.timers.len() + 1;
    if pending > limit {
        let message = format!("too many timers: {pending}, the limit is {limit}");
        state.exceed(message.clone());
        return Err(Exception::throw_range(ctx, &message));
    }
    let id = state.next_id();
    state.timers.insert(id, Instant::now() + delay_of(ms));
    Ok(id)
}

/// A timer's delay. Longer than any invocation's time limit counts as that long, so
/// that `setTimeout(f, Infinity)` or `1e300` ms cannot overflow the clock.
fn delay_of(ms: f64) -> Duration {
    const NEVER: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).map_or(NEVER, |delay| delay.min(NEVER))
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
            // Data files and built-ins are the prelude's to load.
            Kind::Json | Kind::BuiltIn => {
                let message = format!("{path} is not a script of the app");
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

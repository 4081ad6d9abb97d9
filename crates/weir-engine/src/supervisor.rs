//! Keeps this node's background workers running. Each worker is a loop in a task of its
//! own, and handles every failure it expects (a store that does not answer, a receiver
//! that fails) by itself; a panic is a bug. It ends only that task: the supervisor logs it
//! with the worker's name, counts it for `/metrics`, and starts the worker again after a
//! pause that doubles while the worker keeps failing. A piece of a worker's work that
//! panics (one delivery call, one job) is caught where it runs (`catching`), counted here,
//! and released by its worker.
//!
//! `/readyz` asks [`Workers::unready`]: a node is not ready while one of its workers is
//! down, or keeps failing as soon as it starts.
//!
//! Shutdown is a value every worker is given ([`Shutdown`]): [`Workers::stop`] tells them
//! all when their drain time ends, and [`Workers::stopped`] waits until each has finished
//! what it was running (or given it back) and ended.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;

/// The first pause before a restart; each panic in a row doubles it…
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// …up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// A run this long ends a series of panics in a row.
const STABLE: Duration = Duration::from_secs(60);
/// A worker that panicked this many times in a row, each soon after it started, is
/// failing, not unlucky: the node is not ready.
const CRASH_LOOP: u32 = 3;

/// The workers of this node and how each is doing.
pub struct Workers {
    states: Mutex<BTreeMap<&'static str, WorkerState>>,
    /// When the drain ends, once a shutdown is asked for.
    stop: tokio::sync::watch::Sender<Option<tokio::time::Instant>>,
    /// The supervising tasks, which end when their worker ends for good.
    running: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            states: Mutex::default(),
            stop: tokio::sync::watch::Sender::new(None),
            running: Mutex::default(),
        }
    }
}

/// A worker's view of shutdown: whether it was asked for, and by when to be done.
#[derive(Clone)]
pub struct Shutdown(tokio::sync::watch::Receiver<Option<tokio::time::Instant>>);

impl Shutdown {
    /// Completes once a shutdown is asked for; returns when the drain ends.
    pub async fn requested(&self) -> tokio::time::Instant {
        let mut watching = self.0.clone();
        let asked = watching
            .wait_for(Option::is_some)
            .await
            .map(|deadline| *deadline);
        match asked {
            Ok(deadline) => deadline.unwrap_or_else(tokio::time::Instant::now),
            // The workers are gone: nothing will ever ask.
            Err(_) => std::future::pending().await,
        }
    }

    pub fn is_requested(&self) -> bool {
        self.0.borrow().is_some()
    }
}

#[derive(Default)]
struct WorkerState {
    up: bool,
    /// Its loop ended without a panic (it should not): it is not restarted.
    stopped: bool,
    started: Option<Instant>,
    /// Every panic: of its loop, or of a piece of its work.
    panics: u64,
    /// Panics of its loop since it last ran for `STABLE`.
    in_a_row: u32,
}

impl Workers {
    /// Runs the worker `start` makes, as `name`, and again after each panic, until it ends
    /// after a shutdown.
    pub fn supervise<F, Fut>(self: &Arc<Self>, name: &'static str, start: F)
    where
        F: Fn(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.with(name, |_| {});
        let workers = self.clone();
        let shutdown = Shutdown(self.stop.subscribe());
        let supervising = tokio::spawn(async move {
            loop {
                workers.with(name, |state| {
                    state.up = true;
                    state.started = Some(Instant::now());
                });
                let ended = tokio::spawn(start(shutdown.clone())).await;
                let panic = match ended {
                    Err(error) if error.is_panic() => panic_message(&*error.into_panic()),
                    _ => {
                        if !shutdown.is_requested() {
                            tracing::error!(worker = name, "a worker stopped; it is not restarted");
                        }
                        workers.with(name, |state| (state.up, state.stopped) = (false, true));
                        return;
                    }
                };
                let pause = workers.with(name, |state| state.note_crash());
                tracing::error!(
                    worker = name,
                    panic,
                    restart_in_ms = pause.as_millis() as u64,
                    "a worker panicked; it is restarted"
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = shutdown.requested() => {
                        workers.with(name, |state| state.stopped = true);
                        return;
                    }
                }
            }
        });
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.push(supervising);
    }

    /// Asks every worker to stop claiming work and to finish what it runs within `drain`.
    pub fn stop(&self, drain: Duration) {
        let deadline = tokio::time::Instant::now() + drain;
        self.stop.send_replace(Some(deadline));
    }

    /// Waits until every worker has ended (after `stop`).
    pub async fn stopped(&self) {
        let running = std::mem::take(&mut *self.running.lock().unwrap_or_else(|e| e.into_inner()));
        for supervising in running {
            let _ = supervising.await;
        }
    }

    /// Counts a panic in a piece of `worker`'s work, which the worker released.
    pub fn note_task_panic(&self, worker: &'static str, message: &str, work: &str) {
        tracing::error!(
            worker,
            panic = message,
            work,
            "a worker panicked on one piece of work; it is released and tried again"
        );
        self.with(worker, |state| state.panics += 1);
    }

    /// Why this node is not ready to work, if it is not: one reason a worker.
    pub fn unready(&self) -> Vec<String> {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states
            .iter()
            .filter_map(|(name, state)| state.trouble().map(|why| format!("the {name} {why}")))
            .collect()
    }

    /// The workers' lines of `/metrics`.
    pub fn render(&self, out: &mut String) {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP weir_worker_up Whether the worker runs on this node (0: waiting to restart).\n\
             # TYPE weir_worker_up gauge"
        );
        for (name, state) in states.iter() {
            let _ = writeln!(
                out,
                "weir_worker_up{{worker=\"{name}\"}} {}",
                u8::from(state.up)
            );
        }
        let _ = writeln!(
            out,
            "# HELP weir_worker_panics_total Panics of the worker on this node (its loop, or one \
             piece of its work).\n# TYPE weir_worker_panics_total counter"
        );
        for (name, state) in states.iter() {
            let _ = writeln!(
                out,
                "weir_worker_panics_total{{worker=\"{name}\"}} {}",
                state.panics
            );
        }
    }

    fn with<T>(&self, name: &'static str, change: impl FnOnce(&mut WorkerState) -> T) -> T {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        change(states.entry(name).or_default())
    }
}

impl WorkerState {
    /// Notes that the loop panicked; returns how long to wait before starting it again.
    fn note_crash(&mut self) -> Duration {
        let ran = self.started.map_or(Duration::ZERO, |at| at.elapsed());
        if ran >= STABLE {
            self.in_a_row = 0;
        }
        self.up = false;
        self.panics += 1;
        self.in_a_row += 1;
        let doublings = (self.in_a_row - 1).min(16);
        (FIRST_PAUSE * 2u32.pow(doublings)).min(LONGEST_PAUSE)
    }

    fn trouble(&self) -> Option<String> {
        if self.stopped {
            return Some("worker stopped".into());
        }
        if !self.up {
            return Some("worker is down after a panic, waiting to restart".into());
        }
        let settled = self.started.is_some_and(|at| at.elapsed() >= STABLE);
        (self.in_a_row >= CRASH_LOOP && !settled).then(|| {
            format!(
                "worker keeps failing: it panicked {} times in a row",
                self.in_a_row
            )
        })
    }
}

/// Runs `work`, turning a panic inside it into `Err` with the panic's message, so that
/// the caller can release the work instead of leaving it claimed.
pub async fn catching<T>(work: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| panic_message(&*panic))
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_while_a_worker_keeps_failing_and_it_is_then_unready() {
        let mut state = WorkerState {
            up: true,
            started: Some(Instant::now()),
            ..WorkerState::default()
        };
        assert_eq!(state.trouble(), None);
        let pauses: Vec<_> = (0..3)
            .map(|_| {
                let pause = state.note_crash();
                state.up = true;
                pause
            })
            .collect();
        assert_eq!(
            pauses,
            [100, 200, 400].map(Duration::from_millis),
            "doubling"
        );
        assert_eq!(state.panics, 3);
        let why = state.trouble().expect("a crash loop");
        assert!(why.contains("3 times in a row"), "{why}");
        for _ in 0..20 {
            state.note_crash();
        }
        assert_eq!(state.note_crash(), LONGEST_PAUSE);
        assert!(state.trouble().unwrap().contains("down"));
    }

    #[tokio::test]
    async fn a_panicking_worker_is_restarted_and_counted() {
        let workers = Arc::new(Workers::default());
        let starts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let done = Arc::new(Mutex::new(Some(done)));
        let counted = starts.clone();
        workers.supervise("test", move |_| {
            let (starts, done) = (counted.clone(), done.clone());
            async move {
                if starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                if let Some(done) = done.lock().unwrap().take() {
                    let _ = done.send(());
                }
                std::future::pending::<()>().await;
            }
        });
        finished.await.unwrap();
        let mut text = String::new();
        workers.render(&mut text);
        assert!(
            text.contains("weir_worker_panics_total{worker=\"test\"} 1"),
            "{text}"
        );
        assert!(text.contains("weir_worker_up{worker=\"test\"} 1"), "{text}");
        assert!(workers.unready().is_empty(), "{:?}", workers.unready());
    }

    #[tokio::test]
    async fn a_caught_panic_says_what_it_was() {
        let caught = catching(async { panic!("at the disco {}", 7) }).await;
        assert_eq!(caught, Err::<(), _>("at the disco 7".into()));
        assert_eq!(catching(async { 5 }).await, Ok(5));
    }
}

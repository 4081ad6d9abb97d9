//! The threads JavaScript runs on. Handlers run on threads of their own, never on the
//! async runtime's: a handler burning CPU to its deadline cannot starve HTTP. Each thread
//! runs one invocation at a time in a runtime of its own (kept warm between invocations,
//! replaced after any that could leave something behind in it: see `warm.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::invocation::{Invocation, Outcome};
use crate::warm::WarmRuntime;

/// Deep enough that QuickJS's own stack limit always trips first.
const THREAD_STACK: usize = 16 * 1024 * 1024;

type Job = (Invocation, oneshot::Sender<Outcome>);

pub struct Sandbox {
    jobs: mpsc::Sender<Job>,
    threads: usize,
}

impl Sandbox {
    /// Starts `threads` JavaScript threads. Platform calls run on the current tokio
    /// runtime, so this must be called from within one.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let tokio = Handle::current();
        for index in 0..threads.max(1) {
            let (queue, tokio) = (queue.clone(), tokio.clone());
            std::thread::Builder::new()
                .name(format!("weir-js-{index}"))
                .stack_size(THREAD_STACK)
                .spawn(move || serve(&queue, &tokio))?;
        }
        Ok(Sandbox {
            jobs,
            threads: threads.max(1),
        })
    }

    /// How many invocations run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs the invocation on a JavaScript thread and returns its record.
    pub async fn run(&self, invocation: Invocation) -> Outcome {
        let (answer, outcome) = oneshot::channel();
        if self.jobs.send((invocation, answer)).is_err() {
            return Outcome::failed("the JavaScript threads have stopped");
        }
        outcome
            .await
            .unwrap_or_else(|_| Outcome::failed("the JavaScript thread stopped during the run"))
    }
}

/// A JavaScript thread: runs invocations one at a time until the sandbox is dropped.
fn serve(queue: &Mutex<mpsc::Receiver<Job>>, tokio: &Handle) {
    let mut warm: Option<WarmRuntime> = None;
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((invocation, answer)) = job else {
            return;
        };
        // A panic under a handler (in QuickJS's bindings or a host function) fails that
        // invocation alone: the thread goes on, with a new runtime.
        let ran = catch_unwind(AssertUnwindSafe(|| {
            crate::run::run(invocation, tokio, &mut warm)
        }));
        let outcome = ran.unwrap_or_else(|_| {
            warm = None;
            Outcome::failed("the JavaScript engine failed: it panicked running the handler")
        });
        let _ = answer.send(outcome);
    }
}

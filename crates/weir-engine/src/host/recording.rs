//! A host that keeps a log of the platform calls it answers: for `weir dev`, whose
//! simulator shows each outbound request and `$db` change a handler made.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir_sandbox::{Host, HostCall, HostResult};

/// One platform call: what the app asked and what it got.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub call: HostCall,
    pub answer: HostResult,
    pub duration: Duration,
}

/// The calls of one invocation, in the order they finished.
#[derive(Debug, Default)]
pub struct CallLog(Mutex<Vec<RecordedCall>>);

impl CallLog {
    pub fn take(&self) -> Vec<RecordedCall> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn push(&self, call: RecordedCall) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }
}

pub struct RecordingHost {
    inner: Arc<dyn Host>,
    log: Arc<CallLog>,
}

impl RecordingHost {
    pub fn new(inner: Arc<dyn Host>, log: Arc<CallLog>) -> Self {
        RecordingHost { inner, log }
    }
}

impl Host for RecordingHost {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        let answering = self.inner.call(call.clone());
        let log = self.log.clone();
        Box::pin(async move {
            let started = Instant::now();
            let answer = answering.await;
            log.push(RecordedCall {
                call,
                answer: answer.clone(),
                duration: started.elapsed(),
            });
            answer
        })
    }
}

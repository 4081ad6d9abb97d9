//! Waking the workers when work is stored: this node's at once, in memory, and every other
//! node's through the store (PostgreSQL `NOTIFY`), so that an event posted on one node
//! starts its handler on another without waiting for a poll. Announcements are coalesced:
//! one task sends them, one at a time, each naming every queue woken since the last, so a
//! burst of writes costs a handful of notifications, not one each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use weir_store::{Store, WorkQueue};

use crate::platform::Platform;
use crate::supervisor::Shutdown;

#[derive(Default)]
pub struct Wakeups {
    /// One per queue, in `WorkQueue::ALL` order.
    queues: [Notify; 4],
    unannounced: [AtomicBool; 4],
    announcer: Notify,
    announcing: OnceLock<()>,
}

impl Wakeups {
    /// What the worker of `queue` waits on.
    pub fn of(&self, queue: WorkQueue) -> &Notify {
        &self.queues[queue as usize]
    }

    /// Wakes this node's worker of `queue`, and tells the other nodes sharing `store`.
    pub fn wake(self: &Arc<Self>, store: &Arc<dyn Store>, queue: WorkQueue) {
        self.of(queue).notify_one();
        self.unannounced[queue as usize].store(true, Ordering::Release);
        self.announcing.get_or_init(|| {
            tokio::spawn(announce(self.clone(), store.clone()));
        });
        self.announcer.notify_one();
    }
}

/// Sends what was woken since the last announcement, until the process ends.
async fn announce(wakeups: Arc<Wakeups>, store: Arc<dyn Store>) {
    loop {
        wakeups.announcer.notified().await;
        let queues: Vec<WorkQueue> = WorkQueue::ALL
            .into_iter()
            .filter(|queue| wakeups.unannounced[*queue as usize].swap(false, Ordering::AcqRel))
            .collect();
        if queues.is_empty() {
            continue;
        }
        if let Err(error) = store.announce(&queues).await {
            // Other nodes find the work at their next look instead.
            tracing::warn!(%error, "stored work could not be announced to other nodes");
        }
    }
}

/// Hears what other nodes announce and wakes this node's workers, until shutdown;
/// supervised like a worker.
pub fn spawn_listener(platform: Arc<Platform>) {
    let workers = platform.workers.clone();
    workers.supervise("listener", move |shutdown| {
        listen(platform.clone(), shutdown)
    });
}

async fn listen(platform: Arc<Platform>, shutdown: Shutdown) {
    let wakeups = platform.wakeups.clone();
    let heard = move |queue: WorkQueue| wakeups.of(queue).notify_one();
    loop {
        tokio::select! {
            ended = platform.store.listen(&heard) => {
                if let Err(error) = ended {
                    tracing::warn!(%error, "cannot hear other nodes' work; listening again");
                }
            }
            _ = shutdown.requested() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.requested() => return,
        }
    }
}

//! The one loop every queue of durable work runs (jobs, deliveries, schedules, connector
//! refreshes): claim as much due work as there is room for → run each piece in a task of
//! its own, which records its outcome → sleep until the next piece is due, or until the
//! queue is woken (work stored on this node, or announced by another).
//!
//! A claim is a lease in the store. While a piece runs, its lease is extended every third
//! of a lease (a heartbeat), so leases are short and the work of a node that died is taken
//! over by the others within one lease. A piece that panics is caught, counted, and handed
//! to its queue to release. On shutdown the loop stops claiming, lets the pieces in flight
//! finish until the drain time ends, and gives back what still runs then, so that another
//! node (or the next start) takes it at once instead of after its lease.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use weir_store::{Lease, Store, StoreError, WorkQueue};

use crate::platform::Platform;
use crate::supervisor::{Shutdown, Workers};

/// Pieces claimed per round, at most.
const BATCH: usize = 64;

/// A queue of durable work, as its worker sees it.
pub(crate) trait Queue: Send + Sync + Sized + 'static {
    /// One piece of claimed work (one row, or several that go together).
    type Work: Send + Sync + 'static;
    /// The worker's name in logs, `/metrics` and `/readyz`.
    const NAME: &'static str;
    /// Whose rows the leases are.
    const QUEUE: WorkQueue;
    /// The test-only place that makes a round panic (`fail_points`).
    const ROUND_FAIL_POINT: &'static str;
    /// How long a claim holds unless its worker extends it.
    const LEASE: SignedDuration = SignedDuration::from_secs(10);
    /// The longest sleep: work that no announcement told of is seen at least this often.
    const MAX_SLEEP: Duration;

    fn platform(&self) -> &Platform;

    fn store(&self) -> &Arc<dyn Store> {
        &self.platform().store
    }

    fn workers(&self) -> &Arc<Workers> {
        &self.platform().workers
    }

    /// Signalled when work of this queue is stored, on any node.
    fn woken(&self) -> &Notify {
        self.platform().wakeups.of(Self::QUEUE)
    }

    /// Pieces in flight at most.
    fn capacity(&self) -> usize;
    /// Claims up to `limit` rows due at `now` until `lease_until`, as pieces; says too
    /// whether the store had as many rows as asked (then more may be due).
    fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Self::Work>, bool), StoreError>> + Send;
    /// The keys of the rows a piece holds.
    fn keys(&self, work: &Self::Work) -> Vec<(String, String)>;
    /// Runs a piece and records its outcome; says whether that may have let other work
    /// become due (then the loop looks again at once).
    fn run(&self, work: &Self::Work) -> impl Future<Output = bool> + Send;
    /// Releases a piece whose run panicked.
    fn after_panic(&self, work: &Self::Work, panic: &str) -> impl Future<Output = ()> + Send;
    /// Gives back a piece that was still running when the drain time ended: by default
    /// its leases end now, so that it is due again at once.
    fn give_back(&self, _work: &Self::Work, leases: &[Lease]) -> impl Future<Output = ()> + Send {
        async move {
            if let Err(error) = self.store().extend_leases(leases, weir_core::now()).await {
                tracing::warn!(%error, worker = Self::NAME, "a claim could not be given back; it runs out");
            }
        }
    }
    /// When the next row is due, or its lease runs out.
    fn next_due(&self) -> impl Future<Output = Result<Option<Timestamp>, StoreError>> + Send;
}

/// The pieces in flight, with the leases they hold, for heartbeats and the give-back.
struct InFlight<W> {
    next: AtomicU64,
    pieces: Mutex<Pieces<W>>,
}

/// Each piece in flight, by a number of its own, with its leases.
type Pieces<W> = HashMap<u64, (Arc<W>, Vec<Lease>)>;

impl<W> InFlight<W> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pieces<W>> {
        self.pieces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs the queue's loop until a shutdown has been drained.
pub(crate) async fn work<Q: Queue>(queue: Arc<Q>, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(queue.capacity()));
    let in_flight = Arc::new(InFlight {
        next: AtomicU64::new(0),
        pieces: Mutex::default(),
    });
    let mut tasks = JoinSet::new();
    let mut heartbeat = tokio::time::interval(heartbeat_every::<Q>());
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Registered before looking, so a wake-up during the round is not lost.
        let woken = queue.woken().notified();
        tokio::pin!(woken);
        let sleep = match round(&queue, &slots, &in_flight, &mut tasks, woken.as_mut()).await {
            Ok(sleep) => sleep,
            Err(error) => {
                tracing::error!(%error, worker = Q::NAME, "a worker could not reach the store");
                Q::MAX_SLEEP
            }
        };
        let sleeping = tokio::time::sleep(sleep);
        tokio::pin!(sleeping);
        loop {
            tokio::select! {
                () = &mut sleeping => break,
                () = &mut woken => break,
                _ = heartbeat.tick() => extend_leases(&*queue, &in_flight).await,
                Some(_) = tasks.join_next() => {}
                deadline = shutdown.requested() => {
                    drain(&*queue, &in_flight, tasks, heartbeat, deadline).await;
                    return;
                }
            }
        }
    }
}

/// A third of a lease: a lease is extended twice before it could run out.
fn heartbeat_every<Q: Queue>() -> Duration {
    Duration::try_from(Q::LEASE / 3).unwrap_or(Duration::from_secs(1))
}

/// Claims what there is room for and starts it; returns how long to sleep. Claiming only
/// what can start at once keeps a backlog in the store, unclaimed, for any node to take.
/// A full claim means more may be due: the loop comes back at once, after its heartbeat,
/// joins and shutdown have had their turn (a round that claimed on while work kept
/// finishing starved them for a whole drain).
async fn round<Q: Queue>(
    queue: &Arc<Q>,
    slots: &Arc<Semaphore>,
    in_flight: &Arc<InFlight<Q::Work>>,
    tasks: &mut JoinSet<()>,
    woken: Pin<&mut Notified<'_>>,
) -> Result<Duration, StoreError> {
    crate::fail_points::check(Q::ROUND_FAIL_POINT);
    let free = slots.available_permits().min(BATCH);
    if free == 0 {
        // A finishing piece wakes the loop when half the slots are free again.
        return Ok(Q::MAX_SLEEP);
    }
    let now = weir_core::now();
    let lease_until = now + Q::LEASE;
    let (claimed, full) = queue.claim(now, lease_until, free).await?;
    for work in claimed {
        let leases = leases::<Q>(queue.keys(&work), lease_until);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // The store gave more than was asked for: a bug, but no reason to hold
            // work nobody runs until its lease ends.
            tracing::error!(
                worker = Q::NAME,
                "more was claimed than there is room for; it is given back"
            );
            queue.give_back(&work, &leases).await;
            continue;
        };
        let work = Arc::new(work);
        let id = in_flight.next.fetch_add(1, Ordering::Relaxed);
        in_flight.lock().insert(id, (work.clone(), leases));
        let (queue, slots, in_flight) = (queue.clone(), slots.clone(), in_flight.clone());
        start(tasks, async move {
            let wakes = match crate::supervisor::catching(queue.run(&work)).await {
                Ok(wakes) => wakes,
                Err(panic) => {
                    let keys = queue.keys(&work);
                    let what = keys.first().map(|(a, b)| format!("{a}/{b}"));
                    let what = what.unwrap_or_default();
                    queue.workers().note_task_panic(Q::NAME, &panic, &what);
                    queue.after_panic(&work, &panic).await;
                    true
                }
            };
            in_flight.lock().remove(&id);
            drop(slot);
            let half_free = slots.available_permits() == queue.capacity() / 2;
            if wakes || half_free {
                queue.woken().notify_one();
            }
        });
    }
    // Work stored during the round (a wake-up already waiting) is claimed at once, without
    // asking when the next is due: under a steady flow, one round trip fewer a round.
    if full || woken.now_or_never().is_some() {
        return Ok(Duration::ZERO);
    }
    // Everything claimable was claimed: sleep until the next is due (or a lease runs out).
    // One due already waits for something (an earlier delivery of its FIFO subscription):
    // what ends that wakes the loop; a piece stored meanwhile woke it too.
    let now = weir_core::now();
    Ok(match queue.next_due().await? {
        Some(due) if due > now => Duration::try_from(due.duration_since(now))
            .unwrap_or(Duration::ZERO)
            .min(Q::MAX_SLEEP),
        _ => Q::MAX_SLEEP,
    })
}

/// Starts a piece's task, after joining those that finished. A finished task keeps its
/// memory until joined, and a busy queue is woken to claim more long before its loop
/// sleeps and joins: unreaped, a drain of a million deliveries held a million finished
/// tasks (gigabytes).
fn start(tasks: &mut JoinSet<()>, task: impl Future<Output = ()> + Send + 'static) {
    while tasks.try_join_next().is_some() {}
    tasks.spawn(task);
}

fn leases<Q: Queue>(keys: Vec<(String, String)>, until: Timestamp) -> Vec<Lease> {
    keys.into_iter()
        .map(|key| Lease {
            queue: Q::QUEUE,
            key,
            until,
        })
        .collect()
}

/// The heartbeat: every lease in flight that would end within two thirds of a lease is
/// moved to a full lease from now.
async fn extend_leases<Q: Queue>(queue: &Q, in_flight: &InFlight<Q::Work>) {
    let now = weir_core::now();
    let soon = now + Q::LEASE * 2 / 3;
    let due: Vec<(u64, Lease)> = in_flight
        .lock()
        .iter()
        .flat_map(|(id, (_, leases))| leases.iter().map(move |lease| (*id, lease.clone())))
        .filter(|(_, lease)| lease.until <= soon)
        .collect();
    if due.is_empty() {
        return;
    }
    let until = now + Q::LEASE;
    let leases: Vec<Lease> = due.iter().map(|(_, lease)| lease.clone()).collect();
    let extended = match queue.store().extend_leases(&leases, until).await {
        Ok(extended) => extended,
        Err(error) => {
            // The leases may run out, and the work run again elsewhere: at least once.
            tracing::warn!(%error, worker = Q::NAME, "leases of work in flight could not be extended");
            return;
        }
    };
    let mut pieces = in_flight.lock();
    for ((id, lease), applied) in due.into_iter().zip(extended) {
        let Some((_, held)) = pieces.get_mut(&id) else {
            continue;
        };
        if applied && let Some(held) = held.iter_mut().find(|held| held.key == lease.key) {
            held.until = until;
        }
    }
}

/// After a shutdown was asked for: no more claims; the pieces in flight run on (their
/// leases kept) until the deadline; what still runs then is stopped and given back.
async fn drain<Q: Queue>(
    queue: &Q,
    in_flight: &InFlight<Q::Work>,
    mut tasks: JoinSet<()>,
    mut heartbeat: tokio::time::Interval,
    deadline: tokio::time::Instant,
) {
    let running = tasks.len();
    if running > 0 {
        tracing::info!(worker = Q::NAME, running, "finishing the work in flight");
    }
    let deadline = tokio::time::sleep_until(deadline);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            joined = tasks.join_next() => if joined.is_none() { return },
            _ = heartbeat.tick() => extend_leases(queue, in_flight).await,
        }
    }
    tasks.shutdown().await;
    let unfinished: Vec<_> = in_flight.lock().drain().map(|(_, piece)| piece).collect();
    tracing::warn!(
        worker = Q::NAME,
        given_back = unfinished.len(),
        "work still running when the drain time ended is given back"
    );
    for (work, leases) in unfinished {
        queue.give_back(&work, &leases).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finished_tasks_are_joined_as_new_ones_start() {
        let mut tasks = JoinSet::new();
        for _ in 0..10_000 {
            start(&mut tasks, async {});
            tokio::task::yield_now().await; // the task runs and finishes
        }
        assert!(
            tasks.len() <= 2,
            "{} finished tasks are still held",
            tasks.len()
        );
    }
}

//! Leases on claimed work, and word between nodes that work was stored.
//!
//! A claim leases its rows until a moment (`run_at` of a job or a delivery, `claimed_until`
//! of a schedule, `refresh_at` of a connector refresh): another node may claim a row again
//! once its lease has run out. A worker that is still running a piece extends its lease
//! (a heartbeat), so leases can be short, and the work of a node that died is taken over
//! within one lease. An extension applies only while the row still holds the lease the
//! worker knows of, so it never touches a row that was finished or claimed again.

use jiff::Timestamp;

use crate::params::Param;
use crate::rows;

/// The queues of claimable work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkQueue {
    Jobs,
    Deliveries,
    Schedules,
    Refreshes,
}

impl WorkQueue {
    pub const ALL: [WorkQueue; 4] = [
        WorkQueue::Jobs,
        WorkQueue::Deliveries,
        WorkQueue::Schedules,
        WorkQueue::Refreshes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkQueue::Jobs => "jobs",
            WorkQueue::Deliveries => "deliveries",
            WorkQueue::Schedules => "schedules",
            WorkQueue::Refreshes => "refreshes",
        }
    }

    pub fn parse(name: &str) -> Option<WorkQueue> {
        WorkQueue::ALL
            .into_iter()
            .find(|queue| queue.as_str() == name)
    }
}

/// One queue's work, as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: WorkQueue,
    /// Rows waiting: due, due later, or in flight.
    pub waiting: u64,
    /// Of those, the ones due now.
    pub due: u64,
    /// The earliest due time among them (a row in flight counts at its lease's end).
    pub earliest: Option<Timestamp>,
}

/// One claimed row's lease: its queue, its key, and when the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub queue: WorkQueue,
    /// The row's two-part key: (event, installation) of a job, (event, subscription) of a
    /// delivery, (installation, name) of a schedule, (installation, event key) of a refresh.
    pub key: (String, String),
    pub until: Timestamp,
}

/// `$1`, `$2` the key, `$3` the lease held, `$4` the new end.
const EXTEND_JOB: &str = "UPDATE jobs SET run_at = $4 \
    WHERE event_id = $1 AND installation_id = $2 AND status = 'pending' AND run_at = $3";
const EXTEND_DELIVERY: &str = "UPDATE deliveries SET run_at = $4 \
    WHERE event_id = $1 AND subscription_id = $2 AND status = 'pending' AND run_at = $3";
const EXTEND_SCHEDULE: &str = "UPDATE schedules SET claimed_until = $4 \
    WHERE installation_id = $1 AND name = $2 AND claimed_until = $3";
const EXTEND_REFRESH: &str = "UPDATE connector_subscriptions SET refresh_at = $4 \
    WHERE installation_id = $1 AND event_key = $2 AND refresh_at = $3";

/// The statement that moves `lease` to end at `until`.
pub(crate) fn extension(lease: &Lease, until: Timestamp) -> (&'static str, Vec<Param>) {
    let statement = match lease.queue {
        WorkQueue::Jobs => EXTEND_JOB,
        WorkQueue::Deliveries => EXTEND_DELIVERY,
        WorkQueue::Schedules => EXTEND_SCHEDULE,
        WorkQueue::Refreshes => EXTEND_REFRESH,
    };
    let params = vec![
        lease.key.0.as_str().into(),
        lease.key.1.as_str().into(),
        rows::millis(lease.until).into(),
        rows::millis(until).into(),
    ];
    (statement, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_round_trip() {
        for queue in WorkQueue::ALL {
            assert_eq!(WorkQueue::parse(queue.as_str()), Some(queue));
        }
        assert_eq!(WorkQueue::parse("nothing"), None);
    }
}

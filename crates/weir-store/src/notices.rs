//! Operational events in the store: each is stored as an event of the instance account
//! with one delivery per operational webhook that takes its type, in the transaction of
//! the change it tells of, and only if that change took (a guard in SQL, so that two
//! nodes making the same change at once tell it once).

use jiff::SignedDuration;
use weir_core::{Delivery, DeliveryStatus, OperationalEvent, SubscriptionId};

use crate::params::{self, Param};
use crate::rows;
use crate::sql;

/// An operational event to tell, and how often it may be told.
#[derive(Debug, Clone)]
pub struct Notice {
    pub event: OperationalEvent,
    /// `None`: each time (the change it tells of happens once).
    pub debounce: Option<Debounce>,
}

/// At most one operational event about `subject` per `window`.
#[derive(Debug, Clone)]
pub struct Debounce {
    /// What it is about, e.g. `app.handler_failing:<installation>`.
    pub subject: String,
    pub window: SignedDuration,
}

impl Notice {
    /// Told each time.
    pub fn each_time(event: OperationalEvent) -> Self {
        Notice {
            event,
            debounce: None,
        }
    }

    /// Told at most once per `window` about `subject`.
    pub fn debounced(event: OperationalEvent, subject: String, window: SignedDuration) -> Self {
        Notice {
            event,
            debounce: Some(Debounce { subject, window }),
        }
    }
}

/// What must have happened in the same transaction for a notice to be told.
pub(crate) enum Guard<'a> {
    /// Nothing: the caller tells it once.
    None,
    /// The disable of this subscription took (it set `disabled_notice` to this mark).
    Disabled(&'a SubscriptionId, &'a str),
    /// The claimed delivery's outcome was recorded, ending it in this status.
    Recorded(&'a Delivery, DeliveryStatus),
}

/// The statements that tell `notice`, to run after the change `guard` names; `lock_fifo`
/// is the backend's `LOCK_FIFO`, which FIFO operational webhooks' numbering needs.
pub(crate) fn statements(
    notice: &Notice,
    guard: Guard<'_>,
    lock_fifo: Option<&'static str>,
) -> Vec<(&'static str, Vec<Param>)> {
    let event = notice.event.as_stored_event();
    let row = params::product_event(&event);
    let mut statements = Vec::new();
    if let Some(lock) = lock_fifo {
        let key = vec![event.account_id.as_str().into(), event.name.as_str().into()];
        statements.push((lock, key));
    }
    let insert = match (&notice.debounce, guard) {
        (Some(debounce), _) => {
            let at = rows::millis(notice.event.at);
            let window_start = rows::millis(notice.event.at - debounce.window);
            statements.push((
                sql::MARK_NOTICE,
                vec![
                    debounce.subject.as_str().into(),
                    event.id.as_str().into(),
                    at.into(),
                    window_start.into(),
                ],
            ));
            let mut guarded = row;
            guarded.push(debounce.subject.as_str().into());
            (sql::NOTICE_IF_MARKED, guarded)
        }
        (None, Guard::None) => (sql::INSERT_EVENT, row),
        (None, Guard::Disabled(subscription, mark)) => {
            let mut guarded = row;
            guarded.extend([subscription.as_str().into(), mark.into()]);
            (sql::NOTICE_IF_DISABLED, guarded)
        }
        (None, Guard::Recorded(delivery, status)) => {
            let mut guarded = row;
            guarded.extend([
                delivery.event_id.as_str().into(),
                delivery.subscription_id.as_str().into(),
                i64::from(delivery.generation).into(),
                status.as_str().into(),
            ]);
            (sql::NOTICE_IF_RECORDED, guarded)
        }
    };
    statements.push(insert);
    statements.push((
        sql::INSERT_NOTICE_DELIVERIES,
        vec![
            event.id.as_str().into(),
            event.account_id.as_str().into(),
            event.name.as_str().into(),
            rows::millis(notice.event.at).into(),
        ],
    ));
    statements
}

//! Creating and replacing schedules: the rules on names and limits, written once for both
//! backends. A backend reads the installation's [`ScheduleCounts`] and makes the write in
//! one transaction (SQLite's single writer; PostgreSQL after locking the installation's
//! row), so two writes can never both take an installation's last free place.

use weir_core::{Schedule, ScheduleLimits};

use crate::params::{self, Param};
use crate::{ScheduleWrite, sql};

/// One-time or recurring: each kind has its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    OneTime,
    Recurring,
}

impl Kind {
    fn of(schedule: &Schedule) -> Self {
        match schedule.spec.repeat {
            None => Kind::OneTime,
            Some(_) => Kind::Recurring,
        }
    }

    /// As `SCHEDULE_COUNTS` names it.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "one_time" => Some(Kind::OneTime),
            "recurring" => Some(Kind::Recurring),
            _ => None,
        }
    }
}

/// An installation's schedules, as far as a write needs to know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScheduleCounts {
    pub one_time: i64,
    pub recurring: i64,
    /// The kind of the schedule that has the written name, if there is one.
    pub named: Option<Kind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Insert,
    Update,
}

/// A schedule write, ready to run: what to check, and the statement that writes.
pub struct ScheduleChange {
    mode: Mode,
    kind: Kind,
    limits: ScheduleLimits,
    installation: String,
    name: String,
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
}

impl ScheduleChange {
    pub(crate) fn insert(schedule: &Schedule, limits: &ScheduleLimits) -> Self {
        Self::new(
            Mode::Insert,
            schedule,
            limits,
            sql::INSERT_SCHEDULE,
            params::new_schedule(schedule),
        )
    }

    pub(crate) fn update(schedule: &Schedule, limits: &ScheduleLimits) -> Self {
        Self::new(
            Mode::Update,
            schedule,
            limits,
            sql::UPDATE_SCHEDULE,
            params::schedule_update(schedule),
        )
    }

    fn new(
        mode: Mode,
        schedule: &Schedule,
        limits: &ScheduleLimits,
        sql: &'static str,
        params: Vec<Param>,
    ) -> Self {
        ScheduleChange {
            mode,
            kind: Kind::of(schedule),
            limits: *limits,
            installation: schedule.installation_id.as_str().to_owned(),
            name: schedule.spec.name.clone(),
            sql,
            params,
        }
    }

    /// For `LOCK_INSTALLATION`.
    pub(crate) fn lock_params(&self) -> Vec<Param> {
        vec![self.installation.as_str().into()]
    }

    /// For `SCHEDULE_COUNTS`.
    pub(crate) fn counts_params(&self) -> Vec<Param> {
        vec![self.installation.as_str().into(), self.name.as_str().into()]
    }

    /// Why the write must not happen, given what the installation has; `None` if it may.
    /// A schedule that keeps its kind keeps its place, so an update is refused for a
    /// limit only when it turns one kind into the other.
    pub(crate) fn refusal(&self, counts: &ScheduleCounts) -> Option<ScheduleWrite> {
        match (self.mode, counts.named) {
            (Mode::Insert, Some(_)) => return Some(ScheduleWrite::NameTaken),
            (Mode::Update, None) => return Some(ScheduleWrite::NotFound),
            (_, Some(kind)) if kind == self.kind => return None,
            _ => {}
        }
        let (taken, limit, refusal) = match self.kind {
            Kind::OneTime => (
                counts.one_time,
                self.limits.max_one_time,
                ScheduleWrite::OneTimeLimit,
            ),
            Kind::Recurring => (
                counts.recurring,
                self.limits.max_recurring,
                ScheduleWrite::RecurringLimit,
            ),
        };
        (taken >= i64::from(limit)).then_some(refusal)
    }

    /// The outcome, from how many rows the statement changed. None changed means that a
    /// concurrent write got there first: on PostgreSQL a delete does not wait for the
    /// installation's lock, so the schedule an update counted on may be gone.
    pub(crate) fn outcome(&self, changed: u64) -> ScheduleWrite {
        match (changed, self.mode) {
            (0, Mode::Insert) => ScheduleWrite::NameTaken,
            (0, Mode::Update) => ScheduleWrite::NotFound,
            _ => ScheduleWrite::Written,
        }
    }
}

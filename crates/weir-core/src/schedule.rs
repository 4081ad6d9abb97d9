//! `$schedule`: what an app asks for, checked against the platform's rules (REFERENCE §1),
//! and when a schedule runs next.
//!
//! A one-time schedule runs once at `schedule_at`; a recurring one runs at `schedule_at`
//! and then every `frequency` `time_unit`s. Days are counted on the wall clock of the
//! schedule's `timezone` (UTC by default), so "every day at 09:00" stays at 09:00 across
//! daylight-saving changes; minutes and hours are plain durations.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::InstallationId;

/// A schedule as kept by the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub installation_id: InstallationId,
    pub spec: ScheduleSpec,
    /// When it runs next.
    pub next_run_at: Timestamp,
    /// Bumped by every change, so that a run finishing late cannot undo an update.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What the app asked for: `{name, data, schedule_at, repeat?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleSpec {
    pub name: String,
    pub data: Map<String, Value>,
    /// As the app wrote it; `fetch` gives it back unchanged.
    pub schedule_at: String,
    pub first_run: Timestamp,
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repeat {
    pub time_unit: TimeUnit,
    pub frequency: u32,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Minutes => "minutes",
            TimeUnit::Hours => "hours",
            TimeUnit::Days => "days",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [TimeUnit::Minutes, TimeUnit::Hours, TimeUnit::Days]
            .into_iter()
            .find(|unit| unit.as_str() == value)
    }

    /// The platform's maximum frequency: every 60 minutes, 24 hours or 30 days.
    fn max_frequency(self) -> u32 {
        match self {
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 24,
            TimeUnit::Days => 30,
        }
    }
}

/// The rules on schedules, with the platform's figures as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleLimits {
    /// How far ahead a one-time schedule must be at least (Freshworks: 5 minutes).
    pub min_lead: Duration,
    /// How far ahead any schedule may start at most (1 year).
    pub max_ahead: Duration,
    pub max_one_time: u32,
    pub max_recurring: u32,
    /// Bytes of `data`, as JSON.
    pub max_data_bytes: usize,
}

impl Default for ScheduleLimits {
    fn default() -> Self {
        ScheduleLimits {
            min_lead: Duration::from_secs(5 * 60),
            max_ahead: Duration::from_secs(366 * 24 * 60 * 60),
            max_one_time: 1000,
            max_recurring: 1,
            max_data_bytes: 4 * 1024,
        }
    }
}

const MAX_NAME_CHARS: usize = 30;

/// The `name` of `delete({name})` and `fetch({name})`, or the message saying what is wrong.
pub fn schedule_name(given: &Value) -> Result<String, String> {
    let name = match given.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        _ => return Err("name is required and must be a non-blank string".into()),
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "name must be at most {MAX_NAME_CHARS} characters, got {}",
            name.chars().count()
        ));
    }
    Ok(name.clone())
}

impl ScheduleSpec {
    /// Checks what `create` or `update` was given. Errors are messages for a 400.
    pub fn parse(given: &Value, now: Timestamp, limits: &ScheduleLimits) -> Result<Self, String> {
        if !given.is_object() {
            return Err("the schedule must be an object with name, data and schedule_at".into());
        }
        let name = schedule_name(given)?;
        let data = match given.get("data") {
            Some(Value::Object(data)) => data.clone(),
            _ => return Err("data is required and must be a JSON object".into()),
        };
        let size = Value::Object(data.clone()).to_string().len();
        if size > limits.max_data_bytes {
            return Err(format!(
                "data must be at most {} bytes as JSON, got {size}",
                limits.max_data_bytes
            ));
        }
        let repeat = match given.get("repeat") {
            None | Some(Value::Null) => None,
            Some(repeat) => Some(parse_repeat(repeat)?),
        };
        let Some(Value::String(schedule_at)) = given.get("schedule_at") else {
            return Err(
                "schedule_at is required: an ISO 8601 date-time such as 2026-11-25T10:00:00.000Z"
                    .into(),
            );
        };
        let zone = repeat.as_ref().and_then(|r| r.timezone.as_deref());
        let first_run = parse_instant(schedule_at, zone)?;
        let lead = first_run.duration_since(now);
        if repeat.is_none() && lead < SignedDuration::try_from(limits.min_lead).unwrap_or_default()
        {
            return Err(format!(
                "schedule_at must be at least {} in the future for a one-time schedule",
                words(limits.min_lead)
            ));
        }
        if lead > SignedDuration::try_from(limits.max_ahead).unwrap_or(SignedDuration::MAX) {
            return Err(format!(
                "schedule_at must be at most {} in the future",
                words(limits.max_ahead)
            ));
        }
        Ok(ScheduleSpec {
            name,
            data,
            schedule_at: schedule_at.clone(),
            first_run,
            repeat,
        })
    }

    /// As `fetch` answers it: `{name, data, schedule_at, repeat?}`.
    pub fn to_json(&self) -> Value {
        let mut spec = json!({
            "name": self.name,
            "data": self.data,
            "schedule_at": self.schedule_at,
        });
        if let Some(repeat) = &self.repeat {
            spec["repeat"] = json!({"time_unit": repeat.time_unit, "frequency": repeat.frequency});
            if let Some(zone) = &repeat.timezone {
                spec["repeat"]["timezone"] = json!(zone);
            }
        }
        spec
    }

    /// The first run strictly after `after`: `None` for a one-time schedule whose time
    /// has passed.
    pub fn next_run_after(&self, after: Timestamp) -> Option<Timestamp> {
        if self.first_run > after {
            return Some(self.first_run);
        }
        let repeat = self.repeat.as_ref()?;
        let frequency = i64::from(repeat.frequency);
        if repeat.time_unit == TimeUnit::Days {
            return next_day_run(self.first_run, repeat, after);
        }
        let period = match repeat.time_unit {
            TimeUnit::Minutes => SignedDuration::from_mins(frequency),
            _ => SignedDuration::from_hours(frequency),
        };
        let elapsed = after.duration_since(self.first_run).as_millis();
        let periods = elapsed / period.as_millis() + 1;
        let millis = self.first_run.as_millisecond() + (periods as i64) * period.as_millis() as i64;
        Timestamp::from_millisecond(millis).ok()
    }

    pub fn is_recurring(&self) -> bool {
        self.repeat.is_some()
    }
}

/// Every `frequency` days on the wall clock of the schedule's time zone.
fn next_day_run(first: Timestamp, repeat: &Repeat, after: Timestamp) -> Option<Timestamp> {
    let zone = zone(repeat.timezone.as_deref())?;
    let start = first.to_zoned(zone);
    let frequency = i64::from(repeat.frequency);
    // Jump close with whole days, then step: DST makes some days 23 or 25 hours long.
    let days = after.duration_since(first).as_hours() / 24;
    let mut periods = (days / frequency).max(0);
    loop {
        let candidate = start
            .checked_add(Span::new().days(periods * frequency))
            .ok()?;
        if candidate.timestamp() > after {
            return Some(candidate.timestamp());
        }
        periods += 1;
    }
}

fn parse_repeat(repeat: &Value) -> Result<Repeat, String> {
    if !repeat.is_object() {
        return Err("repeat must be an object with time_unit and frequency".into());
    }
    let time_unit = repeat
        .get("time_unit")
        .and_then(Value::as_str)
        .and_then(TimeUnit::parse)
        .ok_or("repeat.time_unit must be one of minutes, hours, days")?;
    let max = time_unit.max_frequency();
    let frequency = repeat
        .get("frequency")
        .and_then(Value::as_u64)
        .filter(|f| (1..=u64::from(max)).contains(f))
        .ok_or_else(|| {
            format!(
                "repeat.frequency must be a whole number from 1 to {max} for {}",
                time_unit.as_str()
            )
        })? as u32;
    let timezone = match repeat.get("timezone") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if zone(Some(name)).is_some() => Some(name.clone()),
        Some(other) => {
            return Err(format!(
                "repeat.timezone must be an IANA time zone such as Europe/Paris, got {other}"
            ));
        }
    };
    Ok(Repeat {
        time_unit,
        frequency,
        timezone,
    })
}

fn zone(name: Option<&str>) -> Option<TimeZone> {
    match name {
        None => Some(TimeZone::UTC),
        Some(name) => TimeZone::get(name).ok(),
    }
}

/// An ISO 8601 instant; one without an offset is read in the schedule's time zone.
fn parse_instant(text: &str, zone_name: Option<&str>) -> Result<Timestamp, String> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let invalid = || {
        format!(
            "schedule_at must be an ISO 8601 date-time such as 2026-11-25T10:00:00.000Z, got {text:?}"
        )
    };
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| invalid())?;
    let zone = zone(zone_name).ok_or_else(invalid)?;
    civil
        .to_zoned(zone)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| invalid())
}

/// "5 minutes", "1 year": how limits read in messages.
fn words(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s >= 365 * 24 * 3600 => format!(
            "{} year{}",
            s / (365 * 24 * 3600),
            plural(s / (365 * 24 * 3600))
        ),
        s if s >= 60 && s % 60 == 0 => format!("{} minute{}", s / 60, plural(s / 60)),
        s => format!("{s} second{}", plural(s)),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn parse(given: Value) -> Result<ScheduleSpec, String> {
        ScheduleSpec::parse(
            &given,
            at("2026-01-10T12:00:00Z"),
            &ScheduleLimits::default(),
        )
    }

    #[test]
    fn a_one_time_schedule_runs_once() {
        let spec = parse(json!({"name": "remind", "data": {"id": 1},
                                "schedule_at": "2026-01-10T12:10:00.000Z"}))
        .unwrap();
        assert_eq!(spec.first_run, at("2026-01-10T12:10:00Z"));
        assert_eq!(
            spec.next_run_after(at("2026-01-10T12:00:00Z")),
            Some(spec.first_run)
        );
        assert_eq!(spec.next_run_after(spec.first_run), None);
        assert_eq!(
            spec.to_json(),
            json!({"name": "remind", "data": {"id": 1}, "schedule_at": "2026-01-10T12:10:00.000Z"})
        );
    }

    #[test]
    fn recurring_schedules_step_by_their_period() {
        let spec = parse(json!({"name": "poll", "data": {},
            "schedule_at": "2026-01-10T11:00:00Z",
            "repeat": {"time_unit": "minutes", "frequency": 15}}))
        .unwrap();
        assert_eq!(
            spec.next_run_after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-10T12:15:00Z"))
        );
        assert_eq!(
            spec.next_run_after(at("2026-01-10T12:14:59Z")),
            Some(at("2026-01-10T12:15:00Z"))
        );
        let hourly = parse(
            json!({"name": "h", "data": {}, "schedule_at": "2026-01-10T12:30:00Z",
            "repeat": {"time_unit": "hours", "frequency": 2}}),
        )
        .unwrap();
        assert_eq!(
            hourly.next_run_after(at("2026-01-10T12:30:00Z")),
            Some(at("2026-01-10T14:30:00Z"))
        );
    }

    #[test]
    fn daily_schedules_keep_the_wall_clock_across_daylight_saving() {
        let spec = parse(json!({"name": "daily", "data": {},
            "schedule_at": "2026-03-27T09:00:00",
            "repeat": {"time_unit": "days", "frequency": 1, "timezone": "Europe/Paris"}}))
        .unwrap();
        // Clocks go forward on 29 March 2026 in Paris: 09:00 is 08:00Z before, 07:00Z after.
        assert_eq!(spec.first_run, at("2026-03-27T08:00:00Z"));
        assert_eq!(
            spec.next_run_after(at("2026-03-28T08:00:00Z")),
            Some(at("2026-03-29T07:00:00Z"))
        );
    }

    #[test]
    fn refuses_what_the_platform_refuses() {
        let cases = [
            (json!("x"), "must be an object"),
            (
                json!({"data": {}, "schedule_at": "2026-01-10T13:00:00Z"}),
                "name is required",
            ),
            (
                json!({"name": "x".repeat(31), "data": {}, "schedule_at": "2026-01-10T13:00:00Z"}),
                "at most 30 characters",
            ),
            (
                json!({"name": "n", "data": [1], "schedule_at": "2026-01-10T13:00:00Z"}),
                "data is required",
            ),
            (
                json!({"name": "n", "data": {"x": "y".repeat(5000)}, "schedule_at": "2026-01-10T13:00:00Z"}),
                "at most 4096 bytes",
            ),
            (json!({"name": "n", "data": {}}), "schedule_at is required"),
            (
                json!({"name": "n", "data": {}, "schedule_at": "tomorrow"}),
                "ISO 8601",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T12:04:00Z"}),
                "at least 5 minutes in the future",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2027-06-10T12:04:00Z"}),
                "at most 1 year",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T13:00:00Z", "repeat": {"time_unit": "weeks", "frequency": 1}}),
                "time_unit",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T13:00:00Z", "repeat": {"time_unit": "minutes", "frequency": 61}}),
                "from 1 to 60 for minutes",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T13:00:00Z", "repeat": {"time_unit": "hours", "frequency": 25}}),
                "from 1 to 24 for hours",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T13:00:00Z", "repeat": {"time_unit": "days", "frequency": 0}}),
                "from 1 to 30 for days",
            ),
            (
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-10T13:00:00Z", "repeat": {"time_unit": "days", "frequency": 1, "timezone": "Mars/Olympus"}}),
                "IANA time zone",
            ),
        ];
        for (given, expected) in cases {
            let error = parse(given.clone()).unwrap_err();
            assert!(error.contains(expected), "{given}: {error}");
        }
        // A recurring schedule may start in the past: it runs at its next period.
        assert!(
            parse(
                json!({"name": "n", "data": {}, "schedule_at": "2026-01-01T00:00:00Z",
            "repeat": {"time_unit": "hours", "frequency": 1}})
            )
            .is_ok()
        );
    }
}

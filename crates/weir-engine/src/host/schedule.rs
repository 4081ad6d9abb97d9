//! `$schedule.create/update/delete/fetch` (REFERENCE §1): the rules are
//! `weir_core::schedule`'s; schedules live in the store, and the scheduler fires them.

use serde_json::{Value, json};
use weir_core::schedule::schedule_name;
use weir_core::{Schedule, ScheduleSpec};
use weir_sandbox::{HostError, HostResult, ScheduleCall, ScheduleOperation};
use weir_store::ScheduleWrite;

use super::CallContext;
use crate::platform::Platform;

const NOT_FOUND: &str = "Schedule does not exist";
const NAME_TAKEN: &str = "This Schedule name already exists";
const NO_HANDLER: &str = "The app has not registered an onScheduledEvent";

fn error(status: u16, message: &str) -> HostError {
    HostError::new(status, message)
}

pub(super) async fn call(
    platform: &Platform,
    context: &CallContext,
    call: &ScheduleCall,
) -> HostResult {
    let given = &call.given;
    match call.operation {
        ScheduleOperation::Create => write(platform, context, true, given).await,
        ScheduleOperation::Update => write(platform, context, false, given).await,
        ScheduleOperation::Delete => delete(platform, context, given).await,
        ScheduleOperation::Fetch => fetch(platform, context, given).await,
    }
}

async fn write(
    platform: &Platform,
    context: &CallContext,
    create: bool,
    given: &Value,
) -> HostResult {
    if !context.app_handles(weir_core::catalogue::SCHEDULED_EVENT) {
        return Err(error(400, NO_HANDLER));
    }
    let now = weir_core::now();
    let limits = &platform.settings.schedules;
    let spec = ScheduleSpec::parse(given, now, limits).map_err(|m| error(400, &m))?;
    let Some(next_run_at) = spec.next_run_after(now) else {
        return Err(error(400, "schedule_at has passed"));
    };
    let schedule = Schedule {
        installation_id: context.installation.id.clone(),
        spec,
        next_run_at,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    let store = platform.store.as_ref();
    let written = match create {
        true => store.insert_schedule(&schedule, limits).await,
        false => store.update_schedule(&schedule, limits).await,
    };
    let written = written.map_err(super::internal)?;
    if written == ScheduleWrite::Written {
        platform.wake(weir_store::WorkQueue::Schedules);
    }
    match written {
        ScheduleWrite::Written if create => {
            Ok(json!({"status": 200, "message": "Schedule created"}))
        }
        ScheduleWrite::Written => Ok(json!({"status": 200, "message": "Schedule updated"})),
        ScheduleWrite::NameTaken => Err(error(400, NAME_TAKEN)),
        ScheduleWrite::NotFound => Err(error(404, NOT_FOUND)),
        ScheduleWrite::OneTimeLimit => Err(error(
            400,
            &format!(
                "The maximum number of one-time schedules is {}",
                limits.max_one_time
            ),
        )),
        ScheduleWrite::RecurringLimit => Err(error(
            400,
            &format!(
                "The maximum number of recurring schedules is {}",
                limits.max_recurring
            ),
        )),
    }
}

async fn delete(platform: &Platform, context: &CallContext, given: &Value) -> HostResult {
    let name = schedule_name(given).map_err(|m| error(400, &m))?;
    let store = platform.store.as_ref();
    match store.delete_schedule(&context.installation.id, &name).await {
        Ok(true) => Ok(json!({"status": 200, "message": "Schedule deleted"})),
        Ok(false) => Err(error(404, NOT_FOUND)),
        Err(e) => Err(super::internal(e)),
    }
}

async fn fetch(platform: &Platform, context: &CallContext, given: &Value) -> HostResult {
    let name = schedule_name(given).map_err(|m| error(400, &m))?;
    let store = platform.store.as_ref();
    match store.schedule(&context.installation.id, &name).await {
        Ok(Some(schedule)) => Ok(schedule.spec.to_json()),
        Ok(None) => Err(error(404, NOT_FOUND)),
        Err(e) => Err(super::internal(e)),
    }
}

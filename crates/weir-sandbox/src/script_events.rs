//! The events a platform 2.0 app declares in its code rather than its manifest
//! (`exports.events = [{event, callback}]` in `server/server.js`): learnt by running the
//! script's top level, with no platform calls answered, and kept in the app's definition
//! (`AppDefinition::script_events`) so that fan-out and `handler_for` see them like the
//! manifest's own.

use std::sync::Arc;

use weir_core::AppDefinition;

use crate::code::AppCode;
use crate::top_level::{self, ListedEvents, ServerExports, TopLevelError, TopLevelLimits};

/// Fills in `definition.script_events` from what `server.js` exports, for an app with a
/// scope that leaves its handlers to `exports.events`; does nothing for any other app.
pub fn learn_script_events(
    code: &Arc<AppCode>,
    definition: &mut AppDefinition,
) -> Result<(), TopLevelError> {
    if !definition.scopes.iter().any(|s| s.defers_to_script())
        || code.source(crate::code::SERVER_JS).is_none()
    {
        return Ok(());
    }
    let exports = top_level::server_exports(code, TopLevelLimits::from_now())?;
    definition.script_events = listed_events(definition, &exports);
    Ok(())
}

/// The entries of `exports.events` that a deferring scope accepts and that call a
/// function, each event once, in the script's order. Entries with problems are the
/// package check's to report, not to run.
pub(crate) fn listed_events(definition: &AppDefinition, exports: &ServerExports) -> Vec<String> {
    let Some(ListedEvents::Listed(entries)) = &exports.events else {
        return Vec::new();
    };
    let mut events: Vec<String> = Vec::new();
    for entry in entries {
        let Some(event) = &entry.event else { continue };
        let accepted = definition
            .scopes
            .iter()
            .any(|scope| scope.defers_to_script() && scope.accepts(event));
        if accepted && exports.calls_a_function(&entry.callback) && !events.contains(event) {
            events.push(event.clone());
        }
    }
    events
}

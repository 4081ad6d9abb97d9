//! `generateTargetUrl(options?)`: the installation's URL for external events, and the
//! rules on where it may be called (REFERENCE §1). Rejections are `{message}`, with the
//! platform's texts.

use serde_json::{Value, json};
use weir_core::catalogue;
use weir_sandbox::{HostError, HostResult};

use super::CallContext;

const NEEDS_CALLBACK: &str = "Unsupported operation: The generateTargetUrl method cannot be used unless there is a corresponding external event callback";
const NOT_HERE: &str = "Unsupported operation: The generateTargetUrl method cannot be used";
const BAD_OPTIONS: &str =
    "Invalid argument type: options must be a non-blank string of at most 100 characters";

pub(super) fn generate(context: &CallContext, options: &Value) -> HostResult {
    let handles_external_events = context.app_handles(catalogue::EXTERNAL_EVENT);
    answer(
        &context.event,
        handles_external_events,
        &context.target_url,
        options,
    )
}

fn answer(
    event: &str,
    handles_external_events: bool,
    target_url: &str,
    options: &Value,
) -> HostResult {
    let reject = |message: &str| Err(HostError::message_only(message));
    if !handles_external_events {
        return reject(NEEDS_CALLBACK);
    }
    // onAppInstall and product events, as documented; onExternalEvent, as the FDK allows.
    let allowed = event == "onAppInstall"
        || event == catalogue::EXTERNAL_EVENT
        || !catalogue::is_app_event(event);
    if !allowed {
        return reject(NOT_HERE);
    }
    match options {
        Value::Null => Ok(json!(target_url)),
        Value::String(options) if !options.trim().is_empty() && options.chars().count() <= 100 => {
            Ok(json!(format!(
                "{}?options={}",
                target_url,
                percent_encode(options)
            )))
        }
        _ => reject(BAD_OPTIONS),
    }
}

/// Everything but the unreserved characters of RFC 3986, as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `generateTargetUrl(...args)`, answered as the app sees it: its error as JSON.
    fn generate(context: (&str, bool), args: &Value) -> Result<Value, Value> {
        answer(
            context.0,
            context.1,
            "https://events.example.com/in/TOKEN",
            &args[0],
        )
        .map_err(|error| error.to_json())
    }

    fn context(event: &str, handles_external_events: bool) -> (&str, bool) {
        (event, handles_external_events)
    }

    #[test]
    fn gives_the_url_where_it_may_be_called() {
        for event in ["onAppInstall", "onTicketCreate", "onExternalEvent"] {
            assert_eq!(
                generate(context(event, true), &json!([])),
                Ok(json!("https://events.example.com/in/TOKEN"))
            );
        }
        assert_eq!(
            generate(
                context("onAppInstall", true),
                &json!(["freshdesk.onExternalEvent"])
            ),
            Ok(json!(
                "https://events.example.com/in/TOKEN?options=freshdesk.onExternalEvent"
            ))
        );
        assert_eq!(
            generate(context("onAppInstall", true), &json!(["a b/c"])),
            Ok(json!(
                "https://events.example.com/in/TOKEN?options=a%20b%2Fc"
            ))
        );
    }

    #[test]
    fn refuses_with_the_platform_texts() {
        assert_eq!(
            generate(context("onAppInstall", false), &json!([])),
            Err(json!({"message": NEEDS_CALLBACK}))
        );
        for event in ["onAppUninstall", "onScheduledEvent", "afterAppUpdate"] {
            assert_eq!(
                generate(context(event, true), &json!([])),
                Err(json!({"message": NOT_HERE})),
                "{event}"
            );
        }
        for options in [json!([42]), json!([" "]), json!(["x".repeat(101)])] {
            assert_eq!(
                generate(context("onAppInstall", true), &options),
                Err(json!({"message": BAD_OPTIONS}))
            );
        }
    }
}

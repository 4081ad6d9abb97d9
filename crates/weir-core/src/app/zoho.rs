//! Zoho Desk extension webhooks (seed 004): `resources.json` declares them, created when
//! the extension is installed and deleted when it is uninstalled; `plugin-manifest.json`
//! must grant the `Desk.events.ALL` scope in `zohoAuthorisation.scope`.

use super::json::Node;
use super::problem::{PackageProblem, Problems};
use crate::SubscriptionUrl;
use crate::catalogue::{self, ZohoOption};

pub const RESOURCES: &str = "resources.json";
pub const PLUGIN_MANIFEST: &str = "plugin-manifest.json";
pub const EVENTS_SCOPE: &str = "Desk.events.ALL";
/// Zoho's limits on webhook fields.
const MAX_URL: usize = 100;
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 3000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionWebhook {
    pub resource_name: String,
    /// Deliveries go here, with `orgId` and `securityContext` appended to the query. Checked
    /// as an operator's subscription URL is, so that a package that would make a
    /// subscription the API refuses is refused at upload.
    pub url: SubscriptionUrl,
    pub name: String,
    pub description: Option<String>,
    pub subscriptions: Vec<ZohoSubscription>,
    /// Events caused by API calls carrying this source id are not delivered (no echo loops).
    pub ignore_source_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoSubscription {
    /// A Zoho Desk event type, e.g. `Ticket_Update`.
    pub event: String,
    pub include_prev_state: bool,
    /// `Ticket_Update` only: deliver only when one of these fields changed.
    pub fields: Vec<String>,
    /// `Ticket_Thread_Add` only: `in` or `out`.
    pub direction: Option<String>,
}

/// The `webhook` entries of `resources.json`: one object, or a list of them.
pub(super) fn parse_resources(root: &Node, problems: &mut Problems) -> Vec<ExtensionWebhook> {
    let Some(webhook) = root.get("webhook") else {
        return Vec::new();
    };
    let entries = match webhook.value {
        serde_json::Value::Array(_) => problems.take(webhook.items()).unwrap_or_default(),
        _ => vec![webhook],
    };
    let mut webhooks: Vec<ExtensionWebhook> = Vec::new();
    for entry in entries {
        let Some(parsed) = extension_webhook(&entry, problems) else {
            continue;
        };
        if webhooks
            .iter()
            .any(|w| w.resource_name == parsed.resource_name)
        {
            problems.push(
                entry
                    .get("resourceName")
                    .unwrap_or(entry.clone())
                    .problem(format!(
                        "the resourceName {:?} is used twice",
                        parsed.resource_name
                    )),
            );
            continue;
        }
        webhooks.push(parsed);
    }
    webhooks
}

/// The scopes of `plugin-manifest.json`'s `zohoAuthorisation`.
pub(super) fn parse_scopes(root: &Node, problems: &mut Problems) -> Vec<String> {
    let Some(scope) = root.get("zohoAuthorisation").and_then(|a| a.get("scope")) else {
        return Vec::new();
    };
    let items = problems.take(scope.items()).unwrap_or_default();
    items
        .iter()
        .filter_map(|item| problems.take(item.string()).map(str::to_owned))
        .collect()
}

fn extension_webhook(node: &Node, problems: &mut Problems) -> Option<ExtensionWebhook> {
    let before = problems.len();
    problems.take(node.members())?;
    for problem in node.unknown_members(&[
        "resourceName",
        "url",
        "name",
        "description",
        "subscriptions",
        "ignoreSourceId",
    ]) {
        problems.push(problem);
    }
    let resource_name = required(node, "resourceName", MAX_NAME, problems);
    let url = required(node, "url", MAX_URL, problems).and_then(|url| {
        let at = node.get("url")?;
        problems.take(SubscriptionUrl::parse(&url).map_err(|invalid| at.problem(invalid.0)))
    });
    let name = required(node, "name", MAX_NAME, problems);
    let description = node
        .get("description")
        .and_then(|d| problems.take(limited(&d, MAX_DESCRIPTION)));
    let ignore_source_id = required(node, "ignoreSourceId", MAX_NAME, problems).and_then(|id| {
        let at = node.get("ignoreSourceId")?;
        problems.take(if is_uuid(&id) {
            Ok(id)
        } else {
            Err(at.problem(format!("{id:?} is not a UUID")))
        })
    });
    let subscriptions = match node.get("subscriptions") {
        None => {
            problems.push(node.problem("needs \"subscriptions\": the Zoho Desk events to deliver"));
            None
        }
        Some(subscriptions) => Some(parse_subscriptions(&subscriptions, problems)),
    };
    if problems.len() > before {
        return None;
    }
    Some(ExtensionWebhook {
        resource_name: resource_name?,
        url: url?,
        name: name?,
        description,
        subscriptions: subscriptions?,
        ignore_source_id: ignore_source_id?,
    })
}

fn parse_subscriptions(node: &Node, problems: &mut Problems) -> Vec<ZohoSubscription> {
    let members = problems.take(node.members()).unwrap_or_default();
    if members.is_empty() {
        problems.push(node.problem("subscribes to no event"));
    }
    members
        .into_iter()
        .filter_map(|(event, options)| subscription(event, &options, problems))
        .collect()
}

fn subscription(event: &str, node: &Node, problems: &mut Problems) -> Option<ZohoSubscription> {
    let Some(known) = catalogue::zoho_event(event) else {
        problems.push(node.problem(format!("{event:?} is not a Zoho Desk event")));
        return None;
    };
    let mut subscription = ZohoSubscription {
        event: event.to_owned(),
        include_prev_state: false,
        fields: Vec::new(),
        direction: None,
    };
    if node.value.is_null() {
        return Some(subscription);
    }
    let before = problems.len();
    for (key, value) in problems.take(node.members()).unwrap_or_default() {
        match ZohoOption::from_key(key) {
            Some(ZohoOption::DepartmentIds | ZohoOption::DepartmentId) => problems.push(value.problem(
                "leave departmentIds out: deliveries are filtered by the departments chosen at installation",
            )),
            _ if !known.free_form && !known.accepts_key(key) => problems.push(value.problem(format!(
                "{event} takes no option {key:?}{}",
                accepted_options(known)
            ))),
            Some(ZohoOption::IncludePrevState) => {
                subscription.include_prev_state = problems.take(value.boolean()).unwrap_or(false)
            }
            Some(ZohoOption::Fields) => subscription.fields = fields(&value, problems),
            Some(ZohoOption::Direction) => {
                subscription.direction = problems.take(value.string().and_then(|d| {
                    if catalogue::ZOHO_THREAD_DIRECTIONS.contains(&d) {
                        Ok(d.to_owned())
                    } else {
                        Err(value.problem(format!("{d:?} must be \"in\" or \"out\"")))
                    }
                }))
            }
            None => {} // an event with free-form options: kept as given
        }
    }
    (problems.len() == before).then_some(subscription)
}

fn accepted_options(event: &catalogue::ZohoEvent) -> String {
    let keys: Vec<&str> = event
        .documented_options()
        .filter(|o| !matches!(o, ZohoOption::DepartmentIds | ZohoOption::DepartmentId))
        .map(ZohoOption::key)
        .collect();
    if keys.is_empty() {
        " (it takes null)".to_owned()
    } else {
        format!(" (it takes: {})", keys.join(", "))
    }
}

fn fields(node: &Node, problems: &mut Problems) -> Vec<String> {
    let items = problems.take(node.items()).unwrap_or_default();
    if items.len() > catalogue::ZOHO_MAX_UPDATE_FIELDS {
        problems.push(node.problem(format!(
            "names {} fields; Zoho allows at most {}",
            items.len(),
            catalogue::ZOHO_MAX_UPDATE_FIELDS
        )));
    }
    items
        .iter()
        .filter_map(|item| problems.take(item.string()).map(str::to_owned))
        .collect()
}

fn required(node: &Node, key: &str, max: usize, problems: &mut Problems) -> Option<String> {
    match node.get(key) {
        None => {
            problems.push(node.problem(format!("needs \"{key}\"")));
            None
        }
        Some(value) => problems.take(limited(&value, max)),
    }
}

fn limited(node: &Node, max: usize) -> Result<String, PackageProblem> {
    let value = node.string()?;
    if value.trim().is_empty() {
        return Err(node.problem("must not be blank"));
    }
    if value.chars().count() > max {
        return Err(node.problem(format!(
            "is {} characters long; Zoho allows {max}",
            value.chars().count()
        )));
    }
    Ok(value.to_owned())
}

fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

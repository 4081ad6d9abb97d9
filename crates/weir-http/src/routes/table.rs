//! Every route Weir serves, each with its description: the router is built from this
//! table and so is the OpenAPI document (`crate::openapi`), so neither can have a route
//! the other lacks. To add a route, add an entry here: its method, path, handler, and an
//! `Operation` saying who may call it, what it reads and what it answers. The errors its
//! token, path and body imply are added for it; list only the others (`.errors(&[409])`).
//! `docs/openapi.json` then needs regenerating: `WEIR_BLESS=1 cargo test -p weir --test
//! openapi`.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::json;

use super::{
    accounts, api_keys, app_parameters, apps, deliveries, events, global_webhooks, health, inbound,
    installations, invocations, oauth, openapi_json, operational_webhooks, subscriptions, triggers,
    webhook_invocations,
};
use crate::openapi::{Auth, Documented, Operation, named, page_of};
use crate::state::ServerState;

use Auth::{AccountKey, Admin, ClientToken, PortalToken, SecurityContext};

/// One route: where, its handler, and what the document says of it.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<ServerState>,
    pub operation: Operation,
}

impl Route {
    pub fn documented(&self) -> Documented<'_> {
        Documented {
            method: &self.method,
            path: self.path,
            operation: &self.operation,
        }
    }
}

fn route<H, T>(method: Method, path: &'static str, handler: H, operation: Operation) -> Route
where
    H: Handler<T, ServerState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum can route");
    Route {
        method,
        path,
        handler: on(filter, handler),
        operation,
    }
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;
const OPTIONS: Method = Method::OPTIONS;

/// The admin, and the key of the account concerned.
const OPERATOR: &[Auth] = &[Admin, AccountKey];
/// Those, and a portal link of the account concerned.
const OPERATOR_OR_PORTAL: &[Auth] = &[Admin, AccountKey, PortalToken];
/// Those, and the installation concerned by its `securityContext`.
const OPERATOR_OR_INSTALLATION: &[Auth] = &[Admin, AccountKey, SecurityContext];

pub fn routes() -> Vec<Route> {
    [
        account_routes(),
        app_routes(),
        installation_routes(),
        event_routes(),
        subscription_routes(),
        delivery_routes(),
        operational_webhook_routes(),
        inbound_routes(),
        meta_routes(),
        health_routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn account_routes() -> Vec<Route> {
    let tag = "accounts";
    vec![
        route(
            POST,
            "/api/v1/accounts",
            accounts::create,
            Operation::new(tag, "Create an account")
                .auth(&[Admin])
                .json_body("NewAccount")
                .answers(201, "The account.", named("Account"))
                .errors(&[409]),
        ),
        route(
            GET,
            "/api/v1/accounts",
            accounts::list,
            Operation::new(tag, "List accounts")
                .auth(&[Admin])
                .paginated()
                .answers(200, "A page of accounts, in id order.", page_of("Account")),
        ),
        route(
            GET,
            "/api/v1/accounts/{id}",
            accounts::show,
            Operation::new(tag, "Show an account")
                .auth(OPERATOR)
                .answers(200, "The account.", named("Account")),
        ),
        route(
            PATCH,
            "/api/v1/accounts/{id}",
            accounts::update,
            Operation::new(tag, "Change an account")
                .describe("Writes only the fields given; the others are kept.")
                .auth(&[Admin])
                .json_body("AccountChange")
                .answers(200, "The account as it is now.", named("Account")),
        ),
        route(
            DELETE,
            "/api/v1/accounts/{id}",
            accounts::delete,
            Operation::new(tag, "Delete an account")
                .describe("Refused (409) while apps are installed in it; its keys go with it.")
                .auth(&[Admin])
                .no_content("Deleted.")
                .errors(&[409]),
        ),
        route(
            POST,
            "/api/v1/accounts/{id}/api-keys",
            api_keys::create,
            Operation::new("api-keys", "Create an API key")
                .auth(&[Admin])
                .json_body("NewApiKey")
                .answers(
                    201,
                    "The key, with its token shown this once.",
                    named("CreatedApiKey"),
                ),
        ),
        route(
            GET,
            "/api/v1/accounts/{id}/api-keys",
            api_keys::list,
            Operation::new("api-keys", "List API keys")
                .auth(OPERATOR)
                .answers(
                    200,
                    "The account's keys, without tokens.",
                    named("ApiKeyList"),
                ),
        ),
        route(
            DELETE,
            "/api/v1/accounts/{id}/api-keys/{key_id}",
            api_keys::delete,
            Operation::new("api-keys", "Revoke an API key")
                .auth(OPERATOR)
                .no_content("Revoked, at once."),
        ),
    ]
}

fn app_routes() -> Vec<Route> {
    let tag = "apps";
    vec![
        route(
            POST,
            "/api/v1/apps",
            apps::upload,
            Operation::new(tag, "Upload an app")
                .describe(
                    "Each upload of a name makes its next immutable version. A broken \
                     package is refused (422) with one detail per problem.",
                )
                .auth(&[Admin])
                .query(
                    "name",
                    json!({"type": "string"}),
                    "Names the app when its manifest does not.",
                )
                .raw_body(
                    &["application/zip", "application/x-zip-compressed"],
                    json!({"type": "string", "format": "binary"}),
                )
                .answers(201, "The stored version.", named("App"))
                .header("Location", "The version's URL.")
                .errors(&[400, 413, 415, 422]),
        ),
        route(
            GET,
            "/api/v1/apps",
            apps::list,
            Operation::new(tag, "List apps")
                .auth(OPERATOR)
                .paginated()
                .answers(200, "A page of app versions.", page_of("App")),
        ),
        route(
            GET,
            "/api/v1/apps/{id}",
            apps::show,
            Operation::new(tag, "Show an app version")
                .auth(OPERATOR)
                .answers(200, "The version.", named("App")),
        ),
        route(
            GET,
            "/api/v1/apps/{id}/global-webhooks",
            global_webhooks::list,
            Operation::new(tag, "List a connector's global webhooks")
                .auth(OPERATOR)
                .answers(
                    200,
                    "Its webhooks, with what they received (one page).",
                    page_of("GlobalWebhook"),
                ),
        ),
        route(
            GET,
            "/api/v1/apps/{id}/parameters",
            app_parameters::show,
            Operation::new(tag, "Show an app's connector parameters")
                .auth(&[Admin])
                .answers(
                    200,
                    "The parameters; secure ones by name only.",
                    named("AppParametersView"),
                ),
        ),
        route(
            PUT,
            "/api/v1/apps/{id}/parameters",
            app_parameters::put,
            Operation::new(tag, "Set an app's connector parameters")
                .describe("All of them, for every version of the app: what is left out is removed.")
                .auth(&[Admin])
                .json_body("AppParameters")
                .answers(200, "The parameters as stored.", named("AppParametersView")),
        ),
    ]
}

fn installation_routes() -> Vec<Route> {
    let tag = "installations";
    vec![
        route(
            POST,
            "/api/v1/accounts/{id}/installations",
            installations::create,
            Operation::new(tag, "Install an app")
                .describe(
                    "Installs after the app's `onAppInstall` agrees (201). When the account \
                     has the app already, a newer version updates that installation (200).",
                )
                .auth(OPERATOR)
                .json_body("NewInstallation")
                .answers(201, "Installed.", named("Installation"))
                .header("Location", "The installation's URL.")
                .answers(200, "Updated to this version.", named("Installation"))
                .header("Location", "The installation's URL.")
                .errors(&[409, 502]),
        ),
        route(
            GET,
            "/api/v1/accounts/{id}/installations",
            installations::list,
            Operation::new(tag, "List installations")
                .auth(OPERATOR)
                .paginated()
                .answers(200, "A page of the account's installations.", page_of("Installation")),
        ),
        route(
            GET,
            "/api/v1/installations/{id}",
            installations::show,
            Operation::new(tag, "Show an installation")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "The installation.", named("Installation")),
        ),
        route(
            DELETE,
            "/api/v1/installations/{id}",
            installations::delete,
            Operation::new(tag, "Uninstall")
                .describe(
                    "After the app's `onAppUninstall` agrees, or with `?force=true`. The \
                     record stays, marked `uninstalled`.",
                )
                .auth(OPERATOR)
                .query(
                    "force",
                    json!({"type": "boolean", "default": false}),
                    "Uninstall even if `onAppUninstall` refuses.",
                )
                .no_content("Uninstalled.")
                .errors(&[409, 502]),
        ),
        route(
            GET,
            "/api/v1/installations/{id}/invocations",
            invocations::list,
            Operation::new(tag, "List handler runs")
                .auth(OPERATOR_OR_INSTALLATION)
                .query("event", json!({"type": "string"}), "Only runs for this event.")
                .query(
                    "status",
                    json!({"type": "string", "enum": ["success", "error", "timeout", "out_of_memory"]}),
                    "Only runs that ended so.",
                )
                .query(
                    "since",
                    json!({"type": "string", "format": "date-time"}),
                    "Started at or after (RFC 3339).",
                )
                .query(
                    "until",
                    json!({"type": "string", "format": "date-time"}),
                    "Started before (RFC 3339).",
                )
                .paginated()
                .answers(200, "A page of invocation records.", page_of("InvocationRecord")),
        ),
        route(
            GET,
            "/api/v1/invocations/{id}",
            invocations::show,
            Operation::new(tag, "Show a handler run")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "The invocation record.", named("InvocationRecord")),
        ),
        route(
            GET,
            "/api/v1/installations/{id}/webhook-invocations",
            webhook_invocations::list,
            Operation::new(tag, "List registered webhook calls")
                .auth(OPERATOR_OR_INSTALLATION)
                .paginated()
                .answers(200, "A page of the audit trail.", page_of("WebhookInvocation")),
        ),
        route(
            GET,
            "/api/v1/webhook-invocations/{id}",
            webhook_invocations::show,
            Operation::new(tag, "Show a registered webhook call")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "The call's record.", named("WebhookInvocation")),
        ),
        route(
            POST,
            "/api/v1/installations/{id}/client-token",
            triggers::issue_client_token,
            Operation::new(tag, "Issue a client token")
                .describe("A new token for the installation's browser app, replacing any: shown once.")
                .auth(OPERATOR)
                .answers(201, "The token.", named("ClientToken"))
                .errors(&[409]),
        ),
        route(
            POST,
            "/api/v1/installations/{id}/webhooks/{webhook_id}/trigger",
            triggers::trigger,
            Operation::new(tag, "Trigger a registered webhook")
                .describe("As the app's `$webhooks.trigger` would; any origin may call (CORS).")
                .auth(&[Admin, AccountKey, ClientToken])
                .json_body("TriggerRequest")
                .answers(200, "The call's result.", named("TriggerResult"))
                .errors(&[409, 429, 502]),
        ),
        route(
            OPTIONS,
            "/api/v1/installations/{id}/webhooks/{webhook_id}/trigger",
            triggers::preflight,
            Operation::new(tag, "Answer a CORS preflight")
                .no_content("Any origin may POST with `authorization` and `content-type`."),
        ),
        route(
            GET,
            "/api/v1/installations/{id}/event-selectors",
            global_webhooks::selectors,
            Operation::new(tag, "List an installation's event selectors")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "Its selectors (one page).", page_of("EventSelector")),
        ),
        route(
            POST,
            "/api/v1/installations/{id}/event-selectors/refresh",
            global_webhooks::refresh_selectors,
            Operation::new(tag, "Refresh an installation's event selectors")
                .describe("Runs the app's `getEventSelector`s again.")
                .auth(OPERATOR)
                .answers(200, "Its selectors now (one page).", page_of("EventSelector"))
                .errors(&[409, 502]),
        ),
        route(
            GET,
            "/api/v1/installations/{id}/oauth",
            oauth::show,
            Operation::new("oauth", "Show an installation's OAuth")
                .auth(OPERATOR)
                .answers(200, "One entry per integration; never a token.", named("OAuthState")),
        ),
        route(
            POST,
            "/api/v1/installations/{id}/oauth/authorize",
            oauth::authorize,
            Operation::new("oauth", "Start an OAuth authorization")
                .auth(OPERATOR)
                .optional_json_body("AuthorizeRequest")
                .answers(
                    200,
                    "Where to send the installer's browser.",
                    named("Authorization"),
                )
                .errors(&[409]),
        ),
        route(
            PUT,
            "/api/v1/installations/{id}/oauth/token",
            oauth::put_token,
            Operation::new("oauth", "Set OAuth tokens")
                .describe("Tokens set this way skip the authorization server: the admin only.")
                .auth(&[Admin])
                .json_body("GivenToken")
                .answers(200, "The integration's state.", named("OAuthIntegration"))
                .errors(&[409]),
        ),
        route(
            DELETE,
            "/api/v1/installations/{id}/oauth/token",
            oauth::delete_token,
            Operation::new("oauth", "Forget OAuth tokens")
                .auth(OPERATOR)
                .query(
                    "integration",
                    json!({"type": "string"}),
                    "Needed when the app has several integrations.",
                )
                .no_content("Forgotten.")
                .errors(&[422]),
        ),
        route(
            GET,
            weir_engine::oauth::CALLBACK_PATH,
            oauth::callback,
            Operation::new("oauth", "Complete an OAuth authorization")
                .describe(
                    "The authorization server sends the installer's browser here. No token: \
                     the `state` (unguessable, bound to one installation, used once) guards it.",
                )
                .query("code", json!({"type": "string"}), "The authorization code.")
                .query("state", json!({"type": "string"}), "The state the authorization started with.")
                .query("error", json!({"type": "string"}), "The server's refusal, e.g. `access_denied`.")
                .query("error_description", json!({"type": "string"}), "Why it refused.")
                .answers(200, "Authorized.", named("Authorized"))
                .errors(&[403, 404, 409, 410, 422, 502]),
        ),
    ]
}

fn event_routes() -> Vec<Route> {
    let tag = "events";
    vec![
        route(
            POST,
            "/api/v1/accounts/{id}/events",
            events::post,
            Operation::new(tag, "Post product events")
                .describe(
                    "One event, or a batch (an array, stored whole or refused whole). The \
                     answer comes once the events and the work they cause are durable.",
                )
                .auth(OPERATOR)
                .json_body("PostedEvents")
                .answers(
                    202,
                    "Accepted: one answer per event (`events` for a batch).",
                    json!({"oneOf": [named("AcceptedEvent"), named("AcceptedEvents")]}),
                ),
        ),
        route(
            GET,
            "/api/v1/events",
            events::list,
            Operation::new(tag, "List product events")
                .describe(
                    "Newest first: an account key's own account's; the admin's of the account \
                     named, or of every account.",
                )
                .auth(OPERATOR)
                .query("account", json!({"type": "string"}), "Only this account's.")
                .query(
                    "event",
                    json!({"type": "string"}),
                    "Only events of this name.",
                )
                .paginated()
                .answers(
                    200,
                    "A page of events, newest first.",
                    page_of("EventSummary"),
                ),
        ),
        route(
            GET,
            "/api/v1/events/{id}",
            events::show,
            Operation::new(tag, "Show a product event")
                .auth(OPERATOR)
                .answers(200, "The event, with its handler runs.", named("Event")),
        ),
    ]
}

fn subscription_routes() -> Vec<Route> {
    let tag = "subscriptions";
    vec![
        route(
            POST,
            "/api/v1/accounts/{id}/subscriptions",
            subscriptions::create,
            Operation::new(tag, "Create a subscription")
                .auth(OPERATOR)
                .json_body("NewSubscription")
                .answers(201, "The subscription, with its secret shown this once.", named("Subscription"))
                .header("Location", "The subscription's URL."),
        ),
        route(
            GET,
            "/api/v1/accounts/{id}/subscriptions",
            subscriptions::list,
            Operation::new(tag, "List subscriptions")
                .auth(OPERATOR_OR_PORTAL)
                .paginated()
                .answers(200, "A page of the account's subscriptions.", page_of("Subscription")),
        ),
        route(
            GET,
            "/api/v1/subscriptions/{id}",
            subscriptions::show,
            Operation::new(tag, "Show a subscription")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "The subscription.", named("Subscription")),
        ),
        route(
            PATCH,
            "/api/v1/subscriptions/{id}",
            subscriptions::update,
            Operation::new(tag, "Change a subscription")
                .describe("Extension webhooks are changed only by their app's lifecycle (403).")
                .auth(OPERATOR_OR_INSTALLATION)
                .json_body("SubscriptionUpdate")
                .answers(200, "The subscription as it is now.", named("Subscription")),
        ),
        route(
            DELETE,
            "/api/v1/subscriptions/{id}",
            subscriptions::delete,
            Operation::new(tag, "Delete a subscription")
                .auth(OPERATOR_OR_INSTALLATION)
                .no_content("Deleted."),
        ),
        route(
            POST,
            "/api/v1/subscriptions/{id}/rotate-secret",
            subscriptions::rotate_secret,
            Operation::new(tag, "Rotate a subscription's secret")
                .describe("The old secret keeps signing beside the new for the grace period.")
                .auth(OPERATOR_OR_INSTALLATION)
                .optional_json_body("SecretRotation")
                .answers(200, "The subscription, with its new secret shown this once.", named("Subscription")),
        ),
        route(
            POST,
            "/api/v1/subscriptions/{id}/enable",
            subscriptions::enable,
            Operation::new(tag, "Enable a subscription")
                .describe("Turns a disabled subscription back on; deliveries that died meanwhile stay dead.")
                .auth(OPERATOR_OR_INSTALLATION)
                .answers(200, "The subscription.", named("Subscription")),
        ),
        route(
            POST,
            "/api/v1/subscriptions/{id}/recover",
            subscriptions::recover,
            Operation::new(tag, "Recover dead deliveries")
                .describe("Sends again every delivery of the subscription that died since a time.")
                .auth(OPERATOR)
                .json_body("Recovery")
                .answers(202, "How many deliveries are pending again.", named("Recovered")),
        ),
    ]
}

fn delivery_routes() -> Vec<Route> {
    let tag = "deliveries";
    let since = json!({"type": "string", "format": "date-time"});
    vec![
        route(
            GET,
            "/api/v1/deliveries",
            deliveries::list,
            Operation::new(tag, "List deliveries")
                .describe(
                    "An account key (or a portal link) lists its own account's; the admin the \
                     account or subscription named, or every account's.",
                )
                .auth(OPERATOR_OR_PORTAL)
                .query(
                    "account",
                    json!({"type": "string"}),
                    "Only this account's (the admin's choice; others see their own).",
                )
                .query(
                    "subscription",
                    json!({"type": "string"}),
                    "Only this subscription's.",
                )
                .query(
                    "status",
                    json!({"type": "string", "enum": ["pending", "delivered", "dead", "skipped"]}),
                    "Only deliveries in this state.",
                )
                .query(
                    "event",
                    json!({"type": "string"}),
                    "Only this event's name.",
                )
                .query("since", since.clone(), "Created at or after (RFC 3339).")
                .query("until", since, "Created before (RFC 3339).")
                .paginated()
                .answers(
                    200,
                    "A page of deliveries, newest first.",
                    page_of("Delivery"),
                )
                .errors(&[404]),
        ),
        route(
            GET,
            "/api/v1/deliveries/{id}",
            deliveries::show,
            Operation::new(tag, "Show a delivery")
                .auth(OPERATOR_OR_PORTAL)
                .answers(200, "The delivery, with its attempts.", named("Delivery")),
        ),
        route(
            POST,
            "/api/v1/deliveries/{id}/replay",
            deliveries::replay,
            Operation::new(tag, "Replay a delivery")
                .describe(
                    "Sends a delivered or dead delivery again, with the same `webhook-id` and \
                     the whole retry schedule ahead of it.",
                )
                .auth(OPERATOR_OR_PORTAL)
                .answers(202, "Pending again.", named("DeliveryReplayed"))
                .errors(&[409]),
        ),
        route(
            POST,
            "/api/v1/deliveries/{id}/retry",
            deliveries::retry,
            Operation::new(tag, "Retry a pending delivery now")
                .describe(
                    "Makes a pending delivery's next attempt due now, keeping its place on the \
                     retry schedule; a dead one is replayed. 409 while an attempt is in flight, \
                     for a delivered one (replay it), or while its subscription is disabled.",
                )
                .auth(OPERATOR_OR_PORTAL)
                .answers(202, "Due now.", named("Delivery"))
                .errors(&[409]),
        ),
        route(
            POST,
            "/api/v1/accounts/{id}/portal-links",
            crate::console::portal::create_link,
            Operation::new(tag, "Make a portal link")
                .describe(
                    "A short-lived signed link to the account's portal page (`/portal`), where \
                     its admins see its subscriptions, deliveries and attempts (docs/console.md).",
                )
                .auth(&[Admin])
                .optional_json_body("PortalLinkRequest")
                .answers(201, "The link, and its token.", named("PortalLink")),
        ),
    ]
}

fn operational_webhook_routes() -> Vec<Route> {
    let tag = "operational webhooks";
    vec![
        route(
            POST,
            "/api/v1/operational-webhooks",
            operational_webhooks::create,
            Operation::new(tag, "Create an operational webhook")
                .describe(
                    "An endpoint of the operator's for Weir's own events \
                     (docs/operational-webhooks.md), delivered as subscriptions are.",
                )
                .auth(&[Admin])
                .json_body("NewOperationalWebhook")
                .answers(
                    201,
                    "The webhook, with its secret shown this once.",
                    named("OperationalWebhook"),
                )
                .header("Location", "The webhook's URL."),
        ),
        route(
            GET,
            "/api/v1/operational-webhooks",
            operational_webhooks::list,
            Operation::new(tag, "List operational webhooks")
                .auth(&[Admin])
                .paginated()
                .answers(
                    200,
                    "A page of operational webhooks.",
                    page_of("OperationalWebhook"),
                ),
        ),
        route(
            GET,
            "/api/v1/operational-webhooks/{id}",
            operational_webhooks::show,
            Operation::new(tag, "Show an operational webhook")
                .auth(&[Admin])
                .answers(200, "The webhook.", named("OperationalWebhook")),
        ),
        route(
            PATCH,
            "/api/v1/operational-webhooks/{id}",
            operational_webhooks::update,
            Operation::new(tag, "Change an operational webhook")
                .auth(&[Admin])
                .json_body("OperationalWebhookUpdate")
                .answers(
                    200,
                    "The webhook as it is now.",
                    named("OperationalWebhook"),
                ),
        ),
        route(
            DELETE,
            "/api/v1/operational-webhooks/{id}",
            operational_webhooks::delete,
            Operation::new(tag, "Delete an operational webhook")
                .auth(&[Admin])
                .no_content("Deleted, with its deliveries."),
        ),
    ]
}

fn inbound_routes() -> Vec<Route> {
    let tag = "inbound";
    let any_body =
        json!({"description": "JSON, XML, a form, multipart or text (docs/inbound.md)."});
    let accepted_types: &[&str] = &[
        "application/json",
        "application/xml",
        "text/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
    ];
    let inbound_errors = [400, 404, 410, 413, 415, 429];
    vec![
        route(
            GET,
            "/in/{token}",
            inbound::target_get,
            Operation::new(tag, "Answer a target URL's handshake")
                .describe("`{}`, or with `?crc_strategy=facebook` the `hub.challenge` echoed as text.")
                .answers(200, "The handshake's answer.", json!({"type": "object"}))
                .errors(&[404, 410]),
        ),
        route(
            POST,
            "/in/{token}",
            inbound::target_post,
            Operation::new(tag, "Post an external event to a target URL")
                .describe("The URL is the credential. The app's `onExternalEvent` runs after the answer.")
                .raw_body(accepted_types, any_body.clone())
                .answers(200, "Stored.", json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}))
                .errors(&inbound_errors),
        ),
        route(
            POST,
            "/in/{token}/events/{event_key}",
            inbound::connector_event_post,
            Operation::new(tag, "Post a connector event of one installation")
                .describe("The event's `handle` runs at once; its `response` is the answer, with the status it chose.")
                .raw_body(accepted_types, any_body.clone())
                .answer(200, "What `handle` answered.", Some("application/json"), named("InboundAnswer"))
                .errors(&inbound_errors)
                .errors(&[502]),
        ),
        route(
            GET,
            "/in/global/{app}/{key}",
            inbound::global_get,
            Operation::new(tag, "Answer a global webhook's handshake")
                .answers(200, "The handshake's answer.", json!({"type": "object"}))
                .errors(&[404]),
        ),
        route(
            POST,
            "/in/global/{app}/{key}",
            inbound::global_post,
            Operation::new(tag, "Post to a connector's global webhook")
                .describe(
                    "The webhook's `handle` runs at once and its events go to the installations \
                     whose selector matches; its `response` is the answer.",
                )
                .raw_body(accepted_types, any_body)
                .answer(200, "What `handle` answered.", Some("application/json"), named("InboundAnswer"))
                .errors(&inbound_errors)
                .errors(&[502]),
        ),
    ]
}

fn meta_routes() -> Vec<Route> {
    vec![route(
        GET,
        "/api/v1/openapi.json",
        openapi_json,
        Operation::new("meta", "This document").answers(
            200,
            "The OpenAPI 3.1 document of this API.",
            json!({"type": "object"}),
        ),
    )]
}

/// Also all that a worker-only node serves.
pub fn health_routes() -> Vec<Route> {
    let tag = "health";
    vec![
        route(
            GET,
            "/healthz",
            health::healthz,
            Operation::new(tag, "Liveness").answers(200, "The process answers.", named("Status")),
        ),
        route(
            GET,
            "/readyz",
            health::readyz,
            Operation::new(tag, "Readiness")
                .answers(
                    200,
                    "The database answers and the workers run.",
                    named("Status"),
                )
                .errors(&[503]),
        ),
        route(
            GET,
            "/metrics",
            health::metrics,
            Operation::new(tag, "Prometheus metrics")
                .answer(
                    200,
                    "Prometheus text.",
                    Some("text/plain"),
                    json!({"type": "string"}),
                )
                .errors(&[503]),
        ),
    ]
}

/// The OpenAPI document of every route in the table.
pub fn document() -> serde_json::Value {
    let routes = routes();
    crate::openapi::document(routes.iter().map(Route::documented))
}

//! The simulator page of `weir dev`, driven in a real headless Chromium over WebDriver:
//! pick an event, edit the payload, Simulate, and read Success and the handler's console
//! line, or Failed and the handler's error; and the iparams form, saved and seen by a
//! handler. Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them);
//! fails without them unless `WEIR_SKIP_BROWSER` is set.

mod support;

use std::path::Path;

use support::dev_server::DevServer;
use weir_testkit::TempDir;
use weir_testkit::browser::{Browser, CONTROL, ENTER};

const MANIFEST: &str = r#"{
  "name": "helpdesk-notes",
  "platform-version": "2.3",
  "product": {
    "freshdesk": {
      "events": {
        "onTicketCreate": { "handler": "onTicketCreateHandler" },
        "onTicketUpdate": { "handler": "onTicketUpdateHandler" }
      }
    }
  }
}"#;

const IPARAMS: &str = r#"{
  "team": { "display_name": "Team", "type": "text", "required": true },
  "priority": { "display_name": "Priority", "type": "dropdown", "options": ["low", "high"], "default_value": "low" }
}"#;

const SERVER: &str = r#"exports = {
  onTicketCreateHandler: async function (payload) {
    console.log("ticket subject: " + payload.data.ticket.subject);
    console.log("team: " + payload.iparams.team + ", priority: " + payload.iparams.priority);
    await $db.set("last-subject", { subject: payload.data.ticket.subject });
  },
  onTicketUpdateHandler: function (payload) {
    throw new Error("no changes in ticket " + payload.data.ticket.id);
  }
};
"#;

fn app() -> TempDir {
    let dir = TempDir::new();
    write(dir.path(), "manifest.json", MANIFEST);
    write(dir.path(), "config/iparams.json", IPARAMS);
    write(dir.path(), "server/server.js", SERVER);
    dir
}

fn write(root: &Path, path: &str, content: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Replaces the payload, as a developer types it.
async fn type_payload(browser: &Browser, text: &str) {
    let payload = browser.find("#payload").await.unwrap();
    payload.clear().await.unwrap();
    payload.send_keys(text).await.unwrap();
}

async fn choose_event(browser: &Browser, event: &str) {
    select_event(browser, event).await;
    wait_for_payload(browser, event).await;
}

async fn select_event(browser: &Browser, event: &str) {
    let select = browser.find("#event").await.unwrap();
    let option = format!("#event option[value=\"{event}\"]");
    browser.find(&option).await.unwrap();
    select.select_option(event).await.unwrap();
}

/// Until the payload of `event` is loaded: its envelope names it.
async fn wait_for_payload(browser: &Browser, event: &str) {
    wait_for_payload_with(browser, &format!("\"event\": \"{event}\"")).await;
}

/// Until the textarea holds `expected`.
async fn wait_for_payload_with(browser: &Browser, expected: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let value = payload_value(browser).await;
        if value.contains(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the payload never held {expected}; the textarea holds {value}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The element's text once `done` holds for it (the page checks the JSON as one types,
/// a moment after the last key).
async fn text_until(browser: &Browser, css: &str, done: impl Fn(&str) -> bool) -> String {
    let element = browser.find(css).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = element.text().await.unwrap();
        if done(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} still reads {text:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn payload_value(browser: &Browser) -> String {
    let payload = browser.find("#payload").await.unwrap();
    payload
        .property("value")
        .await
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulating_shows_success_with_the_console_then_failed_with_the_error() {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return;
    }
    let dir = app();
    write(dir.path(), ".weir/iparams.json", r#"{"team": "blue"}"#);
    let server = DevServer::start(dir.path()).await;
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!("{}/web/test", server.base))
        .await
        .unwrap();
    browser
        .wait_for_text("#app-name", "helpdesk-notes")
        .await
        .unwrap();

    choose_event(&browser, "onTicketCreate").await;
    // Broken JSON is shown in place and not sent.
    type_payload(
        &browser,
        r#"{"data": {"ticket": {"subject": "Printer on fire"}}"#,
    )
    .await;
    let shown = text_until(&browser, "#payload-error", |t| !t.is_empty()).await;
    assert!(shown.contains("line 1"), "the error says where: {shown}");
    let simulate = browser.find("#simulate").await.unwrap();
    simulate.click().await.unwrap();
    assert_eq!(
        simulate.text().await.unwrap(),
        "Simulate",
        "nothing was sent"
    );

    type_payload(
        &browser,
        r#"{"data": {"ticket": {"subject": "Printer on fire"}}}"#,
    )
    .await;
    text_until(&browser, "#payload-error", str::is_empty).await; // valid JSON clears it
    simulate.click().await.unwrap();
    browser.wait_for_text("#simulate", "Success").await.unwrap();
    assert_eq!(
        simulate.attribute("data-state").await.unwrap().as_deref(),
        Some("success")
    );
    let console = browser
        .wait_for_text("#console", "ticket subject: Printer on fire")
        .await
        .unwrap();
    assert!(
        console.contains("team: blue, priority: low"),
        "saved iparams and defaults: {console}"
    );
    let changes = browser
        .wait_for_text("#db-changes", "last-subject")
        .await
        .unwrap();
    assert!(
        changes.contains("Printer on fire"),
        "the $db change: {changes}"
    );

    // A handler that throws: Failed, with its message. Run with the keyboard this time.
    // The edited payload was not saved: leaving it asks first, and Cancel keeps it.
    select_event(&browser, "onTicketUpdate").await;
    let asked = browser.alert_text().await.unwrap();
    assert!(
        asked.contains("Discard your edits to onTicketCreate"),
        "{asked}"
    );
    browser.answer_alert(false).await.unwrap();
    let chosen = browser
        .find("#event")
        .await
        .unwrap()
        .property("value")
        .await
        .unwrap();
    assert_eq!(chosen, "onTicketCreate");
    assert!(payload_value(&browser).await.contains("Printer on fire"));
    select_event(&browser, "onTicketUpdate").await;
    browser.answer_alert(true).await.unwrap();
    wait_for_payload(&browser, "onTicketUpdate").await;
    assert_eq!(
        simulate.text().await.unwrap(),
        "Simulate",
        "a new event starts afresh"
    );
    type_payload(&browser, r#"{"data": {"ticket": {"id": 42}}}"#).await;
    browser.press_keys(&[CONTROL, ENTER]).await.unwrap();
    browser.wait_for_text("#simulate", "Failed").await.unwrap();
    assert_eq!(
        simulate.attribute("data-state").await.unwrap().as_deref(),
        Some("failed")
    );
    browser
        .wait_for_text("#error", "no changes in ticket 42")
        .await
        .unwrap();
    browser
        .wait_for_text("#activity", "onTicketUpdate")
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iparams_form_names_a_missing_value_and_saves_what_handlers_see() {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return;
    }
    let dir = app();
    let server = DevServer::start(dir.path()).await;
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!("{}/custom_configs", server.base))
        .await
        .unwrap();
    let team = browser.find("#iparam-team").await.unwrap();
    let save = browser.find("#save-iparams").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while save.property("disabled").await.unwrap() == true {
        assert!(
            std::time::Instant::now() < deadline,
            "the form never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    save.click().await.unwrap();
    browser
        .wait_for_text("#iparams-error", "iparams.team: required")
        .await
        .unwrap();

    team.send_keys("green").await.unwrap();
    browser
        .find("#iparam-priority option[value=\"high\"]")
        .await
        .unwrap();
    browser
        .find("#iparam-priority")
        .await
        .unwrap()
        .select_option("high")
        .await
        .unwrap();
    save.click().await.unwrap();
    browser
        .wait_for_text("#iparams-notice", "Saved")
        .await
        .unwrap();
    let saved = std::fs::read_to_string(dir.path().join(".weir/iparams.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["team"], "green");
    assert_eq!(saved["priority"], "high");

    let run = server
        .simulate(
            "onTicketCreate",
            serde_json::json!({"data": {"ticket": {"subject": "x"}}}),
        )
        .await;
    let console = run["console"].to_string();
    assert!(console.contains("team: green, priority: high"), "{run}");
    server.stop().await;
}

/// A Freshdesk app whose `onAppInstall` refuses, as apps do when the iparams do not let
/// them work; `team` is a required iparam left without a value.
const REFUSING_MANIFEST: &str = r#"{
  "name": "refusing-app",
  "platform-version": "2.3",
  "product": {
    "freshdesk": {
      "events": {
        "onAppInstall": { "handler": "onAppInstallHandler" },
        "onTicketCreate": { "handler": "onTicketCreateHandler" }
      }
    }
  }
}"#;

const REFUSING_SERVER: &str = r#"exports = {
  onAppInstallHandler: function (payload) {
    console.log("installing for team " + payload.iparams.team);
    renderData({ message: "The tracker refused the API key" });
  },
  onTicketCreateHandler: function () {}
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_install_shows_refused_with_its_message_and_warns_of_unset_iparams() {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return;
    }
    let dir = TempDir::new();
    write(dir.path(), "manifest.json", REFUSING_MANIFEST);
    write(dir.path(), "config/iparams.json", IPARAMS);
    write(dir.path(), "server/server.js", REFUSING_SERVER);
    let server = DevServer::start(dir.path()).await;
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!("{}/web/test", server.base))
        .await
        .unwrap();
    browser
        .wait_for_text("#app-name", "refusing-app")
        .await
        .unwrap();
    choose_event(&browser, "onAppInstall").await;
    let simulate = browser.find("#simulate").await.unwrap();
    simulate.click().await.unwrap();
    browser.wait_for_text("#simulate", "Refused").await.unwrap();
    assert_eq!(
        simulate.attribute("data-state").await.unwrap().as_deref(),
        Some("refused")
    );
    let status = browser
        .wait_for_text(
            "#status",
            "onAppInstall refused: The tracker refused the API key",
        )
        .await
        .unwrap();
    assert!(
        status.contains("An install would fail with this message"),
        "{status}"
    );
    let warnings = browser
        .wait_for_text("#warnings", "Required iparams without a value: team")
        .await
        .unwrap();
    assert!(warnings.contains("Installation parameters"), "{warnings}");
    browser
        .wait_for_text("#console", "installing for team undefined")
        .await
        .unwrap();
    // The recent runs list it refused, with its message, not as a success.
    let activity = browser
        .wait_for_text("#activity-list", "The tracker refused the API key")
        .await
        .unwrap();
    assert!(
        activity.to_lowercase().contains("refused"),
        "the badge: {activity}"
    );
    assert!(!activity.to_lowercase().contains("success"), "{activity}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoho_desk_extension_simulates_an_event_and_shows_the_body_its_url_would_receive() {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return;
    }
    let dir = TempDir::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/zoho-desk-extension");
    for file in ["plugin-manifest.json", "resources.json"] {
        std::fs::copy(example.join(file), dir.path().join(file)).unwrap();
    }
    let server = DevServer::start(dir.path()).await;
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!("{}/web/test", server.base))
        .await
        .unwrap();
    select_event(&browser, "Ticket_Update").await;
    wait_for_payload_with(&browser, "prev_state").await;
    browser
        .wait_for_text("#event-info", "extension webhook ticketSync")
        .await
        .unwrap();
    type_payload(
        &browser,
        r#"{"data": {"id": "7", "status": "Closed"}, "prev_state": {"id": "7", "status": "Open"}}"#,
    )
    .await;
    let simulate = browser.find("#simulate").await.unwrap();
    simulate.click().await.unwrap();
    browser.wait_for_text("#simulate", "Success").await.unwrap();
    browser
        .wait_for_text(
            "#status",
            "1 of 1 extension webhook(s) would receive Ticket_Update",
        )
        .await
        .unwrap();
    let shown = browser
        .wait_for_text("#deliveries", "\"eventType\": \"Ticket_Update\"")
        .await
        .unwrap();
    for expected in [
        "https://sync.example.com/zoho/desk/callback?orgId=dev&securityContext=wsc_",
        "\"prevState\": {",
        "\"status\": \"Open\"",
        "\"orgId\": \"dev\"",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }

    // A change the webhook does not watch: its filter stops it, and the page says so.
    type_payload(
        &browser,
        r#"{"data": {"id": "7", "subject": "b"}, "prev_state": {"id": "7", "subject": "a"}}"#,
    )
    .await;
    simulate.click().await.unwrap();
    browser
        .wait_for_text("#simulate", "Filtered out")
        .await
        .unwrap();
    browser
        .wait_for_text("#deliveries", "Not delivered: its filter")
        .await
        .unwrap();
    server.stop().await;
}

//! Drives a tiny page in headless Chromium through the testkit's WebDriver client. Needs
//! `chromium` and `chromium-driver`; fails without them unless `WEIR_SKIP_BROWSER` is set.

use axum::response::Html;
use serde_json::json;
use weir_testkit::browser::{Browser, CONTROL, ENTER, TAB};

const PAGE: &str = r#"<!doctype html>
<html>
<head><title>Weir browser test</title></head>
<body>
  <select id="fruit">
    <option value="apple">Apple</option>
    <option value="pear">Pear</option>
    <option value="plum">Plum</option>
  </select>
  <textarea id="note">placeholder</textarea>
  <button id="go">Go</button>
  <div id="changed"></div>
  <div id="out"></div>
  <script>
    const fruit = document.getElementById("fruit");
    const note = document.getElementById("note");
    const out = document.getElementById("out");
    fruit.addEventListener("change", () => {
      document.getElementById("changed").textContent = "Changed to " + fruit.value;
    });
    // Answers a little later, so that the test has to wait for it.
    document.getElementById("go").addEventListener("click", () => {
      setTimeout(() => { out.textContent = "Clicked: " + note.value + " / " + fruit.value; }, 300);
    });
    note.addEventListener("keydown", (event) => {
      if (event.ctrlKey && event.key === "Enter") {
        event.preventDefault();
        out.textContent = "Ctrl+Enter: " + note.value;
      }
    });
  </script>
</body>
</html>"#;

async fn serve_page() -> String {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { Html(PAGE) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/")
}

#[tokio::test]
async fn drives_a_form_in_headless_chromium() {
    if Browser::skip_requested() {
        eprintln!("WEIR_SKIP_BROWSER is set: skipping the browser test");
        return;
    }
    let started = std::time::Instant::now();
    let url = serve_page().await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Weir browser test");

    let fruit = browser.find("#fruit").await.unwrap();
    assert_eq!(
        fruit.attribute("id").await.unwrap().as_deref(),
        Some("fruit")
    );
    assert_eq!(fruit.attribute("data-missing").await.unwrap(), None);
    fruit.select_option("pear").await.unwrap();
    assert_eq!(fruit.property("value").await.unwrap(), json!("pear"));
    let changed = browser.wait_for_text("#changed", "pear").await.unwrap();
    assert_eq!(changed, "Changed to pear");

    let note = browser.find("#note").await.unwrap();
    note.clear().await.unwrap();
    assert_eq!(note.property("value").await.unwrap(), json!(""));
    note.send_keys("Hello from WebDriver").await.unwrap();
    assert_eq!(
        note.property("value").await.unwrap(),
        json!("Hello from WebDriver")
    );

    browser.find("#go").await.unwrap().click().await.unwrap();
    let out = browser.wait_for_text("#out", "Clicked:").await.unwrap();
    assert_eq!(out, "Clicked: Hello from WebDriver / pear");

    // Special keys: ENTER types a newline, TAB moves the focus on to the button.
    note.send_keys(&format!("{ENTER}again{TAB}")).await.unwrap();
    let focused = browser
        .execute("return document.activeElement.id", &[])
        .await;
    assert_eq!(focused.unwrap(), json!("go"));
    let script = "return arguments[0].value.split('\\n').length + arguments[1]";
    let lines = browser.execute(script, &[note.to_json(), json!(10)]).await;
    assert_eq!(lines.unwrap(), json!(12));

    // A chord through the Actions API, in the focused textarea.
    note.click().await.unwrap();
    browser.press_keys(&[CONTROL, ENTER]).await.unwrap();
    let out = browser.wait_for_text("#out", "Ctrl+Enter").await.unwrap();
    // The rendered text, as a user sees it: the div collapses the newline into a space.
    assert_eq!(out, "Ctrl+Enter: Hello from WebDriver again");

    browser.quit().await.unwrap();
    eprintln!("browser test took {:?}", started.elapsed());
}

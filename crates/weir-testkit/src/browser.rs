//! A small W3C WebDriver client for Weir's end-to-end browser tests: it starts
//! `chromedriver`, opens one headless Chromium session and drives pages through it.
//!
//! Why WebDriver over plain `reqwest` instead of a WebDriver crate: the protocol we need is
//! a dozen JSON-over-HTTP commands, and the workspace already has `reqwest`, `serde_json`
//! and `tokio`. The WebDriver crates bring their own HTTP stacks, TLS and many more
//! dependencies to compile on our 2-core machines, for features these tests do not use.
//!
//! Binaries: `WEIR_CHROMEDRIVER` (default `/usr/bin/chromedriver`) and `WEIR_CHROMIUM`
//! (default `/usr/bin/chromium`). Tests fail when they are missing, unless
//! `WEIR_SKIP_BROWSER` is set (see [`Browser::skip_requested`]).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// WebDriver special keys, for [`Element::send_keys`] and [`Browser::press_keys`].
/// In `send_keys`, a modifier stays pressed until [`NULL`] or the end of the text.
pub const NULL: &str = "\u{E000}";
pub const BACKSPACE: &str = "\u{E003}";
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SHIFT: &str = "\u{E008}";
pub const CONTROL: &str = "\u{E009}";
pub const ALT: &str = "\u{E00A}";
pub const ESCAPE: &str = "\u{E00C}";

/// The key under which W3C WebDriver sends and receives element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const FIND_TIMEOUT: Duration = Duration::from_secs(10);
const TEXT_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);

/// A WebDriver error: its code (`no such element`, …; empty when HTTP itself failed) and
/// a message that names the command.
struct Failure {
    code: String,
    message: String,
}

/// One headless Chromium session behind its own chromedriver. Dropping it ends the
/// session and kills chromedriver; [`Browser::quit`] does the same, awaiting both.
pub struct Browser {
    http: reqwest::Client,
    port: u16,
    session: String,
    driver: Child,
    closed: bool,
}

/// An element found on the current page; valid until the page changes.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| default.into(), PathBuf::from)
}

impl Browser {
    pub fn chromedriver_path() -> PathBuf {
        env_path("WEIR_CHROMEDRIVER", "/usr/bin/chromedriver")
    }

    pub fn chromium_path() -> PathBuf {
        env_path("WEIR_CHROMIUM", "/usr/bin/chromium")
    }

    /// Whether both chromedriver and Chromium exist.
    pub fn available() -> bool {
        Self::chromedriver_path().is_file() && Self::chromium_path().is_file()
    }

    /// Whether browser tests should be skipped: only when `WEIR_SKIP_BROWSER` is set.
    pub fn skip_requested() -> bool {
        std::env::var_os("WEIR_SKIP_BROWSER").is_some_and(|v| !v.is_empty())
    }

    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    pub async fn start() -> Result<Browser, String> {
        let (driver_path, chromium) = (Self::chromedriver_path(), Self::chromium_path());
        if !chromium.is_file() {
            return Err(format!(
                "Chromium not found at {} (apt install chromium, set WEIR_CHROMIUM, \
                 or set WEIR_SKIP_BROWSER to skip browser tests)",
                chromium.display()
            ));
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free loopback port: {e}"))?
            .port();
        let mut driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start chromedriver at {}: {e} (apt install chromium-driver, \
                     set WEIR_CHROMEDRIVER, or set WEIR_SKIP_BROWSER to skip browser tests)",
                    driver_path.display()
                )
            })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base = format!("http://127.0.0.1:{port}");

        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = driver.try_wait() {
                return Err(format!(
                    "chromedriver exited ({status}) before it was ready"
                ));
            }
            if let Ok(answer) = http.get(format!("{base}/status")).send().await {
                let body: Value = answer.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    break;
                }
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "chromedriver on port {port} was not ready after {READY_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(POLL).await;
        }

        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            },
        }}});
        let answer = send(
            &http,
            Method::POST,
            &format!("{base}/session"),
            Some(capabilities),
        )
        .await
        .map_err(|f| f.message)?;
        let session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| format!("POST /session answered without a sessionId: {answer}"))?
            .to_owned();
        Ok(Browser {
            http,
            port,
            session,
            driver,
            closed: false,
        })
    }

    /// Sends one command of this session; `path` is relative to `/session/{id}`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}{path}",
            self.port, self.session
        );
        send(&self.http, method, &url, body).await
    }

    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.call(method, path, body).await.map_err(|f| f.message)
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd(Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(drop)
    }

    pub async fn title(&self) -> Result<String, String> {
        let title = self.cmd(Method::GET, "/title", None).await?;
        Ok(title.as_str().unwrap_or_default().to_owned())
    }

    /// The text of the dialog (`alert`, `confirm`, `prompt`) the page shows now.
    pub async fn alert_text(&self) -> Result<String, String> {
        let text = self.cmd(Method::GET, "/alert/text", None).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Answers the page's dialog with OK (`accept`) or Cancel.
    pub async fn answer_alert(&self, accept: bool) -> Result<(), String> {
        let path = if accept {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.cmd(Method::POST, path, Some(json!({})))
            .await
            .map(drop)
    }

    /// Runs `script` as a function body in the page (`arguments[i]` are `args`; pass
    /// elements with [`Element::to_json`]) and returns what it returns.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value, String> {
        let body = json!({"script": script, "args": args});
        self.cmd(Method::POST, "/execute/sync", Some(body)).await
    }

    /// Finds the first element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Result<Element<'_>, String> {
        let started = Instant::now();
        loop {
            match self.find_now("", css).await {
                Err(f) if f.code == "no such element" && started.elapsed() < FIND_TIMEOUT => {
                    tokio::time::sleep(POLL).await
                }
                Err(f) if f.code == "no such element" => {
                    return Err(format!(
                        "no element matched `{css}` within {FIND_TIMEOUT:?}"
                    ));
                }
                other => return other.map_err(|f| f.message),
            }
        }
    }

    /// One attempt at finding `css`, under the element `scope` (a path such as
    /// `/element/{id}`) or in the whole page (`""`).
    async fn find_now(&self, scope: &str, css: &str) -> Result<Element<'_>, Failure> {
        let query = json!({"using": "css selector", "value": css});
        let found = self
            .call(Method::POST, &format!("{scope}/element"), Some(query))
            .await?;
        match found[ELEMENT_KEY].as_str() {
            Some(id) => Ok(Element {
                browser: self,
                id: id.to_owned(),
            }),
            None => Err(Failure {
                code: String::new(),
                message: format!("finding `{css}` answered without an element: {found}"),
            }),
        }
    }

    /// Polls the text of the element matching `css` until it contains `expected` (up to
    /// 15 s) and returns that text; the error says what the text was at the end.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Result<String, String> {
        let started = Instant::now();
        let mut last = format!("no element matched `{css}`");
        while started.elapsed() < TEXT_TIMEOUT {
            match self.find_now("", css).await {
                Ok(element) => match element.text().await {
                    Ok(text) if text.contains(expected) => return Ok(text),
                    Ok(text) => last = format!("last text seen: {text:?}"),
                    Err(e) => last = e,
                },
                Err(f) if f.code == "no such element" => {}
                Err(f) => return Err(f.message),
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!(
            "`{css}` did not contain {expected:?} within {TEXT_TIMEOUT:?}; {last}"
        ))
    }

    /// Presses `keys` together as a chord (e.g. `&[CONTROL, ENTER]`) in the focused
    /// element, through the Actions API, then releases them in reverse order.
    pub async fn press_keys(&self, keys: &[&str]) -> Result<(), String> {
        let down = keys.iter().map(|k| json!({"type": "keyDown", "value": k}));
        let up = keys
            .iter()
            .rev()
            .map(|k| json!({"type": "keyUp", "value": k}));
        let actions: Vec<Value> = down.chain(up).collect();
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(Method::POST, "/actions", Some(body)).await?;
        self.cmd(Method::DELETE, "/actions", None).await.map(drop)
    }

    /// Ends the session and stops chromedriver, awaiting both.
    pub async fn quit(mut self) -> Result<(), String> {
        self.closed = true;
        let ended = self.cmd(Method::DELETE, "", None).await.map(drop);
        let _ = self.driver.kill().await;
        ended
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            delete_session_blocking(self.port, &self.session);
        }
        let _ = self.driver.start_kill();
    }
}

/// Best effort `DELETE /session/{id}` without a runtime, so that Chromium exits with it.
fn delete_session_blocking(port: u16, session: &str) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Connection: close\r\nContent-Length: 0\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read(&mut [0; 512]); // The answer comes once Chromium has quit.
    }
}

/// Sends one WebDriver request and unwraps `value`, or explains what went wrong.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, Failure> {
    let path = url.splitn(4, '/').nth(3).unwrap_or(url);
    let what = match &body {
        Some(body) => format!("WebDriver {method} /{path} {}", shorten(&body.to_string())),
        None => format!("WebDriver {method} /{path}"),
    };
    let mut request = http.request(method.clone(), url);
    if method == Method::POST {
        request = request.json(&body.unwrap_or_else(|| json!({})));
    }
    let failed = |code: &str, message: String| Failure {
        code: code.into(),
        message,
    };
    let answer = request
        .send()
        .await
        .map_err(|e| failed("", format!("{what}: {e}")))?;
    let status = answer.status();
    let text = answer
        .text()
        .await
        .map_err(|e| failed("", format!("{what}: {e}")))?;
    let mut json: Value = serde_json::from_str(&text).map_err(|_| {
        failed(
            "",
            format!("{what}: HTTP {status}, not JSON: {}", shorten(&text)),
        )
    })?;
    let value = json["value"].take();
    if status.is_success() {
        return Ok(value);
    }
    let code = value["error"].as_str().unwrap_or_default();
    let message = value["message"].as_str().unwrap_or(&text);
    Err(failed(
        code,
        format!("{what} failed (HTTP {status}): {code}: {message}"),
    ))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl Element<'_> {
    /// This element as a script argument for [`Browser::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    async fn cmd(&self, method: Method, what: &str, body: Option<Value>) -> Result<Value, String> {
        let path = format!("/element/{}{what}", self.id);
        self.browser.cmd(method, &path, body).await
    }

    pub async fn click(&self) -> Result<(), String> {
        self.cmd(Method::POST, "/click", None).await.map(drop)
    }

    /// Types `text`, which may contain special keys such as [`ENTER`] or [`CONTROL`].
    pub async fn send_keys(&self, text: &str) -> Result<(), String> {
        self.cmd(Method::POST, "/value", Some(json!({"text": text})))
            .await
            .map(drop)
    }

    pub async fn clear(&self) -> Result<(), String> {
        self.cmd(Method::POST, "/clear", None).await.map(drop)
    }

    /// The rendered text, as the user sees it.
    pub async fn text(&self) -> Result<String, String> {
        let text = self.cmd(Method::GET, "/text", None).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// The HTML attribute `name`, `None` when absent.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>, String> {
        let value = self
            .cmd(Method::GET, &format!("/attribute/{name}"), None)
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// The DOM property `name` (e.g. the current `value` of an input).
    pub async fn property(&self, name: &str) -> Result<Value, String> {
        self.cmd(Method::GET, &format!("/property/{name}"), None)
            .await
    }

    /// Selects the option with this `value` in a `<select>` by clicking it, as a user
    /// would; the page sees `input` and `change` events.
    pub async fn select_option(&self, value: &str) -> Result<(), String> {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let css = format!("option[value=\"{escaped}\"]");
        let scope = format!("/element/{}", self.id);
        let option = self
            .browser
            .find_now(&scope, &css)
            .await
            .map_err(|f| f.message)?;
        option.click().await
    }
}

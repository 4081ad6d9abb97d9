//! `weir dev DIR --port 0` as a child process: what it printed before listening, and a
//! small client for its JSON API (no authentication: it listens on loopback only).

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::Reply;

/// How long `weir dev` may take to listen, or to stop, or to fail on an invalid app.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct DevServer {
    child: Child,
    /// `http://127.0.0.1:<port>`, from the `weir listening on` line.
    pub base: String,
    /// Every line printed before `weir listening on …`.
    pub printed: Vec<String>,
    /// Lines printed after it (stdout is kept drained so that a print never fails).
    pub later: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl DevServer {
    /// `weir dev <dir> --port 0`.
    pub async fn start(dir: &Path) -> DevServer {
        DevServer::start_with(dir, &[]).await
    }

    /// `weir dev <dir> --port 0 <extra_args>`, e.g. `--host-override`.
    pub async fn start_with(dir: &Path, extra_args: &[&str]) -> DevServer {
        let mut command = Command::from(weir_dev(dir, extra_args));
        command.stderr(Stdio::inherit()).kill_on_drop(true);
        let mut child = command.spawn().expect("start weir dev");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let base = tokio::time::timeout(PATIENCE, async {
            loop {
                let line = lines.next_line().await.unwrap().unwrap_or_else(|| {
                    panic!(
                        "weir dev exited before listening; it printed:\n{}",
                        printed.join("\n")
                    )
                });
                if let Some(url) = line.strip_prefix("weir listening on ") {
                    break url.to_owned();
                }
                printed.push(line);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("weir dev did not listen within {PATIENCE:?}"));
        let later: Arc<Mutex<Vec<String>>> = Arc::default();
        let drained = later.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                drained.lock().unwrap().push(line);
            }
        });
        DevServer {
            child,
            base,
            printed,
            later,
            client: reqwest::Client::new(),
        }
    }

    /// The value of the printed line `  <label>  <value>`, e.g. `target URL`.
    pub fn printed_value(&self, label: &str) -> Option<String> {
        self.printed.iter().find_map(|line| {
            let rest = line.trim_start().strip_prefix(label)?;
            rest.starts_with(' ').then(|| rest.trim().to_owned())
        })
    }

    /// The target URL as printed (`http://localhost:<port>/in/<token>`).
    pub fn target_url(&self) -> String {
        self.printed_value("target URL")
            .unwrap_or_else(|| panic!("no target URL printed:\n{}", self.printed.join("\n")))
    }

    /// The path of the target URL (`/in/<token>`), to request on `base`.
    pub fn target_path(&self) -> String {
        let url = self.target_url();
        let start = url
            .find("/in/")
            .unwrap_or_else(|| panic!("not a target URL: {url}"));
        url[start..].to_owned()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        // Pages are HTML: those come back as a JSON string.
        Reply::read(request.send().await.unwrap(), true).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, vec![]).await
    }

    pub async fn post_json(&self, path: &str, json: Value) -> Reply {
        let body = serde_json::to_vec(&json).unwrap();
        self.call(Method::POST, path, Some("application/json"), body)
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        self.call(Method::POST, path, Some(content_type), body.into())
            .await
    }

    /// `POST /web/simulate` of `event` (the app's first product), which must answer 200;
    /// returns the simulation.
    pub async fn simulate(&self, event: &str, payload: Value) -> Value {
        let reply = self
            .post_json(
                "/web/simulate",
                serde_json::json!({"event": event, "payload": payload}),
            )
            .await;
        assert_eq!(reply.status, 200, "simulate {event}: {}", reply.body);
        reply.body
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("weir dev did not stop within {PATIENCE:?} of SIGTERM"))
            .unwrap();
        assert!(status.success(), "weir dev exited with {status}");
    }
}

/// `weir dev <dir> --port 0 <extra_args>`, quiet, with no inherited token or public
/// URL, its stdout piped.
fn weir_dev(dir: &Path, extra_args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    command
        .arg("dev")
        .arg(dir)
        .args(["--port", "0"])
        .args(extra_args)
        .env("WEIR_LOG", "warn")
        .env_remove("WEIR_ADMIN_TOKEN")
        .env_remove("WEIR_PUBLIC_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// `weir dev <dir> --port 0 <extra_args>` run to its end, for apps it must refuse: it
/// must exit on its own, within a minute (it is killed and the test fails otherwise).
pub fn weir_dev_output(dir: &Path, extra_args: &[&str]) -> Output {
    let child = weir_dev(dir, extra_args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir dev");
    let pid = child.id().to_string();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(PATIENCE) {
        Ok(output) => output.expect("wait for weir dev"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            panic!("weir dev was still running after {PATIENCE:?}: it should have refused the app")
        }
    }
}

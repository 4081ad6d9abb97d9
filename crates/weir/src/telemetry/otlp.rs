//! Trace export over OTLP/HTTP with JSON bodies (opentelemetry.io/docs/specs/otlp), which
//! every OpenTelemetry collector and most tracing back ends accept on `/v1/traces`.
//!
//! Our own small exporter rather than the opentelemetry crates: it needs nothing beyond
//! what Weir already builds (reqwest, serde_json), where the SDK, its OTLP exporter and
//! the tracing bridge would add a dozen crates to every build for a feature few turn on.
//!
//! Traces are best effort: closed spans wait in a bounded queue, a thread sends them in
//! batches, and when the queue is full or the collector does not answer, spans are dropped
//! and counted, never blocking a request or an event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value as Json, json};

use super::spans::{Attribute, FinishedSpan, SpanKind, Value};

/// Spans waiting to be sent, at most.
const QUEUE: usize = 8192;
/// Spans in one request, at most.
const BATCH: usize = 512;
/// How long the first span of a batch waits for others.
const LINGER: Duration = Duration::from_millis(500);
/// How long a shutdown waits for the last batch.
const LAST_BATCH_WAIT: Duration = Duration::from_secs(3);
/// A collector that does not answer is said once a minute, not once a batch.
const COMPLAIN_EVERY: Duration = Duration::from_secs(60);

/// Where traces go and how.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub traces_url: url::Url,
    /// Extra request headers, e.g. a hosted back end's API key.
    pub headers: Vec<(String, String)>,
    pub service_name: String,
}

impl OtlpConfig {
    /// From `--otlp-endpoint` (a collector's base URL, `http://collector:4318`, or the full
    /// traces URL), else OpenTelemetry's own variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// (the full URL), `OTEL_EXPORTER_OTLP_ENDPOINT` (the base), `OTEL_EXPORTER_OTLP_HEADERS`
    /// (`key=value,…`), `OTEL_SERVICE_NAME`. `None`: no traces are exported.
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<OtlpConfig>> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let (text, source) = match (flag, env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
            (Some(flag), _) => (flag.to_owned(), "--otlp-endpoint"),
            (None, Some(full)) => (full, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            (None, None) => match env("OTEL_EXPORTER_OTLP_ENDPOINT") {
                Some(base) => (base, "OTEL_EXPORTER_OTLP_ENDPOINT"),
                None => return Ok(None),
            },
        };
        let mut traces_url = url::Url::parse(text.trim())
            .with_context(|| format!("{source}: {text:?} is not a URL"))?;
        if !matches!(traces_url.scheme(), "http" | "https") {
            bail!("{source}: {text:?} must be an http or https URL");
        }
        let is_full = source == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            || traces_url
                .path()
                .trim_end_matches('/')
                .ends_with("/v1/traces");
        if !is_full {
            let base = traces_url.path().trim_end_matches('/').to_owned();
            traces_url.set_path(&format!("{base}/v1/traces"));
        }
        let headers = match env("OTEL_EXPORTER_OTLP_HEADERS") {
            Some(list) => parse_headers(&list)?,
            None => Vec::new(),
        };
        let service_name = env("OTEL_SERVICE_NAME").unwrap_or_else(|| "weir".to_owned());
        Ok(Some(OtlpConfig {
            traces_url,
            headers,
            service_name,
        }))
    }
}

/// `key=value,key2=value2`, values percent-decoded as the variable's spec says.
fn parse_headers(list: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').with_context(|| {
                format!("OTEL_EXPORTER_OTLP_HEADERS: {pair:?} is not key=value")
            })?;
            let value = url::form_urlencoded::parse(format!("v={}", value.trim()).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            Ok((key.trim().to_owned(), value))
        })
        .collect()
}

enum Message {
    Span(Box<FinishedSpan>),
    /// Send what waits, answer, and stop.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Where the span layer leaves closed spans.
#[derive(Clone)]
pub struct Queue {
    sender: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl Queue {
    /// Takes the span if there is room; otherwise counts it as dropped.
    pub fn offer(&self, span: FinishedSpan) {
        match self.sender.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The thread that sends batches of spans to the collector.
pub struct Exporter {
    queue: Queue,
    thread: std::thread::JoinHandle<()>,
}

impl Exporter {
    /// `None` when the OS refuses the exporter's thread: Weir runs on, without traces,
    /// and says so.
    pub fn start(config: OtlpConfig) -> Option<Exporter> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let queue = Queue {
            sender,
            dropped: dropped.clone(),
        };
        let started = std::thread::Builder::new()
            .name("weir-otlp".into())
            .spawn(move || send_batches(config, receiver, dropped));
        match started {
            Ok(thread) => Some(Exporter { queue, thread }),
            Err(error) => {
                eprintln!("weir: traces are not exported: no thread for the exporter ({error})");
                None
            }
        }
    }

    pub fn queue(&self) -> Queue {
        self.queue.clone()
    }

    pub fn flush_and_stop(self) {
        let (done, finished) = std::sync::mpsc::channel();
        if self.queue.sender.send(Message::Flush(done)).is_ok() {
            let _ = finished.recv_timeout(LAST_BATCH_WAIT);
        }
        drop(self.thread);
    }
}

fn send_batches(config: OtlpConfig, receiver: Receiver<Message>, dropped: Arc<AtomicU64>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "traces are not exported: no runtime for the exporter");
            return;
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut complained: Option<Instant> = None;
    while let Ok(first) = receiver.recv() {
        let (batch, flushed) = gather(first, &receiver);
        if !batch.is_empty() {
            let body = encode(&config, &batch);
            let sent = runtime.block_on(post(&client, &config, body));
            if let Err(why) = sent {
                dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                if complained.is_none_or(|at| at.elapsed() >= COMPLAIN_EVERY) {
                    complained = Some(Instant::now());
                    let dropped = dropped.load(Ordering::Relaxed);
                    tracing::warn!(collector = %config.traces_url, dropped, "traces not exported: {why}");
                }
            }
        }
        if let Some(done) = flushed {
            let _ = done.send(());
            return;
        }
    }
}

/// The spans that arrive within the linger time of the first, up to a batch; and the
/// flush request, if one came.
fn gather(
    first: Message,
    receiver: &Receiver<Message>,
) -> (Vec<FinishedSpan>, Option<std::sync::mpsc::Sender<()>>) {
    let mut batch = Vec::new();
    let mut next = Some(first);
    let until = Instant::now() + LINGER;
    while let Some(message) = next.take() {
        match message {
            Message::Span(span) => batch.push(*span),
            Message::Flush(done) => {
                batch.extend(receiver.try_iter().filter_map(|m| match m {
                    Message::Span(span) => Some(*span),
                    Message::Flush(_) => None,
                }));
                return (batch, Some(done));
            }
        }
        if batch.len() >= BATCH {
            break;
        }
        let left = until.saturating_duration_since(Instant::now());
        next = receiver.recv_timeout(left).ok();
    }
    (batch, None)
}

async fn post(client: &reqwest::Client, config: &OtlpConfig, body: Json) -> Result<(), String> {
    let mut request = client.post(config.traces_url.clone()).json(&body);
    for (name, value) in &config.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the collector answered {}", response.status()))
    }
}

/// An `ExportTraceServiceRequest` in OTLP's JSON encoding: ids in hex, 64-bit integers
/// as strings.
fn encode(config: &OtlpConfig, spans: &[FinishedSpan]) -> Json {
    let resource = [
        ("service.name", Value::Text(config.service_name.clone())),
        (
            "service.version",
            Value::Text(env!("CARGO_PKG_VERSION").to_owned()),
        ),
        ("process.pid", Value::Int(i64::from(std::process::id()))),
    ]
    .map(|(key, value)| attribute(key, &value));
    json!({"resourceSpans": [{
        "resource": {"attributes": resource},
        "scopeSpans": [{
            "scope": {"name": "weir", "version": env!("CARGO_PKG_VERSION")},
            "spans": spans.iter().map(encode_span).collect::<Vec<_>>(),
        }],
    }]})
}

fn encode_span(span: &FinishedSpan) -> Json {
    let mut encoded = json!({
        "traceId": span.trace.to_string(),
        "spanId": span.id.to_string(),
        "name": span.name,
        "kind": match span.kind {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
        },
        "startTimeUnixNano": nanos(span.started),
        "endTimeUnixNano": nanos(span.ended),
        "attributes": attributes(&span.attributes),
        "events": span.events.iter().map(|event| json!({
            "timeUnixNano": nanos(event.at),
            "name": event.message,
            "attributes": attributes(&event.attributes),
        })).collect::<Vec<_>>(),
    });
    if let Some(parent) = span.parent {
        encoded["parentSpanId"] = json!(parent.to_string());
    }
    if let Some(message) = &span.error {
        encoded["status"] = json!({"code": 2, "message": message});
    }
    encoded
}

fn attributes(list: &[Attribute]) -> Vec<Json> {
    list.iter()
        .map(|(key, value)| attribute(key, value))
        .collect()
}

fn attribute(key: &str, value: &Value) -> Json {
    let value = match value {
        Value::Text(text) => json!({"stringValue": text}),
        Value::Int(int) => json!({"intValue": int.to_string()}),
        Value::Float(float) => json!({"doubleValue": float}),
        Value::Bool(boolean) => json!({"boolValue": boolean}),
    };
    json!({"key": key, "value": value})
}

fn nanos(at: SystemTime) -> String {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_base_url_gains_the_traces_path_and_a_full_one_is_kept() {
        let resolve = |flag: Option<&str>, env: &[(&str, &str)]| {
            OtlpConfig::resolve(flag, env_of(env))
                .unwrap()
                .map(|c| c.traces_url.to_string())
        };
        let base = Some("http://collector:4318");
        assert_eq!(
            resolve(base, &[]).as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        let full = Some("https://otlp.example/v1/traces");
        assert_eq!(resolve(full, &[]).as_deref(), full);
        let standard = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/otlp/")];
        assert_eq!(
            resolve(None, &standard).as_deref(),
            Some("http://c:4318/otlp/v1/traces")
        );
        let exact = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9/spans")];
        assert_eq!(resolve(None, &exact).as_deref(), Some("http://c:9/spans"));
        assert_eq!(resolve(None, &[]), None, "no collector, no export");
    }

    #[test]
    fn headers_and_service_name_come_from_the_standard_variables() {
        let env = env_of(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=abc%3D%3D, team = ops",
            ),
            ("OTEL_SERVICE_NAME", "weir-eu"),
        ]);
        let config = OtlpConfig::resolve(Some("http://c:4318"), env)
            .unwrap()
            .unwrap();
        assert_eq!(
            config.headers,
            vec![
                ("x-api-key".to_owned(), "abc==".to_owned()),
                ("team".to_owned(), "ops".to_owned())
            ]
        );
        assert_eq!(config.service_name, "weir-eu");
    }

    #[test]
    fn bad_settings_are_refused_with_their_source() {
        let refused = |flag: &str| {
            OtlpConfig::resolve(Some(flag), env_of(&[]))
                .unwrap_err()
                .to_string()
        };
        assert!(refused("collector:4318").contains("--otlp-endpoint"));
        assert!(refused("ftp://c/").contains("http or https"));
        let headers = env_of(&[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")]);
        let error = OtlpConfig::resolve(Some("http://c"), headers).unwrap_err();
        assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_HEADERS"));
    }
}

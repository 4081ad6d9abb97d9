//! A tracing layer that records each span (its ids, times, fields, and the log lines
//! written inside it) and hands it, once closed, to the trace exporter.
//!
//! Trace ids pass from parent to child span within the process; a root span with a
//! `traceparent` field (an HTTP request's header) joins the caller's trace instead.

use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::otlp::Queue;
use super::trace_context::{SpanId, TraceId, parse_traceparent};

/// Log lines kept per span; a loop that logs is not a reason to grow without bound.
const EVENTS_PER_SPAN: usize = 32;

/// The field that carries a caller's `traceparent` into a root span.
const TRACEPARENT_FIELD: &str = "traceparent";
/// The field that says what kind of span this is (`server`, `client`, …), OpenTelemetry's
/// convention for tracing spans.
const KIND_FIELD: &str = "otel.kind";

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

pub type Attribute = (String, Value);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Internal,
    Server,
    Client,
}

/// A log line written inside a span.
#[derive(Debug)]
pub struct SpanEvent {
    pub at: SystemTime,
    pub message: String,
    pub attributes: Vec<Attribute>,
}

/// A span that has ended, ready to export.
#[derive(Debug)]
pub struct FinishedSpan {
    pub name: &'static str,
    pub trace: TraceId,
    pub id: SpanId,
    pub parent: Option<SpanId>,
    pub kind: SpanKind,
    pub started: SystemTime,
    pub ended: SystemTime,
    pub attributes: Vec<Attribute>,
    pub events: Vec<SpanEvent>,
    /// The message of the first error logged inside it: the span failed.
    pub error: Option<String>,
}

/// A span still open, kept in its extensions.
struct OpenSpan {
    trace: TraceId,
    id: SpanId,
    parent: Option<SpanId>,
    kind: SpanKind,
    started: SystemTime,
    attributes: Vec<Attribute>,
    events: Vec<SpanEvent>,
    error: Option<String>,
}

pub struct SpanLayer {
    queue: Queue,
}

impl SpanLayer {
    pub fn new(queue: Queue) -> Self {
        SpanLayer { queue }
    }
}

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let local_parent = span.parent().and_then(|parent| {
            let extensions = parent.extensions();
            extensions
                .get::<OpenSpan>()
                .map(|open| (open.trace, open.id))
        });
        let remote_parent = fields.traceparent.as_deref().and_then(parse_traceparent);
        let (trace, parent) = match (local_parent, remote_parent) {
            (Some((trace, parent)), _) => (trace, Some(parent)),
            (None, Some(remote)) => (remote.trace, Some(remote.span)),
            (None, None) => (TraceId::random(), None),
        };
        span.extensions_mut().insert(OpenSpan {
            trace,
            id: SpanId::random(),
            parent,
            kind: fields.kind.unwrap_or(SpanKind::Internal),
            started: SystemTime::now(),
            attributes: fields.attributes,
            events: Vec::new(),
            error: None,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
            for (key, value) in fields.attributes {
                match open.attributes.iter_mut().find(|(k, _)| *k == key) {
                    Some(existing) => existing.1 = value,
                    None => open.attributes.push((key, value)),
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let Some(open) = extensions.get_mut::<OpenSpan>() else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.message.unwrap_or_default();
        if *event.metadata().level() == Level::ERROR && open.error.is_none() {
            open.error = Some(message.clone());
        }
        if open.events.len() < EVENTS_PER_SPAN {
            open.events.push(SpanEvent {
                at: SystemTime::now(),
                message,
                attributes: fields.attributes,
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<OpenSpan>() else {
            return;
        };
        self.queue.offer(FinishedSpan {
            name: span.metadata().name(),
            trace: open.trace,
            id: open.id,
            parent: open.parent,
            kind: open.kind,
            started: open.started,
            ended: SystemTime::now(),
            attributes: open.attributes,
            events: open.events,
            error: open.error,
        });
    }
}

/// The fields of a span or a log line, as attributes; `message`, `traceparent` and
/// `otel.kind` are set apart.
#[derive(Default)]
struct Fields {
    attributes: Vec<Attribute>,
    message: Option<String>,
    traceparent: Option<String>,
    kind: Option<SpanKind>,
}

impl Fields {
    fn add(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::Text(text)) => self.message = Some(text),
            (TRACEPARENT_FIELD, Value::Text(text)) => self.traceparent = Some(text),
            (KIND_FIELD, Value::Text(kind)) => {
                self.kind = Some(match kind.as_str() {
                    "server" => SpanKind::Server,
                    "client" => SpanKind::Client,
                    _ => SpanKind::Internal,
                })
            }
            (name, value) => self.attributes.push((name.to_owned(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, Value::Text(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, Value::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value =
            i64::try_from(value).map_or_else(|_| Value::Text(value.to_string()), Value::Int);
        self.add(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, Value::Float(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, Value::Bool(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.add(field, Value::Text(format!("{value:?}")));
    }
}

//! What Weir tells the people who run it: logs on stderr (text or JSON lines) and,
//! optionally, traces exported over OTLP/HTTP to a collector.
//!
//! Logs and traces are filtered apart: `WEIR_LOG` decides what is logged, while the trace
//! exporter also takes the spans of single HTTP requests (debug level, so that they never
//! prefix a log line nor cost anything when no collector is configured).

mod otlp;
mod spans;
mod trace_context;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub use otlp::OtlpConfig;

/// How logs are written to stderr.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Keeps the trace exporter alive; dropping it sends the spans still waiting (for a
/// bounded time), so that the last requests before a shutdown are not lost.
pub struct Telemetry {
    exporter: Option<otlp::Exporter>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(exporter) = self.exporter.take() {
            exporter.flush_and_stop();
        }
    }
}

/// Installs logging, and trace export when `otlp` names a collector.
/// Colours only on a terminal, and never with `NO_COLOR` set (no-color.org).
pub fn init(format: LogFormat, otlp: Option<OtlpConfig>) -> Telemetry {
    let filter = log_filter(std::env::var("WEIR_LOG").ok().as_deref());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => fmt.with_ansi(ansi).with_filter(filter).boxed(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
    };
    let exporter = otlp.and_then(otlp::Exporter::start);
    let traces = exporter
        .as_ref()
        .map(|exporter| spans::SpanLayer::new(exporter.queue()).with_filter(trace_filter()));
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .init();
    Telemetry { exporter }
}

/// Spans worth a trace: Weir's own at info (events, jobs, deliveries, schedules) and the
/// HTTP server's request spans, which are at debug.
fn trace_filter() -> Targets {
    Targets::new()
        .with_default(Level::INFO)
        .with_target(weir_http::REQUEST_SPAN_TARGET, Level::DEBUG)
}

/// `WEIR_LOG` as a filter; `info` when unset. A value that is not a filter, or that only
/// names a target no log comes from (`WEIR_LOG=json` once muted every log), is said on
/// stderr, and `info` is used.
fn log_filter(spec: Option<&str>) -> Targets {
    let default = || Targets::new().with_default(Level::INFO);
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return default();
    };
    let levels = ["off", "error", "warn", "info", "debug", "trace"];
    let says_a_level = spec.split(',').any(|directive| {
        let level = directive.rsplit('=').next().unwrap_or("").trim();
        levels.contains(&level.to_ascii_lowercase().as_str())
    });
    match spec.parse::<Targets>() {
        Ok(filter) if says_a_level => filter,
        Ok(_) | Err(_) => {
            eprintln!(
                "weir: WEIR_LOG={spec:?} is not a log filter (e.g. \"info\" or \"warn,weir_store=debug\"); \
                 logging at info (for JSON logs, set WEIR_LOG_FORMAT=json)"
            );
            default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters_that_name_no_level_are_refused() {
        let enabled =
            |filter: &Targets, target: &str, level: Level| filter.would_enable(target, &level);
        let default = log_filter(None);
        assert!(enabled(&default, "weir_http", Level::INFO));
        assert!(!enabled(&default, "weir_http", Level::DEBUG));
        let json = log_filter(Some("json"));
        assert!(enabled(&json, "weir_engine", Level::INFO), "not muted");
        let custom = log_filter(Some("warn,weir_store=debug"));
        assert!(enabled(&custom, "weir_store", Level::DEBUG));
        assert!(!enabled(&custom, "weir_http", Level::INFO));
        assert!(enabled(
            &log_filter(Some("weir_store=trace")),
            "weir_store",
            Level::TRACE
        ));
    }

    #[test]
    fn request_spans_are_traced_but_not_logged() {
        let target = weir_http::REQUEST_SPAN_TARGET;
        assert!(trace_filter().would_enable(target, &Level::DEBUG));
        assert!(!log_filter(None).would_enable(target, &Level::DEBUG));
        assert!(!trace_filter().would_enable("weir_store", &Level::DEBUG));
    }
}

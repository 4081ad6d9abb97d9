//! `weir`: the command line. Each subcommand is a module; this file only dispatches.

mod admin_token;
mod app_dir;
mod config;
mod dev;
mod secret_key;
mod serve;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "Weir: a self-hosted app-events platform"
)]
struct Cli {
    /// How logs are written to stderr: `text` for people, `json` (one object a line, with
    /// the fields of the spans it happened in: event, invocation, delivery ids) for log
    /// collectors
    #[arg(
        long,
        global = true,
        env = "WEIR_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Weir server: the operator API, inbound webhooks and the workers.
    Serve(Box<config::ServeArgs>),
    /// Check an app folder as an upload is checked (declarations, syntax, and what the
    /// code's top level exports): every problem, or a summary.
    Validate {
        /// The app folder (holding manifest.json)
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run an app folder locally: the event simulator, its iparams form and its target
    /// URL, on http://localhost:10001, with state kept in DIR/.weir/.
    Dev(dev::DevArgs),
    /// Secrets at rest: how many each key seals, and re-sealing them all under the
    /// current key after a key rotation.
    Secrets(secret_key::SecretsArgs),
    /// Validate an app folder, then write dist/<name>-<version>.zip.
    Pack {
        /// The app folder (holding manifest.json)
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// A command that fails says why in one line (with its causes) and exits 1: a mistake in
/// the configuration or the app folder is not a crash, so no backtrace is printed, even
/// with `RUST_BACKTRACE` set (a panic still prints one).
fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    let succeeded = |ok: bool| {
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    };
    match command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve::run(args.resolve()?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(dev::run(args)).map(succeeded)
        }
        Command::Secrets(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(secret_key::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { dir } => validate::validate(&dir).map(succeeded),
        Command::Pack { dir } => validate::pack(&dir).map(succeeded),
    }
}

/// Logs go to stderr; `WEIR_LOG` filters them (e.g. `info`, `warn,weir_store=debug`).
/// Colours only on a terminal, and never with `NO_COLOR` set (no-color.org).
fn init_logging(format: LogFormat) {
    use tracing_subscriber::prelude::*;

    let filter = log_filter(std::env::var("WEIR_LOG").ok().as_deref());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry.with(layer.with_ansi(ansi)).init(),
        LogFormat::Json => registry
            .with(layer.json().with_current_span(true).with_span_list(true))
            .init(),
    }
}

/// `WEIR_LOG` as a filter; `info` when unset. A value that is not a filter, or that only
/// names a target no log comes from (`WEIR_LOG=json` once muted every log), is said on
/// stderr, and `info` is used.
fn log_filter(spec: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::Targets;
    let default = || Targets::new().with_default(tracing::Level::INFO);
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
        use tracing::Level;
        use tracing_subscriber::filter::Targets;
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
}

//! `weir`: the command line. Each subcommand is a module; this file only dispatches.

mod admin_token;
mod app_dir;
mod config;
mod dev;
mod secret_key;
mod serve;
mod telemetry;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use telemetry::{LogFormat, OtlpConfig};

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
    /// Export traces over OTLP/HTTP (JSON) to this collector, e.g.
    /// `http://127.0.0.1:4318`; OpenTelemetry's `OTEL_EXPORTER_OTLP_*` variables are read
    /// when it is not given
    #[arg(long, global = true, env = "WEIR_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
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
    let otlp = match OtlpConfig::resolve(cli.otlp_endpoint.as_deref(), |name| {
        std::env::var(name).ok()
    }) {
        Ok(otlp) => otlp,
        Err(error) => return failed(error),
    };
    let _telemetry = telemetry::init(cli.log_format, otlp);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => failed(error),
    }
}

fn failed(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
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

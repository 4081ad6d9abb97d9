//! `weir`: the command line. Each subcommand is a module; this file only dispatches.

mod admin_token;
mod app_dir;
mod config;
mod dev;
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
    /// Validate an app folder, then write dist/<name>-<version>.zip.
    Pack {
        /// The app folder (holding manifest.json)
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    init_logging();
    let cli = Cli::parse();
    let succeeded = |ok: bool| {
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    };
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve::run(args.resolve()?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(dev::run(args)).map(succeeded)
        }
        Command::Validate { dir } => validate::validate(&dir).map(succeeded),
        Command::Pack { dir } => validate::pack(&dir).map(succeeded),
    }
}

/// Logs go to stderr; `WEIR_LOG` filters them (e.g. `info`, `weir_store=debug`).
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let filter: Targets = std::env::var("WEIR_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
}

//! Weir's one benchmark command. It runs every scenario of issue 20 against the release
//! `weir` binary on SQLite and on PostgreSQL, with one load generator, beside a bare HTTP
//! server measured in the same run (the ceiling), and writes `BENCHMARKS.md`.
//!
//! `bench/run [--quick] [--out BENCHMARKS.md]` builds both in release and runs this;
//! `weir-bench --weir <path to weir> …` runs it on a binary already built. PostgreSQL is
//! the server of `WEIR_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! a fresh database for each node.

mod cpu;
mod load;
mod node;
mod report;
mod scenarios;
mod servers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::load::{Bound, Target};
use crate::node::Backend;
use crate::report::Figure;
use crate::scenarios::{Bench, Scale};

struct Options {
    quick: bool,
    out: PathBuf,
    weir: PathBuf,
    backends: Vec<Backend>,
    /// The groups of scenarios to run: all of them unless `--part` names some.
    parts: Vec<&'static str>,
    /// `--seconds`: how long closed-loop and paced runs last instead (long runs to profile).
    seconds: Option<u64>,
    /// `--serve-ceiling`: be the ceiling's own process (`servers::ceiling_process`).
    serve_ceiling: bool,
}

/// The groups of scenarios, by the name `--part` takes.
const PARTS: [&str; 3] = ["ingest", "workers", "backlog"];

fn options() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        quick: false,
        out: PathBuf::from("BENCHMARKS.md"),
        weir: std::env::current_exe()?.with_file_name("weir"),
        backends: vec![Backend::Sqlite, Backend::Postgres],
        parts: Vec::new(),
        seconds: None,
        serve_ceiling: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => options.out = args.next().context("--out needs a path")?.into(),
            "--weir" => options.weir = args.next().context("--weir needs a path")?.into(),
            "--only" => {
                options.backends = match args.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    _ => bail!("--only takes sqlite or postgres"),
                }
            }
            "--part" => {
                let part = args.next().unwrap_or_default();
                match PARTS.iter().find(|known| **known == part) {
                    Some(known) => options.parts.push(known),
                    None => bail!("--part takes one of {}", PARTS.join(", ")),
                }
            }
            "--serve-ceiling" => options.serve_ceiling = true,
            "--seconds" => {
                let seconds = args.next().and_then(|s| s.parse().ok());
                options.seconds = Some(seconds.context("--seconds takes a whole number")?);
            }
            other => bail!(
                "unknown argument {other}; usage: weir-bench [--quick] [--out FILE] [--weir BIN] [--only sqlite|postgres] [--part ingest|workers|backlog]… [--seconds N]"
            ),
        }
    }
    if !options.serve_ceiling && !options.weir.is_file() {
        bail!(
            "no weir binary at {} (build it with `cargo build --release -p weir`, or pass --weir)",
            options.weir.display()
        );
    }
    if options.parts.is_empty() {
        options.parts = PARTS.to_vec();
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = options()?;
    if options.serve_ceiling {
        return servers::serve_ceiling_here().await;
    }
    let mut scale = if options.quick {
        Scale::QUICK
    } else {
        Scale::FULL
    };
    if let Some(seconds) = options.seconds {
        scale.run = Duration::from_secs(seconds);
        scale.paced = Duration::from_secs(seconds);
    }
    let started = Instant::now();
    let load_before = load_average();
    let client = load::client(scale.connections);
    let (ceiling_base, ceiling_process) = servers::ceiling_process().await?;
    let ceiling_pid = ceiling_process.id().unwrap_or(0);
    let (ceiling, ceiling_cpu) =
        measure_ceiling(&client, &ceiling_base, Some(ceiling_pid), scale).await;
    let (ceiling_in_process, _) =
        measure_ceiling(&client, &servers::ceiling().await, None, scale).await;
    eprintln!("ceiling: {ceiling:.0} requests/s (in the bench's process: {ceiling_in_process:.0})");
    let bench = Bench {
        weir: &options.weir,
        scale,
        receiver: servers::Receiver::start().await,
        third_party: servers::third_party().await,
        client,
        ceiling,
    };
    let mut results: Vec<(Backend, Vec<Figure>)> = Vec::new();
    for backend in &options.backends {
        let mut figures = Vec::new();
        for what in &options.parts {
            eprintln!("{}: {what}…", backend.name());
            let outcome = match *what {
                "ingest" => bench.ingest(*backend).await,
                "workers" => bench.with_workers(*backend).await,
                _ => bench.backlog(*backend).await,
            };
            match outcome {
                Ok(more) => {
                    for figure in &more {
                        eprintln!(
                            "  {} / {}: {} {} {}",
                            figure.section,
                            figure.name,
                            report::number(figure.value),
                            figure.unit,
                            figure.note
                        );
                    }
                    figures.extend(more);
                }
                Err(e) => {
                    eprintln!("  failed: {e:#}");
                    figures
                        .push(Figure::new("Failures", what, f64::NAN, "").note(format!("{e:#}")));
                }
            }
        }
        results.push((*backend, figures));
    }
    let ceilings = Ceilings {
        after: measure_ceiling(&bench.client, &ceiling_base, Some(ceiling_pid), scale)
            .await
            .0,
        cpu: ceiling_cpu,
        in_process: ceiling_in_process,
    };
    let markdown = document(
        &options,
        &bench,
        &ceilings,
        &results,
        started.elapsed(),
        &load_before,
    )
    .await;
    std::fs::write(&options.out, markdown)
        .with_context(|| format!("writing {}", options.out.display()))?;
    eprintln!(
        "wrote {} in {:.0} s",
        options.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Requests a second the bare server at `base` answers the load generator, after a
/// second's warm-up, and the CPU each took when the server is process `pid`.
async fn measure_ceiling(
    client: &reqwest::Client,
    base: &str,
    pid: Option<u32>,
    scale: Scale,
) -> (f64, Option<cpu::PerRequest>) {
    let body =
        serde_json::json!({"issue": {"key": "FD-1", "summary": "x".repeat(900)}}).to_string();
    let target = Target {
        url: format!("{base}/in/anything"),
        bearer: None,
        body: Arc::new(move |_| body.clone().into_bytes()),
    };
    let warm = Bound::Time(Duration::from_secs(1));
    load::closed_loop(client, &target, scale.connections, warm).await;
    load::settle().await;
    let meter = pid.map(cpu::Meter::start);
    let outcome =
        load::closed_loop(client, &target, scale.connections, Bound::Time(scale.run)).await;
    let cpu = meter.map(|meter| meter.per_request(outcome.ok));
    (outcome.per_second(), cpu)
}

/// The ceiling's other measurements, for the record.
struct Ceilings {
    /// The same server measured again at the end of the run.
    after: f64,
    /// The same server run inside the bench's process.
    in_process: f64,
    /// The CPU each request took at the start.
    cpu: Option<cpu::PerRequest>,
}

async fn document(
    options: &Options,
    bench: &Bench<'_>,
    ceilings: &Ceilings,
    results: &[(Backend, Vec<Figure>)],
    took: Duration,
    load_before: &str,
) -> String {
    let command = if options.quick {
        "bench/run --quick"
    } else {
        "bench/run"
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scale = bench.scale;
    format!(
        "# Benchmarks\n\n\
         Written by `{command}` (the `weir-bench` crate) on {date}; it took {took:.0} s. \
         Run it again on an idle machine to reproduce: every figure below comes from one run, \
         and every rate is set beside a ceiling measured in that run.\n\n\
         ## Machine and versions\n\n\
         - CPU: {cpu}, {cores} logical CPUs; RAM {ram}\n\
         - {rustc}\n\
         - {postgres}\n\
         - Weir commit {commit}, release build\n\
         - load average (1 min): {load_before} before the run, {load_after} after\n\n\
         ## How\n\n\
         - Command: `bench/run{quick}` = `cargo build --release -p weir -p weir-bench` then \
           `target/release/weir-bench --out BENCHMARKS.md{quick}` (`--quick`: smaller runs for a smoke test; \
           `--only sqlite|postgres`; `--part ingest|workers|backlog` for some of the scenarios).\n\
         - One load generator for everything: reqwest over loopback, HTTP/1.1, {connections} connections \
           for closed-loop runs of {run} s (8 connections for batches of 100), 1 KB JSON bodies; open-loop \
           (paced) runs for latency, {paced} s each. Before each measured run the bench lets the I/O \
           the runs before left behind finish (`CHECKPOINT` on PostgreSQL, then `sync`), so that no \
           run pays for it: a commit that meets a checkpoint's or the kernel's writeback waits for \
           it (bench/notes.md).\n\
         - **Ceiling**: a bare axum server that reads the body and answers 200, in a process of its \
           own as Weir is (`weir-bench --serve-ceiling`, a multi-threaded tokio runtime like Weir's): \
           {ceiling} requests/s at the start, {ceiling_after} at the end of the run ({ceiling_cpu}). \
           Rates marked \
           \"× ceiling\" are divided by the first. The same server inside the bench's process, \
           where the generator and the server share threads and no request crosses between \
           processes, answered {ceiling_in_process} requests/s.\n\
         - **Weir**: the release `weir serve` binary, SQLite (`synchronous=FULL`, in a temporary \
           directory) or PostgreSQL (`WEIR_TEST_DATABASE_URL`, a fresh database per node). Ingest runs \
           on an API-only node (`--role api`: the acknowledgement path alone); inbound, end to end, \
           latency and handlers on one `api,worker` node; the backlog is stored by an API-only node and \
           drained by an `api,worker` node started on the same data.\n\
         - **Receiver**: a server in the bench process answering 200, counting distinct `webhook-id`s \
           (every delivery must arrive: missing ones are reported) and noting publish→receive from the \
           `bench_sent_us` the bench put in each event's data (one clock).\n\
         - **SQL statements** are counted by the store itself (`weir_store_statements_total` on \
           `/metrics`, every statement either backend sends, transaction control aside): the delta \
           over a run divided by its events or deliveries. `pg_stat_statements` is not loaded on the \
           test server, and the count is the same on both backends this way.\n\
         - Highest sustained rate: the ladder {ladder:?} events/s, one subscription; a rate is sustained \
           when the posts kept pace and every delivery arrived within a second of the last post.\n\
         - Realistic handler: `$db.set` then `$request.post` to a loopback server, spread over \
           {installations} installations (the platform allows 50 `$db` calls a minute per installation).\n\
         - Backlog: {backlog} deliveries (fan-out 10).\n\n\
         ## Figures\n\n{tables}{notes}",
        date = shell("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        took = took.as_secs_f64(),
        cpu = weir_testkit::cpu_model(),
        ram = memory_total(),
        rustc = shell("rustc", &["--version"]),
        postgres = postgres_version().await,
        commit = commit(),
        load_after = load_average(),
        quick = if options.quick { " --quick" } else { "" },
        connections = scale.connections,
        run = scale.run.as_secs(),
        paced = scale.paced.as_secs(),
        ceiling = report::number(bench.ceiling),
        ceiling_after = report::number(ceilings.after),
        ceiling_cpu = ceilings
            .cpu
            .map_or_else(|| "CPU not measured".into(), |cpu| cpu.describe("server")),
        ceiling_in_process = report::number(ceilings.in_process),
        ladder = scale.ladder,
        installations = scale.realistic.0,
        backlog = report::number(scale.backlog as f64),
        tables = report::tables(results),
        notes = notes(),
    )
}

/// What the figures mean and where the time goes (`bench/notes.md`, written by hand from
/// profiles), appended as it is.
fn notes() -> String {
    std::fs::read_to_string("bench/notes.md")
        .map(|notes| format!("\n{}", notes.trim_end()) + "\n")
        .unwrap_or_default()
}

fn shell(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|out| !out.is_empty())
        .unwrap_or_else(|| format!("{program}: unknown"))
}

fn commit() -> String {
    let head = shell("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = !shell("git", &["status", "--porcelain", "--untracked-files=no"])
        .contains("unknown")
        && !std::process::Command::new("git")
            .args(["diff", "--quiet", "HEAD"])
            .status()
            .is_ok_and(|s| s.success());
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

async fn postgres_version() -> String {
    use sqlx::Connection;
    let url = weir_testkit::postgres_admin_url();
    match sqlx::PgConnection::connect(&url).await {
        Ok(mut connection) => sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&mut connection)
            .await
            .map_or_else(
                |e| format!("PostgreSQL: {e}"),
                |v| format!("PostgreSQL {v}"),
            ),
        Err(e) => format!("PostgreSQL: cannot connect ({e})"),
    }
}

fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: f64 = info
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

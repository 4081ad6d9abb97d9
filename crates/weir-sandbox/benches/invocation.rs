//! Handler invocations per second, and their latency, for an app of about 20 KB of
//! JavaScript, against a baseline measured in the same run: the same invocation of an
//! app of a few lines. Each invocation runs isolated, in a fresh runtime and context.
//!
//! `cargo bench -p weir-sandbox --bench invocation`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use weir_core::Package;
use weir_sandbox::{AppCode, Invocation, Limits, NoHost, Sandbox};

const INVOCATIONS: usize = 400;

/// About 20 KB of handlers and helpers, in the style of a real app.
fn big_app() -> String {
    let mut source = String::from("exports = {\n");
    for n in 0..120 {
        source.push_str(&format!(
            "  helper{n}: function (ticket) {{\n    var out = {{ id: ticket.id, n: {n} }};\n    \
             if (ticket.priority > {n} % 4) {{ out.flag = 'high'; }}\n    \
             return JSON.stringify(out).length;\n  }},\n"
        ));
    }
    source.push_str(
        "  onTicketCreateHandler: function (args) { return this.helper7(args.data.ticket); },\n",
    );
    // For the memory measurement: an invocation that stays alive for a while.
    source.push_str(
        "  waitHandler: function (args) { var n = this.helper7(args.data.ticket);\n    \
         return new Promise(function (done) { setTimeout(function () { done(n); }, 600); }); }\n};\n",
    );
    source
}

fn code(source: &str) -> Arc<AppCode> {
    let files: BTreeMap<String, Vec<u8>> =
        [("server/server.js".to_owned(), source.as_bytes().to_vec())]
            .into_iter()
            .collect();
    Arc::new(AppCode::from_package(&Package::from_files(files)))
}

/// Runs `INVOCATIONS` with `threads` JavaScript threads kept busy; returns per-second
/// throughput, the sorted latencies, and the CPU time the process spent per invocation
/// (which, unlike the others, other processes on the machine hardly change).
async fn measure(app: &Arc<AppCode>, threads: usize) -> (f64, Vec<Duration>, Option<f64>) {
    let sandbox = Arc::new(Sandbox::start(threads).unwrap());
    let cpu_before = cpu_nanos();
    let payload =
        json!({"data": {"ticket": {"id": 42, "priority": 3, "subject": "Printer on fire"}}});
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..threads {
        let (sandbox, app, payload) = (sandbox.clone(), app.clone(), payload.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..INVOCATIONS / threads {
                let begun = Instant::now();
                let outcome = sandbox
                    .run(Invocation {
                        code: app.clone(),
                        handler: "onTicketCreateHandler".into(),
                        payload: payload.clone(),
                        host: Arc::new(NoHost),
                        limits: Limits::default(),
                        env: "production",
                    })
                    .await;
                assert_eq!(
                    outcome.status,
                    weir_core::InvocationStatus::Success,
                    "{outcome:?}"
                );
                latencies.push(begun.elapsed());
            }
            latencies
        });
    }
    let mut latencies: Vec<Duration> = tasks.join_all().await.into_iter().flatten().collect();
    let per_second = latencies.len() as f64 / started.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(cpu_nanos())
        .map(|(before, after)| cpu_spent(&before, &after) as f64 / latencies.len() as f64);
    latencies.sort();
    (per_second, latencies, cpu)
}

/// CPU time of each of the process's live threads so far, in ns, by thread id (Linux:
/// the first field of `/proc/self/task/<id>/schedstat`).
fn cpu_nanos() -> Option<BTreeMap<String, u64>> {
    let mut threads = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue; // it ended meanwhile
        };
        let nanos = stat.split_whitespace().next()?.parse().ok()?;
        threads.insert(task.file_name().to_string_lossy().into_owned(), nanos);
    }
    Some(threads)
}

/// What the threads alive at the end spent since `before`. Threads that ended meanwhile
/// (those of an earlier sandbox, idle) are left out rather than subtracted.
fn cpu_spent(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(id, nanos)| nanos - before.get(id).copied().unwrap_or(0).min(*nanos))
        .sum()
}

fn cpu_text(nanos: Option<f64>) -> String {
    nanos.map_or_else(String::new, |n| format!("  CPU {:.0} µs each", n / 1000.0))
}

/// The process's resident memory, from `/proc/self/statm` (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Resident memory while `concurrent` invocations are alive at once, each on a thread of
/// its own: per invocation (threads and their warm runtimes are counted before they
/// start), and per thread with everything it holds (its runtime, what earlier
/// invocations left in it, and the live invocation) after `rounds` invocations each.
async fn memory_per_invocation(
    app: &Arc<AppCode>,
    handler: &str,
    concurrent: usize,
    rounds: usize,
) -> Option<(f64, f64)> {
    let at_start = resident_bytes()?;
    let sandbox = Arc::new(Sandbox::start(concurrent).unwrap());
    let invocation = || Invocation {
        code: app.clone(),
        handler: handler.into(),
        payload: json!({"data": {"ticket": {"id": 42, "priority": 3}}}),
        host: Arc::new(NoHost),
        limits: Limits::default(),
        env: "production",
    };
    let run_all = |sandbox: Arc<Sandbox>| {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrent {
            let (sandbox, invocation) = (sandbox.clone(), invocation());
            tasks.spawn(async move { sandbox.run(invocation).await });
        }
        tasks
    };
    // Every thread makes its runtime once; this is not per-invocation memory.
    for _ in 0..rounds.max(1) {
        run_all(sandbox.clone()).join_all().await;
    }
    let before = resident_bytes()?;
    let running = run_all(sandbox.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = resident_bytes()?;
    running.join_all().await;
    let per_invocation = during.saturating_sub(before) as f64 / concurrent as f64;
    let per_thread = during.saturating_sub(at_start) as f64 / concurrent as f64;
    Some((per_invocation, per_thread))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

/// Set for the child process that measures memory per thread.
const THREAD_MEMORY: &str = "WEIR_BENCH_THREAD_MEMORY";

/// The figure above depends on what the warm-up left in the allocator, which reuses what
/// QuickJS frees. So this one counts all the process holds per JavaScript thread (its
/// runtime, what earlier invocations left in it, and one invocation alive) after 20
/// invocations each, measured in a process of its own that ran nothing before.
fn thread_memory_in_a_fresh_process() {
    let Ok(bench) = std::env::current_exe() else {
        return;
    };
    let Ok(child) = std::process::Command::new(bench)
        .env(THREAD_MEMORY, "1")
        .output()
    else {
        return;
    };
    print!("{}", String::from_utf8_lossy(&child.stdout));
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if std::env::var_os(THREAD_MEMORY).is_some() {
        let app = code(&big_app());
        let measured = runtime.block_on(memory_per_invocation(&app, "waitHandler", 32, 20));
        if let Some((_, bytes)) = measured {
            println!(
                "  memory per JavaScript thread, with one invocation alive after 20 each \
                 (32 threads): {:.0} KiB",
                bytes / 1024.0
            );
        }
        return;
    }
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let big_source = big_app();
        let small = code("exports = { onTicketCreateHandler: function (args) { return args.data.ticket.id; } };");
        let big = code(&big_source);
        let _ = measure(&small, 1).await; // warm up the allocator and threads
        let (baseline, baseline_latency, baseline_cpu) = measure(&small, 1).await;
        let (one, one_latency, one_cpu) = measure(&big, 1).await;
        let (all, _, _) = measure(&big, cores).await;
        println!("isolated handler invocations ({INVOCATIONS} each; {cores} logical CPUs):");
        println!(
            "  baseline, a 1-line app, 1 thread: {baseline:>7.0}/s  p50 {:.2} ms  p99 {:.2} ms{}",
            percentile(&baseline_latency, 0.5),
            percentile(&baseline_latency, 0.99),
            cpu_text(baseline_cpu)
        );
        println!(
            "  {} KB app, 1 thread:             {one:>7.0}/s  p50 {:.2} ms  p99 {:.2} ms  ({:.2}x the baseline){}",
            big_source.len() / 1024,
            percentile(&one_latency, 0.5),
            percentile(&one_latency, 0.99),
            one / baseline,
            cpu_text(one_cpu)
        );
        println!("  {} KB app, {cores} threads:            {all:>7.0}/s  ({:.0}/s per core)", big_source.len() / 1024, all / cores as f64);
        if let Some((bytes, _)) = memory_per_invocation(&big, "waitHandler", 32, 1).await {
            println!(
                "  memory per concurrent invocation ({} KB app, 32 alive at once): {:.0} KiB",
                big_source.len() / 1024,
                bytes / 1024.0
            );
        }
        thread_memory_in_a_fresh_process();
    });
}

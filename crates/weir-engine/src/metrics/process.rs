//! The process's own figures, the standard `process_*` series, read from `/proc/self`
//! when scraped (Linux; elsewhere they are left out).

use super::text;

/// Clock ticks per second and page size as Linux uses them on the platforms Weir ships
/// for; `/proc` reports CPU time in ticks and memory in pages.
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_BYTES: f64 = 4096.0;

pub(crate) fn render(out: &mut String) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let Some(fields) = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace())
    else {
        return;
    };
    let fields: Vec<&str> = fields.collect();
    // After ")": state is field 3 of stat(5), so field n is at index n - 3.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    if let (Some(user), Some(system)) = (field(14), field(15)) {
        text::family(
            out,
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time spent in seconds.",
        );
        text::sample(
            out,
            "process_cpu_seconds_total",
            &[],
            (user + system) / TICKS_PER_SECOND,
        );
    }
    if let Some(virtual_bytes) = field(23) {
        text::family(
            out,
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
        );
        text::sample(out, "process_virtual_memory_bytes", &[], virtual_bytes);
    }
    if let Some(pages) = field(24) {
        text::family(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        text::sample(
            out,
            "process_resident_memory_bytes",
            &[],
            pages * PAGE_BYTES,
        );
    }
    if let Some(start) = start_time_seconds(field(22)) {
        text::family(
            out,
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
        );
        text::sample(out, "process_start_time_seconds", &[], start);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        text::family(
            out,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        );
        text::sample(out, "process_open_fds", &[], fds.count() as f64);
    }
}

/// The boot time (`btime` of `/proc/stat`) plus the process's start, in ticks after boot.
fn start_time_seconds(start_ticks: Option<f64>) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let boot = stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(boot + start_ticks? / TICKS_PER_SECOND)
}

//! Where a run's CPU went, read from `/proc`: Weir's process, PostgreSQL's processes and
//! the load generator (this process), each divided by the requests answered. On two
//! cores a request costing C µs of CPU in all can be answered at most 2,000,000 / C times
//! a second, whatever the server does with the rest.

/// Clock ticks a second in `/proc/*/stat` (`getconf CLK_TCK`: 100 on every Linux port
/// this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes to watch, and their CPU seconds when the meter started.
pub struct Meter {
    server: u32,
    started: Usage,
}

#[derive(Clone, Copy)]
struct Usage {
    server: f64,
    postgres: f64,
    generator: f64,
}

/// CPU microseconds per request, by whom.
#[derive(Clone, Copy, Debug)]
pub struct PerRequest {
    pub server: f64,
    pub postgres: f64,
    pub generator: f64,
}

impl Meter {
    /// Starts counting for the server process `server` (Weir, or the ceiling).
    pub fn start(server: u32) -> Meter {
        Meter {
            server,
            started: usage(server),
        }
    }

    /// The CPU used since the start, per request of `requests`.
    pub fn per_request(&self, requests: u64) -> PerRequest {
        let now = usage(self.server);
        let per = |spent: f64| spent * 1e6 / requests.max(1) as f64;
        PerRequest {
            server: per(now.server - self.started.server),
            postgres: per(now.postgres - self.started.postgres),
            generator: per(now.generator - self.started.generator),
        }
    }
}

impl PerRequest {
    /// The generator's share measured over the load alone (`Meter::per_request` taken
    /// when the load ended), the rest over the whole meter.
    pub fn with_generator_of(self, load: PerRequest) -> PerRequest {
        PerRequest {
            generator: load.generator,
            ..self
        }
    }

    /// Requests a second this machine's cores could answer at this cost, were they
    /// never idle.
    pub fn most_per_second(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores as f64 * 1e6 / (self.server + self.postgres + self.generator)
    }

    /// "CPU per request: Weir 52 µs, PostgreSQL 31 µs, load generator 28 µs: at most
    /// 18,018 requests/s on this machine's cores", the server named `server`.
    pub fn describe(&self, server: &str) -> String {
        let mut said = format!("CPU per request: {server} {:.0} µs", self.server);
        if self.postgres >= 0.5 {
            said.push_str(&format!(", PostgreSQL {:.0} µs", self.postgres));
        }
        said.push_str(&format!(
            ", load generator {:.0} µs: at most {} requests/s on this machine's cores",
            self.generator,
            crate::report::number(self.most_per_second())
        ));
        said
    }
}

fn usage(server: u32) -> Usage {
    Usage {
        server: cpu_seconds(&format!("/proc/{server}/stat"), Own).unwrap_or(f64::NAN),
        postgres: postgres_cpu_seconds(),
        generator: cpu_seconds("/proc/self/stat", Own).unwrap_or(f64::NAN),
    }
}

/// Whose CPU a process's count holds.
#[derive(Clone, Copy)]
enum Counted {
    /// The process's own.
    Own,
    /// Its own and that of its children that ended (PostgreSQL's postmaster: the backends
    /// that exit during a run are counted there, not lost).
    WithEndedChildren,
}
use Counted::{Own, WithEndedChildren};

/// User and system CPU seconds of the process whose `stat` file is `path`.
fn cpu_seconds(path: &str, counted: Counted) -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string(path).ok()?, counted)
}

/// User and system CPU seconds in a `/proc/*/stat` line.
fn stat_cpu_seconds(stat: &str, counted: Counted) -> Option<f64> {
    // The command name, in parentheses, may hold spaces: the fields follow its last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state is field 3 of stat(5); utime 14, stime 15, and the ended
    // children's cutime 16 and cstime 17.
    let ticks = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let own = ticks(14)? + ticks(15)?;
    let children = match counted {
        Own => 0.0,
        WithEndedChildren => ticks(16)? + ticks(17)?,
    };
    Some((own + children) / TICKS_PER_SECOND)
}

/// The CPU seconds of every PostgreSQL process on this machine (its backends, WAL writer,
/// checkpointer…); 0 when the server runs elsewhere.
fn postgres_cpu_seconds() -> f64 {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    processes
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let postgres = stat.split_once(" (postgres) ").is_some();
            postgres.then(|| stat_cpu_seconds(&stat, WithEndedChildren))?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_are_read_past_a_name_with_parentheses() {
        let stat = "4242 (weir (api) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 7 3 20 0 9";
        assert_eq!(stat_cpu_seconds(stat, Own), Some(3.0));
        assert_eq!(stat_cpu_seconds(stat, WithEndedChildren), Some(3.1));
        assert_eq!(stat_cpu_seconds("4242 (cut short) S 1 2", Own), None);
    }

    #[test]
    fn the_cpu_this_process_spends_is_counted() {
        let meter = Meter::start(std::process::id());
        let before = cpu_seconds("/proc/self/stat", Own).expect("this process's stat");
        let mut x = 0u64;
        while cpu_seconds("/proc/self/stat", Own).unwrap() < before + 0.05 {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let spent = meter.per_request(2);
        assert!(spent.generator >= 25_000.0, "half of 50 ms each: {spent:?}");
        assert!(
            spent.server >= 25_000.0,
            "the server here is this process: {spent:?}"
        );
    }
}

//! What there is to deploy: the container image (`Dockerfile`), Weir with PostgreSQL
//! (`compose.yaml`) and the systemd unit (`deploy/weir.service`). Each is checked by the
//! tool that runs it where that tool can run here: `systemd-analyze verify` for the unit,
//! `docker compose config` and `docker build` where Docker is there (the test says when
//! it is not); and always for the promises the docs make of them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether `program args…` runs and succeeds (false when it is not installed).
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
fn the_image_is_multi_stage_unprivileged_and_health_checked() {
    let dockerfile = read("Dockerfile");
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert_eq!(stages, 2, "a build stage and a small runtime stage");
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "root");
    assert!(dockerfile.contains("HEALTHCHECK"), "a health check");
    assert!(dockerfile.contains("/readyz"), "that asks /readyz");
    assert!(dockerfile.contains("EXPOSE 8080"));
    assert!(
        dockerfile.contains("WEIR_LISTEN=0.0.0.0:8080"),
        "reachable from outside"
    );
    let ignored = read(".dockerignore");
    assert!(
        ignored.lines().any(|l| l == "target"),
        "no build output in the context"
    );

    if !succeeds("docker", &["info"]) {
        eprintln!("no Docker daemon here: the image was not built (CI builds it where one runs)");
        return;
    }
    let built = Command::new("docker")
        .args(["build", "-t", "weir:test", "."])
        .current_dir(repo_file(""))
        .status()
        .expect("docker build");
    assert!(built.success(), "docker build failed");
}

#[test]
fn compose_runs_weir_on_postgres_once_it_is_healthy() {
    let compose: Value = yaml_serde::from_str(&read("compose.yaml")).expect("compose.yaml is YAML");
    let services = &compose["services"];
    let weir = &services["weir"];
    let postgres = &services["postgres"];
    assert!(
        postgres["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:"))
    );
    assert!(
        postgres["healthcheck"]["test"].is_array(),
        "postgres says when it is ready"
    );
    assert_eq!(
        weir["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    let url = weir["environment"]["WEIR_DATABASE_URL"]
        .as_str()
        .unwrap_or("");
    assert!(
        url.starts_with("postgres://") && url.contains("@postgres:5432/"),
        "{url}"
    );
    assert!(
        weir["environment"]["WEIR_ADMIN_TOKEN"]
            .as_str()
            .is_some_and(|t| t.contains(":?")),
        "the admin token must be given, never a default"
    );
    let grace = weir["stop_grace_period"].as_str().unwrap_or("0s");
    let grace: u64 = grace.trim_end_matches('s').parse().unwrap_or(0);
    assert!(grace > 30, "longer than the 30 s drain: {grace}");

    if !succeeds("docker", &["compose", "version"]) {
        eprintln!("no `docker compose` here: compose.yaml was checked as YAML only");
        return;
    }
    let checked = Command::new("docker")
        .args(["compose", "-f", "compose.yaml", "config", "--quiet"])
        .env("WEIR_ADMIN_TOKEN", "a-token-for-the-check-only")
        .current_dir(repo_file(""))
        .status()
        .expect("docker compose config");
    assert!(
        checked.success(),
        "docker compose config refused compose.yaml"
    );
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_and_outlasts_the_drain() {
    let unit = read("deploy/weir.service");
    let timeout: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim().parse().ok())
        .expect("TimeoutStopSec");
    assert!(timeout > 30, "the drain takes up to 30 s");
    assert!(unit.contains("KillSignal=SIGTERM"));
    assert!(unit.contains("ExecStart=/usr/local/bin/weir serve"));

    // Verified with this build's binary where the unit expects the installed one.
    let dir = weir_testkit::TempDir::new();
    let local = dir.path().join("weir.service");
    let binary = env!("CARGO_BIN_EXE_weir");
    std::fs::write(&local, unit.replace("/usr/local/bin/weir", binary)).expect("write the unit");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs systemd-analyze ({e}): apt-get install systemd, as .ci/run does"
            )
        });
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

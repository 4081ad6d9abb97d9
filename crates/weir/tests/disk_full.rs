//! A database that cannot take writes is the environment's failure, not the client's:
//! writes answer 503 with `Retry-After` and say why, `/readyz` answers 503 and `/metrics`
//! shows the database as not writable, reads go on, and when writes are possible again
//! they resume without a restart, with nothing acknowledged lost. SQLite on a full tmpfs
//! of its own; PostgreSQL made read-only, as a failed-over or full server is.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;
use support::{Server, Storage};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (and why, on stderr) where this test cannot mount one (not root, no tmpfs).
    fn mount(at: &Path, megabytes: u32) -> Option<Tmpfs> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(at)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Tmpfs(at.to_owned())),
            Ok(output) => {
                let why = String::from_utf8_lossy(&output.stderr);
                eprintln!("SKIPPED: cannot mount a tmpfs for the disk-full test: {why}");
                None
            }
            Err(error) => {
                eprintln!("SKIPPED: cannot run mount for the disk-full test: {error}");
                None
            }
        }
    }

    /// Writes a file until the file system is full.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        // A last partial chunk may fit.
        while file.write_all(&chunk[..512]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

async fn post_event(server: &Server, n: u64) -> support::Reply {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n, "note": "x".repeat(2000)}}});
    server.post("/api/v1/accounts/acme/events", event).await
}

#[tokio::test]
async fn a_full_disk_answers_503_and_writes_resume_when_space_returns() {
    let storage = Storage::sqlite();
    let Some(disk) = Tmpfs::mount(storage.data_dir(), 32) else {
        return;
    };
    let server = Server::start(&storage).await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let posted = post_event(&server, n).await;
        assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
        acknowledged.push(posted.body["id"].as_str().unwrap().to_owned());
    }

    let filler = disk.fill();
    let refused = post_event(&server, 99).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(
        refused.headers.contains_key("retry-after"),
        "{:?}",
        refused.headers
    );
    let message = refused.message();
    assert!(message.contains("the database is unavailable"), "{message}");
    assert!(message.contains("try again later"), "{message}");
    let ready = server.get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.body
    );
    assert!(
        ready.message().contains("does not take writes"),
        "{}",
        ready.body
    );
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "weir_store_writable 0"),
        "{metrics}"
    );
    // Reads go on.
    let shown = server
        .get(&format!("/api/v1/events/{}", acknowledged[0]))
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);

    // Space comes back: writes resume, without a restart.
    std::fs::remove_file(filler).unwrap();
    server
        .get_until("/readyz", |ready| ready["status"] == "ready")
        .await;
    let posted = post_event(&server, 100).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    acknowledged.push(posted.body["id"].as_str().unwrap().to_owned());
    for id in &acknowledged {
        let shown = server.get(&format!("/api/v1/events/{id}")).await;
        assert_eq!(
            shown.status,
            StatusCode::OK,
            "acknowledged {id} lost: {}",
            shown.body
        );
    }
    server.stop().await;
    drop(disk);
}

#[tokio::test]
async fn a_read_only_postgresql_answers_503_and_writes_resume_when_it_is_writable() {
    let storage = Storage::postgres().await;
    let support::Storage::Postgres { url, .. } = &storage else {
        unreachable!("made for PostgreSQL")
    };
    let url = url.clone();
    let server = Server::start(&storage).await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let acknowledged = post_event(&server, 1).await;
    assert_eq!(
        acknowledged.status,
        StatusCode::ACCEPTED,
        "{}",
        acknowledged.body
    );
    let acknowledged = acknowledged.body["id"].as_str().unwrap().to_owned();

    weir_testkit::set_postgres_read_only(&url, true).await;
    // The first request may meet a pooled session that was just ended.
    let mut tries = 0;
    let refused = loop {
        let posted = post_event(&server, 2).await;
        assert_ne!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
        tries += 1;
        if posted.message().contains("read-only") || tries == 10 {
            break posted;
        }
    };
    assert!(refused.message().contains("read-only"), "{}", refused.body);
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(
        refused.headers.contains_key("retry-after"),
        "{:?}",
        refused.headers
    );
    assert!(
        refused.message().contains("the database is unavailable"),
        "{}",
        refused.body
    );
    let ready = server.get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.body
    );
    let shown = server.get(&format!("/api/v1/events/{acknowledged}")).await;
    assert_eq!(shown.status, StatusCode::OK, "reads go on: {}", shown.body);

    weir_testkit::set_postgres_read_only(&url, false).await;
    server
        .get_until("/readyz", |ready| ready["status"] == "ready")
        .await;
    let posted = post_event(&server, 3).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let shown = server.get(&format!("/api/v1/events/{acknowledged}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    server.stop().await;
}

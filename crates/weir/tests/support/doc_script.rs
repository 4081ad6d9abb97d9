//! Shell commands of the docs, run as written against a live server, so that the docs
//! cannot drift from what Weir does (the README's tour, docs/api.md's examples).

use std::path::Path;
use std::process::Output;

use tokio::process::Command;

/// The first ```sh block after `marker` in `doc`.
pub fn sh_block_after(doc: &str, marker: &str) -> String {
    let start = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} is not in the doc"));
    let block = &doc[start..];
    let body = &block[block.find("```sh\n").expect("a sh block") + 6..];
    body[..body.find("```").expect("the end of the block")].to_owned()
}

/// Runs the script with `bash -euo pipefail` in `dir`, under `timeout` so that a command
/// that never ends fails the test instead of hanging it. Async, so that the test's own
/// servers (receivers) keep answering meanwhile.
pub async fn run(script: &str, dir: &Path, patience_seconds: u32) -> Output {
    Command::new("timeout")
        .arg(patience_seconds.to_string())
        .args(["bash", "-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .output()
        .await
        .expect("run bash")
}

/// What the script printed, or a panic with all it said when it failed.
pub fn printed(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the script failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

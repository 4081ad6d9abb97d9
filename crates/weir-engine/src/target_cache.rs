//! Installations by target token, remembered for a moment: a busy target URL is looked up
//! once a second rather than on every request.
//!
//! Staleness is harmless by construction: a request accepted for an installation that was
//! uninstalled on another node within the last second is stored, and its job is then
//! cancelled by the dispatcher, which reads the installation afresh. On this node an
//! uninstall forgets the token at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use weir_core::Installation;

/// How long a looked-up installation is trusted.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over (a flood of made-up tokens is
/// never cached: only tokens that exist are).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct TargetCache {
    entries: Mutex<HashMap<String, (Installation, Instant)>>,
}

impl TargetCache {
    /// The installation of `token`, if looked up less than a second ago.
    pub fn get(&self, token: &str) -> Option<Installation> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(token)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(installation, _)| installation.clone())
    }

    pub fn put(&self, installation: &Installation) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let token = installation.target_token.as_str().to_owned();
        entries.insert(token, (installation.clone(), Instant::now()));
    }

    /// Forgets an installation whose status changed here.
    pub fn forget(&self, installation: &Installation) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(installation.target_token.as_str());
    }
}

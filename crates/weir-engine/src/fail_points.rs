//! Fault injection for Weir's own tests: `WEIR_FAIL_POINTS=deliverer.round=1,job.run=always`
//! makes each named place panic the first N times it is reached, or every time, so that
//! a black-box test can show what a panicking worker leaves behind. Read once, at the first
//! check; unset, as in production, a check is a look into an empty map.
//!
//! The places: `<worker>.round` (a worker's loop: `deliverer`, `dispatcher`, `scheduler`,
//! `connector_refresher`), `delivery.call` and `job.run` (one piece of work, before
//! anything is sent or run).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

/// Panics left per place; negative: always.
static ARMED: OnceLock<HashMap<String, AtomicI64>> = OnceLock::new();

/// Panics with `fail point <point>` if the test armed this place and it has panics left.
pub fn check(point: &str) {
    let armed = ARMED.get_or_init(|| parse(&std::env::var("WEIR_FAIL_POINTS").unwrap_or_default()));
    let Some(left) = armed.get(point) else {
        return;
    };
    let fires = left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
            0 => None,
            n if n < 0 => Some(n),
            n => Some(n - 1),
        })
        .is_ok();
    if fires {
        panic!("fail point {point}");
    }
}

fn parse(spec: &str) -> HashMap<String, AtomicI64> {
    spec.split(',')
        .filter_map(|entry| {
            let (point, times) = entry.trim().split_once('=')?;
            let times = match times.trim() {
                "always" => -1,
                count => count.parse().ok()?,
            };
            Some((point.trim().to_owned(), AtomicI64::new(times)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_always_are_read() {
        let armed = parse("a.b=2, c=always,broken,d=x");
        assert_eq!(armed.len(), 2);
        assert_eq!(armed["a.b"].load(Ordering::SeqCst), 2);
        assert_eq!(armed["c"].load(Ordering::SeqCst), -1);
    }
}

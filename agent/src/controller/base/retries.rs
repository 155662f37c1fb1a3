//! Per-object backoff: how many times in a row each object's reconcile (or
//! write) failed, and how long to wait before the next try
//! (`kratix_shared::workflow::periodic::retry_delay`). kube-runtime's controller retries
//! on whatever the error policy says and keeps no count of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kratix_shared::workflow::periodic::retry_delay;

/// An entry not failed again for this long is forgotten (its object is gone, or
/// succeeded without saying so): well past the longest wait.
const FORGET_AFTER: Duration = Duration::from_secs(1800);

/// Failures in a row, and when the last was, by key (`what/namespace/name`).
#[derive(Debug, Default)]
pub struct Retries(Mutex<HashMap<String, (u32, Instant)>>);

impl Retries {
    /// One more failure of `key`: how long to wait before trying again.
    pub fn failed(&self, key: &str) -> Duration {
        let failures = {
            let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
            counts.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
            let entry = counts.entry(key.to_owned()).or_insert((0, Instant::now()));
            *entry = (entry.0.saturating_add(1), Instant::now());
            entry.0
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        retry_delay(failures, now)
    }

    /// `key` succeeded: its next failure starts the backoff afresh.
    pub fn succeeded(&self, key: &str) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(key);
    }

    /// How many times in a row `key` has failed.
    pub fn failures(&self, key: &str) -> u32 {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(key).map_or(0, |(count, _)| *count)
    }
}

/// The key of an object for [`Retries`]: `what` (a kind, or a kind and an
/// activity such as `WorkPlacement-write`), its namespace and name.
pub fn key(what: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{what}/{}/{name}", namespace.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_with_failures_in_a_row_and_a_success_starts_again() {
        let retries = Retries::default();
        let first = retries.failed("Promise//redis");
        let mut last = first;
        for _ in 0..6 {
            last = retries.failed("Promise//redis");
        }
        assert_eq!(retries.failures("Promise//redis"), 7);
        assert!(last > first * 8, "{first:?} then {last:?}");
        assert_eq!(retries.failures("Promise//other"), 0, "counted per object");
        retries.succeeded("Promise//redis");
        assert_eq!(retries.failures("Promise//redis"), 0);
        assert!(retries.failed("Promise//redis") <= Duration::from_millis(1500));
    }
}

//! Periodic re-runs: when a finished configure workflow
//! is due to run again; and when a failed reconcile or write is tried again.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::api::conditions::{reasons, status as state, types};
use crate::codec::duration::parse_go_duration;

/// The shortest interval honoured; shorter values fall through to the next source.
const MINIMUM: Duration = Duration::from_secs(60);

/// The effective interval: the Promise's `kratix.io/reconciliation-interval`
/// annotation, then its `spec.workflows.config.reconciliationInterval`, then
/// the global `reconciliationInterval`. Values that do not parse or are under a
/// minute are skipped.
pub fn effective_interval(
    annotation: Option<&str>,
    promise_setting: Option<&str>,
    global: Duration,
) -> Duration {
    [annotation, promise_setting]
        .into_iter()
        .flatten()
        .filter_map(|text| parse_go_duration(text).ok())
        .find(|d| *d >= MINIMUM)
        .unwrap_or(global)
}

/// When the workflow whose status this is should run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerun {
    /// Not finished, or failed with `reconcileAfterFailure` off: no timer.
    Never,
    Now,
    At(Timestamp),
}

/// From `ConfigureWorkflowCompleted`: a success (or a failure, when
/// `reconcile_after_failure`) is re-run `interval` after its transition.
pub fn rerun(
    status: &Map<String, Value>,
    interval: Duration,
    reconcile_after_failure: bool,
    now: Timestamp,
) -> Rerun {
    let Some(condition) = status.get("conditions").and_then(Value::as_array).and_then(|c| {
        c.iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(types::CONFIGURE_WORKFLOW_COMPLETED))
    }) else {
        return Rerun::Never;
    };
    let succeeded = condition.get("status").and_then(Value::as_str) == Some(state::TRUE);
    let failed = condition.get("reason").and_then(Value::as_str) == Some(reasons::CONFIGURE_WORKFLOW_FAILED);
    if !(succeeded || failed && reconcile_after_failure) {
        return Rerun::Never;
    }
    // The condition's time does not move when a failure repeats (False stays
    // False), so the run's own record says when it last ended.
    let time = |entry: &Value| {
        entry
            .get("lastTransitionTime")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
    };
    let pipelines = status
        .get("kratix")
        .and_then(|k| k.pointer("/workflows/configure/pipelines"))
        .and_then(Value::as_array);
    let Some(since) = std::iter::once(time(condition))
        .chain(pipelines.into_iter().flatten().map(time))
        .flatten()
        .max()
    else {
        return Rerun::Now;
    };
    let due = since
        .checked_add(SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX);
    if due <= now { Rerun::Now } else { Rerun::At(due) }
}

/// The first wait after a failure.
pub const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between tries: a power of two seconds, so its multiples on
/// the clock are multiples of every shorter step too.
pub const RETRY_CAP: Duration = Duration::from_secs(256);

/// How long to wait after the `failures`-th failure in a row (1 for the first):
/// doubling from [`RETRY_BASE`] to [`RETRY_CAP`], so something that keeps
/// failing (an invalid object, a dead credential) costs little. The wait ends on
/// a multiple of its step on the wall clock (`now` in milliseconds since the
/// epoch), at least half a step away: objects failing against one state store
/// retry together, so the store coming back gets one batch, not one per object.
pub fn retry_delay(failures: u32, now: u64) -> Duration {
    let base = RETRY_BASE.as_millis() as u64;
    let cap = RETRY_CAP.as_millis() as u64;
    let doublings = failures.saturating_sub(1).min(32);
    let step = base.saturating_mul(1u64 << doublings).min(cap);
    let mut wait = step - now % step;
    if wait < step / 2 {
        wait += step;
    }
    Duration::from_millis(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_the_cap_and_end_on_the_clock() {
        let now = 1_700_000_000_123;
        let waits: Vec<u64> = (1..=12).map(|n| retry_delay(n, now).as_millis() as u64).collect();
        for (n, wait) in waits.iter().enumerate() {
            let step = (1000u64 << n).min(256_000);
            assert!(
                *wait >= step / 2 && *wait <= step + step / 2,
                "failure {}: {wait} ms",
                n + 1
            );
            assert_eq!((now + wait) % step, 0, "failure {} ends on the clock", n + 1);
        }
        assert_eq!(waits[9..], [waits[8]; 3], "capped");
        // Two objects failing at about the same time, whatever their counts past
        // the cap, retry at the same instant.
        assert_eq!(
            now + retry_delay(9, now).as_millis() as u64,
            now + 700 + retry_delay(40, now + 700).as_millis() as u64
        );
        assert!(retry_delay(u32::MAX, now) <= RETRY_CAP + RETRY_CAP / 2);
        assert!(retry_delay(0, now) >= RETRY_BASE / 2);
    }
    use serde_json::json;

    fn status(state: &str, reason: &str, at: &str) -> Map<String, Value> {
        json!({"conditions": [{"type": "ConfigureWorkflowCompleted", "status": state, "reason": reason, "lastTransitionTime": at}]})
            .as_object()
            .cloned()
            .expect("object")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    #[test]
    fn the_annotation_beats_the_promise_setting_beats_the_global_one() {
        let global = Duration::from_secs(36_000);
        assert_eq!(
            effective_interval(Some("5m"), Some("2h"), global),
            Duration::from_secs(300)
        );
        assert_eq!(
            effective_interval(Some("10s"), Some("2h"), global),
            Duration::from_secs(7200)
        );
        assert_eq!(effective_interval(Some("soon"), None, global), global);
    }

    #[test]
    fn a_success_reruns_an_interval_after_it_completed() {
        let done = status("True", "PipelinesExecutedSuccessfully", "2026-01-01T00:00:00Z");
        let hour = Duration::from_secs(3600);
        assert_eq!(
            rerun(&done, hour, true, at("2026-01-01T00:30:00Z")),
            Rerun::At(at("2026-01-01T01:00:00Z"))
        );
        assert_eq!(rerun(&done, hour, true, at("2026-01-01T01:00:00Z")), Rerun::Now);
    }

    #[test]
    fn a_failure_reruns_only_with_reconcile_after_failure() {
        let failed = status("False", "ConfigureWorkflowFailed", "2026-01-01T00:00:00Z");
        let later = at("2026-01-02T00:00:00Z");
        assert_eq!(rerun(&failed, Duration::from_secs(60), true, later), Rerun::Now);
        assert_eq!(
            rerun(&failed, Duration::from_secs(60), false, later),
            Rerun::Never
        );
    }

    #[test]
    fn a_repeated_failure_waits_an_interval_from_the_latest_failure() {
        // The condition went False at the first failure and stays so through
        // every retry; the pipeline's record moved when the retry failed.
        let mut failed = status("False", "ConfigureWorkflowFailed", "2026-01-01T00:00:00Z");
        failed.insert(
            "kratix".to_owned(),
            json!({"workflows": {"configure": {"pipelines": [
                {"name": "make", "phase": "Failed", "lastTransitionTime": "2026-01-01T00:01:02Z"}
            ]}}}),
        );
        let minute = Duration::from_secs(60);
        assert_eq!(
            rerun(&failed, minute, true, at("2026-01-01T00:01:03Z")),
            Rerun::At(at("2026-01-01T00:02:02Z"))
        );
        assert_eq!(
            rerun(&failed, minute, true, at("2026-01-01T00:02:02Z")),
            Rerun::Now
        );
    }

    #[test]
    fn a_running_workflow_has_no_timer() {
        let running = status("False", "PipelinesInProgress", "2026-01-01T00:00:00Z");
        assert_eq!(
            rerun(
                &running,
                Duration::from_secs(60),
                true,
                at("2027-01-01T00:00:00Z")
            ),
            Rerun::Never
        );
        assert_eq!(
            rerun(
                &Map::new(),
                Duration::from_secs(60),
                true,
                at("2027-01-01T00:00:00Z")
            ),
            Rerun::Never
        );
    }
}

//! The conditions Kratix derives for an object from its workflow and its Works,
//! as pure functions. `Reconciled` is recomputed from its
//! inputs every time, so its reason is never stale (the reference's #899/#903).

use crate::api::conditions::{messages, reasons, status as state, types};
use serde_json::{Map, Value};

/// How one Work stands, read from its `Ready` condition's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkReadiness {
    Ready,
    Pending,
    Failing,
    Misplaced,
}

impl WorkReadiness {
    /// From a Work object: `Failing`, `Misplaced`, `Ready`, else pending.
    pub fn of(work: &Value) -> WorkReadiness {
        let message = work
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(types::READY))
            })
            .and_then(|c| c.get("message"))
            .and_then(Value::as_str);
        Self::from_message(message)
    }

    /// From a typed Work, without encoding it first.
    pub fn of_work(work: &crate::api::work::Work) -> WorkReadiness {
        let message = work
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == types::READY))
            .map(|c| c.message.as_str());
        Self::from_message(message)
    }

    fn from_message(message: Option<&str>) -> WorkReadiness {
        match message {
            Some(messages::READY) => WorkReadiness::Ready,
            Some(messages::FAILING) => WorkReadiness::Failing,
            Some(messages::MISPLACED) => WorkReadiness::Misplaced,
            _ => WorkReadiness::Pending,
        }
    }
}

/// A condition to set: type, status, reason, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

/// Whose Works a `WorksSucceeded` condition speaks of: Kratix words and lists
/// them differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorksOf {
    Promise,
    Resource,
}

/// `WorksSucceeded` from the object's Works, with Kratix's messages verbatim: a
/// Promise's list Works as Go prints a slice (`[a b]`), a request's comma-joined
/// in brackets (`[a,b]`); a Promise's failing Works are "not ready", as there.
pub fn works_succeeded(owner: WorksOf, works: &[(String, WorkReadiness)]) -> Condition {
    let names = |wanted: WorkReadiness| {
        let names: Vec<&str> = works
            .iter()
            .filter(|(_, r)| *r == wanted)
            .map(|(n, _)| n.as_str())
            .collect();
        match owner {
            WorksOf::Promise => format!("[{}]", names.join(" ")),
            WorksOf::Resource => format!("[{}]", names.join(",")),
        }
    };
    let any = |wanted: WorkReadiness| works.iter().any(|(_, r)| *r == wanted);
    let condition = |status, reason, message: String| Condition {
        type_: types::WORKS_SUCCEEDED,
        status,
        reason,
        message,
    };
    let (this, failed) = match owner {
        WorksOf::Promise => ("this promise", "are not ready"),
        WorksOf::Resource => ("this resource", "failed"),
    };
    if any(WorkReadiness::Failing) {
        condition(
            state::FALSE,
            reasons::WORKS_FAILING,
            format!(
                "Some works associated with {this} {failed}: {}",
                names(WorkReadiness::Failing)
            ),
        )
    } else if any(WorkReadiness::Pending) {
        condition(
            state::UNKNOWN,
            reasons::WORKS_PENDING,
            format!(
                "Some works associated with {this} are not ready: {}",
                names(WorkReadiness::Pending)
            ),
        )
    } else if any(WorkReadiness::Misplaced) {
        condition(
            state::FALSE,
            reasons::WORKS_MISPLACED,
            format!(
                "Some works associated with {this} are misplaced: {}",
                names(WorkReadiness::Misplaced)
            ),
        )
    } else {
        condition(
            state::TRUE,
            reasons::WORKS_SUCCEEDED,
            format!("All works associated with {this} are ready"),
        )
    }
}

/// Where the configure workflow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowState {
    InProgress,
    Failed,
    Completed,
    Suspended,
    Paused,
}

/// Whether the object's `Reconciled` still says it was paused: the pause has
/// just been lifted (while paused it is kept so; the next pass replaces it).
pub fn resumed_from_pause(status: &serde_json::Map<String, serde_json::Value>) -> bool {
    status
        .get("conditions")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c["type"] == types::RECONCILED
                && c["status"] == state::UNKNOWN
                && c["reason"] == reasons::PAUSED_RECONCILIATION
        })
}

/// `Reconciled` once a pause is lifted, as the workflow starts again.
pub fn unpaused() -> Condition {
    Condition {
        type_: types::RECONCILED,
        status: state::UNKNOWN,
        reason: reasons::UNPAUSED,
        message: messages::PENDING.to_owned(),
    }
}

/// `Reconciled`, from the workflow and the Works, in the reference's order of precedence.
pub fn reconciled(workflow: WorkflowState, works: &Condition) -> Condition {
    let condition = |status, reason, message: &str| Condition {
        type_: types::RECONCILED,
        status,
        reason,
        message: message.to_owned(),
    };
    match workflow {
        WorkflowState::Paused => condition(state::UNKNOWN, reasons::PAUSED_RECONCILIATION, messages::PAUSED),
        WorkflowState::Suspended => {
            condition(state::UNKNOWN, reasons::WORKFLOW_SUSPENDED, messages::SUSPENDED)
        }
        WorkflowState::InProgress => condition(state::UNKNOWN, reasons::WORKFLOW_PENDING, messages::PENDING),
        WorkflowState::Failed => condition(
            state::FALSE,
            reasons::CONFIGURE_WORKFLOW_FAILED,
            messages::FAILING,
        ),
        WorkflowState::Completed => match works.status {
            state::UNKNOWN => condition(state::UNKNOWN, reasons::WORKS_PENDING, messages::PENDING),
            state::FALSE => condition(state::FALSE, reasons::WORKS_FAILING, messages::FAILING),
            _ => condition(state::TRUE, reasons::RECONCILED, messages::RECONCILED),
        },
    }
}

/// Sets WorksSucceeded (when the workflow completed) and Reconciled.
pub fn set_reconciled(
    status: &mut Map<String, Value>,
    owner: WorksOf,
    workflow: WorkflowState,
    works: &[(String, WorkReadiness)],
    now: &str,
) {
    let works_condition = works_succeeded(owner, works);
    if workflow == WorkflowState::Completed {
        crate::workflow::status_merge::set(status, &works_condition, now);
    }
    let condition = reconciled(workflow, &works_condition);
    crate::workflow::status_merge::set(status, &condition, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn work(name: &str, readiness: WorkReadiness) -> (String, WorkReadiness) {
        (name.to_owned(), readiness)
    }

    #[test]
    fn reads_readiness_from_the_ready_message() {
        let ready =
            json!({"status": {"conditions": [{"type": "Ready", "status": "True", "message": "Ready"}]}});
        assert_eq!(WorkReadiness::of(&ready), WorkReadiness::Ready);
        let misplaced =
            json!({"status": {"conditions": [{"type": "Ready", "status": "False", "message": "Misplaced"}]}});
        assert_eq!(WorkReadiness::of(&misplaced), WorkReadiness::Misplaced);
        assert_eq!(WorkReadiness::of(&json!({})), WorkReadiness::Pending);
    }

    #[test]
    fn a_typed_work_reads_the_same_as_its_json() {
        let work: crate::api::work::Work = serde_json::from_value(json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Work", "metadata": {"name": "w"},
            "spec": {"promiseName": "p"},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "r", "message": "Failing",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .expect("work");
        assert_eq!(WorkReadiness::of_work(&work), WorkReadiness::Failing);
        assert_eq!(
            WorkReadiness::of_work(&work),
            WorkReadiness::of(&serde_json::to_value(&work).expect("json"))
        );
    }

    #[test]
    fn failing_beats_pending_beats_misplaced() {
        let all = [
            work("a", WorkReadiness::Misplaced),
            work("b", WorkReadiness::Pending),
            work("c", WorkReadiness::Failing),
        ];
        let resource = |works: &[(String, WorkReadiness)]| works_succeeded(WorksOf::Resource, works);
        assert_eq!(resource(&all).reason, "WorksFailing");
        assert_eq!(resource(&all[..2]).reason, "WorksPending");
        assert_eq!(resource(&all[..1]).status, "False");
        assert_eq!(resource(&[]).status, "True", "no Works is success");
    }

    #[test]
    fn works_succeeded_messages_are_kratix_strings_for_each_owner() {
        let failing = [
            work("a", WorkReadiness::Failing),
            work("b", WorkReadiness::Failing),
        ];
        assert_eq!(
            works_succeeded(WorksOf::Resource, &failing).message,
            "Some works associated with this resource failed: [a,b]"
        );
        assert_eq!(
            works_succeeded(WorksOf::Promise, &failing).message,
            "Some works associated with this promise are not ready: [a b]"
        );
        let pending = [work("a", WorkReadiness::Pending)];
        assert_eq!(
            works_succeeded(WorksOf::Resource, &pending).message,
            "Some works associated with this resource are not ready: [a]"
        );
        let misplaced = [
            work("a", WorkReadiness::Misplaced),
            work("b", WorkReadiness::Misplaced),
        ];
        assert_eq!(
            works_succeeded(WorksOf::Promise, &misplaced).message,
            "Some works associated with this promise are misplaced: [a b]"
        );
        assert_eq!(
            works_succeeded(WorksOf::Promise, &[]).message,
            "All works associated with this promise are ready"
        );
        assert_eq!(
            works_succeeded(WorksOf::Resource, &[]).message,
            "All works associated with this resource are ready"
        );
    }

    #[test]
    fn reconciled_follows_the_workflow_then_the_works() {
        let ready = works_succeeded(WorksOf::Resource, &[work("a", WorkReadiness::Ready)]);
        let pending = works_succeeded(WorksOf::Resource, &[work("a", WorkReadiness::Pending)]);
        assert_eq!(reconciled(WorkflowState::Completed, &ready).reason, "Reconciled");
        assert_eq!(
            reconciled(WorkflowState::Completed, &pending).reason,
            "WorksPending"
        );
        assert_eq!(
            reconciled(WorkflowState::InProgress, &ready).reason,
            "WorkflowPending"
        );
        assert_eq!(reconciled(WorkflowState::Failed, &ready).message, "Failing");
        assert_eq!(
            reconciled(WorkflowState::Suspended, &ready).reason,
            "WorkflowSuspended"
        );
        assert_eq!(
            reconciled(WorkflowState::Paused, &ready).reason,
            "PausedReconciliation"
        );
    }

    #[test]
    fn only_a_reconciled_condition_still_saying_paused_means_just_unpaused() {
        let with = |reason: &str| {
            json!({"conditions": [{"type": "Reconciled", "status": "Unknown", "reason": reason}]})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        assert!(resumed_from_pause(&with("PausedReconciliation")));
        assert!(!resumed_from_pause(&with("WorkflowPending")));
        assert!(!resumed_from_pause(&serde_json::Map::new()));
    }
}

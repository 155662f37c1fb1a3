//! A Promise's status, step by step of its reconcile: paused, refused,
//! unavailable while its workflow is suspended, failing or its requirements
//! unmet, and Available with `Reconciled` from its Works once it has run. The
//! agent reads the cluster and writes the result; these decide what it says,
//! in Kratix's words.

use serde_json::{Map, Value, json};

use crate::api::conditions::{messages, promise_state, reasons, status as state, types};
use crate::api::promise::RequiredPromiseStatus;
use crate::api::resource_api::ResourceApi;
use crate::workflow::conditions::{self, WorkReadiness, WorkflowState, WorksOf, set_reconciled};
use crate::workflow::records::record_last_success;
use crate::workflow::requirements;
use crate::workflow::status_merge::{self, remove_condition, set_condition};

/// The message of a Promise that cannot take requests.
const CANNOT_FULFIL: &str = "Cannot fulfil resource requests";

/// Whether the status says Available.
pub fn is_available(status: &Map<String, Value>) -> bool {
    status.get("status").and_then(Value::as_str) == Some(promise_state::AVAILABLE)
}

/// Whether the spec changed since the status was last written for it.
pub fn spec_changed(status: &Map<String, Value>, generation: i64) -> bool {
    status.get("observedGeneration").and_then(Value::as_i64) != Some(generation)
}

/// `Unavailable`, with `Available` False saying why.
pub fn unavailable(status: &mut Map<String, Value>, reason: &str, message: &str, now: &str) {
    status.insert(
        "status".to_owned(),
        Value::String(promise_state::UNAVAILABLE.to_owned()),
    );
    set_condition(status, types::AVAILABLE, state::FALSE, reason, message, now);
}

/// `kratix.io/paused`: Unavailable and `Reconciled` Unknown, as Kratix says.
pub fn paused(status: &mut Map<String, Value>, now: &str) {
    unavailable(status, reasons::PAUSED_RECONCILIATION, messages::PAUSED, now);
    set_reconciled(status, WorksOf::Promise, WorkflowState::Paused, &[], now);
}

/// Validation refuses the Promise: `problem` (path and message) is the status
/// message and the reason it is unavailable.
pub fn invalid(status: &mut Map<String, Value>, problem: &str, now: &str) {
    let message = format!("invalid Promise: {problem}");
    status.insert("message".to_owned(), Value::String(message.clone()));
    unavailable(status, reasons::PROMISE_UNAVAILABLE, &message, now);
}

/// One of our refusals (policy, a foreign API): Unavailable, the refusal's
/// own condition False, and its message as the status message.
pub fn refused(status: &mut Map<String, Value>, condition: &str, reason: &str, message: &str, now: &str) {
    unavailable(status, reason, message, now);
    set_condition(status, condition, state::FALSE, reason, message, now);
    status.insert("message".to_owned(), Value::String(message.to_owned()));
}

/// The API and version the Promise serves: `version` (and the revision it
/// is recorded in), `kind` and `apiVersion`, as Kratix's printer columns read.
pub fn describe(status: &mut Map<String, Value>, version: Option<&str>, api: Option<&ResourceApi>) {
    if let Some(version) = version {
        status.insert("version".to_owned(), Value::String(version.to_owned()));
        record_revision(status, version);
    }
    if let Some(api) = api {
        status.insert("kind".to_owned(), Value::String(api.kind.clone()));
        status.insert(
            "apiVersion".to_owned(),
            Value::String(api.api_version().to_lowercase()),
        );
    }
}

/// Records `version` in `status.kratix.revisions`: a requirement on a version
/// this Promise has been installed at stays met after an upgrade.
pub fn record_revision(status: &mut Map<String, Value>, version: &str) {
    let kratix = status.entry("kratix").or_insert_with(|| json!({}));
    if !kratix.is_object() {
        *kratix = json!({});
    }
    let revisions = revisions_of(kratix);
    kratix["revisions"] = json!(requirements::record_revision(&revisions, version));
}

/// `status.kratix.revisions` of a Promise's `kratix` status (leniently: anything
/// not a list of strings is none).
pub fn revisions_of(kratix: &Value) -> Vec<String> {
    kratix
        .get("revisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// `status.requiredPromises` and `RequirementsFulfilled` from how each
/// required Promise stands (`None`: the Promise requires none, and both go).
pub fn record_requirements(
    status: &mut Map<String, Value>,
    required: Option<&[RequiredPromiseStatus]>,
    now: &str,
) {
    let Some(states) = required else {
        status.remove("requiredPromises");
        remove_condition(status, types::REQUIREMENTS_FULFILLED);
        return;
    };
    status.insert(
        "requiredPromises".to_owned(),
        serde_json::to_value(states).unwrap_or_default(),
    );
    let condition = requirements::fulfilled_condition(states);
    // Kratix sets this one with meta.SetStatusCondition.
    status_merge::set_with(status, status_merge::Transition::OnStatusChange, &condition, now);
}

/// The workflow waits on a suspension: Unavailable until it runs again.
pub fn suspended(status: &mut Map<String, Value>, now: &str) {
    unavailable(status, reasons::WORKFLOW_SUSPENDED, messages::SUSPENDED, now);
    set_reconciled(status, WorksOf::Promise, WorkflowState::Suspended, &[], now);
}

/// The workflow failed: a Promise that was Available stays so (its requests
/// can still be served; docs/decisions.md), one that was not says it cannot.
pub fn failed(status: &mut Map<String, Value>, now: &str) {
    if !is_available(status) {
        unavailable(status, reasons::PROMISE_UNAVAILABLE, CANNOT_FULFIL, now);
    }
    set_reconciled(status, WorksOf::Promise, WorkflowState::Failed, &[], now);
}

/// A required Promise is missing or not Available: Unavailable and pending.
pub fn requirements_unmet(status: &mut Map<String, Value>, now: &str) {
    unavailable(status, reasons::PROMISE_UNAVAILABLE, CANNOT_FULFIL, now);
    set_condition(
        status,
        types::RECONCILED,
        state::UNKNOWN,
        reasons::REQUIREMENTS_NOT_FULFILLED,
        messages::PENDING,
        now,
    );
}

/// Available at `generation`: `lastAvailableTime` when it becomes so, the
/// message ours to replace ("Promise configured" unless a pipeline wrote one).
pub fn available(status: &mut Map<String, Value>, generation: i64, now: &str) {
    if !is_available(status) {
        status.insert("lastAvailableTime".to_owned(), Value::String(now.to_owned()));
    }
    status.insert(
        "status".to_owned(),
        Value::String(promise_state::AVAILABLE.to_owned()),
    );
    let message_is_ours = status
        .get("message")
        .and_then(Value::as_str)
        .is_none_or(|m| m.starts_with("invalid Promise") || m == messages::PENDING);
    if message_is_ours {
        status.insert(
            "message".to_owned(),
            Value::String(messages::PROMISE_CONFIGURED.to_owned()),
        );
    }
    set_condition(
        status,
        types::AVAILABLE,
        state::TRUE,
        reasons::PROMISE_AVAILABLE,
        "Ready to fulfil resource requests",
        now,
    );
    crate::workflow::run_status::drop_counters(status);
    status.insert("observedGeneration".to_owned(), Value::from(generation));
}

/// The workflow completed: the last success recorded, `Reconciled` from the Works.
pub fn completed(status: &mut Map<String, Value>, works: &[(String, WorkReadiness)], now: &str) {
    record_last_success(status, false);
    set_reconciled(status, WorksOf::Promise, WorkflowState::Completed, works, now);
}

/// No workflow to run: as Kratix, its Works decide `WorksSucceeded`; with no
/// `ConfigureWorkflowCompleted` nothing says `Reconciled` (one left from a wait
/// for requirements, or from a workflow since removed, would mislead), and no
/// workflow record stays.
pub fn without_workflow(status: &mut Map<String, Value>, works: &[(String, WorkReadiness)], now: &str) {
    if let Some(kratix) = status.get_mut("kratix").and_then(Value::as_object_mut) {
        kratix.remove("workflows");
    }
    remove_condition(status, types::RECONCILED);
    let condition = conditions::works_succeeded(WorksOf::Promise, works);
    status_merge::set(status, &condition, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::test_support::*;

    const NOW: &str = "2026-01-01T00:00:00Z";
    const LATER: &str = "2026-01-01T00:05:00Z";

    #[test]
    fn a_paused_promise_is_unavailable_and_pending() {
        let mut status = Map::new();
        paused(&mut status, NOW);
        assert_eq!(status["status"], "Unavailable");
        assert_eq!(
            said(&status, "Available"),
            words("False", "PausedReconciliation", "Paused")
        );
        assert_eq!(
            said(&status, "Reconciled"),
            words("Unknown", "PausedReconciliation", "Paused")
        );
    }

    #[test]
    fn an_invalid_or_refused_promise_says_why_in_its_message() {
        let mut status = Map::new();
        invalid(&mut status, "spec.api: not a CRD", NOW);
        assert_eq!(status["message"], "invalid Promise: spec.api: not a CRD");
        assert_eq!(
            said(&status, "Available"),
            words(
                "False",
                "PromiseUnavailable",
                "invalid Promise: spec.api: not a CRD"
            )
        );
        let mut status = Map::new();
        refused(&mut status, "APIOwned", "APIOwnedByOther", "the CRD is b's", NOW);
        assert_eq!(status["message"], "the CRD is b's");
        assert_eq!(
            said(&status, "APIOwned"),
            words("False", "APIOwnedByOther", "the CRD is b's")
        );
        assert_eq!(
            said(&status, "Available"),
            words("False", "APIOwnedByOther", "the CRD is b's")
        );
    }

    #[test]
    fn the_served_api_and_version_are_described() {
        let api = ResourceApi {
            group: "example.org".to_owned(),
            version: "v1".to_owned(),
            kind: "Cache".to_owned(),
            plural: "caches".to_owned(),
            namespaced: true,
            crd: Default::default(),
        };
        let mut status = Map::new();
        describe(&mut status, Some("v1.2.0"), Some(&api));
        describe(&mut status, Some("v1.3.0"), None);
        assert_eq!(status["version"], "v1.3.0");
        assert_eq!(status["kind"], "Cache");
        assert_eq!(status["apiVersion"], "example.org/v1");
        assert_eq!(revisions_of(&status["kratix"]), ["v1.2.0", "v1.3.0"]);
        let mut odd = Map::new();
        odd.insert("kratix".to_owned(), json!("not a mapping"));
        record_revision(&mut odd, "v1");
        assert_eq!(revisions_of(&odd["kratix"]), ["v1"]);
    }

    #[test]
    fn requirements_are_recorded_and_go_when_none_are_asked() {
        let mut status = Map::new();
        let states = [RequiredPromiseStatus {
            name: "db".to_owned(),
            version: "v1".to_owned(),
            state: requirements::NOT_INSTALLED.to_owned(),
        }];
        record_requirements(&mut status, Some(&states), NOW);
        assert_eq!(status["requiredPromises"][0]["name"], "db");
        assert_eq!(said(&status, "RequirementsFulfilled").0, "False");
        record_requirements(&mut status, None, NOW);
        assert!(!status.contains_key("requiredPromises"));
        assert_eq!(condition(&status, "RequirementsFulfilled"), None);
    }

    #[test]
    fn a_failed_workflow_keeps_an_available_promise_available() {
        let mut status = Map::new();
        available(&mut status, 3, NOW);
        failed(&mut status, LATER);
        assert!(is_available(&status));
        assert_eq!(
            said(&status, "Reconciled"),
            words("False", "ConfigureWorkflowFailed", "Failing")
        );
        let mut fresh = Map::new();
        failed(&mut fresh, NOW);
        assert_eq!(fresh["status"], "Unavailable");
        assert_eq!(
            said(&fresh, "Available"),
            words("False", "PromiseUnavailable", "Cannot fulfil resource requests")
        );
    }

    #[test]
    fn suspended_and_unmet_requirements_are_unavailable() {
        let mut status = Map::new();
        suspended(&mut status, NOW);
        assert_eq!(
            said(&status, "Available"),
            words("False", "WorkflowSuspended", "Suspended")
        );
        assert_eq!(
            said(&status, "Reconciled"),
            words("Unknown", "WorkflowSuspended", "Suspended")
        );
        requirements_unmet(&mut status, NOW);
        assert_eq!(
            said(&status, "Reconciled"),
            words("Unknown", "RequirementsNotFulfilled", "Pending")
        );
        assert_eq!(status["status"], "Unavailable");
    }

    #[test]
    fn availability_is_timed_once_and_a_pipelines_message_is_kept() {
        let mut status = Map::new();
        status.insert("message".to_owned(), json!("Pending"));
        status.insert("workflowsFailed".to_owned(), json!(1));
        available(&mut status, 2, NOW);
        assert_eq!(status["lastAvailableTime"], NOW);
        assert_eq!(status["message"], "Promise configured");
        assert_eq!(status["observedGeneration"], 2);
        assert!(!status.contains_key("workflowsFailed"));
        assert!(!spec_changed(&status, 2) && spec_changed(&status, 3));
        status.insert("message".to_owned(), json!("set by a pipeline"));
        available(&mut status, 3, LATER);
        assert_eq!(status["lastAvailableTime"], NOW);
        assert_eq!(status["message"], "set by a pipeline");
        assert_eq!(
            said(&status, "Available"),
            words("True", "PromiseAvailable", "Ready to fulfil resource requests")
        );
    }

    #[test]
    fn a_completed_workflow_records_its_success_and_reconciles_from_its_works() {
        let mut status = json!({
            "conditions": [{"type": "ConfigureWorkflowCompleted", "status": "True",
                "reason": "PipelinesExecutedSuccessfully", "message": "Pipelines completed",
                "lastTransitionTime": NOW}],
            "kratix": {"workflows": {"configure": {"pipelines": []}}}
        })
        .as_object()
        .cloned()
        .expect("a mapping");
        let works = [("promise-a".to_owned(), WorkReadiness::Ready)];
        completed(&mut status, &works, LATER);
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["lastSuccessfulConfigureWorkflowTime"],
            NOW
        );
        assert!(!status.contains_key("lastSuccessfulConfigureWorkflowTime"));
        assert_eq!(
            said(&status, "Reconciled"),
            words("True", "Reconciled", "Reconciled")
        );
        assert_eq!(said(&status, "WorksSucceeded").0, "True");
    }

    #[test]
    fn without_a_workflow_nothing_says_reconciled() {
        let mut status = json!({
            "conditions": [{"type": "Reconciled", "status": "Unknown", "reason": "RequirementsNotFulfilled",
                "message": "Pending", "lastTransitionTime": NOW}],
            "kratix": {"workflows": {"configure": {}}, "revisions": ["v1"]}
        })
        .as_object()
        .cloned()
        .expect("a mapping");
        without_workflow(&mut status, &[("w".to_owned(), WorkReadiness::Pending)], LATER);
        assert_eq!(condition(&status, "Reconciled"), None);
        assert_eq!(status["kratix"], json!({"revisions": ["v1"]}));
        assert_eq!(said(&status, "WorksSucceeded").1, "WorksPending");
    }
}

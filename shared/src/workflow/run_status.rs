//! What each step of a workflow writes into its object's status besides the
//! record (`records`): the conditions Kratix sets as a run starts, fails or is
//! suspended, our `PipelineAdmitted` when the cluster refuses a pipeline, and
//! which trigger labels a started run has answered. The agent applies these
//! and writes the result; the rules stay here, where they are unit tested.

use serde_json::{Map, Value};

use crate::api::conditions::{messages, reasons, status as state, types};
use crate::api::labels;
use crate::api::workflow::{Workflow, WorkflowAction};
use crate::workflow::events::{self as kratix_events, KratixEvent, Reporter};
use crate::workflow::status_merge::{remove_condition, set_condition};

/// The condition a workflow's outcome is reported in.
pub fn completion_condition(action: WorkflowAction) -> &'static str {
    match action {
        WorkflowAction::Configure => types::CONFIGURE_WORKFLOW_COMPLETED,
        WorkflowAction::Delete => types::DELETE_WORKFLOW_COMPLETED,
    }
}

/// "Configure" or "Delete", as Kratix's pipeline Events begin.
pub fn action_word(action: WorkflowAction) -> &'static str {
    match action {
        WorkflowAction::Configure => "Configure",
        WorkflowAction::Delete => "Delete",
    }
}

/// A pipeline is about to start: a configure run is Pending (message,
/// `ConfigureWorkflowCompleted` False, `Reconciled` Unknown) as Kratix says;
/// a fresh run forgets an earlier refusal.
pub fn started(status: &mut Map<String, Value>, action: WorkflowAction, fresh_run: bool, now: &str) {
    if fresh_run {
        remove_condition(status, types::PIPELINE_ADMITTED);
    }
    if action != WorkflowAction::Configure {
        return;
    }
    status.insert("message".to_owned(), Value::String(messages::PENDING.to_owned()));
    set_condition(
        status,
        types::CONFIGURE_WORKFLOW_COMPLETED,
        state::FALSE,
        reasons::PIPELINES_IN_PROGRESS,
        "Pipelines are still in progress",
        now,
    );
    set_condition(
        status,
        types::RECONCILED,
        state::UNKNOWN,
        reasons::WORKFLOW_PENDING,
        messages::PENDING,
        now,
    );
}

/// The trigger labels a run that starts has answered: the re-run requests
/// that asked for it, and a suspension of the run a fresh one replaces (Kratix
/// lifts it when a spec change or re-run starts afresh).
pub fn labels_answered(rerun: bool, fresh_run: bool, suspended_label: bool) -> Vec<&'static str> {
    let mut answered = Vec::new();
    if rerun {
        answered.extend([labels::MANUAL_RECONCILIATION, labels::RUN_FROM_START]);
    }
    if fresh_run && suspended_label {
        answered.push(labels::WORKFLOW_SUSPENDED);
    }
    answered
}

/// A pipeline failed: the workflow's completion condition False with Kratix's
/// reason and message, and the Event Kratix emits for it.
pub fn failed(status: &mut Map<String, Value>, workflow: Workflow, pipeline: &str, now: &str) -> KratixEvent {
    let (reason, message, event) = match workflow.action {
        WorkflowAction::Configure => (
            reasons::CONFIGURE_WORKFLOW_FAILED,
            format!("A Configure Pipeline has failed: {pipeline}"),
            kratix_events::configure_failed(workflow.workflow_type.as_str(), pipeline),
        ),
        WorkflowAction::Delete => (
            reasons::DELETE_WORKFLOW_FAILED,
            "The Delete Pipeline has failed".to_owned(),
            kratix_events::delete_failed(),
        ),
    };
    set_condition(
        status,
        completion_condition(workflow.action),
        state::FALSE,
        reason,
        &message,
        now,
    );
    event
}

/// The message of a pipeline whose namespace refuses its objects.
pub fn namespace_refused_message(pipeline: &str, answer: &str) -> String {
    format!("pipeline {pipeline} cannot run: {answer}")
}

/// The message of a pipeline whose Job admission refuses a pod.
pub fn pod_refused_message(pipeline: &str, job: &str, answer: &str) -> String {
    format!("pipeline {pipeline}: Job {job} cannot create its pod: {answer}")
}

/// The cluster lastingly refuses what a pipeline needs: our `PipelineAdmitted`
/// False with `reason` (one of ours) and `message`, and a Warning Event saying so.
pub fn refused(
    status: &mut Map<String, Value>,
    reason: &'static str,
    message: &str,
    now: &str,
) -> KratixEvent {
    set_condition(
        status,
        types::PIPELINE_ADMITTED,
        state::FALSE,
        reason,
        message,
        now,
    );
    KratixEvent::warning(Reporter::PromiseController, reason, message.to_owned())
}

/// A delete workflow waits on a suspension: `DeleteWorkflowCompleted` says so
/// (Kratix says nothing more of a suspended configure workflow here; its
/// `Reconciled` follows from the settled state).
pub fn suspended(status: &mut Map<String, Value>, action: WorkflowAction, now: &str) {
    if action == WorkflowAction::Delete {
        set_condition(
            status,
            types::DELETE_WORKFLOW_COMPLETED,
            state::FALSE,
            reasons::DELETE_WORKFLOW_SUSPENDED,
            "The delete workflow is suspended",
            now,
        );
    }
}

/// The counters Kratix dropped (its #896): removed where an older release left them.
const DROPPED_COUNTERS: [&str; 3] = ["workflows", "workflowsSucceeded", "workflowsFailed"];

/// Removes the workflow counters Kratix no longer writes.
pub fn drop_counters(status: &mut Map<String, Value>) {
    for counter in DROPPED_COUNTERS {
        status.remove(counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::workflow::WorkflowType;
    use crate::workflow::test_support::*;
    use serde_json::json;

    const NOW: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn a_configure_run_that_starts_is_pending_and_forgets_a_refusal() {
        let mut current = status(json!({"conditions": [
            {"type": "PipelineAdmitted", "status": "False", "reason": "PodRefused", "message": "m"}]}));
        started(&mut current, WorkflowAction::Configure, true, NOW);
        assert_eq!(current["message"], "Pending");
        assert_eq!(condition(&current, "PipelineAdmitted"), None);
        let completed = condition(&current, "ConfigureWorkflowCompleted").expect("set");
        assert_eq!(
            (&completed["status"], &completed["reason"], &completed["message"]),
            (
                &json!("False"),
                &json!("PipelinesInProgress"),
                &json!("Pipelines are still in progress")
            )
        );
        let reconciled = condition(&current, "Reconciled").expect("set");
        assert_eq!(
            (
                &reconciled["status"],
                &reconciled["reason"],
                &reconciled["message"]
            ),
            (&json!("Unknown"), &json!("WorkflowPending"), &json!("Pending"))
        );
    }

    #[test]
    fn a_later_pipeline_or_a_delete_run_keeps_what_is_there() {
        let mut current = status(json!({"conditions": [
            {"type": "PipelineAdmitted", "status": "False", "reason": "PodRefused", "message": "m"}]}));
        started(&mut current, WorkflowAction::Delete, false, NOW);
        assert!(condition(&current, "PipelineAdmitted").is_some());
        assert!(!current.contains_key("message"));
        assert_eq!(condition(&current, "ConfigureWorkflowCompleted"), None);
    }

    #[test]
    fn a_started_run_answers_its_triggers_and_a_fresh_one_the_suspension() {
        assert_eq!(
            labels_answered(true, true, true),
            [
                labels::MANUAL_RECONCILIATION,
                labels::RUN_FROM_START,
                labels::WORKFLOW_SUSPENDED
            ]
        );
        assert_eq!(labels_answered(false, false, true), Vec::<&str>::new());
        assert_eq!(labels_answered(false, true, false), Vec::<&str>::new());
    }

    #[test]
    fn failures_are_worded_as_kratix_words_them() {
        let mut current = Map::new();
        let event = failed(
            &mut current,
            Workflow {
                workflow_type: WorkflowType::Resource,
                action: WorkflowAction::Configure,
            },
            "make-db",
            NOW,
        );
        let completed = condition(&current, "ConfigureWorkflowCompleted").expect("set");
        assert_eq!(completed["reason"], "ConfigureWorkflowFailed");
        assert_eq!(completed["message"], "A Configure Pipeline has failed: make-db");
        assert_eq!(event.reason, "ConfigureWorkflowFailed");
        assert_eq!(event.note, "A resource/configure Pipeline has failed: make-db");

        let mut current = Map::new();
        let event = failed(
            &mut current,
            Workflow {
                workflow_type: WorkflowType::Promise,
                action: WorkflowAction::Delete,
            },
            "teardown",
            NOW,
        );
        let completed = condition(&current, "DeleteWorkflowCompleted").expect("set");
        assert_eq!(completed["reason"], "DeleteWorkflowFailed");
        assert_eq!(completed["message"], "The Delete Pipeline has failed");
        assert_eq!(event.reason, "Failed Pipeline");
    }

    #[test]
    fn a_refusal_is_our_condition_and_a_warning() {
        let mut current = Map::new();
        let message = pod_refused_message("one", "configure-x", "violates PodSecurity");
        let event = refused(&mut current, reasons::POD_REFUSED, &message, NOW);
        let admitted = condition(&current, "PipelineAdmitted").expect("set");
        assert_eq!(
            (&admitted["status"], &admitted["reason"]),
            (&json!("False"), &json!("PodRefused"))
        );
        assert_eq!(
            admitted["message"],
            "pipeline one: Job configure-x cannot create its pod: violates PodSecurity"
        );
        assert_eq!(
            (event.reason, event.note.as_str()),
            ("PodRefused", message.as_str())
        );
        assert_eq!(
            namespace_refused_message("one", "namespaces \"x\" not found"),
            "pipeline one cannot run: namespaces \"x\" not found"
        );
    }

    #[test]
    fn only_a_suspended_delete_run_says_so_in_a_condition() {
        let mut current = Map::new();
        suspended(&mut current, WorkflowAction::Configure, NOW);
        assert!(current.is_empty());
        suspended(&mut current, WorkflowAction::Delete, NOW);
        let completed = condition(&current, "DeleteWorkflowCompleted").expect("set");
        assert_eq!(completed["reason"], "DeleteWorkflowSuspended");
        assert_eq!(completed["message"], "The delete workflow is suspended");
    }

    #[test]
    fn the_counters_kratix_dropped_go() {
        let mut current =
            status(json!({"workflows": 2, "workflowsSucceeded": 1, "workflowsFailed": 0, "message": "m"}));
        drop_counters(&mut current);
        assert_eq!(Value::Object(current), json!({"message": "m"}));
    }
}

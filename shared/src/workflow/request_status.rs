//! A resource request's status, step by step of its reconcile: paused,
//! waiting for its Promise (`PromiseAvailable`), and what its configure
//! workflow leaves, with `Reconciled` from its Works and where their files went
//! (`status.kratix.outputs`). The agent reads the cluster and writes the
//! result; these decide what it says, in Kratix's words.

use serde_json::{Map, Value, json};

use crate::api::conditions::{messages, reasons, status as state, types};
use crate::api::labels;
use crate::api::work::Work;
use crate::workflow::conditions::{WorkReadiness, WorkflowState, WorksOf, set_reconciled};
use crate::workflow::records::record_last_success;
use crate::workflow::status_merge::set_condition;

/// `kratix.io/paused` on the request or its Promise.
pub fn paused(status: &mut Map<String, Value>, now: &str) {
    set_reconciled(status, WorksOf::Resource, WorkflowState::Paused, &[], now);
}

/// The workflow waits on a suspension.
pub fn suspended(status: &mut Map<String, Value>, now: &str) {
    set_reconciled(status, WorksOf::Resource, WorkflowState::Suspended, &[], now);
}

/// A pipeline failed.
pub fn failed(status: &mut Map<String, Value>, now: &str) {
    set_reconciled(status, WorksOf::Resource, WorkflowState::Failed, &[], now);
}

/// No configure pipelines: nothing to record but the generation.
pub fn without_workflow(status: &mut Map<String, Value>, generation: i64) {
    if let Some(kratix) = status.get_mut("kratix").and_then(Value::as_object_mut) {
        kratix.remove("workflows");
    }
    status.insert("observedGeneration".to_owned(), Value::from(generation));
}

/// The workflow completed: the generation, Kratix's "Resource requested" in
/// place of our Pending, the last success (also at the top, where a request's
/// schema has it), `Reconciled` from the Works, and where they were written.
pub fn completed(
    status: &mut Map<String, Value>,
    generation: i64,
    works: &[(String, WorkReadiness)],
    outputs: Vec<Value>,
    now: &str,
) {
    set_outputs(status, outputs);
    status.insert("observedGeneration".to_owned(), Value::from(generation));
    if status.get("message").and_then(Value::as_str) == Some(messages::PENDING) {
        status.insert(
            "message".to_owned(),
            Value::String(messages::RESOURCE_REQUESTED.to_owned()),
        );
    }
    record_last_success(status, true);
    set_reconciled(status, WorksOf::Resource, WorkflowState::Completed, works, now);
}

/// `status.kratix.outputs`: where each of the request's Works was written
/// (removed when none was).
fn set_outputs(status: &mut Map<String, Value>, outputs: Vec<Value>) {
    let kratix = status.entry("kratix").or_insert_with(|| json!({}));
    if let Some(kratix) = kratix.as_object_mut() {
        if outputs.is_empty() {
            kratix.remove("outputs");
        } else {
            kratix.insert("outputs".to_owned(), Value::Array(outputs));
        }
    }
}

/// The request's Works among those listed: with a pipelineNamespace, Works of
/// same-named requests from other namespaces share it.
pub fn own_works<'w>(works: &'w [Work], request_namespace: &str) -> Vec<&'w Work> {
    works
        .iter()
        .filter(|w| {
            w.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::RESOURCE_NAMESPACE))
                .is_none_or(|ns| ns == request_namespace)
        })
        .collect()
}

/// How each Work stands, by name.
pub fn readiness(works: &[&Work]) -> Vec<(String, WorkReadiness)> {
    works
        .iter()
        .map(|w| (name_of(w), WorkReadiness::of_work(w)))
        .collect()
}

/// One entry of `status.kratix.outputs` per file set a Work's placements wrote.
pub fn outputs(works: &[&Work]) -> Vec<Value> {
    let mut outputs = Vec::new();
    for work in works {
        let pipeline = work
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::PIPELINE_NAME));
        for output in work.status.iter().flat_map(|s| &s.outputs) {
            outputs.push(json!({
                "work": name_of(work),
                "pipeline": pipeline,
                "workPlacement": output.work_placement,
                "destination": output.destination,
                "path": output.path,
                "versionID": output.version_id,
            }));
        }
    }
    outputs
}

fn name_of(work: &Work) -> String {
    work.metadata.name.clone().unwrap_or_default()
}

/// Whether the request carries `PromiseAvailable` (it waited for its Promise).
pub fn has_waited_for_promise(status: &Map<String, Value>) -> bool {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == types::PROMISE_AVAILABLE))
}

/// The Promise cannot take the request yet: Pending, with Kratix's strings
/// whatever the cause.
pub fn waiting_for_promise(status: &mut Map<String, Value>, now: &str) {
    status.insert("message".to_owned(), Value::String(messages::PENDING.to_owned()));
    set_condition(
        status,
        types::PROMISE_AVAILABLE,
        state::FALSE,
        reasons::PROMISE_REQUIREMENTS_NOT_INSTALLED,
        "Promise Requirements are not installed",
        now,
    );
}

/// The Promise takes the request again.
pub fn promise_available(status: &mut Map<String, Value>, now: &str) {
    set_condition(
        status,
        types::PROMISE_AVAILABLE,
        state::TRUE,
        reasons::PROMISE_AVAILABLE,
        "Promise Requirements are met",
        now,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::test_support::*;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn work(value: Value) -> Work {
        serde_json::from_value(value).expect("a Work")
    }

    #[test]
    fn only_the_requests_own_works_count() {
        let works = [
            work(
                json!({"metadata": {"name": "mine", "labels": {"kratix.io/resource-namespace": "team-a"}},
                "spec": {"promiseName": "p"}}),
            ),
            work(
                json!({"metadata": {"name": "theirs", "labels": {"kratix.io/resource-namespace": "team-b"}},
                "spec": {"promiseName": "p"}}),
            ),
            work(json!({"metadata": {"name": "older"}, "spec": {"promiseName": "p"}})),
        ];
        let own: Vec<String> = own_works(&works, "team-a").iter().map(|w| name_of(w)).collect();
        assert_eq!(own, ["mine", "older"]);
    }

    #[test]
    fn outputs_name_each_placements_files() {
        let works = [work(json!({
            "metadata": {"name": "orders", "labels": {"kratix.io/pipeline-name": "make-db"}},
            "spec": {"promiseName": "p"},
            "status": {"outputs": [{"workPlacement": "orders-dev", "destination": "dev",
                "path": "resources/default/orders", "versionID": "abc"}]}
        }))];
        let own: Vec<&Work> = works.iter().collect();
        assert_eq!(
            outputs(&own),
            [
                json!({"work": "orders", "pipeline": "make-db", "workPlacement": "orders-dev",
                "destination": "dev", "path": "resources/default/orders", "versionID": "abc"})
            ]
        );
        assert_eq!(readiness(&own), [("orders".to_owned(), WorkReadiness::Pending)]);
    }

    #[test]
    fn a_completed_request_is_requested_and_reconciled_from_its_works() {
        let mut status = json!({
            "message": "Pending",
            "conditions": [{"type": "ConfigureWorkflowCompleted", "status": "True",
                "reason": "PipelinesExecutedSuccessfully", "message": "Pipelines completed",
                "lastTransitionTime": NOW}],
            "kratix": {"workflows": {"configure": {}}, "outputs": [{"old": true}]}
        })
        .as_object()
        .cloned()
        .expect("a mapping");
        completed(
            &mut status,
            4,
            &[("w".to_owned(), WorkReadiness::Ready)],
            Vec::new(),
            NOW,
        );
        assert_eq!(status["message"], "Resource requested");
        assert_eq!(status["observedGeneration"], 4);
        assert_eq!(status["lastSuccessfulConfigureWorkflowTime"], NOW);
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["lastSuccessfulConfigureWorkflowTime"],
            NOW
        );
        assert!(status["kratix"].get("outputs").is_none());
        assert_eq!(condition(&status, "Reconciled").expect("set")["status"], "True");
        status.insert("message".to_owned(), json!("from a pipeline"));
        completed(&mut status, 4, &[], vec![json!({"work": "w"})], NOW);
        assert_eq!(status["message"], "from a pipeline");
        assert_eq!(status["kratix"]["outputs"], json!([{"work": "w"}]));
    }

    #[test]
    fn without_a_workflow_only_the_generation_is_recorded() {
        let mut status = json!({"kratix": {"workflows": {"configure": {}}, "outputs": []}})
            .as_object()
            .cloned()
            .expect("a mapping");
        without_workflow(&mut status, 2);
        assert_eq!(
            Value::Object(status),
            json!({"kratix": {"outputs": []}, "observedGeneration": 2})
        );
    }

    #[test]
    fn waiting_for_the_promise_is_pending_until_it_is_available() {
        let mut status = Map::new();
        assert!(!has_waited_for_promise(&status));
        waiting_for_promise(&mut status, NOW);
        assert!(has_waited_for_promise(&status));
        assert_eq!(status["message"], "Pending");
        let c = condition(&status, "PromiseAvailable").expect("set");
        assert_eq!(
            (&c["status"], &c["reason"], &c["message"]),
            (
                &json!("False"),
                &json!("PromiseRequirementsNotInstalled"),
                &json!("Promise Requirements are not installed")
            )
        );
        promise_available(&mut status, NOW);
        let c = condition(&status, "PromiseAvailable").expect("set");
        assert_eq!(
            (&c["status"], &c["reason"], &c["message"]),
            (
                &json!("True"),
                &json!("PromiseAvailable"),
                &json!("Promise Requirements are met")
            )
        );
    }

    #[test]
    fn paused_suspended_and_failed_say_so_in_reconciled() {
        for (apply, reason) in [
            (
                paused as fn(&mut Map<String, Value>, &str),
                "PausedReconciliation",
            ),
            (suspended, "WorkflowSuspended"),
            (failed, "ConfigureWorkflowFailed"),
        ] {
            let mut status = Map::new();
            apply(&mut status, NOW);
            assert_eq!(condition(&status, "Reconciled").expect("set")["reason"], reason);
        }
    }
}

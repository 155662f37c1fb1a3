//! The status-writer's rules: merging a pipeline's `status.yaml` into the
//! object's status, marking the workflow complete, and recording a suspension.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::api::conditions;
use crate::api::workflow::{WorkflowAction, WorkflowType};
use crate::workflow::control::WorkflowControl;

/// The status key only Kratix writes.
pub const KRATIX_KEY: &str = "kratix";

/// Why a status update cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("status.yaml: 'kratix' is a kratix managed status field and cannot be set by a pipeline")]
    KratixKey,
    #[error("status.yaml must be a mapping of status fields")]
    NotAMapping,
    #[error("status.kratix.workflows.{action}.pipelines has no entry for pipeline {pipeline:?}")]
    MissingPipeline { action: &'static str, pipeline: String },
}

/// Merges `incoming` (a pipeline's status.yaml) into `existing`: top-level keys
/// replace, `conditions` merge by type (existing order kept, new types appended
/// in the order given), and `kratix` may not be written.
pub fn merge(existing: &Value, incoming: &Value) -> Result<Value, StatusError> {
    let mut merged = existing.as_object().cloned().unwrap_or_default();
    let incoming = match incoming {
        Value::Null => return Ok(Value::Object(merged)),
        Value::Object(map) => map,
        _ => return Err(StatusError::NotAMapping),
    };
    if incoming.contains_key(KRATIX_KEY) {
        return Err(StatusError::KratixKey);
    }
    for (key, value) in incoming {
        if key == "conditions"
            && let (Some(Value::Array(current)), Value::Array(new)) = (merged.get("conditions"), value)
        {
            let merged_conditions = merge_conditions(current, new);
            merged.insert(key.clone(), Value::Array(merged_conditions));
            continue;
        }
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

fn condition_type(condition: &Value) -> Option<&str> {
    condition.get("type").and_then(Value::as_str)
}

fn merge_conditions(current: &[Value], new: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = current
        .iter()
        .map(|c| {
            new.iter()
                .find(|n| condition_type(n).is_some() && condition_type(n) == condition_type(c))
                .cloned()
                .unwrap_or_else(|| c.clone())
        })
        .collect();
    for condition in new {
        let known = current
            .iter()
            .any(|c| condition_type(c).is_some() && condition_type(c) == condition_type(condition));
        if !known {
            out.push(condition.clone());
        }
    }
    out
}

/// Top-level keys of `incoming` a Promise's status does not keep (its CRD
/// prunes everything but `message`): worth a warning.
pub fn keys_a_promise_drops(incoming: &Value) -> Vec<String> {
    incoming
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| *k != "message" && *k != "conditions")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// How a condition's `lastTransitionTime` moves when it is set again. Kratix
/// uses three rules for its objects' conditions, and each is kept where Kratix
/// uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Cluster API's `conditions.Set`, which Kratix uses for most of a Promise's
    /// and a request's conditions: the time moves when the status, reason or
    /// message changes, and the list is kept sorted (`Ready` first, then by type).
    OnAnyChange,
    /// Kubernetes' `meta.SetStatusCondition` (Works, WorkPlacements, stores,
    /// `RequirementsFulfilled`): the time moves only when the status changes.
    OnStatusChange,
    /// The status-writer's own rule: the condition is written anew, time and all.
    Always,
}

/// Sets (or replaces) a condition, its transition time as `rule` says.
pub fn set_condition_with(
    status: &mut Map<String, Value>,
    rule: Transition,
    condition: (&str, &str, &str, &str),
    now: &str,
) {
    let (type_, state, reason, message) = condition;
    let conditions = status
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !conditions.is_array() {
        *conditions = Value::Array(Vec::new());
    }
    let Value::Array(list) = conditions else { return };
    let previous = list.iter().position(|c| condition_type(c) == Some(type_));
    let field = |i: usize, key: &str| list[i].get(key).and_then(Value::as_str).map(str::to_owned);
    let unchanged = previous.is_some_and(|i| match rule {
        Transition::OnAnyChange => {
            field(i, "status").as_deref() == Some(state)
                && field(i, "reason").as_deref() == Some(reason)
                && field(i, "message").as_deref() == Some(message)
        }
        Transition::OnStatusChange => field(i, "status").as_deref() == Some(state),
        Transition::Always => false,
    });
    let transition = previous
        .filter(|_| unchanged)
        .and_then(|i| list[i].get("lastTransitionTime").cloned())
        .unwrap_or_else(|| Value::String(now.to_owned()));
    let condition = json!({
        "type": type_, "status": state, "reason": reason, "message": message, "lastTransitionTime": transition
    });
    match previous {
        Some(i) => list[i] = condition,
        None => list.push(condition),
    }
    if rule == Transition::OnAnyChange {
        // Cluster API's order: `Ready` first, then by type.
        list.sort_by(|a, b| {
            let key = |c: &Value| {
                let type_ = condition_type(c).unwrap_or_default().to_owned();
                (type_ != conditions::types::READY, type_)
            };
            key(a).cmp(&key(b))
        });
    }
}

/// Sets a Promise's or a request's condition as Kratix does for most of them
/// ([`Transition::OnAnyChange`]).
pub fn set_condition(
    status: &mut Map<String, Value>,
    type_: &str,
    state: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    set_condition_with(
        status,
        Transition::OnAnyChange,
        (type_, state, reason, message),
        now,
    );
}

/// [`set_condition`] from a decided [`Condition`].
pub fn set(status: &mut Map<String, Value>, condition: &crate::workflow::conditions::Condition, now: &str) {
    set_with(status, Transition::OnAnyChange, condition, now);
}

/// A decided [`Condition`], its transition time as `rule` says.
pub fn set_with(
    status: &mut Map<String, Value>,
    rule: Transition,
    condition: &crate::workflow::conditions::Condition,
    now: &str,
) {
    set_condition_with(
        status,
        rule,
        (
            condition.type_,
            condition.status,
            condition.reason,
            &condition.message,
        ),
        now,
    );
}

/// Removes a condition, when present.
pub fn remove_condition(status: &mut Map<String, Value>, type_: &str) {
    if let Some(Value::Array(list)) = status.get_mut("conditions") {
        list.retain(|c| condition_type(c) != Some(type_));
    }
}

/// The last pipeline of a workflow ran without suspending: a pending message
/// becomes the settled one, the record's suspension goes, and
/// `ConfigureWorkflowCompleted` is True. As in Kratix, whose status-writer does
/// this after a delete workflow's last pipeline too (while the object goes).
pub fn mark_completed(
    status: &mut Map<String, Value>,
    workflow_type: WorkflowType,
    action: WorkflowAction,
    now: &str,
) {
    if status.get("message").and_then(Value::as_str) == Some(conditions::messages::PENDING) {
        let settled = match workflow_type {
            WorkflowType::Resource => conditions::messages::RESOURCE_REQUESTED,
            WorkflowType::Promise => conditions::messages::PROMISE_CONFIGURED,
        };
        status.insert("message".to_owned(), Value::String(settled.to_owned()));
    }
    if let Some(record) = record_mut(status, action) {
        record.remove("suspendedGeneration");
    }
    set_condition_with(
        status,
        Transition::Always,
        (
            conditions::types::CONFIGURE_WORKFLOW_COMPLETED,
            conditions::status::TRUE,
            conditions::reasons::PIPELINES_EXECUTED_SUCCESSFULLY,
            "Pipelines completed",
        ),
        now,
    );
}

/// `status.kratix.workflows.<action>`, the record of the running workflow.
fn record_mut(status: &mut Map<String, Value>, action: WorkflowAction) -> Option<&mut Map<String, Value>> {
    status
        .get_mut(KRATIX_KEY)
        .and_then(|k| k.get_mut("workflows"))
        .and_then(|w| w.get_mut(action.as_str()))
        .and_then(Value::as_object_mut)
}

fn pipeline_entry<'a>(
    status: &'a mut Map<String, Value>,
    action: WorkflowAction,
    pipeline: &str,
) -> Result<Option<&'a mut Map<String, Value>>, StatusError> {
    let Some(list) = record_mut(status, action)
        .and_then(|r| r.get_mut("pipelines"))
        .and_then(Value::as_array_mut)
    else {
        return Ok(None);
    };
    list.iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(pipeline))
        .map(Some)
        .ok_or_else(|| StatusError::MissingPipeline {
            action: action.as_str(),
            pipeline: pipeline.to_owned(),
        })
}

/// No suspension asked for: the pipeline's entry is Running and loses any
/// suspension details. Nothing to do when the object records no pipelines.
pub fn clear_suspension(
    status: &mut Map<String, Value>,
    action: WorkflowAction,
    pipeline: &str,
) -> Result<(), StatusError> {
    if let Some(entry) = pipeline_entry(status, action, pipeline)? {
        entry.insert("phase".to_owned(), Value::String("Running".to_owned()));
        for key in ["message", "attempts", "nextRetryAt"] {
            entry.remove(key);
        }
    }
    Ok(())
}

/// Records a suspension (or a retry) of `pipeline` at `generation`; `now_plus`
/// formats the time `retry_after` from now. The caller also labels the object
/// `kratix.io/workflow-suspended`.
pub fn record_suspension(
    status: &mut Map<String, Value>,
    action: WorkflowAction,
    pipeline: &str,
    control: &WorkflowControl,
    generation: i64,
    now_plus: impl Fn(Duration) -> String,
) -> Result<(), StatusError> {
    let entry = pipeline_entry(status, action, pipeline)?.ok_or_else(|| StatusError::MissingPipeline {
        action: action.as_str(),
        pipeline: pipeline.to_owned(),
    })?;
    entry.insert("phase".to_owned(), Value::String("Suspended".to_owned()));
    match &control.message {
        Some(message) => entry.insert("message".to_owned(), Value::String(message.clone())),
        None => entry.remove("message"),
    };
    match control.retry_after {
        Some(delay) => {
            let attempts = entry.get("attempts").and_then(Value::as_i64).unwrap_or(0) + 1;
            entry.insert("attempts".to_owned(), Value::from(attempts));
            entry.insert("nextRetryAt".to_owned(), Value::String(now_plus(delay)));
        }
        None => {
            entry.remove("attempts");
            entry.remove("nextRetryAt");
        }
    }
    if let Some(record) = record_mut(status, action) {
        record.insert("suspendedGeneration".to_owned(), Value::from(generation));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn top_level_keys_replace_and_nested_maps_are_not_deep_merged() {
        let existing = json!({"message": "Pending", "endpoint": {"host": "a", "port": 1}, "kept": true});
        let incoming = json!({"message": "ready", "endpoint": {"host": "b"}});
        assert_eq!(
            merge(&existing, &incoming).expect("merges"),
            json!({"message": "ready", "endpoint": {"host": "b"}, "kept": true})
        );
    }

    #[test]
    fn conditions_merge_by_type_in_a_stable_order() {
        let existing =
            json!({"conditions": [{"type": "A", "status": "False"}, {"type": "B", "status": "True"}]});
        let incoming =
            json!({"conditions": [{"type": "C", "status": "True"}, {"type": "A", "status": "True"}]});
        let merged = merge(&existing, &incoming).expect("merges");
        assert_eq!(
            merged["conditions"],
            json!([{"type": "A", "status": "True"}, {"type": "B", "status": "True"}, {"type": "C", "status": "True"}])
        );
    }

    #[test]
    fn the_kratix_key_is_refused() {
        assert_eq!(
            merge(&json!({}), &json!({"kratix": {}})),
            Err(StatusError::KratixKey)
        );
        assert_eq!(merge(&json!({}), &json!("text")), Err(StatusError::NotAMapping));
        assert_eq!(merge(&json!({"a": 1}), &Value::Null), Ok(json!({"a": 1})));
    }

    #[test]
    fn promise_status_keeps_only_message() {
        assert_eq!(
            keys_a_promise_drops(&json!({"message": "m", "url": "x"})),
            ["url"]
        );
    }

    #[test]
    fn completion_settles_the_message_and_sets_the_condition() {
        let mut status = map(
            json!({"message": "Pending", "kratix": {"workflows": {"configure": {"suspendedGeneration": 3, "pipelines": []}}}}),
        );
        mark_completed(
            &mut status,
            WorkflowType::Resource,
            WorkflowAction::Configure,
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(status["message"], "Resource requested");
        assert!(
            status["kratix"]["workflows"]["configure"]
                .get("suspendedGeneration")
                .is_none()
        );
        assert_eq!(
            status["conditions"],
            json!([{"type": "ConfigureWorkflowCompleted", "status": "True", "reason": "PipelinesExecutedSuccessfully",
                    "message": "Pipelines completed", "lastTransitionTime": "2026-01-01T00:00:00Z"}])
        );
        let mut custom = map(json!({"message": "All good"}));
        mark_completed(&mut custom, WorkflowType::Promise, WorkflowAction::Configure, "t");
        assert_eq!(custom["message"], "All good");
        // A delete workflow's end is marked alike, its own record's suspension gone.
        let mut deleting = map(json!({"message": "Pending", "kratix": {"workflows": {
            "configure": {"suspendedGeneration": 2}, "delete": {"suspendedGeneration": 3}}}}));
        mark_completed(&mut deleting, WorkflowType::Resource, WorkflowAction::Delete, "t");
        assert_eq!(deleting["message"], "Resource requested");
        assert_eq!(deleting["conditions"][0]["status"], "True");
        assert!(
            deleting["kratix"]["workflows"]["delete"]
                .get("suspendedGeneration")
                .is_none()
        );
        assert_eq!(
            deleting["kratix"]["workflows"]["configure"]["suspendedGeneration"],
            2
        );
    }

    #[test]
    fn each_transition_rule_moves_the_time_as_kratix_does() {
        let time = |status: &Map<String, Value>| status["conditions"][0]["lastTransitionTime"].clone();
        // Cluster API: any change of status, reason or message moves it.
        let mut status = map(json!({}));
        set_condition(&mut status, "X", "True", "R", "m", "first");
        set_condition(&mut status, "X", "True", "R", "m", "second");
        assert_eq!(time(&status), "first");
        set_condition(&mut status, "X", "True", "R2", "m", "third");
        assert_eq!(time(&status), "third");
        set_condition(&mut status, "X", "True", "R2", "m2", "fourth");
        assert_eq!(time(&status), "fourth");
        // meta.SetStatusCondition: only a status change does.
        let mut status = map(json!({}));
        let on_status = Transition::OnStatusChange;
        set_condition_with(&mut status, on_status, ("X", "True", "R", "m"), "first");
        set_condition_with(&mut status, on_status, ("X", "True", "R2", "m2"), "second");
        assert_eq!(time(&status), "first");
        assert_eq!(status["conditions"][0]["reason"], "R2");
        set_condition_with(&mut status, on_status, ("X", "False", "R3", "m3"), "third");
        assert_eq!(time(&status), "third");
        // The status-writer's: always.
        set_condition_with(
            &mut status,
            Transition::Always,
            ("X", "False", "R3", "m3"),
            "fifth",
        );
        assert_eq!(time(&status), "fifth");
    }

    #[test]
    fn cluster_api_keeps_ready_first_then_the_types_in_order() {
        let mut status = map(json!({}));
        for type_ in [
            "WorksSucceeded",
            "ConfigureWorkflowCompleted",
            "Reconciled",
            "Ready",
        ] {
            set_condition(&mut status, type_, "True", "R", "m", "t");
        }
        let types: Vec<&str> = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(
            types,
            [
                "Ready",
                "ConfigureWorkflowCompleted",
                "Reconciled",
                "WorksSucceeded"
            ]
        );
    }

    fn with_pipelines() -> Map<String, Value> {
        map(json!({"kratix": {"workflows": {
            "configure": {"pipelines": [
                {"name": "first", "phase": "Suspended", "message": "old", "attempts": 2, "nextRetryAt": "x"},
                {"name": "second", "phase": "Pending"}
            ]},
            "delete": {"pipelines": [{"name": "first", "phase": "Running"}]},
        }}}))
    }

    #[test]
    fn clearing_a_suspension_marks_the_pipeline_running() {
        let mut status = with_pipelines();
        clear_suspension(&mut status, WorkflowAction::Configure, "first").expect("cleared");
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["pipelines"][0],
            json!({"name": "first", "phase": "Running"})
        );
        assert_eq!(
            clear_suspension(&mut status, WorkflowAction::Configure, "third"),
            Err(StatusError::MissingPipeline {
                action: "configure",
                pipeline: "third".into()
            })
        );
        let mut bare = map(json!({}));
        assert_eq!(
            clear_suspension(&mut bare, WorkflowAction::Configure, "any"),
            Ok(())
        );
    }

    #[test]
    fn a_retry_counts_attempts_and_schedules_the_next_one() {
        let mut status = with_pipelines();
        let control = WorkflowControl {
            retry_after: Some(Duration::from_secs(60)),
            message: Some("later".into()),
            suspend: false,
        };
        record_suspension(
            &mut status,
            WorkflowAction::Configure,
            "first",
            &control,
            7,
            |d| format!("in {}s", d.as_secs()),
        )
        .expect("recorded");
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["pipelines"][0],
            json!({"name": "first", "phase": "Suspended", "message": "later", "attempts": 3, "nextRetryAt": "in 60s"})
        );
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["suspendedGeneration"],
            7
        );
        // The delete run's record is its own.
        assert_eq!(
            status["kratix"]["workflows"]["delete"],
            json!({"pipelines": [{"name": "first", "phase": "Running"}]})
        );
        let suspend = WorkflowControl {
            suspend: true,
            ..Default::default()
        };
        record_suspension(
            &mut status,
            WorkflowAction::Configure,
            "second",
            &suspend,
            7,
            |_| String::new(),
        )
        .expect("recorded");
        assert_eq!(
            status["kratix"]["workflows"]["configure"]["pipelines"][1],
            json!({"name": "second", "phase": "Suspended"})
        );
    }
}

//! `status.kratix.workflows` in every layout an object may carry, read as one.
//!
//! - Keyed (Kratix since its #933, and kubectl-kratix now): one record per
//!   action, `configure` and `delete`, each pipeline entry with the `hash` of
//!   the run it belongs to.
//! - Kratix's flat layout before #933: one `pipelines` list, no hash; a delete
//!   run replaced the configure run's list.
//! - kubectl-kratix's flat layout before it followed #933: the same list, with
//!   the run's `hash` and `action` beside it and a Job name per pipeline.
//!
//! The agent writes the keyed layout only; [`adopt`] turns a flat record into
//! a keyed one without re-running what already succeeded at the current hash.

use serde_json::{Map, Value};

use crate::api::conditions::{status as state, types};
use crate::api::labels;
use crate::api::promise::{PipelineStatus, WorkflowRecord};
use crate::api::workflow::WorkflowAction;
use crate::workflow::engine::{JobState, ObservedJob, SUCCEEDED, newest_job};

/// Which layout the object's status is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Nothing recorded yet.
    Empty,
    Keyed,
    /// kubectl-kratix's flat record: the run's hash is known.
    AgentFlat,
    /// Kratix's record before #933: the hash of each pipeline's run is not.
    KratixFlat,
}

/// The records found, by action.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub layout: Layout,
    pub configure: Option<WorkflowRecord>,
    pub delete: Option<WorkflowRecord>,
}

impl Recorded {
    pub fn get(&self, action: WorkflowAction) -> Option<&WorkflowRecord> {
        match action {
            WorkflowAction::Configure => self.configure.as_ref(),
            WorkflowAction::Delete => self.delete.as_ref(),
        }
    }

    /// The record to show for an object: its delete run once one is recorded
    /// and the object is going, else its configure run.
    pub fn shown(&self, deleting: bool) -> (WorkflowAction, WorkflowRecord) {
        match &self.delete {
            Some(delete) if deleting => (WorkflowAction::Delete, delete.clone()),
            _ => (
                WorkflowAction::Configure,
                self.configure.clone().unwrap_or_default(),
            ),
        }
    }
}

/// The keys of the flat layouts, removed when a record is written keyed.
const FLAT_KEYS: [&str; 5] = [
    "pipelines",
    "suspendedGeneration",
    "lastSuccessfulConfigureWorkflowTime",
    "hash",
    "action",
];

/// Pipeline entries decoded one by one: a malformed entry is left out rather
/// than hiding the rest.
fn entries(list: Option<&Value>) -> Vec<PipelineStatus> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| serde_json::from_value(entry.clone()).ok())
        .collect()
}

fn record(map: &Map<String, Value>) -> WorkflowRecord {
    WorkflowRecord {
        last_successful_configure_workflow_time: map
            .get("lastSuccessfulConfigureWorkflowTime")
            .and_then(|t| serde_json::from_value(t.clone()).ok()),
        pipelines: entries(map.get("pipelines")),
        suspended_generation: map.get("suspendedGeneration").and_then(Value::as_i64),
    }
}

/// Reads `status.kratix.workflows` (`workflows`), in any layout. `deleting`
/// says whether the object is going: Kratix's flat list then belongs to its
/// delete run.
pub fn read(workflows: Option<&Value>, deleting: bool) -> Recorded {
    let Some(map) = workflows.and_then(Value::as_object) else {
        return Recorded {
            layout: Layout::Empty,
            configure: None,
            delete: None,
        };
    };
    if map.get("pipelines").is_some_and(Value::is_array) {
        let mut flat = record(map);
        let hash = map.get("hash").and_then(Value::as_str);
        let (layout, action) = match hash {
            Some(hash) => {
                for entry in &mut flat.pipelines {
                    entry.hash = Some(hash.to_owned());
                }
                let delete = map.get("action").and_then(Value::as_str) == Some("delete");
                (Layout::AgentFlat, delete)
            }
            None => (Layout::KratixFlat, deleting),
        };
        let (configure, delete) = if action {
            (None, Some(flat))
        } else {
            (Some(flat), None)
        };
        return Recorded {
            layout,
            configure,
            delete,
        };
    }
    let keyed = |key: &str| map.get(key).and_then(Value::as_object).map(record);
    let configure = keyed(WorkflowAction::Configure.as_str());
    let delete = keyed(WorkflowAction::Delete.as_str());
    let layout = if configure.is_none() && delete.is_none() {
        Layout::Empty
    } else {
        Layout::Keyed
    };
    Recorded {
        layout,
        configure,
        delete,
    }
}

/// Reads the records of an object's `status` map.
pub fn read_status(status: &Map<String, Value>, deleting: bool) -> Recorded {
    read(status.get("kratix").and_then(|k| k.get("workflows")), deleting)
}

/// Reads the records of a whole object (as JSON).
pub fn read_object(object: &Value) -> Recorded {
    let deleting = object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    read(object.pointer("/status/kratix/workflows"), deleting)
}

/// `status.kratix.workflows` as a map to write into, any flat layout removed.
fn keyed_map(status: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let kratix = status
        .entry("kratix")
        .or_insert_with(|| Value::Object(Map::new()));
    if !kratix.is_object() {
        *kratix = Value::Object(Map::new());
    }
    let workflows = kratix
        .as_object_mut()
        .expect("made an object above")
        .entry("workflows")
        .or_insert_with(|| Value::Object(Map::new()));
    if !workflows.is_object() {
        *workflows = Value::Object(Map::new());
    }
    let map = workflows.as_object_mut().expect("made an object above");
    for key in FLAT_KEYS {
        map.remove(key);
    }
    map
}

/// Writes `record` as the record of `action`, in the keyed layout.
pub fn write(status: &mut Map<String, Value>, action: WorkflowAction, record: &WorkflowRecord) {
    let value = serde_json::to_value(record).unwrap_or_default();
    keyed_map(status).insert(action.as_str().to_owned(), value);
}

/// Replaces whatever layout `status` holds with `recorded`'s records, keyed.
pub fn write_all(status: &mut Map<String, Value>, recorded: &Recorded) {
    let map = keyed_map(status);
    for action in [WorkflowAction::Configure, WorkflowAction::Delete] {
        match recorded.get(action) {
            Some(record) => {
                let value = serde_json::to_value(record).unwrap_or_default();
                map.insert(action.as_str().to_owned(), value);
            }
            None => {
                map.remove(action.as_str());
            }
        }
    }
}

/// Where `action`'s record sits, as a JSON pointer into the status.
pub fn record_pointer(action: WorkflowAction) -> String {
    format!("/kratix/workflows/{}", action.as_str())
}

/// Takes over a flat record, keyed. kubectl-kratix's own knows its run's hash
/// and carries over as it is. Kratix's does not: it is adopted as succeeded
/// when its workflow completed (`completed`, for a configure run the
/// `ConfigureWorkflowCompleted` condition True) and the newest Job of each of
/// `pipelines` succeeded at the object's current `hash`; otherwise it is
/// dropped, and the workflow runs.
pub fn adopt(
    recorded: &Recorded,
    pipelines: &[String],
    jobs: &[ObservedJob],
    hash: &str,
    completed: bool,
) -> Recorded {
    if recorded.layout != Layout::KratixFlat {
        return Recorded {
            layout: Layout::Keyed,
            ..recorded.clone()
        };
    }
    let take = |action: WorkflowAction| {
        let flat = recorded.get(action)?;
        if action == WorkflowAction::Configure && !completed {
            return None;
        }
        adopt_succeeded(flat, action, pipelines, jobs, hash)
    };
    Recorded {
        layout: Layout::Keyed,
        configure: take(WorkflowAction::Configure),
        delete: take(WorkflowAction::Delete),
    }
}

/// `flat` as a keyed record when the newest Job of each pipeline succeeded at `hash`.
fn adopt_succeeded(
    flat: &WorkflowRecord,
    action: WorkflowAction,
    pipelines: &[String],
    jobs: &[ObservedJob],
    hash: &str,
) -> Option<WorkflowRecord> {
    if pipelines.is_empty() {
        return None;
    }
    let mut adopted = WorkflowRecord {
        last_successful_configure_workflow_time: flat.last_successful_configure_workflow_time.clone(),
        pipelines: Vec::with_capacity(pipelines.len()),
        suspended_generation: None,
    };
    for name in pipelines {
        let newest_any = jobs
            .iter()
            .filter(|j| j.action == action.as_str() && j.pipeline == *name)
            .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)))?;
        let at_hash = newest_job(jobs, action, name, hash)?;
        if newest_any.name != at_hash.name || at_hash.state != JobState::Succeeded {
            return None;
        }
        let recorded = flat.pipelines.iter().find(|p| p.name == *name);
        adopted.pipelines.push(PipelineStatus {
            name: name.clone(),
            hash: Some(hash.to_owned()),
            phase: SUCCEEDED.to_owned(),
            last_transition_time: recorded.and_then(|p| p.last_transition_time.clone()),
            job_name: Some(at_hash.name.clone()),
            ..PipelineStatus::default()
        });
    }
    Some(adopted)
}

/// Whether following `action`'s record needs the Jobs Kratix ran: while a
/// record in an older layout is taken over, or when an entry that began names
/// no Job (Kratix wrote it).
pub fn needs_kratix_jobs(recorded: &Recorded, action: WorkflowAction) -> bool {
    !matches!(recorded.layout, Layout::Keyed | Layout::Empty)
        || recorded.get(action).is_some_and(|record| {
            record
                .pipelines
                .iter()
                .any(|p| p.phase != crate::workflow::engine::PENDING && p.job_name.is_none())
        })
}

/// Whether a Job listed by `selectors::without_uid` ran for the object with
/// `uid` in `namespace`: ours carry the object's UID; Kratix's carry none, and
/// name the object's namespace in an annotation (a Promise has none: any
/// Job its labels select is its own).
pub fn is_objects_job(
    job_labels: &std::collections::BTreeMap<String, String>,
    job_annotations: &std::collections::BTreeMap<String, String>,
    uid: &str,
    namespace: &str,
) -> bool {
    match job_labels.get(labels::OBJECT_UID) {
        Some(owner) => owner == uid,
        None => job_annotations
            .get(labels::JOB_RESOURCE_NAMESPACE)
            .is_none_or(|ns| namespace.is_empty() || ns.is_empty() || ns == namespace),
    }
}

/// `lastSuccessfulConfigureWorkflowTime` in the configure record under
/// `kratix.workflows` and, with `top_level` (a request's schema has the field,
/// as Kratix's older releases wrote it; a Promise's has not, and the API server
/// would drop it), at the top, from the `ConfigureWorkflowCompleted`
/// transition, once it is True.
pub fn record_last_success(status: &mut Map<String, Value>, top_level: bool) {
    let Some(time) = status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter().find(|c| {
                c.get("type").and_then(Value::as_str) == Some(types::CONFIGURE_WORKFLOW_COMPLETED)
                    && c.get("status").and_then(Value::as_str) == Some(state::TRUE)
            })
        })
        .and_then(|c| c.get("lastTransitionTime"))
        .cloned()
    else {
        return;
    };
    if top_level {
        status.insert("lastSuccessfulConfigureWorkflowTime".to_owned(), time.clone());
    }
    if let Some(record) = status
        .get_mut("kratix")
        .and_then(|k| k.pointer_mut("/workflows/configure"))
        .and_then(Value::as_object_mut)
    {
        record.insert("lastSuccessfulConfigureWorkflowTime".to_owned(), time);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(name: &str, pipeline: &str, hash: &str, created: &str, state: JobState) -> ObservedJob {
        ObservedJob {
            name: name.into(),
            state,
            action: "configure".into(),
            pipeline: pipeline.into(),
            hash: hash.into(),
            created: created.into(),
            ..ObservedJob::default()
        }
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn kratix_flat() -> Value {
        json!({
            "lastSuccessfulConfigureWorkflowTime": "2026-01-01T00:00:05Z",
            "pipelines": [
                {"name": "a", "phase": "Succeeded", "lastTransitionTime": "2026-01-01T00:00:02Z"},
                {"name": "b", "phase": "Succeeded", "lastTransitionTime": "2026-01-01T00:00:04Z"},
            ],
        })
    }

    #[test]
    fn the_three_layouts_read_as_records_by_action() {
        let keyed = json!({
            "configure": {"pipelines": [{"name": "a", "hash": "h1", "phase": "Succeeded"}],
                          "suspendedGeneration": 3},
            "delete": {"pipelines": [{"name": "d", "hash": "h1", "phase": "Running"}]},
        });
        let read_keyed = read(Some(&keyed), false);
        assert_eq!(read_keyed.layout, Layout::Keyed);
        assert_eq!(
            read_keyed.configure.as_ref().and_then(|r| r.suspended_generation),
            Some(3)
        );
        assert_eq!(
            read_keyed.delete.as_ref().map(|r| r.pipelines[0].name.as_str()),
            Some("d")
        );

        let ours = json!({"hash": "h1", "action": "delete", "suspendedGeneration": 2,
                          "pipelines": [{"name": "d", "phase": "Suspended", "jobName": "d-1"}]});
        let read_ours = read(Some(&ours), true);
        assert_eq!(read_ours.layout, Layout::AgentFlat);
        assert!(read_ours.configure.is_none());
        let delete = read_ours.delete.expect("the delete record");
        assert_eq!(delete.run_hash(), Some("h1"));
        assert_eq!(delete.suspended_generation, Some(2));
        assert_eq!(delete.pipelines[0].job_name.as_deref(), Some("d-1"));

        let kratix = read(Some(&kratix_flat()), false);
        assert_eq!(kratix.layout, Layout::KratixFlat);
        assert_eq!(kratix.configure.as_ref().map(|r| r.pipelines.len()), Some(2));
        assert_eq!(kratix.configure.as_ref().and_then(WorkflowRecord::run_hash), None);
        // While the object is going, Kratix's single list is its delete run.
        assert!(read(Some(&kratix_flat()), true).delete.is_some());

        assert_eq!(read(None, false).layout, Layout::Empty);
        assert_eq!(read(Some(&json!("junk")), false).layout, Layout::Empty);
    }

    #[test]
    fn a_malformed_entry_is_left_out_not_the_whole_record() {
        let flat = json!({"pipelines": [{"phase": 3}, {"name": "b", "phase": "Running"}]});
        let record = read(Some(&flat), false).configure.expect("a record");
        assert_eq!(record.pipelines.len(), 1);
        assert_eq!(record.pipelines[0].name, "b");
    }

    #[test]
    fn writing_keyed_removes_every_flat_key_and_keeps_the_other_action() {
        let mut status = json!({"kratix": {"workflows": {
            "hash": "h0", "action": "delete", "pipelines": [], "suspendedGeneration": 1,
            "lastSuccessfulConfigureWorkflowTime": "2026-01-01T00:00:00Z",
            "delete": {"pipelines": [{"name": "d", "phase": "Succeeded"}]},
        }}})
        .as_object()
        .cloned()
        .expect("a map");
        let record = WorkflowRecord {
            pipelines: vec![PipelineStatus {
                name: "a".into(),
                hash: Some("h1".into()),
                phase: "Running".into(),
                ..PipelineStatus::default()
            }],
            ..WorkflowRecord::default()
        };
        write(&mut status, WorkflowAction::Configure, &record);
        let workflows = &status["kratix"]["workflows"];
        assert_eq!(
            workflows
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["configure".to_owned(), "delete".to_owned()])
        );
        assert_eq!(workflows["configure"]["pipelines"][0]["hash"], "h1");
    }

    #[test]
    fn kratix_flat_record_is_adopted_only_when_completed_with_every_newest_job_succeeded_at_the_hash() {
        let recorded = read(Some(&kratix_flat()), false);
        let jobs = [
            job("a-old", "a", "h0", "2026-01-01T00:00:00Z", JobState::Succeeded),
            job("a-new", "a", "h1", "2026-01-01T00:00:01Z", JobState::Succeeded),
            job("b-new", "b", "h1", "2026-01-01T00:00:03Z", JobState::Succeeded),
        ];
        let adopted = adopt(&recorded, &names(), &jobs, "h1", true);
        assert_eq!(adopted.layout, Layout::Keyed);
        let configure = adopted.configure.expect("adopted");
        assert!(configure.pipelines.iter().all(|p| p.phase == SUCCEEDED));
        assert!(
            configure
                .pipelines
                .iter()
                .all(|p| p.hash.as_deref() == Some("h1"))
        );
        assert_eq!(configure.pipelines[1].job_name.as_deref(), Some("b-new"));
        assert!(configure.last_successful_configure_workflow_time.is_some());

        // Not completed: the workflow runs.
        assert!(adopt(&recorded, &names(), &jobs, "h1", false).configure.is_none());
        // The spec moved on since: the workflow runs.
        assert!(adopt(&recorded, &names(), &jobs, "h2", true).configure.is_none());
        // A pipeline's Job is gone (pruned, or never ran): the workflow runs.
        assert!(
            adopt(&recorded, &names(), &jobs[..2], "h1", true)
                .configure
                .is_none()
        );
        // A pipeline's newest Job failed, or ran at another hash after: the workflow runs.
        let mut failed = jobs.clone();
        failed[2].state = JobState::Failed;
        assert!(
            adopt(&recorded, &names(), &failed, "h1", true)
                .configure
                .is_none()
        );
        let mut later = jobs.to_vec();
        later.push(job(
            "b-later",
            "b",
            "h0",
            "2026-01-01T00:00:09Z",
            JobState::Succeeded,
        ));
        assert!(adopt(&recorded, &names(), &later, "h1", true).configure.is_none());
        // A delete Job does not count for the configure run.
        let mut delete_jobs = jobs.clone();
        for j in &mut delete_jobs {
            j.action = "delete".into();
        }
        assert!(
            adopt(&recorded, &names(), &delete_jobs, "h1", true)
                .configure
                .is_none()
        );
    }

    #[test]
    fn kratix_jobs_count_for_the_object_and_other_objects_jobs_do_not() {
        use std::collections::BTreeMap;
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let none = map(&[]);
        let here = map(&[(labels::JOB_RESOURCE_NAMESPACE, "team-a")]);
        assert!(is_objects_job(
            &map(&[(labels::OBJECT_UID, "u1")]),
            &none,
            "u1",
            "team-a"
        ));
        // A same-named object deleted and made again: its Jobs are not this one's.
        assert!(!is_objects_job(
            &map(&[(labels::OBJECT_UID, "u0")]),
            &here,
            "u1",
            "team-a"
        ));
        // Kratix's Job for it.
        assert!(is_objects_job(&none, &here, "u1", "team-a"));
        // Kratix's Job for a same-named request in another namespace sharing a pipelineNamespace.
        assert!(!is_objects_job(
            &none,
            &map(&[(labels::JOB_RESOURCE_NAMESPACE, "team-b")]),
            "u1",
            "team-a"
        ));
    }

    #[test]
    fn kratix_jobs_are_looked_at_only_for_records_kratix_wrote() {
        let ours = json!({"configure": {"pipelines": [
            {"name": "a", "hash": "h1", "phase": "Succeeded", "jobName": "a-1"},
            {"name": "b", "hash": "h1", "phase": "Pending"},
        ]}});
        assert!(!needs_kratix_jobs(
            &read(Some(&ours), false),
            WorkflowAction::Configure
        ));
        assert!(!needs_kratix_jobs(&read(None, false), WorkflowAction::Configure));
        let kratix_keyed =
            json!({"configure": {"pipelines": [{"name": "a", "hash": "h1", "phase": "Succeeded"}]}});
        assert!(needs_kratix_jobs(
            &read(Some(&kratix_keyed), false),
            WorkflowAction::Configure
        ));
        assert!(!needs_kratix_jobs(
            &read(Some(&kratix_keyed), false),
            WorkflowAction::Delete
        ));
        assert!(needs_kratix_jobs(
            &read(Some(&kratix_flat()), false),
            WorkflowAction::Configure
        ));
    }

    #[test]
    fn kubectl_kratix_flat_record_carries_over_keyed() {
        let ours = json!({"hash": "h1", "pipelines": [
            {"name": "a", "phase": "Succeeded", "jobName": "a-1"},
            {"name": "b", "phase": "Running", "jobName": "b-1"},
        ]});
        let adopted = adopt(&read(Some(&ours), false), &names(), &[], "h1", false);
        assert_eq!(adopted.layout, Layout::Keyed);
        let configure = adopted.configure.expect("kept");
        assert_eq!(configure.pipelines[1].job_name.as_deref(), Some("b-1"));
        assert_eq!(configure.pipelines[1].hash.as_deref(), Some("h1"));
    }
}

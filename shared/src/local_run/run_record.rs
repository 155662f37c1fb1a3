//! The status a local run leaves on its object, step by step as the agent and
//! the pipeline pod's status-writer leave it on a cluster: a fresh run's
//! progress and Pending conditions, each pipeline Running then Succeeded (its
//! `status.yaml` and workflow control merged as `update-status` merges them),
//! or Failed, or the workflow Suspended; completed after the last one.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value};

use crate::api::promise::WorkflowRecord;
use crate::api::workflow::Workflow;
use crate::pipeline_pod::env::PipelineEnv;
use crate::pipeline_pod::status_update::updated_status;
use crate::workflow::control::WorkflowControl;
use crate::workflow::engine::{self, Situation};
use crate::workflow::records;
use crate::workflow::run_status;
use crate::workflow::status_merge::StatusError;

/// How one pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEnd {
    Succeeded,
    /// The workflow stops here: suspended, or to be retried later.
    Suspended {
        message: Option<String>,
    },
}

/// A run in progress over its object's status.
pub struct RunRecord {
    workflow: Workflow,
    pipelines: Vec<String>,
    hash: String,
    generation: i64,
    status: Map<String, Value>,
    progress: WorkflowRecord,
}

impl RunRecord {
    /// A fresh run of `pipelines` over `object` (its current status kept, as a
    /// run on a cluster keeps it), the object's hash being `hash`.
    pub fn new(object: &Value, workflow: Workflow, pipelines: Vec<String>, hash: String) -> Self {
        let status = object
            .get("status")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let generation = object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        RunRecord {
            workflow,
            pipelines,
            hash,
            generation,
            status,
            progress: WorkflowRecord::default(),
        }
    }

    /// Pipeline `index` starts, its Job being `job_name`.
    pub fn started(&mut self, index: usize, job_name: &str, now: Timestamp) {
        let fresh_run = index == 0;
        let situation = Situation {
            action: self.workflow.action,
            pipelines: &self.pipelines,
            hash: &self.hash,
            progress: &self.progress,
            jobs: &[],
            rerun: false,
            stop_running: false,
            suspended_label: false,
            paused: false,
        };
        self.progress = engine::start(&situation, index, fresh_run, job_name, now);
        records::write(&mut self.status, self.workflow.action, &self.progress);
        run_status::started(
            &mut self.status,
            self.workflow.action,
            fresh_run,
            &now.to_string(),
        );
    }

    /// Pipeline `index`'s containers all succeeded: its status-writer's work
    /// (`env` is that container's, as rendered), then the agent's record.
    pub fn finished(
        &mut self,
        index: usize,
        env: &PipelineEnv,
        incoming: &Value,
        control: &WorkflowControl,
        now: Timestamp,
    ) -> Result<PipelineEnd, StatusError> {
        let current = Value::Object(std::mem::take(&mut self.status));
        let updated = updated_status(env, &current, incoming, control, self.generation, now);
        let updated = match updated {
            Ok(Value::Object(status)) => status,
            Ok(_) => return Err(StatusError::NotAMapping),
            Err(error) => {
                // Keep what was there: the caller reports the pipeline failed.
                if let Value::Object(status) = current {
                    self.status = status;
                }
                return Err(error);
            }
        };
        self.status = updated;
        self.progress = records::read_status(&self.status, false)
            .get(self.workflow.action)
            .cloned()
            .unwrap_or_default();
        if control.stops_workflow() {
            run_status::suspended(&mut self.status, self.workflow.action, &now.to_string());
            return Ok(PipelineEnd::Suspended {
                message: control.message.clone(),
            });
        }
        self.progress = engine::mark(&self.progress, index, engine::SUCCEEDED, now);
        records::write(&mut self.status, self.workflow.action, &self.progress);
        Ok(PipelineEnd::Succeeded)
    }

    /// Pipeline `index` failed (a container exited non-zero, or what it left
    /// could not be read).
    pub fn failed(&mut self, index: usize, message: &str, now: Timestamp) {
        self.progress = engine::refused(&self.progress, index, message, now);
        records::write(&mut self.status, self.workflow.action, &self.progress);
        let pipeline = self.pipelines.get(index).cloned().unwrap_or_default();
        run_status::failed(&mut self.status, self.workflow, &pipeline, &now.to_string());
    }

    /// The object's status as the run left it.
    pub fn status(&self) -> &Map<String, Value> {
        &self.status
    }

    /// The object with the status as the run left it: what the next pipeline reads.
    pub fn object(&self, object: &Value) -> Value {
        let mut object = object.clone();
        if let Value::Object(map) = &mut object {
            map.insert("status".to_owned(), Value::Object(self.status.clone()));
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::workflow::{WorkflowAction, WorkflowType};
    use serde_json::json;

    fn env(pipeline: &str, is_last: bool) -> PipelineEnv {
        PipelineEnv {
            action: WorkflowAction::Configure,
            workflow_type: WorkflowType::Resource,
            promise_name: "redis".into(),
            pipeline_name: pipeline.into(),
            kind: "Redis".into(),
            group: "example.com".into(),
            version: "v1".into(),
            name: "orders".into(),
            namespace: "default".into(),
            plural: "redises".into(),
            cluster_scoped: false,
            dry_run: false,
            is_last_pipeline: is_last,
        }
    }

    fn condition<'a>(status: &'a Map<String, Value>, type_: &str) -> &'a Value {
        status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == type_))
            .unwrap_or_else(|| panic!("no {type_} in {status:?}"))
    }

    #[test]
    fn two_pipelines_complete_with_the_first_ones_status_seen_by_the_second() {
        let object = json!({"metadata": {"name": "orders", "generation": 1}, "spec": {}});
        let names = vec!["first".to_owned(), "second".to_owned()];
        let mut run = RunRecord::new(&object, Workflow::RESOURCE_CONFIGURE, names, "h1".into());
        let now = Timestamp::UNIX_EPOCH;
        run.started(0, "kratix-redis-orders-first-aaaaa", now);
        let end = run
            .finished(
                0,
                &env("first", false),
                &json!({"port": 6379}),
                &WorkflowControl::default(),
                now,
            )
            .expect("merges");
        assert_eq!(end, PipelineEnd::Succeeded);
        assert_eq!(
            run.object(&object)["status"]["port"],
            6379,
            "the second pipeline reads it"
        );
        assert_eq!(
            condition(run.status(), "ConfigureWorkflowCompleted")["status"],
            "False"
        );
        run.started(1, "kratix-redis-orders-second-bbbbb", now);
        run.finished(
            1,
            &env("second", true),
            &json!({"ready": true}),
            &WorkflowControl::default(),
            now,
        )
        .expect("merges");
        let status = run.status();
        assert_eq!(condition(status, "ConfigureWorkflowCompleted")["status"], "True");
        assert_eq!(
            (status["port"].clone(), status["ready"].clone()),
            (json!(6379), json!(true))
        );
        let record = records::read_status(status, false);
        let phases: Vec<&str> = record
            .get(WorkflowAction::Configure)
            .map(|r| r.pipelines.iter().map(|p| p.phase.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(phases, ["Succeeded", "Succeeded"]);
    }

    #[test]
    fn a_failure_and_a_suspension_are_recorded_as_on_a_cluster() {
        let object = json!({"metadata": {"name": "orders"}});
        let names = vec!["first".to_owned()];
        let mut failed = RunRecord::new(&object, Workflow::RESOURCE_CONFIGURE, names.clone(), "h1".into());
        failed.started(0, "job", Timestamp::UNIX_EPOCH);
        failed.failed(0, "container main exited with 3", Timestamp::UNIX_EPOCH);
        assert_eq!(
            condition(failed.status(), "ConfigureWorkflowCompleted")["status"],
            "False"
        );
        let record = records::read_status(failed.status(), false);
        let entry = &record.get(WorkflowAction::Configure).expect("record").pipelines[0];
        assert_eq!(
            (entry.phase.as_str(), entry.message.as_deref()),
            ("Failed", Some("container main exited with 3"))
        );

        let mut suspended = RunRecord::new(&object, Workflow::RESOURCE_CONFIGURE, names, "h1".into());
        suspended.started(0, "job", Timestamp::UNIX_EPOCH);
        let control = WorkflowControl {
            suspend: true,
            message: Some("waiting for approval".into()),
            retry_after: None,
        };
        let end = suspended
            .finished(
                0,
                &env("first", true),
                &Value::Null,
                &control,
                Timestamp::UNIX_EPOCH,
            )
            .expect("records");
        assert_eq!(
            end,
            PipelineEnd::Suspended {
                message: Some("waiting for approval".into())
            }
        );
        let record = records::read_status(suspended.status(), false);
        assert_eq!(
            record.get(WorkflowAction::Configure).expect("record").pipelines[0].phase,
            "Suspended"
        );
    }
}

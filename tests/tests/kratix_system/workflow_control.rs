//! `workflow_control_test.go`: pipelines that suspend their workflow or ask
//! for a retry through `/kratix/metadata/workflow-control.yaml`, in configure
//! and delete workflows of Promises and requests. Per-pipeline status is read
//! where Kratix keeps it since its #933: `status.kratix.workflows.<action>`.

use std::time::Duration;

use crate::harness::{asset, consistently, count, eventually, kubectl, kubectl_ok, start};

/// Kratix's suite waits up to four minutes for each step of this group.
const STEP: Duration = Duration::from_secs(240);
const SYSTEM: &str = "kratix-platform-system";

/// What Kratix's `pipelineState` reads in one `kubectl get`.
#[derive(Debug)]
struct PipelineState {
    suspended_label: String,
    phase: String,
    message: String,
    next_retry_at: String,
    attempts: String,
}

impl PipelineState {
    fn attempts_at_least(&self, least: u64) -> Result<(), String> {
        match self.attempts.parse::<u64>() {
            Ok(n) if n >= least => Ok(()),
            _ => Err(format!(
                "attempts {:?}, wanted at least {least}: {self:?}",
                self.attempts
            )),
        }
    }
}

/// The object: a Promise, or a request of `kind` in `default`.
#[derive(Clone, Copy)]
struct Object<'a> {
    kind: &'a str,
    name: &'a str,
}

impl Object<'_> {
    fn get(&self, extra: &[&str]) -> (bool, String) {
        let mut args = vec!["get", self.kind, self.name];
        if self.kind != "promise" {
            args.extend(["-n", "default"]);
        }
        args.extend_from_slice(extra);
        kubectl(&args)
    }

    fn jsonpath(&self, path: &str) -> String {
        let (_, text) = self.get(&[&format!("-o=jsonpath={path}")]);
        text
    }

    fn state(&self, action: &str, pipeline: &str) -> PipelineState {
        let path = format!(
            "{{.metadata.labels.kratix\\.io/workflow-suspended}}{{\"|\"}}{{range .status.kratix.workflows.{action}.pipelines[?(@.name==\"{pipeline}\")]}}{{.phase}}{{\"|\"}}{{.message}}{{\"|\"}}{{.nextRetryAt}}{{\"|\"}}{{.attempts}}{{end}}"
        );
        let text = self.jsonpath(&path);
        let mut parts = text.split('|').map(str::to_owned);
        let mut next = || parts.next().unwrap_or_default();
        PipelineState {
            suspended_label: next(),
            phase: next(),
            message: next(),
            next_retry_at: next(),
            attempts: next(),
        }
    }

    fn phase(&self, action: &str, pipeline: &str) -> String {
        self.jsonpath(&format!(
            "{{.status.kratix.workflows.{action}.pipelines[?(@.name==\"{pipeline}\")].phase}}"
        ))
    }

    fn condition(&self, type_: &str, field: &str) -> String {
        self.jsonpath(&format!("{{.status.conditions[?(@.type==\"{type_}\")].{field}}}"))
    }

    /// `Eventually`: `DeleteWorkflowCompleted` False with `DeleteWorkflowSuspended`.
    async fn delete_workflow_suspended(&self) {
        eventually(
            &format!(
                "{} {}: DeleteWorkflowCompleted False/DeleteWorkflowSuspended",
                self.kind, self.name
            ),
            STEP,
            || {
                let seen = (
                    self.condition("DeleteWorkflowCompleted", "status"),
                    self.condition("DeleteWorkflowCompleted", "reason"),
                );
                if seen.0 == "False" && seen.1 == "DeleteWorkflowSuspended" {
                    Ok(())
                } else {
                    Err(format!("{seen:?}"))
                }
            },
        )
        .await;
    }

    /// `Eventually`: `kubectl get ... --ignore-not-found` prints nothing.
    async fn gone(&self) {
        eventually(&format!("{} {} to be gone", self.kind, self.name), STEP, || {
            let (_, text) = self.get(&["--ignore-not-found"]);
            if text.trim().is_empty() { Ok(()) } else { Err(text) }
        })
        .await;
    }
}

/// Kratix's `jobCountForWorkflow`: the Jobs of one pipeline of one workflow.
fn jobs(workflow_type: &str, promise: &str, pipeline: &str, action: &str) -> usize {
    let namespace = if workflow_type == "promise" {
        SYSTEM
    } else {
        "default"
    };
    count(
        "jobs",
        namespace,
        &format!(
            "kratix.io/promise-name={promise},kratix.io/workflow-type={workflow_type},kratix.io/workflow-action={action},kratix.io/pipeline-name={pipeline}"
        ),
    )
}

fn at_least(seen: usize, least: usize, what: &str) -> Result<(), String> {
    if seen >= least {
        Ok(())
    } else {
        Err(format!("{what}: {seen}, wanted at least {least}"))
    }
}

fn equal<T: PartialEq + std::fmt::Debug>(seen: T, wanted: T, what: &str) -> Result<(), String> {
    if seen == wanted {
        Ok(())
    } else {
        Err(format!("{what}: {seen:?}, wanted {wanted:?}"))
    }
}

/// "When the file has 'retryAfter' set" "works".
#[tokio::test]
async fn workflow_control_retry_after() {
    let Some(group) = start("workflow-control").await else {
        return;
    };
    let dir = group.dir.clone();
    let promise = Object {
        kind: "promise",
        name: "workflow-retry",
    };
    let request = Object {
        kind: "workflowretries",
        name: "retry-test",
    };
    let promise_file = asset(&dir, "promise-retry.yaml");
    let request_file = asset(&dir, "resource-request-retry.yaml");
    // BeforeEach: no gate left from an interrupted run.
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-test",
        "-n",
        SYSTEM,
        "--ignore-not-found",
    ]);
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-resource-gate",
        "workflow-retry-delete-gate",
        "-n",
        "default",
        "--ignore-not-found",
    ]);
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-promise-delete-gate",
        "-n",
        SYSTEM,
        "--ignore-not-found",
    ]);

    // Retrying the Promise pipeline after the interval.
    kubectl_ok(&["apply", "-f", &promise_file]);
    eventually("pipe-retry suspended for a retry", STEP, || {
        equal(
            promise.phase("configure", "pipe-0").as_str(),
            "Succeeded",
            "pipe-0",
        )?;
        let state = promise.state("configure", "pipe-retry");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(
            state.message.as_str(),
            "configmap workflow-retry-test not found",
            "message",
        )?;
        if state.next_retry_at.is_empty() {
            return Err(format!("no nextRetryAt: {state:?}"));
        }
        state.attempts_at_least(1)?;
        equal(state.suspended_label.as_str(), "true", "label")
    })
    .await;
    assert_eq!(jobs("promise", "workflow-retry", "pipe-2", "configure"), 0);
    eventually("pipe-retry to run again", STEP, || {
        at_least(
            jobs("promise", "workflow-retry", "pipe-retry", "configure"),
            2,
            "pipe-retry Jobs",
        )
    })
    .await;
    eventually("a second attempt recorded", STEP, || {
        let state = promise.state("configure", "pipe-retry");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        state.attempts_at_least(2)
    })
    .await;

    // Not retrying once the pipeline asks for nothing.
    kubectl_ok(&["create", "-n", SYSTEM, "cm", "workflow-retry-test"]);
    eventually("every Promise pipeline to succeed", STEP, || {
        for pipeline in ["pipe-0", "pipe-retry", "pipe-2"] {
            equal(
                promise.phase("configure", pipeline).as_str(),
                "Succeeded",
                pipeline,
            )?;
        }
        let state = promise.state("configure", "pipe-retry");
        equal(state.next_retry_at.as_str(), "", "nextRetryAt")?;
        equal(state.attempts.as_str(), "", "attempts")?;
        equal(state.suspended_label.as_str(), "", "label")?;
        let (_, text) = promise.get(&[]);
        if text.contains("Available") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    // Retrying a resource request pipeline after the interval.
    kubectl_ok(&["apply", "-f", &request_file]);
    eventually("resource-pipe-retry suspended for a retry", STEP, || {
        at_least(
            jobs("resource", "workflow-retry", "resource-pipe-retry", "configure"),
            1,
            "Jobs",
        )?;
        let state = request.state("configure", "resource-pipe-retry");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        if state.next_retry_at.is_empty() {
            return Err(format!("no nextRetryAt: {state:?}"));
        }
        state.attempts_at_least(1)
    })
    .await;
    eventually("resource-pipe-retry to run again", STEP, || {
        at_least(
            jobs("resource", "workflow-retry", "resource-pipe-retry", "configure"),
            2,
            "Jobs",
        )?;
        request
            .state("configure", "resource-pipe-retry")
            .attempts_at_least(2)
    })
    .await;

    // Completing the resource configure once its gate exists.
    kubectl_ok(&["create", "cm", "workflow-retry-resource-gate", "-n", "default"]);
    eventually("resource-pipe-retry to succeed", STEP, || {
        let state = request.state("configure", "resource-pipe-retry");
        equal(state.phase.as_str(), "Succeeded", "phase")?;
        equal(state.suspended_label.as_str(), "", "label")
    })
    .await;

    // Retrying the resource delete pipeline after the interval.
    kubectl_ok(&["delete", "-f", &request_file, "--wait=false"]);
    eventually("resource-delete-retry-pipe suspended for a retry", STEP, || {
        at_least(
            jobs(
                "resource",
                "workflow-retry",
                "resource-delete-retry-pipe",
                "delete",
            ),
            1,
            "Jobs",
        )?;
        let state = request.state("delete", "resource-delete-retry-pipe");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(
            state.message.as_str(),
            "waiting for delete gate configmap",
            "message",
        )?;
        if state.next_retry_at.is_empty() {
            return Err(format!("no nextRetryAt: {state:?}"));
        }
        state.attempts_at_least(1)
    })
    .await;
    assert_eq!(
        request.jsonpath("{.status.kratix.workflows.delete.pipelines[*].name}"),
        "resource-delete-retry-pipe"
    );
    request.delete_workflow_suspended().await;
    eventually("resource-delete-retry-pipe to run again", STEP, || {
        at_least(
            jobs(
                "resource",
                "workflow-retry",
                "resource-delete-retry-pipe",
                "delete",
            ),
            2,
            "Jobs",
        )?;
        request
            .state("delete", "resource-delete-retry-pipe")
            .attempts_at_least(2)
    })
    .await;

    // Completing the deletion once the delete gate exists.
    kubectl_ok(&["create", "cm", "workflow-retry-delete-gate", "-n", "default"]);
    request.gone().await;

    // Retrying the Promise delete pipeline after the interval.
    kubectl_ok(&["delete", "promise", "workflow-retry", "--wait=false"]);
    eventually("promise-delete-retry-pipe suspended for a retry", STEP, || {
        at_least(
            jobs("promise", "workflow-retry", "promise-delete-retry-pipe", "delete"),
            1,
            "Jobs",
        )?;
        let state = promise.state("delete", "promise-delete-retry-pipe");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(
            state.message.as_str(),
            "waiting for promise delete gate configmap",
            "message",
        )?;
        if state.next_retry_at.is_empty() {
            return Err(format!("no nextRetryAt: {state:?}"));
        }
        state.attempts_at_least(1)
    })
    .await;
    promise.delete_workflow_suspended().await;
    eventually("promise-delete-retry-pipe to run again", STEP, || {
        at_least(
            jobs("promise", "workflow-retry", "promise-delete-retry-pipe", "delete"),
            2,
            "Jobs",
        )?;
        promise
            .state("delete", "promise-delete-retry-pipe")
            .attempts_at_least(2)
    })
    .await;

    // Completing the Promise's deletion once its gate exists.
    kubectl_ok(&["create", "cm", "workflow-retry-promise-delete-gate", "-n", SYSTEM]);
    promise.gone().await;

    // AfterEach: the gates go.
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-test",
        "-n",
        SYSTEM,
        "--ignore-not-found",
    ]);
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-resource-gate",
        "workflow-retry-delete-gate",
        "-n",
        "default",
        "--ignore-not-found",
    ]);
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-retry-promise-delete-gate",
        "-n",
        SYSTEM,
        "--ignore-not-found",
    ]);
}

/// The Promise's suspended state of step 1: pipe-0 done, pipe-1 suspended, pipe-2 waiting.
fn suspended_at_pipe_1(promise: Object<'_>) -> Result<(), String> {
    equal(
        promise.phase("configure", "pipe-0").as_str(),
        "Succeeded",
        "pipe-0",
    )?;
    let state = promise.state("configure", "pipe-1");
    equal(state.phase.as_str(), "Suspended", "pipe-1")?;
    equal(state.message.as_str(), "waiting for approval", "message")?;
    equal(promise.phase("configure", "pipe-2").as_str(), "Pending", "pipe-2")?;
    equal(state.suspended_label.as_str(), "true", "label")
}

fn promise_jobs(pipeline: &str) -> usize {
    jobs("promise", "workflow-suspend", pipeline, "configure")
}

/// Kratix's `workCountForResourcePipeline`.
fn resource_works() -> usize {
    count(
        "works",
        "default",
        "kratix.io/promise-name=workflow-suspend,kratix.io/work-type=resource,kratix.io/resource-name=suspend-test,kratix.io/pipeline-name=resource-pipe-0",
    )
}

/// "When pipelines are suspended by the workflow control file" "works".
#[tokio::test]
async fn workflow_control_suspend() {
    let Some(group) = start("workflow-control").await else {
        return;
    };
    let dir = group.dir.clone();
    let promise = Object {
        kind: "promise",
        name: "workflow-suspend",
    };
    let request = Object {
        kind: "workflowsuspends",
        name: "suspend-test",
    };
    let configmap = asset(&dir, "configmap.yaml");
    let request_file = asset(&dir, "resource-request.yaml");
    // BeforeEach.
    kubectl_ok(&["delete", "-f", &configmap, "--ignore-not-found"]);
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-suspend-promise-delete-gate",
        "-n",
        SYSTEM,
        "--ignore-not-found",
    ]);

    // Suspending the right pipeline.
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise.yaml")]);
    eventually("pipe-1 to suspend the workflow", STEP, || {
        suspended_at_pipe_1(promise)
    })
    .await;
    consistently("pipe-2 has no Job", Duration::from_secs(10), || {
        equal(promise_jobs("pipe-2"), 0, "pipe-2 Jobs")
    })
    .await;

    // Lifting the suspension resumes at the suspended pipeline.
    let before: Vec<usize> = ["pipe-0", "pipe-1", "pipe-2"].map(promise_jobs).to_vec();
    kubectl_ok(&[
        "label",
        "promise",
        "workflow-suspend",
        "kratix.io/workflow-suspended-",
    ]);
    eventually("pipe-1 to run again", STEP, || {
        equal(promise_jobs("pipe-1"), before[1] + 1, "pipe-1 Jobs")
    })
    .await;
    consistently("pipe-0 and pipe-2 do not run", Duration::from_secs(10), || {
        equal(promise_jobs("pipe-0"), before[0], "pipe-0 Jobs")?;
        equal(promise_jobs("pipe-2"), before[2], "pipe-2 Jobs")
    })
    .await;
    eventually("pipe-1 to suspend the workflow again", STEP, || {
        suspended_at_pipe_1(promise)
    })
    .await;

    // A manual reconciliation starts from the beginning.
    let before: Vec<usize> = ["pipe-0", "pipe-1", "pipe-2"].map(promise_jobs).to_vec();
    kubectl_ok(&[
        "label",
        "promise",
        "workflow-suspend",
        "kratix.io/manual-reconciliation=true",
        "--overwrite",
    ]);
    eventually("pipe-0 and pipe-1 to run again", STEP, || {
        equal(promise_jobs("pipe-0"), before[0] + 1, "pipe-0 Jobs")?;
        equal(promise_jobs("pipe-1"), before[1] + 1, "pipe-1 Jobs")
    })
    .await;
    consistently("pipe-2 does not run", Duration::from_secs(10), || {
        equal(promise_jobs("pipe-2"), before[2], "pipe-2 Jobs")
    })
    .await;
    eventually("pipe-1 to suspend the workflow again", STEP, || {
        suspended_at_pipe_1(promise)
    })
    .await;

    // A spec change starts from the beginning, and this one does not suspend.
    let before: Vec<usize> = ["pipe-0", "pipe-1", "pipe-2"].map(promise_jobs).to_vec();
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise-updated.yaml")]);
    eventually("every pipeline to run again", STEP, || {
        for (index, pipeline) in ["pipe-0", "pipe-1", "pipe-2"].into_iter().enumerate() {
            equal(promise_jobs(pipeline), before[index] + 1, pipeline)?;
        }
        Ok(())
    })
    .await;
    eventually("the updated workflow to complete", STEP, || {
        for pipeline in ["pipe-0", "pipe-1", "pipe-2"] {
            equal(
                promise.phase("configure", pipeline).as_str(),
                "Succeeded",
                pipeline,
            )?;
        }
        equal(
            promise.state("configure", "pipe-1").message.as_str(),
            "",
            "message",
        )?;
        equal(
            promise.condition("ConfigureWorkflowCompleted", "status").as_str(),
            "True",
            "ConfigureWorkflowCompleted",
        )?;
        equal(
            promise
                .jsonpath("{.status.kratix.workflows.configure.suspendedGeneration}")
                .as_str(),
            "",
            "suspendedGeneration",
        )?;
        let (_, yaml) = promise.get(&["-o", "yaml"]);
        if yaml.contains("kratix.io/workflow-suspended") {
            return Err(format!("still says kratix.io/workflow-suspended: {yaml}"));
        }
        Ok(())
    })
    .await;

    // Suspending the resource pipeline.
    kubectl_ok(&["apply", "-f", &request_file]);
    eventually("resource-pipe-0 to suspend", STEP, || {
        let state = request.state("configure", "resource-pipe-0");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(state.message.as_str(), "waiting for configmap", "message")?;
        equal(state.suspended_label.as_str(), "true", "label")
    })
    .await;
    consistently("no Work while suspended", Duration::from_secs(5), || {
        equal(resource_works(), 0, "Works")
    })
    .await;

    // Lifting the suspension through the label.
    let before = jobs("resource", "workflow-suspend", "resource-pipe-0", "configure");
    kubectl_ok(&["apply", "-f", &configmap]);
    kubectl_ok(&[
        "label",
        "workflowsuspends",
        "suspend-test",
        "-n",
        "default",
        "kratix.io/workflow-suspended-",
    ]);
    eventually("resource-pipe-0 to run again", STEP, || {
        equal(
            jobs("resource", "workflow-suspend", "resource-pipe-0", "configure"),
            before + 1,
            "Jobs",
        )
    })
    .await;
    eventually("the request's workflow to complete", STEP, || {
        let state = request.state("configure", "resource-pipe-0");
        equal(state.phase.as_str(), "Succeeded", "phase")?;
        equal(state.message.as_str(), "", "message")?;
        equal(
            request.condition("ConfigureWorkflowCompleted", "status").as_str(),
            "True",
            "ConfigureWorkflowCompleted",
        )?;
        equal(
            request
                .jsonpath("{.status.kratix.workflows.configure.suspendedGeneration}")
                .as_str(),
            "",
            "suspendedGeneration",
        )?;
        equal(state.suspended_label.as_str(), "", "label")
    })
    .await;
    eventually("the request's Work", STEP, || equal(resource_works(), 1, "Works")).await;

    // Suspending the resource delete pipeline (the gate still exists).
    kubectl_ok(&["delete", "-f", &request_file, "--wait=false"]);
    eventually("resource-delete-pipe to suspend", STEP, || {
        let state = request.state("delete", "resource-delete-pipe");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(state.message.as_str(), "waiting for delete approval", "message")?;
        equal(state.suspended_label.as_str(), "true", "label")
    })
    .await;
    request.delete_workflow_suspended().await;
    consistently(
        "the Work stays while deletion is suspended",
        Duration::from_secs(5),
        || equal(resource_works(), 1, "Works"),
    )
    .await;

    // Resuming the deletion once the gate is gone and the label lifted.
    kubectl_ok(&["delete", "-f", &configmap]);
    kubectl_ok(&[
        "label",
        "workflowsuspends",
        "suspend-test",
        "-n",
        "default",
        "kratix.io/workflow-suspended-",
    ]);
    request.gone().await;

    // Suspending the Promise delete pipeline.
    kubectl_ok(&[
        "create",
        "cm",
        "workflow-suspend-promise-delete-gate",
        "-n",
        SYSTEM,
    ]);
    kubectl_ok(&["delete", "promise", "workflow-suspend", "--wait=false"]);
    eventually("promise-delete-pipe to suspend", STEP, || {
        let state = promise.state("delete", "promise-delete-pipe");
        equal(state.phase.as_str(), "Suspended", "phase")?;
        equal(
            state.message.as_str(),
            "waiting for promise delete approval",
            "message",
        )?;
        equal(state.suspended_label.as_str(), "true", "label")
    })
    .await;
    consistently(
        "the delete pipeline does not run again by itself",
        Duration::from_secs(10),
        || {
            equal(
                jobs("promise", "workflow-suspend", "promise-delete-pipe", "delete"),
                1,
                "delete Jobs",
            )
        },
    )
    .await;
    promise.delete_workflow_suspended().await;

    // Resuming the Promise's deletion.
    kubectl_ok(&[
        "delete",
        "cm",
        "workflow-suspend-promise-delete-gate",
        "-n",
        SYSTEM,
    ]);
    kubectl_ok(&[
        "label",
        "promise",
        "workflow-suspend",
        "kratix.io/workflow-suspended-",
    ]);
    promise.gone().await;
}

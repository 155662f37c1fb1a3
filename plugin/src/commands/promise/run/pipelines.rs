//! Runs a workflow's rendered pipelines in order, each in folders of its own,
//! doing between them what Kratix's containers do in the pod: the object (with
//! the status so far) into `/kratix/input/object.yaml` before, and after, the
//! pipeline's output as the Work's groups and its `status.yaml` and workflow
//! control merged into the object's status.

use std::path::{Path, PathBuf};

use anyhow::Result;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::WorkflowAction;
use kratix_shared::local_run::container_plan::{PipelineDirs, PipelinePlan, plan_pipeline};
use kratix_shared::local_run::engine_command::{Engine, RunOptions, run_command};
use kratix_shared::local_run::run_record::{PipelineEnd, RunRecord};
use kratix_shared::local_run::{PlanProblem, Sources};
use kratix_shared::pipeline_pod::env::PipelineEnv;
use kratix_shared::pipeline_pod::pod_files;
use kratix_shared::render::PipelineResources;
use kratix_shared::render::names::STATUS_WRITER;

use super::inputs::RunInputs;
use super::outcome::{ContainerOutcome, GroupOutcome, PipelineOutcome, RunOutcome, RunResult, WorkOutcome};
use super::{engine, folders, interrupt};
use crate::display::log_lines::LogPrinter;

/// The engine and how its output is shown.
pub struct Runner<'a> {
    pub engine: Engine,
    pub program: &'a Path,
    pub printer: &'a LogPrinter,
}

/// One pipeline's folders under the run's directory.
fn dirs_of(root: &Path, index: usize, name: &str) -> (PathBuf, PipelineDirs) {
    let dir = root.join(format!("{}-{name}", index + 1));
    let dirs = PipelineDirs {
        input: dir.join("input"),
        output: dir.join("output"),
        metadata: dir.join("metadata"),
        volumes: dir.join("volumes"),
    };
    (dir, dirs)
}

/// Every pipeline's pod planned, before anything runs: every missing Secret,
/// ConfigMap or key and every path that escapes is found at once.
/// A container asking for more than an unprivileged one has is refused
/// unless `allow_privileged`.
pub fn plan_all(
    inputs: &RunInputs,
    root: &Path,
    allow_privileged: bool,
) -> Result<Vec<(PipelinePlan, PipelineDirs)>, Vec<PlanProblem>> {
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for (index, resources) in inputs.pipelines.iter().enumerate() {
        let (_, dirs) = dirs_of(root, index, &resources.pipeline_name);
        match plan_pipeline(&resources.job, &inputs.uid, &inputs.sources, &dirs) {
            Ok(plan) => {
                for container in &plan.containers {
                    if let Some(group) = container.security.group_without_user {
                        eprintln!(
                            "warning: pipeline {} container {}: securityContext.runAsGroup {group} is not applied here (an engine sets a group only with runAsUser); the image's own user and group run it",
                            plan.pipeline, container.name
                        );
                    }
                    if allow_privileged {
                        continue;
                    }
                    problems.extend(container.security.elevated().into_iter().map(|(field, value)| {
                        PlanProblem {
                            pipeline: plan.pipeline.clone(),
                            container: Some(container.name.clone()),
                            field: field.to_owned(),
                            message: format!(
                                "is {value}: on this machine that is more than a pod on a node gets (under rootful docker, root here); pass --allow-privileged to run it so"
                            ),
                        }
                    }));
                }
                plans.push((plan, dirs));
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(problems)
    }
}

/// Runs the planned pipelines in order until one fails or suspends the workflow.
pub fn run_all(
    runner: &Runner<'_>,
    inputs: &RunInputs,
    plans: &[(PipelinePlan, PipelineDirs)],
    root: &Path,
) -> Result<RunOutcome> {
    let names: Vec<String> = inputs.pipelines.iter().map(|p| p.pipeline_name.clone()).collect();
    let mut record = RunRecord::new(&inputs.object, inputs.workflow, names, inputs.hash.clone());
    let mut outcomes = Vec::new();
    let mut result = RunResult::Succeeded;
    for (index, ((plan, dirs), resources)) in plans.iter().zip(&inputs.pipelines).enumerate() {
        let (dir, _) = dirs_of(root, index, &resources.pipeline_name);
        let mut outcome = PipelineOutcome {
            name: resources.pipeline_name.clone(),
            job: resources.job.metadata.name.clone().unwrap_or_default(),
            phase: "NotRun".to_owned(),
            containers: plan
                .containers
                .iter()
                .map(|c| ContainerOutcome {
                    name: c.name.clone(),
                    image: c.image.clone(),
                    exit_code: None,
                })
                .collect(),
            work: None,
            message: None,
            dir: dir.display().to_string(),
        };
        if result == RunResult::Succeeded {
            result = run_one(
                runner,
                inputs,
                index,
                (plan, dirs, &dir),
                resources,
                &mut record,
                &mut outcome,
            )?;
        }
        outcomes.push(outcome);
    }
    Ok(RunOutcome {
        promise: inputs.promise_name.clone(),
        workflow: inputs.workflow.to_string(),
        object: inputs.describe_object(),
        output_dir: root.display().to_string(),
        result,
        pipelines: outcomes,
        status: record.status().clone(),
    })
}

/// How one pipeline ended, with what to say about it.
enum Ended {
    Succeeded,
    Suspended(String),
    Failed(String),
}

fn run_one(
    runner: &Runner<'_>,
    inputs: &RunInputs,
    index: usize,
    (plan, dirs, dir): (&PipelinePlan, &PipelineDirs, &Path),
    resources: &PipelineResources,
    record: &mut RunRecord,
    outcome: &mut PipelineOutcome,
) -> Result<RunResult> {
    interrupt::secret_folders(folders::secret_folders(plan));
    let prepared = folders::prepare_pipeline(dir, dirs, plan, resources, &record.object(&inputs.object));
    if let Err(error) = prepared {
        folders::drop_secrets(plan);
        return Err(error);
    }
    record.started(index, &outcome.job, Timestamp::now());
    let ran = run_containers(runner, index, plan, outcome);
    folders::drop_secrets(plan);
    interrupt::secret_folders(Vec::new());
    let ended = match ran? {
        Some(failure) => Ended::Failed(failure),
        None => kratix_containers(inputs, (dirs, dir), resources, record, index, outcome)?,
    };
    Ok(match ended {
        Ended::Succeeded => {
            outcome.phase = "Succeeded".to_owned();
            RunResult::Succeeded
        }
        Ended::Suspended(message) => {
            outcome.phase = "Suspended".to_owned();
            outcome.message = Some(message);
            RunResult::Suspended
        }
        Ended::Failed(message) => fail(record, index, outcome, message),
    })
}

/// The user's containers in order; why the first that failed did, if one did.
fn run_containers(
    runner: &Runner<'_>,
    index: usize,
    plan: &PipelinePlan,
    outcome: &mut PipelineOutcome,
) -> Result<Option<String>> {
    for (position, container) in plan.containers.iter().enumerate() {
        let options = RunOptions {
            container_name: format!(
                "kratix-run-{}-{}-{}",
                std::process::id(),
                index + 1,
                container.name
            ),
            ulimits: engine::ulimits(runner.engine),
        };
        let (pipeline, name) = (&plan.pipeline, &container.name);
        let ready = match folders::ready_mounts(container) {
            Ok(ready) => ready,
            Err(why) => return Ok(Some(format!("container {name}: {why}"))),
        };
        let command = run_command(runner.engine, &ready, &options);
        runner
            .printer
            .marker('+', pipeline, name, &options.container_name, &container.image);
        let exit = engine::run(
            runner.program,
            &command,
            runner.printer,
            (pipeline, name),
            &options.container_name,
        )?;
        outcome.containers[position].exit_code = exit.code;
        if exit.code != Some(0) {
            let why = engine::explain_exit(runner.engine, &container.image, exit.code);
            return Ok(Some(format!("container {name} {why}")));
        }
    }
    Ok(None)
}

/// What the work-writer and the status-writer do after the user's containers:
/// the Work from the output (none for a stopped workflow), then the status.
fn kratix_containers(
    inputs: &RunInputs,
    (dirs, dir): (&PipelineDirs, &Path),
    resources: &PipelineResources,
    record: &mut RunRecord,
    index: usize,
    outcome: &mut PipelineOutcome,
) -> Result<Ended> {
    let control = match pod_files::read_control(&dirs.metadata) {
        Ok(control) => control,
        Err(error) => return Ok(Ended::Failed(error.to_string())),
    };
    if inputs.workflow.action == WorkflowAction::Configure && !control.stops_workflow() {
        let scheduling = folders::promise_scheduling(dir);
        let groups = pod_files::read_workload_groups(
            &dirs.output,
            &dirs.metadata,
            Some(&scheduling),
            inputs.workflow.workflow_type,
        );
        match groups {
            Ok(groups) => outcome.work = Some(work_outcome(&groups, inputs, resources)),
            Err(error) => {
                return Ok(Ended::Failed(format!(
                    "the work-writer refused the output: {error}"
                )));
            }
        }
    }
    let incoming = match pod_files::read_status(&dirs.metadata) {
        Ok(incoming) => incoming,
        Err(error) => return Ok(Ended::Failed(error.to_string())),
    };
    let env = status_writer_env(resources)?;
    Ok(
        match record.finished(index, &env, &incoming, &control, Timestamp::now()) {
            Ok(PipelineEnd::Succeeded) => Ended::Succeeded,
            Ok(PipelineEnd::Suspended { message }) => {
                let said = message.map(|m| format!(": {m}")).unwrap_or_default();
                Ended::Suspended(match control.retry_after {
                    Some(after) => format!("workflow-control.yaml asks to retry after {after:?}{said}"),
                    None => format!("workflow-control.yaml suspends the workflow{said}"),
                })
            }
            Err(error) => {
                let file = dirs.metadata.join(pod_files::STATUS_FILE);
                Ended::Failed(format!("{}: {error}", file.display()))
            }
        },
    )
}

fn fail(record: &mut RunRecord, index: usize, outcome: &mut PipelineOutcome, message: String) -> RunResult {
    record.failed(index, &message, Timestamp::now());
    outcome.phase = "Failed".to_owned();
    outcome.message = Some(message);
    RunResult::Failed
}

/// The `KRATIX_*` variables the status-writer container would get, as rendered.
fn status_writer_env(resources: &PipelineResources) -> Result<PipelineEnv> {
    let containers = resources
        .job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let env = containers
        .iter()
        .find(|c| c.name == STATUS_WRITER)
        .and_then(|c| c.env.clone())
        .unwrap_or_default();
    Ok(PipelineEnv::from_vars(|name| {
        env.iter().find(|v| v.name == name).and_then(|v| v.value.clone())
    })?)
}

fn work_outcome(
    groups: &[kratix_shared::api::work::WorkloadGroup],
    inputs: &RunInputs,
    resources: &PipelineResources,
) -> WorkOutcome {
    WorkOutcome {
        workload_groups: groups
            .iter()
            .map(|group| {
                let files: Vec<String> = group.workloads.iter().map(|w| w.filepath.clone()).collect();
                GroupOutcome {
                    id: group.id.clone(),
                    directory: group.directory.clone(),
                    destination_selectors: group
                        .destination_selectors
                        .iter()
                        .map(|s| serde_json::to_value(s).unwrap_or_default())
                        .collect(),
                    store_paths: inputs
                        .store_paths
                        .as_ref()
                        .map(|s| s.paths(&inputs.promise_name, &resources.job, group))
                        .unwrap_or_default(),
                    files,
                }
            })
            .collect(),
    }
}

/// Sources are checked for use before anything runs; kept here for the
/// message when none were given but some are needed.
pub fn hint_for(problems: &[PlanProblem], sources: &Sources) -> Option<&'static str> {
    (sources.secrets.is_empty() && sources.config_maps.is_empty() && !problems.is_empty())
        .then_some("give what the pipelines read with --secret NAME=DIR|FILE and --configmap NAME=DIR|FILE")
}

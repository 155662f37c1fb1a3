//! `work-creator`: the pipeline's output becomes (or updates) this pipeline's Work.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kratix_shared::api::labels;
use kratix_shared::api::naming::random_object_name;
use kratix_shared::api::work::{Work, WorkSpec, WorkloadGroup};
use kratix_shared::api::workflow::WorkflowType;
use kratix_shared::pipeline_pod::pod_files;
use kratix_shared::workflow::control::WORKFLOW_CONTROL_FILE;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};

use super::client;

/// The flags the rendered Job passes (the reference's, unchanged).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkCreatorArgs {
    /// Holds `input/` (the output), `metadata/` and `kratix-system/`.
    #[arg(long)]
    pub input_directory: PathBuf,
    #[arg(long)]
    pub promise_name: String,
    #[arg(long)]
    pub pipeline_name: String,
    /// Namespace of the Work.
    #[arg(long, default_value = labels::SYSTEM_NAMESPACE)]
    pub namespace: String,
    #[arg(long, value_parser = ["promise", "resource"])]
    pub workflow_type: String,
    #[arg(long)]
    pub resource_name: Option<String>,
    /// Set when the Promise moves pipelines to another namespace.
    #[arg(long)]
    pub resource_namespace: Option<String>,
}

pub async fn run(args: &WorkCreatorArgs) -> Result<()> {
    let metadata = args.input_directory.join("metadata");
    if pod_files::read_control(&metadata)?.stops_workflow() {
        println!("{WORKFLOW_CONTROL_FILE} suspends the workflow: no Work is written");
        return Ok(());
    }
    let workflow_type = match args.workflow_type.as_str() {
        "promise" => WorkflowType::Promise,
        _ => WorkflowType::Resource,
    };
    let groups = read_workload_groups(args, workflow_type)?;
    let (work_labels, identifier) = labels_and_identifier(args, workflow_type)?;
    let spec = WorkSpec {
        promise_name: args.promise_name.clone(),
        resource_name: args.resource_name.clone().unwrap_or_default(),
        last_execution_timestamp: Some(Time(Timestamp::now())),
        workload_groups: groups,
    };
    write_work(args, work_labels, &identifier, spec).await
}

/// The pipeline's output as workload groups (see `pod_files::read_workload_groups`).
fn read_workload_groups(args: &WorkCreatorArgs, workflow_type: WorkflowType) -> Result<Vec<WorkloadGroup>> {
    let scheduling = args
        .input_directory
        .join("kratix-system")
        .join("promise-scheduling");
    Ok(pod_files::read_workload_groups(
        &args.input_directory.join("input"),
        &args.input_directory.join("metadata"),
        Some(&scheduling),
        workflow_type,
    )?)
}

/// The Work's labels (which pipeline of which object wrote it) and the
/// identifier its name is made from.
fn labels_and_identifier(
    args: &WorkCreatorArgs,
    workflow_type: WorkflowType,
) -> Result<(BTreeMap<String, String>, String)> {
    let mut work_labels = BTreeMap::from([
        (labels::PROMISE_NAME.to_owned(), args.promise_name.clone()),
        (labels::WORK_TYPE.to_owned(), args.workflow_type.clone()),
        (labels::PIPELINE_NAME.to_owned(), args.pipeline_name.clone()),
    ]);
    let mut identifier = args.promise_name.clone();
    if let Some(resource) = &args.resource_name {
        work_labels.insert(labels::RESOURCE_NAME.to_owned(), resource.clone());
        identifier.push('-');
        identifier.push_str(resource);
        if let Some(namespace) = &args.resource_namespace {
            work_labels.insert(labels::RESOURCE_NAMESPACE.to_owned(), namespace.clone());
            identifier.push('-');
            identifier.push_str(namespace);
        }
    } else if workflow_type == WorkflowType::Resource {
        bail!("--resource-name is required for resource workflows");
    }
    identifier.push('-');
    identifier.push_str(&args.pipeline_name);
    Ok((work_labels, identifier))
}

/// Creates the pipeline's Work, or updates the one it wrote before (found by
/// its labels); more than one is refused.
async fn write_work(
    args: &WorkCreatorArgs,
    work_labels: BTreeMap<String, String>,
    identifier: &str,
    spec: WorkSpec,
) -> Result<()> {
    let files: usize = spec.workload_groups.iter().map(|g| g.workloads.len()).sum();
    let client = client().await?;
    let api: Api<Work> = Api::namespaced(client, &args.namespace);
    let selector = work_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let existing = api
        .list(&ListParams::default().labels(&selector))
        .await
        .with_context(|| format!("listing Works in {} labelled {selector}", args.namespace))?;
    match existing.items.as_slice() {
        [] => {
            let work = Work {
                metadata: ObjectMeta {
                    name: Some(random_object_name(identifier)),
                    namespace: Some(args.namespace.clone()),
                    labels: Some(work_labels),
                    ..ObjectMeta::default()
                },
                spec,
                status: None,
            };
            let created = api
                .create(&PostParams::default(), &work)
                .await
                .context("creating the Work")?;
            println!(
                "created Work {}/{} ({} groups, {files} files)",
                args.namespace,
                created.metadata.name.unwrap_or_default(),
                work.spec.workload_groups.len()
            );
        }
        [work] => {
            let name = work.metadata.name.clone().unwrap_or_default();
            let groups = spec.workload_groups.len();
            let patch = serde_json::json!({"spec": spec});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .with_context(|| format!("updating Work {}/{name}", args.namespace))?;
            println!(
                "updated Work {}/{name} ({groups} groups, {files} files)",
                args.namespace
            );
        }
        many => bail!(
            "{} Works in {} are labelled {selector}; expected at most one: delete the extra ones",
            many.len(),
            args.namespace
        ),
    }
    Ok(())
}

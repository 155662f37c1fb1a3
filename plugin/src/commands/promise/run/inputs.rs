//! Everything a local run reads before it starts: the Promise (validated), the
//! object the workflow runs for, the workflow rendered as the agent renders it,
//! the Secrets and ConfigMaps given, and the Destination and store given.

use anyhow::{Result, bail};
use kratix_shared::api::Workflow;
use kratix_shared::api::WorkflowType;
use kratix_shared::api::hash::{resource_hash, spec_hash};
use kratix_shared::api::naming::random_suffix;
use kratix_shared::local_run::Sources;
use kratix_shared::render::PipelineResources;
use serde_json::Value;

use super::sources;
use super::store_paths::StorePaths;
use crate::cli::RunArgs;
use crate::commands::promise::offline::{self, WorkflowSource};

pub struct RunInputs {
    pub promise_name: String,
    pub workflow: Workflow,
    /// The request, or for a Promise workflow the Promise.
    pub object: Value,
    /// The object's `kratix.io/hash`, as the agent computes it.
    pub hash: String,
    /// The pod's UID for the downward API.
    pub uid: String,
    /// The pipelines to run, rendered as the agent renders them.
    pub pipelines: Vec<PipelineResources>,
    pub sources: Sources,
    pub store_paths: Option<StorePaths>,
}

impl RunInputs {
    /// `Kind namespace/name` of the object.
    pub fn describe_object(&self) -> String {
        let text = |pointer: &str| {
            self.object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let namespace = text("/metadata/namespace");
        let name = text("/metadata/name");
        if namespace.is_empty() {
            format!("{} {name}", text("/kind"))
        } else {
            format!("{} {namespace}/{name}", text("/kind"))
        }
    }
}

pub fn gather(args: &RunArgs) -> Result<RunInputs> {
    let suffix = random_suffix();
    let offline::Rendered {
        promise,
        request,
        pipelines: mut rendered,
    } = offline::render(&WorkflowSource {
        path: &args.path,
        promise: args.promise.as_deref(),
        workflow: args.workflow,
        resource: args.resource.as_deref(),
        config: args.config.as_deref(),
        adapter: offline::adapter(None, None),
        job_name_suffix: Some(&suffix),
    })?;
    if rendered.is_empty() {
        bail!(
            "{}: Promise {} has no {} pipelines: there is nothing to run",
            args.path.display(),
            promise.name(),
            args.workflow
        );
    }
    if let Some(wanted) = &args.pipeline {
        let names: Vec<String> = rendered.iter().map(|p| p.pipeline_name.clone()).collect();
        rendered.retain(|p| &p.pipeline_name == wanted);
        if rendered.is_empty() {
            bail!(
                "--pipeline {wanted}: {} runs no such pipeline (it runs {})",
                args.workflow,
                names.join(", ")
            );
        }
    }
    let (object, hash) = match (args.workflow.workflow_type, request) {
        (WorkflowType::Resource, Some(request)) => {
            let hash = resource_hash(&promise.value, &request);
            (request, hash)
        }
        _ => (promise.value.clone(), spec_hash(&promise.value)),
    };
    let uid = object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map_or_else(|| format!("local-{suffix}"), str::to_owned);
    let store_paths = match (&args.destination, &args.state_store) {
        (Some(destination), Some(store)) => Some(StorePaths::load(destination, store)?),
        _ => None,
    };
    Ok(RunInputs {
        promise_name: promise.name().to_owned(),
        workflow: args.workflow,
        object,
        hash,
        uid,
        pipelines: rendered,
        sources: sources::load(&args.secrets, &args.config_maps)?,
        store_paths,
    })
}

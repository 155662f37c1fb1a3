//! A Promise read from disk for the offline commands that run its workflows
//! (`render`, `run`): chosen among the file's Promises, refused when invalid,
//! with the `kratix` ConfigMap, the request a resource workflow runs for and
//! the pipeline adapter image.

use std::path::Path;

use anyhow::{Context, Result, bail};
use kratix_shared::api::config::KratixConfig;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::{Workflow, WorkflowType};
use kratix_shared::authoring::source::{self, PromiseSource};
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::render::{AdapterImage, PipelineResources, RenderRequest, render_workflow};
use kratix_shared::validate::{Validated, validate_promise};
use serde_json::Value;

use super::validate::{error_lines, errors_summary};

/// The Promise at `path` (the one named `wanted` when it holds several),
/// validated; its errors printed and refused.
pub fn load(path: &Path, wanted: Option<&str>) -> Result<(PromiseSource, Validated)> {
    let promise = select_promise(path, wanted)?;
    let validated = validate_promise(&promise.value);
    let errors = error_lines(&promise, &validated);
    if !errors.is_empty() {
        for line in &errors {
            eprintln!("{line}");
        }
        bail!(
            "{}; fix them (kubectl kratix promise validate) and try again",
            errors_summary(path, errors.len())
        );
    }
    Ok((promise, validated))
}

fn select_promise(path: &Path, wanted: Option<&str>) -> Result<PromiseSource> {
    let loaded = source::load(path)?;
    let mut promises = loaded.promises;
    match wanted {
        Some(name) => {
            let names: Vec<String> = promises.iter().map(|p| p.name().to_owned()).collect();
            promises.into_iter().find(|p| p.name() == name).with_context(|| {
                format!(
                    "{}: no Promise named {name:?} (found: {})",
                    path.display(),
                    names.join(", ")
                )
            })
        }
        None if promises.len() == 1 => Ok(promises.remove(0)),
        None => {
            let names: Vec<&str> = promises.iter().map(PromiseSource::name).collect();
            bail!(
                "{} holds {} Promises ({}): choose one with --promise NAME",
                path.display(),
                names.len(),
                names.join(", ")
            )
        }
    }
}

/// The `--config` ConfigMap's settings, its warnings printed.
pub fn load_config(path: &Path) -> Result<KratixConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let loaded = KratixConfig::from_configmap_yaml(&path.display().to_string(), &text)?;
    for warning in &loaded.warnings {
        eprintln!(
            "{}: {}: warning: {}",
            path.display(),
            warning.path,
            warning.message
        );
    }
    Ok(loaded.config)
}

/// The request a resource workflow runs for (`--resource`, else a request
/// named `example` in `default` whose spec holds the API's defaults); none
/// for a promise workflow, which `--resource` does not apply to.
pub fn request_for(
    path: &Path,
    promise: &PromiseSource,
    workflow: Workflow,
    resource: Option<&Path>,
    resource_api: Option<&ResourceApi>,
) -> Result<Option<Value>> {
    match (workflow.workflow_type, resource_api) {
        (WorkflowType::Resource, Some(api)) => Ok(Some(resource_request(resource, api)?)),
        (WorkflowType::Resource, None) => {
            bail!(
                "{}: Promise {} has no API (spec.api), so it has no resource workflows",
                path.display(),
                promise.name()
            )
        }
        (WorkflowType::Promise, _) => {
            if resource.is_some() {
                bail!(
                    "--resource applies to resource workflows only; {workflow} runs for the Promise itself"
                );
            }
            Ok(None)
        }
    }
}

/// The request from `--resource`, or the placeholder `default/example`.
fn resource_request(path: Option<&Path>, api: &ResourceApi) -> Result<Value> {
    use kratix_shared::render::request::resource_request as prepare;
    let Some(path) = path else {
        return Ok(prepare(api, None)?);
    };
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{source_name}: cannot read"))?;
    let mut documents = parse_documents(&source_name, &text)?;
    if documents.len() != 1 {
        bail!(
            "{source_name}: holds {} documents; --resource takes exactly one resource request",
            documents.len()
        );
    }
    Ok(prepare(api, Some((&source_name, documents.remove(0).value)))?)
}

/// The pipeline adapter image from the flags, else the default one.
pub fn adapter(image: Option<&str>, pull_secret: Option<&str>) -> AdapterImage {
    AdapterImage {
        image: image
            .filter(|i| !i.is_empty())
            .map_or_else(kratix_shared::render::default_adapter_image, str::to_owned),
        pull_secret: pull_secret.filter(|s| !s.is_empty()).map(str::to_owned),
    }
}

/// What one workflow of a Promise on disk renders to.
pub struct Rendered {
    pub promise: PromiseSource,
    /// The request a resource workflow runs for.
    pub request: Option<Value>,
    /// Empty when the workflow has no pipelines.
    pub pipelines: Vec<PipelineResources>,
}

/// The flags `render` and `run` share.
pub struct WorkflowSource<'a> {
    pub path: &'a Path,
    pub promise: Option<&'a str>,
    pub workflow: Workflow,
    pub resource: Option<&'a Path>,
    pub config: Option<&'a Path>,
    pub adapter: AdapterImage,
    pub job_name_suffix: Option<&'a str>,
}

/// The Promise at `source.path` loaded and validated, and `source.workflow`
/// rendered as the agent renders it.
pub fn render(source: &WorkflowSource<'_>) -> Result<Rendered> {
    let (promise, validated) = load(source.path, source.promise)?;
    let config = source.config.map(load_config).transpose()?;
    let resource_api = validated.resource_api.as_ref();
    let request = request_for(
        source.path,
        &promise,
        source.workflow,
        source.resource,
        resource_api,
    )?;
    let runnable = validated.runnable_pipelines(source.workflow);
    let pipelines = if runnable.is_empty() {
        Vec::new()
    } else {
        render_workflow(&RenderRequest {
            promise: &promise.value,
            workflow: source.workflow,
            pipelines: runnable,
            resource: request.as_ref().zip(resource_api),
            config: config.as_ref(),
            adapter: &source.adapter,
            job_name_suffix: source.job_name_suffix,
        })?
    };
    Ok(Rendered {
        promise,
        request,
        pipelines,
    })
}

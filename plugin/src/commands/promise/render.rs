//! `promise render`: the objects a workflow creates, printed for review.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kratix_shared::api::WorkflowType;
use kratix_shared::api::config::KratixConfig;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::authoring::source::{self, PromiseSource};
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::render::{AdapterImage, RenderRequest, render_workflow, workflow_objects};
use kratix_shared::validate::{Severity, Validated, validate_promise};
use serde_json::Value;

use super::validate::problem_line;
use crate::cli::RenderArgs;
use crate::display::output::format_objects;

pub fn run(args: &RenderArgs) -> Result<ExitCode> {
    let promise = select_promise(&args.path, args.promise.as_deref())?;
    let validated = validate_promise(&promise.value);
    refuse_invalid(&args.path, &promise, &validated)?;
    let pipelines = validated
        .pipelines
        .iter()
        .find(|(w, _)| *w == args.workflow)
        .map(|(_, p)| p.as_slice())
        .unwrap_or_default();
    if pipelines.is_empty() {
        eprintln!(
            "{}: Promise {} has no {} pipelines: nothing to render",
            args.path.display(),
            promise.name(),
            args.workflow
        );
        return Ok(ExitCode::SUCCESS);
    }
    let config = args.config.as_deref().map(load_config).transpose()?;
    let resource_api = validated.resource_api.as_ref();
    let request = request_for(args, &promise, resource_api)?;
    let rendered = render_workflow(&RenderRequest {
        promise: &promise.value,
        workflow: args.workflow,
        pipelines,
        resource: request.as_ref().zip(resource_api),
        config: config.as_ref(),
        adapter: &adapter(args),
        job_name_suffix: args.name_suffix.as_deref(),
    })?;
    let objects = workflow_objects(&rendered)?;
    print!("{}", format_objects(&objects, args.output)?);
    Ok(ExitCode::SUCCESS)
}

/// Renders nothing from an invalid Promise: prints its errors and fails.
fn refuse_invalid(path: &Path, promise: &PromiseSource, validated: &Validated) -> Result<()> {
    let errors: Vec<_> = validated
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        for problem in &errors {
            eprintln!("{}", problem_line(promise, problem));
        }
        bail!(
            "{} has {} validation error{}; fix them (kubectl kratix promise validate) and render again",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// The `--config` ConfigMap's settings, its warnings printed.
fn load_config(path: &Path) -> Result<KratixConfig> {
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

/// The request a resource workflow renders for; none for a promise
/// workflow, which `--resource` does not apply to.
fn request_for(
    args: &RenderArgs,
    promise: &PromiseSource,
    resource_api: Option<&ResourceApi>,
) -> Result<Option<Value>> {
    match (args.workflow.workflow_type, resource_api) {
        (WorkflowType::Resource, Some(api)) => Ok(Some(resource_request(args.resource.as_deref(), api)?)),
        (WorkflowType::Resource, None) => {
            bail!(
                "{}: Promise {} has no API (spec.api), so it has no resource workflows",
                args.path.display(),
                promise.name()
            )
        }
        (WorkflowType::Promise, _) => {
            if args.resource.is_some() {
                bail!(
                    "--resource applies to resource workflows only; {} runs for the Promise itself",
                    args.workflow
                );
            }
            Ok(None)
        }
    }
}

/// The pipeline adapter image from the flags, else the default one.
fn adapter(args: &RenderArgs) -> AdapterImage {
    AdapterImage {
        image: args
            .pipeline_adapter_image
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(kratix_shared::render::default_adapter_image),
        pull_secret: args
            .pipeline_adapter_pull_secret
            .clone()
            .filter(|s| !s.is_empty()),
    }
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

//! Every Promise of the Kratix Marketplace corpus (`../shared/conformance/`
//! beside the project) validates and renders every workflow it has.
//! Skips, saying so, when the corpus is absent.

use std::path::{Path, PathBuf};

use kratix_shared::api::{WorkflowAction, WorkflowType};
use kratix_shared::authoring::source;
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::render::request::resource_request;
use kratix_shared::render::{AdapterImage, RenderRequest, render_workflow, workflow_objects};
use kratix_shared::validate::{Severity, validate_promise};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/marketplace");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no conformance corpus at {} (it lives beside the project root)",
            dir.display()
        );
        None
    }
}

fn promise_dirs(corpus: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus)
        .expect("corpus is readable")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("promise.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_marketplace_promise_validates_and_renders() {
    let Some(corpus) = corpus() else { return };
    let dirs = promise_dirs(&corpus);
    assert!(
        dirs.len() >= 30,
        "expected the whole corpus, found {} Promises",
        dirs.len()
    );
    let adapter = AdapterImage::default();
    let mut rendered_workflows = 0;
    for dir in &dirs {
        let loaded = source::load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(loaded.promises.len(), 1, "{}", dir.display());
        let promise = &loaded.promises[0];
        let validated = validate_promise(&promise.value);
        let errors: Vec<_> = validated
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());

        let request_file = dir.join("resource-request.yaml");
        let given = request_file.is_file().then(|| {
            let text = std::fs::read_to_string(&request_file).expect("request readable");
            let mut documents = parse_documents("resource-request.yaml", &text).expect("request parses");
            documents.remove(0).value
        });
        let request = validated.resource_api.as_ref().map(|api| {
            let given = given.clone().map(|value| ("resource-request.yaml", value));
            resource_request(api, given).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        });
        for (workflow, pipelines) in &validated.pipelines {
            if pipelines.is_empty()
                || (workflow.workflow_type == WorkflowType::Resource && validated.resource_api.is_none())
            {
                continue;
            }
            let resource = match workflow.workflow_type {
                WorkflowType::Resource => request.as_ref().zip(validated.resource_api.as_ref()),
                WorkflowType::Promise => None,
            };
            let rendered = render_workflow(&RenderRequest {
                promise: &promise.value,
                workflow: *workflow,
                pipelines,
                resource,
                config: None,
                adapter: &adapter,
                job_name_suffix: Some("00000"),
            })
            .unwrap_or_else(|e| panic!("{} {workflow}: {e}", dir.display()));
            // A delete workflow runs its first pipeline only.
            let expected_pipelines = match workflow.action {
                WorkflowAction::Configure => pipelines.len(),
                WorkflowAction::Delete => 1,
            };
            assert_eq!(rendered.len(), expected_pipelines, "{} {workflow}", dir.display());
            let objects = workflow_objects(&rendered).expect("objects encode");
            let jobs = objects.iter().filter(|o| o["kind"] == "Job").count();
            assert_eq!(jobs, expected_pipelines, "{} {workflow}", dir.display());
            for job in objects.iter().filter(|o| o["kind"] == "Job") {
                let name = job["metadata"]["name"].as_str().unwrap_or_default();
                assert!(
                    name.len() <= 63 && name.ends_with("-00000"),
                    "{}: job name {name}",
                    dir.display()
                );
            }
            rendered_workflows += 1;
        }
    }
    assert!(
        rendered_workflows >= 30,
        "rendered only {rendered_workflows} workflows"
    );
    eprintln!(
        "{} Promises validated, {rendered_workflows} workflows rendered",
        dirs.len()
    );
}

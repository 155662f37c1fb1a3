//! Offline speed: validating and rendering the whole conformance corpus, and
//! the start-up time of `kubectl-kratix --version`. Prints its figures; asserts
//! nothing about time. Run with `cargo bench -p kubectl-kratix --bench offline`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kratix_shared::api::WorkflowType;
use kratix_shared::authoring::source;
use kratix_shared::render::request::resource_request;
use kratix_shared::render::{AdapterImage, RenderRequest, render_workflow, workflow_objects};
use kratix_shared::validate::validate_promise;

const CORPUS_ROUNDS: usize = 20;
const STARTUP_RUNS: usize = 50;

fn corpus_dirs() -> Option<Vec<PathBuf>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/marketplace");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("promise.yaml").is_file())
        .collect();
    dirs.sort();
    Some(dirs)
}

/// One pass: read, validate and render every workflow of every Promise.
/// Returns (Promises, workflows rendered, objects rendered).
fn one_pass(dirs: &[PathBuf], adapter: &AdapterImage) -> (usize, usize, usize) {
    let (mut workflows, mut objects) = (0, 0);
    for dir in dirs {
        let loaded = source::load(dir).expect("corpus loads");
        for promise in &loaded.promises {
            let validated = validate_promise(&promise.value);
            let request = validated
                .resource_api
                .as_ref()
                .map(|api| resource_request(api, None).expect("placeholder request"));
            for (workflow, pipelines) in &validated.pipelines {
                let resource = match workflow.workflow_type {
                    WorkflowType::Resource => match request.as_ref().zip(validated.resource_api.as_ref()) {
                        Some(resource) => Some(resource),
                        None => continue,
                    },
                    WorkflowType::Promise => None,
                };
                let rendered = render_workflow(&RenderRequest {
                    promise: &promise.value,
                    workflow: *workflow,
                    pipelines,
                    resource,
                    config: None,
                    adapter,
                    job_name_suffix: Some("00000"),
                })
                .expect("renders");
                objects += workflow_objects(&rendered).expect("encodes").len();
                workflows += 1;
            }
        }
    }
    (dirs.len(), workflows, objects)
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    format!(
        "min {:.2} ms, median {:.2} ms, mean {:.2} ms over {} runs",
        samples[0].as_secs_f64() * 1e3,
        samples[samples.len() / 2].as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        samples.len()
    )
}

fn main() {
    match corpus_dirs() {
        None => println!("corpus: skipped (no ../shared/conformance/marketplace beside the project)"),
        Some(dirs) => {
            let adapter = AdapterImage::default();
            let (promises, workflows, objects) = one_pass(&dirs, &adapter);
            let samples: Vec<Duration> = (0..CORPUS_ROUNDS)
                .map(|_| {
                    let start = Instant::now();
                    one_pass(&dirs, &adapter);
                    start.elapsed()
                })
                .collect();
            println!(
                "validate + render corpus ({promises} Promises, {workflows} workflows, {objects} objects): {}",
                summary(samples)
            );
        }
    }
    let binary = env!("CARGO_BIN_EXE_kubectl-kratix");
    let samples: Vec<Duration> = (0..STARTUP_RUNS)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(binary)
                .arg("--version")
                .output()
                .expect("binary runs")
                .status;
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    println!("kubectl-kratix --version start-up: {}", summary(samples));
}

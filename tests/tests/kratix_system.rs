//! Kratix's own system tests, run against this agent: the assets of each
//! `test/system/<name>_test.go` (read unchanged from
//! `../shared/conformance/kratix-system/<name>/`), applied with kubectl in the
//! Go test's order, and what that test asserts, step by step. Substitutions,
//! and nothing else: the pipelines' images are built locally under the exact
//! names the assets use (read from them), with the tools their scripts call;
//! the worker Destination Kratix's quick-start registers is one on the
//! platform's own Git server. Skips, saying so, when the folder is absent.
//!
//! Groups run here: `promise-features`. The others are listed with why in
//! tests/README.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kratix_tests::agent_suite::install_agent;
use kratix_tests::git_server::GitServer;
use kratix_tests::images::ImageSpec;
use kratix_tests::state_store_suite::{destination_ready, http_git_store};
use kratix_tests::support::{Platform, install_kratix_crds, wait_for};

/// Kratix's suite waits up to two minutes for each step of this group.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

fn platform() -> &'static Platform {
    Platform::get(Path::new(env!("CARGO_BIN_EXE_testenv")))
}

/// The group's asset folder, or `None` (said on stderr) when the conformance
/// folder is not beside the project.
fn assets(group: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/kratix-system")
        .join(group);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no Kratix system-test assets at {}", dir.display());
        None
    }
}

/// Every `image:` the group's assets name.
fn images_named_in(dir: &Path) -> Vec<String> {
    let mut images: Vec<String> = std::fs::read_dir(dir)
        .expect("assets")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|p| {
            std::fs::read_to_string(&p)
                .expect("asset")
                .lines()
                .filter_map(|line| {
                    let line = line.trim().trim_start_matches("- ");
                    line.strip_prefix("image:").map(|i| i.trim().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    images.sort();
    images.dedup();
    images
}

/// Builds each image the assets name, under that name: the pipeline utility
/// image with the tools its scripts call, anything else as plain busybox.
fn build_images(dir: &Path) {
    for reference in images_named_in(dir) {
        let mut spec = ImageSpec {
            reference: reference.clone(),
            ..Default::default()
        };
        if reference.contains("kratix-pipeline-utility") {
            kratix_tests::images::add_git_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
            kratix_tests::tools::add_pipeline_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
        }
        platform().image(&spec);
    }
}

fn kubectl(args: &[&str]) -> (bool, String) {
    let output = platform().kubectl().args(args).output().expect("kubectl runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `Eventually(kubectl ...).Should(ContainSubstring(wanted))`.
async fn eventually_contains(what: &str, args: &[&str], wanted: &str) -> String {
    wait_for(what, STEP_TIMEOUT, || async {
        let (_, text) = kubectl(args);
        if text.contains(wanted) {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

/// The condition statuses Kratix's test reads with jsonpath.
async fn eventually_true(what: &str, args: &[&str], types: &[&str]) {
    for type_ in types {
        let jsonpath = format!("-o=jsonpath={{.status.conditions[?(@.type==\"{type_}\")].status}}");
        let mut all = args.to_vec();
        all.push(&jsonpath);
        eventually_contains(&format!("{what}: {type_}"), &all, "True").await;
    }
}

/// The Go test's three checks that a workflow ran in `kube-public`: a Job named
/// with `job`, a Work named with `work`, and that Work's WorkPlacement.
async fn ran_in_kube_public(
    whose: &str,
    job_selector: &str,
    job: &str,
    work_selector: &str,
    work: &str,
    pipeline: &str,
) {
    eventually_contains(
        &format!("{whose} workflow to run in kube-public"),
        &[
            "get",
            "jobs",
            "--namespace",
            "kube-public",
            "--selector",
            job_selector,
        ],
        job,
    )
    .await;
    let work_name = eventually_contains(
        &format!("{whose} Work in kube-public"),
        &[
            "get",
            "works",
            "--namespace",
            "kube-public",
            "--selector",
            work_selector,
            "-o=jsonpath={.items[0].metadata.name}",
        ],
        work,
    )
    .await;
    let work_name = work_name.trim();
    eventually_contains(
        &format!("{whose} WorkPlacement in kube-public"),
        &[
            "get",
            "workplacements",
            "--namespace",
            "kube-public",
            "--selector",
            &format!("kratix.io/work={work_name},kratix.io/pipeline-name={pipeline}"),
        ],
        work_name,
    )
    .await;
}

async fn gone_from_kube_public(what: &str, kind: &str, selector: &str) {
    eventually_contains(
        &format!("{what} to go"),
        &["get", kind, "--namespace", "kube-public", "--selector", selector],
        "No resources found in kube-public namespace",
    )
    .await;
}

/// A worker Destination as Kratix's quick-start registers one (no strict
/// labels: Works without selectors land on it), on the platform's Git server.
async fn worker_destination(client: &kube::Client, namespace: &str, suffix: &str) -> (String, GitServer) {
    let (git, _repo, store) = http_git_store(client, namespace, suffix).await;
    let name = format!("worker-{suffix}");
    let destinations: kube::Api<kratix_shared::api::destination::Destination> =
        kube::Api::all(client.clone());
    let destination: kratix_shared::api::destination::Destination =
        serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Destination",
            "metadata": {"name": name, "labels": {"environment": "dev"}},
            "spec": {"path": name, "stateStoreRef": {"kind": "GitStateStore", "name": store}}
        }))
        .expect("destination");
    destinations
        .create(&kube::api::PostParams::default(), &destination)
        .await
        .expect("destination created");
    destination_ready(client, &name).await;
    (name, git)
}

/// `promise_features_test.go`: "spec.workflows.config.pipelineNamespace"
/// "should run all workflows in the specified namespace".
#[tokio::test]
async fn promise_features_run_all_workflows_in_the_pipeline_namespace() {
    let Some(dir) = assets("promise-features") else {
        return;
    };
    let client = platform().client().await;
    install_kratix_crds(&client).await;
    install_agent(platform(), &client).await;
    build_images(&dir);
    let namespace = platform().namespace(&client, "kratix-system").await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    // The Git server lives until the test ends, after the Destination is removed.
    let (worker, _git) = worker_destination(&client, &namespace, &suffix).await;

    let promise_file = dir.join("namespaced-workflow-promise.yaml");
    let request_file = dir.join("namespaced-workflow-resource-request.yaml");
    let promise_file = promise_file.to_str().expect("path");
    let request_file = request_file.to_str().expect("path");
    let promise_pipeline = "kratix.io/workflow-type=promise,kratix.io/workflow-action=configure,kratix.io/promise-name=namespaced-promise,kratix.io/pipeline-name=promise-configure";
    let promise_works = "kratix.io/pipeline-name=promise-configure,kratix.io/promise-name=namespaced-promise,kratix.io/work-type=promise";

    // Kratix's AfterEach deletes the Promise; a run that stopped half-way here
    // may have left it.
    let (ok, text) = kubectl(&[
        "delete",
        "-f",
        promise_file,
        "--ignore-not-found",
        "--timeout=120s",
    ]);
    assert!(ok, "{text}");

    // Applying the Promise.
    let (ok, text) = kubectl(&["apply", "-f", promise_file]);
    assert!(ok, "{text}");
    ran_in_kube_public(
        "the Promise's",
        promise_pipeline,
        "kratix-namespaced-promise-promise",
        promise_works,
        "namespaced-promise-promise",
        "promise-configure",
    )
    .await;
    eventually_true(
        "the Promise's status",
        &["-n", "default", "get", "promise", "namespaced-promise"],
        &["ConfigureWorkflowCompleted", "WorksSucceeded", "Reconciled"],
    )
    .await;

    // Applying the resource request.
    let resource_pipeline = "kratix.io/workflow-type=resource,kratix.io/workflow-action=configure,kratix.io/promise-name=namespaced-promise,kratix.io/pipeline-name=resource-configure";
    let resource_works = "kratix.io/pipeline-name=resource-configure,kratix.io/promise-name=namespaced-promise,kratix.io/work-type=resource,kratix.io/resource-name=test-request";
    let (ok, text) = kubectl(&["apply", "-f", request_file]);
    assert!(ok, "{text}");
    ran_in_kube_public(
        "the request's",
        resource_pipeline,
        "kratix-namespaced-promise-test-request",
        resource_works,
        "namespaced-promise-test-request",
        "resource-configure",
    )
    .await;
    eventually_true(
        "the request's status",
        &["-n", "default", "get", "namespacepromises", "test-request"],
        &["ConfigureWorkflowCompleted", "WorksSucceeded", "Reconciled"],
    )
    .await;

    // Cleaning up everything at deletion.
    let (ok, text) = kubectl(&["delete", "-f", request_file, "--wait=true", "--timeout=120s"]);
    assert!(ok, "{text}");
    gone_from_kube_public("the request's Works", "works", resource_works).await;
    gone_from_kube_public("the request's Jobs", "jobs", resource_pipeline).await;
    let (ok, text) = kubectl(&["delete", "-f", promise_file, "--ignore-not-found"]);
    assert!(ok, "{text}");
    gone_from_kube_public("the Promise's Jobs", "jobs", promise_pipeline).await;
    gone_from_kube_public("the Promise's Works", "works", promise_works).await;
    let (ok, text) = kubectl(&["delete", "destination", &worker]);
    assert!(ok, "{text}");
}

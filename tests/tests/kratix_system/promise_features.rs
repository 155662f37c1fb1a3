//! `promise_features_test.go`.

use crate::harness::{
    eventually_true, gone_from_kube_public, kubectl, platform, ran_in_kube_public, start, worker_destination,
};

/// `promise_features_test.go`: "spec.workflows.config.pipelineNamespace"
/// "should run all workflows in the specified namespace".
#[tokio::test]
async fn promise_features_run_all_workflows_in_the_pipeline_namespace() {
    let Some(group) = start("promise-features").await else {
        return;
    };
    let (client, dir) = (group.client.clone(), group.dir.clone());
    let _worker = crate::harness::WORKER.lock().await;
    let namespace = platform().namespace(&client, "kratix-system").await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    // The Git server lives until the test ends, after the Destination is removed.
    let (worker, _git, _repo) = worker_destination(&client, &namespace, &suffix).await;

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

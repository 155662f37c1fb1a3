//! Requests and Promises keep to their own Jobs: a Job counts as a workflow's
//! only where the agent put it and when it carries the object's UID, so
//! same-named requests sharing a `pipelineNamespace` neither wait on, prune nor
//! delete each other's Jobs, and a Job made to look like a Promise's in another
//! namespace neither stalls its workflow nor is touched by the agent.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kratix_tests::agent_suite::{Setup, condition, install_promise_with, pipeline, request, status_until};
use kratix_tests::support::{Platform, ensure_namespace, wait_for};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::json;

fn platform() -> &'static Platform {
    Platform::get(Path::new(env!("CARGO_BIN_EXE_testenv")))
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// A Job labelled as a workflow's, in `namespace`, that runs for ever without
/// running anything: its pod fits no node.
fn forged_job(namespace: &str, name: &str, labels: serde_json::Value, image: &str) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "nodeSelector": {"kratix-test/no-such-node": "true"},
            "containers": [{"name": "main", "image": image, "command": ["true"]}]}}}
    }))
    .expect("job")
}

#[tokio::test]
async fn a_job_made_to_look_like_a_promise_workflow_neither_stalls_it_nor_is_touched() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::agent_suite::setup(platform(), "forged").await;
    let promise = format!("cache-{suffix}");
    // Anyone who can create Jobs in their own namespace can label one so.
    let labels = json!({
        "kratix.io/promise-name": promise,
        "kratix.io/workflow-type": "promise",
        "kratix.io/workflow-action": "configure",
        "kratix.io/pipeline-name": "setup",
    });
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    jobs.create(
        &PostParams::default(),
        &forged_job(&namespace, "forged", labels, &image),
    )
    .await
    .expect("forged job");
    install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"promise": {"configure": [pipeline("setup", &image, "true")]}}}),
    )
    .await;
    let forged = jobs.get("forged").await.expect("the forged Job is still there");
    assert_ne!(
        forged.spec.and_then(|s| s.suspend),
        Some(true),
        "the agent left it alone"
    );
    // Deleting the Promise deletes its own Jobs, not one that only looks like them.
    kratix_tests::agent_suite::promises(&client)
        .delete(&promise, &DeleteParams::default())
        .await
        .expect("promise deleted");
    wait_for("the Promise to go", TIMEOUT, || async {
        match kratix_tests::agent_suite::promises(&client)
            .get_opt(&promise)
            .await
        {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|p| p.map(|p| p.finalizers().to_vec())))),
        }
    })
    .await;
    assert!(
        jobs.get_opt("forged").await.expect("read").is_some(),
        "the agent deleted a Job that was not its own"
    );
}

#[tokio::test]
async fn same_named_requests_sharing_a_pipeline_namespace_keep_their_own_jobs() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::agent_suite::setup(platform(), "shared-pipes").await;
    let pipelines = format!("pipes-{suffix}");
    ensure_namespace(&client, &pipelines)
        .await
        .expect("pipeline namespace");
    let other = format!("{namespace}-b");
    ensure_namespace(&client, &other).await.expect("second namespace");
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "config": {"pipelineNamespace": pipelines},
            "resource": {"configure": [pipeline("make", &image, "sleep 2")]}
        }}),
    )
    .await;
    let first: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let second: Api<DynamicObject> = Api::namespaced_with(client.clone(), &other, &resource);
    request(&first, &resource, &namespace, "same", json!({})).await;
    request(&second, &resource, &other, "same", json!({})).await;
    let mut recorded = Vec::new();
    for api in [&first, &second] {
        let status = status_until(api, "same", "both workflows to complete", |s| {
            condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        })
        .await;
        recorded.push(
            status["kratix"]["workflows"]["pipelines"][0]["jobName"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_ne!(recorded[0], recorded[1], "each request ran its own Job");
    let jobs: Api<Job> = Api::namespaced(client.clone(), &pipelines);
    let selector = ListParams::default().labels(&format!("kratix.io/promise-name={promise}"));
    let names: Vec<String> = jobs
        .list(&selector)
        .await
        .expect("jobs")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(
        recorded.iter().all(|r| names.contains(r)),
        "{recorded:?} in {names:?}"
    );

    // Deleting one request deletes its Jobs, and only its.
    first
        .delete("same", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for("the first request to go", TIMEOUT, || async {
        match first.get_opt("same").await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|o| o.map(|o| o.finalizers().to_vec())))),
        }
    })
    .await;
    let left: Vec<String> = jobs
        .list(&selector)
        .await
        .expect("jobs")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(
        left.contains(&recorded[1]),
        "the second request's Job {} survives: {left:?}",
        recorded[1]
    );
    assert!(!left.contains(&recorded[0]), "{left:?}");
}

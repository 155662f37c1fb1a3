//! Deleting after the agent restarted: a Promise whose own configure workflow
//! failed still has its requests' deletions carried out, and its own deletion
//! with them. Before a restart its resource controller runs from earlier; after
//! one, nothing but the Promise's reconcile starts it again.
//!
//! Its own binary: it restarts the agent, which other suites' tests must not see.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kratix_tests::suites::agent::{
    Setup, condition, install_promise_with, pipeline, promise_status_until, promises, request, status_until,
    wait_gone,
};
use kratix_tests::suites::support::wait_for;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(150);
const SYSTEM: &str = "kratix-platform-system";

/// Deletes the agent's pod and waits for its replacement to be ready.
async fn restart_agent(client: &kube::Client) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    let selector = ListParams::default().labels("app.kubernetes.io/name=kratix-agent");
    let before: Vec<String> = pods
        .list(&selector)
        .await
        .expect("pods")
        .items
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    pods.delete_collection(&DeleteParams::default(), &selector)
        .await
        .expect("agent pods deleted");
    wait_for("a new agent pod to be ready", TIMEOUT, || async {
        let listed = pods.list(&selector).await.map_err(|e| e.to_string())?.items;
        let ready = listed.iter().any(|p| {
            !before.contains(&p.metadata.uid.clone().unwrap_or_default())
                && p.metadata.deletion_timestamp.is_none()
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if ready {
            Ok(())
        } else {
            Err(format!("{} pods, none new and ready", listed.len()))
        }
    })
    .await;
}

#[tokio::test]
async fn after_a_restart_a_promise_whose_workflow_failed_still_deletes_its_requests_and_itself() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "restart-delete").await;
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "promise": {"configure": [pipeline("setup", &image, "true")]},
            "resource": {
                "configure": [pipeline("make", &image, "true")],
                "delete": [pipeline("unmake", &image, "true")]
            }
        }}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    for name in ["first", "second"] {
        request(&requests, &resource, &namespace, name, json!({})).await;
        status_until(&requests, name, "the request to complete", |s| {
            condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        })
        .await;
    }
    // The Promise's own workflow now fails.
    promises(&client)
        .patch(
            &promise,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"workflows": {"promise": {"configure": [
                pipeline("setup", &image, "exit 1")
            ]}}}})),
        )
        .await
        .expect("promise changed");
    promise_status_until(&client, &promise, "the Promise's workflow to fail", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["reason"] == "ConfigureWorkflowFailed")
    })
    .await;

    restart_agent(&client).await;
    requests
        .delete("first", &DeleteParams::default())
        .await
        .expect("request deleted");
    wait_gone(&requests, "first", "the request to be deleted after the restart").await;

    restart_agent(&client).await;
    promises(&client)
        .delete(&promise, &DeleteParams::default())
        .await
        .expect("promise deleted");
    wait_gone(
        &promises(&client),
        &promise,
        "the Promise to be deleted after the restart",
    )
    .await;
    assert!(
        requests
            .get_opt("second")
            .await
            .map(|r| r.is_none())
            .unwrap_or(true),
        "its last request went with it"
    );
}

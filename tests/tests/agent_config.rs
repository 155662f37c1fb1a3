//! The `kratix` ConfigMap against the local platform: a change applies to the
//! next pipeline without restarting the agent, and `numberOfJobsToKeep` prunes
//! finished Jobs. The ConfigMap is shared by every test of the environment, so
//! the one test here removes it when done.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kratix_tests::suites::agent::{
    Setup, TIMEOUT, condition, install_promise, pipeline, request, status_until,
};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn completed(status: &Value) -> bool {
    condition(status, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        && status["observedGeneration"].is_number()
        && status["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
}

fn kratix_config(text: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some("kratix".into()),
            namespace: Some("kratix-platform-system".into()),
            ..ObjectMeta::default()
        },
        data: Some([("config".to_owned(), text.to_owned())].into()),
        ..ConfigMap::default()
    }
}

/// The agent's running pod (name, restarts): a config change must not restart it.
async fn agent_pod(client: &kube::Client) -> (String, i32) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kratix-platform-system");
    let listed = pods
        .list(&ListParams::default().labels("app.kubernetes.io/name=kratix-agent"))
        .await
        .expect("pods");
    // A pod replaced by the suite's install may still be terminating: not that one.
    let pod = listed
        .items
        .iter()
        .find(|p| p.metadata.deletion_timestamp.is_none())
        .expect("the agent's pod");
    let restarts = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map_or(0, |c| c.restart_count);
    (pod.name_any(), restarts)
}

#[tokio::test]
async fn a_config_change_applies_to_the_next_pipeline_and_old_jobs_are_pruned() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "config").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kratix-platform-system");
    let _ = config_maps.delete("kratix", &DeleteParams::default()).await;
    config_maps
        .create(
            &PostParams::default(),
            &kratix_config("numberOfJobsToKeep: 1\nworkflows:\n  jobOptions:\n    defaultBackoffLimit: 3\n"),
        )
        .await
        .expect("config");
    let before = agent_pod(&client).await;
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![pipeline("make", &image, "true")]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let of_promise = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    let backoff_of = |status: &Value| {
        let jobs = jobs.clone();
        let name = status["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        async move {
            jobs.get(&name)
                .await
                .expect("the run's Job")
                .spec
                .and_then(|s| s.backoff_limit)
        }
    };
    // The agent may have read the ConfigMap just before it existed: the first
    // run shows the watch delivered it.
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let first = status_until(&requests, "orders", "the first run", completed).await;
    assert_eq!(backoff_of(&first).await, Some(3), "the new ConfigMap applies");

    config_maps
        .patch(
            "kratix",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"config": "numberOfJobsToKeep: 1\nworkflows:\n  jobOptions:\n    defaultBackoffLimit: 5\n"}})),
        )
        .await
        .expect("config changed");
    let mut last = first;
    let mut backoff = None;
    // Pick-up is asynchronous: re-run until a Job shows the change.
    for _ in 0..5 {
        let previous = last["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"].clone();
        requests
            .patch(
                "orders",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"kratix.io/manual-reconciliation": "true"}}})),
            )
            .await
            .expect("re-run");
        last = status_until(&requests, "orders", "a re-run", |s| {
            completed(s) && s["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"] != previous
        })
        .await;
        backoff = backoff_of(&last).await;
        if backoff == Some(5) {
            break;
        }
    }
    assert_eq!(
        backoff,
        Some(5),
        "the changed ConfigMap applies without a restart"
    );
    assert_eq!(agent_pod(&client).await, before, "the agent was not restarted");

    // numberOfJobsToKeep: 1 — only the newest finished Job of the pipeline stays.
    let names = wait_for("old Jobs to be pruned", TIMEOUT, || async {
        let listed = jobs.list(&of_promise).await.map_err(|e| e.to_string())?;
        let names: Vec<String> = listed.items.iter().map(ResourceExt::name_any).collect();
        if names.len() == 1 {
            Ok(names)
        } else {
            Err(format!("{names:?}"))
        }
    })
    .await;
    assert_eq!(
        json!(names[0]),
        last["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"],
        "the Job kept is the latest run's"
    );
    // The agent deletes pruned Jobs with background propagation and leaves
    // their pods to the garbage collector, which removes them by owner.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    wait_for("the pruned Jobs' pods to be collected", TIMEOUT, || async {
        let listed = pods.list(&of_promise).await.map_err(|e| e.to_string())?;
        let owners: Vec<String> = listed
            .items
            .iter()
            .flat_map(|p| p.owner_references().iter().map(|o| o.name.clone()))
            .collect();
        if owners.iter().all(|o| *o == names[0]) {
            Ok(())
        } else {
            Err(format!("pods owned by {owners:?}"))
        }
    })
    .await;
    config_maps
        .delete("kratix", &DeleteParams::default())
        .await
        .expect("config removed");
}

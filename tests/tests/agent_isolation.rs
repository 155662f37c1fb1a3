//! Requests and Promises keep to their own Jobs: a Job counts as a workflow's
//! only where the agent put it and when it carries the object's UID, so
//! same-named requests sharing a `pipelineNamespace` neither wait on, prune nor
//! delete each other's Jobs, and a Job made to look like a Promise's in another
//! namespace neither stalls its workflow nor is touched by the agent.

use k8s_openapi::api::batch::v1::Job;
use kratix_tests::suites::agent::{
    Setup, condition, delete_and_wait_gone, install_promise_with, pipeline, request, status_until,
};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::json;

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
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "forged").await;
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
    delete_and_wait_gone(
        &kratix_tests::suites::agent::promises(&client),
        &promise,
        "the Promise to go",
    )
    .await;
    assert!(
        jobs.get_opt("forged").await.expect("read").is_some(),
        "the agent deleted a Job that was not its own"
    );
}

#[tokio::test]
async fn same_named_requests_sharing_a_pipeline_namespace_keep_their_own_jobs() {
    let setup = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "shared-pipes").await;
    let (pipelines, other) = setup.pipeline_and_second_namespace().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup;
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
            status["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"]
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
    delete_and_wait_gone(&first, "same", "the first request to go").await;
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

/// The Promise `name` whose API is `caches.<group>`, not yet installed.
fn promise_for_api(name: &str, group: &str, image: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
        "metadata": {"name": name},
        "spec": {
            "api": {
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("caches.{group}")},
                "spec": {"group": group, "names": {"kind": "Cache", "plural": "caches"}, "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
            },
            "workflows": {"resource": {"configure": [pipeline("make", image, "true")]}}
        }
    }))
    .expect("promise")
}

/// Waits for the Promise's `APIOwned` condition to be False, and returns it.
async fn refused_api(client: &kube::Client, name: &str) -> serde_json::Value {
    let status =
        kratix_tests::suites::agent::promise_status_until(client, name, "the API to be refused", |s| {
            condition(s, "APIOwned").is_some_and(|c| c["status"] == "False")
        })
        .await;
    assert_eq!(status["status"], "Unavailable", "{status}");
    condition(&status, "APIOwned").cloned().expect("condition")
}

#[tokio::test]
async fn a_promise_cannot_take_over_a_crd_it_did_not_create_nor_delete_it() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "takeover").await;
    let group = format!("hand{suffix}.example.org");
    let crd_name = format!("caches.{group}");
    // Someone's own CRD, with an object of theirs.
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    let theirs = promise_for_api("unused", &group, &image).data["spec"]["api"].clone();
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(theirs).expect("crd"),
    )
    .await
    .expect("their CRD");
    kratix_tests::suites::support::wait_established(&client, &crd_name).await;
    let resource = kube::api::ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Cache".into(),
        plural: "caches".into(),
    };
    let objects: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Cache",
        "metadata": {"name": "theirs", "namespace": namespace}, "spec": {}
    }))
    .expect("object");
    objects
        .create(&PostParams::default(), &object)
        .await
        .expect("their object");

    let promise = format!("takeover-{suffix}");
    kratix_tests::suites::agent::promises(&client)
        .create(&PostParams::default(), &promise_for_api(&promise, &group, &image))
        .await
        .expect("promise created");
    let refused = refused_api(&client, &promise).await;
    assert_eq!(refused["reason"], "CRDNotCreatedByAPromise", "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains(&crd_name)),
        "{refused}"
    );
    let crd = crds.get(&crd_name).await.expect("their CRD");
    assert!(
        !crd.labels().contains_key("kratix.io/promise-name"),
        "the CRD was not relabelled"
    );
    assert!(
        objects
            .get("theirs")
            .await
            .expect("their object")
            .finalizers()
            .is_empty(),
        "no request finalizer on their object"
    );
    delete_and_wait_gone(
        &kratix_tests::suites::agent::promises(&client),
        &promise,
        "the Promise to go",
    )
    .await;
    assert!(
        crds.get_opt(&crd_name).await.expect("read").is_some(),
        "their CRD stays"
    );
    assert!(
        objects.get_opt("theirs").await.expect("read").is_some(),
        "their object stays"
    );
    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn a_second_promise_for_the_same_api_is_refused_and_its_deletion_leaves_the_first_alone() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "same-api").await;
    let group = format!("twice{suffix}.example.org");
    let first = format!("first-{suffix}");
    let second = format!("second-{suffix}");
    let promises = kratix_tests::suites::agent::promises(&client);
    promises
        .create(&PostParams::default(), &promise_for_api(&first, &group, &image))
        .await
        .expect("first promise");
    kratix_tests::suites::agent::promise_status_until(
        &client,
        &first,
        "the first Promise to be Available",
        |s| s["status"] == "Available",
    )
    .await;
    let resource = kube::api::ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Cache".into(),
        plural: "caches".into(),
    };
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the request to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
    })
    .await;

    promises
        .create(&PostParams::default(), &promise_for_api(&second, &group, &image))
        .await
        .expect("second promise");
    let refused = refused_api(&client, &second).await;
    assert_eq!(refused["reason"], "APIClaimedByAnotherPromise", "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains(&first)),
        "{refused}"
    );
    delete_and_wait_gone(&promises, &second, "the second Promise to go").await;
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    let crd = crds
        .get(&format!("caches.{group}"))
        .await
        .expect("the first's CRD stays");
    assert_eq!(
        crd.labels().get("kratix.io/promise-name"),
        Some(&first),
        "still the first Promise's"
    );
    let kept = requests.get("orders").await.expect("the first's request stays");
    assert!(kept.metadata.deletion_timestamp.is_none());
    let status = promises.get(&first).await.expect("first");
    assert_eq!(status.data["status"]["status"], "Available");
    promises
        .delete(&first, &DeleteParams::default())
        .await
        .expect("cleanup");
}

//! A Work counts only where its Promise's workflows would have written it, so
//! pipeline code (which may write Works in its own namespace) cannot place files
//! under another Promise's dependencies; and requests of a Promise with a
//! `pipelineNamespace` are filed under their own namespace in the store, so two
//! same-named requests in two namespaces never overwrite or delete each other.

use std::collections::BTreeMap;

use kratix_shared::api::naming::md5_hex;
use kratix_shared::api::work::WorkPlacement;
use kratix_shared::api::workflow::Workflow;
use kratix_shared::render::names::pipeline_id;
use kratix_tests::suites::agent::{
    Setup, TIMEOUT, condition, delete_and_wait_gone, install_promise_with, pipeline, request, status_until,
};
use kratix_tests::suites::state_store::{destination, destination_ready, files_until, http_git_store};
use kratix_tests::suites::support::wait_for;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::json;

fn ending_with<'a>(files: &'a BTreeMap<String, String>, end: &str) -> Vec<(&'a String, &'a String)> {
    files.iter().filter(|(path, _)| path.ends_with(end)).collect()
}

#[tokio::test]
async fn a_pipeline_cannot_write_another_promises_dependencies_from_its_namespace() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "origin").await;
    let (git, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let dev = format!("dev-{suffix}");
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination_ready(&client, &dev).await;

    // The victim: a Promise whose own workflow places a dependency.
    let (victim, _) = install_promise_with(
        &client,
        &format!("{suffix}v"),
        json!({
            "destinationSelectors": [{"matchLabels": {"env": dev}}],
            "workflows": {"promise": {"configure": [pipeline("setup", &image, "echo 'kind: Victim' > /kratix/output/victim.yaml")]}}
        }),
    )
    .await;
    let dependency = format!("dependencies/{victim}/setup/{}/victim.yaml", &md5_hex(b".")[..5]);
    files_until(&git, &repo, "the victim's dependency in the store", |files| {
        !ending_with(files, &dependency).is_empty()
    })
    .await;

    // Another Promise's resource pipeline, whose service account may write Works
    // in the request's namespace.
    let (attacker, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {"configure": [pipeline("make", &image, "true")]}}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "one", json!({})).await;
    status_until(&requests, "one", "the request's workflow to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
    })
    .await;
    let account = pipeline_id(&attacker, Workflow::RESOURCE_CONFIGURE, "make");
    let as_pipeline = kratix_tests::platform!().client_as(&namespace, &account).await;
    let work_resource = ApiResource::erase::<kratix_shared::api::work::Work>(&());
    let forged_name = format!("forged-{suffix}");
    let forged: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Work",
        "metadata": {"name": forged_name, "namespace": namespace,
            "labels": {"kratix.io/promise-name": victim, "kratix.io/work-type": "promise",
                "kratix.io/pipeline-name": "setup"}},
        "spec": {"promiseName": victim, "workloadGroups": [{
            "id": md5_hex(b"."), "directory": ".",
            "workloads": [{"filepath": "victim.yaml",
                "content": kratix_shared::codec::compression::compress(b"kind: Forged\n")}],
            "destinationSelectors": [{"matchLabels": {"env": dev}, "source": "promise"}],
        }]},
    }))
    .expect("work");
    Api::<DynamicObject>::namespaced_with(as_pipeline, &namespace, &work_resource)
        .create(&PostParams::default(), &forged)
        .await
        .expect("the pipeline's service account may write Works in its namespace");

    let works: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &work_resource);
    let status = status_until(&works, &forged_name, "the forged Work to be refused", |s| {
        condition(s, "ScheduleSucceeded").is_some_and(|c| c["reason"] == "WorkRefused")
    })
    .await;
    let message = condition(&status, "ScheduleSucceeded").expect("condition")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("counts only in namespace kratix-platform-system")
            && message.contains(&format!("this one is in {namespace}")),
        "{message}"
    );
    assert_eq!(
        condition(&status, "Ready").map(|c| c["message"].clone()),
        Some(json!("Failing"))
    );
    kratix_tests::suites::agent::event_until(&client, &namespace, &forged_name, "WorkRefused").await;
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let of_forged = ListParams::default().labels(&format!("kratix.io/work={forged_name}"));
    assert!(
        placements
            .list(&of_forged)
            .await
            .expect("placements")
            .items
            .is_empty(),
        "a refused Work is placed nowhere"
    );
    let files = git.files(&repo, "main").unwrap_or_else(|e| panic!("{e}"));
    let victims = ending_with(&files, &dependency);
    assert_eq!(victims.len(), 1, "{:?}", files.keys());
    assert_eq!(victims[0].1, "kind: Victim\n", "the victim's file is untouched");
}

#[tokio::test]
async fn same_named_requests_in_a_pipeline_namespace_land_in_their_own_directories() {
    let setup = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "origin-pipes").await;
    let (pipelines, other) = setup.pipeline_and_second_namespace().await;
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup;
    let (git, repo, store) = http_git_store(&client, &namespace, &suffix).await;
    let dev = format!("dev-{suffix}");
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    destination_ready(&client, &dev).await;
    // Each request's output names its own namespace.
    let (promise, resource) = install_promise_with(
        &client,
        &suffix,
        json!({
            "destinationSelectors": [{"matchLabels": {"env": dev}}],
            "workflows": {
                "config": {"pipelineNamespace": pipelines},
                "resource": {"configure": [pipeline("make", &image,
                    "grep -m1 ' namespace:' /kratix/input/object.yaml > /kratix/output/app.yaml")]}
            }
        }),
    )
    .await;
    let first: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let second: Api<DynamicObject> = Api::namespaced_with(client.clone(), &other, &resource);
    request(&first, &resource, &namespace, "same", json!({})).await;
    request(&second, &resource, &other, "same", json!({})).await;
    let short = &md5_hex(b".")[..5];
    let path = |ns: &str| format!("platform/{dev}/resources/{ns}/{promise}/same/make/{short}/app.yaml");
    let files = files_until(&git, &repo, "both requests' files", |files| {
        files.contains_key(&path(&namespace)) && files.contains_key(&path(&other))
    })
    .await;
    assert!(files[&path(&namespace)].contains(&namespace), "{files:?}");
    assert!(files[&path(&other)].contains(&other), "{files:?}");
    assert!(
        !files
            .keys()
            .any(|p| p.contains(&format!("/resources/{pipelines}/"))),
        "nothing is filed under the pipeline namespace: {:?}",
        files.keys()
    );

    // Deleting one request removes its files, and only its.
    delete_and_wait_gone(&first, "same", "the first request to go").await;
    wait_for("the first request's files to go", TIMEOUT, || async {
        let files = git.files(&repo, "main").map_err(|e| e.to_string())?;
        match (files.contains_key(&path(&namespace)), files.get(&path(&other))) {
            (false, Some(kept)) if kept.contains(&other) => Ok(()),
            state => Err(format!("{state:?}")),
        }
    })
    .await;
}

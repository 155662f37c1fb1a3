//! Delete flows against the local platform: a request's delete
//! pipeline runs before it goes, its Works and Jobs are cleaned up after; a
//! failed delete pipeline holds the request until it is fixed; deleting a
//! Promise runs its own delete pipeline, deletes its requests (each running
//! theirs) and removes everything it created.
//!
//! A test's own finalizer, `example.com/hold`, keeps an object in place after
//! the agent is done with it, so the tests can look at what the delete flow
//! left behind.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kratix_shared::api::work::Work;
use kratix_tests::suites::agent::{
    HOLD, Setup, TIMEOUT, cache_promise, condition, held_request, pipeline, promise_status_until, promises,
    status_until,
};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

/// Waits until only the hold finalizer is left on the object; returns it.
async fn until_only_hold_is_left(api: &Api<DynamicObject>, name: &str) -> DynamicObject {
    wait_for("the agent to finish deleting", TIMEOUT, || async {
        let object = api.get(name).await.map_err(|e| e.to_string())?;
        if object.finalizers() == [HOLD.to_owned()] {
            Ok(object)
        } else {
            Err(format!(
                "finalizers {:?}, status {}",
                object.finalizers(),
                object.data["status"]
            ))
        }
    })
    .await
}

async fn release(api: &Api<DynamicObject>, name: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("hold released");
    wait_for("the object to be gone", TIMEOUT, || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            Ok(Some(object)) => Err(format!("still there: {:?}", object.finalizers())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
}

/// The pipelines of `action`'s record (`configure` or `delete`).
fn phases(status: &Value, action: &str) -> Vec<String> {
    status["kratix"]["workflows"][action]["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{}={}",
                p["name"].as_str().unwrap_or(""),
                p["phase"].as_str().unwrap_or("")
            )
        })
        .collect()
}

async fn events_of(client: &kube::Client, namespace: &str, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| format!("{}: {}", e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn deleting_a_request_runs_its_delete_pipeline_then_removes_its_works_and_jobs() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("delete").await;
    let (promise, resource) = cache_promise(
        &suffix,
        json!({"workflows": {"resource": {
            "configure": [pipeline("make", &image, "echo made > /kratix/output/made.yaml")],
            "delete": [pipeline("unmake", &image, "grep -q 'name: orders' /kratix/input/object.yaml && printf 'deletedBy: unmake\\n' > /kratix/metadata/status.yaml; echo ignored > /kratix/output/ignored.yaml")],
        }}}),
    );
    let promise_name = promise.name_any();
    promises(&client)
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    held_request(&requests, &resource, &namespace, "orders", json!({})).await;
    let configured = status_until(&requests, "orders", "the configure workflow to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"].is_number()
    })
    .await;
    assert_eq!(phases(&configured, "configure"), ["make=Succeeded"]);
    let stored = requests.get("orders").await.expect("request");
    for finalizer in [
        "kratix.io/delete-workflows",
        "kratix.io/work-cleanup",
        "kratix.io/workflows-cleanup",
    ] {
        assert!(
            stored.finalizers().iter().any(|f| f == finalizer),
            "{finalizer} in {:?}",
            stored.finalizers()
        );
    }
    let works: Api<Work> = Api::namespaced(client.clone(), &namespace);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let of_promise = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    assert_eq!(works.list(&of_promise).await.expect("works").items.len(), 1);

    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    let left = until_only_hold_is_left(&requests, "orders").await;
    let status = &left.data["status"];
    assert_eq!(
        status["deletedBy"], "unmake",
        "the delete pipeline ran and saw the request"
    );
    assert_eq!(phases(status, "delete"), ["unmake=Succeeded"]);
    assert_eq!(
        phases(status, "configure"),
        ["make=Succeeded"],
        "the configure run keeps its own record beside the delete run's"
    );
    assert!(
        works.list(&of_promise).await.expect("works").items.is_empty(),
        "Works are deleted, the delete pipeline's output discarded"
    );
    assert!(
        jobs.list(&of_promise).await.expect("jobs").items.is_empty(),
        "Jobs are deleted"
    );
    let events = events_of(&client, &namespace, "orders").await;
    assert!(
        events
            .iter()
            .any(|e| e == "PipelineStarted: Delete Pipeline started: unmake"),
        "{events:?}"
    );
    release(&requests, "orders").await;
}

#[tokio::test]
async fn a_failed_delete_pipeline_holds_the_request_until_a_spec_change_fixes_it() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("delfail").await;
    let (promise, resource) = cache_promise(
        &suffix,
        json!({"workflows": {"resource": {
            "delete": [pipeline("unmake", &image, "if grep -q 'size: stuck' /kratix/input/object.yaml; then echo refusing; exit 1; fi")],
        }}}),
    );
    promises(&client)
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    held_request(
        &requests,
        &resource,
        &namespace,
        "orders",
        json!({"size": "stuck"}),
    )
    .await;
    wait_for("the agent's finalizers", TIMEOUT, || async {
        let object = requests.get("orders").await.map_err(|e| e.to_string())?;
        if object.finalizers().len() == 4 {
            Ok(())
        } else {
            Err(format!("{:?}", object.finalizers()))
        }
    })
    .await;
    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    let failed = status_until(&requests, "orders", "the delete pipeline to fail", |s| {
        condition(s, "DeleteWorkflowCompleted").is_some_and(|c| c["reason"] == "DeleteWorkflowFailed")
    })
    .await;
    assert_eq!(
        condition(&failed, "DeleteWorkflowCompleted").map(|c| (c["status"].clone(), c["message"].clone())),
        Some((json!("False"), json!("The Delete Pipeline has failed")))
    );
    kratix_tests::suites::agent::kratix_event_until(
        &client,
        &namespace,
        "orders",
        "PromiseController",
        "Failed Pipeline",
        "The Delete Pipeline has failed",
    )
    .await;
    let stored = requests.get("orders").await.expect("request");
    assert!(
        stored
            .finalizers()
            .iter()
            .any(|f| f == "kratix.io/delete-workflows"),
        "the request is kept while its delete pipeline fails"
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let delete_jobs = ListParams::default().labels("kratix.io/workflow-action=delete");
    assert_eq!(
        jobs.list(&delete_jobs).await.expect("jobs").items.len(),
        1,
        "no new Job without a change"
    );

    requests
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": "small"}})),
        )
        .await
        .expect("spec fixed");
    until_only_hold_is_left(&requests, "orders").await;
    release(&requests, "orders").await;
}

#[tokio::test]
async fn deleting_a_promise_runs_its_delete_pipeline_deletes_its_requests_and_everything_it_created() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("delpromise").await;
    let (mut promise, resource) = cache_promise(
        &suffix,
        json!({
            "dependencies": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared-settings"}}],
            "workflows": {
                "promise": {
                    "configure": [pipeline("setup", &image, "echo setup > /kratix/output/setup.yaml")],
                    "delete": [pipeline("teardown", &image, "printf 'message: torn down\\n' > /kratix/metadata/status.yaml")],
                },
                "resource": {
                    "configure": [pipeline("make", &image, "echo made > /kratix/output/made.yaml")],
                    "delete": [pipeline("unmake", &image, "printf 'deletedBy: unmake\\n' > /kratix/metadata/status.yaml")],
                },
            },
        }),
    );
    promise.metadata.finalizers = Some(vec![HOLD.to_owned()]);
    let promise_name = promise.name_any();
    let promises = promises(&client);
    promises
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let available = promise_status_until(&client, &promise_name, "the Promise to be Available", |s| {
        s["status"] == "Available"
            && condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
    })
    .await;
    assert_eq!(phases(&available, "configure"), ["setup=Succeeded"]);
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    held_request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the request's workflow to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"].is_number()
    })
    .await;
    let all_works: Api<Work> = Api::all(client.clone());
    let of_promise = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    let work_types: Vec<String> = all_works
        .list(&of_promise)
        .await
        .expect("works")
        .items
        .iter()
        .filter_map(|w| w.labels().get("kratix.io/work-type").cloned())
        .collect();
    for expected in ["promise", "resource", "static-dependency"] {
        assert!(
            work_types.iter().any(|t| t == expected),
            "a {expected} Work in {work_types:?}"
        );
    }

    promises
        .delete(&promise_name, &DeleteParams::default())
        .await
        .expect("deleted");
    // The request's own delete flow runs; the test's hold keeps it listed.
    let request_left = until_only_hold_is_left(&requests, "orders").await;
    assert_eq!(request_left.data["status"]["deletedBy"], "unmake");
    let deleting = promises.get(&promise_name).await.expect("promise");
    assert_eq!(
        deleting.data["status"]["message"], "torn down",
        "the Promise's delete pipeline ran first"
    );
    assert!(
        deleting
            .finalizers()
            .iter()
            .any(|f| f == "kratix.io/resource-request-cleanup"),
        "the Promise waits for its requests: {:?}",
        deleting.finalizers()
    );
    release(&requests, "orders").await;

    until_only_hold_is_left(&promises, &promise_name).await;
    assert!(
        all_works.list(&of_promise).await.expect("works").items.is_empty(),
        "every Work is gone"
    );
    let jobs: Api<Job> = Api::all(client.clone());
    assert!(
        jobs.list(&of_promise).await.expect("jobs").items.is_empty(),
        "every Job is gone"
    );
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    assert!(
        accounts
            .list(&of_promise)
            .await
            .expect("accounts")
            .items
            .is_empty(),
        "service accounts are gone"
    );
    let roles: Api<Role> = Api::all(client.clone());
    assert!(
        roles.list(&of_promise).await.expect("roles").items.is_empty(),
        "roles are gone"
    );
    let cluster_roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(
        cluster_roles
            .list(&of_promise)
            .await
            .expect("cluster roles")
            .items
            .is_empty(),
        "cluster roles (the agent's own grant included) are gone"
    );
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(
        crds.get_opt(&format!("caches.a{suffix}.example.org"))
            .await
            .expect("crd")
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some()),
        "the API's CRD is deleted"
    );
    release(&promises, &promise_name).await;
}

#[tokio::test]
async fn a_promise_deleted_and_applied_again_at_once_gets_its_pipelines_objects_back() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("reapply").await;
    let spec = json!({"workflows": {"resource": {"configure": [pipeline("make", &image, "true")]}}});
    let done = |s: &Value| condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True");
    for round in ["first", "second"] {
        let (promise, resource) = cache_promise(&suffix, spec.clone());
        let promise_name = promise.name_any();
        promises(&client)
            .create(&PostParams::default(), &promise)
            .await
            .unwrap_or_else(|e| panic!("{round} Promise: {e}"));
        promise_status_until(&client, &promise_name, "the Promise to be Available", |s| {
            s["status"] == "Available"
        })
        .await;
        let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
        kratix_tests::suites::agent::request(&requests, &resource, &namespace, "orders", json!({})).await;
        // The second time, the pipeline's ServiceAccount and RBAC (deleted with
        // the first Promise a moment ago) must be there again for its pod.
        status_until(
            &requests,
            "orders",
            &format!("the {round} request's workflow"),
            done,
        )
        .await;
        kratix_tests::suites::agent::delete_and_wait_gone(
            &promises(&client),
            &promise_name,
            "the Promise to go",
        )
        .await;
    }
}

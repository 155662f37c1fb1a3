//! The Promise side of the agent against the local platform: its
//! own configure workflow and dependencies, an update re-running every
//! request, `kratix.io/reconcile-resources`, and required Promises.

use kratix_shared::api::work::Work;
use kratix_shared::codec::compression::decompress;
use kratix_tests::suites::agent::{
    Setup, cache_promise, condition, install_promise, pipeline, promise_status_until, promises, request,
    status_until,
};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

fn completed(status: &Value) -> bool {
    condition(status, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        && status["observedGeneration"].is_number()
}

fn job_of(status: &Value) -> Value {
    status["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"].clone()
}

#[tokio::test]
async fn a_promise_runs_its_configure_workflow_and_writes_its_dependencies_before_it_is_available() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("promisewf").await;
    let (promise_name, resource) = kratix_tests::suites::agent::install_promise_with(
        &client,
        &suffix,
        json!({
            "dependencies": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cache-system"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "cache-system"}},
            ],
            "destinationSelectors": [{"matchLabels": {"environment": "dev"}}],
            "workflows": {
                "promise": {"configure": [pipeline("setup", &image, "echo operator > /kratix/output/operator.yaml; printf 'message: operator installed\\n' > /kratix/metadata/status.yaml")]},
                "resource": {"configure": [pipeline("make", &image, "true")]},
            },
        }),
    )
    .await;
    let status = promise_status_until(
        &client,
        &promise_name,
        "the Promise's workflow to be recorded",
        |s| {
            condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
                && condition(s, "Reconciled").is_some()
        },
    )
    .await;
    assert_eq!(status["status"], "Available");
    assert_eq!(
        status["message"], "operator installed",
        "the pipeline's message is kept"
    );
    kratix_tests::suites::agent::promise_events_until(
        &client,
        &promise_name,
        &[
            ("PipelineStarted", "Configure Pipeline started: setup"),
            ("ConfigureWorkflowCompleted", "All workflows completed"),
            ("Available", "Promise is available"),
        ],
    )
    .await;
    assert_eq!(
        condition(&status, "Available").map(|c| c["reason"].clone()),
        Some(json!("PromiseAvailable"))
    );
    assert_eq!(
        condition(&status, "Reconciled").map(|c| c["reason"].clone()),
        Some(json!("WorksPending")),
        "no Destination places the Works yet"
    );
    for dropped in ["workflows", "workflowsSucceeded", "workflowsFailed"] {
        assert!(
            status.get(dropped).is_none(),
            "Kratix no longer writes status.{dropped}"
        );
    }
    assert!(status["kratix"]["workflows"]["configure"]["lastSuccessfulConfigureWorkflowTime"].is_string());

    let works: Api<Work> = Api::namespaced(client.clone(), "kratix-platform-system");
    let of_promise = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    let listed = works.list(&of_promise).await.expect("works").items;
    let promise_work = listed
        .iter()
        .find(|w| w.labels().get("kratix.io/work-type").map(String::as_str) == Some("promise"))
        .expect("the workflow's Work");
    assert_eq!(
        promise_work.spec.workload_groups[0].workloads[0].filepath,
        "operator.yaml"
    );
    let dependencies = listed
        .iter()
        .find(|w| w.labels().get("kratix.io/work-type").map(String::as_str) == Some("static-dependency"))
        .expect("the dependencies Work");
    assert!(
        dependencies
            .name_any()
            .starts_with(&format!("{promise_name}-static-deps-"))
    );
    let group = &dependencies.spec.workload_groups[0];
    assert_eq!(
        group.workloads[0].filepath,
        format!("static/{promise_name}-dependencies.yaml")
    );
    assert_eq!(group.destination_selectors[0].match_labels["environment"], "dev");
    let content = String::from_utf8(decompress(&group.workloads[0].content).expect("gzip")).expect("utf-8");
    assert!(
        content.contains("name: cache-system") && content.contains("name: settings"),
        "{content}"
    );

    // And requests are served once the Promise is Available.
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the request to complete", completed).await;

    // Dependencies removed from the Promise: their Work goes.
    promises(&client)
        .patch(
            &promise_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"dependencies": null}})),
        )
        .await
        .expect("dependencies removed");
    kratix_tests::suites::support::wait_for(
        "the dependencies Work to go",
        kratix_tests::suites::agent::TIMEOUT,
        || async {
            let listed = works.list(&of_promise).await.map_err(|e| e.to_string())?.items;
            if listed.iter().any(|w| {
                w.labels().get("kratix.io/work-type").map(String::as_str) == Some("static-dependency")
            }) {
                Err("still there".to_owned())
            } else {
                Ok(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn updating_a_promise_runs_every_request_again() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("update").await;
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![pipeline("make", &image, "true")]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "one", json!({})).await;
    request(&requests, &resource, &namespace, "two", json!({})).await;
    let one = status_until(&requests, "one", "the first request", completed).await;
    let two = status_until(&requests, "two", "the second request", completed).await;
    let promises = promises(&client);
    let updated = json!({"spec": {"workflows": {"resource": {"configure": [
        pipeline("make", &image, "echo v2 > /kratix/output/v2.yaml")
    ]}}}});
    promises
        .patch(&promise_name, &PatchParams::default(), &Patch::Merge(updated))
        .await
        .expect("promise updated");
    for (name, before) in [("one", one), ("two", two)] {
        let after = status_until(&requests, name, "the request to run again", |s| {
            completed(s)
                && job_of(s) != job_of(&before)
                && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
        })
        .await;
        assert_eq!(
            condition(&after, "ConfigureWorkflowCompleted").map(|c| c["status"].clone()),
            Some(json!("True"))
        );
    }
}

#[tokio::test]
async fn the_reconcile_resources_label_reruns_every_request_and_is_removed() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("reconcileall").await;
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![pipeline("make", &image, "true")]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "one", json!({})).await;
    let before = status_until(&requests, "one", "the request", completed).await;
    let promises = promises(&client);
    promises
        .patch(
            &promise_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"kratix.io/reconcile-resources": "true"}}})),
        )
        .await
        .expect("labelled");
    status_until(&requests, "one", "the request to run again", |s| {
        completed(s)
            && job_of(s) != job_of(&before)
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
    })
    .await;
    let stored = promises.get(&promise_name).await.expect("promise");
    assert!(
        !stored.labels().contains_key("kratix.io/reconcile-resources"),
        "the label is removed"
    );
    kratix_tests::suites::agent::kratix_event_until(
        &client,
        "default",
        &promise_name,
        "PromiseController",
        "ReconcilingResources",
        "Reconciling all resource requests",
    )
    .await;
    let request = requests.get("one").await.expect("request");
    assert!(
        !request
            .labels()
            .contains_key("internal.workflows.kratix.io/run-from-start"),
        "the request's one-shot label is removed"
    );
}

#[tokio::test]
async fn a_promise_waits_for_the_promises_it_requires() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("requires").await;
    let required_suffix = format!("{suffix}r");
    let required_name = format!("cache-{required_suffix}");
    let (promise, resource) = cache_promise(
        &suffix,
        json!({
            "requiredPromises": [{"name": required_name, "version": "v1.0.0"}],
            "workflows": {"resource": {"configure": [pipeline("make", &image, "true")]}},
        }),
    );
    let promise_name = promise.name_any();
    let promises = promises(&client);
    promises
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let waiting = promise_status_until(&client, &promise_name, "the requirement to be reported", |s| {
        condition(s, "RequirementsFulfilled").is_some_and(|c| c["status"] == "False")
    })
    .await;
    assert_eq!(waiting["status"], "Unavailable");
    assert_eq!(
        waiting["requiredPromises"],
        json!([{"name": required_name, "version": "v1.0.0", "state": "Requirement not installed"}])
    );
    assert_eq!(
        condition(&waiting, "Reconciled").map(|c| c["reason"].clone()),
        Some(json!("RequirementsNotFulfilled"))
    );
    kratix_tests::suites::agent::kratix_event_until(
        &client,
        "default",
        &promise_name,
        "PromiseController",
        "RequirementsNotInstalled",
        &format!("Required Promise {required_name} not installed or unknown state"),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let pending = status_until(&requests, "orders", "the request to wait", |s| {
        condition(s, "PromiseAvailable").is_some_and(|c| c["status"] == "False")
    })
    .await;
    assert_eq!(pending["message"], "Pending");
    assert!(pending["kratix"].is_null(), "no pipeline ran: {pending}");

    let (required, _) = cache_promise(&required_suffix, json!({}));
    promises
        .create(&PostParams::default(), &required)
        .await
        .expect("required promise");
    let ready = promise_status_until(&client, &promise_name, "the Promise to become Available", |s| {
        s["status"] == "Available"
    })
    .await;
    assert_eq!(ready["requiredPromises"][0]["state"], "Requirement installed");
    kratix_tests::suites::agent::promise_events_until(
        &client,
        &promise_name,
        &[
            ("RequirementsFulfilled", "All required promises are available"),
            ("Available", "Promise is available"),
        ],
    )
    .await;
    // No configure workflow: its Works say WorksSucceeded and nothing says
    // Reconciled, as in Kratix (the wait's RequirementsNotFulfilled is gone).
    let settled = promise_status_until(&client, &promise_name, "the Promise's Works to be judged", |s| {
        condition(s, "WorksSucceeded").is_some()
    })
    .await;
    assert_eq!(
        condition(&settled, "WorksSucceeded").map(|c| c["message"].clone()),
        Some(json!("All works associated with this promise are ready"))
    );
    assert!(condition(&settled, "Reconciled").is_none(), "{settled}");
    let done = status_until(&requests, "orders", "the request to run", completed).await;
    assert_eq!(
        condition(&done, "PromiseAvailable").map(|c| (c["status"].clone(), c["message"].clone())),
        Some((json!("True"), json!("Promise Requirements are met")))
    );

    // The required Promise says who requires it, until the requirer lets go.
    let required_by = promise_status_until(&client, &required_name, "requiredBy to be written", |s| {
        s["requiredBy"].is_array()
    })
    .await;
    assert_eq!(
        required_by["requiredBy"],
        json!([{"promise": {"name": promise_name, "version": "v1.0.0"}, "requiredVersion": "v1.0.0"}])
    );
    promises
        .patch(
            &promise_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"requiredPromises": null}})),
        )
        .await
        .expect("requirement dropped");
    promise_status_until(&client, &required_name, "requiredBy to be emptied", |s| {
        s["requiredBy"].is_null()
    })
    .await;
}

/// A Promise whose requests' one pipeline runs `script`, re-run every minute
/// (the shortest interval honoured), and its request `orders`.
async fn request_under_a_one_minute_interval(
    client: &kube::Client,
    namespace: &str,
    suffix: &str,
    image: &str,
    script: &str,
) -> Api<DynamicObject> {
    let (mut promise, resource) = cache_promise(
        suffix,
        json!({"workflows": {"resource": {"configure": [pipeline("make", image, script)]}}}),
    );
    promise.metadata.annotations =
        Some([("kratix.io/reconciliation-interval".to_owned(), "1m".to_owned())].into());
    promises(client)
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    request(&requests, &resource, namespace, "orders", json!({})).await;
    requests
}

/// Waits (up to three minutes: one interval and a run) for a run of `orders`
/// after the one in `previous` to reach `done`; returns the request.
async fn next_run_until(
    requests: &Api<DynamicObject>,
    previous: &Value,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> DynamicObject {
    kratix_tests::suites::support::wait_for(what, std::time::Duration::from_secs(180), || async {
        let stored = requests.get("orders").await.map_err(|e| e.to_string())?;
        let status = stored.data.get("status").cloned().unwrap_or_default();
        if done(&status) && job_of(&status) != job_of(previous) {
            Ok(stored)
        } else {
            Err(status.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_completed_workflow_runs_again_after_the_promises_reconciliation_interval() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("periodic").await;
    let requests = request_under_a_one_minute_interval(&client, &namespace, &suffix, &image, "true").await;
    let first = status_until(&requests, "orders", "the first run", completed).await;
    let rerun = next_run_until(&requests, &first, "the periodic re-run", completed).await;
    assert!(
        !rerun
            .labels()
            .contains_key("internal.workflows.kratix.io/run-from-start"),
        "the one-shot label is removed"
    );
}

#[tokio::test]
async fn a_failing_workflow_is_retried_once_per_interval_not_back_to_back() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("retry-interval").await;
    let requests = request_under_a_one_minute_interval(&client, &namespace, &suffix, &image, "false").await;
    let failed = |s: &Value| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["reason"] == "ConfigureWorkflowFailed")
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Failed"
    };
    let first = status_until(&requests, "orders", "the first failure", failed).await;
    // reconcileAfterFailure (on by default) retries a minute later...
    let second = next_run_until(&requests, &first, "the retry to fail too", failed).await;
    let second = second.data.get("status").cloned().unwrap_or_default();
    // ...and the next retry is a minute after that failure, not straight away.
    tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    let later = requests.get("orders").await.expect("request");
    let status = later.data.get("status").cloned().unwrap_or_default();
    assert_eq!(
        job_of(&status),
        job_of(&second),
        "no third run within 20 s of the second failure: {status}"
    );
}

#[tokio::test]
async fn a_running_promise_workflow_is_stopped_by_a_manual_reconciliation() {
    let Setup {
        client,
        suffix,
        image,
        ..
    } = setup("promise-stop").await;
    // Hangs until the Promise it reads carries the test's annotation.
    let (promise, _) = cache_promise(
        &suffix,
        json!({"workflows": {"promise": {"configure": [pipeline("setup", &image,
            "grep -q 'example.com/fast' /kratix/input/object.yaml || sleep 600")]}}}),
    );
    let name = promise.name_any();
    promises(&client)
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise");
    let running = promise_status_until(&client, &name, "the Promise workflow to run", |s| {
        s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Running"
    })
    .await;
    let first_job = job_of(&running);
    let first_job = first_job.as_str().expect("job name").to_owned();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> =
        Api::namespaced(client.clone(), "kratix-platform-system");
    kratix_tests::suites::support::wait_for(
        "the Job to start",
        kratix_tests::suites::agent::TIMEOUT,
        || async {
            jobs.get_opt(&first_job)
                .await
                .map_err(|e| e.to_string())?
                .map(|_| ())
                .ok_or_else(|| "no Job yet".to_owned())
        },
    )
    .await;
    promises(&client)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {
                "labels": {"kratix.io/manual-reconciliation": "true"},
                "annotations": {"example.com/fast": "true"}}})),
        )
        .await
        .expect("labelled");
    let done = promise_status_until(&client, &name, "a second run to complete", |s| {
        s["status"] == "Available"
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
            && job_of(s) != json!(first_job)
    })
    .await;
    assert_ne!(job_of(&done), json!(first_job));
    kratix_tests::suites::agent::kratix_event_until(
        &client,
        "default",
        &name,
        "PromiseController",
        "PipelineSuspended",
        "Configure Pipeline suspended: setup",
    )
    .await;
    // The hanging Job was stopped, not waited for (or already pruned).
    if let Some(job) = jobs.get_opt(&first_job).await.expect("read the Job") {
        assert_eq!(
            job.spec.and_then(|s| s.suspend),
            Some(true),
            "the first run's Job {first_job} was suspended"
        );
    }
}

#[tokio::test]
async fn lifting_a_promises_pause_runs_its_workflow_again_and_leaves_its_requests_be() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("unpause").await;
    let (promise_name, resource) = kratix_tests::suites::agent::install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "promise": {"configure": [pipeline("setup", &image, "true")]},
            "resource": {"configure": [pipeline("make", &image, "true")]}
        }}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "one", json!({})).await;
    let request_run = job_of(&status_until(&requests, "one", "the request's run", completed).await);
    let before = promise_status_until(&client, &promise_name, "the Promise's run", |s| {
        s["status"] == "Available" && job_of(s).is_string()
    })
    .await;
    let label = |value: Value| Patch::Merge(json!({"metadata": {"labels": {"kratix.io/paused": value}}}));
    promises(&client)
        .patch(&promise_name, &PatchParams::default(), &label(json!("true")))
        .await
        .expect("paused");
    promise_status_until(&client, &promise_name, "the pause to be reported", |s| {
        condition(s, "Reconciled").is_some_and(|c| c["reason"] == "PausedReconciliation")
    })
    .await;
    promises(&client)
        .patch(&promise_name, &PatchParams::default(), &label(Value::Null))
        .await
        .expect("unpaused");
    // As Kratix's reconciliation system test asserts: the Promise's workflow runs again.
    let after = promise_status_until(
        &client,
        &promise_name,
        "the Promise's workflow to run again",
        |s| {
            s["status"] == "Available"
                && job_of(s) != job_of(&before)
                && condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    assert_ne!(
        condition(&after, "ConfigureWorkflowCompleted").map(|c| c["lastTransitionTime"].clone()),
        condition(&before, "ConfigureWorkflowCompleted").map(|c| c["lastTransitionTime"].clone()),
    );
    let stored = promises(&client).get(&promise_name).await.expect("promise");
    assert!(
        !stored
            .labels()
            .contains_key("internal.workflows.kratix.io/run-from-start"),
        "{:?}",
        stored.labels()
    );
    // Its requests resume where they were: a completed one does not run again.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let status = requests.get("one").await.expect("request").data["status"].clone();
    assert_eq!(job_of(&status), request_run, "{status}");
}

#[tokio::test]
async fn a_promise_with_several_delete_pipelines_is_accepted_with_a_warning_event() {
    let Setup {
        client,
        suffix,
        image,
        ..
    } = setup("deletes").await;
    let (promise_name, _) = kratix_tests::suites::agent::install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"promise": {"delete": [
            pipeline("first", &image, "true"),
            pipeline("second", &image, "true"),
        ]}}}),
    )
    .await;
    // A cluster-scoped object's Events are in `default`.
    let event = kratix_tests::suites::agent::event_until(
        &client,
        "default",
        &promise_name,
        "MultipleDeletePipelines",
    )
    .await;
    let note = event.note.unwrap_or_default();
    assert_eq!(
        note,
        "spec.workflows.promise.delete has 2 pipelines; only the first (first) runs"
    );
}

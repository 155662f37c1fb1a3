//! The agent's controllers against the local platform: a Promise installs its
//! API, and a resource request runs its configure pipelines in real pods, one
//! after another, with progress recorded in its status.
//!
//! The agent runs as its Deployment, installed from `kratix-agent manifests`,
//! with its ClusterRole enforced: the test proves the manifests' RBAC is enough.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_shared::api::work::Work;
use kratix_tests::suites::agent::{Setup, condition, install_promise, pipeline, request, status_until};
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, LogParams, PostParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

#[tokio::test]
async fn a_request_runs_both_configure_pipelines_in_order() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("agent").await;
    let (promise_name, resource) = install_promise(&client, &suffix, vec![
        pipeline("first", &image, "echo first > /kratix/output/first.yaml; printf 'stage: one\\n' > /kratix/metadata/status.yaml"),
        pipeline("second", &image, "grep -q 'stage: one' /kratix/input/object.yaml && s=found || s=missing; printf 'stage: two\\nsawFirst: %s\\n' $s > /kratix/metadata/status.yaml"),
    ])
    .await;
    let promises: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::erase::<kratix_shared::api::Promise>(&()),
    );
    let stored = promises.get(&promise_name).await.expect("promise");
    assert_eq!(stored.data["status"]["kind"], "Cache");
    assert_eq!(stored.data["status"]["apiVersion"], resource.api_version);
    assert_eq!(stored.data["status"]["version"], "v1.0.0");
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    // No Destination places the Works yet: Reconciled says so once the workflow completed.
    let status = status_until(&requests, "orders", "the workflow to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"].is_number()
            && condition(s, "Reconciled").is_some_and(|c| c["reason"] == "WorksPending")
    })
    .await;
    assert_eq!(status["stage"], "two");
    assert_eq!(
        status["sawFirst"], "found",
        "the second pipeline saw the first one's status"
    );
    assert_eq!(status["message"], "Resource requested");
    for dropped in ["workflows", "workflowsSucceeded", "workflowsFailed"] {
        assert!(
            status.get(dropped).is_none(),
            "Kratix no longer writes status.{dropped}"
        );
    }
    let phases: Vec<&str> = status["kratix"]["workflows"]["configure"]["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert_eq!(phases, ["Succeeded", "Succeeded"]);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let listed = jobs
        .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}")))
        .await
        .expect("jobs");
    assert_eq!(listed.items.len(), 2, "one Job per pipeline, none run twice");
    let works: Api<Work> = Api::namespaced(client.clone(), &namespace);
    let listed = works
        .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}")))
        .await
        .expect("works");
    assert_eq!(listed.items.len(), 2, "one Work per pipeline");
}

#[tokio::test]
async fn a_failing_pipeline_stops_the_workflow_and_a_spec_change_runs_it_again() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("fails").await;
    let (promise_name, resource) = install_promise(
        &client,
        &suffix,
        vec![
            pipeline(
                "check",
                &image,
                "if grep -q 'size: bad' /kratix/input/object.yaml; then echo refusing; exit 1; fi",
            ),
            pipeline("after", &image, "echo after > /kratix/output/after.yaml"),
        ],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({"size": "bad"})).await;
    let status = status_until(&requests, "orders", "the workflow to fail", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["reason"] == "ConfigureWorkflowFailed")
    })
    .await;
    assert_eq!(
        condition(&status, "ConfigureWorkflowCompleted").map(|c| c["message"].clone()),
        Some(json!("A Configure Pipeline has failed: check"))
    );
    assert_eq!(
        condition(&status, "Reconciled").map(|c| (c["status"].clone(), c["message"].clone())),
        Some((json!("False"), json!("Failing")))
    );
    assert_eq!(
        status["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"],
        "Failed"
    );
    assert_eq!(
        status["kratix"]["workflows"]["configure"]["pipelines"][1]["phase"], "Pending",
        "later pipelines do not run"
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let selector = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    assert_eq!(jobs.list(&selector).await.expect("jobs").items.len(), 1);

    requests
        .patch(
            "orders",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"size": "large"}})),
        )
        .await
        .expect("spec changed");
    let status = status_until(&requests, "orders", "the new run to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"] == 2
    })
    .await;
    let phases: Vec<&str> = status["kratix"]["workflows"]["configure"]["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert_eq!(phases, ["Succeeded", "Succeeded"]);
    assert_eq!(
        jobs.list(&selector).await.expect("jobs").items.len(),
        3,
        "the new run started from the first pipeline"
    );
}

#[tokio::test]
async fn an_output_too_large_for_a_work_fails_its_pipeline_naming_the_largest_file() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("too-large").await;
    // 2 MB of noise does not compress: the Work would pass etcd's object limit.
    let (_, resource) = install_promise(
        &client,
        &suffix,
        vec![pipeline(
            "big",
            &image,
            "head -c 2000000 /dev/urandom > /kratix/output/noise.bin; echo 'a: 1' > /kratix/output/small.yaml",
        )],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "huge", json!({"size": "large"})).await;
    // Kubernetes deletes a failed Job's pods (restartPolicy OnFailure): the
    // work-writer's words are read while its pod is there.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let logs = wait_for("the work-writer to say why", Duration::from_secs(120), || async {
        let listed = pods
            .list(&ListParams::default().labels("kratix.io/resource-name=huge"))
            .await
            .map_err(|e| e.to_string())?;
        let mut seen = String::new();
        for pod in listed.items {
            // The container is restarted in place after it fails (OnFailure):
            // the failed attempt's words may be in the previous instance only.
            for previous in [false, true] {
                let params = LogParams {
                    container: Some("work-writer".to_owned()),
                    previous,
                    ..LogParams::default()
                };
                if let Ok(text) = pods.logs(&pod.name_any(), &params).await {
                    seen.push_str(&text);
                }
            }
        }
        if seen.contains("more than a Work can hold") {
            Ok(seen)
        } else {
            Err(format!("work-writer logs so far: {seen:?}"))
        }
    })
    .await;
    assert!(logs.contains("noise.bin (2."), "{logs}");
    status_until(&requests, "huge", "the workflow to fail", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["reason"] == "ConfigureWorkflowFailed")
    })
    .await;
    let works: Api<Work> = Api::namespaced(client.clone(), &namespace);
    assert!(
        works
            .list(&ListParams::default().labels("kratix.io/resource-name=huge"))
            .await
            .expect("works")
            .items
            .is_empty(),
        "no Work is written"
    );
}

#[tokio::test]
async fn manual_reconciliation_runs_the_workflow_again_and_is_removed() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("manual").await;
    let (promise_name, resource) = install_promise(
        &client,
        &suffix,
        vec![pipeline("only", &image, "date +%s%N > /kratix/output/run.txt")],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let done = |s: &Value| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"].is_number()
    };
    let first = status_until(&requests, "orders", "the first run", done).await;
    let first_job = first["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"].clone();
    requests
        .patch(
            "orders",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"labels": {"kratix.io/manual-reconciliation": "true"}}}),
            ),
        )
        .await
        .expect("labelled");
    let second = status_until(&requests, "orders", "a second run", |s| {
        done(s)
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["jobName"] != first_job
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
    })
    .await;
    assert_eq!(
        second["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"],
        "Succeeded"
    );
    let stored = requests.get("orders").await.expect("request");
    assert!(
        !stored.labels().contains_key("kratix.io/manual-reconciliation"),
        "the label is removed"
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let listed = jobs
        .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}")))
        .await
        .expect("jobs");
    assert_eq!(listed.items.len(), 2);
}

#[tokio::test]
async fn a_pipeline_can_ask_to_retry_and_is_run_again_after_the_delay() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("retry").await;
    // First try: ask for a retry in 2s. Second try (attempts recorded): succeed.
    let script = "if grep -q 'attempts: 1' /kratix/input/object.yaml; then echo second try; \
                  else printf 'retryAfter: 2s\\nmessage: not ready yet\\n' > /kratix/metadata/workflow-control.yaml; fi";
    let (_, resource) = install_promise(
        &client,
        &suffix,
        vec![pipeline("wait", &image, script), pipeline("next", &image, "true")],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let suspended = status_until(&requests, "orders", "the pipeline to suspend", |s| {
        s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Suspended"
    })
    .await;
    let entry = &suspended["kratix"]["workflows"]["configure"]["pipelines"][0];
    assert_eq!(entry["message"], "not ready yet");
    assert_eq!(entry["attempts"], 1);
    assert!(entry["nextRetryAt"].is_string());
    assert_eq!(
        suspended["kratix"]["workflows"]["configure"]["pipelines"][1]["phase"], "Pending",
        "the next pipeline waits"
    );
    let done = status_until(&requests, "orders", "the retry to complete the workflow", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["kratix"]["workflows"]["configure"]["pipelines"][1]["phase"] == "Succeeded"
    })
    .await;
    // The re-run saw `attempts: 1` (it succeeded only then); a pipeline that runs
    // through clears its suspension details, attempts included (as in Kratix).
    assert_eq!(
        done["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"],
        "Succeeded"
    );
    assert!(
        done["kratix"]["workflows"]["configure"]["pipelines"][0]
            .get("attempts")
            .is_none()
    );
    let stored = requests.get("orders").await.expect("request");
    assert!(
        !stored.labels().contains_key("kratix.io/workflow-suspended"),
        "the suspension label is gone"
    );
}

#[tokio::test]
async fn a_spec_change_runs_a_suspended_workflow_afresh_and_lifts_the_suspension() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("suspend").await;
    // Suspends (with no retry) until the request asks for a large cache.
    let script = "grep -q 'size: large' /kratix/input/object.yaml \
                  || printf 'suspend: true\nmessage: waiting for large\n' > /kratix/metadata/workflow-control.yaml";
    let (_, resource) = install_promise(&client, &suffix, vec![pipeline("gate", &image, script)]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the pipeline to suspend", |s| {
        s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Suspended"
    })
    .await;
    let stored = requests.get("orders").await.expect("request");
    assert_eq!(
        stored
            .labels()
            .get("kratix.io/workflow-suspended")
            .map(String::as_str),
        Some("true")
    );
    requests
        .patch(
            "orders",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"size": "large"}})),
        )
        .await
        .expect("spec changed");
    status_until(&requests, "orders", "the fresh run to complete", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["kratix"]["workflows"]["configure"]["pipelines"][0]["phase"] == "Succeeded"
    })
    .await;
    let stored = requests.get("orders").await.expect("request");
    assert!(
        !stored.labels().contains_key("kratix.io/workflow-suspended"),
        "the suspension ended with the run it suspended: {:?}",
        stored.labels()
    );
}

#[tokio::test]
async fn a_paused_request_runs_nothing_until_unpaused() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("paused").await;
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![pipeline("only", &image, "true")]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": resource.api_version, "kind": "Cache",
        "metadata": {"name": "orders", "namespace": namespace, "labels": {"kratix.io/paused": "true"}}, "spec": {}
    }))
    .expect("request");
    wait_for(
        "the request to be accepted",
        kratix_tests::suites::agent::TIMEOUT,
        || async {
            requests
                .create(&PostParams::default(), &object)
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await;
    let paused = status_until(&requests, "orders", "the pause to be reported", |s| {
        condition(s, "Reconciled").is_some_and(|c| c["reason"] == "PausedReconciliation")
    })
    .await;
    assert_eq!(
        condition(&paused, "Reconciled").map(|c| c["message"].clone()),
        Some(json!("Paused"))
    );
    kratix_tests::suites::agent::kratix_event_until(
        &client,
        &namespace,
        "orders",
        "PromiseController",
        "PausedReconciliation",
        "'kratix.io/paused' label set to 'true' for this resource request; pausing reconciliation",
    )
    .await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let selector = ListParams::default().labels(&format!("kratix.io/promise-name={promise_name}"));
    assert!(
        jobs.list(&selector).await.expect("jobs").items.is_empty(),
        "nothing runs while paused"
    );
    requests
        .patch(
            "orders",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"labels": {"kratix.io/paused": null}}})),
        )
        .await
        .expect("unpaused");
    status_until(&requests, "orders", "the workflow to run once unpaused", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
            && s["observedGeneration"].is_number()
    })
    .await;
}

//! Taking over from Kratix: requests whose status Kratix wrote, in its layout
//! before its #933 (one flat `pipelines` list) or after it (a record per action,
//! each pipeline with its hash), and whose Jobs Kratix ran (no agent UID label),
//! are adopted without re-running pipelines that succeeded at the current spec.
//! One whose workflow had not completed runs.
//!
//! Its own binary: it stops the agent, which other suites' tests must not see.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_tests::suites::agent::{
    Setup, condition, install_promise, pipeline, request, setup, status_until,
};
use kratix_tests::suites::support::wait_for;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(150);
const SYSTEM: &str = "kratix-platform-system";
const AGENT_PODS: &str = "app.kubernetes.io/name=kratix-agent";

/// Scales the agent's Deployment to `replicas` and waits until that many of
/// its pods run (none, or one ready).
async fn scale_agent(client: &kube::Client, replicas: i32) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), SYSTEM);
    deployments
        .patch(
            "kratix-agent",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .expect("agent scaled");
    let pods: Api<Pod> = Api::namespaced(client.clone(), SYSTEM);
    wait_for(&format!("{replicas} agent pods"), TIMEOUT, || async {
        let listed = pods
            .list(&ListParams::default().labels(AGENT_PODS))
            .await
            .map_err(|e| e.to_string())?
            .items;
        let ready = listed.iter().filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        let settled = if replicas == 0 {
            listed.is_empty()
        } else {
            ready.count() == replicas as usize
        };
        if settled {
            Ok(())
        } else {
            Err(format!("{} pods", listed.len()))
        }
    })
    .await;
}

/// The request's Jobs, per pipeline name, in creation order.
async fn jobs_of(jobs: &Api<Job>, promise: &str, name: &str) -> Vec<(String, String)> {
    let selector = format!("kratix.io/promise-name={promise},kratix.io/resource-name={name}");
    let mut listed = jobs
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("jobs")
        .items;
    listed.sort_by_key(|j| j.metadata.creation_timestamp.clone().map(|t| t.0));
    listed
        .iter()
        .map(|j| {
            let label = |k: &str| {
                j.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(k))
                    .cloned()
                    .unwrap_or_default()
            };
            (label("kratix.io/pipeline-name"), label("kratix.io/hash"))
        })
        .collect()
}

fn completed(status: &Value) -> bool {
    condition(status, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
}

/// The configure record's pipelines as `name=phase@hash`.
fn keyed(status: &Value) -> Vec<String> {
    status["kratix"]["workflows"]["configure"]["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{}={}@{}",
                p["name"].as_str().unwrap_or_default(),
                p["phase"].as_str().unwrap_or_default(),
                p["hash"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn records_and_jobs_kratix_left_are_taken_over_without_rerunning_what_succeeded() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup(kratix_tests::platform!(), "takeover").await;
    let (promise, resource) = install_promise(
        &client,
        &suffix,
        vec![
            pipeline("first", &image, "true"),
            pipeline("second", &image, "true"),
        ],
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let names = ["flat", "keyed", "unfinished"];
    for name in names {
        request(&requests, &resource, &namespace, name, json!({"size": name})).await;
    }
    let mut hashes = Vec::new();
    for name in names {
        status_until(&requests, name, "the workflow to complete", completed).await;
        let ran = jobs_of(&jobs, &promise, name).await;
        assert_eq!(ran.len(), 2, "{name}: one Job per pipeline: {ran:?}");
        hashes.push(ran[0].1.clone());
    }

    scale_agent(&client, 0).await;
    // As Kratix would have left them: its Jobs carry no agent UID label ...
    for job in jobs
        .list(&ListParams::default().labels(&format!("kratix.io/promise-name={promise}")))
        .await
        .expect("jobs")
        .items
    {
        let name = job.metadata.name.clone().unwrap_or_default();
        jobs.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"agent.kratix.io/object-uid": null}}})),
        )
        .await
        .expect("uid label removed");
    }
    // ... and its status layouts, with the counters its older releases kept.
    let at = "2026-01-01T00:00:00Z";
    let flat = json!({"configure": null, "pipelines": [
        {"name": "first", "phase": "Succeeded", "lastTransitionTime": at},
        {"name": "second", "phase": "Succeeded", "lastTransitionTime": at},
    ]});
    let kratix_keyed = json!({"configure": {"pipelines": [
        {"name": "first", "hash": hashes[1], "phase": "Succeeded", "lastTransitionTime": at},
        {"name": "second", "hash": hashes[1], "phase": "Succeeded", "lastTransitionTime": at},
    ]}});
    let unfinished = json!({"configure": null, "pipelines": [
        {"name": "first", "phase": "Succeeded", "lastTransitionTime": at},
        {"name": "second", "phase": "Running", "lastTransitionTime": at},
    ]});
    for (name, workflows, done) in [
        ("flat", flat, true),
        ("keyed", kratix_keyed, true),
        ("unfinished", unfinished, false),
    ] {
        let mut status = json!({
            "workflows": 2, "workflowsSucceeded": 2, "workflowsFailed": 0,
            "kratix": {"workflows": workflows},
        });
        if !done {
            status["conditions"] = json!([{"type": "ConfigureWorkflowCompleted", "status": "False",
                "reason": "PipelinesInProgress", "message": "Pipelines are still in progress",
                "lastTransitionTime": at}]);
        }
        requests
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await
            .expect("status written as Kratix would");
    }
    let stored = requests.get("flat").await.expect("flat");
    assert!(
        stored.data["status"]["kratix"]["workflows"]["pipelines"].is_array(),
        "the CRD keeps the older layout until it is taken over: {}",
        stored.data["status"]
    );

    scale_agent(&client, 1).await;
    // The unfinished workflow runs from the start: proof the agent has been at work.
    let rerun = status_until(
        &requests,
        "unfinished",
        "the unfinished workflow to run again",
        |s| completed(s) && keyed(s).iter().all(|p| p.contains("=Succeeded@")),
    )
    .await;
    assert_eq!(keyed(&rerun).len(), 2, "{rerun}");
    let ran = jobs_of(&jobs, &promise, "unfinished").await;
    assert_eq!(ran.len(), 4, "both pipelines ran again: {ran:?}");

    for (index, name) in ["flat", "keyed"].into_iter().enumerate() {
        let hash = &hashes[index];
        let status = status_until(&requests, name, "the record taken over, keyed", |s| {
            !keyed(s).is_empty()
        })
        .await;
        assert_eq!(
            keyed(&status),
            [
                format!("first=Succeeded@{hash}"),
                format!("second=Succeeded@{hash}")
            ],
            "{name}: {status}"
        );
        assert!(
            status["kratix"]["workflows"].get("pipelines").is_none(),
            "{name}: the flat list is gone: {status}"
        );
        for dropped in ["workflows", "workflowsSucceeded", "workflowsFailed"] {
            assert!(
                status.get(dropped).is_none(),
                "{name}: status.{dropped} removed: {status}"
            );
        }
        assert!(completed(&status), "{name}: {status}");
        let ran = jobs_of(&jobs, &promise, name).await;
        assert_eq!(ran.len(), 2, "{name}: nothing ran again: {ran:?}");
    }
}

//! What the cluster refuses, against the agent: Pod Security admission and
//! namespace lifecycle. In a namespace that enforces the `restricted` profile,
//! a pipeline whose user container sets no securityContext cannot get its pod
//! created; the Job controller only records `FailedCreate` Events, and the
//! agent reads them, so the pipeline's phase, the request's conditions and
//! `kubectl kratix workflows status` say why instead of waiting for ever. With
//! the `kratix` ConfigMap's `defaultContainerSecurityContext` set to a
//! restricted context, it runs. A pipeline namespace that does not exist, and a
//! request whose namespace is being deleted, each end in a condition, not a loop.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kratix_tests::suites::agent::{
    HOLD, Setup, condition, held_request, install_promise, install_promise_with, pipeline, request,
    status_until,
};
use kratix_tests::suites::support::{ensure_namespace, wait_for};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const RESTRICTED: &str = "workflows:\n  defaultContainerSecurityContext:\n    allowPrivilegeEscalation: false\n    capabilities: {drop: [ALL]}\n    runAsNonRoot: true\n    seccompProfile: {type: RuntimeDefault}\n";

fn first_pipeline(status: &Value) -> &Value {
    &status["kratix"]["workflows"]["configure"]["pipelines"][0]
}

#[tokio::test]
async fn a_pod_refused_by_pod_security_fails_its_pipeline_and_says_why() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "podsec").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kratix-platform-system");
    let _ = config_maps.delete("kratix", &DeleteParams::default()).await;
    Api::<Namespace>::all(client.clone())
        .patch(
            &namespace,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
            ),
        )
        .await
        .expect("namespace labelled restricted");
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![pipeline("make", &image, "true")]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;

    let refused = status_until(&requests, "orders", "the pipeline to fail on admission", |s| {
        first_pipeline(s)["phase"] == "Failed"
    })
    .await;
    let message = first_pipeline(&refused)["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("violates PodSecurity") && message.contains("restricted"),
        "the pipeline says why: {refused}"
    );
    // Kratix's condition keeps Kratix's words; our own says why.
    let completed = condition(&refused, "ConfigureWorkflowCompleted").expect("condition");
    assert_eq!(
        (&completed["status"], &completed["reason"], &completed["message"]),
        (
            &json!("False"),
            &json!("ConfigureWorkflowFailed"),
            &json!("A Configure Pipeline has failed: make")
        ),
        "{refused}"
    );
    let admitted = condition(&refused, "PipelineAdmitted").expect("our condition");
    assert_eq!(
        (&admitted["status"], &admitted["reason"]),
        (&json!("False"), &json!("PodRefused"))
    );
    assert!(
        admitted["message"]
            .as_str()
            .is_some_and(|m| m.contains("pipeline make") && m.contains("violates PodSecurity")),
        "the condition says why: {admitted}"
    );

    let output = kratix_tests::platform!()
        .kubectl_kratix()
        .args(["workflows", "status", &promise_name, "orders", "-n", &namespace])
        .output()
        .expect("kubectl kratix runs");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("Failed") && shown.contains("violates PodSecurity"),
        "workflows status says why:\n{shown}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A restricted default context for user containers, then a re-run: it runs.
    config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("kratix".into()),
                    namespace: Some("kratix-platform-system".into()),
                    ..ObjectMeta::default()
                },
                data: Some([("config".to_owned(), RESTRICTED.to_owned())].into()),
                ..ConfigMap::default()
            },
        )
        .await
        .expect("config");
    // The agent picks the ConfigMap up asynchronously: re-run until a run succeeds.
    let mut last = refused;
    let mut succeeded = false;
    for _ in 0..5 {
        let previous = first_pipeline(&last)["jobName"].clone();
        requests
            .patch("orders", &PatchParams::default(), &manual_reconciliation())
            .await
            .expect("re-run");
        last = status_until(&requests, "orders", "the re-run to finish", |s| {
            let phase = &first_pipeline(s)["phase"];
            first_pipeline(s)["jobName"] != previous && (phase == "Succeeded" || phase == "Failed")
        })
        .await;
        if first_pipeline(&last)["phase"] == "Succeeded" {
            let completed = condition(&last, "ConfigureWorkflowCompleted").expect("condition");
            assert_eq!(completed["status"], "True", "{last}");
            assert!(
                condition(&last, "PipelineAdmitted").is_none(),
                "a fresh run clears the refusal: {last}"
            );
            succeeded = true;
            break;
        }
    }
    config_maps
        .delete("kratix", &DeleteParams::default())
        .await
        .expect("config removed");
    assert!(
        succeeded,
        "with a restricted default securityContext the pipeline runs"
    );
}

fn manual_reconciliation() -> Patch<Value> {
    Patch::Merge(json!({"metadata": {"labels": {"kratix.io/manual-reconciliation": "true"}}}))
}

#[tokio::test]
async fn a_missing_pipeline_namespace_fails_the_pipeline_with_a_condition_until_it_exists() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "nopipens").await;
    let pipeline_namespace = format!("absent-{suffix}");
    let (_, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {
            "config": {"pipelineNamespace": pipeline_namespace},
            "resource": {"configure": [pipeline("make", &image, "true")]}
        }}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let refused = status_until(&requests, "orders", "the pipeline to fail", |s| {
        first_pipeline(s)["phase"] == "Failed"
    })
    .await;
    let admitted = condition(&refused, "PipelineAdmitted").expect("our condition");
    assert_eq!(
        (&admitted["status"], &admitted["reason"]),
        (&json!("False"), &json!("PipelineNamespaceMissing")),
        "{refused}"
    );
    assert!(
        admitted["message"]
            .as_str()
            .is_some_and(|m| m.contains(&pipeline_namespace) && m.contains("not found")),
        "{admitted}"
    );
    // Failed, not looping: the phase stays and nothing is retried on its own.
    let attempts = first_pipeline(&refused)["lastTransitionTime"].clone();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let later = requests.get("orders").await.expect("request");
    assert_eq!(
        first_pipeline(&later.data["status"])["lastTransitionTime"],
        attempts,
        "no retry loop"
    );

    ensure_namespace(&client, &pipeline_namespace)
        .await
        .expect("the pipeline namespace");
    kratix_tests::suites::support::wait_for_default_service_account(&client, &pipeline_namespace).await;
    requests
        .patch("orders", &PatchParams::default(), &manual_reconciliation())
        .await
        .expect("re-run");
    let after = status_until(&requests, "orders", "the re-run to succeed", |s| {
        first_pipeline(s)["phase"] == "Succeeded"
            && condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
    })
    .await;
    assert!(condition(&after, "PipelineAdmitted").is_none(), "{after}");
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&pipeline_namespace, &DeleteParams::default())
        .await;
}

#[tokio::test]
async fn a_request_whose_namespace_is_being_deleted_says_its_delete_pipeline_cannot_run() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = kratix_tests::suites::agent::setup(kratix_tests::platform!(), "nsgone").await;
    let (_, resource) = install_promise_with(
        &client,
        &suffix,
        json!({"workflows": {"resource": {
            "configure": [pipeline("make", &image, "true")],
            "delete": [pipeline("remove", &image, "true")]
        }}}),
    )
    .await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    held_request(&requests, &resource, &namespace, "orders", json!({})).await;
    status_until(&requests, "orders", "the configure workflow", |s| {
        condition(s, "ConfigureWorkflowCompleted").is_some_and(|c| c["status"] == "True")
    })
    .await;
    Api::<Namespace>::all(client.clone())
        .delete(&namespace, &DeleteParams::default())
        .await
        .expect("namespace deleted");
    let stuck = status_until(&requests, "orders", "the delete pipeline to be refused", |s| {
        condition(s, "PipelineAdmitted").is_some_and(|c| c["reason"] == "NamespaceTerminating")
    })
    .await;
    let admitted = condition(&stuck, "PipelineAdmitted").expect("our condition");
    assert_eq!(admitted["status"], "False", "{stuck}");
    assert!(
        admitted["message"]
            .as_str()
            .is_some_and(|m| m.contains("pipeline remove") && m.contains("being terminated")),
        "{admitted}"
    );
    let deleted = condition(&stuck, "DeleteWorkflowCompleted").expect("Kratix's condition");
    assert_eq!(deleted["status"], "False", "{stuck}");
    // The namespace waits on the request; releasing the request lets it go.
    let request = requests.get("orders").await.expect("request");
    let finalizers: Vec<Value> = request
        .metadata
        .finalizers
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f != HOLD)
        .map(Value::from)
        .collect();
    assert!(!finalizers.is_empty(), "the agent's finalizers hold the request");
    requests
        .patch(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("finalizers removed");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_for(
        "the namespace to go",
        std::time::Duration::from_secs(120),
        || async {
            match namespaces.get_opt(&namespace).await {
                Ok(None) => Ok(()),
                Ok(Some(ns)) => Err(format!("{:?}", ns.status)),
                Err(error) => Err(error.to_string()),
            }
        },
    )
    .await;
}

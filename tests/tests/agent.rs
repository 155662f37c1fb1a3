//! The agent's controllers against the local platform: a Promise installs its
//! API, and a resource request runs its configure pipelines in real pods, one
//! after another, with progress recorded in its status.
//!
//! The agent runs as its Deployment, installed from `kratix-agent manifests`,
//! with its ClusterRole enforced: the test proves the manifests' RBAC is enough.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::work::Work;
use kratix_tests::images::ImageSpec;
use kratix_tests::support::{Platform, adapter_image, agent_binary, install_kratix_crds, wait_for};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(120);

fn platform() -> &'static Platform {
    Platform::get(Path::new(env!("CARGO_BIN_EXE_testenv")))
}

/// Installs the agent from its manifests and waits for its pod to run. The pod
/// is replaced so that a rebuilt image is picked up.
async fn install_agent(client: &kube::Client) {
    let image = adapter_image();
    let manifests = Command::new(agent_binary())
        .args(["manifests", "--image", &image])
        .output()
        .expect("manifests");
    assert!(
        manifests.status.success(),
        "{}",
        String::from_utf8_lossy(&manifests.stderr)
    );
    let mut apply = platform()
        .kubectl()
        .args(["apply", "--server-side", "--force-conflicts", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl apply");
    {
        use std::io::Write as _;
        apply
            .stdin
            .take()
            .expect("stdin")
            .write_all(&manifests.stdout)
            .expect("manifests piped");
    }
    let output = apply.wait_with_output().expect("kubectl apply ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(client.clone(), "kratix-platform-system");
    let selector = ListParams::default().labels("app.kubernetes.io/name=kratix-agent");
    let _ = pods
        .delete_collection(&kube::api::DeleteParams::default(), &selector)
        .await;
    wait_for("the agent's pod to run", TIMEOUT, || async {
        let list = pods.list(&selector).await.map_err(|e| e.to_string())?;
        let running = list.items.iter().any(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        });
        if running {
            Ok(())
        } else {
            Err(format!("{} pods, none running", list.items.len()))
        }
    })
    .await;
}

fn pipeline(name: &str, image: &str, script: &str) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}]}
    })
}

#[tokio::test]
async fn a_request_runs_both_configure_pipelines_in_order() {
    let client = platform().client().await;
    install_kratix_crds(&client).await;
    let namespace = platform().namespace(&client, "agent").await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    let group = format!("a{suffix}.example.org");
    let promise_name = format!("cache-{suffix}");
    let image = platform().image(&ImageSpec {
        reference: "testenv-busybox:v1".into(),
        user: Some(65534),
        ..Default::default()
    });
    install_agent(&client).await;
    let promise: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
        "metadata": {"name": promise_name, "labels": {"kratix.io/promise-version": "v1.0.0"}},
        "spec": {
            "api": {
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("caches.{group}")},
                "spec": {"group": group, "names": {"kind": "Cache", "plural": "caches"}, "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "string", "default": "small"}}}}}}}]}
            },
            "workflows": {"resource": {"configure": [
                pipeline("first", &image, "echo first > /kratix/output/first.yaml; printf 'stage: one\\n' > /kratix/metadata/status.yaml"),
                pipeline("second", &image, "grep -q 'stage: one' /kratix/input/object.yaml && s=found || s=missing; printf 'stage: two\\nsawFirst: %s\\n' $s > /kratix/metadata/status.yaml")
            ]}}
        }
    }))
    .expect("promise");
    let promises_resource = ApiResource::erase::<kratix_shared::api::Promise>(&());
    let promises: Api<DynamicObject> = Api::all_with(client.clone(), &promises_resource);
    promises
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise created");
    wait_for("the Promise to be Available", TIMEOUT, || async {
        let promise = promises.get(&promise_name).await.map_err(|e| e.to_string())?;
        let status = promise.data.get("status").cloned().unwrap_or_default();
        if status["status"] == "Available" {
            Ok(())
        } else {
            Err(status.to_string())
        }
    })
    .await;
    let stored = promises.get(&promise_name).await.expect("promise");
    assert_eq!(stored.data["status"]["kind"], "Cache");
    assert_eq!(stored.data["status"]["apiVersion"], format!("{group}/v1"));
    assert_eq!(stored.data["status"]["version"], "v1.0.0");

    let resource = ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Cache".into(),
        plural: "caches".into(),
    };
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let request: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Cache", "metadata": {"name": "orders", "namespace": namespace}, "spec": {}
    }))
    .expect("request");
    wait_for("the request to be accepted", TIMEOUT, || async {
        requests
            .create(&PostParams::default(), &request)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let status = wait_for("the workflow to complete", TIMEOUT, || async {
        let stored = requests.get("orders").await.map_err(|e| e.to_string())?;
        let status = stored.data.get("status").cloned().unwrap_or_default();
        let completed = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "ConfigureWorkflowCompleted" && c["status"] == "True")
            && status["kratix"]["workflows"]["pipelines"][1]["phase"] == "Succeeded";
        if completed {
            Ok(status)
        } else {
            Err(status.to_string())
        }
    })
    .await;
    assert_eq!(status["stage"], "two");
    assert_eq!(
        status["sawFirst"], "found",
        "the second pipeline saw the first one's status"
    );
    assert_eq!(status["message"], "Resource requested");
    assert_eq!(status["workflows"], 2);
    assert_eq!(status["workflowsSucceeded"], 2);
    let phases: Vec<&str> = status["kratix"]["workflows"]["pipelines"]
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

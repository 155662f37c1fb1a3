//! Driving the agent in end-to-end suites: install it from its manifests (as
//! its Deployment, its ClusterRole enforced), install Promises, make requests
//! and wait for their status.

use std::process::{Command, Stdio};
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

use crate::fixtures::images::ImageSpec;
use crate::suites::support::{Platform, adapter_image, agent_binary, install_kratix_crds, wait_for};

/// How long any one wait of a suite may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Installs the agent from its manifests, once per test binary, and waits for
/// its pod to run. The pod is replaced so that a rebuilt image is picked up.
pub async fn install_agent(platform: &Platform, client: &kube::Client) {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let image = adapter_image();
        let manifests = Command::new(agent_binary())
            // Pods share the host network here: a free port for the endpoints.
            .args(["manifests", "--image", &image, "--http-port", "0"])
            .output()
            .expect("manifests");
        assert!(
            manifests.status.success(),
            "{}",
            String::from_utf8_lossy(&manifests.stderr)
        );
        let mut apply = platform
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
        let deleted = platform
            .kubectl()
            .args([
                "delete",
                "pods",
                "-n",
                "kratix-platform-system",
                "-l",
                "app.kubernetes.io/name=kratix-agent",
                "--wait=false",
            ])
            .output()
            .expect("kubectl delete");
        assert!(
            deleted.status.success(),
            "{}",
            String::from_utf8_lossy(&deleted.stderr)
        );
    });
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(client.clone(), "kratix-platform-system");
    let selector = ListParams::default().labels("app.kubernetes.io/name=kratix-agent");
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

/// A Promise named `cache-<suffix>` with an API `Cache` in its own group and
/// these resource configure pipelines, installed and Available; returns its
/// name and the API of its requests.
pub async fn install_promise(
    client: &kube::Client,
    suffix: &str,
    pipelines: Vec<Value>,
) -> (String, ApiResource) {
    install_promise_with(
        client,
        suffix,
        json!({"workflows": {"resource": {"configure": pipelines}}}),
    )
    .await
}

/// The Promise of [`install_promise`] with `spec` merged over its API (so
/// `spec` gives its workflows, dependencies, requirements ...).
pub async fn install_promise_with(client: &kube::Client, suffix: &str, spec: Value) -> (String, ApiResource) {
    let promise_name = format!("cache-{suffix}");
    let (promise, resource) = cache_promise(suffix, spec);
    let promises = promises(client);
    promises
        .create(&PostParams::default(), &promise)
        .await
        .expect("promise created");
    promise_status_until(client, &promise_name, "the Promise to be Available", |s| {
        s["status"] == "Available"
    })
    .await;
    (promise_name, resource)
}

/// The Promise `cache-<suffix>` (not installed) and the API of its requests.
pub fn cache_promise(suffix: &str, spec: Value) -> (DynamicObject, ApiResource) {
    let group = format!("a{suffix}.example.org");
    let promise_name = format!("cache-{suffix}");
    let mut full_spec = json!({
        "api": {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("caches.{group}")},
            "spec": {"group": group, "names": {"kind": "Cache", "plural": "caches"}, "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "string", "default": "small"}}}}}}}]}
        }
    });
    if let (Some(target), Some(extra)) = (full_spec.as_object_mut(), spec.as_object()) {
        target.extend(extra.clone());
    }
    let promise: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
        "metadata": {"name": promise_name, "labels": {"kratix.io/promise-version": "v1.0.0"}},
        "spec": full_spec
    }))
    .expect("promise");
    let resource = ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Cache".into(),
        plural: "caches".into(),
    };
    (promise, resource)
}

/// The Promises API.
pub fn promises(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &ApiResource::erase::<kratix_shared::api::Promise>(&()),
    )
}

/// Waits until Promise `name`'s status satisfies `done`, returning it.
pub async fn promise_status_until(
    client: &kube::Client,
    name: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    status_until(&promises(client), name, what, done).await
}

/// Creates request `name` (retrying while the new API settles).
pub async fn request(
    requests: &Api<DynamicObject>,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    spec: Value,
) {
    create_request(
        requests,
        resource,
        json!({"name": name, "namespace": namespace}),
        spec,
    )
    .await;
}

/// A test's own finalizer: it keeps an object in place after the agent is done
/// with it, so a test can look at what a delete flow left behind.
pub const HOLD: &str = "example.com/hold";

/// Creates request `name` carrying the [`HOLD`] finalizer.
pub async fn held_request(
    requests: &Api<DynamicObject>,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    spec: Value,
) {
    let metadata = json!({"name": name, "namespace": namespace, "finalizers": [HOLD]});
    create_request(requests, resource, metadata, spec).await;
}

/// Creates a request with `metadata` as given (labels, finalizers), once the
/// API accepts it.
pub async fn create_request(
    requests: &Api<DynamicObject>,
    resource: &ApiResource,
    metadata: Value,
    spec: Value,
) {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": resource.api_version, "kind": resource.kind, "metadata": metadata, "spec": spec
    }))
    .expect("request");
    wait_for("the request to be accepted", TIMEOUT, || async {
        requests
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
}

/// Waits for an Event about the object named `regarding` with `reason`, in
/// `namespace` (a cluster-scoped object's Events are in `default`).
pub async fn event_until(
    client: &kube::Client,
    namespace: &str,
    regarding: &str,
    reason: &str,
) -> k8s_openapi::api::events::v1::Event {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    wait_for(
        &format!("the {reason} Event about {regarding}"),
        TIMEOUT,
        || async {
            events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items
                .into_iter()
                .find(|e| {
                    e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding)
                        && e.reason.as_deref() == Some(reason)
                })
                .ok_or_else(|| "no Event yet".to_owned())
        },
    )
    .await
}

/// Waits for the Event about `regarding` with `reason` and `note`, and checks
/// it is reported as Kratix reports it: by `controller`, with action = reason.
pub async fn kratix_event_until(
    client: &kube::Client,
    namespace: &str,
    regarding: &str,
    controller: &str,
    reason: &str,
    note: &str,
) {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    let event = wait_for(
        &format!("the {reason} Event {note:?} about {regarding}"),
        TIMEOUT,
        || async {
            let listed = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items;
            let about: Vec<_> = listed
                .into_iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding))
                .collect();
            about
                .iter()
                .find(|e| e.reason.as_deref() == Some(reason) && e.note.as_deref() == Some(note))
                .cloned()
                .ok_or_else(|| {
                    let seen: Vec<String> = about
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.reason.as_deref().unwrap_or(""),
                                e.note.as_deref().unwrap_or("")
                            )
                        })
                        .collect();
                    format!("not yet; seen {seen:?}")
                })
        },
    )
    .await;
    assert_eq!(
        event.reporting_controller.as_deref(),
        Some(controller),
        "{event:?}"
    );
    assert_eq!(event.action.as_deref(), Some(reason), "{event:?}");
}

/// Waits for each of a Promise's Events, `(reason, note)`, as Kratix's
/// PromiseController reports them (a cluster-scoped object's are in `default`).
pub async fn promise_events_until(client: &kube::Client, promise: &str, expected: &[(&str, &str)]) {
    for (reason, note) in expected {
        kratix_event_until(client, "default", promise, "PromiseController", reason, note).await;
    }
}

pub fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
}

/// Waits until the request's status satisfies `done`, returning it.
pub async fn status_until(
    requests: &Api<DynamicObject>,
    name: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    wait_for(what, TIMEOUT, || async {
        let stored = requests.get(name).await.map_err(|e| e.to_string())?;
        let status = stored.data.get("status").cloned().unwrap_or_default();
        if done(&status) {
            Ok(status)
        } else {
            Err(status.to_string())
        }
    })
    .await
}

pub fn busybox(platform: &Platform) -> String {
    platform.image(&ImageSpec {
        reference: "testenv-busybox:v1".into(),
        user: Some(65534),
        ..Default::default()
    })
}

/// What every agent test starts from: the Kratix CRDs and the agent installed,
/// a fresh namespace, a suffix for unique names, and the busybox image.
pub struct Setup {
    pub client: kube::Client,
    pub namespace: String,
    pub suffix: String,
    pub image: String,
}

pub async fn setup(platform: &Platform, prefix: &str) -> Setup {
    let client = platform.client().await;
    install_kratix_crds(&client).await;
    install_agent(platform, &client).await;
    let namespace = platform.namespace(&client, prefix).await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    Setup {
        client,
        namespace,
        suffix,
        image: busybox(platform),
    }
}

impl Setup {
    /// For a `pipelineNamespace` test: the shared pipeline namespace
    /// `pipes-<suffix>` and a second request namespace `<namespace>-b`, both made.
    pub async fn pipeline_and_second_namespace(&self) -> (String, String) {
        let pipelines = format!("pipes-{}", self.suffix);
        let other = format!("{}-b", self.namespace);
        for name in [&pipelines, &other] {
            crate::suites::support::ensure_namespace(&self.client, name)
                .await
                .unwrap_or_else(|e| panic!("namespace {name}: {e}"));
        }
        (pipelines, other)
    }
}

pub fn pipeline(name: &str, image: &str, script: &str) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}]}
    })
}

/// Deletes `name` and waits until it is gone (its finalizers all run),
/// naming the finalizers still on it when time is up.
pub async fn delete_and_wait_gone(api: &Api<DynamicObject>, name: &str, what: &str) {
    api.delete(name, &kube::api::DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("deleting {name}: {e}"));
    wait_gone(api, name, what).await;
}

/// Waits until `name` is gone, naming the finalizers still on it when time is up.
pub async fn wait_gone(api: &Api<DynamicObject>, name: &str, what: &str) {
    use kube::ResourceExt as _;
    crate::suites::support::wait_for(what, TIMEOUT, || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            Ok(Some(object)) => Err(format!("still there with finalizers {:?}", object.finalizers())),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
}

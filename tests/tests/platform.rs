//! The local platform itself: the genuine control plane answering kubectl as a
//! cluster does, and the project's node running what Kubernetes' Job and
//! Deployment controllers create, with podman: init containers, volumes,
//! identity from inside pods, `runAsNonRoot`, termination, logs.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kratix_tests::fixtures::images::ImageSpec;
use kratix_tests::suites::support::wait_for;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

fn busybox() -> String {
    kratix_tests::platform!().image(&ImageSpec {
        reference: "testenv-busybox:v1".into(),
        user: Some(65534),
        ..Default::default()
    })
}

fn kubectl_image() -> String {
    kratix_tests::platform!().image(&ImageSpec {
        reference: "testenv-kubectl:v1".into(),
        binaries: vec![kratix_tests::suites::support::kubectl_binary()],
        user: Some(65534),
        ..Default::default()
    })
}

fn kubectl(args: &[&str]) -> (bool, String, String) {
    let output = kratix_tests::platform!()
        .kubectl()
        .args(args)
        .output()
        .expect("kubectl runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn create_job(client: &kube::Client, namespace: &str, job: Value) -> Api<Job> {
    let api: Api<Job> = Api::namespaced(client.clone(), namespace);
    let job: Job = serde_json::from_value(job).expect("job");
    api.create(&PostParams::default(), &job)
        .await
        .expect("job created");
    api
}

/// Waits for a Job condition (`Complete`, `Failed`, `Suspended`) and returns the Job.
async fn job_condition(api: &Api<Job>, name: &str, condition: &str) -> Job {
    kratix_tests::suites::support::job_condition(api, name, condition, TIMEOUT).await
}

async fn job_pods(client: &kube::Client, namespace: &str, job: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .expect("pods")
        .items
}

#[test]
fn kubectl_lists_applies_and_watches() {
    let (ok, namespaces, _) = kubectl(&["get", "ns", "-o", "name"]);
    assert!(ok && namespaces.contains("namespace/default"), "{namespaces}");
    let (ok, resources, err) = kubectl(&["api-resources"]);
    assert!(ok, "{err}");
    for expected in [
        "pods",
        "configmaps",
        "serviceaccounts",
        "jobs",
        "deployments",
        "roles",
        "leases",
        "selfsubjectaccessreviews",
    ] {
        assert!(
            resources.lines().any(|l| l.starts_with(expected)),
            "{expected} missing from:\n{resources}"
        );
    }
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let group = format!("g{suffix}.example.org");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: gadgets.{group}}}\nspec:\n  group: {group}\n  names: {{kind: Gadget, plural: gadgets}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let crd_file = dir.path().join("crd.yaml");
    std::fs::write(&crd_file, crd).expect("write");
    let (ok, _, err) = kubectl(&["apply", "-f", crd_file.to_str().expect("path")]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/gadgets.{group}"),
        "--timeout=30s",
    ]);
    assert!(ok, "{err}");
    let instance = dir.path().join("gadget.yaml");
    std::fs::write(&instance, format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: g1, namespace: default}}\nspec: {{size: 3}}\n")).expect("write");
    // Discovery can lag a moment behind Established.
    let applied = (0..50).any(|_| {
        let (ok, _, _) = kubectl(&["apply", "-f", instance.to_str().expect("path")]);
        if !ok {
            std::thread::sleep(Duration::from_millis(200));
        }
        ok
    });
    assert!(applied, "the Gadget instance could not be applied");
    let (ok, size, err) = kubectl(&[
        "get",
        &format!("gadgets.{group}"),
        "g1",
        "-n",
        "default",
        "-o",
        "jsonpath={.spec.size}",
    ]);
    assert!(ok && size == "3", "{size} {err}");

    // kubectl get -w sees a ConfigMap created after it started.
    let watcher = kratix_tests::platform!()
        .kubectl()
        .args([
            "get",
            "configmaps",
            "-n",
            "default",
            "-w",
            "-o",
            "name",
            "--request-timeout=8s",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("watch starts");
    std::thread::sleep(Duration::from_millis(1500));
    let name = format!("watched-{suffix}");
    let (ok, _, err) = kubectl(&[
        "create",
        "configmap",
        &name,
        "-n",
        "default",
        "--from-literal=a=b",
        "--dry-run=client",
        "-o",
        "yaml",
    ]);
    assert!(ok, "{err}");
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(&manifest, format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\ndata: {{a: b}}\n")).expect("write");
    let (ok, _, err) = kubectl(&["apply", "-f", manifest.to_str().expect("path")]);
    assert!(ok, "{err}");
    let output = watcher.wait_with_output().expect("watch ends");
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(seen.contains(&format!("configmap/{name}")), "watch saw:\n{seen}");
}

#[tokio::test]
async fn a_job_runs_init_containers_in_order_then_its_main_container() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "job").await;
    let image = busybox();
    let mount = json!([{"name": "shared", "mountPath": "/shared"}]);
    let api = create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ordered"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "shared", "emptyDir": {}}],
            "initContainers": [
                {"name": "first", "image": image, "command": ["sh", "-c", "echo one > /shared/out; echo first wrote"], "volumeMounts": mount},
                {"name": "second", "image": image, "command": ["sh", "-c", "echo two >> /shared/out; echo second wrote"], "volumeMounts": mount}
            ],
            "containers": [{"name": "reader", "image": image, "command": ["sh", "-c", "cat /shared/out"], "volumeMounts": mount}]
        }}}
    })).await;
    let job = job_condition(&api, "ordered", "Complete").await;
    let status = job.status.expect("status");
    assert_eq!(
        (
            status.succeeded,
            status.failed.unwrap_or(0),
            status.active.unwrap_or(0)
        ),
        (Some(1), 0, 0)
    );
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    let pods = job_pods(&client, &namespace, "ordered").await;
    assert_eq!(pods.len(), 1);
    let pod = pods[0].metadata.name.clone().expect("pod name");
    for (container, expected) in [
        ("first", "first wrote\n"),
        ("second", "second wrote\n"),
        ("reader", "one\ntwo\n"),
    ] {
        let (ok, logs, err) = kubectl(&["logs", "-n", &namespace, &pod, "-c", container]);
        assert!(ok, "{err}");
        assert_eq!(logs, expected, "logs of {container}");
    }
    let (_, timestamped, _) = kubectl(&[
        "logs",
        "-n",
        &namespace,
        &pod,
        "-c",
        "reader",
        "--timestamps",
        "--tail=1",
    ]);
    assert!(
        timestamped.ends_with(" two\n") && timestamped.starts_with("20"),
        "{timestamped}"
    );
    let pod_status = pods[0].status.clone().expect("pod status");
    assert_eq!(pod_status.phase.as_deref(), Some("Succeeded"));
    let exit = pod_status.container_statuses.expect("statuses")[0]
        .state
        .clone()
        .and_then(|s| s.terminated)
        .map(|t| t.exit_code);
    assert_eq!(exit, Some(0));
}

#[tokio::test]
async fn a_failing_init_container_fails_the_job_after_its_backoff_limit() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "fail").await;
    let image = busybox();
    let api = create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "broken"},
        "spec": {"backoffLimit": 1, "template": {"spec": {
            "restartPolicy": "Never",
            "initContainers": [{"name": "breaks", "image": image, "command": ["sh", "-c", "echo failing; exit 3"]}],
            "containers": [{"name": "never", "image": image, "command": ["true"]}]
        }}}
    })).await;
    let job = job_condition(&api, "broken", "Failed").await;
    let status = job.status.expect("status");
    assert_eq!(status.failed, Some(2), "backoffLimit 1 allows one retry");
    let failed = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Failed")
        .expect("Failed condition");
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    for pod in job_pods(&client, &namespace, "broken").await {
        let pod_status = pod.status.expect("status");
        assert_eq!(pod_status.phase.as_deref(), Some("Failed"));
        let init = &pod_status.init_container_statuses.expect("init statuses")[0];
        assert_eq!(
            init.state.clone().and_then(|s| s.terminated).map(|t| t.exit_code),
            Some(3)
        );
        let main = &pod_status.container_statuses.expect("statuses")[0];
        assert!(
            main.state.clone().and_then(|s| s.waiting).is_some(),
            "the main container never ran"
        );
    }
}

#[tokio::test]
async fn on_failure_restarts_in_place_and_counts_restarts_against_the_limit() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "restart").await;
    let image = busybox();
    let api = create_job(
        &client,
        &namespace,
        json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "flaky"},
            "spec": {"backoffLimit": 2, "template": {"spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "main", "image": image, "command": ["sh", "-c", "exit 1"]}]
            }}}
        }),
    )
    .await;
    job_condition(&api, "flaky", "Failed").await;
    let pods = job_pods(&client, &namespace, "flaky").await;
    assert!(
        pods.len() <= 1,
        "OnFailure restarts in the same pod: {} pods",
        pods.len()
    );
}

#[tokio::test]
async fn pods_get_their_service_account_identity_and_rbac_is_enforced() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "rbac").await;
    let image = kubectl_image();
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "probe", "namespace": namespace}});
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &serde_json::from_value(sa).expect("sa"))
        .await
        .expect("sa created");
    let probe = |name: &str| {
        json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "serviceAccountName": "probe", "restartPolicy": "Never",
                "containers": [{"name": "main", "image": image, "command": ["kubectl", "get", "configmaps", "-o", "name"]}]
            }}}
        })
    };
    let api = create_job(&client, &namespace, probe("denied")).await;
    job_condition(&api, "denied", "Failed").await;
    let (_, logs, _) = kubectl(&["logs", "-n", &namespace, "job/denied"]);
    assert!(
        logs.contains(&format!("configmaps is forbidden: User \"system:serviceaccount:{namespace}:probe\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{namespace}\"")),
        "{logs}"
    );
    let (_, answer, _) = kubectl(&[
        "auth",
        "can-i",
        "list",
        "configmaps",
        "-n",
        &namespace,
        "--as",
        &format!("system:serviceaccount:{namespace}:probe"),
    ]);
    assert_eq!(answer.trim(), "no");

    let rbac = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: reader, namespace: {namespace}}}\nrules: [{{apiGroups: [\"\"], resources: [configmaps], verbs: [list]}}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: reader, namespace: {namespace}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}\nsubjects: [{{kind: ServiceAccount, name: probe, namespace: {namespace}}}]\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rbac.yaml");
    std::fs::write(&file, rbac).expect("write");
    let (ok, _, err) = kubectl(&["apply", "-f", file.to_str().expect("path")]);
    assert!(ok, "{err}");
    wait_for("the grant to show in can-i", TIMEOUT, || async {
        let (_, answer, _) = kubectl(&[
            "auth",
            "can-i",
            "list",
            "configmaps",
            "-n",
            &namespace,
            "--as",
            &format!("system:serviceaccount:{namespace}:probe"),
        ]);
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(answer)
        }
    })
    .await;
    let api = create_job(&client, &namespace, probe("allowed")).await;
    job_condition(&api, "allowed", "Complete").await;
    let as_probe = kratix_tests::platform!().client_as(&namespace, "probe").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(as_probe, &namespace);
    let error = secrets
        .list(&ListParams::default())
        .await
        .expect_err("secrets are not granted");
    assert!(error.to_string().contains("forbidden"), "{error}");
}

#[tokio::test]
async fn env_and_volumes_resolve_from_the_api() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "env").await;
    let image = busybox();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {namespace}}}\ndata: {{color: blue, shape: round}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: {namespace}}}\nstringData: {{password: hunter2}}\n"
    )).expect("write");
    let (ok, _, err) = kubectl(&["apply", "-f", file.to_str().expect("path")]);
    assert!(ok, "{err}");
    let api = create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "env", "annotations": {"a": "b"}},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": {"note": "hello"}}, "spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "settings", "configMap": {"name": "settings", "items": [{"key": "color", "path": "c.txt"}]}}],
            "containers": [{
                "name": "main", "image": image,
                "command": ["sh", "-c", "echo $PASSWORD $COLOR $NOTE $POD_NAMESPACE $(COLOR); cat /settings/c.txt"],
                "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
                "env": [
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
                    {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
                ],
                "volumeMounts": [{"name": "settings", "mountPath": "/settings"}]
            }]
        }}}
    })).await;
    job_condition(&api, "env", "Complete").await;
    let (_, logs, err) = kubectl(&["logs", "-n", &namespace, "job/env"]);
    assert_eq!(
        logs,
        format!("hunter2 blue hello {namespace} blue\nblue\n"),
        "{err}"
    );
}

#[tokio::test]
async fn run_as_non_root_refuses_an_image_that_runs_as_root() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "nonroot").await;
    let root_image = kratix_tests::platform!().image(&ImageSpec {
        reference: "testenv-busybox-root:v1".into(),
        ..Default::default()
    });
    create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "root"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": root_image, "command": ["true"], "securityContext": {"runAsNonRoot": true}}]
        }}}
    })).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let waiting = wait_for("the kubelet to refuse the container", TIMEOUT, || async {
        let list = pods
            .list(&ListParams::default().labels("job-name=root"))
            .await
            .map_err(|e| e.to_string())?;
        let waiting = list
            .items
            .first()
            .and_then(|p| p.status.clone())
            .and_then(|s| s.container_statuses)
            .and_then(|c| c.first().and_then(|c| c.state.clone()))
            .and_then(|s| s.waiting);
        match waiting {
            Some(w) if w.reason.as_deref() == Some("CreateContainerConfigError") => Ok(w),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        waiting
            .message
            .unwrap_or_default()
            .starts_with("container has runAsNonRoot and image will run as root")
    );
}

#[tokio::test]
async fn suspending_a_job_stops_its_pod() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "suspend").await;
    let image = busybox();
    let api = create_job(
        &client,
        &namespace,
        json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "long"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "main", "image": image, "command": ["sleep", "300"]}]}}}
        }),
    )
    .await;
    wait_for("the pod to run", TIMEOUT, || async {
        let pods = job_pods(&client, &namespace, "long").await;
        let phase = pods.first().and_then(|p| p.status.clone()).and_then(|s| s.phase);
        if phase.as_deref() == Some("Running") {
            Ok(())
        } else {
            Err(format!("{phase:?}"))
        }
    })
    .await;
    api.patch(
        "long",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("suspended");
    job_condition(&api, "long", "Suspended").await;
    wait_for("the pod to go", TIMEOUT, || async {
        let pods = job_pods(&client, &namespace, "long").await;
        if pods.is_empty() {
            Ok(())
        } else {
            Err(format!("{} pods", pods.len()))
        }
    })
    .await;
    let job = api.get("long").await.expect("job");
    assert_eq!(job.status.and_then(|s| s.active).unwrap_or(0), 0);
}

#[tokio::test]
async fn a_deployment_pod_runs_and_is_replaced_when_it_dies() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "deploy").await;
    let image = busybox();
    let api: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "agent"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "300"]}]}}}
    }))
    .expect("deployment");
    api.create(&PostParams::default(), &deployment)
        .await
        .expect("created");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let running = |exclude: Option<String>| {
        let pods = pods.clone();
        async move {
            let list = pods
                .list(&ListParams::default().labels("app=agent"))
                .await
                .map_err(|e| e.to_string())?;
            list.items
                .into_iter()
                .find(|p| {
                    p.metadata.name != exclude
                        && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                })
                .and_then(|p| p.metadata.name)
                .ok_or_else(|| "no running pod".to_owned())
        }
    };
    let first = wait_for("the first pod", TIMEOUT, || running(None)).await;
    wait_for("the deployment to be available", TIMEOUT, || async {
        let d = api.get("agent").await.map_err(|e| e.to_string())?;
        let ready = d.status.as_ref().and_then(|s| s.ready_replicas);
        if ready == Some(1) {
            Ok(())
        } else {
            Err(format!("{:?}", d.status))
        }
    })
    .await;
    pods.delete(&first, &DeleteParams::default())
        .await
        .expect("pod deleted");
    let second = wait_for("a replacement pod", TIMEOUT, || running(Some(first.clone()))).await;
    assert_ne!(first, second);
    api.delete("agent", &DeleteParams::default())
        .await
        .expect("deployment deleted");
    wait_for("the deployment's pods to go", TIMEOUT, || async {
        let list = pods
            .list(&ListParams::default().labels("app=agent"))
            .await
            .map_err(|e| e.to_string())?;
        if list.items.is_empty() {
            Ok(())
        } else {
            Err(format!("{} pods", list.items.len()))
        }
    })
    .await;
}

#[tokio::test]
async fn kube_discovery_sees_the_core_group_and_built_in_groups() {
    let client = kratix_tests::platform!().client().await;
    let discovery = kube::Discovery::new(client).run().await.expect("discovery runs");
    let find = |group: &str, kind: &str| {
        discovery
            .groups()
            .filter(|g| g.name() == group)
            .flat_map(|g| g.recommended_resources())
            .any(|(resource, _)| resource.kind == kind)
    };
    for (group, kind) in [
        ("", "Pod"),
        ("", "ConfigMap"),
        ("batch", "Job"),
        ("apps", "Deployment"),
        ("rbac.authorization.k8s.io", "Role"),
        ("coordination.k8s.io", "Lease"),
    ] {
        assert!(find(group, kind), "discovery misses {kind} in group {group:?}");
    }
}

/// What the platform promises a newcomer: a real release, a Ready node the
/// scheduler binds to, and kubectl's everyday commands behaving as on any
/// cluster, the garbage collector and namespace lifecycle included.
#[test]
fn kubectl_sees_a_genuine_cluster() {
    let (ok, version, err) = kubectl(&["version", "-o", "json"]);
    assert!(ok, "{err}");
    let version: Value = serde_json::from_str(&version).expect("version json");
    assert_eq!(
        version["serverVersion"]["gitVersion"],
        kratix_tests::platform::paths::KUBERNETES_VERSION
    );
    assert_eq!(
        version["clientVersion"]["gitVersion"],
        kratix_tests::platform::paths::KUBERNETES_VERSION
    );
    let (ok, ready, err) = kubectl(&[
        "get",
        "node",
        kratix_tests::platform::certs::NODE_NAME,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert!(ok && ready == "True", "{ready} {err}");

    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let namespace = format!("genuine-{suffix}");
    let (ok, _, err) = kubectl(&["create", "namespace", &namespace]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&["create", "serviceaccount", "robot", "-n", &namespace]);
    assert!(ok, "{err}");
    // A service account may do nothing until granted.
    let subject = format!("--as=system:serviceaccount:{namespace}:robot");
    let (_, answer, _) = kubectl(&["auth", "can-i", "list", "pods", "-n", &namespace, &subject]);
    assert_eq!(answer.trim(), "no");
    let (ok, _, err) = kubectl(&[
        "create",
        "role",
        "pod-reader",
        "--verb=list",
        "--resource=pods",
        "-n",
        &namespace,
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&[
        "create",
        "rolebinding",
        "robot-reads",
        "--role=pod-reader",
        &format!("--serviceaccount={namespace}:robot"),
        "-n",
        &namespace,
    ]);
    assert!(ok, "{err}");
    let (_, answer, _) = kubectl(&["auth", "can-i", "list", "pods", "-n", &namespace, &subject]);
    assert_eq!(answer.trim(), "yes");

    // kubectl create job, run by the Job controller to Complete, its logs by Job name.
    let image = busybox();
    let (ok, _, err) = kubectl(&[
        "create",
        "job",
        "hello",
        "-n",
        &namespace,
        &format!("--image={image}"),
        "--",
        "sh",
        "-c",
        "echo hello from the node",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&[
        "wait",
        "--for=condition=Complete",
        "job/hello",
        "-n",
        &namespace,
        "--timeout=60s",
    ]);
    assert!(ok, "{err}");
    let (ok, logs, err) = kubectl(&["logs", "job/hello", "-n", &namespace]);
    assert!(ok && logs == "hello from the node\n", "{logs} {err}");
    let (ok, node, err) = kubectl(&[
        "get",
        "pods",
        "-n",
        &namespace,
        "-l",
        "job-name=hello",
        "-o",
        "jsonpath={.items[0].spec.nodeName}",
    ]);
    assert!(
        ok && node == kratix_tests::platform::certs::NODE_NAME,
        "{node} {err}"
    );

    // Strategic merge patch, which only built-in kinds take.
    let (ok, _, err) = kubectl(&[
        "patch",
        "serviceaccount",
        "robot",
        "-n",
        &namespace,
        "--type",
        "strategic",
        "-p",
        r#"{"metadata":{"labels":{"patched":"yes"}}}"#,
    ]);
    assert!(ok, "{err}");

    // The garbage collector deletes what an owner owned.
    let (ok, _, err) = kubectl(&["create", "configmap", "owner", "-n", &namespace]);
    assert!(ok, "{err}");
    let (ok, uid, err) = kubectl(&[
        "get",
        "configmap",
        "owner",
        "-n",
        &namespace,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    assert!(ok, "{err}");
    let dependent = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"dependent\",\"namespace\":\"{namespace}\",\"ownerReferences\":[{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"{uid}\"}}]}}}}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dependent.json");
    std::fs::write(&file, dependent).expect("write");
    let (ok, _, err) = kubectl(&["create", "-f", file.to_str().expect("path")]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&["delete", "configmap", "owner", "-n", &namespace]);
    assert!(ok, "{err}");
    let collected = (0..150).any(|_| {
        let (found, _, _) = kubectl(&["get", "configmap", "dependent", "-n", &namespace]);
        if found {
            std::thread::sleep(Duration::from_millis(200));
        }
        !found
    });
    assert!(collected, "the garbage collector did not delete the dependent");

    // Namespace lifecycle admission: nothing is created in a namespace that does not exist.
    let (ok, _, err) = kubectl(&[
        "create",
        "configmap",
        "orphan",
        "-n",
        &format!("missing-{suffix}"),
    ]);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
    assert!(ok, "{err}");
}

#[tokio::test]
async fn logs_follow_a_running_container_to_its_end() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "follow").await;
    let image = busybox();
    create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ticker"},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.4; done"]}]}}}
    })).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let pod = wait_for("the ticker to start", TIMEOUT, || async {
        let list = pods
            .list(&ListParams::default().labels("job-name=ticker"))
            .await
            .map_err(|e| e.to_string())?;
        let pod = list.items.into_iter().next().ok_or("no pod yet")?;
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if running {
            Ok(pod.metadata.name.unwrap_or_default())
        } else {
            Err(format!("{:?}", pod.status.and_then(|s| s.phase)))
        }
    })
    .await;
    let (ok, followed, err) = kubectl(&["logs", "-f", "-n", &namespace, &pod]);
    assert!(ok, "{err}");
    assert_eq!(followed, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
    let (_, tail, _) = kubectl(&["logs", "-n", &namespace, &pod, "--tail=2"]);
    assert_eq!(tail, "tick 4\ntick 5\n");
}

#[tokio::test]
async fn the_pipeline_tools_image_runs_the_scripts_others_promises_ship() {
    let client = kratix_tests::platform!().client().await;
    let namespace = kratix_tests::platform!().namespace(&client, "tools").await;
    let mut spec = ImageSpec {
        reference: "testenv-pipeline-tools:v1".into(),
        user: Some(65534),
        ..Default::default()
    };
    kratix_tests::fixtures::tools::add_pipeline_tools(&mut spec).unwrap_or_else(|e| panic!("{e}"));
    let image = kratix_tests::platform!().image(&spec);
    // As Kratix's test Promises write them: a bash script through env, yq v4
    // expressions, jq, kubectl. (`sed -n 1p`, not `head -n1`: head exits after
    // one line and, under pipefail, kubectl's SIGPIPE on its second line failed
    // the script now and then.)
    let script = r#"#!/usr/bin/env bash
set -euo pipefail
printf 'spec:\n  size: large\n  replicas: 3\n' > /tmp/object.yaml
size=$(yq '.spec.size' /tmp/object.yaml)
yq -i '.spec.replicas += 1' /tmp/object.yaml
replicas=$(yq -o=json '.spec' /tmp/object.yaml | jq -r '.replicas')
echo "size=$size replicas=$replicas"
yq --version
kubectl version --client | sed -n 1p
"#;
    let api = create_job(&client, &namespace, json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "tools"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "command": ["/usr/bin/env", "bash", "-c", script]}]
        }}}
    })).await;
    job_condition(&api, "tools", "Complete").await;
    let pod = job_pods(&client, &namespace, "tools").await[0]
        .metadata
        .name
        .clone()
        .expect("pod name");
    let (ok, logs, err) = kubectl(&["logs", "-n", &namespace, &pod]);
    assert!(ok, "{err}");
    assert!(logs.contains("size=large replicas=4"), "{logs}");
    assert!(
        logs.contains("mikefarah") && logs.contains(kratix_tests::fixtures::tools::YQ_VERSION),
        "{logs}"
    );
    assert!(logs.contains("Client Version: v1."), "{logs}");
}

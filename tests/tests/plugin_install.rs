//! `kubectl kratix install` and `uninstall` on the local platform, run through
//! kubectl (which finds the plugin on PATH): the agent installed from its
//! manifests until its pod runs, the dry run printing what would be applied,
//! kubectl's connection flags honoured, and a user without rights told so.

use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kratix_tests::suites::support::adapter_image;
use kube::api::{Api, DynamicObject, ListParams};

fn kubectl_kratix(args: &[&str]) -> Output {
    kratix_tests::platform!()
        .kubectl_kratix()
        .args(args)
        .output()
        .expect("kubectl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn install_ends_with_the_agent_running_and_uninstall_removes_it() {
    let image = adapter_image();
    let client = kratix_tests::platform!().client().await;

    let dry = kubectl_kratix(&["install", "--dry-run=client", "--image", &image]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let printed = text(&dry.stdout);
    assert!(
        printed.contains("kind: Deployment") && printed.contains(&format!("image: {image}")),
        "{printed}"
    );

    // A user the platform grants nothing is told so, naming what it tried.
    let denied = kubectl_kratix(&[
        "install",
        "--image",
        &image,
        "--as",
        "system:serviceaccount:default:nobody",
    ]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        text(&denied.stderr).contains("permission denied"),
        "{}",
        text(&denied.stderr)
    );

    let install = kubectl_kratix(&[
        "install",
        "--image",
        &image,
        "--metrics-port",
        "0",
        "--wait",
        "--timeout",
        "3m",
    ]);
    assert!(
        install.status.success(),
        "{}{}",
        text(&install.stdout),
        text(&install.stderr)
    );
    let out = text(&install.stdout);
    assert!(out.contains("deployment kratix-agent applied"), "{out}");
    assert!(
        out.trim_end()
            .ends_with("kratix-agent is available in kratix-platform-system"),
        "{out}"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kratix-platform-system");
    let running = pods
        .list(&ListParams::default().labels("app.kubernetes.io/name=kratix-agent"))
        .await
        .expect("pods")
        .items
        .into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count();
    assert!(running >= 1, "the agent's pod runs");

    let plan = kubectl_kratix(&["uninstall", "--dry-run=client"]);
    assert!(plan.status.success());
    assert!(
        text(&plan.stdout).starts_with("deployment kratix-agent would be deleted\n"),
        "{}",
        text(&plan.stdout)
    );
    assert!(
        !text(&plan.stdout).contains("customresourcedefinition"),
        "CRDs stay without --crds"
    );

    // A Work in the agent's namespace, held by a finalizer as the agent's hold
    // them: deleting the namespace without the agent would never finish.
    let works: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "kratix-platform-system",
        &kube::api::ApiResource::erase::<kratix_shared::api::Work>(&()),
    );
    let held_name = format!("held-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let held: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Work",
        "metadata": {"name": held_name, "namespace": "kratix-platform-system",
            "finalizers": [kratix_tests::suites::agent::HOLD]},
        "spec": {"promiseName": "nobody", "workloadGroups": []}
    }))
    .expect("work");
    works
        .create(&kube::api::PostParams::default(), &held)
        .await
        .expect("work created");
    let refused = kubectl_kratix(&["uninstall", "--crds"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("delete the Promises first"),
        "{}",
        text(&refused.stderr)
    );

    let kubeconfig = kratix_tests::platform!().kubeconfig.display().to_string();
    let uninstall = kubectl_kratix(&[
        "uninstall",
        "--kubeconfig",
        &kubeconfig,
        "--request-timeout",
        "30s",
    ]);
    assert!(uninstall.status.success(), "{}", text(&uninstall.stderr));
    assert!(
        text(&uninstall.stderr).contains("namespace kratix-platform-system kept"),
        "{}",
        text(&uninstall.stderr)
    );
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let system = namespaces
        .get("kratix-platform-system")
        .await
        .expect("namespace kept");
    assert!(system.metadata.deletion_timestamp.is_none(), "not being deleted");
    works
        .patch(
            &held_name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("released");
    works
        .delete(&held_name, &kube::api::DeleteParams::default())
        .await
        .expect("work deleted");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kratix-platform-system");
    assert!(deployments.get_opt("kratix-agent").await.expect("read").is_none());
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    assert!(
        crds.get_opt("promises.platform.kratix.io")
            .await
            .expect("read")
            .is_some(),
        "CRDs kept"
    );

    // Without the agent nothing runs, and the workflow commands say so.
    let suffix = format!("noagent{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let lonely_name = format!("cache-{suffix}");
    let (lonely, _) = kratix_tests::suites::agent::cache_promise(
        &suffix,
        serde_json::json!({"workflows": {"promise": {"configure": [
            kratix_tests::suites::agent::pipeline("setup", "busybox", "true")
        ]}}}),
    );
    let promises = kratix_tests::suites::agent::promises(&client);
    promises
        .create(&kube::api::PostParams::default(), &lonely)
        .await
        .expect("promise created");
    let status = kubectl_kratix(&["workflows", "status", &lonely_name]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).contains("NotStarted"),
        "{}",
        text(&status.stdout)
    );
    assert!(
        text(&status.stderr).contains("no Kratix agent runs in kratix-platform-system"),
        "{}",
        text(&status.stderr)
    );
    let waited = kubectl_kratix(&["workflows", "trigger", &lonely_name, "--wait", "--timeout", "3s"]);
    assert_eq!(waited.status.code(), Some(1));
    assert!(
        text(&waited.stderr).contains("no Kratix agent runs") && text(&waited.stderr).contains("timed out"),
        "{}",
        text(&waited.stderr)
    );
    promises
        .delete(&lonely_name, &kube::api::DeleteParams::default())
        .await
        .expect("promise deleted");

    let nowhere = kubectl_kratix(&["install", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(
        text(&nowhere.stderr).contains("/nonexistent/kubeconfig"),
        "{}",
        text(&nowhere.stderr)
    );
}

//! `kratix_config_test.go`: the `kratix` ConfigMap's defaults (a container
//! security context, a Job backoff limit) apply where a Promise sets none, and
//! a Promise's own settings win. Kratix's suite applies `kratix-config.yaml`
//! and restarts its controller before every test, since Kratix reads the
//! ConfigMap only at start; the agent reads it as it changes, so the test
//! applies it and the agent is not restarted. The ConfigMap is removed at the
//! end: later suites on the same platform start without it.

use std::time::Duration;

use crate::harness::{asset, assets, eventually, kubectl, kubectl_ok, start};

/// Kratix's suite waits up to two minutes for each step of this group.
const STEP: Duration = Duration::from_secs(120);

/// The selector Kratix's test reads pipeline `index`'s pod and Job by.
fn selector(index: usize) -> String {
    format!(
        "kratix.io/promise-name=configtest,kratix.io/resource-name=example-config,kratix.io/pipeline-name=resource-pipeline{index}"
    )
}

/// `kubectl get <kind> --selector <selector> -o=yaml` once it lists one.
async fn yaml_of(kind: &str, selector: &str) -> String {
    eventually(&format!("the {kind} of {selector}"), STEP, || {
        let (ok, text) = kubectl(&["get", kind, "-n", "default", "--selector", selector, "-o=yaml"]);
        if ok && !text.contains("items: []") {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

async fn completed(selector: &str) {
    eventually(&format!("the pod of {selector} to complete"), STEP, || {
        let (_, text) = kubectl(&["get", "pods", "-n", "default", "--selector", selector]);
        if text.contains("Completed") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
}

/// "When Security Context is set" "uses configurations from kratix config as default but allows overrides".
#[tokio::test]
async fn kratix_config_defaults_apply_where_the_promise_sets_none() {
    let Some(config) = assets("").map(|dir| asset(&dir, "kratix-config.yaml")) else {
        return;
    };
    let Some(group) = start("kratix-config").await else {
        return;
    };
    let dir = group.dir.clone();
    // The suite's setup.
    kubectl_ok(&["apply", "-f", &config]);
    // BeforeEach.
    let promise = asset(&dir, "promise.yaml");
    kubectl_ok(&["apply", "-f", &promise]);
    eventually("the Promise to be Available", STEP, || {
        let (_, text) = kubectl(&["get", "promise", "configtest"]);
        if text.contains("Available") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    kubectl_ok(&["apply", "-f", &asset(&dir, "resource-request.yaml")]);
    // The first pipeline: the Promise's security context and backoff limit.
    let first = selector(0);
    completed(&first).await;
    let pod = yaml_of("pods", &first).await;
    assert!(pod.contains("setInPromise"), "{pod}");
    assert!(!pod.contains("setInKratixConfig"), "{pod}");
    let job = yaml_of("jobs", &first).await;
    assert!(job.contains("backoffLimit: 3"), "{job}");
    assert!(!job.contains("backoffLimit: 6"), "{job}");
    // The second pipeline: the config's defaults.
    let second = selector(1);
    completed(&second).await;
    let pod = yaml_of("pods", &second).await;
    assert!(pod.contains("setInKratixConfig"), "{pod}");
    assert!(!pod.contains("setInPromise"), "{pod}");
    let job = yaml_of("jobs", &second).await;
    assert!(job.contains("backoffLimit: 4"), "{job}");
    assert!(!job.contains("backoffLimit: 6"), "{job}");

    // AfterEach, then the ConfigMap goes.
    kubectl_ok(&[
        "delete",
        "configtest",
        "example-config",
        "-n",
        "default",
        "--timeout=120s",
    ]);
    kubectl_ok(&["delete", "promise", "configtest", "--timeout=120s"]);
    kubectl_ok(&["delete", "-f", &config, "--ignore-not-found"]);
}

//! `reconciliation_test.go`: `kratix.io/paused` on a Promise and on a request.
//! Kratix's worker check (a ConfigMap Flux synced to the worker cluster) reads
//! the worker Destination's files in the state store instead.

use std::time::Duration;

use kratix_tests::suites::state_store::files_until;

use crate::harness::{
    WORKER, asset, consistently, eventually, kubectl, kubectl_ok, platform, shows, start, worker_destination,
};

/// Kratix's suite waits up to four minutes for each step of this group.
const STEP: Duration = Duration::from_secs(240);

/// Kratix's pod count: the resource pipelines' pods of `pausedtest` in `default`.
fn resource_pods() -> String {
    let (_, text) = kubectl(&[
        "get",
        "pods",
        "-n",
        "default",
        "-l",
        "kratix.io/promise-name=pausedtest,kratix.io/workflow-type=resource",
        "-o",
        "go-template={{printf \"%d\\n\" (len  .items)}}",
    ]);
    text
}

fn configure_completed_at() -> String {
    let (_, text) = kubectl(&[
        "get",
        "promises",
        "pausedtest",
        "-o=jsonpath={.status.conditions[?(@.type==\"ConfigureWorkflowCompleted\")].lastTransitionTime}",
    ]);
    text
}

/// Kratix's `EventuallyKubectlDelete`: gone, its finalizers run.
fn delete(args: &[&str]) {
    let mut all = vec!["delete"];
    all.extend_from_slice(args);
    all.extend(["--ignore-not-found", "--timeout=240s"]);
    kubectl_ok(&all);
}

/// "When a Promise is paused" "pauses reconciliation and resumes after label has been removed".
#[tokio::test]
async fn reconciliation_a_paused_promise() {
    let Some(group) = start("reconciliation").await else {
        return;
    };
    let (client, dir) = (group.client.clone(), group.dir.clone());
    let _worker = WORKER.lock().await;
    let namespace = platform().namespace(&client, "kratix-system").await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    let (worker, _git, _repo) = worker_destination(&client, &namespace, &suffix).await;

    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-promise.yaml")]);
    shows(&["promise", "pausedtest"], "Available", STEP).await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-promise-rr-one.yaml")]);

    let completed_at = configure_completed_at();
    shows(&["pausedtest", "one", "-n", "default"], "Reconciled", STEP).await;
    let pods_before = resource_pods();

    // Accepting create and update requests while paused.
    kubectl_ok(&["label", "promise", "pausedtest", "kratix.io/paused=true"]);
    eventually("the Promise to say PausedReconciliation", STEP, || {
        let (_, text) = kubectl(&["describe", "promises", "pausedtest"]);
        if text.contains("PausedReconciliation") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-promise-rr-one-updated.yaml")]);
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-promise-rr-two.yaml")]);
    shows(&["pausedtest", "two", "-n", "default"], "Paused", STEP).await;
    shows(&["pausedtest", "one", "-n", "default"], "Paused", STEP).await;

    // Not running any workflow while paused.
    consistently("no pipeline pod while paused", Duration::from_secs(70), || {
        let now = resource_pods();
        if now == pods_before {
            Ok(())
        } else {
            Err(format!("{now} pods, {pods_before} before the pause"))
        }
    })
    .await;

    // Running the Promise's workflows again once unpaused.
    kubectl_ok(&["label", "promise", "pausedtest", "kratix.io/paused-"]);
    eventually("the Promise workflow to run again", STEP, || {
        let now = configure_completed_at();
        if now != completed_at { Ok(()) } else { Err(now) }
    })
    .await;

    // Resuming the requests' reconciliation once unpaused.
    eventually("the requests' pipelines to run", Duration::from_secs(90), || {
        let now = resource_pods();
        if now.contains('3') { Ok(()) } else { Err(now) }
    })
    .await;
    shows(&["pausedtest", "one", "-n", "default"], "Reconciled", STEP).await;
    shows(&["pausedtest", "two", "-n", "default"], "Reconciled", STEP).await;

    // AfterEach.
    kubectl(&["label", "promise", "pausedtest", "kratix.io/paused-"]);
    delete(&["pausedtest", "one", "-n", "default"]);
    delete(&["pausedtest", "two", "-n", "default"]);
    delete(&["promise", "pausedtest"]);
    kubectl_ok(&["delete", "destination", &worker]);
}

/// "When a Resource Request is paused" "does not do reconciliation for paused resource request".
#[tokio::test]
async fn reconciliation_a_paused_request() {
    let Some(group) = start("reconciliation").await else {
        return;
    };
    let (client, dir) = (group.client.clone(), group.dir.clone());
    let _worker = WORKER.lock().await;
    let namespace = platform().namespace(&client, "kratix-system").await;
    let suffix = namespace[namespace.len() - 6..].to_owned();
    let (worker, git, repo) = worker_destination(&client, &namespace, &suffix).await;

    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-request-promise.yaml")]);
    shows(&["promise", "pausedtest-rr"], "Available", STEP).await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-request-promise-rr.yaml")]);

    kubectl_ok(&[
        "label",
        "pausedtestrr",
        "one",
        "-n",
        "default",
        "kratix.io/paused=true",
    ]);
    kubectl_ok(&[
        "apply",
        "-f",
        &asset(&dir, "pause-request-promise-rr-update.yaml"),
    ]);
    kubectl_ok(&["apply", "-f", &asset(&dir, "pause-request-promise-update.yaml")]);
    consistently("the request stays paused", Duration::from_secs(10), || {
        let (_, text) = kubectl(&["get", "pausedtestrr", "one", "-n", "default"]);
        if text.contains("Paused") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    kubectl_ok(&[
        "label",
        "pausedtestrr",
        "one",
        "-n",
        "default",
        "kratix.io/paused-",
    ]);
    shows(&["pausedtestrr", "one", "-n", "default"], "Reconciled", STEP).await;

    // The worker check: the ConfigMap the updated request and Promise make,
    // `one-after` in `pausedtestrr` with `key1: config1`, is in the worker's files.
    files_until(
        &git,
        &repo,
        "ConfigMap one-after with key1 in the worker's files",
        |files| {
            files.values().any(|content| {
                content.contains("name: one-after")
                    && content.contains("namespace: pausedtestrr")
                    && content.contains("key1: config1")
            })
        },
    )
    .await;

    // AfterEach.
    kubectl(&[
        "label",
        "pausedtestrr",
        "one",
        "-n",
        "default",
        "kratix.io/paused-",
    ]);
    delete(&["pausedtestrr", "one", "-n", "default"]);
    delete(&["promise", "pausedtest-rr"]);
    kubectl_ok(&["delete", "destination", &worker]);
}

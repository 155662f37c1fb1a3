//! `compound_promise_test.go`: a Promise requiring another at a version is
//! Available only while that one is installed (and stays so after the required
//! Promise is upgraded: the version it was installed at still counts), its
//! requests wait meanwhile, and deleting it leaves the required Promise alone.
//! Kratix marks the group `Serial`: each test runs alone.

use std::time::Duration;

use crate::harness::{asset, consistently, eventually, kubectl, kubectl_ok, shows, start_alone};

/// Kratix's suite waits up to two minutes for each step of this group.
const STEP: Duration = Duration::from_secs(120);

/// Kratix's AfterEach: both Promises gone, finalizers run.
fn delete_promises() {
    for promise in ["compound-promise", "sub-promise"] {
        kubectl_ok(&[
            "delete",
            "promise",
            promise,
            "--ignore-not-found",
            "--timeout=120s",
        ]);
    }
}

/// "When installing a compound promise with `requiredPromises`" "correctly sets the Compound Promise availability".
#[tokio::test]
async fn compound_promise_availability_follows_its_requirement() {
    let Some(group) = start_alone("compound-promise").await else {
        return;
    };
    let dir = group.dir.clone();
    delete_promises();
    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise.yaml")]);

    shows(&["promise", "compound-promise"], "Unavailable", STEP).await;
    kubectl_ok(&["apply", "-f", &asset(&dir, "resource-request.yaml")]);
    shows(
        &["compound", "example-compound-rr", "-n", "default"],
        "Pending",
        STEP,
    )
    .await;

    kubectl_ok(&["apply", "-f", &asset(&dir, "sub-promise.yaml")]);
    shows(&["promise"], "sub-promise", STEP).await;
    shows(&["promise", "compound-promise"], "Available", STEP).await;
    shows(
        &["compound", "example-compound-rr", "-n", "default"],
        "Resource requested",
        STEP,
    )
    .await;

    // Upgrading the required Promise: it was installed at the required version.
    kubectl_ok(&["apply", "-f", &asset(&dir, "sub-promise-v2.yaml")]);
    shows(&["promise", "sub-promise"], "v2.0.0", STEP).await;
    consistently(
        "the compound Promise stays Available",
        Duration::from_secs(30),
        || {
            let (_, text) = kubectl(&["get", "promise", "compound-promise"]);
            if text.contains("Available") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
    let fulfilled = kubectl_ok(&[
        "get",
        "promise",
        "compound-promise",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"RequirementsFulfilled\")].status}",
    ]);
    assert_eq!(fulfilled, "True");

    kubectl_ok(&["delete", "promise", "sub-promise", "--timeout=120s"]);
    shows(&["promise", "compound-promise"], "Unavailable", STEP).await;

    // AfterEach (the request goes with its Promise's API).
    delete_promises();
}

/// "When the compound promise is deleted" "does not delete the sub-promises".
#[tokio::test]
async fn compound_promise_deletion_leaves_the_required_promise() {
    let Some(group) = start_alone("compound-promise").await else {
        return;
    };
    let dir = group.dir.clone();
    delete_promises();
    // BeforeEach.
    kubectl_ok(&["apply", "-f", &asset(&dir, "promise.yaml")]);

    kubectl_ok(&["apply", "-f", &asset(&dir, "sub-promise.yaml")]);
    kubectl_ok(&["delete", "promise", "compound-promise", "--timeout=120s"]);
    eventually("only the sub-promise to be left", STEP, || {
        let (_, text) = kubectl(&["get", "promises"]);
        if text.contains("sub-promise") && !text.contains("compound-promise") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    // AfterEach.
    delete_promises();
}

//! Scheduling Works onto Destinations against the local platform:
//! a request's workload groups become WorkPlacements on the Destinations their
//! selectors match, a Destination that stops matching leaves its placement marked
//! misplaced, a group with nowhere to go is reported and placed once a Destination
//! appears, and deleting the request takes the placements with its Works. Their
//! Destinations name a store that does not exist, so each placement says so and
//! the Work says `Failing` (writing to real stores is `agent_state_store`'s).

use std::collections::BTreeMap;

use kratix_shared::api::destination::Destination;
use kratix_shared::api::work::{Work, WorkPlacement};
use kratix_tests::suites::agent::{Setup, TIMEOUT, install_promise, pipeline, request, status_until};
use kratix_tests::suites::state_store::destination;
use kratix_tests::suites::support::wait_for;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

async fn setup(prefix: &str) -> Setup {
    kratix_tests::suites::agent::setup(kratix_tests::platform!(), prefix).await
}

/// A pipeline writing `app.yaml` (default group, to `env=<dev>`) and `db/db.yaml`
/// (to `env=<prod>`).
fn two_groups(image: &str, dev: &str, prod: &str) -> Value {
    let script = format!(
        "mkdir -p /kratix/output/db; echo 'kind: App' > /kratix/output/app.yaml; echo 'kind: Db' > /kratix/output/db/db.yaml; \
         printf -- '- matchLabels:\\n    env: {dev}\\n- directory: db\\n  matchLabels:\\n    env: {prod}\\n' > /kratix/metadata/destination-selectors.yaml"
    );
    pipeline("place", image, &script)
}

/// The workload group a Work's `ScheduleSucceeded` says has no Destination.
fn unplaced_group(status: &Value) -> String {
    let message = condition(status, "ScheduleSucceeded")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default();
    message
        .rsplit_once('[')
        .map(|(_, rest)| rest.trim_end_matches(']').to_owned())
        .unwrap_or_default()
}

/// The Events of one namespace.
struct Events<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
}

impl Events<'_> {
    async fn expect(&self, regarding: &str, controller: &str, reason: &str, note: &str) {
        kratix_tests::suites::agent::kratix_event_until(
            self.client,
            self.namespace,
            regarding,
            controller,
            reason,
            note,
        )
        .await;
    }
}

fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    kratix_tests::suites::agent::condition(status, type_)
}

async fn work_of(client: &kube::Client, namespace: &str, request: &str) -> Work {
    let works: Api<Work> = Api::namespaced(client.clone(), namespace);
    let selector = ListParams::default().labels(&format!("kratix.io/resource-name={request}"));
    wait_for("the request's Work", TIMEOUT, || async {
        works
            .list(&selector)
            .await
            .map_err(|e| e.to_string())?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| "no Work yet".to_owned())
    })
    .await
}

async fn placements_of(client: &kube::Client, namespace: &str, work: &str) -> Vec<WorkPlacement> {
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), namespace);
    placements
        .list(&ListParams::default().labels(&format!("kratix.io/work={work}")))
        .await
        .expect("placements")
        .items
}

/// A WorkPlacement condition's status and reason, once it is there.
async fn placement_condition(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    type_: &str,
) -> Option<(String, String)> {
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), namespace);
    wait_for(&format!("{type_} on WorkPlacement {name}"), TIMEOUT, || async {
        let placement = placements.get(name).await.map_err(|e| e.to_string())?;
        placement
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
            .map(|c| Some((c.status.clone(), c.reason.clone())))
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
}

/// Waits until the Work's status satisfies `done`.
async fn work_status_until(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let works: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::erase::<Work>(&()),
    );
    status_until(&works, name, what, done).await
}

#[tokio::test]
async fn groups_go_to_the_destinations_they_select_and_stay_there_misplaced_when_labels_change() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("placing").await;
    let (dev, prod) = (format!("dev-{suffix}"), format!("prod-{suffix}"));
    // On the platform's default store; strict, so other suites' Works never land here.
    destination(&client, &dev, "default", &[("env", &dev)]).await;
    destination(&client, &prod, "default", &[("env", &prod)]).await;
    let (_, resource) = install_promise(&client, &suffix, vec![two_groups(&image, &dev, &prod)]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;

    let work = work_of(&client, &namespace, "orders").await;
    let work_name = work.name_any();
    // The store does not exist, so the writes fail at once, and as in Kratix a
    // failed write outranks the scheduler's verdict: wait for the placements.
    let status = work_status_until(&client, &namespace, &work_name, "the Work to be scheduled", |s| {
        s["workPlacementsCreated"] == 2
    })
    .await;
    assert_eq!(status["workPlacements"], 2, "{status}");
    assert_eq!(status["workPlacementsCreated"], 2, "{status}");
    assert_eq!(
        status["workPlacementsWritten"], 0,
        "the store does not exist, so nothing is written: {status}"
    );

    let placed: BTreeMap<String, WorkPlacement> = placements_of(&client, &namespace, &work_name)
        .await
        .into_iter()
        .map(|p| (p.spec.target_destination_name.clone(), p))
        .collect();
    assert_eq!(
        placed.keys().cloned().collect::<Vec<_>>(),
        [dev.clone(), prod.clone()]
    );
    let on_dev = &placed[&dev];
    let dev_name = on_dev.name_any();
    let placements: Api<WorkPlacement> = Api::namespaced(client.clone(), &namespace);
    let unwritten = wait_for("the placement to say why it is not written", TIMEOUT, || async {
        let placement = placements.get(&dev_name).await.map_err(|e| e.to_string())?;
        placement
            .status
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "WriteSucceeded"))
            .ok_or_else(|| "no WriteSucceeded yet".to_owned())
    })
    .await;
    assert_eq!(unwritten.status, "False");
    assert!(
        unwritten.message.contains("GitStateStore default does not exist"),
        "{}",
        unwritten.message
    );
    let events = Events {
        client: &client,
        namespace: &namespace,
    };
    events
        .expect(
            &dev_name,
            "WorkPlacementController",
            "FailedWriteToDestination",
            &format!(
                "error writing to destination; check kubectl get destination for more info: {}",
                unwritten.message
            ),
        )
        .await;
    work_status_until(&client, &namespace, &work_name, "the Work to say Failing", |s| {
        condition(s, "Ready").is_some_and(|c| c["message"] == "Failing")
    })
    .await;
    let default_group = work
        .spec
        .workload_groups
        .iter()
        .find(|g| g.directory == ".")
        .expect("default group");
    assert_eq!(on_dev.spec.id, default_group.id);
    assert_eq!(
        on_dev.name_any(),
        format!("{work_name}.{dev}-{}", &default_group.id[..5])
    );
    assert_eq!(on_dev.spec.workloads, default_group.workloads);
    assert_eq!(on_dev.spec.resource_name, "orders");
    assert_eq!(on_dev.labels().get("kratix.io/targetDestinationName"), Some(&dev));
    assert_eq!(
        on_dev.labels().get("kratix.io/pipeline-name").map(String::as_str),
        Some("place")
    );
    assert_eq!(
        placed[&prod]
            .spec
            .workloads
            .iter()
            .map(|w| w.filepath.as_str())
            .collect::<Vec<_>>(),
        ["db/db.yaml"]
    );

    // The dev Destination stops matching: the placement stays, marked misplaced.
    let destinations: Api<Destination> = Api::all(client.clone());
    destinations
        .patch(
            &dev,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"env": "elsewhere"}}})),
        )
        .await
        .expect("relabelled");
    let dev_placement = format!("{work_name}.{dev}-{}", &default_group.id[..5]);
    wait_for("the placement to be misplaced", TIMEOUT, || async {
        match placement_condition(&client, &namespace, &dev_placement, "ScheduleSucceeded").await {
            Some((status, reason)) if reason == "DestinationSelectorMismatch" => Ok(status),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    events
        .expect(
            &dev_placement,
            "Scheduler",
            "DestinationSelectorMismatch",
            &format!(
                "labels for destination: {dev} no longer match the expected labels, marking this workplacement as misplaced"
            ),
        )
        .await;
    // A failing write outranks a misplaced placement in the Work's conditions, as
    // Kratix's Work controller overrides its scheduler's; the placement itself
    // says Misplaced.
    let status = work_status_until(&client, &namespace, &work_name, "the Work to say Failing", |s| {
        condition(s, "Ready").is_some_and(|c| c["message"] == "Failing")
    })
    .await;
    assert_eq!(
        condition(&status, "ScheduleSucceeded").map(|c| c["reason"].clone()),
        Some(json!("WorkplacementsFailing"))
    );
    let placements = placements_of(&client, &namespace, &work_name).await;
    let misplaced: Vec<&str> = placements
        .iter()
        .filter(|p| p.labels().get("kratix.io/misplaced").map(String::as_str) == Some("true"))
        .map(|p| p.spec.target_destination_name.as_str())
        .collect();
    assert_eq!(misplaced, [dev.as_str()]);
    assert_eq!(
        placement_condition(&client, &namespace, &dev_placement, "ScheduleSucceeded").await,
        Some(("False".to_owned(), "DestinationSelectorMismatch".to_owned()))
    );
    assert_eq!(
        placement_condition(&client, &namespace, &dev_placement, "Ready").await,
        Some(("False".to_owned(), "Misplaced".to_owned()))
    );

    // Deleting the request deletes its Works, and with them their placements.
    requests
        .delete("orders", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_for("the placements to go", TIMEOUT, || async {
        let left = placements_of(&client, &namespace, &work_name).await;
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left", left.len()))
        }
    })
    .await;
    for name in [&dev, &prod] {
        destinations
            .delete(name, &DeleteParams::default())
            .await
            .expect("cleanup");
    }
}

#[tokio::test]
async fn a_group_with_nowhere_to_go_is_reported_and_placed_when_a_destination_appears() {
    let Setup {
        client,
        namespace,
        suffix,
        image,
    } = setup("unplaced").await;
    // A store that works: a failing write would outrank the unscheduled group in
    // the Work's conditions, as in Kratix.
    let (_git, _repo, store) =
        kratix_tests::suites::state_store::http_git_store(&client, &namespace, &suffix).await;
    let (dev, prod) = (format!("dev-{suffix}"), format!("prod-{suffix}"));
    destination(&client, &dev, &store, &[("env", &dev)]).await;
    let (promise_name, resource) =
        install_promise(&client, &suffix, vec![two_groups(&image, &dev, &prod)]).await;
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    request(&requests, &resource, &namespace, "orders", json!({})).await;
    let work_name = work_of(&client, &namespace, "orders").await.name_any();
    let status = work_status_until(
        &client,
        &namespace,
        &work_name,
        "the group to be unscheduled",
        |s| condition(s, "ScheduleSucceeded").is_some_and(|c| c["reason"] == "UnscheduledWorkloads"),
    )
    .await;
    assert_eq!(
        condition(&status, "Ready").map(|c| c["message"].clone()),
        Some(json!("Pending"))
    );
    assert_eq!(status["workPlacementsCreated"], 1, "{status}");
    // Kratix's Events, word for word, from the controller that reports each.
    let group = unplaced_group(&status);
    let events = Events {
        client: &client,
        namespace: &namespace,
    };
    events
        .expect(
            &work_name,
            "Scheduler",
            "NoMatchingDestination",
            &format!("waiting for a destination with labels for workloadGroup: {group}"),
        )
        .await;
    events
        .expect(
            &work_name,
            "WorkController",
            "WaitingDestination",
            &format!("waiting for destination for workload group: [{group}]"),
        )
        .await;

    destination(&client, &prod, &store, &[("env", &prod)]).await;
    let placed = work_status_until(
        &client,
        &namespace,
        &work_name,
        "the group to be placed and written",
        |s| {
            condition(s, "ScheduleSucceeded").is_some_and(|c| c["status"] == "True")
                && s["workPlacementsCreated"] == 2
                && s["workPlacementsWritten"] == 2
        },
    )
    .await;
    assert_eq!(
        condition(&placed, "Ready").map(|c| (c["reason"].clone(), c["message"].clone())),
        Some((json!("AllWorkplacementsScheduled"), json!("Ready")))
    );
    events
        .expect(
            &work_name,
            "Scheduler",
            "AllWorkplacementsScheduled",
            "All workplacements scheduled successfully",
        )
        .await;
    let on_prod = placements_of(&client, &namespace, &work_name)
        .await
        .into_iter()
        .find(|p| p.spec.target_destination_name == prod)
        .expect("the prod placement");
    events
        .expect(
            &work_name,
            "Scheduler",
            "WorkplacementReconciled",
            &format!(
                "workplacement reconciled: {}, operation: created",
                on_prod.name_any()
            ),
        )
        .await;
    let version = on_prod
        .status
        .as_ref()
        .and_then(|s| s.version_id.clone())
        .expect("a commit for the written placement");
    events
        .expect(
            &on_prod.name_any(),
            "WorkPlacementController",
            "WorkloadsWrittenToStateStore",
            &format!("successfully written to Destination: {prod} with versionID: {version}"),
        )
        .await;
    for (reason, note) in [
        ("PipelineStarted", "Configure Pipeline started: place"),
        (
            "WorksSucceeded",
            "All works associated with this resource are ready",
        ),
        ("ReconcileSucceeded", "Successfully reconciled"),
    ] {
        events.expect("orders", "PromiseController", reason, note).await;
    }
    let cluster_scoped = Events {
        client: &client,
        namespace: "default",
    };
    cluster_scoped
        .expect(
            &promise_name,
            "PromiseController",
            "Available",
            "Promise is available",
        )
        .await;
    let destinations: Api<Destination> = Api::all(client.clone());
    for name in [&dev, &prod] {
        destinations
            .delete(name, &DeleteParams::default())
            .await
            .expect("cleanup");
    }
}

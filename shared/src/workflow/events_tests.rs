//! Unit tests of the Events Kratix emits: for each status change and action,
//! the reason, type, reporter and note, word for word.

use serde_json::{Map, Value, json};

use super::*;

fn status(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn conditions(list: &[(&str, &str, &str, &str)]) -> Map<String, Value> {
    let list: Vec<Value> = list
        .iter()
        .map(|(t, s, r, m)| json!({"type": t, "status": s, "reason": r, "message": m}))
        .collect();
    status(json!({ "conditions": list }))
}

fn said(events: &[KratixEvent]) -> Vec<(Reporter, Severity, &str, &str)> {
    events
        .iter()
        .map(|e| (e.reporter, e.severity, e.reason, e.note.as_str()))
        .collect()
}

const PROMISE: Subject<'static> = Subject::Promise;
const REQUEST: Subject<'static> = Subject::Resource { paused_itself: false };

#[test]
fn a_request_reconciled_with_its_works_ready_says_both_once() {
    let before = conditions(&[
        ("Reconciled", "Unknown", "WorksPending", "Pending"),
        (
            "WorksSucceeded",
            "Unknown",
            "WorksPending",
            "Some works associated with this resource are not ready: [w]",
        ),
    ]);
    let after = conditions(&[
        ("Reconciled", "True", "Reconciled", "Reconciled"),
        (
            "WorksSucceeded",
            "True",
            "WorksSucceeded",
            "All works associated with this resource are ready",
        ),
    ]);
    assert_eq!(
        said(&on_status_change(REQUEST, &before, &after)),
        [
            (
                Reporter::PromiseController,
                Severity::Normal,
                "ReconcileSucceeded",
                "Successfully reconciled"
            ),
            (
                Reporter::PromiseController,
                Severity::Normal,
                "WorksSucceeded",
                "All works associated with this resource are ready"
            ),
        ]
    );
    assert!(
        on_status_change(REQUEST, &after, &after).is_empty(),
        "a write that changes nothing says nothing"
    );
}

#[test]
fn failing_and_misplaced_works_are_listed_comma_joined_as_kratix_words_them() {
    let before = Map::new();
    let failing = conditions(&[(
        "WorksSucceeded",
        "False",
        "WorksFailing",
        "Some works associated with this promise are not ready: [a b]",
    )]);
    assert_eq!(
        said(&on_status_change(PROMISE, &before, &failing)),
        [(
            Reporter::PromiseController,
            Severity::Warning,
            "WorksFailing",
            "Some works associated with this promise has failed: [a,b]"
        )]
    );
    let failing = conditions(&[(
        "WorksSucceeded",
        "False",
        "WorksFailing",
        "Some works associated with this resource failed: [a,b]",
    )]);
    assert_eq!(
        on_status_change(REQUEST, &before, &failing)[0].note,
        "Some works associated with this resource failed: [a,b]"
    );
    let misplaced = conditions(&[(
        "WorksSucceeded",
        "False",
        "WorksMisplaced",
        "Some works associated with this promise are misplaced: [m]",
    )]);
    assert_eq!(
        said(&on_status_change(PROMISE, &failing, &misplaced)),
        [(
            Reporter::PromiseController,
            Severity::Warning,
            "WorksMisplaced",
            "Some works associated with this promise are misplaced: [m]"
        )]
    );
    let pending = conditions(&[("WorksSucceeded", "Unknown", "WorksPending", "… [p]")]);
    assert!(
        on_status_change(PROMISE, &before, &pending).is_empty(),
        "pending Works are not an Event"
    );
}

#[test]
fn a_pause_is_worded_by_who_paused() {
    let paused = conditions(&[("Reconciled", "Unknown", "PausedReconciliation", "Paused")]);
    let note = |subject| on_status_change(subject, &Map::new(), &paused)[0].note.clone();
    assert_eq!(
        note(PROMISE),
        "'kratix.io/paused' label set to 'true' for promise; pausing reconciliation"
    );
    assert_eq!(
        note(Subject::Resource { paused_itself: true }),
        "'kratix.io/paused' label set to 'true' for this resource request; pausing reconciliation"
    );
    assert_eq!(
        note(REQUEST),
        "'kratix.io/paused' label set to 'true' for promise; pausing reconciliation for this resource request"
    );
    assert_eq!(
        on_status_change(PROMISE, &Map::new(), &paused)[0].reason,
        "PausedReconciliation"
    );
}

#[test]
fn a_suspended_workflow_is_a_warning() {
    let suspended = conditions(&[("Reconciled", "Unknown", "WorkflowSuspended", "Suspended")]);
    assert_eq!(
        said(&on_status_change(REQUEST, &Map::new(), &suspended)),
        [(
            Reporter::PromiseController,
            Severity::Warning,
            "WorkflowSuspended",
            "'kratix.io/workflow-suspended' label set to 'true' for resource request; skipping reconciliation"
        )]
    );
}

#[test]
fn a_promise_says_its_workflow_completed_each_time_a_run_succeeds() {
    let recorded = |time: &str| {
        status(json!({"kratix": {"workflows": {"configure": {"lastSuccessfulConfigureWorkflowTime": time}}}}))
    };
    let first = recorded("2026-12-03T10:00:00Z");
    let second = recorded("2026-12-03T11:00:00Z");
    let completed = |before: &Map<String, Value>, after: &Map<String, Value>| {
        on_status_change(PROMISE, before, after)
            .iter()
            .filter(|e| e.reason == "ConfigureWorkflowCompleted" && e.note == "All workflows completed")
            .count()
    };
    assert_eq!(completed(&Map::new(), &first), 1);
    assert_eq!(completed(&first, &second), 1);
    assert_eq!(completed(&second, &second), 0);
    let top_level = status(json!({"lastSuccessfulConfigureWorkflowTime": "2026-12-03T10:00:00Z"}));
    assert_eq!(
        completed(&Map::new(), &top_level),
        1,
        "an older layout's field counts too"
    );
    assert_eq!(
        on_status_change(REQUEST, &Map::new(), &first).len(),
        0,
        "Kratix says it of Promises only"
    );
}

#[test]
fn requirements_say_which_is_missing_then_that_all_are_met() {
    let waiting = status(json!({
        "requiredPromises": [
            {"name": "db", "version": "v1", "state": requirements::NOT_INSTALLED},
            {"name": "cache", "version": "v2", "state": requirements::NOT_AT_VERSION},
            {"name": "queue", "state": requirements::NOT_AVAILABLE},
            {"name": "ok", "state": requirements::INSTALLED},
        ],
        "conditions": [{"type": "RequirementsFulfilled", "status": "False", "reason": "RequirementsNotInstalled", "message": "Requirements not fulfilled"}],
    }));
    assert_eq!(
        said(&on_status_change(PROMISE, &Map::new(), &waiting)),
        [
            (
                Reporter::PromiseController,
                Severity::Normal,
                "RequirementsNotInstalled",
                "Required Promise db not installed or unknown state"
            ),
            (
                Reporter::PromiseController,
                Severity::Normal,
                "RequirementsNotInstalled",
                "Waiting for required Promise cache: Requirement not installed at the specified version "
            ),
            (
                Reporter::PromiseController,
                Severity::Normal,
                "RequirementsNotAvailable",
                "Waiting for required Promise queue: Requirement not available "
            ),
        ]
    );
    assert!(on_status_change(PROMISE, &waiting, &waiting).is_empty());
    let met = status(json!({
        "requiredPromises": [{"name": "db", "version": "v1", "state": requirements::INSTALLED}],
        "conditions": [{"type": "RequirementsFulfilled", "status": "True", "reason": "RequirementsInstalled", "message": "Requirements fulfilled"}],
    }));
    assert_eq!(
        said(&on_status_change(PROMISE, &waiting, &met)),
        [(
            Reporter::PromiseController,
            Severity::Normal,
            "RequirementsFulfilled",
            "All required promises are available"
        )]
    );
}

#[test]
fn availability_is_announced_and_its_loss_to_requirements_warned() {
    let available = conditions(&[(
        "Available",
        "True",
        "PromiseAvailable",
        "Ready to fulfil resource requests",
    )]);
    assert_eq!(
        said(&on_status_change(PROMISE, &Map::new(), &available)),
        [(
            Reporter::PromiseController,
            Severity::Normal,
            "Available",
            "Promise is available"
        )]
    );
    let lost = conditions(&[
        (
            "Available",
            "False",
            "PromiseUnavailable",
            "Cannot fulfil resource requests",
        ),
        (
            "RequirementsFulfilled",
            "False",
            "RequirementsNotInstalled",
            "Requirements not fulfilled",
        ),
    ]);
    assert!(said(&on_status_change(PROMISE, &available, &lost)).contains(&(
        Reporter::PromiseController,
        Severity::Warning,
        "Unavailable",
        "Promise no longer available: Requirements have changed"
    )));
    let paused = conditions(&[("Available", "False", "PausedReconciliation", "Paused")]);
    assert!(
        !on_status_change(PROMISE, &available, &paused)
            .iter()
            .any(|e| e.reason == "Unavailable"),
        "Kratix warns only when requirements changed"
    );
}

#[test]
fn a_work_says_where_it_stands_in_the_schedulers_and_work_controllers_words() {
    let unscheduled = conditions(&[(
        "ScheduleSucceeded",
        "False",
        "UnscheduledWorkloads",
        "No matching destination found for workloadGroups: [g1,g2]",
    )]);
    assert_eq!(
        said(&on_status_change(
            Subject::Work { of_request: true },
            &Map::new(),
            &unscheduled
        )),
        [
            (
                Reporter::Scheduler,
                Severity::Normal,
                "NoMatchingDestination",
                "waiting for a destination with labels for workloadGroup: g1"
            ),
            (
                Reporter::Scheduler,
                Severity::Normal,
                "NoMatchingDestination",
                "waiting for a destination with labels for workloadGroup: g2"
            ),
            (
                Reporter::WorkController,
                Severity::Normal,
                "WaitingDestination",
                "waiting for destination for workload group: [g1,g2]"
            ),
        ]
    );
    assert_eq!(
        on_status_change(Subject::Work { of_request: false }, &Map::new(), &unscheduled).len(),
        2,
        "a Promise's Work does not wait"
    );
    let scheduled = conditions(&[(
        "ScheduleSucceeded",
        "True",
        "AllWorkplacementsScheduled",
        "All workplacements scheduled successfully",
    )]);
    assert_eq!(
        said(&on_status_change(
            Subject::Work { of_request: true },
            &unscheduled,
            &scheduled
        )),
        [(
            Reporter::Scheduler,
            Severity::Normal,
            "AllWorkplacementsScheduled",
            "All workplacements scheduled successfully"
        )]
    );
    let misplaced = conditions(&[(
        "ScheduleSucceeded",
        "False",
        "DestinationSelectorMismatch",
        "Target destination no longer matches destinationSelectors for workloadGroups: [g1]",
    )]);
    assert_eq!(
        on_status_change(Subject::Work { of_request: true }, &scheduled, &misplaced)[0].note,
        "Target destination no longer matches destinationSelectors for workloadGroups: [g1] "
    );
    let failing = conditions(&[(
        "ScheduleSucceeded",
        "False",
        "WorkplacementsFailing",
        "Workplacements failed to write: [w.p1,w.p2]",
    )]);
    assert_eq!(
        said(&on_status_change(
            Subject::Work { of_request: true },
            &scheduled,
            &failing
        )),
        [(
            Reporter::WorkController,
            Severity::Warning,
            "WorkplacementsFailing",
            "Workplacements failed to write: [w.p1,w.p2]"
        )]
    );
}

#[test]
fn a_misplaced_placement_names_its_destination() {
    let misplaced = conditions(&[(
        "ScheduleSucceeded",
        "False",
        "DestinationSelectorMismatch",
        "Target destination no longer matches destinationSelectors",
    )]);
    assert_eq!(
        said(&on_status_change(
            Subject::WorkPlacement { destination: "dev" },
            &Map::new(),
            &misplaced
        )),
        [(
            Reporter::Scheduler,
            Severity::Warning,
            "DestinationSelectorMismatch",
            "labels for destination: dev no longer match the expected labels, marking this workplacement as misplaced"
        )]
    );
}

#[test]
fn write_events_carry_the_version_when_the_store_gives_one() {
    assert_eq!(
        written("dev", Some("abc123")).note,
        "successfully written to Destination: dev with versionID: abc123"
    );
    assert_eq!(
        written("dev", None).note,
        "successfully written to Destination: dev"
    );
    assert_eq!(
        written("dev", Some("")).note,
        "successfully written to Destination: dev"
    );
    let failed = write_failed("push refused");
    assert_eq!(
        (failed.severity, failed.reason, failed.note.as_str()),
        (
            Severity::Warning,
            "FailedWriteToDestination",
            "error writing to destination; check kubectl get destination for more info: push refused"
        )
    );
}

#[test]
fn pipeline_events_use_kratixs_words() {
    assert_eq!(
        pipeline_started("Configure", "make").note,
        "Configure Pipeline started: make"
    );
    assert_eq!(
        configure_failed("resource", "make").note,
        "A resource/configure Pipeline has failed: make"
    );
    let failed = delete_failed();
    assert_eq!(
        (failed.reason, failed.note.as_str()),
        ("Failed Pipeline", "The Delete Pipeline has failed")
    );
}

#[test]
fn reporters_are_named_as_kratixs_controllers() {
    let names: Vec<&str> = Reporter::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        [
            "PromiseController",
            "Scheduler",
            "WorkController",
            "WorkPlacementController",
            "DestinationController",
            "GitStateStoreController",
            "BucketStateStoreController"
        ]
    );
    assert_eq!(
        Reporter::for_store("BucketStateStore"),
        Reporter::BucketStateStoreController
    );
    assert_eq!(
        Reporter::for_store("GitStateStore"),
        Reporter::GitStateStoreController
    );
}

#[test]
fn listed_names_survive_either_separator_and_an_empty_list() {
    assert_eq!(listed("x: [a b]"), ["a", "b"]);
    assert_eq!(listed("x: [a,b] "), ["a", "b"]);
    assert!(listed("x: []").is_empty());
    assert!(listed("no list").is_empty());
}

#[test]
fn a_note_too_long_for_the_api_is_cut_not_lost() {
    assert_eq!(bounded_note("short"), "short");
    let exact = "x".repeat(NOTE_LIMIT);
    assert_eq!(bounded_note(&exact), exact);
    let long = "é".repeat(NOTE_LIMIT);
    let cut = bounded_note(&long);
    assert!(cut.len() <= NOTE_LIMIT, "{}", cut.len());
    assert!(cut.ends_with("..."));
    assert!(cut.starts_with("éé"));
}

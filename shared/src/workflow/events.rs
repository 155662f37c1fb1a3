//! The Kubernetes Events Kratix emits, derived from how an object's status
//! changes. Automation and people read these strings (`kubectl describe`,
//! `kubectl events --for`), so reasons, types, messages and the reporting
//! controller are Kratix's verbatim; action equals reason, as there.
//!
//! Kratix repeats most of them at every reconcile while a state lasts; here each
//! is emitted when its state begins (a status write that changes nothing says
//! nothing), so a quiet object leaves a quiet event list.

use serde_json::{Map, Value};

use crate::api::conditions::{reasons, status as state, types};
use crate::workflow::requirements;

/// The controller that reports an Event (`reportingController`), one per
/// Kratix controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reporter {
    /// Promises and the requests of every Promise.
    PromiseController,
    /// A Work's placement decisions.
    Scheduler,
    /// A Work's write failures and waits.
    WorkController,
    WorkPlacementController,
    DestinationController,
    GitStateStoreController,
    BucketStateStoreController,
}

impl Reporter {
    pub const ALL: [Reporter; 7] = [
        Reporter::PromiseController,
        Reporter::Scheduler,
        Reporter::WorkController,
        Reporter::WorkPlacementController,
        Reporter::DestinationController,
        Reporter::GitStateStoreController,
        Reporter::BucketStateStoreController,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reporter::PromiseController => "PromiseController",
            Reporter::Scheduler => "Scheduler",
            Reporter::WorkController => "WorkController",
            Reporter::WorkPlacementController => "WorkPlacementController",
            Reporter::DestinationController => "DestinationController",
            Reporter::GitStateStoreController => "GitStateStoreController",
            Reporter::BucketStateStoreController => "BucketStateStoreController",
        }
    }

    /// The controller reporting on a state store of `kind`.
    pub fn for_store(kind: &str) -> Reporter {
        if kind == "BucketStateStore" {
            Reporter::BucketStateStoreController
        } else {
            Reporter::GitStateStoreController
        }
    }
}

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Normal,
    Warning,
}

/// One Event to emit about the object in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KratixEvent {
    pub reporter: Reporter,
    pub severity: Severity,
    pub reason: &'static str,
    pub note: String,
}

impl KratixEvent {
    pub fn normal(reporter: Reporter, reason: &'static str, note: impl Into<String>) -> Self {
        KratixEvent {
            reporter,
            severity: Severity::Normal,
            reason,
            note: note.into(),
        }
    }

    pub fn warning(reporter: Reporter, reason: &'static str, note: impl Into<String>) -> Self {
        KratixEvent {
            reporter,
            severity: Severity::Warning,
            reason,
            note: note.into(),
        }
    }
}

/// The longest note the API server accepts, in bytes.
pub const NOTE_LIMIT: usize = 1024;

/// `note` cut to what the API server accepts (at a character boundary, ending
/// in "..."): a note too long would lose the whole Event. Long Work lists and
/// store errors are the usual culprits.
pub fn bounded_note(note: &str) -> String {
    if note.len() <= NOTE_LIMIT {
        return note.to_owned();
    }
    let mut end = NOTE_LIMIT - 3;
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &note[..end])
}

/// The object whose status changed, as far as its Events depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Promise,
    /// A request; `paused_itself` when the request carries `kratix.io/paused`
    /// (rather than its Promise).
    Resource {
        paused_itself: bool,
    },
    /// A Work; `of_request` when a request's workflow wrote it.
    Work {
        of_request: bool,
    },
    /// A WorkPlacement, with the Destination it targets.
    WorkPlacement {
        destination: &'a str,
    },
}

/// The Events Kratix emits as `subject`'s status goes from `before` to `after`.
pub fn on_status_change(
    subject: Subject<'_>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<KratixEvent> {
    let change = Change { before, after };
    match subject {
        Subject::Promise => {
            let mut events = change.workflow_events("promise", "promise", PROMISE_PAUSED);
            events.extend(change.promise_events());
            events
        }
        Subject::Resource { paused_itself } => {
            let paused = if paused_itself {
                REQUEST_PAUSED
            } else {
                REQUEST_PAUSED_BY_PROMISE
            };
            change.workflow_events("resource", "resource request", paused)
        }
        Subject::Work { of_request } => change.work_events(of_request),
        Subject::WorkPlacement { destination } => change.placement_events(destination),
    }
}

const PROMISE_PAUSED: &str = "'kratix.io/paused' label set to 'true' for promise; pausing reconciliation";
const REQUEST_PAUSED: &str =
    "'kratix.io/paused' label set to 'true' for this resource request; pausing reconciliation";
const REQUEST_PAUSED_BY_PROMISE: &str =
    "'kratix.io/paused' label set to 'true' for promise; pausing reconciliation for this resource request";

/// A pipeline's Job created; `action` is "Configure" or "Delete".
pub fn pipeline_started(action: &str, pipeline: &str) -> KratixEvent {
    KratixEvent::normal(
        Reporter::PromiseController,
        "PipelineStarted",
        format!("{action} Pipeline started: {pipeline}"),
    )
}

/// A running pipeline's Job stopped for a manual reconciliation (Kratix says
/// so for a delete pipeline, and stops a configure one silently).
pub fn pipeline_suspended(action: &str, pipeline: &str) -> KratixEvent {
    KratixEvent::normal(
        Reporter::PromiseController,
        "PipelineSuspended",
        format!("{action} Pipeline suspended: {pipeline}"),
    )
}

/// A configure pipeline failed; `workflow_type` is "promise" or "resource".
pub fn configure_failed(workflow_type: &str, pipeline: &str) -> KratixEvent {
    KratixEvent::warning(
        Reporter::PromiseController,
        reasons::CONFIGURE_WORKFLOW_FAILED,
        format!("A {workflow_type}/configure Pipeline has failed: {pipeline}"),
    )
}

/// Kratix's Event as the Promise has its requests reconciled again.
pub fn reconciling_resources() -> KratixEvent {
    KratixEvent::normal(
        Reporter::PromiseController,
        "ReconcilingResources",
        "Reconciling all resource requests",
    )
}

/// Kratix's Event when a delete pipeline fails (its reason has a space).
pub fn delete_failed() -> KratixEvent {
    KratixEvent::warning(
        Reporter::PromiseController,
        "Failed Pipeline",
        "The Delete Pipeline has failed",
    )
}

/// A WorkPlacement's files written: with the version the store gave them (a
/// commit), when it gave one.
pub fn written(destination: &str, version: Option<&str>) -> KratixEvent {
    let note = match version {
        Some(version) if !version.is_empty() => {
            format!("successfully written to Destination: {destination} with versionID: {version}")
        }
        _ => format!("successfully written to Destination: {destination}"),
    };
    KratixEvent::normal(
        Reporter::WorkPlacementController,
        reasons::WORKLOADS_WRITTEN_TO_STATE_STORE,
        note,
    )
}

/// A WorkPlacement's write failed.
pub fn write_failed(error: &str) -> KratixEvent {
    KratixEvent::warning(
        Reporter::WorkPlacementController,
        "FailedWriteToDestination",
        format!("error writing to destination; check kubectl get destination for more info: {error}"),
    )
}

/// A WorkPlacement's files could not be removed.
pub fn delete_files_failed(error: &str) -> KratixEvent {
    KratixEvent::warning(
        Reporter::WorkPlacementController,
        "FailedDeleteFilesFromRepository",
        format!("failed to delete files from repository: {error}"),
    )
}

/// A deleted Work's placements could not be listed or deleted; `note` says which.
pub fn failed_delete(note: &str) -> KratixEvent {
    KratixEvent::warning(Reporter::WorkController, "FailedDelete", note)
}

/// A Work's WorkPlacement made or changed (`operation`: created, updated).
pub fn placement_reconciled(placement: &str, operation: &str) -> KratixEvent {
    KratixEvent::normal(
        Reporter::Scheduler,
        "WorkplacementReconciled",
        format!("workplacement reconciled: {placement}, operation: {operation}"),
    )
}

struct Change<'a> {
    before: &'a Map<String, Value>,
    after: &'a Map<String, Value>,
}

/// A condition's status, reason and message.
#[derive(PartialEq, Eq)]
struct Seen<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn condition<'a>(status: &'a Map<String, Value>, type_: &str) -> Option<Seen<'a>> {
    let found = status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))?;
    let field = |name| found.get(name).and_then(Value::as_str).unwrap_or_default();
    Some(Seen {
        status: field("status"),
        reason: field("reason"),
        message: field("message"),
    })
}

/// The names listed in brackets at the end of a message (`[a b]` or `[a,b]`),
/// comma-joined as Kratix's Events list them. Names of Kubernetes objects and
/// workload groups hold neither spaces nor commas, so nothing is lost.
fn listed(message: &str) -> Vec<&str> {
    let Some(open) = message.rfind('[') else {
        return Vec::new();
    };
    message[open + 1..]
        .trim_end()
        .trim_end_matches(']')
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .collect()
}

impl<'a> Change<'a> {
    /// The condition `type_` as it is after the change, when it differs in
    /// status or reason from before: the start of a new state.
    fn began(&self, type_: &str) -> Option<Seen<'a>> {
        let after = condition(self.after, type_)?;
        let before = condition(self.before, type_);
        match before {
            Some(b) if b.status == after.status && b.reason == after.reason => None,
            _ => Some(after),
        }
    }

    /// Events of a Promise's or a request's workflow and Works.
    fn workflow_events(&self, workflow_type: &str, noun: &str, paused: &str) -> Vec<KratixEvent> {
        let reporter = Reporter::PromiseController;
        let mut events = Vec::new();
        if let Some(reconciled) = self.began(types::RECONCILED) {
            match (reconciled.status, reconciled.reason) {
                (state::TRUE, _) => events.push(KratixEvent::normal(
                    reporter,
                    "ReconcileSucceeded",
                    "Successfully reconciled",
                )),
                (state::UNKNOWN, reasons::PAUSED_RECONCILIATION) => {
                    events.push(KratixEvent::warning(reporter, reasons::PAUSED_RECONCILIATION, paused));
                }
                (state::UNKNOWN, reasons::WORKFLOW_SUSPENDED) => events.push(KratixEvent::warning(
                    reporter,
                    reasons::WORKFLOW_SUSPENDED,
                    format!("'kratix.io/workflow-suspended' label set to 'true' for {noun}; skipping reconciliation"),
                )),
                _ => {}
            }
        }
        if let Some(works) = self.began(types::WORKS_SUCCEEDED) {
            let (this, failed) = if workflow_type == "promise" {
                ("this promise", "has failed")
            } else {
                ("this resource", "failed")
            };
            let names = || listed(works.message).join(",");
            match (works.status, works.reason) {
                (state::TRUE, _) => events.push(KratixEvent::normal(
                    reporter,
                    reasons::WORKS_SUCCEEDED,
                    format!("All works associated with {this} are ready"),
                )),
                (state::FALSE, reasons::WORKS_FAILING) => events.push(KratixEvent::warning(
                    reporter,
                    reasons::WORKS_FAILING,
                    format!("Some works associated with {this} {failed}: [{}]", names()),
                )),
                (state::FALSE, reasons::WORKS_MISPLACED) => events.push(KratixEvent::warning(
                    reporter,
                    reasons::WORKS_MISPLACED,
                    format!("Some works associated with {this} are misplaced: [{}]", names()),
                )),
                _ => {}
            }
        }
        events
    }

    /// A Promise's own: its completed configure workflow, its requirements and
    /// its availability.
    fn promise_events(&self) -> Vec<KratixEvent> {
        let reporter = Reporter::PromiseController;
        let mut events = Vec::new();
        // Kept in the configure record (a Promise's schema has no top-level field
        // for it, so the API server drops one written there).
        let completed = |s: &Map<String, Value>| {
            s.get("kratix")
                .and_then(|k| k.pointer("/workflows/configure/lastSuccessfulConfigureWorkflowTime"))
                .or_else(|| s.get("lastSuccessfulConfigureWorkflowTime"))
                .cloned()
        };
        if completed(self.after).is_some() && completed(self.after) != completed(self.before) {
            events.push(KratixEvent::normal(
                reporter,
                "ConfigureWorkflowCompleted",
                "All workflows completed",
            ));
        }
        events.extend(self.requirement_events());
        if let Some(available) = self.began(types::AVAILABLE) {
            let was_available =
                condition(self.before, types::AVAILABLE).is_some_and(|c| c.status == state::TRUE);
            let requirements_unmet = condition(self.after, types::REQUIREMENTS_FULFILLED)
                .is_some_and(|c| c.status == state::FALSE);
            if available.status == state::TRUE {
                events.push(KratixEvent::normal(reporter, "Available", "Promise is available"));
            } else if was_available && requirements_unmet {
                events.push(KratixEvent::warning(
                    reporter,
                    "Unavailable",
                    "Promise no longer available: Requirements have changed",
                ));
            }
        }
        events
    }

    /// Each requirement that has just become unmet, and all of them met.
    fn requirement_events(&self) -> Vec<KratixEvent> {
        let reporter = Reporter::PromiseController;
        let states = |s: &'a Map<String, Value>| -> Vec<(&'a str, &'a str)> {
            s.get("requiredPromises")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| {
                    (
                        r.get("name").and_then(Value::as_str).unwrap_or_default(),
                        r.get("state").and_then(Value::as_str).unwrap_or_default(),
                    )
                })
                .collect()
        };
        let before = states(self.before);
        let after = states(self.after);
        let mut events = Vec::new();
        for &(name, state) in &after {
            if state == requirements::INSTALLED || before.contains(&(name, state)) {
                continue;
            }
            events.push(match state {
                requirements::NOT_INSTALLED => KratixEvent::normal(
                    reporter,
                    reasons::REQUIREMENTS_NOT_INSTALLED,
                    format!("Required Promise {name} not installed or unknown state"),
                ),
                requirements::NOT_AVAILABLE => KratixEvent::normal(
                    reporter,
                    reasons::REQUIREMENTS_NOT_AVAILABLE,
                    format!("Waiting for required Promise {name}: {state} "),
                ),
                _ => KratixEvent::normal(
                    reporter,
                    reasons::REQUIREMENTS_NOT_INSTALLED,
                    format!("Waiting for required Promise {name}: {state} "),
                ),
            });
        }
        let fulfilled = self.began(types::REQUIREMENTS_FULFILLED);
        if fulfilled.is_some_and(|c| c.status == state::TRUE) && !after.is_empty() {
            events.push(KratixEvent::normal(
                reporter,
                "RequirementsFulfilled",
                "All required promises are available",
            ));
        }
        events
    }

    /// A Work's: placed everywhere, a group waiting for a Destination, a
    /// Destination no longer matching, placements failing to write.
    fn work_events(&self, of_request: bool) -> Vec<KratixEvent> {
        let Some(scheduled) = self.began(types::SCHEDULE_SUCCEEDED) else {
            return Vec::new();
        };
        let groups = listed(scheduled.message);
        match (scheduled.status, scheduled.reason) {
            (state::TRUE, reasons::ALL_WORKPLACEMENTS_SCHEDULED) => vec![KratixEvent::normal(
                Reporter::Scheduler,
                reasons::ALL_WORKPLACEMENTS_SCHEDULED,
                "All workplacements scheduled successfully",
            )],
            (state::FALSE, reasons::UNSCHEDULED_WORKLOADS) => {
                let mut events: Vec<KratixEvent> = groups
                    .iter()
                    .map(|group| {
                        KratixEvent::normal(
                            Reporter::Scheduler,
                            "NoMatchingDestination",
                            format!("waiting for a destination with labels for workloadGroup: {group}"),
                        )
                    })
                    .collect();
                if of_request {
                    events.push(KratixEvent::normal(
                        Reporter::WorkController,
                        "WaitingDestination",
                        format!(
                            "waiting for destination for workload group: [{}]",
                            groups.join(",")
                        ),
                    ));
                }
                events
            }
            (state::FALSE, reasons::DESTINATION_SELECTOR_MISMATCH) => vec![KratixEvent::warning(
                Reporter::Scheduler,
                reasons::DESTINATION_SELECTOR_MISMATCH,
                format!(
                    "Target destination no longer matches destinationSelectors for workloadGroups: [{}] ",
                    groups.join(",")
                ),
            )],
            (state::FALSE, reasons::WORKPLACEMENTS_FAILING) => vec![KratixEvent::warning(
                Reporter::WorkController,
                reasons::WORKPLACEMENTS_FAILING,
                format!("Workplacements failed to write: [{}]", groups.join(",")),
            )],
            _ => Vec::new(),
        }
    }

    /// A WorkPlacement's: its Destination no longer matching.
    fn placement_events(&self, destination: &str) -> Vec<KratixEvent> {
        match self.began(types::SCHEDULE_SUCCEEDED) {
            Some(c) if c.status == state::FALSE && c.reason == reasons::DESTINATION_SELECTOR_MISMATCH => {
                vec![KratixEvent::warning(
                    Reporter::Scheduler,
                    reasons::DESTINATION_SELECTOR_MISMATCH,
                    format!(
                        "labels for destination: {destination} no longer match the expected labels, marking this workplacement as misplaced"
                    ),
                )]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;

//! The status condition types and reasons the agent writes, by name: Kratix's
//! strings verbatim (automation written against Kratix matches them), then the
//! few we add where we know more. `docs/decisions.md` ("Conditions against
//! Kratix's") lists which object carries which.

/// Condition types.
pub mod types {
    pub const READY: &str = "Ready";
    pub const RECONCILED: &str = "Reconciled";
    /// A Promise's (and, the same word, a Deployment's).
    pub const AVAILABLE: &str = "Available";
    pub const CONFIGURE_WORKFLOW_COMPLETED: &str = "ConfigureWorkflowCompleted";
    pub const DELETE_WORKFLOW_COMPLETED: &str = "DeleteWorkflowCompleted";
    pub const WORKS_SUCCEEDED: &str = "WorksSucceeded";
    pub const REQUIREMENTS_FULFILLED: &str = "RequirementsFulfilled";
    pub const PROMISE_AVAILABLE: &str = "PromiseAvailable";
    pub const SCHEDULE_SUCCEEDED: &str = "ScheduleSucceeded";
    pub const WRITE_SUCCEEDED: &str = "WriteSucceeded";
    /// Ours: whether the API server admitted a pipeline's objects and pod.
    pub const PIPELINE_ADMITTED: &str = "PipelineAdmitted";
    /// Not Kratix's: apiextensions' own, on a CRD the API server serves.
    pub const ESTABLISHED: &str = "Established";
}

/// Condition reasons.
pub mod reasons {
    pub const PIPELINES_IN_PROGRESS: &str = "PipelinesInProgress";
    pub const PIPELINES_EXECUTED_SUCCESSFULLY: &str = "PipelinesExecutedSuccessfully";
    pub const CONFIGURE_WORKFLOW_FAILED: &str = "ConfigureWorkflowFailed";
    pub const DELETE_WORKFLOW_FAILED: &str = "DeleteWorkflowFailed";
    pub const DELETE_WORKFLOW_SUSPENDED: &str = "DeleteWorkflowSuspended";
    pub const WORKFLOW_PENDING: &str = "WorkflowPending";
    pub const WORKFLOW_SUSPENDED: &str = "WorkflowSuspended";
    pub const PAUSED_RECONCILIATION: &str = "PausedReconciliation";
    pub const UNPAUSED: &str = "Unpaused";
    pub const RECONCILED: &str = "Reconciled";
    pub const WORKS_SUCCEEDED: &str = "WorksSucceeded";
    pub const WORKS_FAILING: &str = "WorksFailing";
    pub const WORKS_PENDING: &str = "WorksPending";
    pub const WORKS_MISPLACED: &str = "WorksMisplaced";
    pub const PROMISE_AVAILABLE: &str = "PromiseAvailable";
    pub const PROMISE_UNAVAILABLE: &str = "PromiseUnavailable";
    pub const REQUIREMENTS_NOT_FULFILLED: &str = "RequirementsNotFulfilled";
    pub const PROMISE_REQUIREMENTS_NOT_INSTALLED: &str = "PromiseRequirementsNotInstalled";
    pub const FAILED_TO_SCHEDULE_WORKLOADS: &str = "FailedToScheduleWorkloads";
    pub const WORKLOADS_WRITTEN_TO_STATE_STORE: &str = "WorkloadsWrittenToStateStore";
    pub const WORKLOADS_WRITTEN_TO_TARGET_DESTINATION: &str = "WorkloadsWrittenToTargetDestination";
    pub const WORKLOADS_FAILED_WRITE: &str = "WorkloadsFailedWrite";
    pub const STATE_STORE_READY: &str = "StateStoreReady";
    /// A Work's: placements whose write failed.
    pub const WORKPLACEMENTS_FAILING: &str = "WorkplacementsFailing";
    /// A Work's: workload groups no Destination matches.
    pub const UNSCHEDULED_WORKLOADS: &str = "UnscheduledWorkloads";
    /// A Work's or a WorkPlacement's `ScheduleSucceeded`: its Destination no longer matches.
    pub const DESTINATION_SELECTOR_MISMATCH: &str = "DestinationSelectorMismatch";
    /// A misplaced Work's or WorkPlacement's `Ready`.
    pub const MISPLACED: &str = "Misplaced";
    /// A Work's: every placement scheduled.
    pub const ALL_WORKPLACEMENTS_SCHEDULED: &str = "AllWorkplacementsScheduled";
    /// A WorkPlacement's: scheduled, not yet written.
    pub const SCHEDULED_TO_DESTINATION: &str = "ScheduledToDestination";
    /// A Promise's `RequirementsFulfilled` True.
    pub const REQUIREMENTS_INSTALLED: &str = "RequirementsInstalled";
    /// A Promise's `RequirementsFulfilled` False: a required Promise is not Available.
    pub const REQUIREMENTS_NOT_AVAILABLE: &str = "RequirementsNotAvailable";
    /// A Promise's `RequirementsFulfilled` False: a required Promise is missing or at another version.
    pub const REQUIREMENTS_NOT_INSTALLED: &str = "RequirementsNotInstalled";
    /// A Destination's `Ready`: its canary files written.
    pub const TEST_DOCUMENTS_WRITTEN: &str = "TestDocumentsWritten";
    /// A Destination's `Ready`: ready, without canary files.
    pub const DESTINATION_READY: &str = "DestinationReady";
    /// A Destination's `Ready`: something of the Destination stops it.
    pub const DESTINATION_NOT_READY: &str = "DestinationNotReady";
    /// A Destination's `Ready`: its store does not exist.
    pub const STATE_STORE_NOT_FOUND: &str = "StateStoreNotFound";
    /// A Destination's `Ready`: its store is not ready.
    pub const STATE_STORE_NOT_READY: &str = "StateStoreNotReady";
    /// A Destination's `Ready`: its canary files could not be written or removed.
    pub const STATE_STORE_WRITE_FAILED: &str = "StateStoreWriteFailed";
    /// A state store's `Ready`: its credentials' Secret is missing.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// A state store's `Ready`: its credentials' Secret cannot be read.
    pub const STATE_STORE_ERROR: &str = "StateStoreError";
    /// A GitStateStore's `Ready`: the repository cannot be cloned.
    pub const ERROR_INITIALISING_WRITER: &str = "ErrorInitialisingWriter";
    /// A BucketStateStore's `Ready`: the bucket refuses a write.
    pub const ERROR_VALIDATING_PERMISSIONS: &str = "ErrorValidatingPermissions";
    /// Ours, with [`super::types::PIPELINE_ADMITTED`]: admission refused a pipeline pod.
    pub const POD_REFUSED: &str = "PodRefused";
    /// Ours: a pipeline's namespace does not exist.
    pub const PIPELINE_NAMESPACE_MISSING: &str = "PipelineNamespaceMissing";
    /// Ours: a pipeline's namespace is being deleted.
    pub const NAMESPACE_TERMINATING: &str = "NamespaceTerminating";
}

/// Condition statuses, as Kubernetes spells them.
pub mod status {
    pub const TRUE: &str = "True";
    pub const FALSE: &str = "False";
    pub const UNKNOWN: &str = "Unknown";
}

/// The one-word messages Kratix repeats on conditions (a Work's `Ready` says
/// how it stands in one of them) and in `status.message`.
pub mod messages {
    pub const PENDING: &str = "Pending";
    pub const FAILING: &str = "Failing";
    pub const READY: &str = "Ready";
    pub const MISPLACED: &str = "Misplaced";
    pub const RECONCILED: &str = "Reconciled";
    pub const PAUSED: &str = "Paused";
    pub const SUSPENDED: &str = "Suspended";
    /// A request's `status.message` once its configure workflow completed.
    pub const RESOURCE_REQUESTED: &str = "Resource requested";
    /// A Promise's `status.message` once its configure workflow completed.
    pub const PROMISE_CONFIGURED: &str = "Promise configured";
}

/// A Promise's `status.status`.
pub mod promise_state {
    pub const AVAILABLE: &str = "Available";
    pub const UNAVAILABLE: &str = "Unavailable";
}

/// Not Kratix's: a batch Job's condition types, as Kubernetes spells them.
pub mod job_types {
    pub const COMPLETE: &str = "Complete";
    pub const FAILED: &str = "Failed";
    pub const SUSPENDED: &str = "Suspended";
}

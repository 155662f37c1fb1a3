//! The status condition types and reasons the agent writes, by name: Kratix's
//! strings verbatim (automation written against Kratix matches them), then the
//! few we add where we know more. `docs/decisions.md` ("Conditions against
//! Kratix's") lists which object carries which.

/// Condition types.
pub mod types {
    pub const READY: &str = "Ready";
    pub const RECONCILED: &str = "Reconciled";
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

//! Workflow identity: the (type, action) pair that selects a pipeline list.

use std::fmt;
use std::str::FromStr;

/// Whose workflow runs: the Promise's own, or one of its resource requests'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkflowType {
    Promise,
    Resource,
}

/// What the workflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkflowAction {
    Configure,
    Delete,
}

/// One of the four pipeline lists of a Promise, written `promise/configure` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Workflow {
    pub workflow_type: WorkflowType,
    pub action: WorkflowAction,
}

impl WorkflowType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowType::Promise => "promise",
            WorkflowType::Resource => "resource",
        }
    }
}

impl WorkflowAction {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowAction::Configure => "configure",
            WorkflowAction::Delete => "delete",
        }
    }
}

impl Workflow {
    pub const PROMISE_CONFIGURE: Workflow = Workflow::new(WorkflowType::Promise, WorkflowAction::Configure);
    pub const PROMISE_DELETE: Workflow = Workflow::new(WorkflowType::Promise, WorkflowAction::Delete);
    pub const RESOURCE_CONFIGURE: Workflow = Workflow::new(WorkflowType::Resource, WorkflowAction::Configure);
    pub const RESOURCE_DELETE: Workflow = Workflow::new(WorkflowType::Resource, WorkflowAction::Delete);
    /// All four, in the order they appear in a Promise's documentation.
    pub const ALL: [Workflow; 4] = [
        Workflow::PROMISE_CONFIGURE,
        Workflow::PROMISE_DELETE,
        Workflow::RESOURCE_CONFIGURE,
        Workflow::RESOURCE_DELETE,
    ];

    pub const fn new(workflow_type: WorkflowType, action: WorkflowAction) -> Self {
        Workflow {
            workflow_type,
            action,
        }
    }

    /// Where this pipeline list lives in a Promise: `spec.workflows.<type>.<action>`.
    pub fn field_path(self) -> String {
        format!(
            "spec.workflows.{}.{}",
            self.workflow_type.as_str(),
            self.action.as_str()
        )
    }
}

impl fmt::Display for WorkflowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for WorkflowAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.workflow_type, self.action)
    }
}

/// A workflow name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown workflow {0:?}: expected promise/configure, promise/delete, resource/configure or resource/delete"
)]
pub struct UnknownWorkflow(pub String);

impl FromStr for Workflow {
    type Err = UnknownWorkflow;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Workflow::ALL
            .into_iter()
            .find(|w| w.to_string() == s)
            .ok_or_else(|| UnknownWorkflow(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_strings() {
        for workflow in Workflow::ALL {
            assert_eq!(workflow.to_string().parse::<Workflow>(), Ok(workflow));
        }
        assert!("resource/update".parse::<Workflow>().is_err());
    }

    #[test]
    fn field_paths_name_the_promise_fields() {
        assert_eq!(
            Workflow::RESOURCE_DELETE.field_path(),
            "spec.workflows.resource.delete"
        );
    }
}

//! `/kratix/metadata/workflow-control.yaml`: a pipeline asking to suspend the
//! workflow, or to retry its own run later.

use std::time::Duration;

use serde::Deserialize;

use crate::codec::duration::parse_go_duration;
use crate::codec::yaml::parse_documents;
use crate::{Error, Result};

/// File name under `/kratix/metadata`.
pub const WORKFLOW_CONTROL_FILE: &str = "workflow-control.yaml";

/// What a pipeline asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowControl {
    pub suspend: bool,
    pub message: Option<String>,
    /// Retry this pipeline after this long (takes precedence over `suspend`).
    pub retry_after: Option<Duration>,
}

impl WorkflowControl {
    /// Suspend and retry both stop the workflow at this pipeline.
    pub fn stops_workflow(&self) -> bool {
        self.suspend || self.retry_after.is_some()
    }

    /// Parses the file's content; an empty file asks for nothing.
    pub fn parse(source_name: &str, text: &str) -> Result<WorkflowControl> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            suspend: bool,
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            retry_after: Option<String>,
        }
        let invalid = |path: &str, message: String| Error::Invalid {
            source_name: source_name.to_owned(),
            path: path.to_owned(),
            message,
        };
        let documents = parse_documents(source_name, text)?;
        let Some(document) = documents.into_iter().next() else {
            return Ok(WorkflowControl::default());
        };
        let raw: Raw = serde_json::from_value(document.value)
            .map_err(|e| invalid("", format!("{e} (expected suspend, message and retryAfter)")))?;
        let retry_after = match raw.retry_after.as_deref().filter(|r| !r.is_empty()) {
            Some(text) => Some(parse_go_duration(text).map_err(|e| invalid("retryAfter", e.to_string()))?),
            None => None,
        };
        Ok(WorkflowControl {
            suspend: raw.suspend,
            message: raw.message.filter(|m| !m.is_empty()),
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suspend_retry_and_message() {
        let control = WorkflowControl::parse("f", "retryAfter: 10m\nmessage: waiting for a database\n")
            .expect("parses");
        assert_eq!(control.retry_after, Some(Duration::from_secs(600)));
        assert_eq!(control.message.as_deref(), Some("waiting for a database"));
        assert!(control.stops_workflow());
        let suspend = WorkflowControl::parse("f", "suspend: true").expect("parses");
        assert!(suspend.suspend && suspend.stops_workflow());
        assert!(!WorkflowControl::parse("f", "").expect("empty").stops_workflow());
    }

    #[test]
    fn bad_files_name_the_problem() {
        let error = WorkflowControl::parse("workflow-control.yaml", "retryAfter: 1d").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("workflow-control.yaml: retryAfter: invalid duration \"1d\""),
            "{error}"
        );
        let error = WorkflowControl::parse("workflow-control.yaml", "supsend: true").unwrap_err();
        assert!(error.to_string().contains("unknown field `supsend`"), "{error}");
    }
}

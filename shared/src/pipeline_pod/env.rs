//! The `KRATIX_*` variables a pipeline pod's containers receive, read back by
//! the agent's in-pod subcommands.

use crate::api::workflow::{WorkflowAction, WorkflowType};
use crate::{Error, Result};

/// Where the workflow's object lives and what the pipeline is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineEnv {
    pub action: WorkflowAction,
    pub workflow_type: WorkflowType,
    pub promise_name: String,
    pub pipeline_name: String,
    pub kind: String,
    pub group: String,
    pub version: String,
    pub name: String,
    /// Empty for cluster-scoped objects (the Promise).
    pub namespace: String,
    pub plural: String,
    pub cluster_scoped: bool,
    pub dry_run: bool,
    pub is_last_pipeline: bool,
}

impl PipelineEnv {
    /// Reads the variables through `get` (the process environment, or a map in tests).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<PipelineEnv> {
        let required = |name: &str| {
            get(name).filter(|v| !v.is_empty()).ok_or_else(|| Error::Invalid {
                source_name: "environment".to_owned(),
                path: name.to_owned(),
                message: "is not set: this command runs inside a Kratix pipeline pod".to_owned(),
            })
        };
        let flag = |name: &str| get(name).as_deref() == Some("true");
        let action = match required("KRATIX_WORKFLOW_ACTION")?.as_str() {
            "configure" => WorkflowAction::Configure,
            "delete" => WorkflowAction::Delete,
            other => return Err(bad("KRATIX_WORKFLOW_ACTION", other, "configure or delete")),
        };
        let workflow_type = match required("KRATIX_WORKFLOW_TYPE")?.as_str() {
            "promise" => WorkflowType::Promise,
            "resource" => WorkflowType::Resource,
            other => return Err(bad("KRATIX_WORKFLOW_TYPE", other, "promise or resource")),
        };
        let cluster_scoped = flag("KRATIX_CLUSTER_SCOPED");
        // As the reference: an empty namespace means default, and cluster-scoped objects have none.
        let namespace = if cluster_scoped {
            String::new()
        } else {
            get("KRATIX_OBJECT_NAMESPACE")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_owned())
        };
        Ok(PipelineEnv {
            action,
            workflow_type,
            promise_name: required("KRATIX_PROMISE_NAME")?,
            pipeline_name: required("KRATIX_PIPELINE_NAME")?,
            kind: required("KRATIX_OBJECT_KIND")?,
            group: get("KRATIX_OBJECT_GROUP").unwrap_or_default(),
            version: required("KRATIX_OBJECT_VERSION")?,
            name: required("KRATIX_OBJECT_NAME")?,
            namespace,
            plural: required("KRATIX_CRD_PLURAL")?,
            cluster_scoped,
            dry_run: flag("KRATIX_DRY_RUN"),
            is_last_pipeline: flag("IS_LAST_PIPELINE"),
        })
    }

    /// `group/version` (or `version` for the core group).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

fn bad(name: &str, value: &str, expected: &str) -> Error {
    Error::Invalid {
        source_name: "environment".to_owned(),
        path: name.to_owned(),
        message: format!("{value:?} is not {expected}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn resource_vars() -> HashMap<String, String> {
        vars(&[
            ("KRATIX_WORKFLOW_ACTION", "configure"),
            ("KRATIX_WORKFLOW_TYPE", "resource"),
            ("KRATIX_PROMISE_NAME", "redis"),
            ("KRATIX_PIPELINE_NAME", "instance"),
            ("KRATIX_OBJECT_KIND", "redis"),
            ("KRATIX_OBJECT_GROUP", "marketplace.kratix.io"),
            ("KRATIX_OBJECT_VERSION", "v1alpha1"),
            ("KRATIX_OBJECT_NAME", "cache"),
            ("KRATIX_OBJECT_NAMESPACE", ""),
            ("KRATIX_CRD_PLURAL", "redis"),
            ("KRATIX_CLUSTER_SCOPED", "false"),
            ("IS_LAST_PIPELINE", "true"),
        ])
    }

    #[test]
    fn reads_a_resource_pipeline() {
        let map = resource_vars();
        let env = PipelineEnv::from_vars(|k| map.get(k).cloned()).expect("reads");
        assert_eq!(env.namespace, "default", "an empty namespace means default");
        assert_eq!(env.api_version(), "marketplace.kratix.io/v1alpha1");
        assert!(env.is_last_pipeline && !env.dry_run && !env.cluster_scoped);
        assert_eq!(
            (env.workflow_type, env.action),
            (WorkflowType::Resource, WorkflowAction::Configure)
        );
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace() {
        let mut map = resource_vars();
        map.insert("KRATIX_CLUSTER_SCOPED".into(), "true".into());
        map.insert("KRATIX_OBJECT_NAMESPACE".into(), "ignored".into());
        assert_eq!(
            PipelineEnv::from_vars(|k| map.get(k).cloned())
                .expect("reads")
                .namespace,
            ""
        );
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        let mut map = resource_vars();
        map.remove("KRATIX_PIPELINE_NAME");
        let error = PipelineEnv::from_vars(|k| map.get(k).cloned())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("environment: KRATIX_PIPELINE_NAME: is not set"),
            "{error}"
        );
        let mut map = resource_vars();
        map.insert("KRATIX_WORKFLOW_TYPE".into(), "job".into());
        let error = PipelineEnv::from_vars(|k| map.get(k).cloned())
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"job\" is not promise or resource"), "{error}");
    }
}

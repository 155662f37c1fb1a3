//! Running a Promise's pipelines on a laptop (`kubectl kratix promise run`):
//! the pod the agent would run, planned container by container from the
//! rendered Job (never from a second renderer), for a container engine
//! instead of a kubelet. Pure: reading files, starting containers and
//! streaming logs are the plugin's.
//!
//! - `container_plan`: a pipeline's user containers with their image,
//!   command, environment, mounts and security settings, and the host folders
//!   and files their volumes need;
//! - `env_resolution`: the environment as the kubelet builds it;
//! - `pod_volumes`: the pod's volumes as host folders, and each container's
//!   mounts of them;
//! - `quantity`: `resourceFieldRef` values;
//! - `engine_command`: one planned container as a `podman run` / `docker run`;
//! - `run_record`: the status the run leaves on its object, as the agent and
//!   the status-writer leave it on a cluster.

pub mod container_plan;
pub mod engine_command;
pub mod env_resolution;
pub mod pod_volumes;
pub mod quantity;
pub mod run_record;

use std::collections::BTreeMap;
use std::fmt;

/// The Secrets and ConfigMaps a run may read, by name, each as key → bytes
/// (`--secret NAME=...`, `--configmap NAME=...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// A Secret or a ConfigMap: how messages name it, the flag that gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Secret,
    ConfigMap,
}

impl SourceKind {
    pub fn word(self) -> &'static str {
        match self {
            SourceKind::Secret => "Secret",
            SourceKind::ConfigMap => "ConfigMap",
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            SourceKind::Secret => "--secret",
            SourceKind::ConfigMap => "--configmap",
        }
    }

    /// The given ones of this kind.
    pub fn given(self, sources: &Sources) -> &BTreeMap<String, BTreeMap<String, Vec<u8>>> {
        match self {
            SourceKind::Secret => &sources.secrets,
            SourceKind::ConfigMap => &sources.config_maps,
        }
    }

    /// What to say when `name` is needed but not given.
    pub fn not_given(self, name: &str) -> String {
        format!(
            "{} {name} is not given; pass it as {} {name}=DIR (one file per key) or {} {name}=FILE (a {} manifest)",
            self.word(),
            self.flag(),
            self.flag(),
            self.word()
        )
    }
}

/// What the downward API (`fieldRef`) reads of the pod that would run.
#[derive(Debug, Clone)]
pub struct PodFacts<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub service_account: &'a str,
}

/// The node and pod addresses of a local run.
const LOCAL_ADDRESS: &str = "127.0.0.1";
const LOCAL_NODE: &str = "localhost";

impl PodFacts<'_> {
    /// A `fieldRef.fieldPath`'s value, as the kubelet gives it to an env var.
    pub fn field(&self, path: &str) -> Result<String, String> {
        let subscript = |prefix: &str| {
            let key = path.strip_prefix(prefix)?.strip_suffix(']')?;
            let key = key
                .strip_prefix('\'')
                .and_then(|k| k.strip_suffix('\''))
                .or_else(|| key.strip_prefix('"').and_then(|k| k.strip_suffix('"')))?;
            Some(key.to_owned())
        };
        if let Some(key) = subscript("metadata.labels[") {
            return Ok(self.labels.get(&key).cloned().unwrap_or_default());
        }
        if let Some(key) = subscript("metadata.annotations[") {
            return Ok(self.annotations.get(&key).cloned().unwrap_or_default());
        }
        Ok(match path {
            "metadata.name" => self.name.to_owned(),
            "metadata.namespace" => self.namespace.to_owned(),
            "metadata.uid" => self.uid.to_owned(),
            "spec.serviceAccountName" => self.service_account.to_owned(),
            "spec.nodeName" => LOCAL_NODE.to_owned(),
            "status.hostIP" | "status.hostIPs" | "status.podIP" | "status.podIPs" => LOCAL_ADDRESS.to_owned(),
            other => {
                return Err(format!(
                    "fieldRef {other:?} is not a field the downward API gives an environment variable"
                ));
            }
        })
    }
}

/// Why a pipeline cannot run locally as written, found before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    pub pipeline: String,
    /// None for a problem of the pod (a volume).
    pub container: Option<String>,
    /// The field: `env PASSWORD`, `envFrom[0]`, `volumes[db]`, `volumeMounts[db at /creds]`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline {}", self.pipeline)?;
        if let Some(container) = &self.container {
            write!(f, ", container {container}")?;
        }
        write!(f, ": {}: {}", self.field, self.message)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod facts_tests {
    use super::*;

    #[test]
    fn the_downward_api_reads_the_pod_that_would_run() {
        let labels = BTreeMap::from([("kratix.io/promise-name".to_owned(), "redis".to_owned())]);
        let annotations = BTreeMap::new();
        let pod = PodFacts {
            name: "kratix-redis-orders-instance-abcde",
            namespace: "team-a",
            uid: "u1",
            labels: &labels,
            annotations: &annotations,
            service_account: "redis-resource-configure-instance",
        };
        assert_eq!(pod.field("metadata.namespace").as_deref(), Ok("team-a"));
        assert_eq!(
            pod.field("metadata.labels['kratix.io/promise-name']").as_deref(),
            Ok("redis")
        );
        assert_eq!(
            pod.field("metadata.labels[\"kratix.io/promise-name\"]")
                .as_deref(),
            Ok("redis")
        );
        assert_eq!(pod.field("metadata.annotations['missing']").as_deref(), Ok(""));
        assert_eq!(pod.field("status.podIP").as_deref(), Ok("127.0.0.1"));
        assert!(pod.field("spec.containers").is_err());
    }

    #[test]
    fn a_problem_names_pipeline_container_and_field() {
        let problem = PlanProblem {
            pipeline: "instance".to_owned(),
            container: Some("main".to_owned()),
            field: "env PASSWORD".to_owned(),
            message: "Secret db is not given".to_owned(),
        };
        assert_eq!(
            problem.to_string(),
            "pipeline instance, container main: env PASSWORD: Secret db is not given"
        );
    }
}

//! The kratix config: ConfigMap `kratix-platform-system/kratix`, key `config`.
//!
//! Parsed into a value with the reference's defaults. Unknown keys are warnings,
//! not errors, so a config written for a newer Kratix still loads.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ResourceRequirements, SecurityContext};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::api::labels::SYSTEM_NAMESPACE;
use crate::codec::decode::{FieldProblem, FieldProblemKind, decode_collecting, join_path};
use crate::codec::duration::parse_go_duration;
use crate::codec::yaml::parse_documents;
use crate::{Error, Result};

/// Name of the ConfigMap holding the config.
pub const CONFIGMAP_NAME: &str = "kratix";
/// Key of the ConfigMap holding the config YAML.
pub const CONFIGMAP_KEY: &str = "config";

const DEFAULT_JOBS_TO_KEEP: u32 = 5;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10 * 3600);
const DEFAULT_GIT_FETCH_INTERVAL: Duration = Duration::from_secs(5);

/// The effective config, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct KratixConfig {
    /// Jobs kept per (object, workflow type, action, pipeline).
    pub number_of_jobs_to_keep: u32,
    pub reconciliation_interval: Duration,
    /// How often WorkPlacements are rewritten; zero disables it.
    pub state_store_reconciliation_interval: Duration,
    pub workflows: WorkflowDefaults,
    /// `floating` or `pinned`.
    pub resource_binding_version_strategy: String,
    pub selective_cache: bool,
    pub dry_run_enabled: bool,
    pub git_minimum_fetch_interval: Duration,
    /// `promisePolicy`: kubectl-kratix's own, off by default.
    pub promise_policy: PromisePolicy,
}

/// What a cluster admin may refuse in Promises (`validate::policy`): hostPath
/// volumes, privileged or root containers, a custom service account, wildcard or
/// escalating RBAC, and a `pipelineNamespace` outside `allowedPipelineNamespaces`
/// (any, when empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromisePolicy {
    pub enabled: bool,
    pub allowed_pipeline_namespaces: Vec<String>,
}

/// Defaults applied to every pipeline Job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkflowDefaults {
    pub reconcile_after_failure: bool,
    /// Applied whole to user containers that set none. When the ConfigMap exists
    /// but this key is absent, an empty security context is applied (as the
    /// reference does); see [`KratixConfig::user_container_security_context`].
    pub default_container_security_context: Option<SecurityContext>,
    pub default_image_pull_policy: Option<String>,
    pub default_container_resources: Option<ResourceRequirements>,
    pub default_backoff_limit: Option<i32>,
    pub pod_ttl_seconds_after_finished: Option<i64>,
}

impl Default for KratixConfig {
    fn default() -> Self {
        KratixConfig {
            number_of_jobs_to_keep: DEFAULT_JOBS_TO_KEEP,
            reconciliation_interval: DEFAULT_INTERVAL,
            state_store_reconciliation_interval: DEFAULT_INTERVAL,
            workflows: WorkflowDefaults {
                reconcile_after_failure: true,
                ..WorkflowDefaults::default()
            },
            resource_binding_version_strategy: "floating".to_owned(),
            selective_cache: false,
            dry_run_enabled: false,
            git_minimum_fetch_interval: DEFAULT_GIT_FETCH_INTERVAL,
            promise_policy: PromisePolicy::default(),
        }
    }
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawConfig {
    number_of_jobs_to_keep: Option<i64>,
    reconciliation_interval: Option<String>,
    state_store_reconciliation_interval: Option<String>,
    workflows: RawWorkflows,
    resource_binding_version_strategy: Option<String>,
    selective_cache: Option<bool>,
    feature_flags: RawFeatureFlags,
    git: RawGit,
    promise_policy: RawPromisePolicy,
    // Operational settings the agent reads elsewhere; accepted as they are.
    controller_leader_election: Option<Value>,
    logging: Option<Value>,
    telemetry: Option<Value>,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWorkflows {
    reconcile_after_failure: Option<bool>,
    default_container_security_context: Option<SecurityContext>,
    default_image_pull_policy: Option<String>,
    default_container_resources: Option<ResourceRequirements>,
    job_options: RawJobOptions,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawJobOptions {
    default_backoff_limit: Option<i32>,
    #[serde(rename = "podTTLSecondsAfterFinished")]
    pod_ttl_seconds_after_finished: Option<i64>,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawFeatureFlags {
    dry_run: Option<bool>,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPromisePolicy {
    enabled: Option<bool>,
    allowed_pipeline_namespaces: Option<Vec<String>>,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawGit {
    minimum_fetch_interval: Option<String>,
}

/// Where the config's fields sit in the ConfigMap, for error paths.
const CONFIG_BASE: &str = "data.config";

/// An invalid config value at `path`.
fn invalid(source_name: &str, path: &str, message: String) -> Error {
    Error::Invalid {
        source_name: source_name.to_owned(),
        path: path.to_owned(),
        message,
    }
}

/// The config's one YAML document; none is an empty mapping.
fn single_document(source_name: &str, yaml: &str) -> Result<Value> {
    let documents = parse_documents(source_name, yaml)?;
    match documents.len() {
        0 => Ok(Value::Object(Default::default())),
        1 => Ok(documents.into_iter().next().map(|d| d.value).unwrap_or_default()),
        n => Err(invalid(
            source_name,
            CONFIG_BASE,
            format!("holds {n} YAML documents; the config is a single mapping"),
        )),
    }
}

/// Decodes the config's keys: the first invalid value is the error, the
/// other problems (unknown keys) are the warnings.
fn decode_raw(source_name: &str, value: &Value) -> Result<(RawConfig, Vec<FieldProblem>)> {
    let (raw, problems) = decode_collecting::<RawConfig>(value);
    let (warnings, errors): (Vec<FieldProblem>, Vec<FieldProblem>) = problems
        .into_iter()
        .map(|p| FieldProblem {
            path: join_path(CONFIG_BASE, &p.path),
            ..p
        })
        .partition(|p| p.kind != FieldProblemKind::Invalid);
    if let Some(first) = errors.into_iter().next() {
        return Err(invalid(source_name, &first.path, first.message));
    }
    Ok((raw.unwrap_or_default(), warnings))
}

/// A Go duration at `field`, `default` when it is not set.
fn config_duration(
    source_name: &str,
    field: &str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(text) => parse_go_duration(&text)
            .map_err(|e| invalid(source_name, &join_path(CONFIG_BASE, field), e.to_string())),
    }
}

impl RawConfig {
    /// The effective config: each key checked, defaults for those not set.
    fn into_config(self, source_name: &str) -> Result<KratixConfig> {
        let config = KratixConfig {
            number_of_jobs_to_keep: match self.number_of_jobs_to_keep {
                Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
                _ => DEFAULT_JOBS_TO_KEEP,
            },
            reconciliation_interval: config_duration(
                source_name,
                "reconciliationInterval",
                self.reconciliation_interval,
                DEFAULT_INTERVAL,
            )?,
            state_store_reconciliation_interval: config_duration(
                source_name,
                "stateStoreReconciliationInterval",
                self.state_store_reconciliation_interval,
                DEFAULT_INTERVAL,
            )?,
            workflows: self.workflows.into_defaults(),
            resource_binding_version_strategy: binding_version_strategy(
                source_name,
                self.resource_binding_version_strategy.as_deref(),
            )?,
            selective_cache: self.selective_cache.unwrap_or(false),
            dry_run_enabled: self.feature_flags.dry_run.unwrap_or(false),
            git_minimum_fetch_interval: config_duration(
                source_name,
                "git.minimumFetchInterval",
                self.git.minimum_fetch_interval,
                DEFAULT_GIT_FETCH_INTERVAL,
            )?,
            promise_policy: self.promise_policy.into_policy(),
        };
        let _ = (self.controller_leader_election, self.logging, self.telemetry);
        Ok(config)
    }
}

/// `resourceBindingVersionStrategy`: floating (the default) or pinned.
fn binding_version_strategy(source_name: &str, value: Option<&str>) -> Result<String> {
    match value {
        None | Some("") => Ok(KratixConfig::default().resource_binding_version_strategy),
        Some(s @ ("floating" | "pinned")) => Ok(s.to_owned()),
        Some(other) => Err(invalid(
            source_name,
            &join_path(CONFIG_BASE, "resourceBindingVersionStrategy"),
            format!("{other:?} is not a strategy: use floating or pinned"),
        )),
    }
}

impl RawWorkflows {
    /// The pipeline Job defaults; failed workflows are reconciled unless turned off.
    fn into_defaults(self) -> WorkflowDefaults {
        WorkflowDefaults {
            reconcile_after_failure: self.reconcile_after_failure.unwrap_or(true),
            default_container_security_context: self.default_container_security_context,
            default_image_pull_policy: self.default_image_pull_policy.filter(|p| !p.is_empty()),
            default_container_resources: self.default_container_resources,
            default_backoff_limit: self.job_options.default_backoff_limit,
            pod_ttl_seconds_after_finished: self.job_options.pod_ttl_seconds_after_finished,
        }
    }
}

impl RawPromisePolicy {
    /// The policy, off unless enabled; empty namespace names dropped.
    fn into_policy(self) -> PromisePolicy {
        PromisePolicy {
            enabled: self.enabled.unwrap_or(false),
            allowed_pipeline_namespaces: self
                .allowed_pipeline_namespaces
                .unwrap_or_default()
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }
}

/// A parsed config and the warnings worth showing (unknown keys).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub config: KratixConfig,
    pub warnings: Vec<FieldProblem>,
}

impl KratixConfig {
    /// Parses the YAML held under the ConfigMap's `config` key. Field paths in
    /// errors start at `data.config`.
    pub fn from_config_yaml(source_name: &str, yaml: &str) -> Result<LoadedConfig> {
        let value = single_document(source_name, yaml)?;
        let (raw, warnings) = decode_raw(source_name, &value)?;
        let config = raw.into_config(source_name)?;
        Ok(LoadedConfig { config, warnings })
    }

    /// Parses a file holding the `kratix` ConfigMap as a user applies it (other
    /// documents in the same file are skipped).
    pub fn from_configmap_yaml(source_name: &str, yaml: &str) -> Result<LoadedConfig> {
        let invalid = |path: String, message: String| Error::Invalid {
            source_name: source_name.to_owned(),
            path,
            message,
        };
        let documents = parse_documents(source_name, yaml)?;
        let configmaps: Vec<_> = documents
            .iter()
            .filter(|d| d.value.get("kind").and_then(Value::as_str) == Some("ConfigMap"))
            .collect();
        let chosen = configmaps
            .iter()
            .find(|d| d.value.pointer("/metadata/name").and_then(Value::as_str) == Some(CONFIGMAP_NAME))
            .copied();
        let Some(document) = chosen else {
            let found: Vec<String> = configmaps
                .iter()
                .filter_map(|d| {
                    d.value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            return Err(invalid(
                "metadata.name".to_owned(),
                format!(
                    "no ConfigMap named {CONFIGMAP_NAME:?} (namespace {SYSTEM_NAMESPACE}) here; found {}",
                    if found.is_empty() {
                        "no ConfigMap".to_owned()
                    } else {
                        found.join(", ")
                    }
                ),
            ));
        };
        let namespace = document
            .value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str);
        if namespace.is_some_and(|ns| ns != SYSTEM_NAMESPACE) {
            return Err(invalid(
                "metadata.namespace".to_owned(),
                format!(
                    "the kratix ConfigMap lives in {SYSTEM_NAMESPACE}, not {:?}",
                    namespace.unwrap_or_default()
                ),
            ));
        }
        match document.value.pointer("/data/config") {
            Some(Value::String(config)) => Self::from_config_yaml(source_name, config),
            Some(_) => Err(invalid(
                "data.config".to_owned(),
                "must be a string holding YAML".to_owned(),
            )),
            None => Err(invalid(
                "data.config".to_owned(),
                "missing: the reference refuses to start without it; add `config: |` with at least `{}`"
                    .to_owned(),
            )),
        }
    }

    /// The security context for a user container that sets none, given whether a
    /// config exists at all (no ConfigMap: none; ConfigMap without the key: empty).
    pub fn user_container_security_context(config: Option<&KratixConfig>) -> Option<SecurityContext> {
        config.map(|c| {
            c.workflows
                .default_container_security_context
                .clone()
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_the_reference_defaults() {
        let loaded = KratixConfig::from_config_yaml("c", "{}").expect("parses");
        let config = loaded.config;
        assert_eq!(config.number_of_jobs_to_keep, 5);
        assert_eq!(config.reconciliation_interval, Duration::from_secs(36_000));
        assert_eq!(
            config.state_store_reconciliation_interval,
            Duration::from_secs(36_000)
        );
        assert!(config.workflows.reconcile_after_failure);
        assert_eq!(config.workflows.default_backoff_limit, None);
        assert_eq!(config.resource_binding_version_strategy, "floating");
        assert_eq!(config.git_minimum_fetch_interval, Duration::from_secs(5));
        assert!(!config.dry_run_enabled);
    }

    #[test]
    fn the_promise_policy_is_off_unless_turned_on() {
        let off = KratixConfig::from_config_yaml("c", "{}").expect("parses").config;
        assert_eq!(off.promise_policy, PromisePolicy::default());
        assert!(!off.promise_policy.enabled);
        let on = KratixConfig::from_config_yaml(
            "c",
            "promisePolicy:\n  enabled: true\n  allowedPipelineNamespaces: [pipelines, '']\n",
        )
        .expect("parses")
        .config;
        assert_eq!(
            on.promise_policy,
            PromisePolicy {
                enabled: true,
                allowed_pipeline_namespaces: vec!["pipelines".to_owned()],
            }
        );
        let error = KratixConfig::from_config_yaml("c", "promisePolicy:\n  enabled: maybe\n")
            .expect_err("not a bool")
            .to_string();
        assert!(error.contains("promisePolicy.enabled"), "{error}");
    }

    #[test]
    fn parses_every_key() {
        let yaml = r#"
numberOfJobsToKeep: 2
reconciliationInterval: 1h
stateStoreReconciliationInterval: "0"
selectiveCache: true
featureFlags: {dryRun: true}
git: {minimumFetchInterval: 30s}
resourceBindingVersionStrategy: pinned
workflows:
  reconcileAfterFailure: false
  defaultImagePullPolicy: IfNotPresent
  defaultContainerSecurityContext: {runAsNonRoot: true}
  defaultContainerResources: {limits: {cpu: 500m}}
  jobOptions: {defaultBackoffLimit: 4, podTTLSecondsAfterFinished: 60}
logging: {level: debug}
"#;
        let LoadedConfig { config, warnings } = KratixConfig::from_config_yaml("c", yaml).expect("parses");
        assert_eq!(warnings, vec![]);
        assert_eq!(config.number_of_jobs_to_keep, 2);
        assert_eq!(config.reconciliation_interval, Duration::from_secs(3600));
        assert_eq!(config.state_store_reconciliation_interval, Duration::ZERO);
        assert!(config.selective_cache && config.dry_run_enabled);
        assert_eq!(config.git_minimum_fetch_interval, Duration::from_secs(30));
        assert_eq!(config.resource_binding_version_strategy, "pinned");
        let w = &config.workflows;
        assert!(!w.reconcile_after_failure);
        assert_eq!(w.default_image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(
            w.default_container_security_context
                .as_ref()
                .and_then(|s| s.run_as_non_root),
            Some(true)
        );
        assert_eq!(w.default_backoff_limit, Some(4));
        assert_eq!(w.pod_ttl_seconds_after_finished, Some(60));
    }

    #[test]
    fn jobs_to_keep_below_one_means_five() {
        let config = KratixConfig::from_config_yaml("c", "numberOfJobsToKeep: 0")
            .expect("parses")
            .config;
        assert_eq!(config.number_of_jobs_to_keep, 5);
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let loaded = KratixConfig::from_config_yaml("c", "numberOfJobToKeep: 3").expect("parses");
        assert_eq!(loaded.warnings.len(), 1);
        assert_eq!(loaded.warnings[0].path, "data.config.numberOfJobToKeep");
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = KratixConfig::from_config_yaml("kratix.yaml", "reconciliationInterval: 1d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "kratix.yaml: data.config.reconciliationInterval: invalid duration \"1d\": unit \"d\" is not supported; write 24h (use Go syntax such as 90s, 10m or 1h30m)"
        );
        let err =
            KratixConfig::from_config_yaml("k", "workflows: {reconcileAfterFailure: maybe}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("k: data.config.workflows.reconcileAfterFailure: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn reads_the_configmap_as_applied() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kratix\n  namespace: kratix-platform-system\ndata:\n  config: |\n    numberOfJobsToKeep: 3\n";
        let config = KratixConfig::from_configmap_yaml("cm.yaml", yaml)
            .expect("parses")
            .config;
        assert_eq!(config.number_of_jobs_to_keep, 3);
    }

    #[test]
    fn a_configmap_without_the_config_key_is_an_error() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kratix}\ndata: {}\n";
        let err = KratixConfig::from_configmap_yaml("cm.yaml", yaml).unwrap_err();
        assert!(
            err.to_string().starts_with("cm.yaml: data.config: missing"),
            "{err}"
        );
    }

    #[test]
    fn another_configmap_is_named_in_the_error() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {config: '{}'}\n";
        let err = KratixConfig::from_configmap_yaml("cm.yaml", yaml).unwrap_err();
        assert!(err.to_string().contains("found other"), "{err}");
    }

    #[test]
    fn security_context_default_depends_on_the_configmap_existing() {
        assert_eq!(KratixConfig::user_container_security_context(None), None);
        let config = KratixConfig::default();
        assert_eq!(
            KratixConfig::user_container_security_context(Some(&config)),
            Some(SecurityContext::default())
        );
    }
}

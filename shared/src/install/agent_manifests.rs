//! Everything that installs the agent: its namespace, the Kratix CRDs, its
//! service account, a ClusterRole with each rule's reason, and its Deployment.

use std::collections::BTreeMap;

use crate::api::labels::SYSTEM_NAMESPACE;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, Namespace, ObjectFieldSelector, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SecurityContext, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

pub const NAME: &str = "kratix-agent";
/// Port of /healthz, /readyz and /metrics (`run --metrics-address`).
pub const HTTP_PORT: u16 = 8080;
/// Set on the agent's pod so it can grant itself access to each Promise's API.
pub const SERVICE_ACCOUNT_ENV: &str = "KRATIX_AGENT_SERVICE_ACCOUNT";
pub const NAMESPACE_ENV: &str = "KRATIX_AGENT_NAMESPACE";
/// The agent's memory limit, in MiB. Measured: `agent_scale` peaks near 51 MiB
/// at 500 requests; a state-store batch holds at most 32 MiB inflated (plus one
/// placement of up to 16 MiB) in two copies, and `git` runs in the same
/// container. The benchmark checks its peak stays under half of this.
pub const MEMORY_LIMIT_MIB: u32 = 256;
/// What the agent asks for: its resting size and some room.
const MEMORY_REQUEST_MIB: u32 = 64;

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(BTreeMap::from([(
            "app.kubernetes.io/name".to_owned(),
            NAME.to_owned(),
        )])),
        ..ObjectMeta::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..PolicyRule::default()
    }
}

/// Everything the agent does to the objects it manages. No `update`: it writes
/// them by (server-side apply or merge) patch only; `update` is kept for the
/// status subresources it replaces and its Lease.
const READ_WRITE: [&str; 6] = ["get", "list", "watch", "create", "patch", "delete"];

/// The agent's rules, each with why it needs it.
pub fn rules() -> Vec<(PolicyRule, &'static str)> {
    let mut rules = kratix_rules();
    rules.extend(workload_rules());
    rules.extend(rbac_rules());
    rules
}

/// On the Kratix objects: Promises, Works, WorkPlacements, Destinations and
/// state stores, and their status.
fn kratix_rules() -> Vec<(PolicyRule, &'static str)> {
    vec![
        (
            rule(
                &["platform.kratix.io"],
                &["promises"],
                &["get", "list", "watch", "patch"],
            ),
            "reconcile Promises and their finalizers",
        ),
        (
            rule(
                &["platform.kratix.io"],
                &["promises/status"],
                &["get", "update", "patch"],
            ),
            "report a Promise's status",
        ),
        (
            rule(&["platform.kratix.io"], &["works"], &READ_WRITE),
            "read the Works pipelines write, clean them up",
        ),
        (
            rule(
                &["platform.kratix.io"],
                &["works/status"],
                &["get", "update", "patch"],
            ),
            "report where each Work is scheduled",
        ),
        (
            rule(&["platform.kratix.io"], &["workplacements"], &READ_WRITE),
            "place each workload group on its Destinations",
        ),
        (
            rule(
                &["platform.kratix.io"],
                &["workplacements/status"],
                &["get", "update", "patch"],
            ),
            "report each placement's scheduling and write",
        ),
        (
            rule(
                &["platform.kratix.io"],
                &["destinations", "gitstatestores", "bucketstatestores"],
                &["get", "list", "watch", "patch"],
            ),
            "schedule Works onto Destinations, write to their stores, hold the cleanup finalizer",
        ),
        (
            rule(
                &["platform.kratix.io"],
                &[
                    "destinations/status",
                    "gitstatestores/status",
                    "bucketstatestores/status",
                ],
                &["get", "update", "patch"],
            ),
            "report whether each Destination and state store is ready",
        ),
    ]
}

/// On what the agent reads, installs and runs besides: state store secrets,
/// Promise APIs, pipeline Jobs and their identity, Events and its Lease.
fn workload_rules() -> Vec<(PolicyRule, &'static str)> {
    vec![
        (
            rule(&[""], &["secrets"], &["get", "list", "watch"]),
            "read each state store's credentials (secretRef may name any namespace), and notice when they change",
        ),
        (
            rule(
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
                &["get", "create", "patch", "delete"],
            ),
            "install each Promise's API (read by name: no list or watch of every CRD)",
        ),
        (
            rule(&["batch"], &["jobs"], &READ_WRITE),
            "run pipelines as Jobs, stop and prune them",
        ),
        (
            rule(&[""], &["serviceaccounts", "configmaps"], &READ_WRITE),
            "each pipeline's identity and the destination-selectors ConfigMap",
        ),
        (
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch"]),
            "report what happened",
        ),
        (
            rule(&[""], &["events"], &["list"]),
            "read why the Job controller cannot create a pipeline's pod (FailedCreate)",
        ),
        (
            rule(
                &["coordination.k8s.io"],
                &["leases"],
                &["get", "create", "update"],
            ),
            "leader election",
        ),
    ]
}

/// On RBAC: the pipelines' rendered roles and bindings, and granting what
/// Promises declare.
fn rbac_rules() -> Vec<(PolicyRule, &'static str)> {
    vec![
        (
            rule(
                &["rbac.authorization.k8s.io"],
                &["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
                &READ_WRITE,
            ),
            "each pipeline's rendered RBAC",
        ),
        (
            rule(
                &["rbac.authorization.k8s.io"],
                &["roles", "clusterroles"],
                &["bind", "escalate"],
            ),
            "grant pipelines (and itself, per Promise API) what a Promise declares, which the agent does not hold itself",
        ),
    ]
}

/// The objects, in apply order.
/// `http_port` serves /healthz, /readyz and /metrics; 0 lets the agent pick a
/// free port (for platforms whose pods share the host's network) and leaves out
/// the probes and the container port.
pub fn objects(image: &str, http_port: u16) -> Vec<Value> {
    let mut out: Vec<Value> = vec![serde_json::to_value(namespace()).unwrap_or_default()];
    out.extend(
        crate::install::crds::all()
            .into_iter()
            .map(|crd| serde_json::to_value(crd).unwrap_or_default()),
    );
    for object in [
        serde_json::to_value(service_account()),
        serde_json::to_value(cluster_role()),
        serde_json::to_value(cluster_role_binding()),
        serde_json::to_value(deployment(image, http_port)),
    ] {
        out.push(object.unwrap_or_default());
    }
    out
}

/// The system namespace the agent runs in.
fn namespace() -> Namespace {
    Namespace {
        metadata: meta(SYSTEM_NAMESPACE, None),
        ..Namespace::default()
    }
}

/// The agent's identity.
fn service_account() -> ServiceAccount {
    ServiceAccount {
        metadata: meta(NAME, Some(SYSTEM_NAMESPACE)),
        ..ServiceAccount::default()
    }
}

/// Every rule of [`rules`], without the reasons.
fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(NAME, None),
        rules: Some(rules().into_iter().map(|(rule, _)| rule).collect()),
        aggregation_rule: None,
    }
}

/// Grants the ClusterRole to the agent's service account.
fn cluster_role_binding() -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(NAME, None),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "ClusterRole".to_owned(),
            name: NAME.to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: NAME.to_owned(),
            namespace: Some(SYSTEM_NAMESPACE.to_owned()),
            api_group: None,
        }]),
    }
}

/// One replica of the agent's pod, selected by its name label.
fn deployment(image: &str, http_port: u16) -> Deployment {
    let labels = BTreeMap::from([("app.kubernetes.io/name".to_owned(), NAME.to_owned())]);
    Deployment {
        metadata: meta(NAME, Some(SYSTEM_NAMESPACE)),
        spec: DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.to_owned()),
                    containers: vec![container(image, http_port)],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// The agent's container: `run`, its environment, probes (unless `http_port`
/// is 0), resources and a non-root security context.
fn container(image: &str, http_port: u16) -> Container {
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(i32::from(http_port)),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    };
    Container {
        name: NAME.to_owned(),
        image: Some(image.to_owned()),
        command: Some(vec![crate::render::ADAPTER_BINARY.to_owned()]),
        args: Some(vec!["run".to_owned()]),
        env: Some(container_env(image, http_port)),
        ports: (http_port != 0).then(|| {
            vec![ContainerPort {
                name: Some("http".to_owned()),
                container_port: i32::from(http_port),
                ..ContainerPort::default()
            }]
        }),
        liveness_probe: (http_port != 0).then(|| probe("/healthz")),
        readiness_probe: (http_port != 0).then(|| probe("/readyz")),
        resources: Some(container_resources()),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            allow_privilege_escalation: Some(false),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

/// The agent's environment: the adapter image, its own identity and where it
/// serves its metrics.
fn container_env(image: &str, http_port: u16) -> Vec<EnvVar> {
    let env = |name: &str, value: &str| EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    };
    let from_field = |name: &str, path: &str| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                api_version: None,
            }),
            ..EnvVarSource::default()
        }),
    };
    vec![
        env("PIPELINE_ADAPTER_IMG", image),
        env(SERVICE_ACCOUNT_ENV, NAME),
        from_field(NAMESPACE_ENV, "metadata.namespace"),
        // The leader Lease's holder identity and the Events' reporter.
        from_field("POD_NAME", "metadata.name"),
        env("RUST_LOG", "info"),
        env("KRATIX_AGENT_METRICS_ADDRESS", &format!("0.0.0.0:{http_port}")),
    ]
}

/// A small CPU request, and memory requested and limited by
/// [`MEMORY_REQUEST_MIB`] and [`MEMORY_LIMIT_MIB`].
fn container_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("50m".to_owned())),
            ("memory".to_owned(), Quantity(format!("{MEMORY_REQUEST_MIB}Mi"))),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(format!("{MEMORY_LIMIT_MIB}Mi")),
        )])),
        ..ResourceRequirements::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_says_why() {
        assert!(rules().iter().all(|(_, why)| !why.is_empty()));
    }

    #[test]
    fn update_only_where_the_agent_replaces_and_no_wildcard() {
        for (rule, why) in rules() {
            let resources = rule.resources.clone().unwrap_or_default();
            assert!(!rule.verbs.iter().any(|v| v == "*"), "{why}");
            assert!(!resources.iter().any(|r| r == "*"), "{why}");
            if rule.verbs.iter().any(|v| v == "update") {
                assert!(
                    resources.iter().all(|r| r.ends_with("/status") || r == "leases"),
                    "update on {resources:?}: {why}"
                );
            }
        }
    }

    #[test]
    fn installs_namespace_crds_identity_and_the_deployment_in_order() {
        let objects = objects("localhost/kratix-agent:v1", HTTP_PORT);
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert_eq!(kinds[0], "Namespace");
        assert_eq!(
            kinds[kinds.len() - 4..],
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Deployment"
            ]
        );
        let deployment = objects.last().expect("deployment");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"],
            "localhost/kratix-agent:v1"
        );
        assert_eq!(deployment["metadata"]["namespace"], "kratix-platform-system");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "256Mi"
        );
    }
}

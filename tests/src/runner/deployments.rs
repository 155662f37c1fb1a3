//! The Deployment controller: keep `replicas` live pods of the current template.
//! Pods are owned by the Deployment directly (there are no ReplicaSets here).

use super::pod_state::{is_finished, is_ready};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

pub const DEPLOYMENT_UID_LABEL: &str = "testenv.kratix.io/deployment-uid";
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentPlan {
    pub create_pods: usize,
    pub delete_pods: Vec<String>,
    pub status: Option<DeploymentStatus>,
}

/// A short hash of the pod template, so template changes replace pods.
pub fn template_hash(deployment: &Deployment) -> String {
    let template = &deployment.spec.template;
    let text = serde_json::to_string(&template).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", hash & 0xff_ffff_ffff)
}

pub fn plan(deployment: &Deployment, pods: &[Pod], now: &Time) -> DeploymentPlan {
    let replicas = deployment.spec.replicas.unwrap_or(1).max(0) as usize;
    let hash = template_hash(deployment);
    let mut plan = DeploymentPlan::default();
    let mut live: Vec<&Pod> = Vec::new();
    for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
        let current = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(TEMPLATE_HASH_LABEL))
            == Some(&hash);
        if !current || is_finished(pod) {
            plan.delete_pods.extend(pod.metadata.name.clone());
        } else {
            live.push(pod);
        }
    }
    if live.len() > replicas {
        live.sort_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp));
        for pod in live.drain(replicas..) {
            plan.delete_pods.extend(pod.metadata.name.clone());
        }
    }
    plan.create_pods = replicas - live.len();
    let ready = live.iter().filter(|p| is_ready(p)).count() as i32;
    let available = ready as usize >= replicas;
    let current = deployment.status.clone().unwrap_or_default();
    let condition = |type_: &str, ok: bool, reason: &str, message: &str| {
        let status = if ok { "True" } else { "False" };
        let previous = current
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_.as_deref() == Some(type_) && c.status.as_deref() == Some(status));
        DeploymentCondition {
            type_: Some(type_.to_owned()),
            status: Some(status.to_owned()),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_transition_time: previous
                .and_then(|c| c.last_transition_time.clone())
                .or_else(|| Some(now.clone())),
            last_update_time: previous
                .and_then(|c| c.last_update_time.clone())
                .or_else(|| Some(now.clone())),
        }
    };
    let status = DeploymentStatus {
        observed_generation: deployment.metadata.generation,
        replicas: Some(live.len() as i32),
        updated_replicas: Some(live.len() as i32),
        ready_replicas: Some(ready),
        available_replicas: Some(ready),
        unavailable_replicas: Some((replicas as i32 - ready).max(0)),
        conditions: Some(vec![
            if available {
                condition(
                    "Available",
                    true,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            } else {
                condition(
                    "Available",
                    false,
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            },
            condition(
                "Progressing",
                true,
                "NewReplicaSetAvailable",
                "Pods of the current template are running.",
            ),
        ]),
        ..DeploymentStatus::default()
    };
    if status != current {
        plan.status = Some(status);
    }
    plan
}

pub fn pod_for(deployment: &Deployment, suffix: &str) -> Pod {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let uid = deployment.metadata.uid.clone().unwrap_or_default();
    let hash = template_hash(deployment);
    let template = deployment.spec.template.clone();
    let template_meta = template.metadata.unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.insert(DEPLOYMENT_UID_LABEL.to_owned(), uid.clone());
    labels.insert(TEMPLATE_HASH_LABEL.to_owned(), hash.clone());
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}-{suffix}")),
            namespace: deployment.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: template_meta.annotations,
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".to_owned(),
                kind: "Deployment".to_owned(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::api::core::v1::PodStatus;
    use std::collections::BTreeMap;

    fn now() -> Time {
        serde_json::from_value(serde_json::json!("2026-01-01T00:00:00Z")).expect("time")
    }

    fn deployment(replicas: i32) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("agent".into()),
                uid: Some("d1".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: DeploymentSpec {
                replicas: Some(replicas),
                ..Default::default()
            },
            status: None,
        }
    }

    fn pod(name: &str, hash: &str, phase: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(
                    TEMPLATE_HASH_LABEL.to_owned(),
                    hash.to_owned(),
                )])),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn creates_missing_replicas() {
        assert_eq!(plan(&deployment(2), &[], &now()).create_pods, 2);
    }

    #[test]
    fn replaces_dead_pods_and_pods_of_an_old_template() {
        let d = deployment(1);
        let hash = template_hash(&d);
        let plan = plan(
            &d,
            &[pod("dead", &hash, "Failed"), pod("old", "other", "Running")],
            &now(),
        );
        assert_eq!(plan.delete_pods, ["dead", "old"]);
        assert_eq!(plan.create_pods, 1);
    }

    #[test]
    fn scales_down_extra_pods() {
        let d = deployment(1);
        let hash = template_hash(&d);
        let plan = plan(
            &d,
            &[pod("a", &hash, "Running"), pod("b", &hash, "Running")],
            &now(),
        );
        assert_eq!(plan.delete_pods.len(), 1);
        assert_eq!(plan.create_pods, 0);
    }
}

//! The Job controller: what a Job needs next, decided from the Job and its pods.

use std::collections::BTreeMap;

use super::pod_state::{is_finished, is_ready, phase};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

/// Kubernetes' default `backoffLimit`.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";

/// What to do for one Job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobPlan {
    pub create_pod: bool,
    /// Pods to delete (suspension, completion, failure).
    pub delete_pods: Vec<String>,
    /// The status to write, when it changed.
    pub status: Option<JobStatus>,
}

fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !is_finished(pod)
}

fn restarts(pod: &Pod) -> i32 {
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_ref());
    let main = status.and_then(|s| s.container_statuses.as_ref());
    init.into_iter()
        .chain(main)
        .flatten()
        .map(|c| c.restart_count)
        .sum()
}

fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status
        .conditions
        .as_ref()
        .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &Time) -> JobCondition {
    JobCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// Replaces (or adds) a condition, keeping its transition time when its status is unchanged.
fn set_condition(conditions: &mut Vec<JobCondition>, new: JobCondition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) if existing.status == new.status => {
            existing.reason = new.reason;
            existing.message = new.message;
        }
        Some(existing) => *existing = new,
        None => conditions.push(new),
    }
}

/// Decides the next step for `job` given the pods it owns.
pub fn plan(job: &Job, pods: &[Pod], now: &Time) -> JobPlan {
    let spec = job.spec.clone().unwrap_or_default();
    let current = job.status.clone().unwrap_or_default();
    let mut status = current.clone();
    let mut plan = JobPlan::default();
    let active: Vec<&Pod> = pods.iter().filter(|p| is_active(p)).collect();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i32;
    let failed_pods = pods.iter().filter(|p| phase(p) == "Failed").count() as i32;
    let failures = failed_pods + active.iter().map(|p| restarts(p)).sum::<i32>();
    let backoff_limit = spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
    let mut conditions = status.conditions.clone().unwrap_or_default();

    if has_condition(&current, "Complete") || has_condition(&current, "Failed") {
        plan.delete_pods = active.iter().filter_map(|p| p.metadata.name.clone()).collect();
        return plan;
    }
    status.succeeded = Some(succeeded);
    status.failed = Some(failed_pods);
    if spec.suspend == Some(true) {
        plan.delete_pods = active.iter().filter_map(|p| p.metadata.name.clone()).collect();
        status.active = Some(0);
        status.ready = Some(0);
        status.start_time = None;
        set_condition(
            &mut conditions,
            condition("Suspended", "True", "JobSuspended", "Job suspended", now),
        );
    } else if succeeded >= 1 {
        plan.delete_pods = active.iter().filter_map(|p| p.metadata.name.clone()).collect();
        status.active = Some(0);
        status.ready = Some(0);
        status.completion_time = Some(now.clone());
        let message = "Reached expected number of succeeded pods";
        set_condition(
            &mut conditions,
            condition("SuccessCriteriaMet", "True", "CompletionsReached", message, now),
        );
        set_condition(
            &mut conditions,
            condition("Complete", "True", "CompletionsReached", message, now),
        );
    } else if failures > backoff_limit {
        plan.delete_pods = active.iter().filter_map(|p| p.metadata.name.clone()).collect();
        status.active = Some(0);
        status.ready = Some(0);
        // Pods killed for the failure count as failed.
        status.failed = Some(failed_pods + active.len() as i32);
        let message = "Job has reached the specified backoff limit";
        set_condition(
            &mut conditions,
            condition("FailureTarget", "True", "BackoffLimitExceeded", message, now),
        );
        set_condition(
            &mut conditions,
            condition("Failed", "True", "BackoffLimitExceeded", message, now),
        );
    } else {
        if conditions
            .iter()
            .any(|c| c.type_ == "Suspended" && c.status == "True")
        {
            set_condition(
                &mut conditions,
                condition("Suspended", "False", "JobResumed", "Job resumed", now),
            );
        }
        if status.start_time.is_none() {
            status.start_time = Some(now.clone());
        }
        plan.create_pod = active.is_empty();
        status.active = Some(active.len() as i32 + i32::from(plan.create_pod));
        status.ready = Some(active.iter().filter(|p| is_ready(p)).count() as i32);
    }
    status.conditions = (!conditions.is_empty()).then_some(conditions);
    if status != current {
        plan.status = Some(status);
    }
    plan
}

/// The pod a Job runs: its template, labelled and owned as the Job controller does.
pub fn pod_for(job: &Job, suffix: &str) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let template: PodTemplateSpec = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let mut labels: BTreeMap<String, String> = template_meta.labels.unwrap_or_default();
    labels.insert(CONTROLLER_UID_LABEL.to_owned(), uid.clone());
    labels.insert(JOB_NAME_LABEL.to_owned(), name.clone());
    labels.insert("controller-uid".to_owned(), uid.clone());
    labels.insert("job-name".to_owned(), name.clone());
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{suffix}")),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: template_meta.annotations,
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".to_owned(),
                kind: "Job".to_owned(),
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
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};
    use serde_json::json;

    fn now() -> Time {
        serde_json::from_value(json!("2026-01-01T00:00:00Z")).expect("time")
    }

    fn job(backoff_limit: Option<i32>, suspend: Option<bool>) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some("j".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                backoff_limit,
                suspend,
                ..Default::default()
            }),
            status: None,
        }
    }

    fn pod(name: &str, phase: &str, restarts: i32) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                container_statuses: Some(vec![ContainerStatus {
                    restart_count: restarts,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn condition_types(plan: &JobPlan) -> Vec<String> {
        plan.status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.status == "True")
            .map(|c| c.type_)
            .collect()
    }

    #[test]
    fn a_new_job_gets_a_pod_and_a_start_time() {
        let plan = plan(&job(None, None), &[], &now());
        assert!(plan.create_pod);
        let status = plan.status.expect("status");
        assert_eq!(status.active, Some(1));
        assert_eq!(status.start_time, Some(now()));
    }

    #[test]
    fn a_running_pod_is_waited_for() {
        let plan = plan(&job(None, None), &[pod("p", "Running", 0)], &now());
        assert!(!plan.create_pod);
        assert!(plan.delete_pods.is_empty());
    }

    #[test]
    fn a_succeeded_pod_completes_the_job() {
        let plan = plan(&job(None, None), &[pod("p", "Succeeded", 0)], &now());
        assert_eq!(condition_types(&plan), ["SuccessCriteriaMet", "Complete"]);
        let status = plan.status.expect("status");
        assert_eq!((status.succeeded, status.active), (Some(1), Some(0)));
        assert_eq!(status.completion_time, Some(now()));
    }

    #[test]
    fn failed_pods_beyond_the_backoff_limit_fail_the_job() {
        let pods = [pod("a", "Failed", 0), pod("b", "Failed", 0)];
        let retry = plan(&job(Some(2), None), &pods, &now());
        assert!(retry.create_pod, "two failures, limit two: one more try");
        let pods = [
            pod("a", "Failed", 0),
            pod("b", "Failed", 0),
            pod("c", "Failed", 0),
        ];
        let failed = plan(&job(Some(2), None), &pods, &now());
        assert!(!failed.create_pod);
        assert_eq!(condition_types(&failed), ["FailureTarget", "Failed"]);
        assert_eq!(failed.status.and_then(|s| s.failed), Some(3));
    }

    #[test]
    fn restarts_in_place_count_as_failures() {
        let plan = plan(&job(Some(1), None), &[pod("p", "Running", 2)], &now());
        assert_eq!(condition_types(&plan), ["FailureTarget", "Failed"]);
        assert_eq!(plan.delete_pods, ["p"]);
        assert_eq!(plan.status.and_then(|s| s.failed), Some(1));
    }

    #[test]
    fn suspension_deletes_active_pods_and_resuming_runs_again() {
        let suspended = plan(&job(None, Some(true)), &[pod("p", "Running", 0)], &now());
        assert_eq!(suspended.delete_pods, ["p"]);
        assert_eq!(condition_types(&suspended), ["Suspended"]);
        let mut resumed_job = job(None, Some(false));
        resumed_job.status = suspended.status;
        let resumed = plan(&resumed_job, &[], &now());
        assert!(resumed.create_pod);
        let conditions = resumed.status.and_then(|s| s.conditions).unwrap_or_default();
        assert_eq!(conditions[0].reason.as_deref(), Some("JobResumed"));
        assert_eq!(conditions[0].status, "False");
    }

    #[test]
    fn finished_jobs_are_left_alone() {
        let mut done = job(None, None);
        done.status = plan(&done, &[pod("p", "Succeeded", 0)], &now()).status;
        let again = plan(&done, &[pod("p", "Succeeded", 0)], &now());
        assert_eq!(again, JobPlan::default());
    }

    #[test]
    fn pods_are_labelled_and_owned_like_the_job_controller_does() {
        let pod = pod_for(&job(None, None), "abcde");
        assert_eq!(pod.metadata.name.as_deref(), Some("j-abcde"));
        let labels = pod.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get(CONTROLLER_UID_LABEL).map(String::as_str), Some("u1"));
        assert_eq!(labels.get("job-name").map(String::as_str), Some("j"));
        let owner = &pod.metadata.owner_references.unwrap_or_default()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
    }
}

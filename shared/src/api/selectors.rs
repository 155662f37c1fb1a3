//! Which objects belong to what, as label selectors (kube's `Selector`): a
//! Promise's and a request's workflow Jobs, their Works, a Work's
//! placements, what the agent made for a Promise. Every list and watch the
//! agent and the plugin make by label takes its selector from here, so the
//! labels written (`render`) and the labels read agree in one place.

use kube::core::{Expression, Selector};

use crate::api::labels;
use crate::api::workflow::{WorkflowAction, WorkflowType};

fn equal(key: &str, value: &str) -> Expression {
    Expression::Equal(key.to_owned(), value.to_owned())
}

/// Objects the agent made for Promise `promise` (its RBAC, service accounts,
/// ConfigMaps, Works).
pub fn of_promise(promise: &str) -> Selector {
    Selector::from(equal(labels::PROMISE_NAME, promise))
}

/// Jobs of one workflow type, whichever object they ran for (for watches).
pub fn jobs_of_type(workflow_type: WorkflowType) -> Selector {
    Selector::from(equal(labels::WORKFLOW_TYPE, workflow_type.as_str()))
}

/// Works of one kind (`promise` or `resource`), for watches.
pub fn works_of_type(work_type: WorkflowType) -> Selector {
    Selector::from(equal(labels::WORK_TYPE, work_type.as_str()))
}

/// The Jobs of Promise `promise`'s own workflows, for the Promise with `uid`,
/// of one action or both.
pub fn promise_jobs(promise: &str, uid: &str, action: Option<WorkflowAction>) -> Selector {
    let mut selector: Selector = [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::WORKFLOW_TYPE, WorkflowType::Promise.as_str()),
        equal(labels::OBJECT_UID, uid),
    ]
    .into_iter()
    .collect();
    if let Some(action) = action {
        selector.extend([equal(labels::WORKFLOW_ACTION, action.as_str())]);
    }
    selector
}

/// The Jobs of the requests of Promise `promise`, all of them or one action's.
pub fn resource_jobs(promise: &str, action: Option<WorkflowAction>) -> Selector {
    let mut selector: Selector = [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::WORKFLOW_TYPE, WorkflowType::Resource.as_str()),
    ]
    .into_iter()
    .collect();
    if let Some(action) = action {
        selector.extend([equal(labels::WORKFLOW_ACTION, action.as_str())]);
    }
    selector
}

/// The Jobs of request `request` (with `uid`) of Promise `promise`, of one
/// action or both.
pub fn request_jobs(promise: &str, request: &str, uid: &str, action: Option<WorkflowAction>) -> Selector {
    let mut selector = resource_jobs(promise, action);
    selector.extend([
        equal(labels::RESOURCE_NAME, request),
        equal(labels::OBJECT_UID, uid),
    ]);
    selector
}

/// `selector` without the object's UID: the Jobs Kratix ran for an object
/// carry no such label, and taking over its records needs them.
pub fn without_uid(selector: &Selector) -> Selector {
    selector
        .clone()
        .into_iter()
        .filter(|e| !matches!(e, Expression::Equal(key, _) if key == labels::OBJECT_UID))
        .collect()
}

/// The Works of Promise `promise`'s own workflows.
pub fn promise_works(promise: &str) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::WORK_TYPE, WorkflowType::Promise.as_str()),
    ]
    .into_iter()
    .collect()
}

/// The Works of request `request` of Promise `promise` (same-named requests
/// of other namespaces share a pipelineNamespace: see `request_status::own_works`).
pub fn request_works(promise: &str, request: &str) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::RESOURCE_NAME, request),
        equal(labels::WORK_TYPE, WorkflowType::Resource.as_str()),
    ]
    .into_iter()
    .collect()
}

/// Every Work labelled for request `request` of Promise `promise`, whatever
/// its type: a cleanup takes them all.
pub fn all_request_works(promise: &str, request: &str) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::RESOURCE_NAME, request),
    ]
    .into_iter()
    .collect()
}

/// Every Work of a request of Promise `promise` (any request).
pub fn any_request_works(promise: &str) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        Expression::Exists(labels::RESOURCE_NAME.to_owned()),
    ]
    .into_iter()
    .collect()
}

/// The user RBAC the agent made for one pipeline of one workflow of Promise
/// `promise` in namespace `pipeline_namespace`.
pub fn pipeline_rbac(
    promise: &str,
    pipeline: &str,
    pipeline_namespace: &str,
    workflow_type: WorkflowType,
    action: WorkflowAction,
) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        equal(labels::PIPELINE_NAME, pipeline),
        equal(labels::PIPELINE_NAMESPACE, pipeline_namespace),
        equal(labels::WORKFLOW_TYPE, workflow_type.as_str()),
        equal(labels::WORKFLOW_ACTION, action.as_str()),
    ]
    .into_iter()
    .collect()
}

/// Everything Kratix's pipelines made (Jobs, pods), of one Promise or all.
pub fn pipeline_objects(promise: Option<&str>) -> Selector {
    let mut selector = Selector::from(equal(labels::MANAGED_BY, labels::MANAGED_BY_KRATIX));
    if let Some(promise) = promise {
        selector.extend([equal(labels::PROMISE_NAME, promise)]);
    }
    selector
}

/// The workflow Jobs of one object as Kratix labels them (without the
/// agent's UID label, which Kratix's own Jobs lack): Promise `promise`'s own
/// when `request` is none, else request `(name, namespace)`'s. The namespace
/// is given only when the request's pipelines run in a shared
/// `pipelineNamespace`, where same-named requests of other namespaces run too.
pub fn object_jobs(promise: &str, request: Option<(&str, Option<&str>)>) -> Selector {
    let mut selector = pipeline_objects(Some(promise));
    let Some((name, namespace)) = request else {
        selector.extend([equal(labels::WORKFLOW_TYPE, WorkflowType::Promise.as_str())]);
        return selector;
    };
    selector.extend([
        equal(labels::WORKFLOW_TYPE, WorkflowType::Resource.as_str()),
        equal(labels::RESOURCE_NAME, name),
    ]);
    if let Some(namespace) = namespace {
        selector.extend([equal(labels::RESOURCE_NAMESPACE, namespace)]);
    }
    selector
}

/// The Works of Promise `promise` that belong to no request: its own
/// workflows' and its dependencies'.
pub fn promise_and_dependency_works(promise: &str) -> Selector {
    [
        equal(labels::PROMISE_NAME, promise),
        Expression::DoesNotExist(labels::RESOURCE_NAME.to_owned()),
    ]
    .into_iter()
    .collect()
}

/// The WorkPlacements of Work `work`.
pub fn placements_of(work: &str) -> Selector {
    Selector::from(equal(labels::WORK, work))
}

/// The WorkPlacements scheduled to Destination `destination`.
pub fn placements_on(destination: &str) -> Selector {
    Selector::from(equal(labels::TARGET_DESTINATION_NAME, destination))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::SelectorExt as _;

    use crate::api::labels::from_pairs as labels;

    #[test]
    fn a_requests_jobs_are_told_from_its_namesakes_and_its_promises() {
        let job = labels(&[
            (labels::PROMISE_NAME, "redis"),
            (labels::WORKFLOW_TYPE, "resource"),
            (labels::WORKFLOW_ACTION, "configure"),
            (labels::RESOURCE_NAME, "orders"),
            (labels::OBJECT_UID, "u1"),
        ]);
        assert!(request_jobs("redis", "orders", "u1", None).matches(&job));
        assert!(request_jobs("redis", "orders", "u1", Some(WorkflowAction::Configure)).matches(&job));
        assert!(!request_jobs("redis", "orders", "u1", Some(WorkflowAction::Delete)).matches(&job));
        assert!(!request_jobs("redis", "orders", "u2", None).matches(&job));
        assert!(resource_jobs("redis", None).matches(&job));
        assert!(!promise_jobs("redis", "u1", None).matches(&job));
        assert!(without_uid(&request_jobs("redis", "orders", "u2", None)).matches(&job));
    }

    #[test]
    fn selectors_read_as_kubectl_writes_them() {
        assert_eq!(
            promise_jobs("redis", "u1", Some(WorkflowAction::Configure)).to_string(),
            "kratix.io/promise-name=redis,kratix.io/workflow-type=promise,agent.kratix.io/object-uid=u1,kratix.io/workflow-action=configure"
        );
        assert_eq!(
            any_request_works("redis").to_string(),
            "kratix.io/promise-name=redis,kratix.io/resource-name"
        );
        assert_eq!(
            placements_on("dev").to_string(),
            "kratix.io/targetDestinationName=dev"
        );
    }

    #[test]
    fn an_objects_jobs_are_told_from_its_namesakes_in_a_shared_namespace() {
        let job = labels(&[
            (labels::MANAGED_BY, labels::MANAGED_BY_KRATIX),
            (labels::PROMISE_NAME, "redis"),
            (labels::WORKFLOW_TYPE, "resource"),
            (labels::RESOURCE_NAME, "orders"),
            (labels::RESOURCE_NAMESPACE, "team-a"),
        ]);
        assert!(object_jobs("redis", Some(("orders", None))).matches(&job));
        assert!(object_jobs("redis", Some(("orders", Some("team-a")))).matches(&job));
        assert!(!object_jobs("redis", Some(("orders", Some("team-b")))).matches(&job));
        assert!(!object_jobs("redis", None).matches(&job));
        assert!(pipeline_objects(Some("redis")).matches(&job) && pipeline_objects(None).matches(&job));
        assert!(!pipeline_objects(Some("kafka")).matches(&job));
        assert_eq!(
            object_jobs("redis", None).to_string(),
            "app.kubernetes.io/managed-by=Kratix,kratix.io/promise-name=redis,kratix.io/workflow-type=promise"
        );
    }

    #[test]
    fn a_promises_works_are_not_its_requests() {
        let promise_work = labels(&[(labels::PROMISE_NAME, "redis"), (labels::WORK_TYPE, "promise")]);
        let request_work = labels(&[
            (labels::PROMISE_NAME, "redis"),
            (labels::WORK_TYPE, "resource"),
            (labels::RESOURCE_NAME, "orders"),
        ]);
        assert!(promise_works("redis").matches(&promise_work));
        assert!(!promise_works("redis").matches(&request_work));
        assert!(request_works("redis", "orders").matches(&request_work));
        assert!(any_request_works("redis").matches(&request_work));
        assert!(!any_request_works("redis").matches(&promise_work));
        assert!(of_promise("redis").matches(&promise_work) && of_promise("redis").matches(&request_work));
        let dependency_work = labels(&[
            (labels::PROMISE_NAME, "redis"),
            (labels::WORK_TYPE, "static-dependency"),
        ]);
        assert!(promise_and_dependency_works("redis").matches(&dependency_work));
        assert!(promise_and_dependency_works("redis").matches(&promise_work));
        assert!(!promise_and_dependency_works("redis").matches(&request_work));
    }
}

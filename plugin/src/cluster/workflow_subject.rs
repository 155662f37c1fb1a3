//! The object a workflow runs for: a Promise's own, or one of its requests.
//! `workflows status`, `trigger` and `logs` ask the same of it: what to call
//! it, where its Jobs run and which labels pick them, and how to read or
//! label it again.

use anyhow::Result;
use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType, selectors};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::Selector;
use serde_json::Value;

use crate::cluster::kratix_objects::{self as objects, LivePromise, LiveRequest};
use crate::cluster::{Cluster, explain};

pub struct WorkflowSubject<'p> {
    pub promise: &'p LivePromise,
    /// None: the Promise's own workflow.
    pub request: Option<LiveRequest>,
}

impl<'p> WorkflowSubject<'p> {
    pub fn of_promise(promise: &'p LivePromise) -> Self {
        WorkflowSubject {
            promise,
            request: None,
        }
    }

    pub fn of_request(promise: &'p LivePromise, request: LiveRequest) -> Self {
        WorkflowSubject {
            promise,
            request: Some(request),
        }
    }

    pub fn workflow_type(&self) -> WorkflowType {
        match self.request {
            Some(_) => WorkflowType::Resource,
            None => WorkflowType::Promise,
        }
    }

    /// The object whose status records its runs.
    pub fn object(&self) -> &Value {
        self.request.as_ref().map_or(&self.promise.object, |r| &r.object)
    }

    pub fn name(&self) -> &str {
        self.request.as_ref().map_or(&self.promise.name, |r| &r.name)
    }

    pub fn is_paused(&self) -> bool {
        self.request
            .as_ref()
            .map_or_else(|| self.promise.is_paused(), LiveRequest::is_paused)
    }

    /// How messages name it: `promise/NAME`, or `KIND/NAME in NAMESPACE`.
    pub fn describe(&self) -> String {
        let Some(request) = &self.request else {
            return format!("promise/{}", self.promise.name);
        };
        let kind = self
            .promise
            .api
            .as_ref()
            .map_or_else(|| "request".to_owned(), |api| api.kind.to_ascii_lowercase());
        if request.namespace.is_empty() {
            format!("{kind}/{}", request.name)
        } else {
            format!("{kind}/{} in {}", request.name, request.namespace)
        }
    }

    /// The namespace its pipeline Jobs run in.
    pub fn jobs_namespace(&self) -> String {
        let spec = self.promise.spec.clone().unwrap_or_default();
        let request_namespace = match &self.request {
            Some(request) if !request.namespace.is_empty() => request.namespace.as_str(),
            _ => "default",
        };
        kratix_shared::render::job_namespace(&spec, self.workflow_type(), request_namespace)
    }

    /// The labels that pick its Jobs in [`Self::jobs_namespace`]; in a shared
    /// `pipelineNamespace` a request's by its namespace too, since the Jobs of
    /// same-named requests from other namespaces run there.
    pub fn jobs_selector(&self) -> Selector {
        let request = self.request.as_ref().map(|request| {
            let shared_namespace = self
                .promise
                .spec
                .as_ref()
                .is_some_and(|spec| spec.pipeline_namespace().is_some());
            let namespace =
                (shared_namespace && !request.namespace.is_empty()).then_some(request.namespace.as_str());
            (request.name.as_str(), namespace)
        });
        selectors::object_jobs(&self.promise.name, request)
    }

    /// Its pipeline Jobs, of every run still kept.
    pub async fn jobs(&self, cluster: &Cluster) -> Result<Vec<Job>> {
        let namespace = self.jobs_namespace();
        let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &namespace);
        let listed = jobs
            .list(&ListParams::default().labels_from(&self.jobs_selector()))
            .await
            .map_err(|e| explain(&e, cluster, &format!("listing the pipeline Jobs in {namespace}")))?;
        Ok(listed.items)
    }

    /// The names of its pipelines for `action`, in order.
    pub fn pipeline_names(&self, action: WorkflowAction) -> Vec<String> {
        objects::pipeline_names(
            self.promise,
            Workflow {
                workflow_type: self.workflow_type(),
                action,
            },
        )
    }

    /// The API to read or label the object again through.
    pub fn api(&self, cluster: &Cluster) -> Api<DynamicObject> {
        let client = cluster.client.clone();
        match (&self.request, &self.promise.api) {
            (Some(request), Some(api)) => {
                let resource = objects::request_resource(api);
                if api.namespaced {
                    Api::namespaced_with(client, &request.namespace, &resource)
                } else {
                    Api::all_with(client, &resource)
                }
            }
            _ => Api::all_with(client, &objects::promise_resource()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kratix_shared::api::labels;
    use kube::core::SelectorExt as _;
    use serde_json::json;

    fn promise(pipeline_namespace: Option<&str>) -> LivePromise {
        let mut object = json!({
            "apiVersion": labels::API_VERSION,
            "kind": "Promise",
            "metadata": {"name": "redis"},
            "spec": {"api": {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "redises.example.com"},
                "spec": {
                    "group": "example.com",
                    "names": {"kind": "Redis", "plural": "redises", "singular": "redis"},
                    "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object"}}}]
                }
            }}
        });
        if let Some(namespace) = pipeline_namespace {
            object["spec"]["workflows"] = json!({"config": {"pipelineNamespace": namespace}});
        }
        let object: DynamicObject = serde_json::from_value(object).expect("a Promise object");
        objects::live(&object).expect("a live Promise")
    }

    fn request(namespace: &str) -> LiveRequest {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "example.com/v1",
            "kind": "Redis",
            "metadata": {"name": "orders", "namespace": namespace, "labels": {labels::PAUSED: "true"}},
        }))
        .expect("a request object");
        LiveRequest::new(&object).expect("a live request")
    }

    fn job_labels(resource_namespace: &str) -> std::collections::BTreeMap<String, String> {
        [
            (labels::MANAGED_BY, labels::MANAGED_BY_KRATIX),
            (labels::PROMISE_NAME, "redis"),
            (labels::WORKFLOW_TYPE, "resource"),
            (labels::RESOURCE_NAME, "orders"),
            (labels::RESOURCE_NAMESPACE, resource_namespace),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn a_requests_jobs_run_beside_it_unless_a_pipeline_namespace_gathers_them() {
        let own = promise(None);
        let subject = WorkflowSubject::of_request(&own, request("team-a"));
        assert_eq!(subject.jobs_namespace(), "team-a");
        // Beside the request, its namesakes' Jobs are in other namespaces.
        assert!(subject.jobs_selector().matches(&job_labels("team-b")));
        assert_eq!(subject.describe(), "redis/orders in team-a");
        assert!(subject.is_paused());

        let shared = promise(Some("pipelines"));
        let subject = WorkflowSubject::of_request(&shared, request("team-a"));
        assert_eq!(subject.jobs_namespace(), "pipelines");
        assert!(subject.jobs_selector().matches(&job_labels("team-a")));
        assert!(!subject.jobs_selector().matches(&job_labels("team-b")));
    }

    #[test]
    fn a_promises_own_workflow_runs_in_the_system_namespace() {
        let own = promise(None);
        let subject = WorkflowSubject::of_promise(&own);
        assert_eq!(subject.workflow_type(), WorkflowType::Promise);
        assert_eq!(subject.jobs_namespace(), labels::SYSTEM_NAMESPACE);
        assert_eq!(subject.describe(), "promise/redis");
        assert_eq!(subject.name(), "redis");
        assert!(!subject.is_paused());
        assert!(!subject.jobs_selector().matches(&job_labels("team-a")));
    }
}

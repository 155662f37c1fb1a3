//! The object a workflow runs for, as a run reads and writes it: a Promise's
//! own, or one of its requests. The Promise and request controllers each
//! describe theirs here; [`super::Run`] asks nothing else about it.

use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::WorkflowAction;
use kratix_shared::api::resource_api::ResourceApi;
use kratix_shared::api::selectors;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::Selector;
use serde_json::Value;

pub struct WorkflowSubject<'a> {
    /// The object's API, for its status and labels.
    pub api: &'a Api<DynamicObject>,
    pub api_resource: &'a ApiResource,
    /// Read fresh at the start of the reconcile.
    pub object: &'a DynamicObject,
    /// Its Promise as JSON (the object itself for a Promise's own workflow).
    pub promise: &'a Value,
    pub promise_name: &'a str,
    /// For a request: the request as JSON and its Promise's API.
    pub request: Option<(&'a Value, &'a ResourceApi)>,
    /// Where its pipeline Jobs run.
    pub jobs_namespace: String,
}

impl WorkflowSubject<'_> {
    /// Where its pipeline Jobs run, as an API.
    pub fn jobs(&self, client: &kube::Client) -> Api<Job> {
        Api::namespaced(client.clone(), &self.jobs_namespace)
    }

    /// Selects its Jobs (`action`: of one action only) by its UID, so a
    /// same-named object elsewhere (sharing a `pipelineNamespace`), one
    /// labelled alike by anyone else, or a deleted one's leftovers never count.
    pub fn job_selector(&self, action: Option<WorkflowAction>) -> Selector {
        let uid = self.object.uid().unwrap_or_default();
        match self.request {
            None => selectors::promise_jobs(self.promise_name, &uid, action),
            Some(_) => selectors::request_jobs(self.promise_name, &self.object.name_any(), &uid, action),
        }
    }
}

//! Whether a Work may be scheduled at all, and under which namespace a resource
//! Work's files are laid out. A Work is written by pipeline code (any code that
//! runs as a pipeline's service account can write one), and where its files land
//! comes from what it names, so the Work must be where that Promise's workflow
//! would have written it. Pure: the agent passes the Work and its Promise.

use std::collections::BTreeMap;

use crate::api::conditions::{messages, status as state, types};
use crate::api::labels;
use crate::api::work::WorkSpec;
use crate::workflow::conditions::Condition;

/// The reason on a refused Work's `ScheduleSucceeded` and `Ready` conditions.
pub const WORK_REFUSED: &str = "WorkRefused";

/// What the origin check needs of the Promise a Work names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamedPromise<'a> {
    /// `spec.workflows.config.pipelineNamespace`, when set and not empty.
    pub pipeline_namespace: Option<&'a str>,
}

/// The Work's identity as the scheduler sees it.
#[derive(Debug, Clone, Copy)]
pub struct WorkOrigin<'a> {
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub spec: &'a WorkSpec,
}

impl WorkOrigin<'_> {
    /// A resource Work's request namespace: its `kratix.io/resource-namespace`
    /// label when the Work was written in a Promise's `pipelineNamespace`, its own
    /// namespace otherwise. `None` for dependency Works.
    pub fn request_namespace(&self) -> Option<&str> {
        if self.spec.resource_name.is_empty() {
            return None;
        }
        Some(
            self.labels
                .get(labels::RESOURCE_NAMESPACE)
                .map(String::as_str)
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or(self.namespace),
        )
    }

    /// Why this Work may not be scheduled, or `None` when it may. `promise` is the
    /// Promise the Work names, `None` when there is no such Promise.
    pub fn problem(&self, promise: Option<NamedPromise<'_>>) -> Option<String> {
        let spec = self.spec;
        for (label, value) in [
            (labels::PROMISE_NAME, &spec.promise_name),
            (labels::RESOURCE_NAME, &spec.resource_name),
        ] {
            if let Some(labelled) = self.labels.get(label).filter(|l| *l != value) {
                return Some(format!(
                    "label {label} is {labelled:?} but the spec names {value:?}; a Work's labels must agree with its spec"
                ));
            }
        }
        let Some(promise) = promise else {
            return Some(format!(
                "spec.promiseName names Promise {:?}, which does not exist",
                spec.promise_name
            ));
        };
        let pipeline_namespace = promise.pipeline_namespace.filter(|ns| !ns.is_empty());
        if spec.resource_name.is_empty() {
            // Static dependencies are written to the system namespace, the Promise's
            // own workflows to its job namespace.
            let allowed = [Some(labels::SYSTEM_NAMESPACE), pipeline_namespace];
            return (!allowed.contains(&Some(self.namespace))).then(|| {
                format!(
                    "a dependency Work of Promise {:?} (no spec.resourceName) counts only in namespace {}, where its Promise workflows run; this one is in {}",
                    spec.promise_name,
                    pipeline_namespace.unwrap_or(labels::SYSTEM_NAMESPACE),
                    self.namespace
                )
            });
        }
        let labelled_namespace = self.labels.get(labels::RESOURCE_NAMESPACE);
        match (pipeline_namespace, labelled_namespace) {
            (Some(expected), _) if expected != self.namespace => Some(format!(
                "Promise {:?} runs its workflows in namespace {expected}, so its resource Works count only there; this one is in {}",
                spec.promise_name, self.namespace
            )),
            (Some(_), None) => Some(format!(
                "a resource Work written in Promise {:?}'s pipelineNamespace needs the label {} naming its request's namespace",
                spec.promise_name,
                labels::RESOURCE_NAMESPACE
            )),
            (None, Some(labelled)) if labelled != self.namespace => Some(format!(
                "label {} is {labelled:?}, but Promise {:?} has no pipelineNamespace, so its request lives in the Work's own namespace {}",
                labels::RESOURCE_NAMESPACE,
                spec.promise_name,
                self.namespace
            )),
            _ => None,
        }
    }
}

/// The conditions of a refused Work: nothing of it is placed, and whoever reads
/// its `Ready` message (request and Promise status) sees it failing.
pub fn refused_conditions(problem: &str) -> (Condition, Condition) {
    (
        Condition {
            type_: types::SCHEDULE_SUCCEEDED,
            status: state::FALSE,
            reason: WORK_REFUSED,
            message: format!("Not scheduled: {problem}"),
        },
        Condition {
            type_: types::READY,
            status: state::FALSE,
            reason: WORK_REFUSED,
            message: messages::FAILING.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(promise: &str, resource: &str) -> WorkSpec {
        WorkSpec {
            promise_name: promise.to_owned(),
            resource_name: resource.to_owned(),
            ..WorkSpec::default()
        }
    }

    fn promise(pipeline_namespace: Option<&str>) -> NamedPromise<'_> {
        NamedPromise { pipeline_namespace }
    }

    fn problem(
        namespace: &str,
        pairs: &[(&str, &str)],
        spec: &WorkSpec,
        promise: Option<NamedPromise<'_>>,
    ) -> Option<String> {
        let labels = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        WorkOrigin {
            namespace,
            labels: &labels,
            spec,
        }
        .problem(promise)
    }

    #[test]
    fn a_dependency_work_counts_only_where_its_promise_workflows_run() {
        let deps = work("redis", "");
        let plain = promise(None);
        assert_eq!(problem(labels::SYSTEM_NAMESPACE, &[], &deps, Some(plain)), None);
        let refused = problem("team-a", &[], &deps, Some(plain)).unwrap();
        assert!(
            refused.contains("counts only in namespace kratix-platform-system"),
            "{refused}"
        );
        assert!(refused.contains("this one is in team-a"), "{refused}");
        let moved = promise(Some("platform-pipelines"));
        assert_eq!(problem("platform-pipelines", &[], &deps, Some(moved)), None);
        assert_eq!(
            problem(labels::SYSTEM_NAMESPACE, &[], &deps, Some(moved)),
            None,
            "static dependencies"
        );
        assert!(problem("team-a", &[], &deps, Some(moved)).is_some());
    }

    #[test]
    fn a_work_naming_no_promise_or_disagreeing_with_its_labels_is_refused() {
        let request = work("redis", "cache");
        let missing = problem("team-a", &[], &request, None).unwrap();
        assert!(
            missing.contains("Promise \"redis\", which does not exist"),
            "{missing}"
        );
        let plain = promise(None);
        let mismatch = problem(
            "team-a",
            &[(labels::PROMISE_NAME, "postgres")],
            &request,
            Some(plain),
        )
        .unwrap();
        assert!(
            mismatch.contains("kratix.io/promise-name is \"postgres\""),
            "{mismatch}"
        );
        let other = problem("team-a", &[(labels::RESOURCE_NAME, "db")], &request, Some(plain)).unwrap();
        assert!(other.contains("kratix.io/resource-name"), "{other}");
        let agreeing = [(labels::PROMISE_NAME, "redis"), (labels::RESOURCE_NAME, "cache")];
        assert_eq!(problem("team-a", &agreeing, &request, Some(plain)), None);
    }

    #[test]
    fn a_resource_work_counts_where_its_requests_pipelines_run() {
        let request = work("redis", "cache");
        let plain = promise(None);
        assert_eq!(
            problem(
                "team-a",
                &[(labels::RESOURCE_NAMESPACE, "team-a")],
                &request,
                Some(plain)
            ),
            None
        );
        let elsewhere = problem(
            "team-a",
            &[(labels::RESOURCE_NAMESPACE, "team-b")],
            &request,
            Some(plain),
        )
        .unwrap();
        assert!(elsewhere.contains("has no pipelineNamespace"), "{elsewhere}");
        let moved = promise(Some("pipelines"));
        let labelled = [(labels::RESOURCE_NAMESPACE, "team-b")];
        assert_eq!(problem("pipelines", &labelled, &request, Some(moved)), None);
        let outside = problem("team-b", &labelled, &request, Some(moved)).unwrap();
        assert!(outside.contains("count only there"), "{outside}");
        let unlabelled = problem("pipelines", &[], &request, Some(moved)).unwrap();
        assert!(
            unlabelled.contains("needs the label kratix.io/resource-namespace"),
            "{unlabelled}"
        );
    }

    #[test]
    fn files_of_a_request_are_laid_out_under_its_own_namespace() {
        let request = work("redis", "cache");
        let labelled = BTreeMap::from([(labels::RESOURCE_NAMESPACE.to_owned(), "team-b".to_owned())]);
        let origin = WorkOrigin {
            namespace: "pipelines",
            labels: &labelled,
            spec: &request,
        };
        assert_eq!(origin.request_namespace(), Some("team-b"));
        let none = BTreeMap::new();
        let origin = WorkOrigin {
            namespace: "team-a",
            labels: &none,
            spec: &request,
        };
        assert_eq!(origin.request_namespace(), Some("team-a"));
        let deps = work("redis", "");
        let origin = WorkOrigin {
            namespace: "kratix-platform-system",
            labels: &none,
            spec: &deps,
        };
        assert_eq!(origin.request_namespace(), None);
    }
}

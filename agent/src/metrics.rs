//! Prometheus metrics of the agent: reconciles and their errors, pipeline runs
//! by outcome and how long they took, and whether this replica leads.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// `promise`, or the Promise whose requests were reconciled.
    pub controller: String,
    /// `ok`, or what failed: `kube`, `conflict`, `codec`, `invalid_promise`,
    /// `shared_rules`, `foreign_object`, or `queue` (the controller's own).
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    /// `promise/configure`, `resource/delete`, ...
    pub workflow: String,
    /// `started`, `succeeded` or `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkflowLabels {
    pub workflow: String,
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    pipeline_runs: Family<PipelineLabels, Counter>,
    pipeline_seconds: Family<WorkflowLabels, Histogram>,
    api_requests: Family<MethodLabels, Counter>,
    pub leader: Gauge<i64, std::sync::atomic::AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kratix_agent");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by controller and result",
            reconciles.clone(),
        );
        let pipeline_runs = Family::<PipelineLabels, Counter>::default();
        registry.register(
            "pipeline_runs",
            "Pipeline Jobs started, succeeded and failed",
            pipeline_runs.clone(),
        );
        // From a second to an hour: pipelines range from a template render to a terraform apply.
        let pipeline_seconds = Family::<WorkflowLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0])
        });
        registry.register(
            "pipeline_duration_seconds",
            "Time from a pipeline's start to its Job finishing",
            pipeline_seconds.clone(),
        );
        let api_requests = Family::<MethodLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests to the Kubernetes API, watches included",
            api_requests.clone(),
        );
        let leader = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        Metrics {
            registry,
            reconciles,
            pipeline_runs,
            pipeline_seconds,
            api_requests,
            leader,
        }
    }
}

impl Metrics {
    pub fn reconciled(&self, controller: &str, result: &str) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                controller: controller.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    pub fn pipeline(&self, workflow: &str, outcome: &str) {
        self.pipeline_runs
            .get_or_create(&PipelineLabels {
                workflow: workflow.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn pipeline_finished(&self, workflow: &str, seconds: f64) {
        self.pipeline_seconds
            .get_or_create(&WorkflowLabels {
                workflow: workflow.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts one request to the API server.
    pub fn api_request(&self, method: &str) {
        self.api_requests
            .get_or_create(&MethodLabels {
                method: method.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_in_the_exposition() {
        let metrics = Metrics::default();
        metrics.reconciled("promise", "ok");
        metrics.reconciled("promise", "conflict");
        metrics.pipeline("resource/configure", "succeeded");
        metrics.pipeline_finished("resource/configure", 3.0);
        metrics.leader.set(1);
        let text = metrics.encode();
        assert!(
            text.contains(r#"kratix_agent_reconciles_total{controller="promise",result="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kratix_agent_reconciles_total{controller="promise",result="conflict"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"kratix_agent_pipeline_runs_total{workflow="resource/configure",outcome="succeeded"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("kratix_agent_pipeline_duration_seconds_count"),
            "{text}"
        );
        assert!(text.contains("kratix_agent_leader 1"), "{text}");
    }
}

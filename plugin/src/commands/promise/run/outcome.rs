//! What a local run did, as data (printed with `-o yaml|json`) and as a summary
//! for a person: each pipeline's containers and exit codes, the Work the agent
//! would write from its output, the object's status afterwards, and what
//! failed or suspended the workflow.

use serde::Serialize;
use serde_json::{Map, Value};

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub promise: String,
    pub workflow: String,
    /// `Kind namespace/name` of the object the workflow ran for.
    pub object: String,
    pub output_dir: String,
    /// `Succeeded`, `Failed` or `Suspended`.
    pub result: RunResult,
    pub pipelines: Vec<PipelineOutcome>,
    /// The object's status as the run left it.
    pub status: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunResult {
    Succeeded,
    Failed,
    Suspended,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineOutcome {
    pub name: String,
    /// The Job the agent would have run it as.
    pub job: String,
    /// `Succeeded`, `Failed`, `Suspended`, or `NotRun` after an earlier stop.
    pub phase: String,
    pub containers: Vec<ContainerOutcome>,
    /// The Work the agent would write (configure workflows; none when suspended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkOutcome>,
    /// Why it failed or suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where its `/kratix` folders are.
    pub dir: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOutcome {
    pub name: String,
    pub image: String,
    /// None when it did not run, or was killed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOutcome {
    pub workload_groups: Vec<GroupOutcome>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOutcome {
    pub id: String,
    pub directory: String,
    /// The merged selectors: the pipeline's own, then the Promise's.
    pub destination_selectors: Vec<Value>,
    /// Paths relative to `/kratix/output`.
    pub files: Vec<String>,
    /// With --destination and --state-store: where each file lands in that store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub store_paths: Vec<String>,
}

impl RunOutcome {
    /// The exit code: 0 succeeded, 1 a pipeline failed, 3 suspended.
    pub fn exit_code(&self) -> u8 {
        match self.result {
            RunResult::Succeeded => 0,
            RunResult::Failed => 1,
            RunResult::Suspended => 3,
        }
    }

    /// The summary a person reads after the logs.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "{} of {} for {}:",
            self.workflow, self.promise, self.object
        ));
        for pipeline in &self.pipelines {
            line(format!("  pipeline {}: {}", pipeline.name, pipeline.phase));
            for container in &pipeline.containers {
                let exit = container
                    .exit_code
                    .map_or_else(|| "did not run".to_owned(), |code| format!("exit {code}"));
                line(format!(
                    "    container {} ({}): {exit}",
                    container.name, container.image
                ));
            }
            if let Some(message) = &pipeline.message {
                line(format!("    {message}"));
            }
            for group in pipeline.work.iter().flat_map(|w| &w.workload_groups) {
                let selectors = serde_json::to_string(&group.destination_selectors).unwrap_or_default();
                line(format!(
                    "    work group {} ({} file{}), destination selectors {selectors}",
                    group.directory,
                    group.files.len(),
                    if group.files.len() == 1 { "" } else { "s" }
                ));
                for (index, file) in group.files.iter().enumerate() {
                    match group.store_paths.get(index) {
                        Some(path) => line(format!("      {file} -> {path}")),
                        None => line(format!("      {file}")),
                    }
                }
            }
        }
        if let Some(message) = self.status.get("message").and_then(Value::as_str) {
            line(format!("  message: {message}"));
        }
        let conditions = self
            .status
            .get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for condition in conditions {
            let text = |key: &str| {
                condition
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let local = if text("type") == "Reconciled" {
                " [on a cluster it follows the Works to their Destinations; a local run delivers none]"
            } else {
                ""
            };
            line(format!(
                "  condition {}={} ({}): {}{local}",
                text("type"),
                text("status"),
                text("reason"),
                text("message")
            ));
        }
        let written: Vec<&String> = self
            .status
            .keys()
            .filter(|k| !matches!(k.as_str(), "conditions" | "kratix" | "message" | "workflows"))
            .collect();
        if !written.is_empty() {
            let keys: Vec<&str> = written.iter().map(|k| k.as_str()).collect();
            line(format!("  status keys: {}", keys.join(", ")));
        }
        line(format!(
            "  result: {:?}; the pipelines' folders are in {}",
            self.result, self.output_dir
        ));
        out
    }
}

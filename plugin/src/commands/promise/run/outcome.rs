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
        let mut lines = vec![format!(
            "{} of {} for {}:",
            self.workflow, self.promise, self.object
        )];
        for pipeline in &self.pipelines {
            pipeline.summary(&mut lines);
        }
        self.status_summary(&mut lines);
        lines.push(format!(
            "  result: {:?}; the pipelines' folders are in {}",
            self.result, self.output_dir
        ));
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    fn status_summary(&self, lines: &mut Vec<String>) {
        if let Some(message) = self.status.get("message").and_then(Value::as_str) {
            lines.push(format!("  message: {message}"));
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
            lines.push(format!(
                "  condition {}={} ({}): {}{local}",
                text("type"),
                text("status"),
                text("reason"),
                text("message")
            ));
        }
        let written: Vec<&str> = self
            .status
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "conditions" | "kratix" | "message" | "workflows"))
            .collect();
        if !written.is_empty() {
            lines.push(format!("  status keys: {}", written.join(", ")));
        }
    }
}

impl PipelineOutcome {
    fn summary(&self, lines: &mut Vec<String>) {
        lines.push(format!("  pipeline {}: {}", self.name, self.phase));
        for container in &self.containers {
            let exit = container
                .exit_code
                .map_or_else(|| "did not run".to_owned(), |code| format!("exit {code}"));
            lines.push(format!(
                "    container {} ({}): {exit}",
                container.name, container.image
            ));
        }
        if let Some(message) = &self.message {
            lines.push(format!("    {message}"));
        }
        for group in self.work.iter().flat_map(|w| &w.workload_groups) {
            let selectors = serde_json::to_string(&group.destination_selectors).unwrap_or_default();
            lines.push(format!(
                "    work group {} ({} file{}), destination selectors {selectors}",
                group.directory,
                group.files.len(),
                if group.files.len() == 1 { "" } else { "s" }
            ));
            // One path per file, or one line saying why the Destination gets none.
            let paired = group.store_paths.len() == group.files.len();
            for (index, file) in group.files.iter().enumerate() {
                match group.store_paths.get(index).filter(|_| paired) {
                    Some(path) => lines.push(format!("      {file} -> {path}")),
                    None => lines.push(format!("      {file}")),
                }
            }
            if !paired && let Some(why) = group.store_paths.first() {
                lines.push(format!("      {why}"));
            }
        }
    }
}

//! What the plugin shows of a cluster: a workflow's pipelines and runs, a
//! triggered run's progress, and what a pipeline's ServiceAccount may do.

pub mod pipeline_runs;
pub mod rbac_grants;
pub mod run_progress;
pub mod workflow;

//! What `kubectl-kratix` and `kratix-agent` share: the Kratix API types, the
//! config, offline validation, pipeline rendering and the status rules.
//!
//! Everything here is a pure function of data: no runtime, no HTTP.

pub mod agent_manifests;
pub mod api;
pub mod canary;
pub mod compression;
pub mod config;
pub mod crds;
pub mod decode;
pub mod defaulting;
pub mod dependencies;
pub mod duration;
mod error;
pub mod finalizers;
pub mod hash;
pub mod kratix_events;
pub mod labels;
pub mod naming;
pub mod periodic;
pub mod pipeline_env;
pub mod pipeline_runs;
pub mod rbac_grants;
pub mod render;
pub mod requirements;
pub mod resource_crd;
pub mod run_progress;
pub mod scaffold;
pub mod scheduling;
pub mod source;
pub mod state_batch;
pub mod state_layout;
pub mod state_sync;
pub mod status_conditions;
pub mod status_merge;
pub mod validate;
pub mod work_origin;
pub mod work_output;
pub mod workflow_control;
pub mod workflow_engine;
pub mod workflow_records;
pub mod workflow_report;
pub mod yaml;

pub use error::{Error, Result};

//! The agent's parts, as a library so that benchmarks can drive them directly;
//! `main.rs` is the `kratix-agent` command line over them.

pub mod controller;
pub mod crash_points;
pub mod endpoints;
pub mod leader;
/// What installs the agent; the plugin's `install` applies the same objects.
pub use kratix_shared::install::agent_manifests as manifests;
pub mod metrics;
pub mod pipeline_pod;
pub mod state_store;

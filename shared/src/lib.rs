//! What `kubectl-kratix` and `kratix-agent` share: the Kratix API types, the
//! config, offline validation, pipeline rendering and the status rules.
//!
//! Everything here is a pure function of data: no runtime, no HTTP.

// Folders by concern, each depending only on those listed before it.
pub mod api;
pub mod authoring;
pub mod codec;
pub mod delivery;
mod error;
pub mod install;
pub mod local_run;
pub mod pipeline_pod;
pub mod render;
pub mod report;
pub mod validate;
pub mod workflow;

pub use error::{Error, Result};

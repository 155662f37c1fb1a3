//! The Kratix API: Rust types for `platform.kratix.io/v1alpha1`, the `kratix`
//! config, and the labels, names and hash every Kratix object carries.
//!
//! PromiseRevision and ResourceBinding (the reference's versioning layer) are not
//! modelled yet: resource workflows render from the live Promise.

pub mod answers;
pub mod conditions;
pub mod config;
pub mod destination;
pub mod hash;
pub mod labels;
pub mod naming;
pub mod pipeline;
pub mod promise;
pub mod resource_api;
mod schema;
pub mod selectors;
pub mod state_store;
pub mod work;
pub mod workflow;

pub use destination::{Destination, DestinationSpec, DestinationStatus};
pub use pipeline::{Pipeline, PipelineContainer, PipelineSpec, parse_pipeline, parse_pipelines};
pub use promise::{Promise, PromiseSpec, PromiseStatus};
pub use state_store::{BucketStateStore, GitStateStore};
pub use work::{Work, WorkPlacement};
pub use workflow::{Workflow, WorkflowAction, WorkflowType};

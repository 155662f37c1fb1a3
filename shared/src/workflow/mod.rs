//! Workflows and the status they leave: the engine that decides a workflow's
//! next step, its records in `status.kratix.workflows`, what a pipeline may ask
//! (`control`), periodic re-runs, finalizers, requirements, and the conditions
//! and Events Kratix derives from it all.

pub mod conditions;
pub mod control;
pub mod engine;
pub mod events;
pub mod finalizers;
pub mod jobs;
pub mod periodic;
pub mod promise_status;
pub mod records;
pub mod request_status;
pub mod requirements;
pub mod run_status;
pub mod status_merge;
#[cfg(test)]
mod test_support;

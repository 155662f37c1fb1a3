//! The agent's controllers: Promises install their API and start a resource
//! controller each; resource controllers run configure workflows through the
//! shared engine. IO lives here; every decision is in the shared crate.

pub mod apply;
pub mod config_watch;
pub mod context;
pub mod dependencies;
pub mod destination;
pub mod error;
pub mod events;
pub mod finalizers;
pub mod promise;
pub mod promise_delete;
pub mod promise_object;
pub mod rbac_cleanup;
pub mod request;
pub mod required_by;
pub mod resource;
pub mod resource_delete;
pub mod retries;
pub mod state_store_status;
pub mod status;
pub mod store_lookup;
pub mod work;
pub mod work_placement;
pub mod workflow;

use std::sync::Arc;

use context::Agent;

/// Runs the controllers until the process ends.
pub async fn run(agent: Arc<Agent>) {
    tokio::join!(
        config_watch::run(agent.clone()),
        promise::run(agent.clone()),
        work::run(agent.clone()),
        work_placement::run(agent.clone()),
        destination::run(agent.clone()),
        state_store_status::run(agent)
    );
}

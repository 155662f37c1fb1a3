//! The agent's controllers: Promises install their API and start a resource
//! controller each; resource controllers run configure workflows through the
//! shared engine; the delivery controllers take Works to state stores. IO lives
//! here; every decision is in the shared crate.
//!
//! Dependencies point one way: `base` (what every controller shares) uses no
//! controller; `workflow` uses `base`; `resource` uses both; `promise` uses
//! those and starts `resource` controllers; `delivery` uses `base` only.

pub mod base;
pub mod config_watch;
pub mod delivery;
pub mod promise;
pub mod resource;
pub mod workflow;

use std::sync::Arc;

use base::context::Agent;

/// Runs the controllers until the process ends.
pub async fn run(agent: Arc<Agent>) {
    tokio::join!(
        config_watch::run(agent.clone()),
        promise::controller::run(agent.clone()),
        delivery::work::run(agent.clone()),
        delivery::work_placement::run(agent.clone()),
        delivery::destination::run(agent.clone()),
        delivery::state_store_status::run(agent)
    );
}

//! What the end-to-end suites share: getting the platform and a namespace
//! (`support`), the agent installed with a Promise and requests (`agent`),
//! Destinations over Git and bucket stores (`state_store`), and `promise run`
//! over a Promise on disk (`promise_run`).

pub mod agent;
pub mod promise_run;
pub mod state_store;
pub mod support;

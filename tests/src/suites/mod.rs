//! What the end-to-end suites share: getting the platform and a namespace
//! (`support`), the agent installed with a Promise and requests (`agent`),
//! and Destinations over Git and bucket stores (`state_store`).

pub mod agent;
pub mod state_store;
pub mod support;

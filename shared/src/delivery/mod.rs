//! From Works to files: which Destinations a Work goes to (and whether it may go
//! anywhere), where its files land in a state store, and what one batch of
//! writes does, including the Destinations' canary files.

#[cfg(any(test, feature = "test-fixtures"))]
pub mod batch_fixtures;
pub mod canary;
pub mod destination_status;
pub mod scheduling;
pub mod state_batch;
pub mod state_layout;
pub mod state_sync;
pub mod work_origin;

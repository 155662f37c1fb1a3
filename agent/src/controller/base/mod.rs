//! What every controller shares, and nothing that is one controller's own: the
//! agent's context and retry policy, errors, status writes, Events, server-side
//! apply, finalizer writes, and reading Promises.

pub mod apply;
pub mod context;
pub mod deletion;
pub mod error;
pub mod events;
pub mod finalizers;
pub mod predicates;
pub mod promises;
pub mod rbac_cleanup;
pub mod retries;
pub mod status;

//! Promises: the controller that validates each and runs its workflows
//! (`controller`), a Promise as it sees one (`object`), our refusals of it
//! (`refusals`), the API it serves (`served_api`), its requirements and the
//! required Promises' `requiredBy`, its dependencies Work, and its delete flow.

pub mod controller;
pub mod delete;
pub mod dependencies;
pub mod object;
pub mod refusals;
pub mod required_by;
pub mod requirements;
pub mod served_api;

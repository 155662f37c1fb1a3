//! Promises: the controller that validates each, installs its API and runs its
//! workflows (`controller`), a Promise as it sees one (`object`), its delete flow
//! (`delete`), its dependencies Work, and the required Promises' `requiredBy`.

pub mod controller;
pub mod delete;
pub mod dependencies;
pub mod object;
pub mod required_by;

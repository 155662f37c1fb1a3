//! Writing Promises: finding them on disk (`source`), what `promise init` and
//! `promise add-container` scaffold (`scaffold`), and what `promise update api`
//! changes (`api_update`).

pub mod api_update;
pub mod scaffold;
pub mod source;

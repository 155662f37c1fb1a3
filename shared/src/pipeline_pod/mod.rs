//! Rules of the Kratix containers inside a pipeline pod: the `KRATIX_*`
//! variables they read, what a pipeline leaves for them (`pod_files`), the
//! status they write after it (`status_update`) and the Works made from
//! `/kratix/output` (`work_output`).

pub mod env;
pub mod pod_files;
pub mod status_update;
pub mod work_output;

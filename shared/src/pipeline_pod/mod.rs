//! Rules of the Kratix containers inside a pipeline pod: the `KRATIX_*`
//! variables they read, and the Works made from `/kratix/output`.

pub mod env;
pub mod work_output;

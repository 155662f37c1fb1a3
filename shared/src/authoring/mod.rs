//! Writing Promises: finding them on disk, and what `promise init` and
//! `promise add-container` scaffold.

pub mod scaffold;
pub mod source;

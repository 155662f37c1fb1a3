//! `kubectl kratix promise ...`: the offline commands over a Promise's files
//! (validate, render, init, add-container). None needs a cluster.

pub mod add_container;
pub mod init;
pub mod render;
pub mod validate;

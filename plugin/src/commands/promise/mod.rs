//! `kubectl kratix promise ...`: the offline commands over a Promise's files
//! (validate, render, init, add-container, build, run), which need no
//! cluster, and `tree`, which reads a Promise's requests from one.

pub mod add_container;
pub mod build;
pub mod build_images;
pub mod edit;
pub mod helm_chart;
pub mod init;
pub mod manifests;
pub mod offline;
pub mod pulumi_schema;
pub mod render;
pub mod run;
pub mod terraform_module;
pub mod tree;
pub mod update;
pub mod update_dependencies;
pub mod validate;

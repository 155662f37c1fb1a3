//! The local test platform of kubectl-kratix and its test-support API.
//!
//! A genuine Kubernetes API server (apiextensions-apiserver built from Debian's
//! Kubernetes sources) on etcd, a front proxy that adds the core group, identity
//! and RBAC, and a runner that executes pods with podman. `tests/testenv` drives it.

pub mod agent_suite;
pub mod error;
pub mod git_server;
pub mod identity;
pub mod images;
pub mod krew;
pub mod platform;
pub mod proxy;
pub mod runner;
pub mod s3_server;
pub mod state_store_suite;
pub mod support;

pub use error::{Error, Result};

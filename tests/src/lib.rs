//! The local test platform of kubectl-kratix and its test-support API.
//!
//! The genuine Kubernetes control plane (kube-apiserver, kube-controller-manager
//! and kube-scheduler built from k8s.io/kubernetes at a pinned release) on etcd,
//! and a node of the project's own that runs the pods bound to it with podman,
//! as a kubelet would. `tests/testenv` drives it.

pub mod agent_suite;
pub mod error;
pub mod git_server;
pub mod images;
pub mod platform;
pub mod s3_server;
pub mod state_store_suite;
pub mod support;
pub mod tools;

pub use error::{Error, Result};

//! The local test platform of kubectl-kratix and its test-support API.
//!
//! The genuine Kubernetes control plane (kube-apiserver, kube-controller-manager
//! and kube-scheduler built from k8s.io/kubernetes at a pinned release) on etcd,
//! and a node of the project's own that runs the pods bound to it with podman,
//! as a kubelet would. `tests/testenv` drives it.
//!
//! Three rooms: `platform` (the cluster itself), `fixtures` (what the suites
//! run against besides it: Git and S3 servers, local images) and `suites`
//! (what the end-to-end suites share).

pub mod error;
pub mod fixtures;
pub mod platform;
pub mod suites;

pub use error::{Error, Result};

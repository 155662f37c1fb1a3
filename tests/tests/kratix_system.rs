//! Kratix's own system tests, run against this agent: the assets of each
//! `test/system/<name>_test.go` (read unchanged from
//! `../shared/conformance/kratix-system/<name>/`), applied with kubectl in the
//! Go test's order, and what that test asserts, step by step. Substitutions,
//! and nothing else: the pipelines' images are built locally under the exact
//! names the assets use (read from them), with the tools their scripts call;
//! the worker Destination Kratix's quick-start registers is one on the
//! platform's own Git server. Skips, saying so, when the folder is absent.
//!
//! One module per group: `compound-promise`, `destination`, `kratix-config`,
//! `promise-features`, `reconciliation`, `workflow-control`. The others are listed with why in
//! tests/README.md.

// A test crate's root finds its modules beside it: the group folder says where.
#[path = "kratix_system/compound_promise.rs"]
mod compound_promise;
#[path = "kratix_system/destination.rs"]
mod destination;
#[path = "kratix_system/harness.rs"]
mod harness;
#[path = "kratix_system/kratix_config.rs"]
mod kratix_config;
#[path = "kratix_system/promise_features.rs"]
mod promise_features;
#[path = "kratix_system/reconciliation.rs"]
mod reconciliation;
#[path = "kratix_system/workflow_control.rs"]
mod workflow_control;

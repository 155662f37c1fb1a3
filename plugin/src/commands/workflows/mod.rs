//! `kubectl kratix workflows ...`: the commands against a cluster's workflows
//! (status, trigger, logs, service-accounts), each gathering from the cluster,
//! deciding with the shared report rules, then drawing.

pub mod logs;
pub mod service_accounts;
pub mod status;
pub mod trigger;

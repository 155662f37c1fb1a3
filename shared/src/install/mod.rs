//! Installing the agent: its manifests and the Kratix CRDs.

pub mod agent_manifests;
pub mod crds;

//! What an environment records about itself in `state.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::certs::Identity;
use super::paths::env_dir;
use crate::error::{Result, StepContext};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
    /// The node's kubelet endpoint (`/containerLogs` over TLS).
    pub node: u16,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pids {
    pub etcd: Option<u32>,
    pub apiserver: Option<u32>,
    pub controller_manager: Option<u32>,
    pub scheduler: Option<u32>,
    /// The node agent (`testenv node`).
    pub node: Option<u32>,
}

impl Pids {
    /// Every process, the node first: the order to stop them in.
    pub fn in_stop_order(&self) -> impl Iterator<Item = u32> {
        [
            self.node,
            self.scheduler,
            self.controller_manager,
            self.apiserver,
            self.etcd,
        ]
        .into_iter()
        .flatten()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EnvState {
    pub name: String,
    pub ports: Ports,
    pub pids: Pids,
    /// Instant mode: these images run as host processes, every other container
    /// succeeds at once.
    #[serde(default)]
    pub instant: Option<crate::platform::node::host::HostImages>,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    /// Time `up` took, and whether it had to build the control plane first (cold).
    pub start_seconds: f64,
    pub cold: bool,
}

/// The files of one environment.
#[derive(Debug, Clone)]
pub struct EnvPaths {
    pub root: PathBuf,
}

impl EnvPaths {
    pub fn new(name: &str) -> Self {
        EnvPaths { root: env_dir(name) }
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn etcd_data(&self) -> PathBuf {
        self.root.join("etcd")
    }
    /// The users' kubeconfig: the cluster admin (`system:masters`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    /// The kubeconfig of a component (controller manager, scheduler, node).
    pub fn component_kubeconfig(&self, identity: Identity) -> PathBuf {
        self.root.join(format!("{}.kubeconfig", identity.stem()))
    }
    /// Pod folders: volumes and container logs.
    pub fn pods(&self) -> PathBuf {
        self.root.join("pods")
    }
}

impl EnvState {
    pub fn load(path: &Path) -> Result<EnvState> {
        let text = std::fs::read_to_string(path).step(format!("reading {}", path.display()))?;
        serde_json::from_str(&text).step(format!("parsing {}", path.display()))
    }

    /// Written beside and renamed over, so the node (which reads it as it
    /// starts, while `up` may be saving it again) never sees half a file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).step("encoding the environment state")?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text).step(format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, path).step(format!("replacing {}", path.display()))
    }
}

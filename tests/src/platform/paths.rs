//! Where environments and the built control plane live (outside the repository).

use std::path::PathBuf;

/// The Kubernetes release the control plane is built from; part of the cache
/// key so a new pin rebuilds. The module proxy serves every staging module of
/// v1.37.2 and v1.36.3.
pub const KUBERNETES_VERSION: &str = "v1.37.2";

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// `$KRATIX_TESTENV_HOME`, else `$XDG_STATE_HOME/kubectl-kratix-testenv`, else
/// `~/.local/state/kubectl-kratix-testenv`: one folder per environment.
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("KRATIX_TESTENV_HOME") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".local/state"));
    base.join("kubectl-kratix-testenv")
}

/// The built control plane, etcd and kubectl, cached across runs.
pub fn kubernetes_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"));
    base.join("kubectl-kratix-testenv")
        .join(format!("kubernetes-{KUBERNETES_VERSION}"))
}

/// The folder of environment `name`.
pub fn env_dir(name: &str) -> PathBuf {
    state_root().join("envs").join(name)
}

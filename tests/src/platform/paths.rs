//! Where environments and the built API server live (outside the repository).

use std::path::PathBuf;

/// Version of the Debian source package the API server is built from; part of
/// the cache key so a new pin rebuilds.
pub const APISERVER_BUILD: &str = "apiserver-0.36.4-1";

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

/// The built API server and etcd, cached across runs.
pub fn apiserver_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"));
    base.join("kubectl-kratix-testenv").join(APISERVER_BUILD)
}

/// The folder of environment `name`.
pub fn env_dir(name: &str) -> PathBuf {
    state_root().join("envs").join(name)
}

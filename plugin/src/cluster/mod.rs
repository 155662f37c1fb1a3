//! Talking to a cluster as kubectl does: the same flags (`--kubeconfig`,
//! `--context`, `--cluster`, `--user`, `-n`, `--as`, `--as-group`,
//! `--request-timeout`) and `KUBECONFIG`, errors that say what to do next, and
//! the runtime the commands that talk to a cluster run on. Reading Kratix's
//! objects (`kratix_objects`), the object a workflow runs for
//! (`workflow_subject`) and asking about access (`access_review`) sit here.

pub mod access_review;
pub mod kratix_objects;
pub mod workflow_subject;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// kubectl's connection flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, value_name = "NAME", global = true)]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, value_name = "NAME", global = true)]
    pub user: Option<String>,
    /// The namespace (default: the context's).
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
    /// Act as this user (impersonation).
    #[arg(long = "as", value_name = "USER", global = true)]
    pub as_user: Option<String>,
    /// Act as a member of this group (impersonation; repeatable).
    #[arg(long = "as-group", value_name = "GROUP", global = true)]
    pub as_groups: Vec<String>,
    /// How long to wait for one API request (as kubectl: 30s, 1m; 0 waits forever).
    #[arg(long, value_name = "DURATION", global = true)]
    pub request_timeout: Option<String>,
}

/// A client, and where it points.
pub struct Cluster {
    pub client: kube::Client,
    /// For messages: the API server's URL.
    pub server: String,
}

impl ClusterArgs {
    pub async fn connect(&self) -> Result<Cluster> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
        };
        let mut config = match &self.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("using the kubeconfig {}", path.display()))?
            }
            None if self.context.is_some() || self.cluster.is_some() || self.user.is_some() => {
                kube::Config::from_kubeconfig(&options)
                    .await
                    .context("using the kubeconfig ($KUBECONFIG, else ~/.kube/config)")?
            }
            None => kube::Config::infer().await.map_err(|e| {
                anyhow!(
                    "no cluster to talk to: {e}; set KUBECONFIG or pass --kubeconfig (kubectl config view shows what kubectl uses)"
                )
            })?,
        };
        if let Some(user) = &self.as_user {
            config.auth_info.impersonate = Some(user.clone());
        }
        if !self.as_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(self.as_groups.clone());
        }
        if let Some(timeout) = &self.request_timeout {
            let duration = request_timeout(timeout)?;
            config.read_timeout = duration;
            config.connect_timeout = duration;
        }
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).context("configuring the Kubernetes client")?;
        Ok(Cluster { client, server })
    }
}

/// kubectl's `--request-timeout`: a bare number of seconds, or a duration; 0 is none.
fn request_timeout(text: &str) -> Result<Option<Duration>> {
    let duration = if text.chars().all(|c| c.is_ascii_digit()) {
        Duration::from_secs(text.parse().unwrap_or(0))
    } else {
        kratix_shared::codec::duration::parse_go_duration(text)
            .map_err(|e| anyhow!("--request-timeout {text:?}: {e}; write 30s, 1m or 0"))?
    };
    Ok((!duration.is_zero()).then_some(duration))
}

/// A kube error as a person can act on it.
pub fn explain(error: &kube::Error, cluster: &Cluster, what: &str) -> anyhow::Error {
    match error {
        kube::Error::Api(status) if status.code == 403 => anyhow!(
            "permission denied {what}: {}; ask for access, or check --as and the kubeconfig user",
            status.message
        ),
        kube::Error::Api(status) if status.code == 404 => anyhow!("{what}: not found: {}", status.message),
        kube::Error::Api(status) => anyhow!("{what}: {} ({})", status.message, status.code),
        kube::Error::HyperError(_) | kube::Error::Service(_) => anyhow!(
            "cannot reach the cluster at {} {what}: {error}; is it up, and is this the right context (--context, KUBECONFIG)?",
            cluster.server
        ),
        other => anyhow!("{what}: {other}"),
    }
}

/// The runtime of the commands that talk to a cluster.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_read_as_kubectls() {
        assert_eq!(
            request_timeout("30").expect("secs"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(request_timeout("1m").expect("dur"), Some(Duration::from_secs(60)));
        assert_eq!(request_timeout("0").expect("none"), None);
        assert!(request_timeout("soon").is_err());
    }
}

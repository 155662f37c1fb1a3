//! kubeconfig files of an environment: one per identity, each straight to the
//! API server with that identity's client certificate.

use std::path::Path;

use super::certs::{Identity, Pki};
use crate::error::{Result, StepContext};

/// A kubeconfig for `identity` at `https://127.0.0.1:<port>`, whose context is
/// named after the environment.
pub fn for_identity(env_name: &str, port: u16, pki: &Pki, identity: Identity) -> String {
    let user = identity.stem();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {env_name}\n  cluster:\n    server: https://127.0.0.1:{port}\n\
         \x20   certificate-authority: {ca}\ncontexts:\n- name: {env_name}\n  context:\n    cluster: {env_name}\n    user: {user}\n\
         \x20   namespace: default\ncurrent-context: {env_name}\nusers:\n- name: {user}\n  user:\n    client-certificate: {cert}\n\
         \x20   client-key: {key}\n",
        ca = pki.ca_cert_path().display(),
        cert = pki.cert_path(identity).display(),
        key = pki.key_path(identity).display(),
    )
}

/// A kube client from a kubeconfig file.
pub async fn client(path: &Path) -> Result<kube::Client> {
    let step = format!("loading {}", path.display());
    let kubeconfig = kube::config::Kubeconfig::read_from(path).step(&step)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .step(&step)?;
    kube::Client::try_from(config).step(step)
}

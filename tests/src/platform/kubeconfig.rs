//! kubeconfig files of an environment.

use std::path::Path;

use crate::error::{Result, StepContext};

/// A kubeconfig for the proxy's plain-HTTP port: the admin identity, no credentials.
pub fn proxy_kubeconfig(name: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: admin\n    namespace: default\n\
         current-context: {name}\nusers:\n- name: admin\n  user: {{}}\n"
    )
}

/// A kubeconfig straight to the API server with the admin client certificate.
pub fn admin_kubeconfig(name: &str, port: u16, pki: &Path) -> String {
    let pki = pki.display();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: https://127.0.0.1:{port}\n\
         \x20   certificate-authority: {pki}/ca.crt\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: admin\n\
         current-context: {name}\nusers:\n- name: admin\n  user:\n    client-certificate: {pki}/admin.crt\n\
         \x20   client-key: {pki}/admin.key\n"
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

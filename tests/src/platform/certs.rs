//! The certificates of an environment, as a cluster's PKI has them: one CA;
//! the API server's serving certificate; a client certificate for each
//! component (the admin in `system:masters`, the controller manager, the
//! scheduler, the node as `system:node:<name>`, and the API server itself when
//! it calls the node for logs); the node's serving certificate; and the key
//! pair that signs service-account tokens.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::error::{Result, StepContext};

/// The one node of every environment.
pub const NODE_NAME: &str = "testenv-node";

/// A certificate the CA signed, by its file stem under `pki/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Serves the API on 127.0.0.1.
    ApiServer,
    /// `kubernetes-admin`, group `system:masters`.
    Admin,
    ControllerManager,
    Scheduler,
    /// `system:node:testenv-node`, group `system:nodes`.
    Node,
    /// Serves the node's `/containerLogs` on 127.0.0.1.
    NodeServing,
    /// The API server's client certificate towards the node.
    ApiServerKubeletClient,
}

impl Identity {
    pub const ALL: [Identity; 7] = [
        Identity::ApiServer,
        Identity::Admin,
        Identity::ControllerManager,
        Identity::Scheduler,
        Identity::Node,
        Identity::NodeServing,
        Identity::ApiServerKubeletClient,
    ];

    /// The file stem: `<stem>.crt` and `<stem>.key`.
    pub fn stem(self) -> &'static str {
        match self {
            Identity::ApiServer => "apiserver",
            Identity::Admin => "admin",
            Identity::ControllerManager => "controller-manager",
            Identity::Scheduler => "scheduler",
            Identity::Node => "node",
            Identity::NodeServing => "node-serving",
            Identity::ApiServerKubeletClient => "apiserver-kubelet-client",
        }
    }

    /// Common name and organization, which Kubernetes reads as user and group.
    fn subject(self) -> (String, Option<&'static str>) {
        match self {
            Identity::ApiServer => ("kube-apiserver".to_owned(), None),
            Identity::Admin => ("kubernetes-admin".to_owned(), Some("system:masters")),
            Identity::ControllerManager => ("system:kube-controller-manager".to_owned(), None),
            Identity::Scheduler => ("system:kube-scheduler".to_owned(), None),
            Identity::Node => (format!("system:node:{NODE_NAME}"), Some("system:nodes")),
            Identity::NodeServing => (NODE_NAME.to_owned(), None),
            Identity::ApiServerKubeletClient => ("kube-apiserver-kubelet-client".to_owned(), None),
        }
    }

    fn serves(self) -> bool {
        matches!(self, Identity::ApiServer | Identity::NodeServing)
    }
}

/// The names the API server answers to: loopback, and the in-cluster names
/// clients that read `kubernetes.default.svc` may check.
const API_SERVER_NAMES: [&str; 5] = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// An environment's `pki/` folder.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

fn write(dir: &Path, file: &str, pem: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, pem).step(format!("writing {}", path.display()))
}

/// Generates a fresh CA, every certificate it signs and the service-account
/// key pair, into `dir`.
pub fn generate(dir: &Path) -> Result<Pki> {
    let step = "generating certificates";
    std::fs::create_dir_all(dir).step(format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate().step(step)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).step(step)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = name("kratix-testenv-ca", None);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).step(step)?;
    write(dir, "ca.crt", &ca_cert.pem())?;
    write(dir, "ca.key", &ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params, ca_key);

    for identity in Identity::ALL {
        let key = KeyPair::generate().step(step)?;
        let (common_name, organization) = identity.subject();
        let dns_names: Vec<String> = match identity {
            Identity::ApiServer => API_SERVER_NAMES.iter().map(|n| (*n).to_owned()).collect(),
            Identity::NodeServing => vec!["localhost".to_owned(), NODE_NAME.to_owned()],
            _ => Vec::new(),
        };
        let mut params = CertificateParams::new(dns_names).step(step)?;
        if identity.serves() {
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        params.distinguished_name = name(&common_name, organization);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        // v3 with the right purpose: Go and rustls refuse certificates without it.
        params.extended_key_usages = vec![if identity.serves() {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        let cert = params.signed_by(&key, &issuer).step(step)?;
        write(dir, &format!("{}.crt", identity.stem()), &cert.pem())?;
        write(dir, &format!("{}.key", identity.stem()), &key.serialize_pem())?;
    }

    // Signs service-account tokens (the API server) and checks them.
    let service_accounts = KeyPair::generate().step(step)?;
    write(dir, "sa.key", &service_accounts.serialize_pem())?;
    write(dir, "sa.pub", &service_accounts.public_key_pem())?;
    Ok(Pki { dir: dir.to_owned() })
}

impl Pki {
    pub fn at(dir: &Path) -> Pki {
        Pki { dir: dir.to_owned() }
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    pub fn ca_key_path(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    pub fn cert_path(&self, identity: Identity) -> PathBuf {
        self.dir.join(format!("{}.crt", identity.stem()))
    }

    pub fn key_path(&self, identity: Identity) -> PathBuf {
        self.dir.join(format!("{}.key", identity.stem()))
    }

    pub fn service_account_key(&self) -> PathBuf {
        self.dir.join("sa.key")
    }

    pub fn service_account_public_key(&self) -> PathBuf {
        self.dir.join("sa.pub")
    }

    /// A file's text, naming the file when it cannot be read.
    pub fn read(&self, path: &Path) -> Result<String> {
        std::fs::read_to_string(path).step(format!("reading {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_identity_has_its_files_and_subject() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = generate(dir.path()).expect("generated");
        for identity in Identity::ALL {
            assert!(pki.cert_path(identity).is_file(), "{identity:?} certificate");
            assert!(pki.key_path(identity).is_file(), "{identity:?} key");
        }
        assert!(pki.service_account_key().is_file());
        let public = pki.read(&pki.service_account_public_key()).expect("public key");
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
        assert_eq!(
            Identity::Node.subject(),
            ("system:node:testenv-node".to_owned(), Some("system:nodes"))
        );
    }
}

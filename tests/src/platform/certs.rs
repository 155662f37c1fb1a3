//! The certificates of an environment: a CA, the admin client (system:masters),
//! and a serving certificate for 127.0.0.1 and localhost.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::error::{Result, StepContext};

/// PEM files under `pki/`.
pub struct Pki {
    pub ca_cert: String,
    pub admin_cert: String,
    pub admin_key: String,
    pub serving_cert: String,
    pub serving_key: String,
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

/// Generates a fresh CA and the certificates it signs.
pub fn generate() -> Result<Pki> {
    let step = "generating certificates";
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
    let issuer = Issuer::new(ca_params, ca_key);

    // v3 with clientAuth: rustls rejects v1 client certificates.
    let admin_key = KeyPair::generate().step(step)?;
    let mut admin = CertificateParams::new(Vec::<String>::new()).step(step)?;
    admin.distinguished_name = name("kratix-testenv-admin", Some("system:masters"));
    admin.is_ca = IsCa::ExplicitNoCa;
    admin.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer).step(step)?;

    let serving_key = KeyPair::generate().step(step)?;
    let mut serving = CertificateParams::new(vec!["localhost".to_owned()]).step(step)?;
    serving
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    serving.distinguished_name = name("kratix-testenv-apiserver", None);
    serving.is_ca = IsCa::ExplicitNoCa;
    serving.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving.signed_by(&serving_key, &issuer).step(step)?;

    Ok(Pki {
        ca_cert: ca_cert.pem(),
        admin_cert: admin_cert.pem(),
        admin_key: admin_key.serialize_pem(),
        serving_cert: serving_cert.pem(),
        serving_key: serving_key.serialize_pem(),
    })
}

impl Pki {
    pub fn write(&self, dir: &Path) -> Result<()> {
        let step = "writing certificates";
        std::fs::create_dir_all(dir).step(step)?;
        for (file, pem) in [
            ("ca.crt", &self.ca_cert),
            ("admin.crt", &self.admin_cert),
            ("admin.key", &self.admin_key),
            ("serving.crt", &self.serving_cert),
            ("serving.key", &self.serving_key),
        ] {
            std::fs::write(dir.join(file), pem).step(format!("{step}: {file}"))?;
        }
        Ok(())
    }

    pub fn read(dir: &Path) -> Result<Pki> {
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file)).step(format!("reading {}", dir.join(file).display()))
        };
        Ok(Pki {
            ca_cert: read("ca.crt")?,
            admin_cert: read("admin.crt")?,
            admin_key: read("admin.key")?,
            serving_cert: read("serving.crt")?,
            serving_key: read("serving.key")?,
        })
    }
}

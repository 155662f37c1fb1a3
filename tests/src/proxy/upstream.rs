//! The connection to the API server: TLS with the admin client certificate.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::BoxError;
use crate::error::{Result, StepContext};
use crate::platform::certs::Pki;

pub type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, BoxBody<Bytes, BoxError>>;

/// A pooled HTTPS client that authenticates as the admin (system:masters).
pub fn client(pki: &Pki) -> Result<UpstreamClient> {
    let step = "configuring the upstream TLS client";
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca_cert.as_bytes()) {
        roots.add(cert.step(step)?).step(step)?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pki.admin_cert.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .step(step)?;
    let key = PrivateKeyDer::from_pem_slice(pki.admin_key.as_bytes()).step(step)?;
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .step(step)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .step(step)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A rustls server config for the proxy's TLS port.
pub fn server_config(pki: &Pki) -> Result<Arc<rustls::ServerConfig>> {
    let step = "configuring the proxy's TLS";
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pki.serving_cert.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .step(step)?;
    let key = PrivateKeyDer::from_pem_slice(pki.serving_key.as_bytes()).step(step)?;
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .step(step)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .step(step)?;
    Ok(Arc::new(config))
}

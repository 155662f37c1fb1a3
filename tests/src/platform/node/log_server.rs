//! The node's kubelet endpoint: `GET /containerLogs/<namespace>/<pod>/<container>`
//! over TLS on loopback, for the API server's `pods/log` (it connects with
//! its kubelet client certificate, which this endpoint requires, and checks
//! this endpoint's certificate against the cluster CA). Logs come from the
//! files the kubelet writes for each container run.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{ObjectRef, Store};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::NodeContext;
use super::logs::{self, LogOptions};
use crate::error::{Result, StepContext};
use crate::platform::certs::Identity;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let body = Full::new(Bytes::from(message.into()))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    response
}

/// TLS with the node's serving certificate; clients must present a
/// certificate the cluster CA signed.
fn tls_config(ctx: &NodeContext) -> Result<Arc<rustls::ServerConfig>> {
    let step = "configuring the node's TLS";
    let pki = &ctx.pki;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.read(&pki.ca_cert_path())?.as_bytes()) {
        roots.add(cert.step(step)?).step(step)?;
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .step(step)?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.read(&pki.cert_path(Identity::NodeServing))?.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .step(step)?;
    let key = PrivateKeyDer::from_pem_slice(pki.read(&pki.key_path(Identity::NodeServing))?.as_bytes())
        .step(step)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .step(step)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .step(step)?;
    Ok(Arc::new(config))
}

/// Binds the endpoint and serves it in a task.
pub async fn start(ctx: Arc<NodeContext>, pods: Store<Pod>) -> Result<tokio::task::JoinHandle<Result<()>>> {
    let listener = TcpListener::bind(("127.0.0.1", ctx.node_port))
        .await
        .step(format!("binding the node's port {}", ctx.node_port))?;
    let acceptor = TlsAcceptor::from(tls_config(&ctx)?);
    Ok(tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.step("accepting a connection")?;
            let (acceptor, ctx, pods) = (acceptor.clone(), ctx.clone(), pods.clone());
            tokio::spawn(async move {
                let tls = match acceptor.accept(stream).await {
                    Ok(tls) => tls,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                };
                let service = service_fn(move |request| {
                    let (ctx, pods) = (ctx.clone(), pods.clone());
                    async move { Ok::<_, std::convert::Infallible>(handle(&ctx, &pods, &request).await) }
                });
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await
                {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }
    }))
}

async fn handle(ctx: &NodeContext, pods: &Store<Pod>, request: &Request<Incoming>) -> Response<Body> {
    if request.method() != http::Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
    }
    let path = request.uri().path();
    let Some(rest) = path.strip_prefix("/containerLogs/") else {
        return text(
            StatusCode::NOT_FOUND,
            format!("{path}: this node serves only /containerLogs"),
        );
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [namespace, pod_name, container] = parts[..] else {
        return text(
            StatusCode::BAD_REQUEST,
            "expected /containerLogs/<namespace>/<pod>/<container>",
        );
    };
    let Some(pod) = pods.get(&ObjectRef::new(pod_name).within(namespace)) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("pod {namespace}/{pod_name} is not on this node"),
        );
    };
    let mut options = LogOptions::from_query(request.uri().query());
    options.container = Some(container.to_owned());
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let pod_dir = super::kubelet::pod_dir(&ctx.pods_dir, namespace, pod_name, &uid);
    let file = match logs::locate(&pod, &pod_dir, &options) {
        Ok((file, _)) => file,
        Err(logs::LogError(message)) => return text(StatusCode::BAD_REQUEST, message),
    };
    if options.follow {
        let stream = logs::follow(file, options)
            .map(|chunk| chunk.map(Frame::data).map_err(|e| Box::new(e) as BoxError));
        let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
        return response;
    }
    let content = tokio::fs::read_to_string(&file).await.unwrap_or_default();
    text(
        StatusCode::OK,
        logs::render(&content, &options, k8s_openapi::jiff::Timestamp::now()),
    )
}

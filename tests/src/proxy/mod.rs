//! The front proxy: serves the core group, discovery and (later) identity,
//! RBAC and pod logs in front of the genuine API server.

pub mod access_review;
pub mod core_group;
pub mod discovery;
pub mod logs;
pub mod protobuf;
pub mod rbac;
pub mod rbac_cache;
pub mod request_info;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::error::{Result, StepContext};
use crate::identity::{Identity, Tokens};
use crate::platform::certs::Pki;
use rbac_cache::RbacCache;
use std::path::PathBuf;
use upstream::UpstreamClient;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = BoxBody<Bytes, BoxError>;

const AGGREGATED_DISCOVERY: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// What the proxy needs to run.
pub struct Proxy {
    upstream: UpstreamClient,
    tokens: Tokens,
    rbac: RbacCache,
    pods_dir: PathBuf,
    upstream_base: String,
    http_address: String,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(value).unwrap_or_default()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// A Kubernetes `Status` error.
pub fn status_error(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16()
        }),
    )
}

impl Proxy {
    pub fn new(
        pki: &Pki,
        apiserver_port: u16,
        http_port: u16,
        tokens: Tokens,
        rbac: RbacCache,
        pods_dir: PathBuf,
    ) -> Result<Proxy> {
        Ok(Proxy {
            upstream: upstream::client(pki)?,
            tokens,
            rbac,
            pods_dir,
            upstream_base: format!("https://127.0.0.1:{apiserver_port}"),
            http_address: format!("127.0.0.1:{http_port}"),
        })
    }

    /// Serves plain HTTP on `http_port` and TLS on `https_port` until the task is dropped.
    pub async fn serve(self: Arc<Self>, http_port: u16, https_port: u16, pki: &Pki) -> Result<()> {
        let http = TcpListener::bind(("127.0.0.1", http_port))
            .await
            .step("binding the proxy's HTTP port")?;
        let https = TcpListener::bind(("127.0.0.1", https_port))
            .await
            .step("binding the proxy's HTTPS port")?;
        let acceptor = TlsAcceptor::from(upstream::server_config(pki)?);
        let plain = {
            let proxy = self.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, peer)) = http.accept().await else {
                        continue;
                    };
                    proxy.clone().serve_connection(TokioIo::new(stream), peer, false);
                }
            })
        };
        let secure = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = https.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let proxy = self.clone();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => proxy.serve_connection(TokioIo::new(tls), peer, true),
                        Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    }
                });
            }
        });
        let _ = tokio::join!(plain, secure);
        Ok(())
    }

    fn serve_connection<IO>(self: Arc<Self>, io: IO, peer: SocketAddr, secure: bool)
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = self.clone();
                async move { Ok::<_, std::convert::Infallible>(proxy.handle(request, secure).await) }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }

    /// Who sent the request: a pod's token, the admin on plain HTTP, or whom
    /// the admin impersonates.
    fn identify(&self, request: &Request<Incoming>, secure: bool) -> Option<Identity> {
        let headers = request.headers();
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
            return self.tokens.identify(token);
        }
        if secure {
            return None;
        }
        match headers.get("impersonate-user").and_then(|v| v.to_str().ok()) {
            Some(user) => {
                let groups = headers
                    .get_all("impersonate-group")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                Some(Identity::from_user(user, groups))
            }
            None => Some(Identity::Admin),
        }
    }

    async fn handle(&self, request: Request<Incoming>, secure: bool) -> Response<Body> {
        let Some(identity) = self.identify(&request, secure) else {
            return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
        };
        let path = request.uri().path().to_owned();
        let attributes = request_info::attributes(request.method().as_str(), &path, request.uri().query());
        let rbac = self.rbac.snapshot();
        if !rbac::allowed(&rbac, &identity, &attributes) {
            let mut response = status_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &rbac::forbidden_message(&identity, &attributes),
            );
            if let Some(resource) = &attributes.resource {
                let details = serde_json::json!({"name": resource.name, "group": resource.group, "kind": resource.resource});
                response = json_response(
                    StatusCode::FORBIDDEN,
                    &serde_json::json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": rbac::forbidden_message(&identity, &attributes), "reason": "Forbidden",
                        "details": details, "code": 403
                    }),
                );
            }
            return response;
        }
        match (request.method(), path.as_str()) {
            (&Method::GET, "/api") => {
                json_response(StatusCode::OK, &discovery::api_versions(&self.http_address))
            }
            (&Method::GET, "/apis") => self.group_list().await,
            (&Method::GET, "/apis/authorization.k8s.io/v1") => {
                json_response(StatusCode::OK, &discovery::authorization_resources())
            }
            (
                &Method::POST,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews"
                | "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            ) => {
                let body = match request.into_body().collect().await {
                    Ok(body) => body.to_bytes(),
                    Err(error) => {
                        return status_error(StatusCode::BAD_REQUEST, "BadRequest", &error.to_string());
                    }
                };
                match access_review::review(&rbac, &identity, &path, &body) {
                    Ok(answer) => json_response(StatusCode::CREATED, &answer),
                    Err(message) => status_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
                }
            }
            _ if attributes
                .resource
                .as_ref()
                .is_some_and(|r| r.group.is_empty() && r.resource == "pods" && r.subresource == "log") =>
            {
                self.pod_log(&attributes, request.uri().query()).await
            }
            _ => match core_group::private_path(&path) {
                Some(private) => self.forward_core(request, &private, path == "/api/v1").await,
                None => self.forward(request, None).await,
            },
        }
    }

    async fn pod_log(&self, attributes: &request_info::Attributes, query: Option<&str>) -> Response<Body> {
        let Some(resource) = &attributes.resource else {
            return status_error(StatusCode::NOT_FOUND, "NotFound", "not found");
        };
        let path = format!(
            "/apis/{}/v1/namespaces/{}/pods/{}",
            crate::platform::builtin_kinds::CORE_GROUP,
            resource.namespace,
            resource.name
        );
        let request = match Request::get(&path).body(full(Bytes::new())) {
            Ok(request) => request,
            Err(error) => {
                return status_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    &error.to_string(),
                );
            }
        };
        let response = match self.send(request, &path).await {
            Ok(response) => response,
            Err(response) => return response,
        };
        let status = response.status();
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => return status_error(StatusCode::BAD_GATEWAY, "InternalError", &error.to_string()),
        };
        if !status.is_success() {
            let mut response = Response::new(full(core_group::rewrite_bytes(
                &body,
                core_group::response_to_public,
            )));
            *response.status_mut() = status;
            return response;
        }
        let public = core_group::rewrite_bytes(&body, core_group::response_to_public);
        let pod: k8s_openapi::api::core::v1::Pod = match serde_json::from_slice(&public) {
            Ok(pod) => pod,
            Err(error) => return status_error(StatusCode::BAD_GATEWAY, "InternalError", &error.to_string()),
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let pod_dir =
            crate::runner::kubelet::pod_dir(&self.pods_dir, &resource.namespace, &resource.name, &uid);
        let options = logs::LogOptions::from_query(query);
        let (file, _) = match logs::locate(&pod, &pod_dir, &options) {
            Ok(found) => found,
            Err(logs::LogError(message)) => {
                return status_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
            }
        };
        let text_plain = http::HeaderValue::from_static("text/plain");
        if options.follow {
            let stream = logs::follow(file, options)
                .map(|chunk| chunk.map(Frame::data).map_err(|e| Box::new(e) as BoxError));
            let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
            response.headers_mut().insert(CONTENT_TYPE, text_plain);
            return response;
        }
        let content = tokio::fs::read_to_string(&file).await.unwrap_or_default();
        let mut response = Response::new(full(logs::render(
            &content,
            &options,
            k8s_openapi::jiff::Timestamp::now(),
        )));
        response.headers_mut().insert(CONTENT_TYPE, text_plain);
        response
    }

    async fn group_list(&self) -> Response<Body> {
        let request = Request::get("/apis")
            .header(ACCEPT, AGGREGATED_DISCOVERY)
            .body(full(Bytes::new()));
        let Ok(request) = request else {
            return status_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "building a request",
            );
        };
        match self.send(request, "/apis").await {
            Ok(response) => match response.into_body().collect().await {
                Ok(body) => match serde_json::from_slice::<Value>(&body.to_bytes()) {
                    Ok(aggregated) => json_response(StatusCode::OK, &discovery::group_list(&aggregated)),
                    Err(error) => status_error(StatusCode::BAD_GATEWAY, "InternalError", &error.to_string()),
                },
                Err(error) => status_error(StatusCode::BAD_GATEWAY, "InternalError", &error.to_string()),
            },
            Err(response) => response,
        }
    }

    /// Sends a request upstream to `path_and_query`.
    async fn send(
        &self,
        mut request: Request<Body>,
        path_and_query: &str,
    ) -> Result<Response<Incoming>, Response<Body>> {
        let uri: Uri = match format!("{}{path_and_query}", self.upstream_base).parse() {
            Ok(uri) => uri,
            Err(error) => {
                return Err(status_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &error.to_string(),
                ));
            }
        };
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.remove(HOST);
        headers.remove(http::header::AUTHORIZATION);
        // The proxy has authorized the request; upstream sees the admin.
        headers.remove("impersonate-user");
        headers.remove("impersonate-group");
        headers.remove("impersonate-uid");
        self.upstream.request(request).await.map_err(|error| {
            status_error(
                StatusCode::BAD_GATEWAY,
                "ServiceUnavailable",
                &format!("the API server did not answer: {error}"),
            )
        })
    }

    /// Passes a request through, optionally to another path.
    async fn forward(&self, request: Request<Incoming>, path: Option<&str>) -> Response<Body> {
        let path_and_query = match (path, request.uri().query()) {
            (Some(path), Some(query)) => format!("{path}?{query}"),
            (Some(path), None) => path.to_owned(),
            (None, _) => request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        };
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.map_err(|e| Box::new(e) as BoxError).boxed());
        match self.send(request, &path_and_query).await {
            Ok(response) => response.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed()),
            Err(response) => response,
        }
    }

    /// A core-group request: path and bodies rewritten both ways.
    async fn forward_core(
        &self,
        request: Request<Incoming>,
        private: &str,
        discovery: bool,
    ) -> Response<Body> {
        let watch = request
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{private}?{query}"),
            None => private.to_owned(),
        };
        let (mut parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &error.to_string()),
        };
        let body = if body.is_empty() {
            body
        } else {
            Bytes::from(core_group::rewrite_bytes(&body, core_group::request_to_private))
        };
        parts.headers.remove(CONTENT_LENGTH);
        if discovery {
            parts
                .headers
                .insert(ACCEPT, http::HeaderValue::from_static("application/json"));
        }
        let response = match self
            .send(Request::from_parts(parts, full(body)), &path_and_query)
            .await
        {
            Ok(response) => response,
            Err(response) => return response,
        };
        let (mut parts, body) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        if watch && parts.status.is_success() {
            let mut rewriter = core_group::LineRewriter::default();
            let stream = body.into_data_stream().map(move |chunk| match chunk {
                Ok(bytes) => Ok(Frame::data(Bytes::from(rewriter.feed(&bytes)))),
                Err(error) => Err(Box::new(error) as BoxError),
            });
            return Response::from_parts(parts, BodyExt::boxed(StreamBody::new(stream)));
        }
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return status_error(StatusCode::BAD_GATEWAY, "InternalError", &error.to_string()),
        };
        let rewritten = if discovery {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) => serde_json::to_vec(&discovery::core_resources(value)).unwrap_or_default(),
                Err(_) => bytes.to_vec(),
            }
        } else {
            core_group::rewrite_bytes(&bytes, core_group::response_to_public)
        };
        Response::from_parts(parts, full(rewritten))
    }
}

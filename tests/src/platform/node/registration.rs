//! The node's presence in the cluster, as a kubelet keeps it: the Node object
//! (addresses, capacity, the kubelet endpoint that serves logs, a Ready
//! condition) and its Lease in `kube-node-lease`, renewed so the node
//! lifecycle controller never marks it NotReady.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use super::NodeContext;
use crate::error::{Result, StepContext};
use crate::platform::certs::NODE_NAME;

const LEASE_NAMESPACE: &str = "kube-node-lease";
/// A kubelet's defaults: the Lease lasts 40 s and is renewed every 10 s.
const LEASE_SECONDS: i32 = 40;
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often the Ready condition's heartbeat is written (a kubelet's is 5 minutes
/// when nothing changes; the Lease is what the lifecycle controller reads).
const STATUS_EVERY: Duration = Duration::from_secs(60);

/// Whether the Node's `Ready` condition is True.
pub fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn quantity(text: &str) -> Quantity {
    Quantity(text.to_owned())
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// The node's status: one loopback address, room for many pods (pipeline pods
/// are small and short), and the port the API server asks for logs.
pub fn status(ctx: &NodeContext) -> NodeStatus {
    let now = Time(Timestamp::now());
    let resources = resources();
    NodeStatus {
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".to_owned(),
                address: "127.0.0.1".to_owned(),
            },
            NodeAddress {
                type_: "Hostname".to_owned(),
                address: NODE_NAME.to_owned(),
            },
        ]),
        allocatable: Some(resources.clone()),
        capacity: Some(resources),
        conditions: Some(conditions(&now)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(ctx.node_port),
            }),
        }),
        node_info: Some(node_info(ctx)),
        ..NodeStatus::default()
    }
}

/// The node's capacity (all of it allocatable).
fn resources() -> BTreeMap<String, Quantity> {
    [
        ("cpu", quantity("64")),
        ("memory", quantity("256Gi")),
        ("pods", quantity("2000")),
        ("ephemeral-storage", quantity("100Gi")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The node's conditions at `now`: no pressure of any kind, and Ready.
fn conditions(now: &Time) -> Vec<NodeCondition> {
    vec![
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            now,
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            now,
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            now,
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "testenv node is posting ready status",
            now,
        ),
    ]
}

/// What the node says it runs: this machine's architecture, podman (or the
/// host, in instant mode) and the Kubernetes version testenv builds.
fn node_info(ctx: &NodeContext) -> NodeSystemInfo {
    NodeSystemInfo {
        architecture: std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64"),
        operating_system: "linux".to_owned(),
        container_runtime_version: if ctx.instant.is_some() {
            "host://instant".to_owned()
        } else {
            "podman://runc".to_owned()
        },
        kubelet_version: crate::platform::paths::KUBERNETES_VERSION.to_owned(),
        kube_proxy_version: String::new(),
        os_image: "kubectl-kratix testenv".to_owned(),
        kernel_version: String::new(),
        boot_id: String::new(),
        machine_id: String::new(),
        system_uuid: String::new(),
        swap: None,
        running_in_user_namespace: None,
    }
}

/// Creates the Node (or takes over the one a previous run left) with a Ready status.
pub async fn register(ctx: &NodeContext) -> Result<()> {
    let step = "registering the node";
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(NODE_NAME.to_owned()),
            labels: Some(
                [
                    ("kubernetes.io/hostname", NODE_NAME),
                    ("kubernetes.io/os", "linux"),
                    ("kubernetes.io/arch", "amd64"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => return Err(error).step(step),
    }
    write_status(ctx).await.step(step)
}

async fn write_status(ctx: &NodeContext) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let patch = json!({"status": status(ctx)});
    nodes
        .patch_status(NODE_NAME, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .map(|_| ())
}

/// Renews the Lease and refreshes the Ready heartbeat until the process ends.
pub async fn heartbeat(ctx: std::sync::Arc<NodeContext>) {
    let leases: Api<Lease> = Api::namespaced(ctx.client.clone(), LEASE_NAMESPACE);
    let mut last_status = tokio::time::Instant::now();
    loop {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(NODE_NAME.to_owned()),
                namespace: Some(LEASE_NAMESPACE.to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(NODE_NAME.to_owned()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(MicroTime(Timestamp::now())),
                ..LeaseSpec::default()
            }),
        };
        let params = PatchParams::apply("testenv-node").force();
        if let Err(error) = leases.patch(NODE_NAME, &params, &Patch::Apply(&lease)).await {
            tracing::warn!(%error, "renewing the node lease failed");
        }
        if last_status.elapsed() >= STATUS_EVERY {
            if let Err(error) = write_status(&ctx).await {
                tracing::warn!(%error, "writing the node status failed");
            }
            last_status = tokio::time::Instant::now();
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
}

//! The RBAC objects, watched so that every request is evaluated against the
//! current state without a round trip.

use futures::StreamExt as _;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

use super::rbac::RbacObjects;

pub struct RbacCache {
    roles: Store<Role>,
    cluster_roles: Store<ClusterRole>,
    role_bindings: Store<RoleBinding>,
    cluster_role_bindings: Store<ClusterRoleBinding>,
}

fn watched<K>(client: &kube::Client) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), watcher::Config::default()).default_backoff(),
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream.applied_objects());
        while stream.next().await.is_some() {}
    });
    reader
}

impl RbacCache {
    /// Starts watching and returns once every store has its first list.
    pub async fn start(client: &kube::Client) -> RbacCache {
        let cache = RbacCache {
            roles: watched(client),
            cluster_roles: watched(client),
            role_bindings: watched(client),
            cluster_role_bindings: watched(client),
        };
        let _ = tokio::join!(
            cache.roles.wait_until_ready(),
            cache.cluster_roles.wait_until_ready(),
            cache.role_bindings.wait_until_ready(),
            cache.cluster_role_bindings.wait_until_ready()
        );
        cache
    }

    pub fn snapshot(&self) -> RbacObjects {
        fn take<K: Clone>(items: Vec<std::sync::Arc<K>>) -> Vec<K> {
            items.into_iter().map(|item| (*item).clone()).collect()
        }
        RbacObjects {
            roles: take(self.roles.state()),
            cluster_roles: take(self.cluster_roles.state()),
            role_bindings: take(self.role_bindings.state()),
            cluster_role_bindings: take(self.cluster_role_bindings.state()),
        }
    }
}

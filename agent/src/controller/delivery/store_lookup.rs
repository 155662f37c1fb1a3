//! From a Destination to its state store and file layout, read from the
//! controllers' caches; a missing store or an unknown layout is a message that
//! names the object and what to do.

use std::sync::Arc;

use kratix_shared::api::destination::Destination;
use kratix_shared::api::state_store::{BucketStateStore, GitStateStore};
use kratix_shared::delivery::state_batch::Target;
use kratix_shared::delivery::state_layout::Layout;
use kube::ResourceExt as _;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::state_store::StoreObject;

/// Any change of either kind of state store, as a trigger stream (a new store, a
/// changed spec) with the two caches it fills.
pub fn store_caches_and_changes(
    client: &kube::Client,
) -> (
    Store<GitStateStore>,
    Store<BucketStateStore>,
    impl futures::Stream<Item = ()> + Send + 'static,
) {
    use futures::StreamExt as _;
    use kube::api::Api;
    use kube::runtime::{WatchStreamExt as _, reflector, watcher};
    let (git_stores, git_writer) = reflector::store();
    let (bucket_stores, bucket_writer) = reflector::store();
    let git_changes = watcher(
        Api::<GitStateStore>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(git_writer)
    .touched_objects()
    .filter_map(|result| futures::future::ready(result.ok().map(|_| ())));
    let bucket_changes = watcher(
        Api::<BucketStateStore>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(bucket_writer)
    .touched_objects()
    .filter_map(|result| futures::future::ready(result.ok().map(|_| ())));
    (
        git_stores,
        bucket_stores,
        futures::stream::select(git_changes.boxed(), bucket_changes.boxed()),
    )
}

/// The caches a state-store controller reads.
#[derive(Clone)]
pub struct StoreCaches {
    pub destinations: Store<Destination>,
    pub git_stores: Store<GitStateStore>,
    pub bucket_stores: Store<BucketStateStore>,
}

impl StoreCaches {
    pub fn destination(&self, name: &str) -> Option<Arc<Destination>> {
        self.destinations.get(&ObjectRef::new(name))
    }

    /// The store a Destination writes to.
    pub fn store_of(&self, destination: &Destination) -> Result<StoreObject, String> {
        let reference = &destination.spec.state_store_ref;
        match reference.kind.as_str() {
            "GitStateStore" => self
                .git_stores
                .get(&ObjectRef::new(&reference.name))
                .map(StoreObject::Git)
                .ok_or_else(|| {
                    format!(
                        "Destination {}: GitStateStore {} does not exist; create it or fix spec.stateStoreRef",
                        destination.name_any(),
                        reference.name
                    )
                }),
            "BucketStateStore" => self
                .bucket_stores
                .get(&ObjectRef::new(&reference.name))
                .map(StoreObject::Bucket)
                .ok_or_else(|| {
                    format!(
                        "Destination {}: BucketStateStore {} does not exist; create it or fix spec.stateStoreRef",
                        destination.name_any(),
                        reference.name
                    )
                }),
            other => Err(format!(
                "Destination {}: spec.stateStoreRef.kind {other:?} is not GitStateStore or BucketStateStore",
                destination.name_any()
            )),
        }
    }

    /// The Destination's store and where its files go in it.
    pub fn store_and_target(&self, destination: &Destination) -> Result<(StoreObject, Target), String> {
        let store = self.store_of(destination)?;
        let target = Self::target(destination, &store)?;
        Ok((store, target))
    }

    /// Where the Destination's files go in `store`.
    pub fn target(destination: &Destination, store: &StoreObject) -> Result<Target, String> {
        let layout = Layout::of(&destination.name_any(), &destination.spec).map_err(|e| e.to_string())?;
        Ok(Target {
            destination: destination.name_any(),
            store_path: store.path(),
            destination_path: destination.spec.path.clone(),
            layout,
        })
    }
}

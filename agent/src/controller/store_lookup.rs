//! From a Destination to its state store and file layout, read from the
//! controllers' caches; a missing store or an unknown layout is a message that
//! names the object and what to do.

use std::sync::Arc;

use kratix_shared::api::destination::Destination;
use kratix_shared::api::state_store::GitStateStore;
use kratix_shared::state_batch::Target;
use kratix_shared::state_layout::Layout;
use kube::ResourceExt as _;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::state_store::StoreObject;

/// The caches a state-store controller reads.
#[derive(Clone)]
pub struct StoreCaches {
    pub destinations: Store<Destination>,
    pub git_stores: Store<GitStateStore>,
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
            "BucketStateStore" => Err(format!(
                "Destination {}: BucketStateStore {} is not written by this agent version",
                destination.name_any(),
                reference.name
            )),
            other => Err(format!(
                "Destination {}: spec.stateStoreRef.kind {other:?} is not GitStateStore or BucketStateStore",
                destination.name_any()
            )),
        }
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

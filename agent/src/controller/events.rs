//! Kubernetes Events about Promises and requests (`kubectl describe` shows
//! them). An Event that cannot be written is logged, never a failed reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::events::{Event, EventType};

use super::Agent;

pub async fn publish(
    agent: &Agent,
    object: &DynamicObject,
    api_resource: &ApiResource,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let mut reference = object.object_ref(api_resource);
    reference.resource_version = object.meta().resource_version.clone();
    publish_to(agent, reference, type_, reason, action, note).await;
}

/// The object's reference with its resourceVersion, as client-go makes it: an
/// Event about the object as it is now starts its own series, not a repeat of an
/// older one (which would keep that one's note).
pub fn reference<K: Resource<DynamicType = ()>>(object: &K) -> ObjectReference {
    let mut reference = object.object_ref(&());
    reference.resource_version = object.meta().resource_version.clone();
    reference
}

/// The same, for an object known by its reference.
pub async fn publish_to(
    agent: &Agent,
    reference: k8s_openapi::api::core::v1::ObjectReference,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        // Events repeat into one series by (type, reason, action, object):
        // the action keeps a configure and a delete pipeline's starts apart.
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = agent.recorder.publish(&event, &reference).await {
        tracing::debug!(%error, reason, "writing an Event failed");
    }
}

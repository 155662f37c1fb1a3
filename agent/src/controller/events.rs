//! Kubernetes Events about Promises and requests (`kubectl describe` shows
//! them). An Event that cannot be written is logged, never a failed reconcile.

use kube::Resource as _;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::events::{Event, EventType};

use super::Agent;

pub async fn publish(
    agent: &Agent,
    object: &DynamicObject,
    api_resource: &ApiResource,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let reference = object.object_ref(api_resource);
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = agent.recorder.publish(&event, &reference).await {
        tracing::debug!(%error, reason, "writing an Event failed");
    }
}

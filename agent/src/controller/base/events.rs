//! Kubernetes Events (`kubectl describe` and `kubectl events` show them), each
//! reported by the Kratix controller that would report it, with Kratix's
//! reasons and action = reason. What to say is decided in
//! `kratix_shared::workflow::events`; this writes it. An Event that cannot be
//! written is logged, never a failed reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kratix_shared::workflow::events::{self, KratixEvent, Severity, Subject};
use kube::Resource;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::events::{Event, EventType};
use serde_json::{Map, Value};

use super::context::Agent;

/// The object's reference with its resourceVersion, as client-go makes it: an
/// Event about the object as it is now starts its own series, not a repeat of an
/// older one (which would keep that one's note).
pub fn reference<K: Resource<DynamicType = ()>>(object: &K) -> ObjectReference {
    let mut reference = object.object_ref(&());
    reference.resource_version = object.meta().resource_version.clone();
    reference
}

/// The same, for an object of a kind known at run time.
pub fn dynamic_reference(object: &DynamicObject, api_resource: &ApiResource) -> ObjectReference {
    let mut reference = object.object_ref(api_resource);
    reference.resource_version = object.meta().resource_version.clone();
    reference
}

/// Writes one Event about the object `reference` names.
pub async fn emit(agent: &Agent, reference: &ObjectReference, event: &KratixEvent) {
    emit_related(agent, reference, None, event).await;
}

/// The same, naming a second object the Event is about. Events of one reason
/// about one object at one resourceVersion repeat into a single series (its
/// first note kept); a related object tells several apart, as a Work's Events
/// about each of its placements.
pub async fn emit_related(
    agent: &Agent,
    reference: &ObjectReference,
    related: Option<ObjectReference>,
    event: &KratixEvent,
) {
    let Some(recorder) = agent.recorders.of(event.reporter) else {
        return;
    };
    let type_ = match event.severity {
        Severity::Normal => EventType::Normal,
        Severity::Warning => EventType::Warning,
    };
    let written = Event {
        type_,
        reason: event.reason.to_owned(),
        note: Some(events::bounded_note(&event.note)),
        action: event.reason.to_owned(),
        secondary: related,
    };
    if let Err(error) = recorder.publish(&written, reference).await {
        tracing::debug!(%error, reason = event.reason, "writing an Event failed");
    }
}

/// Writes the Events Kratix emits as `subject`'s status goes from `before`
/// to `after` (just written, about the object `reference` names).
pub async fn status_changed(
    agent: &Agent,
    reference: &ObjectReference,
    subject: Subject<'_>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) {
    for event in events::on_status_change(subject, before, after) {
        emit(agent, reference, &event).await;
    }
}

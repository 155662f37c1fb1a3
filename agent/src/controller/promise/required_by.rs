//! `status.requiredBy` on the Promises a Promise requires.
//! Each requirer keeps its own entries there and takes them away when it stops
//! requiring a Promise or is deleted; the list is informational (requirers are
//! woken by the Promise controller's own watch, not by reading it).

use kratix_shared::api::Promise;
use kratix_shared::api::promise::RequiredBy;
use kratix_shared::workflow::requirements;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::status;

/// Brings every Promise's `status.requiredBy` in line with what `requirer`
/// requires now. Reads the Promise cache; writes only the Promises that change.
pub async fn sync(agent: &Agent, requirer: &Promise) -> Result<(), ReconcileError> {
    let Some(store) = agent.promises.get() else {
        return Ok(());
    };
    let name = requirer.name_any();
    let api: Api<DynamicObject> = Api::all_with(
        agent.client.clone(),
        &crate::controller::base::promises::api_resource(),
    );
    for required in store.state() {
        let required_name = required.name_any();
        if required_name == name {
            continue;
        }
        let current: Vec<RequiredBy> = required
            .data
            .get("status")
            .and_then(|s| s.get("requiredBy"))
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let entries = requirements::entries_of(requirer, &required_name);
        let Some(updated) = requirements::required_by(&current, &name, entries) else {
            continue;
        };
        let mut new_status = status::status_of(&required);
        if updated.is_empty() {
            new_status.remove("requiredBy");
        } else {
            new_status.insert(
                "requiredBy".to_owned(),
                serde_json::to_value(&updated).unwrap_or(Value::Null),
            );
        }
        // With the cached resourceVersion: a stale copy is a conflict, and the
        // requirer's reconcile runs again shortly with a fresher one.
        match status::replace(agent, &api, &required, new_status).await {
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

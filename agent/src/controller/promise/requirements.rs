//! The Promises a Promise requires, as they stand now: read from the agent's
//! cache (or the API server), judged by the shared requirement rules.

use kratix_shared::api::conditions::promise_state;
use kratix_shared::api::labels;
use kratix_shared::api::promise::RequiredPromiseStatus;
use kratix_shared::workflow::promise_status;
use kratix_shared::workflow::requirements::{self, Found};
use kube::ResourceExt;

use super::object::PromiseObject;
use crate::controller::base::context::Agent;
use crate::controller::base::error::ReconcileError;
use crate::controller::base::promises::cached_or_read;

/// How each required Promise stands, and whether all are met.
pub struct Required {
    pub states: Vec<RequiredPromiseStatus>,
    pub all_met: bool,
}

/// The Promise's requirements; `None` when it requires none.
pub async fn check(agent: &Agent, promise: &PromiseObject) -> Result<Option<Required>, ReconcileError> {
    let required = &promise.typed.spec.required_promises;
    if required.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for requirement in required {
        found.push((
            requirement.name.clone(),
            cached_or_read(agent, &requirement.name).await?,
        ));
    }
    let revisions: Vec<(String, Vec<String>)> = found
        .iter()
        .map(|(name, p)| {
            let kept = p
                .as_ref()
                .map(|p| promise_status::revisions_of(&p.data["status"]["kratix"]))
                .unwrap_or_default();
            (name.clone(), kept)
        })
        .collect();
    let (states, all_met) = requirements::evaluate(required, |name| {
        let revisions = revisions
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, r)| r.as_slice());
        found
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, p)| p.as_ref())
            .map(|p| Found {
                available: p.data["status"]["status"] == promise_state::AVAILABLE,
                version: p.labels().get(labels::PROMISE_VERSION).map(String::as_str),
                revisions,
            })
    });
    Ok(Some(Required { states, all_met }))
}

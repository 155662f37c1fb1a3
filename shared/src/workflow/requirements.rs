//! `spec.requiredPromises`: which required Promises are
//! installed, as `status.requiredPromises` and `RequirementsFulfilled` report it,
//! and the `status.requiredBy` each requirer keeps on the Promises it requires.

use crate::api::conditions::{reasons, status as state};
use crate::api::labels;
use crate::api::promise::{Promise, PromiseReference, RequiredBy, RequiredPromise, RequiredPromiseStatus};
use crate::workflow::conditions::Condition;

pub const INSTALLED: &str = "Requirement installed";
pub const NOT_INSTALLED: &str = "Requirement not installed";
pub const NOT_AT_VERSION: &str = "Requirement not installed at the specified version";
pub const NOT_AVAILABLE: &str = "Requirement not available";

/// What the cluster says about one required Promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    pub available: bool,
    /// Its `kratix.io/promise-version` label.
    pub version: Option<&'a str>,
    /// Every version it has been installed at (`status.kratix.revisions`).
    pub revisions: &'a [String],
}

/// How many versions a Promise's `status.kratix.revisions` keeps, newest last.
pub const REVISIONS_KEPT: usize = 64;

/// `revisions` with `version` recorded: once, newest last, at most
/// [`REVISIONS_KEPT`] (the oldest go first).
pub fn record_revision(revisions: &[String], version: &str) -> Vec<String> {
    let mut kept: Vec<String> = revisions.iter().filter(|v| *v != version).cloned().collect();
    kept.push(version.to_owned());
    let excess = kept.len().saturating_sub(REVISIONS_KEPT);
    kept.drain(..excess);
    kept
}

/// Each requirement's state, and whether all are installed. A requirement with
/// a version is met by a Promise that is, or has been, at that version since
/// it was created: Kratix keeps a PromiseRevision per version a Promise was
/// installed at and looks the requirement up among them, so an upgrade does
/// not break a requirement on the version before. The agent keeps those
/// versions in `status.kratix.revisions`.
pub fn evaluate<'a>(
    required: &[RequiredPromise],
    lookup: impl Fn(&str) -> Option<Found<'a>>,
) -> (Vec<RequiredPromiseStatus>, bool) {
    let states: Vec<RequiredPromiseStatus> = required
        .iter()
        .map(|requirement| {
            // Kratix's checks, in its order: there, at the version, Available.
            let state = match lookup(&requirement.name) {
                None => NOT_INSTALLED,
                Some(found)
                    if !requirement.version.is_empty()
                        && found.version != Some(&requirement.version)
                        && !found.revisions.contains(&requirement.version) =>
                {
                    NOT_AT_VERSION
                }
                Some(found) if !found.available => NOT_AVAILABLE,
                Some(_) => INSTALLED,
            };
            RequiredPromiseStatus {
                name: requirement.name.clone(),
                version: requirement.version.clone(),
                state: state.to_owned(),
            }
        })
        .collect();
    let all = states.iter().all(|s| s.state == INSTALLED);
    (states, all)
}

/// `RequirementsFulfilled` from the requirements' states, Kratix's strings: the
/// last unmet requirement decides the reason, as there.
pub fn fulfilled_condition(states: &[RequiredPromiseStatus]) -> Condition {
    let condition = |status, reason, message: &str| Condition {
        type_: crate::api::conditions::types::REQUIREMENTS_FULFILLED,
        status,
        reason,
        message: message.to_owned(),
    };
    match states.iter().rev().find(|s| s.state != INSTALLED) {
        None => condition(
            state::TRUE,
            reasons::REQUIREMENTS_INSTALLED,
            "Requirements fulfilled",
        ),
        Some(unmet) if unmet.state == NOT_AVAILABLE => condition(
            state::FALSE,
            reasons::REQUIREMENTS_NOT_AVAILABLE,
            "Requirements not fulfilled",
        ),
        Some(_) => condition(
            state::FALSE,
            reasons::REQUIREMENTS_NOT_INSTALLED,
            "Requirements not fulfilled",
        ),
    }
}

/// The `status.requiredBy` entries `requirer` owns on Promise `required`: one per
/// requirement naming it, none once the requirer is being deleted.
pub fn entries_of(requirer: &Promise, required: &str) -> Vec<RequiredBy> {
    if requirer.metadata.deletion_timestamp.is_some() {
        return Vec::new();
    }
    let name = requirer.metadata.name.clone().unwrap_or_default();
    let version = requirer
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::PROMISE_VERSION))
        .cloned()
        .unwrap_or_default();
    requirer
        .spec
        .required_promises
        .iter()
        .filter(|r| r.name == required)
        .map(|r| RequiredBy {
            promise: PromiseReference {
                name: name.clone(),
                version: version.clone(),
            },
            required_version: r.version.clone(),
        })
        .collect()
}

/// A required Promise's `status.requiredBy` with `requirer`'s entries replaced
/// by `entries`, ordered by requirer and version so the list is stable however the
/// writes interleave; `None` when that changes nothing.
pub fn required_by(
    current: &[RequiredBy],
    requirer: &str,
    entries: Vec<RequiredBy>,
) -> Option<Vec<RequiredBy>> {
    let mut updated: Vec<RequiredBy> = current
        .iter()
        .filter(|e| e.promise.name != requirer)
        .cloned()
        .chain(entries)
        .collect();
    updated.sort_by(|a, b| {
        (&a.promise.name, &a.required_version, &a.promise.version).cmp(&(
            &b.promise.name,
            &b.required_version,
            &b.promise.version,
        ))
    });
    updated.dedup();
    (updated != current).then_some(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(name: &str, version: &str) -> RequiredPromise {
        RequiredPromise {
            name: name.to_owned(),
            version: version.to_owned(),
        }
    }

    #[test]
    fn a_requirement_needs_an_available_promise_of_the_asked_version() {
        let lookup = |name: &str| match name {
            "db" => Some(Found {
                available: true,
                version: Some("v2"),
                revisions: &[],
            }),
            "cache" => Some(Found {
                available: false,
                version: None,
                revisions: &[],
            }),
            _ => None,
        };
        let (states, all) = evaluate(&[required("db", "v2"), required("db", "")], lookup);
        assert!(all);
        assert_eq!(states[0].state, INSTALLED);
        let (states, all) = evaluate(
            &[required("db", "v1"), required("cache", ""), required("x", "")],
            lookup,
        );
        assert!(!all);
        assert_eq!(
            states.iter().map(|s| s.state.as_str()).collect::<Vec<_>>(),
            [NOT_AT_VERSION, NOT_AVAILABLE, NOT_INSTALLED]
        );
        assert!(evaluate(&[], lookup).1, "no requirements are met");
        let unmet = fulfilled_condition(&states);
        assert_eq!(
            (unmet.status, unmet.reason, unmet.message.as_str()),
            ("False", "RequirementsNotInstalled", "Requirements not fulfilled")
        );
        let (states, _) = evaluate(&[required("x", ""), required("cache", "")], lookup);
        assert_eq!(fulfilled_condition(&states).reason, "RequirementsNotAvailable");
        let (states, _) = evaluate(&[required("db", "")], lookup);
        assert_eq!(fulfilled_condition(&states).message, "Requirements fulfilled");
    }

    #[test]
    fn a_requirement_on_a_version_the_promise_was_installed_at_holds_after_an_upgrade() {
        let revisions = vec!["v1.0.0".to_owned(), "v2.0.0".to_owned()];
        let upgraded = |_: &str| {
            Some(Found {
                available: true,
                version: Some("v2.0.0"),
                revisions: &revisions,
            })
        };
        let (states, all) = evaluate(&[required("sub", "v1.0.0")], upgraded);
        assert!(all, "{states:?}");
        let (states, all) = evaluate(&[required("sub", "v3.0.0")], upgraded);
        assert!(!all);
        assert_eq!(states[0].state, NOT_AT_VERSION);
    }

    #[test]
    fn revisions_are_recorded_once_newest_last_and_bounded() {
        let once = record_revision(&[], "v1");
        assert_eq!(once, ["v1"]);
        let again = record_revision(&["v1".to_owned(), "v2".to_owned()], "v1");
        assert_eq!(again, ["v2", "v1"]);
        let many: Vec<String> = (0..REVISIONS_KEPT).map(|i| format!("v{i}")).collect();
        let bounded = record_revision(&many, "new");
        assert_eq!(bounded.len(), REVISIONS_KEPT);
        assert_eq!(bounded.first().map(String::as_str), Some("v1"));
        assert_eq!(bounded.last().map(String::as_str), Some("new"));
    }

    fn entry(requirer: &str, version: &str, required_version: &str) -> RequiredBy {
        RequiredBy {
            promise: PromiseReference {
                name: requirer.to_owned(),
                version: version.to_owned(),
            },
            required_version: required_version.to_owned(),
        }
    }

    #[test]
    fn each_requirer_replaces_only_its_own_entries_in_a_stable_order() {
        let first = required_by(&[], "web", vec![entry("web", "v1", "v2")]).expect("added");
        assert_eq!(first, [entry("web", "v1", "v2")]);
        let both = required_by(&first, "api", vec![entry("api", "", "")]).expect("added");
        assert_eq!(both, [entry("api", "", ""), entry("web", "v1", "v2")]);
        assert_eq!(
            required_by(&both, "api", vec![entry("api", "", "")]),
            None,
            "an unchanged entry is not written again"
        );
        let upgraded = required_by(&both, "web", vec![entry("web", "v2", "v2")]).expect("changed");
        assert_eq!(upgraded, [entry("api", "", ""), entry("web", "v2", "v2")]);
        let dropped = required_by(&upgraded, "api", vec![]).expect("removed");
        assert_eq!(dropped, [entry("web", "v2", "v2")]);
        assert_eq!(required_by(&[], "api", vec![]), None);
    }

    #[test]
    fn a_requirer_owns_one_entry_per_requirement_until_it_is_deleted() {
        let mut requirer: Promise = serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
            "metadata": {"name": "web", "labels": {"kratix.io/promise-version": "v3"}},
            "spec": {"requiredPromises": [{"name": "db", "version": "v1"}, {"name": "cache"}]}
        }))
        .expect("promise");
        assert_eq!(entries_of(&requirer, "db"), [entry("web", "v3", "v1")]);
        assert_eq!(entries_of(&requirer, "cache"), [entry("web", "v3", "")]);
        assert!(entries_of(&requirer, "queue").is_empty());
        requirer.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert!(
            entries_of(&requirer, "db").is_empty(),
            "a deleted requirer takes its entries away"
        );
    }
}

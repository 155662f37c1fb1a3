//! `spec.requiredPromises` (contract 10.1 step 5): which required Promises are
//! installed, as `status.requiredPromises` and `RequirementsFulfilled` report it.

use crate::api::promise::{RequiredPromise, RequiredPromiseStatus};

pub const INSTALLED: &str = "Requirement installed";
pub const NOT_INSTALLED: &str = "Requirement not installed";

/// What the cluster says about one required Promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    pub available: bool,
    /// Its `kratix.io/promise-version` label.
    pub version: Option<&'a str>,
}

/// Each requirement's state, and whether all are installed. A requirement with
/// a version is met only by that version (read from the required Promise's
/// `kratix.io/promise-version` label; Kratix looks for a PromiseRevision of that
/// version, a layer not modelled here).
pub fn evaluate<'a>(
    required: &[RequiredPromise],
    lookup: impl Fn(&str) -> Option<Found<'a>>,
) -> (Vec<RequiredPromiseStatus>, bool) {
    let states: Vec<RequiredPromiseStatus> = required
        .iter()
        .map(|requirement| {
            let met = lookup(&requirement.name).is_some_and(|found| {
                found.available
                    && (requirement.version.is_empty() || found.version == Some(&requirement.version))
            });
            RequiredPromiseStatus {
                name: requirement.name.clone(),
                version: requirement.version.clone(),
                state: if met { INSTALLED } else { NOT_INSTALLED }.to_owned(),
            }
        })
        .collect();
    let all = states.iter().all(|s| s.state == INSTALLED);
    (states, all)
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
            }),
            "cache" => Some(Found {
                available: false,
                version: None,
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
        assert!(states.iter().all(|s| s.state == NOT_INSTALLED));
        assert!(evaluate(&[], lookup).1, "no requirements are met");
    }
}

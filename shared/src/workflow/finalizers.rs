//! The finalizers Kratix puts on Promises and resource requests,
//! and the fixed order the delete flows remove them in.

pub const DELETE_WORKFLOWS: &str = "kratix.io/delete-workflows";
pub const WORKFLOWS_CLEANUP: &str = "kratix.io/workflows-cleanup";
pub const WORK_CLEANUP: &str = "kratix.io/work-cleanup";
pub const RESOURCE_REQUEST_CLEANUP: &str = "kratix.io/resource-request-cleanup";
pub const DEPENDANT_RESOURCES_CLEANUP: &str = "kratix.io/dynamic-controller-dependant-resources-cleanup";
pub const DEPENDENCIES_CLEANUP: &str = "kratix.io/dependencies-cleanup";
pub const API_CRD_CLEANUP: &str = "kratix.io/api-crd-cleanup";
pub const WORKPLACEMENT_REPO_CLEANUP: &str = "finalizers.workplacement.kratix.io/repo-cleanup";
pub const WORKPLACEMENT_DOT_FILES_CLEANUP: &str =
    "finalizers.workplacement.kratix.io/kratix-dot-files-cleanup";
pub const DESTINATION_CLEANUP: &str = "kratix.io/destination-cleanup";

/// A resource request's finalizers, in the order deletion removes them: the
/// delete pipeline first, then its Works, then its Jobs. (Kratix's
/// `kratix.io/resource-binding-cleanup` belongs to its versioning layer, which
/// is not modelled.)
pub const RESOURCE: [&str; 3] = [DELETE_WORKFLOWS, WORK_CLEANUP, WORKFLOWS_CLEANUP];

/// A Promise's finalizers, in the order deletion removes them.
pub fn promise(has_api: bool, has_delete_pipeline: bool) -> Vec<&'static str> {
    let mut finalizers = Vec::new();
    if has_delete_pipeline {
        finalizers.push(DELETE_WORKFLOWS);
    }
    finalizers.push(WORKFLOWS_CLEANUP);
    if has_api {
        finalizers.push(RESOURCE_REQUEST_CLEANUP);
        finalizers.push(DEPENDANT_RESOURCES_CLEANUP);
    }
    finalizers.push(DEPENDENCIES_CLEANUP);
    if has_api {
        finalizers.push(API_CRD_CLEANUP);
    }
    finalizers
}

/// The finalizers the object should carry: its own that are not ours, then
/// ours in order. A `delete-workflows` finalizer that is no longer wanted (the
/// delete pipeline was removed) goes, as in Kratix. `None` when nothing changes.
pub fn synced(present: &[String], wanted: &[&str], all_ours: &[&str]) -> Option<Vec<String>> {
    let mut next: Vec<String> = present
        .iter()
        .filter(|f| !all_ours.contains(&f.as_str()) || wanted.contains(&f.as_str()))
        .cloned()
        .collect();
    for finalizer in wanted {
        if !next.iter().any(|f| f == finalizer) {
            next.push((*finalizer).to_owned());
        }
    }
    (next != present).then_some(next)
}

/// Every finalizer a Promise can carry.
pub const ALL_PROMISE: [&str; 7] = [
    DELETE_WORKFLOWS,
    WORKFLOWS_CLEANUP,
    RESOURCE_REQUEST_CLEANUP,
    DEPENDANT_RESOURCES_CLEANUP,
    DEPENDENCIES_CLEANUP,
    API_CRD_CLEANUP,
    "kratix.io/revision-cleanup",
];

/// The next finalizer of `order` still present: the delete step to do now.
pub fn next<'a>(present: &[String], order: &[&'a str]) -> Option<&'a str> {
    order.iter().copied().find(|f| present.iter().any(|p| p == f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_promise_without_api_or_delete_pipeline_needs_three_fewer() {
        assert_eq!(promise(false, false), [WORKFLOWS_CLEANUP, DEPENDENCIES_CLEANUP]);
        assert_eq!(promise(true, true).len(), 6);
        assert_eq!(promise(true, true)[0], DELETE_WORKFLOWS);
    }

    #[test]
    fn syncing_keeps_foreign_finalizers_and_drops_unwanted_ones_of_ours() {
        let present = owned(&["example.com/keep", DELETE_WORKFLOWS, WORKFLOWS_CLEANUP]);
        let wanted = promise(false, false);
        assert_eq!(
            synced(&present, &wanted, &ALL_PROMISE),
            Some(owned(&[
                "example.com/keep",
                WORKFLOWS_CLEANUP,
                DEPENDENCIES_CLEANUP
            ]))
        );
        let done = owned(&[WORKFLOWS_CLEANUP, DEPENDENCIES_CLEANUP]);
        assert_eq!(synced(&done, &wanted, &ALL_PROMISE), None);
    }

    #[test]
    fn deletion_takes_finalizers_in_order() {
        let present = owned(&[WORKFLOWS_CLEANUP, WORK_CLEANUP]);
        assert_eq!(next(&present, &RESOURCE), Some(WORK_CLEANUP));
        assert_eq!(next(&[], &RESOURCE), None);
    }
}

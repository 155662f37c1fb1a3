//! What wakes a controller, as kube predicates: kube's own (generation,
//! labels, annotations, finalizers) combined with what kube has none for.

use kube::Resource;
use kube::runtime::{Predicate, predicates};

/// Whether the object is being deleted: the deletion of an object with
/// finalizers need not move its generation.
pub fn deleting<K: Resource>(object: &K) -> Option<u64> {
    Some(u64::from(object.meta().deletion_timestamp.is_some()))
}

/// What can change what an object's workflow does: its spec (through the
/// generation), labels (manual reconciliation, pause), annotations (the
/// reconciliation interval), finalizers and deletion. A status write, the
/// agent's own or a pipeline's, changes none of them.
pub fn workflow_inputs<K: Resource>() -> impl Predicate<K> {
    predicates::generation
        .combine(predicates::labels)
        .combine(predicates::annotations)
        .combine(predicates::finalizers)
        .combine(deleting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn hash(job: &Job) -> Option<u64> {
        workflow_inputs::<Job>().hash_property(job)
    }

    #[test]
    fn a_status_write_wakes_nothing_and_each_input_does() {
        let mut job = Job::default();
        job.metadata.generation = Some(1);
        let before = hash(&job);
        job.status = Some(Default::default());
        job.metadata.resource_version = Some("2".to_owned());
        assert_eq!(hash(&job), before, "status and resourceVersion are no inputs");
        let changes: [fn(&mut Job); 5] = [
            |j| j.metadata.generation = Some(2),
            |j| j.metadata.labels = Some([("k".to_owned(), "v".to_owned())].into()),
            |j| j.metadata.annotations = Some([("k".to_owned(), "v".to_owned())].into()),
            |j| j.metadata.finalizers = Some(vec!["f".to_owned()]),
            |j| j.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH)),
        ];
        for change in changes {
            let mut changed = job.clone();
            change(&mut changed);
            assert_ne!(hash(&changed), before);
        }
    }
}

//! `spec.dependencies` as a Work: every dependency in one
//! multi-document file, `static/<promise>-dependencies.yaml`, in the default
//! workload group, scheduled by the Promise's `destinationSelectors`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Result;
use crate::api::labels;
use crate::api::naming::md5_hex;
use crate::api::promise::PromiseSpec;
use crate::api::work::{WorkSpec, Workload, WorkloadGroup, WorkloadGroupScheduling};
use crate::codec::compression::compress;
use crate::codec::yaml::to_yaml_stream;

/// `kratix.io/work-type` of the dependencies Work.
pub const STATIC_DEPENDENCY_WORK_TYPE: &str = "static-dependency";

/// The name the dependencies Work is generated from (`GenerateObjectName`).
pub fn work_base_name(promise: &str) -> String {
    format!("{promise}-static-deps")
}

/// Labels that find the dependencies Work of `promise`.
pub fn work_labels(promise: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::PROMISE_NAME.to_owned(), promise.to_owned()),
        (
            labels::WORK_TYPE.to_owned(),
            STATIC_DEPENDENCY_WORK_TYPE.to_owned(),
        ),
    ])
}

/// The Work spec for `promise`'s dependencies; `None` when it has none.
pub fn dependencies_work(promise: &str, spec: &PromiseSpec) -> Result<Option<WorkSpec>> {
    if spec.dependencies.is_empty() {
        return Ok(None);
    }
    let stream = to_yaml_stream::<Value>(&spec.dependencies)?;
    let directory = ".";
    let selectors: Vec<WorkloadGroupScheduling> = squashed_selectors(spec)
        .map(|match_labels| WorkloadGroupScheduling {
            match_labels,
            source: "promise".to_owned(),
        })
        .into_iter()
        .collect();
    Ok(Some(WorkSpec {
        promise_name: promise.to_owned(),
        resource_name: String::new(),
        last_execution_timestamp: None,
        workload_groups: vec![WorkloadGroup {
            id: md5_hex(directory.as_bytes()),
            directory: directory.to_owned(),
            workloads: vec![Workload {
                filepath: format!("static/{promise}-dependencies.yaml"),
                content: compress(stream.as_bytes()),
            }],
            destination_selectors: selectors,
        }],
    }))
}

/// The Promise's selectors merged into one (later entries win), or `None`.
fn squashed_selectors(spec: &PromiseSpec) -> Option<BTreeMap<String, String>> {
    if spec.destination_selectors.is_empty() {
        return None;
    }
    let mut merged = BTreeMap::new();
    for selector in &spec.destination_selectors {
        merged.extend(selector.match_labels.clone());
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::promise::PromiseScheduling;
    use crate::codec::compression::decompress;
    use serde_json::json;

    #[test]
    fn every_dependency_goes_into_one_stream_in_the_default_group() {
        let spec = PromiseSpec {
            dependencies: vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}),
            ],
            destination_selectors: vec![
                PromiseScheduling {
                    match_labels: BTreeMap::from([("env".to_owned(), "dev".to_owned())]),
                },
                PromiseScheduling {
                    match_labels: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
                },
            ],
            ..PromiseSpec::default()
        };
        let work = dependencies_work("redis", &spec)
            .expect("renders")
            .expect("has dependencies");
        let group = &work.workload_groups[0];
        // md5(".") as the reference computes the default group's id.
        assert_eq!(group.id, "5058f1af8388633f609cadb75a75dc9d");
        assert_eq!(group.directory, ".");
        assert_eq!(group.workloads[0].filepath, "static/redis-dependencies.yaml");
        let text = String::from_utf8(decompress(&group.workloads[0].content).expect("gzip")).expect("utf-8");
        assert_eq!(text.matches("kind:").count(), 2);
        assert!(text.contains("---\n"), "{text}");
        assert_eq!(group.destination_selectors.len(), 1);
        assert_eq!(group.destination_selectors[0].match_labels["env"], "prod");
        assert_eq!(group.destination_selectors[0].source, "promise");
    }

    #[test]
    fn no_dependencies_no_work() {
        assert_eq!(dependencies_work("p", &PromiseSpec::default()).expect("ok"), None);
    }
}

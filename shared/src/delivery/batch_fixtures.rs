//! Placements and writes for tests of state-store batches: the shared crate's
//! own, and the agent's tests of its store writers (feature `test-fixtures`).

use crate::api::work::Workload;
use crate::codec::compression::compress;
use crate::delivery::state_batch::{Change, PlacementRecord, Target};
use crate::delivery::state_layout::Layout;

/// Request `name` of Promise `redis` in `team-a`, pipeline `instance`, the
/// default group, with `files` as (path, text).
pub fn placement(name: &str, files: &[(&str, &str)]) -> PlacementRecord {
    PlacementRecord {
        namespace: "team-a".to_owned(),
        request_namespace: None,
        name: name.to_owned(),
        promise: "redis".to_owned(),
        resource: name.to_owned(),
        pipeline: Some("instance".to_owned()),
        group_id: "5058f1af8388633f609cadb75a75dc9d".to_owned(),
        workloads: files
            .iter()
            .map(|(path, text)| Workload {
                filepath: (*path).to_owned(),
                content: compress(text.as_bytes()),
            })
            .collect(),
    }
}

/// Destination `dev` (path `dev`) of a store whose path is `store_path`.
pub fn target(store_path: &str, layout: Layout) -> Target {
    Target {
        destination: "dev".to_owned(),
        store_path: store_path.to_owned(),
        destination_path: "dev".to_owned(),
        layout,
    }
}

/// Writing `placement` alone to [`target`].
pub fn write(store_path: &str, layout: Layout, placement: PlacementRecord) -> Change {
    Change::Write {
        target: target(store_path, layout),
        aggregate: vec![placement.clone()],
        placement,
    }
}

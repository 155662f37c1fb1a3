//! What is fuzzed: each target feeds one input to the parsers and rules that
//! read what a pipeline, a tenant or a state store writes. A target returns
//! nothing: errors are the expected answer to bad input; a panic, a hang or a
//! memory blow-up is the failure the driver looks for.

use std::collections::BTreeMap;

use kratix_shared::api::work::Workload;
use kratix_shared::codec::compression::compress;
use kratix_shared::delivery::state_batch::{self, Change, PlacementRecord, StoreContents, Target};
use kratix_shared::delivery::state_layout::{self, Layout, PlacementView};
use kratix_shared::{
    codec::yaml, pipeline_pod::work_output, validate, workflow::control, workflow::status_merge,
};
use serde_json::json;

pub struct FuzzTarget {
    pub name: &'static str,
    /// What it reads, for `--list`.
    pub reads: &'static str,
    pub run: fn(&[u8]),
}

pub const TARGETS: &[FuzzTarget] = &[
    FuzzTarget {
        name: "promise",
        reads: "a Promise file: YAML decoding and offline validation",
        run: promise,
    },
    FuzzTarget {
        name: "status-yaml",
        reads: "a pipeline's /kratix/metadata/status.yaml merged into an object's status",
        run: status_yaml,
    },
    FuzzTarget {
        name: "destination-selectors",
        reads: "a pipeline's /kratix/metadata/destination-selectors.yaml",
        run: destination_selectors,
    },
    FuzzTarget {
        name: "workflow-control",
        reads: "a pipeline's /kratix/metadata/workflow-control.yaml",
        run: workflow_control,
    },
    FuzzTarget {
        name: "workload-paths",
        reads: "workload file paths from a Work, checked and joined under a placement's directory",
        run: workload_paths,
    },
    FuzzTarget {
        name: "store-layout",
        reads: "a WorkPlacement's names, paths and content laid out in a state store and planned as a batch",
        run: store_layout,
    },
];

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

fn promise(input: &[u8]) {
    if let Ok(documents) = yaml::parse_documents("fuzz.yaml", &text(input)) {
        for document in documents {
            let validated = validate::validate_promise(&document.value);
            let _ = validated.has_errors();
        }
    }
}

fn status_yaml(input: &[u8]) {
    let existing = json!({
        "message": "Pending",
        "conditions": [{"type": "Ready", "status": "False", "reason": "Pending", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "kratix": {"workflows": {"pipelines": [{"name": "a", "phase": "Running"}]}}
    });
    let Ok(documents) = yaml::parse_documents("status.yaml", &text(input)) else {
        return;
    };
    let Some(incoming) = documents.into_iter().next().map(|d| d.value) else {
        return;
    };
    let _ = status_merge::keys_a_promise_drops(&incoming);
    if let Ok(merged) = status_merge::merge(&existing, &incoming)
        && let Some(mut map) = merged.as_object().cloned()
    {
        status_merge::set_condition(&mut map, "Ready", "True", "Fuzzed", "m", "2026-01-01T00:00:00Z");
        status_merge::remove_condition(&mut map, "Ready");
    }
}

fn destination_selectors(input: &[u8]) {
    let _ = work_output::parse_destination_selectors("destination-selectors.yaml", &text(input));
    let _ = work_output::parse_promise_scheduling("promise-scheduling", &text(input));
}

fn workflow_control(input: &[u8]) {
    if let Ok(control) = control::WorkflowControl::parse("workflow-control.yaml", &text(input)) {
        let _ = control.stops_workflow();
    }
}

fn workload_paths(input: &[u8]) {
    for path in text(input).split('\n') {
        let _ = state_layout::path_problem(path);
        let _ = work_output::clean_path(path);
        if let Ok(joined) = state_layout::inside("fuzz", "clusters/dev", path) {
            // Whatever was accepted stays inside and names no Git file.
            assert!(joined.starts_with("clusters/dev/"), "{path:?} became {joined:?}");
            assert!(
                state_layout::path_problem(&joined).is_none(),
                "{path:?} became {joined:?}"
            );
        }
    }
}

/// Fields separated by NUL: namespace (`NS\x01REQUEST_NS` adds a request
/// namespace), name, promise, resource, pipeline, group id, store path,
/// Destination path, then workloads as path/content pairs.
fn store_layout(input: &[u8]) {
    let owned = text(input);
    let fields: Vec<&str> = owned.split('\0').collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    let workloads: Vec<Workload> = fields
        .get(8..)
        .unwrap_or_default()
        .chunks(2)
        .map(|pair| Workload {
            filepath: pair[0].to_owned(),
            // Half real gzip+base64, half whatever the input says.
            content: match pair.get(1) {
                Some(content) if content.len() % 2 == 0 => compress(content.as_bytes()),
                Some(content) => (*content).to_owned(),
                None => String::new(),
            },
        })
        .collect();
    let (namespace, request_namespace) = match field(0).split_once('\x01') {
        Some((namespace, request)) => (namespace, Some(request.to_owned())),
        None => (field(0), None),
    };
    let record = PlacementRecord {
        namespace: namespace.to_owned(),
        request_namespace,
        name: field(1).to_owned(),
        promise: field(2).to_owned(),
        resource: field(3).to_owned(),
        pipeline: (!field(4).is_empty()).then(|| field(4).to_owned()),
        group_id: field(5).to_owned(),
        workloads,
    };
    let view: PlacementView<'_> = record.view();
    let aggregated = Layout::Aggregated {
        filename: "all.yaml".to_owned(),
    };
    for layout in [Layout::Nested, Layout::Flat, aggregated] {
        if let Ok(write) = state_layout::placement_write(field(6), field(7), &layout, &view) {
            for path in write.files.keys() {
                assert!(state_layout::path_problem(path).is_none(), "wrote {path:?}");
            }
        }
        let target = Target {
            destination: "dev".to_owned(),
            store_path: field(6).to_owned(),
            destination_path: field(7).to_owned(),
            layout,
        };
        let changes = [
            Change::Write {
                target: target.clone(),
                placement: record.clone(),
                aggregate: vec![record.clone()],
            },
            Change::Remove {
                target,
                placement: record.clone(),
                aggregate: Vec::new(),
            },
        ];
        let files: BTreeMap<String, Option<String>> = BTreeMap::from([
            ("clusters/dev/app".to_owned(), None),
            ("clusters/dev/.kratix/a-b.yaml".to_owned(), None),
        ]);
        let read = |path: &str| (path.ends_with(".yaml")).then(|| field(2).as_bytes().to_vec());
        let plan = state_batch::plan(
            &changes,
            &StoreContents {
                files: &files,
                read: &read,
            },
        );
        for path in plan.writes.keys() {
            assert!(state_layout::path_problem(path).is_none(), "planned {path:?}");
        }
        let _ = changes.iter().map(Change::inflated_bytes).sum::<usize>();
    }
}

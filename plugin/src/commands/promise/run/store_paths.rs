//! `--destination` and `--state-store`: where a Work's files would land in
//! that store, by the layout rules the agent writes with — or why a group
//! would not go to that Destination at all.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::batch::v1::Job;
use kratix_shared::api::destination::Destination;
use kratix_shared::api::labels;
use kratix_shared::api::work::WorkloadGroup;
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::delivery::scheduling::{self, DestinationView};
use kratix_shared::delivery::state_layout::{self, Layout, PlacementView};
use serde_json::Value;

/// A Destination and its store, as given.
pub struct StorePaths {
    destination: Destination,
    layout: Layout,
    store_path: String,
}

/// The one document of a manifest file.
fn manifest(path: &Path, flag: &str) -> Result<Value> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{flag} {source}: cannot read"))?;
    let mut documents = parse_documents(&source, &text)?;
    if documents.len() != 1 {
        bail!(
            "{source}: holds {} documents; {flag} takes one manifest",
            documents.len()
        );
    }
    Ok(documents.remove(0).value)
}

impl StorePaths {
    pub fn load(destination: &Path, store: &Path) -> Result<Self> {
        let source = destination.display().to_string();
        let value = manifest(destination, "--destination")?;
        if value.get("kind").and_then(Value::as_str) != Some("Destination") {
            bail!("{source}: is not a Destination manifest");
        }
        let destination: Destination =
            serde_json::from_value(value).with_context(|| format!("{source}: not a Destination"))?;
        let name = destination.metadata.name.clone().unwrap_or_default();
        let layout = Layout::of(&name, &destination.spec)?;
        let store_source = store.display().to_string();
        let store = manifest(store, "--state-store")?;
        let kind = store.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !matches!(kind, "GitStateStore" | "BucketStateStore") {
            bail!("{store_source}: is not a GitStateStore or BucketStateStore manifest (kind: {kind:?})");
        }
        let store_name = store
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let wanted = &destination.spec.state_store_ref;
        if wanted.kind != kind || wanted.name != store_name {
            bail!(
                "{source}: Destination {name} writes to {} {}, but {store_source} is {kind} {store_name}",
                wanted.kind,
                wanted.name
            );
        }
        let store_path = store
            .pointer("/spec/path")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        state_layout::destination_root(&store_path, &destination.spec.path)?;
        Ok(StorePaths {
            destination,
            layout,
            store_path,
        })
    }

    /// Where each of the group's files lands, in order, written by the
    /// pipeline whose Job is `job`; one line saying why none does when the
    /// Destination would not receive the group.
    pub fn paths(&self, promise: &str, job: &Job, group: &WorkloadGroup) -> Vec<String> {
        let empty = BTreeMap::new();
        let name = self.destination.metadata.name.as_deref().unwrap_or_default();
        let view = DestinationView {
            name,
            labels: self.destination.metadata.labels.as_ref().unwrap_or(&empty),
            strict_match_labels: self.destination.spec.strict_match_labels == Some(true),
            deleting: false,
        };
        let selector = scheduling::effective_selector(group);
        if !scheduling::matches(&selector, &view, false) {
            return vec![format!(
                "not scheduled to Destination {name}: its labels do not match {}",
                serde_json::to_string(&selector).unwrap_or_default()
            )];
        }
        // The Work's identity, as the work-writer gets it from the Job.
        let job_labels = job.metadata.labels.as_ref().unwrap_or(&empty);
        let namespace = job.metadata.namespace.clone().unwrap_or_default();
        let label = |key: &str| job_labels.get(key).cloned();
        let pipeline = label(labels::PIPELINE_NAME).unwrap_or_default();
        let resource = label(labels::RESOURCE_NAME).unwrap_or_default();
        let work = format!("{promise}-{resource}-{pipeline}-local");
        let placement_name = scheduling::placement_name(&work, name, &group.id);
        let request_namespace = label(labels::RESOURCE_NAMESPACE);
        let placement = PlacementView {
            namespace: &namespace,
            request_namespace: request_namespace.as_deref(),
            name: &placement_name,
            promise,
            resource: &resource,
            pipeline: Some(&pipeline),
            group_id: &group.id,
            workloads: &group.workloads,
        };
        let destination_path = &self.destination.spec.path;
        let base = state_layout::location(&self.store_path, destination_path, &self.layout, &placement);
        if let Layout::Aggregated { .. } = self.layout {
            return group
                .workloads
                .iter()
                .map(|_| format!("{base} (aggregated)"))
                .collect();
        }
        if let Err(error) =
            state_layout::placement_write(&self.store_path, destination_path, &self.layout, &placement)
        {
            return vec![format!("refused by the state store layout: {error}")];
        }
        let owner = format!("{namespace}/{placement_name}");
        group
            .workloads
            .iter()
            .map(|w| state_layout::inside(&owner, &base, &w.filepath).unwrap_or_else(|e| e.to_string()))
            .collect()
    }
}

//! One batch of state-store changes: many WorkPlacements (and the Destinations'
//! canary files) applied together to one store, so that the writer makes one
//! commit, or one pass of object writes, for all of them (the reference makes one
//! commit and push per placement).
//!
//! Pure: the writer lists what the store holds, asks [`plan`] what to change, and
//! carries it out. Each change succeeds or fails alone: a placement whose paths
//! leave its directory is refused without touching anything, and the others still
//! land.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::conditions::{messages, reasons, status as state, types};
use crate::api::naming::md5_hex;
use crate::api::work::Workload;
use crate::delivery::state_layout::{self, Layout, PlacementView, PlacementWrite};
use crate::delivery::state_sync;
use crate::error::{Error, Result};
use crate::workflow::conditions::Condition;

/// A WorkPlacement as the writers need it; owned, since requests cross tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementRecord {
    pub namespace: String,
    /// See [`PlacementView::request_namespace`].
    pub request_namespace: Option<String>,
    pub name: String,
    pub promise: String,
    pub resource: String,
    pub pipeline: Option<String>,
    pub group_id: String,
    pub workloads: Vec<Workload>,
}

impl PlacementRecord {
    pub fn view(&self) -> PlacementView<'_> {
        PlacementView {
            namespace: &self.namespace,
            request_namespace: self.request_namespace.as_deref(),
            name: &self.name,
            promise: &self.promise,
            resource: &self.resource,
            pipeline: self.pipeline.as_deref(),
            group_id: &self.group_id,
            workloads: &self.workloads,
        }
    }
}

/// Where a Destination's files go in its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub destination: String,
    /// The store's `spec.path`.
    pub store_path: String,
    /// The Destination's `spec.path`.
    pub destination_path: String,
    pub layout: Layout,
}

impl Target {
    /// The Destination's directory, from the store's root.
    pub fn root(&self) -> String {
        state_layout::join(&[&self.store_path, &self.destination_path])
    }
}

/// One thing a batch does to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Make the store hold this placement's files, and none it no longer outputs.
    /// `aggregate` is every live placement of the Destination (this one included),
    /// read only by the aggregated layout.
    Write {
        target: Target,
        placement: PlacementRecord,
        aggregate: Vec<PlacementRecord>,
    },
    /// Remove what this placement wrote; `aggregate` is what remains without it.
    Remove {
        target: Target,
        placement: PlacementRecord,
        aggregate: Vec<PlacementRecord>,
    },
    /// Files at these paths (from the store's root): the Destination canaries.
    PutFiles(BTreeMap<String, Vec<u8>>),
    DeleteFiles(Vec<String>),
}

impl Change {
    /// How many bytes planning this change inflates (what a batch holds in
    /// memory), counted without keeping them; content past a placement's limit
    /// counts as the limit (it is refused when planned).
    pub fn inflated_bytes(&self) -> usize {
        let inflated = |placements: &mut dyn Iterator<Item = &PlacementRecord>| -> usize {
            placements
                .flat_map(|p| &p.workloads)
                .map(|w| {
                    crate::codec::compression::decompressed_len(
                        &w.content,
                        crate::codec::compression::MAX_PLACEMENT_BYTES,
                    )
                    .unwrap_or(crate::codec::compression::MAX_PLACEMENT_BYTES)
                })
                .sum()
        };
        match self {
            Change::Write {
                target,
                placement,
                aggregate,
            }
            | Change::Remove {
                target,
                placement,
                aggregate,
            } => match target.layout {
                Layout::Aggregated { .. } => inflated(&mut aggregate.iter()),
                _ => inflated(&mut std::iter::once(placement)),
            },
            Change::PutFiles(files) => files.values().map(Vec::len).sum(),
            Change::DeleteFiles(_) => 0,
        }
    }

    /// What a commit message calls this change.
    pub fn describe(&self) -> String {
        match self {
            Change::Write { placement, .. } => format!("Update from: {}", placement.name),
            Change::Remove { placement, .. } => format!("Delete from: {}", placement.name),
            Change::PutFiles(files) => format!("Update from: {} Destination files", files.len()),
            Change::DeleteFiles(paths) => format!("Delete from: {} Destination files", paths.len()),
        }
    }
}

/// What the store must do, and how each change fared.
#[derive(Debug, Default)]
pub struct BatchPlan {
    /// Path → new content, or `None` to delete it.
    pub writes: BTreeMap<String, Option<Vec<u8>>>,
    /// One per change, in order: whether it changed anything, or why it was refused.
    pub results: Vec<Result<bool>>,
    /// Path in `writes` → the index of the change that wrote it last, so that a
    /// writer that cannot make one path fails that change alone.
    pub owners: BTreeMap<String, usize>,
}

impl BatchPlan {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The commit message: the contract's own for a single change, else a summary
    /// line and one line per change that changed something.
    pub fn message(&self, changes: &[Change]) -> String {
        let changed: Vec<String> = changes
            .iter()
            .zip(&self.results)
            .filter(|(_, result)| matches!(result, Ok(true)))
            .map(|(change, _)| change.describe())
            .collect();
        match changed.as_slice() {
            [one] => one.clone(),
            many => format!("Update from: {} changes\n\n{}\n", many.len(), many.join("\n")),
        }
    }
}

/// What the store holds now: each file's md5 hex when known (`None` when only
/// its existence is), and a way to read a file (the flat layout's ownership files).
pub struct StoreContents<'a> {
    pub files: &'a BTreeMap<String, Option<String>>,
    pub read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

/// How many of the changes (in order, sized by `inflated`) make one batch: as
/// many as fit in `budget` bytes, and always the first, so a change over the
/// budget still goes (alone) and is refused or written.
pub fn batch_len(inflated: impl Iterator<Item = usize>, budget: usize) -> usize {
    let mut total = 0usize;
    let mut count = 0;
    for size in inflated {
        total = total.saturating_add(size);
        if count > 0 && total > budget {
            break;
        }
        count += 1;
    }
    count
}

/// Plans `changes` in order over `contents`: a later change sees what the earlier
/// ones wrote.
pub fn plan(changes: &[Change], contents: &StoreContents<'_>) -> BatchPlan {
    let mut overlay = Overlay {
        contents,
        writes: BTreeMap::new(),
        owners: BTreeMap::new(),
    };
    let mut results = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        let result = overlay
            .operations(change)
            .and_then(|ops| overlay.refuse_conflicts(&ops).map(|()| ops))
            .map(|ops| overlay.commit(index, ops));
        results.push(result);
    }
    BatchPlan {
        writes: overlay.writes,
        results,
        owners: overlay.owners,
    }
}

/// The store as it will be once the writes so far are made.
struct Overlay<'a, 'b> {
    contents: &'a StoreContents<'b>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    owners: BTreeMap<String, usize>,
}

type Operations = Vec<(String, Option<Vec<u8>>)>;

impl Overlay<'_, '_> {
    fn exists(&self, path: &str) -> bool {
        match self.writes.get(path) {
            Some(write) => write.is_some(),
            None => self.contents.files.contains_key(path),
        }
    }

    fn digest(&self, path: &str) -> Option<Option<String>> {
        match self.writes.get(path) {
            Some(Some(bytes)) => Some(Some(md5_hex(bytes))),
            Some(None) => None,
            None => self.contents.files.get(path).cloned(),
        }
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        match self.writes.get(path) {
            Some(write) => write.clone(),
            None => (self.contents.read)(path),
        }
    }

    /// Every file now under `directory`.
    fn files_under(&self, directory: &str) -> Vec<String> {
        let prefix = format!("{directory}/");
        let mut found: Vec<String> = self
            .contents
            .files
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .map(|(path, _)| path.clone())
            .chain(
                self.writes
                    .range(prefix.clone()..)
                    .take_while(|(path, _)| path.starts_with(&prefix))
                    .map(|(path, _)| path.clone()),
            )
            .filter(|path| self.exists(path))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// Refuses operations that would need a path to be a file and a directory at
    /// once (no filesystem, and so no Git checkout, can hold both), before any of
    /// them is made: the change fails alone instead of the whole batch.
    fn refuse_conflicts(&self, operations: &Operations) -> Result<()> {
        let deleted: BTreeSet<&str> = operations
            .iter()
            .filter(|(_, content)| content.is_none())
            .map(|(path, _)| path.as_str())
            .collect();
        let put: BTreeSet<&str> = operations
            .iter()
            .filter(|(_, content)| content.is_some())
            .map(|(path, _)| path.as_str())
            .collect();
        let refuse = |message: String| Error::StorePath { message };
        for path in &put {
            let mut ancestor = *path;
            while let Some((parent, _)) = ancestor.rsplit_once('/') {
                ancestor = parent;
                if put.contains(parent) || (self.exists(parent) && !deleted.contains(parent)) {
                    return Err(refuse(format!(
                        "{path} needs {parent} to be a directory, but it is a file; rename one of them"
                    )));
                }
            }
            let prefix = format!("{path}/");
            let below_put = put
                .range(prefix.as_str()..)
                .next()
                .is_some_and(|p| p.starts_with(&prefix));
            let below_kept = self
                .files_under(path)
                .iter()
                .any(|f| !deleted.contains(f.as_str()));
            if below_put || below_kept {
                return Err(refuse(format!(
                    "{path} is a directory in the state store, so it cannot be written as a file; rename one of them"
                )));
            }
        }
        Ok(())
    }

    /// Applies change `index`'s operations; says whether any changed the store.
    fn commit(&mut self, index: usize, operations: Operations) -> bool {
        let mut changed = false;
        for (path, content) in operations {
            let differs = match &content {
                Some(bytes) => self.digest(&path).flatten() != Some(md5_hex(bytes)),
                None => self.exists(&path),
            };
            if differs {
                changed = true;
                let restores_original = match &content {
                    Some(bytes) => self.contents.files.get(&path).cloned().flatten() == Some(md5_hex(bytes)),
                    None => !self.contents.files.contains_key(&path),
                };
                if restores_original {
                    self.writes.remove(&path);
                    self.owners.remove(&path);
                } else {
                    self.owners.insert(path.clone(), index);
                    self.writes.insert(path, content);
                }
            }
        }
        changed
    }

    /// What one change does, or why it is refused (then nothing of it is done).
    /// Every path is checked once more as a whole, whatever made it.
    fn operations(&self, change: &Change) -> Result<Operations> {
        if let Change::Write {
            target, placement, ..
        }
        | Change::Remove {
            target, placement, ..
        } = change
        {
            placement.view().check()?;
            state_layout::destination_root(&target.store_path, &target.destination_path)?;
        }
        let operations = self.unchecked_operations(change)?;
        for (path, _) in &operations {
            if let Some(why) = state_layout::path_problem(path)
                .or_else(|| path.starts_with('/').then(|| "is absolute".to_owned()))
            {
                return Err(Error::StorePath {
                    message: format!("{path:?} {why}; nothing of this change was written"),
                });
            }
        }
        Ok(operations)
    }

    fn unchecked_operations(&self, change: &Change) -> Result<Operations> {
        match change {
            Change::PutFiles(files) => Ok(files
                .iter()
                .map(|(path, content)| (path.clone(), Some(content.clone())))
                .collect()),
            Change::DeleteFiles(paths) => Ok(paths.iter().map(|p| (p.clone(), None)).collect()),
            Change::Write {
                target,
                placement,
                aggregate,
            } => match &target.layout {
                Layout::Aggregated { filename } => self.aggregated(target, filename, aggregate),
                layout => {
                    let write = state_layout::placement_write(
                        &target.store_path,
                        &target.destination_path,
                        layout,
                        &placement.view(),
                    )?;
                    self.sync(target, placement, &write)
                }
            },
            Change::Remove {
                target,
                placement,
                aggregate,
            } => match &target.layout {
                Layout::Aggregated { filename } => self.aggregated(target, filename, aggregate),
                Layout::Nested => {
                    let directory = state_layout::join(&[
                        &target.root(),
                        &state_layout::nested_directory(&placement.view()),
                    ]);
                    let empty = PlacementWrite {
                        owned_directory: Some(directory),
                        files: BTreeMap::new(),
                    };
                    self.sync(target, placement, &empty)
                }
                Layout::Flat => {
                    let mut operations = self.sync(target, placement, &PlacementWrite::default())?;
                    operations.push((ownership_path(target, placement), None));
                    Ok(operations)
                }
            },
        }
    }

    /// The puts and deletes that make the store hold `write` for `placement`.
    fn sync(
        &self,
        target: &Target,
        placement: &PlacementRecord,
        write: &PlacementWrite,
    ) -> Result<Operations> {
        let previously_owned = match target.layout {
            Layout::Flat => {
                let path = ownership_path(target, placement);
                match self.read(&path) {
                    Some(bytes) => state_layout::owned_files(&path, &String::from_utf8_lossy(&bytes))?
                        .iter()
                        .map(|file| state_layout::join(&[&target.root(), file]))
                        .collect(),
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let mut existing: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut relevant: Vec<String> = write.files.keys().cloned().collect();
        relevant.extend(previously_owned.iter().cloned());
        if let Some(directory) = &write.owned_directory {
            relevant.extend(self.files_under(directory));
        }
        for path in relevant {
            if let Some(digest) = self.digest(&path) {
                existing.insert(path, digest);
            }
        }
        let planned = state_sync::plan(&existing, write, &previously_owned);
        let mut operations: Operations = planned
            .put
            .into_iter()
            .map(|path| {
                let content = write.files.get(&path).cloned();
                (path, content)
            })
            .collect();
        operations.extend(planned.delete.into_iter().map(|path| (path, None)));
        Ok(operations)
    }

    /// The aggregated file of a Destination from its live placements; deleted when
    /// none is left.
    fn aggregated(
        &self,
        target: &Target,
        filename: &str,
        aggregate: &[PlacementRecord],
    ) -> Result<Operations> {
        let views: Vec<PlacementView<'_>> = aggregate.iter().map(PlacementRecord::view).collect();
        let (path, content) =
            state_layout::aggregated(&target.store_path, &target.destination_path, filename, &views)?;
        Ok(vec![(path, (!views.is_empty()).then_some(content))])
    }
}

/// A WorkPlacement's conditions after its write: `WriteSucceeded`,
/// and `Ready` unless the placement is misplaced (the scheduler's `Misplaced` stays).
pub fn write_conditions(outcome: std::result::Result<(), &str>, misplaced: bool) -> Vec<Condition> {
    let mut conditions = Vec::with_capacity(2);
    match outcome {
        Ok(()) => {
            conditions.push(Condition {
                type_: types::WRITE_SUCCEEDED,
                status: state::TRUE,
                reason: reasons::WORKLOADS_WRITTEN_TO_STATE_STORE,
                message: "Workloads written to State Store".to_owned(),
            });
            if !misplaced {
                conditions.push(Condition {
                    type_: types::READY,
                    status: state::TRUE,
                    reason: reasons::WORKLOADS_WRITTEN_TO_TARGET_DESTINATION,
                    message: messages::READY.to_owned(),
                });
            }
        }
        Err(message) => {
            conditions.push(Condition {
                type_: types::WRITE_SUCCEEDED,
                status: state::FALSE,
                reason: reasons::WORKLOADS_FAILED_WRITE,
                message: message.to_owned(),
            });
            if !misplaced {
                conditions.push(Condition {
                    type_: types::READY,
                    status: state::FALSE,
                    reason: reasons::WORKLOADS_FAILED_WRITE,
                    message: messages::FAILING.to_owned(),
                });
            }
        }
    }
    conditions
}

fn ownership_path(target: &Target, placement: &PlacementRecord) -> String {
    state_layout::join(&[&target.root(), &state_layout::ownership_file(&placement.view())])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::delivery::batch_fixtures::{placement as record, target as store_target};

    fn target(layout: Layout) -> Target {
        store_target("clusters", layout)
    }

    fn write(layout: Layout, placement: PlacementRecord) -> Change {
        crate::delivery::batch_fixtures::write("clusters", layout, placement)
    }

    /// The store after the plan, as path → text.
    fn apply(before: &BTreeMap<String, String>, plan: &BatchPlan) -> BTreeMap<String, String> {
        let mut after = before.clone();
        for (path, content) in &plan.writes {
            match content {
                Some(bytes) => after.insert(path.clone(), String::from_utf8_lossy(bytes).into_owned()),
                None => after.remove(path),
            };
        }
        after
    }

    fn planned(before: &BTreeMap<String, String>, changes: &[Change]) -> BatchPlan {
        let files: BTreeMap<String, Option<String>> = before
            .iter()
            .map(|(path, text)| (path.clone(), Some(md5_hex(text.as_bytes()))))
            .collect();
        let read = |path: &str| before.get(path).map(|t| t.as_bytes().to_vec());
        plan(
            changes,
            &StoreContents {
                files: &files,
                read: &read,
            },
        )
    }

    #[test]
    fn many_placements_become_one_set_of_writes_and_a_rerun_changes_nothing() {
        let changes = [
            write(Layout::Nested, record("a", &[("x.yaml", "a: 1\n")])),
            write(Layout::Nested, record("b", &[("x.yaml", "b: 1\n")])),
        ];
        let first = planned(&BTreeMap::new(), &changes);
        assert_eq!(first.writes.len(), 2);
        assert!(first.results.iter().all(|r| matches!(r, Ok(true))));
        assert_eq!(
            first.message(&changes),
            "Update from: 2 changes\n\nUpdate from: a\nUpdate from: b\n"
        );
        let store = apply(&BTreeMap::new(), &first);
        assert_eq!(
            store["clusters/dev/resources/team-a/redis/a/instance/5058f/x.yaml"],
            "a: 1\n"
        );
        let again = planned(&store, &changes);
        assert!(again.is_empty(), "{:?}", again.writes);
        assert!(again.results.iter().all(|r| matches!(r, Ok(false))));
    }

    #[test]
    fn an_update_removes_what_is_no_longer_output_and_a_remove_empties_the_directory() {
        let old = planned(
            &BTreeMap::new(),
            &[write(
                Layout::Nested,
                record("a", &[("x.yaml", "1"), ("y.yaml", "1")]),
            )],
        );
        let store = apply(&BTreeMap::new(), &old);
        let update = [write(Layout::Nested, record("a", &[("x.yaml", "2")]))];
        let plan = planned(&store, &update);
        assert_eq!(plan.message(&update), "Update from: a");
        let store = apply(&store, &plan);
        assert_eq!(
            store.keys().collect::<Vec<_>>(),
            ["clusters/dev/resources/team-a/redis/a/instance/5058f/x.yaml"]
        );
        let remove = Change::Remove {
            target: target(Layout::Nested),
            placement: record("a", &[]),
            aggregate: vec![],
        };
        let store = apply(&store, &planned(&store, &[remove]));
        assert!(store.is_empty(), "{store:?}");
    }

    #[test]
    fn a_refused_placement_changes_nothing_and_the_others_still_land() {
        let changes = [
            write(Layout::Nested, record("bad", &[("../../../escape.yaml", "x")])),
            write(Layout::Nested, record("good", &[("x.yaml", "1")])),
        ];
        let plan = planned(&BTreeMap::new(), &changes);
        let error = plan.results[0].as_ref().expect_err("refused").to_string();
        assert!(error.contains("WorkPlacement team-a/bad"), "{error}");
        assert!(matches!(plan.results[1], Ok(true)));
        assert_eq!(plan.writes.len(), 1);
        assert_eq!(plan.message(&changes), "Update from: good");
    }

    #[test]
    fn a_remove_named_to_empty_another_directory_is_refused() {
        let mut store = BTreeMap::new();
        let theirs = [write(Layout::Nested, record("theirs", &[("x.yaml", "1")]))];
        store = apply(&store, &planned(&store, &theirs));
        // A resource name with a slash, or no group id, would make the placement's
        // directory a parent of other tenants' files.
        for hostile in [
            PlacementRecord {
                resource: "theirs/instance".to_owned(),
                ..record("mine", &[])
            },
            PlacementRecord {
                group_id: String::new(),
                resource: String::new(),
                ..record("mine", &[])
            },
        ] {
            let remove = Change::Remove {
                target: target(Layout::Nested),
                placement: hostile,
                aggregate: vec![],
            };
            let plan = planned(&store, &[remove]);
            assert!(plan.results[0].is_err(), "{:?}", plan.results);
            assert!(plan.is_empty(), "{:?}", plan.writes);
        }
        let hostile_files = Change::DeleteFiles(vec!["clusters/../../x".to_owned()]);
        assert!(planned(&store, &[hostile_files]).results[0].is_err());
    }

    #[test]
    fn a_path_that_is_both_a_file_and_a_directory_fails_its_change_alone() {
        let store = BTreeMap::from([("clusters/dev/app".to_owned(), "a file".to_owned())]);
        let changes = [
            write(Layout::Flat, record("dir", &[("app/x.yaml", "1")])),
            write(Layout::Flat, record("good", &[("ok.yaml", "1")])),
            write(Layout::Flat, record("file", &[("ok.yaml/y.yaml", "1")])),
        ];
        let plan = planned(&store, &changes);
        let error = plan.results[0].as_ref().expect_err("file in the way").to_string();
        assert!(
            error.contains("clusters/dev/app") && error.contains("is a file"),
            "{error}"
        );
        assert!(matches!(plan.results[1], Ok(true)), "{:?}", plan.results);
        let error = plan.results[2]
            .as_ref()
            .expect_err("written file in the way")
            .to_string();
        assert!(error.contains("clusters/dev/ok.yaml"), "{error}");
        assert_eq!(
            plan.writes.keys().collect::<Vec<_>>(),
            ["clusters/dev/.kratix/team-a-good.yaml", "clusters/dev/ok.yaml"]
        );
        // A directory in the way of a file.
        let store = BTreeMap::from([("clusters/dev/app/inner.yaml".to_owned(), "x".to_owned())]);
        let plan = planned(&store, &[write(Layout::Flat, record("f", &[("app", "1")]))]);
        let error = plan.results[0]
            .as_ref()
            .expect_err("directory in the way")
            .to_string();
        assert!(error.contains("is a directory"), "{error}");
        // Each write is owned by the change that made it, so a writer that fails
        // at one path knows which change to fail.
        let plan = planned(&BTreeMap::new(), &changes);
        assert_eq!(plan.owners["clusters/dev/app/x.yaml"], 0);
        assert_eq!(plan.owners["clusters/dev/ok.yaml"], 1);
    }

    #[test]
    fn a_batch_is_cut_by_the_bytes_its_changes_inflate_to() {
        let big = "x".repeat(1000);
        let change = write(Layout::Nested, record("a", &[("a.yaml", &big), ("b.yaml", &big)]));
        assert_eq!(change.inflated_bytes(), 2000);
        let put = Change::PutFiles(BTreeMap::from([("c".to_owned(), vec![0; 10])]));
        assert_eq!(put.inflated_bytes(), 10);
        assert_eq!(batch_len([10, 20, 30, 40].into_iter(), 60), 3);
        assert_eq!(batch_len([10, 20, 30, 40].into_iter(), 59), 2);
        // One change over the budget still goes alone: it is refused or written.
        assert_eq!(batch_len([100, 1].into_iter(), 60), 1);
        assert_eq!(batch_len(std::iter::empty(), 60), 0);
    }

    #[test]
    fn the_flat_layout_follows_its_ownership_file_and_leaves_other_files_alone() {
        let mut store = BTreeMap::from([("clusters/dev/theirs.yaml".to_owned(), "keep".to_owned())]);
        let first = [write(
            Layout::Flat,
            record("a", &[("one.yaml", "1"), ("two.yaml", "2")]),
        )];
        store = apply(&store, &planned(&store, &first));
        assert!(store.contains_key("clusters/dev/.kratix/team-a-a.yaml"));
        let second = [write(Layout::Flat, record("a", &[("one.yaml", "1")]))];
        store = apply(&store, &planned(&store, &second));
        assert!(!store.contains_key("clusters/dev/two.yaml"));
        assert!(store.contains_key("clusters/dev/one.yaml"));
        let remove = Change::Remove {
            target: target(Layout::Flat),
            placement: record("a", &[]),
            aggregate: vec![],
        };
        store = apply(&store, &planned(&store, &[remove]));
        assert_eq!(store.keys().collect::<Vec<_>>(), ["clusters/dev/theirs.yaml"]);
    }

    #[test]
    fn the_aggregated_file_holds_every_live_placement_and_goes_with_the_last() {
        let layout = Layout::Aggregated {
            filename: "all.yaml".to_owned(),
        };
        let a = record("a", &[("x.yaml", "a: 1")]);
        let b = record("b", &[("x.yaml", "b: 1")]);
        let both = Change::Write {
            target: target(layout.clone()),
            placement: b.clone(),
            aggregate: vec![a.clone(), b.clone()],
        };
        let store = apply(&BTreeMap::new(), &planned(&BTreeMap::new(), &[both]));
        assert_eq!(store["clusters/dev/all.yaml"], "a: 1\n---\nb: 1\n");
        let remove_a = Change::Remove {
            target: target(layout.clone()),
            placement: a,
            aggregate: vec![b.clone()],
        };
        let store = apply(&store, &planned(&store, &[remove_a]));
        assert_eq!(store["clusters/dev/all.yaml"], "b: 1\n");
        let remove_b = Change::Remove {
            target: target(layout),
            placement: b,
            aggregate: vec![],
        };
        let store = apply(&store, &planned(&store, &[remove_b]));
        assert!(store.is_empty());
    }

    #[test]
    fn write_conditions_leave_a_misplaced_placement_misplaced() {
        let ok = write_conditions(Ok(()), false);
        assert_eq!(
            ok.iter()
                .map(|c| (c.type_, c.status, c.message.as_str()))
                .collect::<Vec<_>>(),
            [
                ("WriteSucceeded", "True", "Workloads written to State Store"),
                ("Ready", "True", "Ready")
            ]
        );
        let failed = write_conditions(Err("git push failed"), true);
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].status, failed[0].message.as_str()),
            ("False", "git push failed")
        );
        assert_eq!(write_conditions(Err("x"), false)[1].message, "Failing");
    }

    #[test]
    fn a_later_change_sees_an_earlier_one_and_undoing_it_writes_nothing() {
        let put = Change::PutFiles(BTreeMap::from([("canary.yaml".to_owned(), b"x".to_vec())]));
        let delete = Change::DeleteFiles(vec!["canary.yaml".to_owned()]);
        let plan = planned(&BTreeMap::new(), &[put, delete]);
        assert!(plan.is_empty(), "{:?}", plan.writes);
        assert!(matches!(plan.results[1], Ok(true)));
    }
}

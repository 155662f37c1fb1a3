//! What a writer must do to make a state store hold one placement's files:
//! which files to put, which to leave alone because they are
//! already right, and which to delete because the placement no longer outputs
//! them. Pure: the Git and bucket writers list what is there and carry it out.

use std::collections::BTreeMap;

use crate::api::naming::md5_hex;
use crate::delivery::state_layout::PlacementWrite;

/// The store's operations for one placement, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub put: Vec<String>,
    pub delete: Vec<String>,
    /// Already holding exactly these bytes: not rewritten.
    pub unchanged: Vec<String>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// Plans one placement's write. `existing` maps each file now in the store under the
/// placement's reach to the md5 hex of its content when known (a bucket's ETag for a
/// single-part upload), `None` when not. `previously_owned` lists the files the
/// placement wrote last time (the flat layout's ownership file; paths from the store
/// root). Files in the placement's owned directory, or previously owned, that it no
/// longer writes are deleted; nothing else is ever deleted.
pub fn plan(
    existing: &BTreeMap<String, Option<String>>,
    write: &PlacementWrite,
    previously_owned: &[String],
) -> SyncPlan {
    let mut out = SyncPlan::default();
    for (path, content) in &write.files {
        let same = existing
            .get(path)
            .and_then(Option::as_deref)
            .is_some_and(|digest| digest.trim_matches('"').eq_ignore_ascii_case(&md5_hex(content)));
        if same {
            out.unchanged.push(path.clone());
        } else {
            out.put.push(path.clone());
        }
    }
    let in_owned_directory = |path: &str| {
        write
            .owned_directory
            .as_deref()
            .is_some_and(|dir| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
    };
    for path in existing.keys() {
        if !write.files.contains_key(path) && in_owned_directory(path) {
            out.delete.push(path.clone());
        }
    }
    for path in previously_owned {
        if !write.files.contains_key(path) && existing.contains_key(path) && !out.delete.contains(path) {
            out.delete.push(path.clone());
        }
    }
    out.put.sort();
    out.delete.sort();
    out.unchanged.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: Option<&str>, files: &[(&str, &str)]) -> PlacementWrite {
        PlacementWrite {
            owned_directory: dir.map(str::to_owned),
            files: files
                .iter()
                .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn unchanged_files_are_skipped_and_stale_ones_in_the_owned_directory_deleted() {
        let existing = BTreeMap::from([
            (
                "dev/res/a.yaml".to_owned(),
                Some(format!("\"{}\"", md5_hex(b"a: 1\n"))),
            ),
            ("dev/res/old.yaml".to_owned(), Some("x".to_owned())),
            ("dev/res-other/keep.yaml".to_owned(), None),
            ("dev/other/keep.yaml".to_owned(), None),
        ]);
        let planned = plan(
            &existing,
            &write(
                Some("dev/res"),
                &[("dev/res/a.yaml", "a: 1\n"), ("dev/res/b.yaml", "b: 1\n")],
            ),
            &[],
        );
        assert_eq!(planned.put, ["dev/res/b.yaml"]);
        assert_eq!(planned.unchanged, ["dev/res/a.yaml"]);
        assert_eq!(
            planned.delete,
            ["dev/res/old.yaml"],
            "a sibling directory with the same prefix is not ours"
        );
    }

    #[test]
    fn the_flat_layout_deletes_only_what_it_owned_before() {
        let existing = BTreeMap::from([
            ("dev/a.yaml".to_owned(), None),
            ("dev/gone.yaml".to_owned(), None),
            ("dev/someone-else.yaml".to_owned(), None),
        ]);
        let planned = plan(
            &existing,
            &write(None, &[("dev/a.yaml", "a")]),
            &[
                "dev/a.yaml".to_owned(),
                "dev/gone.yaml".to_owned(),
                "dev/never-written.yaml".to_owned(),
            ],
        );
        assert_eq!(planned.put, ["dev/a.yaml"], "no digest known: written");
        assert_eq!(planned.delete, ["dev/gone.yaml"]);
        assert!(!planned.is_empty());
        let nothing = plan(&BTreeMap::new(), &write(None, &[]), &[]);
        assert!(nothing.is_empty());
    }
}

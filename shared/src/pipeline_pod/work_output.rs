//! From a pipeline's `/kratix/output` and `destination-selectors.yaml` to the
//! workload groups of a Work.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::api::naming::md5_hex;
use crate::api::work::{Workload, WorkloadGroup, WorkloadGroupScheduling};
use crate::api::workflow::WorkflowType;
use crate::codec::compression::{MAX_PLACEMENT_BYTES, MAX_WORK_BYTES, compress, mebibytes};
use crate::codec::yaml::parse_documents;
use crate::{Error, Result};

pub const DESTINATION_SELECTORS_FILE: &str = "destination-selectors.yaml";
/// The default group's directory.
pub const ROOT: &str = ".";

/// One entry of `destination-selectors.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySelector {
    /// Cleaned; `.` for the whole output.
    pub directory: String,
    pub match_labels: BTreeMap<String, String>,
}

/// Go's `path.Clean` for the relative paths these files hold.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ROOT.to_owned()
    } else {
        parts.join("/")
    }
}

/// Parses and checks `destination-selectors.yaml`.
pub fn parse_destination_selectors(source_name: &str, text: &str) -> Result<Vec<DirectorySelector>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Raw {
        #[serde(default)]
        directory: Option<String>,
        #[serde(default)]
        match_labels: BTreeMap<String, String>,
    }
    let invalid = |path: String, message: String| Error::Invalid {
        source_name: source_name.to_owned(),
        path,
        message,
    };
    let documents = parse_documents(source_name, text)?;
    let value = documents
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Array(Vec::new()));
    let raw: Vec<Raw> = serde_json::from_value(value).map_err(|e| {
        invalid(
            String::new(),
            format!("{e}: expected a list of {{directory, matchLabels}}"),
        )
    })?;
    let mut selectors: Vec<DirectorySelector> = Vec::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let directory = clean_path(entry.directory.as_deref().unwrap_or(ROOT));
        let path = format!("[{i}]");
        if entry.match_labels.is_empty() {
            return Err(invalid(
                format!("{path}.matchLabels"),
                "must not be empty".to_owned(),
            ));
        }
        if directory.contains('/') {
            return Err(invalid(
                format!("{path}.directory"),
                format!("{directory:?}: sub-directories are not allowed"),
            ));
        }
        if directory == ".." {
            return Err(invalid(
                format!("{path}.directory"),
                "must name a directory inside /kratix/output".to_owned(),
            ));
        }
        if selectors.iter().any(|s| s.directory == directory) {
            return Err(invalid(
                format!("{path}.directory"),
                format!("{directory:?} is listed twice"),
            ));
        }
        selectors.push(DirectorySelector {
            directory,
            match_labels: entry.match_labels,
        });
    }
    Ok(selectors)
}

/// Parses the promise-scheduling file (the destination-selectors ConfigMap's key).
pub fn parse_promise_scheduling(source_name: &str, text: &str) -> Result<Vec<WorkloadGroupScheduling>> {
    let documents = parse_documents(source_name, text)?;
    let Some(document) = documents.into_iter().next() else {
        return Ok(Vec::new());
    };
    serde_json::from_value(document.value).map_err(|e| Error::Invalid {
        source_name: source_name.to_owned(),
        path: String::new(),
        message: format!("{e}: expected a list of {{matchLabels, source}}"),
    })
}

/// Merges label maps, the first value of a key winning.
fn squash<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for map in maps {
        for (key, value) in map {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    out
}

/// One workload group's files being read: the walk stops as soon as they
/// add up to more than a placement may hold, so a pipeline's output is never
/// read whole into memory first.
struct GroupWalk<'a> {
    root: &'a Path,
    canonical_root: &'a Path,
    /// The group's directory, for the message when it is too large.
    group: &'a str,
    /// Directories other groups take (not walked into).
    skip: &'a [PathBuf],
    total: usize,
    files: Vec<(String, Vec<u8>)>,
}

impl<'a> GroupWalk<'a> {
    fn new(root: &'a Path, canonical_root: &'a Path, group: &'a str, skip: &'a [PathBuf]) -> Self {
        GroupWalk {
            root,
            canonical_root,
            group,
            skip,
            total: 0,
            files: Vec::new(),
        }
    }
}

/// Every file under `dir` (recursively, sorted), as (path relative to `root`, bytes).
/// A symlink must stay inside `root`.
fn collect_files(walk: &mut GroupWalk<'_>, dir: &Path) -> Result<()> {
    let read_error = |path: &Path, source: std::io::Error| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if walk.skip.contains(&path) {
            continue;
        }
        let link = std::fs::symlink_metadata(&path).map_err(|e| read_error(&path, e))?;
        if link.file_type().is_symlink() {
            let target = std::fs::canonicalize(&path).map_err(|e| read_error(&path, e))?;
            if !target.starts_with(walk.canonical_root) {
                return Err(Error::Invalid {
                    source_name: path.display().to_string(),
                    path: String::new(),
                    message: format!(
                        "is a symlink to {}, outside the output directory: refused",
                        target.display()
                    ),
                });
            }
        }
        let metadata = std::fs::metadata(&path).map_err(|e| read_error(&path, e))?;
        if metadata.is_dir() && link.file_type().is_symlink() {
            // Kratix's walk does not descend through one either; following it
            // could read the same files twice or loop.
            return Err(Error::Invalid {
                source_name: path.display().to_string(),
                path: String::new(),
                message: "is a symbolic link to a directory: refused; write the files under their own path"
                    .to_owned(),
            });
        }
        if metadata.is_dir() {
            collect_files(walk, &path)?;
        } else if metadata.is_file() {
            if metadata.len() > MAX_PLACEMENT_BYTES as u64 {
                return Err(too_large(&path, metadata.len()));
            }
            let relative = path
                .strip_prefix(walk.root)
                .unwrap_or(&path)
                .components()
                .filter_map(|c| match c {
                    Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("/");
            // At most one byte past what the group may still hold: a file
            // that grew since its size was read cannot take more.
            let room = MAX_PLACEMENT_BYTES.saturating_sub(walk.total);
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .and_then(|file| file.take(room as u64 + 1).read_to_end(&mut bytes))
                .map_err(|e| read_error(&path, e))?;
            walk.total += bytes.len();
            if walk.total > MAX_PLACEMENT_BYTES {
                return Err(group_too_large(walk.group));
            }
            walk.files.push((relative, bytes));
        }
    }
    Ok(())
}

fn too_large(path: &Path, bytes: u64) -> Error {
    Error::Invalid {
        source_name: path.display().to_string(),
        path: String::new(),
        message: format!(
            "is {}, more than one workload group may hold ({}); keep large data out of /kratix/output",
            mebibytes(usize::try_from(bytes).unwrap_or(usize::MAX)),
            mebibytes(MAX_PLACEMENT_BYTES)
        ),
    }
}

/// A group whose files together are more than a placement may hold (the
/// walk stops there, so how much more is not known).
fn group_too_large(directory: &str) -> Error {
    Error::Invalid {
        source_name: format!("/kratix/output/{directory}"),
        path: String::new(),
        message: format!(
            "holds more in all than one workload group may hold ({}); split it across directories (destination-selectors.yaml) or pipelines",
            mebibytes(MAX_PLACEMENT_BYTES)
        ),
    }
}

/// Refuses workload groups that would make a Work larger than the API server
/// stores (Kratix issue #226: the reference fails at create with etcd's words),
/// naming the largest files by their size once compressed.
pub fn check_work_size(groups: &[WorkloadGroup]) -> Result<()> {
    let mut files: Vec<(&str, usize)> = groups
        .iter()
        .flat_map(|g| &g.workloads)
        .map(|w| (w.filepath.as_str(), w.content.len()))
        .collect();
    // Each file's path and content, and a little JSON around them.
    let total: usize = files
        .iter()
        .map(|(path, content)| path.len() + content + 32)
        .sum();
    if total <= MAX_WORK_BYTES {
        return Ok(());
    }
    files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let largest: Vec<String> = files
        .iter()
        .take(5)
        .map(|(path, size)| format!("{path} ({})", megabytes(*size)))
        .collect();
    Err(Error::Invalid {
        source_name: "/kratix/output".to_owned(),
        path: String::new(),
        message: format!(
            "is {} once compressed, more than a Work can hold ({}, etcd's object limit less room for metadata); largest files: {}; keep large data out of /kratix/output or split it across pipelines",
            megabytes(total),
            megabytes(MAX_WORK_BYTES),
            largest.join(", ")
        ),
    })
}

/// `1.4 MB`: what the API server's limit is usually quoted in.
fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn workloads(files: Vec<(String, Vec<u8>)>) -> Vec<Workload> {
    files
        .into_iter()
        .map(|(filepath, bytes)| Workload {
            filepath,
            content: compress(&bytes),
        })
        .collect()
}

/// The workload groups of a pipeline's output: one per selected top-level
/// directory, then the default group (everything else, when there is anything).
pub fn workload_groups(
    output_dir: &Path,
    selectors: &[DirectorySelector],
    promise_scheduling: &[WorkloadGroupScheduling],
    workflow_type: WorkflowType,
) -> Result<Vec<WorkloadGroup>> {
    let canonical_root = std::fs::canonicalize(output_dir).map_err(|source| Error::Read {
        path: output_dir.to_owned(),
        source,
    })?;
    let workflow_source = format!("{workflow_type}-workflow");
    let mut groups = Vec::new();
    for selector in selectors.iter().filter(|s| s.directory != ROOT) {
        let dir = output_dir.join(&selector.directory);
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_symlink()) {
            return Err(Error::Invalid {
                source_name: DESTINATION_SELECTORS_FILE.to_owned(),
                path: "directory".to_owned(),
                message: format!(
                    "{:?} is a symbolic link in the pipeline's output: refused; write the directory itself",
                    selector.directory
                ),
            });
        }
        if !dir.is_dir() {
            return Err(Error::Invalid {
                source_name: DESTINATION_SELECTORS_FILE.to_owned(),
                path: "directory".to_owned(),
                message: format!(
                    "{:?} is not a directory of the pipeline's output",
                    selector.directory
                ),
            });
        }
        let mut walk = GroupWalk::new(output_dir, &canonical_root, &selector.directory, &[]);
        collect_files(&mut walk, &dir)?;
        groups.push(WorkloadGroup {
            id: md5_hex(selector.directory.as_bytes()),
            directory: selector.directory.clone(),
            workloads: workloads(walk.files),
            destination_selectors: vec![WorkloadGroupScheduling {
                match_labels: selector.match_labels.clone(),
                source: workflow_source.clone(),
            }],
        });
        // Groups held so far, compressed, may already be more than a Work holds.
        check_work_size(&groups)?;
    }
    // The default group: everything the selected directories do not take.
    let claimed: Vec<PathBuf> = selectors
        .iter()
        .filter(|s| s.directory != ROOT)
        .map(|s| output_dir.join(&s.directory))
        .collect();
    let mut walk = GroupWalk::new(output_dir, &canonical_root, ROOT, &claimed);
    collect_files(&mut walk, output_dir)?;
    let rest = walk.files;
    if !rest.is_empty() {
        let mut scheduling = Vec::new();
        if let Some(root) = selectors.iter().find(|s| s.directory == ROOT) {
            scheduling.push(WorkloadGroupScheduling {
                match_labels: root.match_labels.clone(),
                source: workflow_source,
            });
        }
        let promise = squash(
            promise_scheduling
                .iter()
                .filter(|s| s.source == "promise")
                .map(|s| &s.match_labels),
        );
        if !promise.is_empty() {
            scheduling.push(WorkloadGroupScheduling {
                match_labels: promise,
                source: "promise".to_owned(),
            });
        }
        groups.push(WorkloadGroup {
            id: md5_hex(ROOT.as_bytes()),
            directory: ROOT.to_owned(),
            workloads: workloads(rest),
            destination_selectors: scheduling,
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::compression::decompress;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    use crate::api::labels::from_pairs as labels;

    #[test]
    fn an_output_too_large_for_a_work_is_refused_naming_its_largest_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Random bytes do not compress: 2 MB stays 2 MB, past what a Work holds.
        let mut noise = Vec::with_capacity(2_000_000);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        while noise.len() < 2_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise.extend_from_slice(&state.to_le_bytes());
        }
        std::fs::write(dir.path().join("noise.bin"), &noise).expect("write");
        std::fs::write(dir.path().join("small.yaml"), "a: 1\n").expect("write");
        let groups = workload_groups(dir.path(), &[], &[], WorkflowType::Resource).expect("groups");
        let error = check_work_size(&groups).expect_err("too large").to_string();
        assert!(error.contains("noise.bin") && error.contains("MB"), "{error}");
        assert!(error.contains("/kratix/output"), "{error}");
        std::fs::remove_file(dir.path().join("noise.bin")).expect("remove");
        let groups = workload_groups(dir.path(), &[], &[], WorkflowType::Resource).expect("groups");
        check_work_size(&groups).expect("fits");
    }

    #[test]
    fn a_file_larger_than_a_placement_may_inflate_to_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = std::fs::File::create(dir.path().join("huge.yaml")).expect("create");
        // Sparse: no disk, no memory.
        file.set_len(crate::codec::compression::MAX_PLACEMENT_BYTES as u64 + 1)
            .expect("size");
        let error = workload_groups(dir.path(), &[], &[], WorkflowType::Resource)
            .expect_err("too large")
            .to_string();
        assert!(error.contains("huge.yaml") && error.contains("16 MiB"), "{error}");
    }

    #[test]
    fn a_group_stops_being_read_once_its_files_outgrow_a_placement() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sparse = |relative: &str, mebibytes: u64| {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            // Sparse: reads as zeros without taking disk.
            std::fs::File::create(&path)
                .and_then(|f| f.set_len(mebibytes << 20))
                .expect("sized");
        };
        sparse("big/a.yaml", 9);
        sparse("big/b.yaml", 9);
        sparse("top.yaml", 9);
        let selected = vec![DirectorySelector {
            directory: "big".into(),
            match_labels: labels(&[("env", "dev")]),
        }];
        let error = workload_groups(dir.path(), &selected, &[], WorkflowType::Resource)
            .expect_err("too large")
            .to_string();
        assert!(
            error.starts_with(
                "/kratix/output/big: holds more in all than one workload group may hold (16 MiB)"
            ),
            "{error}"
        );
        // Another group's directory does not count against the default one.
        std::fs::remove_file(dir.path().join("big/b.yaml")).expect("rm");
        let groups = workload_groups(dir.path(), &selected, &[], WorkflowType::Resource).expect("groups");
        assert_eq!(groups.len(), 2);
        sparse("more/c.yaml", 9);
        let error = workload_groups(dir.path(), &selected, &[], WorkflowType::Resource)
            .expect_err("too large")
            .to_string();
        assert!(error.starts_with("/kratix/output/.: holds more"), "{error}");
    }

    #[test]
    fn cleans_paths_like_go() {
        assert_eq!(clean_path("./dest1/"), "dest1");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("a/../b"), "b");
        assert_eq!(clean_path("../x"), "../x");
    }

    #[test]
    fn parses_and_checks_selectors() {
        let selectors = parse_destination_selectors(
            "ds.yaml",
            "- directory: ./dev/\n  matchLabels: {env: dev}\n- matchLabels: {env: all}\n",
        )
        .expect("parses");
        assert_eq!(
            selectors[0],
            DirectorySelector {
                directory: "dev".into(),
                match_labels: labels(&[("env", "dev")])
            }
        );
        assert_eq!(selectors[1].directory, ".");
        for (text, fragment) in [
            (
                "- directory: a\n  matchLabels: {}\n",
                "[0].matchLabels: must not be empty",
            ),
            (
                "- directory: a/b\n  matchLabels: {x: \"1\"}\n",
                "sub-directories are not allowed",
            ),
            (
                "- directory: a\n  matchLabels: {x: \"1\"}\n- directory: ./a\n  matchLabels: {x: \"2\"}\n",
                "\"a\" is listed twice",
            ),
            (
                "- directory: ..\n  matchLabels: {x: \"1\"}\n",
                "inside /kratix/output",
            ),
            ("- dir: a\n  matchLabels: {x: \"1\"}\n", "unknown field `dir`"),
        ] {
            let error = parse_destination_selectors("ds.yaml", text)
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("ds.yaml: ") && error.contains(fragment),
                "{error}"
            );
        }
    }

    #[test]
    fn builds_a_group_per_selected_directory_and_a_default_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path();
        write(out, "dev/app.yaml", "dev app");
        write(out, "dev/nested/more.yaml", "more");
        write(out, "prod/app.yaml", "prod app");
        write(out, "top.yaml", "top");
        let selectors = vec![
            DirectorySelector {
                directory: "dev".into(),
                match_labels: labels(&[("env", "dev")]),
            },
            DirectorySelector {
                directory: ".".into(),
                match_labels: labels(&[("team", "a")]),
            },
        ];
        let promise = vec![
            WorkloadGroupScheduling {
                match_labels: labels(&[("cloud", "x"), ("team", "b")]),
                source: "promise".into(),
            },
            WorkloadGroupScheduling {
                match_labels: labels(&[("cloud", "y"), ("zone", "1")]),
                source: "promise".into(),
            },
        ];
        let groups = workload_groups(out, &selectors, &promise, WorkflowType::Resource).expect("groups");
        assert_eq!(groups.len(), 2);
        // md5sum of "dev" and of "."
        assert_eq!(groups[0].id, md5_hex(b"dev"));
        assert_eq!(groups[0].directory, "dev");
        let paths: Vec<&str> = groups[0].workloads.iter().map(|w| w.filepath.as_str()).collect();
        assert_eq!(paths, ["dev/app.yaml", "dev/nested/more.yaml"]);
        assert_eq!(
            decompress(&groups[0].workloads[0].content).as_deref(),
            Some(&b"dev app"[..])
        );
        assert_eq!(
            groups[0].destination_selectors,
            vec![WorkloadGroupScheduling {
                match_labels: labels(&[("env", "dev")]),
                source: "resource-workflow".into()
            }]
        );
        assert_eq!(groups[1].id, "5058f1af8388633f609cadb75a75dc9d");
        let paths: Vec<&str> = groups[1].workloads.iter().map(|w| w.filepath.as_str()).collect();
        assert_eq!(paths, ["prod/app.yaml", "top.yaml"]);
        assert_eq!(
            groups[1].destination_selectors,
            vec![
                WorkloadGroupScheduling {
                    match_labels: labels(&[("team", "a")]),
                    source: "resource-workflow".into()
                },
                WorkloadGroupScheduling {
                    match_labels: labels(&[("cloud", "x"), ("team", "b"), ("zone", "1")]),
                    source: "promise".into()
                },
            ]
        );
    }

    #[test]
    fn empty_output_has_no_groups_and_missing_directories_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            workload_groups(dir.path(), &[], &[], WorkflowType::Promise).expect("groups"),
            vec![]
        );
        let selectors = vec![DirectorySelector {
            directory: "missing".into(),
            match_labels: labels(&[("a", "b")]),
        }];
        let error = workload_groups(dir.path(), &selectors, &[], WorkflowType::Promise)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"missing\" is not a directory of the pipeline's output"),
            "{error}"
        );
    }

    #[test]
    fn symlinks_out_of_the_output_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("output");
        write(&out, "ok.yaml", "fine");
        write(dir.path(), "secret.txt", "secret");
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), out.join("leak.yaml")).expect("symlink");
        let error = workload_groups(&out, &[], &[], WorkflowType::Resource)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("leak.yaml") && error.contains("outside the output directory"),
            "{error}"
        );
        std::fs::remove_file(out.join("leak.yaml")).expect("remove");
        std::os::unix::fs::symlink(out.join("ok.yaml"), out.join("alias.yaml")).expect("symlink");
        let groups = workload_groups(&out, &[], &[], WorkflowType::Resource).expect("inside links are fine");
        assert_eq!(groups[0].workloads.len(), 2);
    }

    #[test]
    fn a_linked_directory_is_refused_whether_selected_or_walked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("output");
        write(&out, "ok.yaml", "fine");
        write(dir.path(), "home/.ssh/id_rsa", "private key");
        std::os::unix::fs::symlink(dir.path().join("home/.ssh"), out.join("db")).expect("symlink");
        let selectors = vec![DirectorySelector {
            directory: "db".into(),
            match_labels: labels(&[("env", "prod")]),
        }];
        let error = workload_groups(&out, &selectors, &[], WorkflowType::Resource)
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"db\" is a symbolic link"), "{error}");
        std::fs::remove_file(out.join("db")).expect("remove");

        // A link to a directory inside the output would read it twice, or loop.
        std::os::unix::fs::symlink(&out, out.join("again")).expect("symlink");
        let error = workload_groups(&out, &[], &[], WorkflowType::Resource)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("again") && error.contains("link to a directory"),
            "{error}"
        );
    }
}

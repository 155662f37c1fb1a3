//! Where a WorkPlacement's files go in a state store: the three
//! Destination file layouts, the paths they give, and the refusal of any workload
//! path that would leave its directory. Pure: the writers (Git, buckets) take the
//! answer and make the store look like it.

use std::collections::BTreeMap;

use crate::api::destination::DestinationSpec;
use crate::api::work::Workload;
use crate::codec::compression::{MAX_PLACEMENT_BYTES, decompress_bounded, mebibytes};
use crate::error::{Error, Result};

pub const NESTED_BY_METADATA: &str = "nestedByMetadata";
pub const AGGREGATED_YAML: &str = "aggregatedYAML";
pub const NONE: &str = "none";
const DEFAULT_AGGREGATED_FILENAME: &str = "aggregated.yaml";

/// A Destination's file layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One directory per placement, named from its metadata; rewritten whole.
    Nested,
    /// Files flat under the Destination's path; an ownership file per placement
    /// says which are whose.
    Flat,
    /// Every placement of the Destination concatenated into one file.
    Aggregated { filename: String },
}

impl Layout {
    /// The layout `destination` asks for; an unknown mode names the Destination.
    pub fn of(destination_name: &str, spec: &DestinationSpec) -> Result<Layout> {
        match spec.filepath_mode() {
            NESTED_BY_METADATA => Ok(Layout::Nested),
            NONE => Ok(Layout::Flat),
            AGGREGATED_YAML => Ok(Layout::Aggregated {
                filename: spec
                    .filepath
                    .as_ref()
                    .and_then(|f| f.filename.clone())
                    .unwrap_or_else(|| DEFAULT_AGGREGATED_FILENAME.to_owned()),
            }),
            other => Err(Error::Invalid {
                source_name: format!("Destination {destination_name}"),
                path: "spec.filepath.mode".to_owned(),
                message: format!(
                    "{other:?} is not a file layout; use {NESTED_BY_METADATA}, {AGGREGATED_YAML} or {NONE}"
                ),
            }),
        }
    }
}

/// What the layout needs to know about one WorkPlacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementView<'a> {
    /// The WorkPlacement's (and its Work's) namespace.
    pub namespace: &'a str,
    /// A resource's request namespace when its Work was written in the Promise's
    /// `pipelineNamespace` (its `kratix.io/resource-namespace`): the nested layout
    /// files the request under it, so same-named requests never share a directory.
    pub request_namespace: Option<&'a str>,
    pub name: &'a str,
    pub promise: &'a str,
    /// Set for a resource's placement, empty for dependencies.
    pub resource: &'a str,
    /// The `kratix.io/pipeline-name` label; static dependencies have none.
    pub pipeline: Option<&'a str>,
    pub group_id: &'a str,
    pub workloads: &'a [Workload],
}

impl PlacementView<'_> {
    fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Refuses a placement whose names would not make one directory segment each:
    /// they come from the WorkPlacement, which a pipeline may write, and decide
    /// which directory of the store is this placement's to rewrite.
    pub fn check(&self) -> Result<()> {
        let fields = [
            ("metadata.namespace", self.namespace, false),
            (
                "metadata.labels[kratix.io/resource-namespace]",
                self.request_namespace.unwrap_or(self.namespace),
                false,
            ),
            ("metadata.name", self.name, false),
            ("spec.promiseName", self.promise, false),
            ("spec.resourceName", self.resource, true),
            (
                "metadata.labels[kratix.io/pipeline-name]",
                self.pipeline.unwrap_or_default(),
                true,
            ),
            ("spec.id", self.group_id, false),
        ];
        for (field, value, optional) in fields {
            if let Some(why) = segment_problem(value, optional) {
                return Err(Error::Placement {
                    placement: self.label(),
                    message: format!(
                        "{field} {value:?} {why}; it must be one directory name in the state store"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Joins store path segments, skipping empty ones and stray slashes.
pub fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The longest path segment written to a store: NAME_MAX of common filesystems.
pub const MAX_SEGMENT_BYTES: usize = 255;
/// The longest path written to a store, from its root: Linux's PATH_MAX.
pub const MAX_PATH_BYTES: usize = 4096;
/// The flat layout's directory of ownership files: the agent's own.
const OWNERSHIP_DIRECTORY: &str = ".kratix";

/// Why `path` (`/`-separated, relative) may not name anything in a state store,
/// if it may not. Every segment of every store path comes from objects that
/// pipelines, tenants or a state store's owner write, so none may climb (`..`),
/// reach Git's own files (`.git`, in any case: some filesystems fold it), hold a
/// NUL or be longer than a filesystem takes.
pub fn path_problem(path: &str) -> Option<String> {
    if path.contains('\0') {
        return Some("contains a NUL byte".to_owned());
    }
    if path.len() > MAX_PATH_BYTES {
        return Some(format!("is longer than {MAX_PATH_BYTES} bytes"));
    }
    for segment in path.split('/') {
        if segment == ".." {
            return Some("climbs out of its directory with `..`".to_owned());
        }
        if segment.eq_ignore_ascii_case(".git") {
            return Some("names Git's own directory `.git`".to_owned());
        }
        if segment.len() > MAX_SEGMENT_BYTES {
            return Some(format!("has a segment longer than {MAX_SEGMENT_BYTES} bytes"));
        }
    }
    None
}

/// Why `value` may not be one segment of a store path, if it may not; empty is
/// allowed only when `optional`.
fn segment_problem(value: &str, optional: bool) -> Option<String> {
    if value.is_empty() {
        return (!optional).then(|| "is empty".to_owned());
    }
    if value.contains('/') {
        return Some("contains `/`".to_owned());
    }
    if value == "." {
        return Some("is `.`".to_owned());
    }
    path_problem(value)
}

/// `relative` under `base`, or why not: absolute paths, `..`, `.git` and names
/// no filesystem takes are refused (the reference drops a write that leaves its
/// directory silently; here it is an error that the WorkPlacement and the
/// resource report).
pub fn inside(placement: &str, base: &str, relative: &str) -> Result<String> {
    let refuse = |why: &str| Error::Placement {
        placement: placement.to_owned(),
        message: format!("workload path {relative:?} {why}; write it under /kratix/output"),
    };
    if relative.starts_with('/') {
        return Err(refuse("is absolute"));
    }
    if let Some(why) = path_problem(relative) {
        return Err(refuse(&why));
    }
    let kept = join(&[relative]);
    if kept.is_empty() {
        return Err(refuse("names no file"));
    }
    let path = join(&[base, &kept]);
    if path.len() > MAX_PATH_BYTES {
        return Err(refuse(&format!(
            "is longer than {MAX_PATH_BYTES} bytes under {base:?}"
        )));
    }
    Ok(path)
}

/// The store's and the Destination's `spec.path`, joined, or why not. A leading
/// `/` means the store's root, as in the reference.
pub fn destination_root(store_path: &str, destination_path: &str) -> Result<String> {
    for (owner, path) in [
        ("the state store", store_path),
        ("the Destination", destination_path),
    ] {
        if let Some(why) = path_problem(path.trim_start_matches('/')) {
            return Err(Error::Invalid {
                source_name: owner.to_owned(),
                path: "spec.path".to_owned(),
                message: format!("{path:?} {why}; name a directory inside the store"),
            });
        }
    }
    Ok(join(&[store_path, destination_path]))
}

/// The directory of a placement in the nested layout, relative to the Destination.
pub fn nested_directory(placement: &PlacementView<'_>) -> String {
    let short: String = placement.group_id.chars().take(5).collect();
    if placement.resource.is_empty() {
        join(&[
            "dependencies",
            placement.promise,
            placement.pipeline.unwrap_or_default(),
            &short,
        ])
    } else {
        join(&[
            "resources",
            placement.request_namespace.unwrap_or(placement.namespace),
            placement.promise,
            placement.resource,
            placement.pipeline.unwrap_or_default(),
            &short,
        ])
    }
}

/// Where a placement's files are, from the store's root, for people to find them:
/// its directory (nested), the Destination's directory (flat) or the one file
/// (aggregated).
pub fn location(
    store_path: &str,
    destination_path: &str,
    layout: &Layout,
    placement: &PlacementView<'_>,
) -> String {
    let root = join(&[store_path, destination_path]);
    match layout {
        Layout::Nested => join(&[&root, &nested_directory(placement)]),
        Layout::Flat => root,
        Layout::Aggregated { filename } => join(&[&root, filename]),
    }
}

/// The ownership file of a placement in the flat layout, relative to the Destination.
pub fn ownership_file(placement: &PlacementView<'_>) -> String {
    format!(
        "{OWNERSHIP_DIRECTORY}/{}-{}.yaml",
        placement.namespace, placement.name
    )
}

/// One placement's part of the store, every path relative to the store's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementWrite {
    /// A directory that belongs to this placement alone: whatever is in it and not in
    /// `files` goes.
    pub owned_directory: Option<String>,
    /// Path → content.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The files of one placement in the nested or flat layout (the aggregated layout
/// is a function of all placements: [`aggregated`]). The flat layout's ownership
/// file is among the files; the caller removes what the previous one listed and
/// this one does not.
pub fn placement_write(
    store_path: &str,
    destination_path: &str,
    layout: &Layout,
    placement: &PlacementView<'_>,
) -> Result<PlacementWrite> {
    placement.check()?;
    let root = destination_root(store_path, destination_path)?;
    let mut write = PlacementWrite::default();
    let mut left = MAX_PLACEMENT_BYTES;
    let base = match layout {
        Layout::Nested => {
            let directory = join(&[&root, &nested_directory(placement)]);
            write.owned_directory = Some(directory.clone());
            directory
        }
        Layout::Flat | Layout::Aggregated { .. } => root.clone(),
    };
    for workload in placement.workloads {
        let path = inside(&placement.label(), &base, &workload.filepath)?;
        if *layout == Layout::Flat
            && join(&[&workload.filepath]).starts_with(&format!("{OWNERSHIP_DIRECTORY}/"))
        {
            return Err(Error::Placement {
                placement: placement.label(),
                message: format!(
                    "workload path {:?} is inside `{OWNERSHIP_DIRECTORY}`, where the agent records which files each placement owns; write it elsewhere",
                    workload.filepath
                ),
            });
        }
        write
            .files
            .insert(path, content_of(placement, workload, &mut left)?);
    }
    if *layout == Layout::Flat {
        let owned: Vec<String> = write
            .files
            .keys()
            .map(|p| p.strip_prefix(&format!("{root}/")).unwrap_or(p).to_owned())
            .collect();
        let text = serde_saphyr::to_string(&Ownership { files: owned }).map_err(|e| Error::Encode {
            what: format!("the ownership file of {}", placement.label()),
            message: e.to_string(),
        })?;
        let ownership_path = join(&[&root, &ownership_file(placement)]);
        if let Some(why) = path_problem(&ownership_path) {
            return Err(Error::Placement {
                placement: placement.label(),
                message: format!(
                    "its ownership file {ownership_path:?} {why}; shorten the WorkPlacement's namespace or name"
                ),
            });
        }
        write.files.insert(ownership_path, text.into_bytes());
    }
    Ok(write)
}

/// The flat layout's record of which files a placement wrote.
#[derive(serde::Serialize, serde::Deserialize)]
struct Ownership {
    #[serde(default)]
    files: Vec<String>,
}

/// The files the ownership file at `path` lists (relative to the Destination).
pub fn owned_files(path: &str, text: &str) -> Result<Vec<String>> {
    serde_saphyr::from_str::<Ownership>(text)
        .map(|o| o.files)
        .map_err(|e| Error::Yaml {
            source_name: path.to_owned(),
            message: format!("{e}; fix or delete it (it lists the files a WorkPlacement wrote)"),
        })
}

/// The single file of an aggregated Destination: every placement's workloads, by
/// placement name then file path, joined by `---`.
pub fn aggregated(
    store_path: &str,
    destination_path: &str,
    filename: &str,
    placements: &[PlacementView<'_>],
) -> Result<(String, Vec<u8>)> {
    let root = destination_root(store_path, destination_path)?;
    for placement in placements {
        placement.check()?;
    }
    let mut sorted: Vec<&PlacementView<'_>> = placements.iter().collect();
    sorted.sort_by_key(|p| (p.namespace, p.name));
    let mut documents: Vec<String> = Vec::new();
    // The aggregated file is one file: all of it within one placement's budget.
    let mut left = MAX_PLACEMENT_BYTES;
    for placement in sorted {
        let mut workloads: Vec<&Workload> = placement.workloads.iter().collect();
        workloads.sort_by(|a, b| a.filepath.cmp(&b.filepath));
        for workload in workloads {
            inside(&placement.label(), "", &workload.filepath)?;
            let bytes = content_of(placement, workload, &mut left)?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Placement {
                placement: placement.label(),
                message: format!(
                    "{} is not text; an aggregatedYAML Destination takes YAML only",
                    workload.filepath
                ),
            })?;
            documents.push(text.trim_end_matches('\n').to_owned());
        }
    }
    let path = inside("aggregated file", &root, filename)?;
    let mut content = documents.join("\n---\n");
    if !content.is_empty() {
        content.push('\n');
    }
    Ok((path, content.into_bytes()))
}

/// A workload's content, inflated at most to what is left of the placement's
/// budget (`left`, which it lowers).
fn content_of(placement: &PlacementView<'_>, workload: &Workload, left: &mut usize) -> Result<Vec<u8>> {
    let bytes = decompress_bounded(&workload.content, *left).map_err(|e| Error::Placement {
        placement: placement.label(),
        message: match e {
            crate::codec::compression::ContentError::TooLarge { .. } => format!(
                "the content of {} takes the placement past {} once inflated (the most one workload group may hold); split the output across groups or pipelines",
                workload.filepath,
                mebibytes(MAX_PLACEMENT_BYTES)
            ),
            other => format!("the content of {} {}", workload.filepath, other.describe()),
        },
    })?;
    *left -= bytes.len();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::destination::DestinationFilepath;
    use crate::codec::compression::compress;

    fn workload(path: &str, text: &str) -> Workload {
        Workload {
            filepath: path.to_owned(),
            content: compress(text.as_bytes()),
        }
    }

    fn resource_placement(workloads: &[Workload]) -> PlacementView<'_> {
        PlacementView {
            namespace: "team-a",
            request_namespace: None,
            name: "w.dev-5058f",
            promise: "redis",
            resource: "cache",
            pipeline: Some("instance"),
            group_id: "5058f1af8388633f609cadb75a75dc9d",
            workloads,
        }
    }

    #[test]
    fn nested_paths_follow_the_contract() {
        let files = [
            workload("redis.yaml", "kind: Redis\n"),
            workload("./sub/x.yaml", "a: 1\n"),
        ];
        let placement = resource_placement(&files);
        let write = placement_write("clusters", "dev", &Layout::Nested, &placement).expect("write");
        let dir = "clusters/dev/resources/team-a/redis/cache/instance/5058f";
        assert_eq!(write.owned_directory.as_deref(), Some(dir));
        assert_eq!(
            write.files.keys().cloned().collect::<Vec<_>>(),
            [format!("{dir}/redis.yaml"), format!("{dir}/sub/x.yaml")]
        );
        assert_eq!(write.files[&format!("{dir}/redis.yaml")], b"kind: Redis\n");
        let deps = PlacementView {
            resource: "",
            pipeline: None,
            ..placement.clone()
        };
        assert_eq!(nested_directory(&deps), "dependencies/redis/5058f");
        // Written in a pipelineNamespace: filed under the request's namespace, so
        // same-named requests of two namespaces never share a directory.
        let moved = PlacementView {
            namespace: "pipelines",
            request_namespace: Some("team-b"),
            ..placement.clone()
        };
        assert_eq!(
            nested_directory(&moved),
            "resources/team-b/redis/cache/instance/5058f"
        );
        assert_eq!(location("clusters", "dev", &Layout::Nested, &placement), dir);
        assert_eq!(location("", "dev", &Layout::Flat, &placement), "dev");
        let aggregated = Layout::Aggregated {
            filename: "all.yaml".to_owned(),
        };
        assert_eq!(location("s", "dev", &aggregated, &placement), "s/dev/all.yaml");
    }

    #[test]
    fn paths_that_leave_their_directory_are_refused_with_the_placement_named() {
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "",
            "./",
            "a/../b.yaml",
        ] {
            let files = [workload(bad, "x")];
            let error = placement_write("", "dev", &Layout::Nested, &resource_placement(&files))
                .expect_err(bad)
                .to_string();
            assert!(
                error.starts_with("WorkPlacement team-a/w.dev-5058f: workload path"),
                "{error}"
            );
        }
        assert_eq!(
            inside("p", "base", "./a//b.yaml").expect("inside"),
            "base/a/b.yaml"
        );
    }

    #[test]
    fn hostile_workload_paths_are_refused_naming_what_is_wrong() {
        let long = "x".repeat(256);
        let cases = [
            ("a/../b.yaml", "`..`"),
            (".git/config", "`.git`"),
            ("sub/.GIT/hooks/pre-commit", "`.git`"),
            ("a\0b.yaml", "NUL"),
            (long.as_str(), "255 bytes"),
        ];
        for (bad, why) in cases {
            let files = [workload(bad, "x")];
            for layout in [Layout::Nested, Layout::Flat] {
                let error = placement_write("", "", &layout, &resource_placement(&files))
                    .expect_err(bad)
                    .to_string();
                assert!(error.contains(why), "{bad}: {error}");
            }
        }
        let deep = format!("{}/x.yaml", ["d"; 2100].join("/"));
        let files = [workload(&deep, "x")];
        let error = placement_write("", "", &Layout::Nested, &resource_placement(&files))
            .expect_err("too long")
            .to_string();
        assert!(error.contains("4096 bytes"), "{error}");
        // The flat layout's ownership files are the agent's, not a workload's.
        let files = [workload(".kratix/team-b-other.yaml", "files: [x]")];
        let error = placement_write("", "dev", &Layout::Flat, &resource_placement(&files))
            .expect_err("ownership file")
            .to_string();
        assert!(error.contains("`.kratix`"), "{error}");
    }

    #[test]
    fn hostile_names_cannot_move_a_placement_out_of_its_directory() {
        let files = [workload("x.yaml", "x")];
        let base = resource_placement(&files);
        let cases: Vec<(PlacementView<'_>, &str)> = vec![
            (
                PlacementView {
                    group_id: "../../../x",
                    ..base.clone()
                },
                "spec.id",
            ),
            (
                PlacementView {
                    group_id: "",
                    ..base.clone()
                },
                "spec.id",
            ),
            (
                PlacementView {
                    resource: "..",
                    ..base.clone()
                },
                "spec.resourceName",
            ),
            (
                PlacementView {
                    resource: "other/instance",
                    ..base.clone()
                },
                "spec.resourceName",
            ),
            (
                PlacementView {
                    promise: "",
                    ..base.clone()
                },
                "spec.promiseName",
            ),
            (
                PlacementView {
                    promise: ".git",
                    ..base.clone()
                },
                "spec.promiseName",
            ),
            (
                PlacementView {
                    namespace: "..",
                    ..base.clone()
                },
                "metadata.namespace",
            ),
            (
                PlacementView {
                    request_namespace: Some("../team-b"),
                    ..base.clone()
                },
                "kratix.io/resource-namespace",
            ),
            (
                PlacementView {
                    pipeline: Some("a/b"),
                    ..base.clone()
                },
                "kratix.io/pipeline-name",
            ),
        ];
        for (placement, field) in cases {
            for layout in [Layout::Nested, Layout::Flat] {
                let error = placement_write("", "dev", &layout, &placement)
                    .expect_err(field)
                    .to_string();
                assert!(error.contains(field), "{field}: {error}");
            }
            let error = aggregated("", "dev", "all.yaml", std::slice::from_ref(&placement))
                .expect_err(field)
                .to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn a_name_too_long_for_the_ownership_file_is_refused() {
        // Found by kratix-fuzz: each name fits a segment, the two together do not.
        let files = [workload("x.yaml", "x")];
        let (namespace, name) = ("n".repeat(63), "w".repeat(200));
        let placement = PlacementView {
            namespace: &namespace,
            name: &name,
            ..resource_placement(&files)
        };
        let error = placement_write("", "dev", &Layout::Flat, &placement)
            .expect_err("too long")
            .to_string();
        assert!(
            error.contains("ownership file") && error.contains("255 bytes"),
            "{error}"
        );
        assert!(placement_write("", "dev", &Layout::Nested, &placement).is_ok());
    }

    #[test]
    fn store_and_destination_paths_may_not_climb_or_reach_git() {
        let files = [workload("x.yaml", "x")];
        let placement = resource_placement(&files);
        for (store, destination) in [("..", "dev"), ("", "../../etc"), ("", ".git"), ("a\0", "dev")] {
            for layout in [Layout::Nested, Layout::Flat] {
                let error = placement_write(store, destination, &layout, &placement)
                    .expect_err(destination)
                    .to_string();
                assert!(error.contains("spec.path"), "{store}/{destination}: {error}");
            }
            assert!(aggregated(store, destination, "all.yaml", std::slice::from_ref(&placement)).is_err());
        }
        // A leading slash is where the reference's own join puts it: the store's root.
        let write = placement_write("/clusters", "/dev", &Layout::Flat, &placement).expect("leading slash");
        assert!(write.files.contains_key("clusters/dev/x.yaml"));
        for bad in ["../x.yaml", ".git/config"] {
            assert!(
                aggregated("", "dev", bad, std::slice::from_ref(&placement)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn content_is_inflated_only_up_to_the_placement_limit() {
        let bomb = Workload {
            filepath: "bomb.yaml".to_owned(),
            content: compress(&vec![b'a'; crate::codec::compression::MAX_PLACEMENT_BYTES + 1]),
        };
        let files = [bomb];
        let error = placement_write("", "dev", &Layout::Nested, &resource_placement(&files))
            .expect_err("bomb")
            .to_string();
        assert!(error.contains("bomb.yaml") && error.contains("16 MiB"), "{error}");
        // Under the limit each, over it together.
        let half = vec![b'b'; crate::codec::compression::MAX_PLACEMENT_BYTES / 2 + 1];
        let files = [
            Workload {
                filepath: "one.yaml".to_owned(),
                content: compress(&half),
            },
            Workload {
                filepath: "two.yaml".to_owned(),
                content: compress(&half),
            },
        ];
        let error = placement_write("", "dev", &Layout::Flat, &resource_placement(&files))
            .expect_err("too much together")
            .to_string();
        assert!(error.contains("16 MiB"), "{error}");
        let error = aggregated("", "dev", "all.yaml", &[resource_placement(&files)])
            .expect_err("too much together")
            .to_string();
        assert!(error.contains("16 MiB"), "{error}");
    }

    #[test]
    fn the_flat_layout_writes_an_ownership_file_that_reads_back() {
        let files = [
            workload("redis.yaml", "kind: Redis\n"),
            workload("odd name: x.yaml", "a: 1\n"),
        ];
        let write = placement_write("", "dev", &Layout::Flat, &resource_placement(&files)).expect("write");
        assert_eq!(write.owned_directory, None);
        let ownership =
            String::from_utf8(write.files["dev/.kratix/team-a-w.dev-5058f.yaml"].clone()).expect("text");
        assert_eq!(
            owned_files("own.yaml", &ownership).expect("reads back"),
            ["odd name: x.yaml", "redis.yaml"]
        );
        let error = owned_files("dev/.kratix/x.yaml", "files: [")
            .expect_err("broken")
            .to_string();
        assert!(error.starts_with("dev/.kratix/x.yaml: "), "{error}");
        assert!(write.files.contains_key("dev/redis.yaml"));
    }

    #[test]
    fn the_aggregated_layout_joins_every_placement_in_a_stable_order() {
        let first = [workload("b.yaml", "b: 1\n"), workload("a.yaml", "a: 1\n")];
        let second = [workload("c.yaml", "c: 1")];
        let one = resource_placement(&first);
        let two = PlacementView {
            name: "a-first",
            ..resource_placement(&second)
        };
        let (path, content) = aggregated("", "dev", "all.yaml", &[one, two]).expect("aggregated");
        assert_eq!(path, "dev/all.yaml");
        assert_eq!(
            String::from_utf8(content).expect("text"),
            "c: 1\n---\na: 1\n---\nb: 1\n"
        );
    }

    #[test]
    fn layouts_come_from_the_destination_and_an_unknown_one_is_an_error() {
        let mut spec = DestinationSpec::default();
        assert_eq!(Layout::of("dev", &spec).expect("default"), Layout::Nested);
        spec.filepath = Some(DestinationFilepath {
            mode: Some("aggregatedYAML".to_owned()),
            filename: None,
        });
        assert_eq!(
            Layout::of("dev", &spec).expect("aggregated"),
            Layout::Aggregated {
                filename: "aggregated.yaml".to_owned()
            }
        );
        spec.filepath = Some(DestinationFilepath {
            mode: Some("flat".to_owned()),
            filename: None,
        });
        let error = Layout::of("dev", &spec).expect_err("unknown").to_string();
        assert!(error.contains("Destination dev: spec.filepath.mode"), "{error}");
    }
}

//! Finding Promises on disk: a YAML file (one or more documents), a directory
//! holding `promise.yaml`, or a directory in the split layout
//! (`api.yaml`, `dependencies.yaml`, `workflows/<type>/<action>/workflow.yaml`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::api::labels::API_VERSION;
use crate::api::workflow::Workflow;
use crate::codec::yaml::{Document, parse_documents};
use crate::{Error, Result};

pub const PROMISE_FILE: &str = "promise.yaml";
pub const API_FILE: &str = "api.yaml";
pub const DEPENDENCIES_FILE: &str = "dependencies.yaml";
/// The split layout's `spec.destinationSelectors` (a list, as in the Promise);
/// ours: kratix-cli's split layout has no place for them.
pub const DESTINATION_SELECTORS_FILE: &str = "destination-selectors.yaml";
pub const WORKFLOWS_DIR: &str = "workflows";
pub const WORKFLOW_FILE: &str = "workflow.yaml";

/// Where a Promise came from, so problems can name the right file.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Document `index` of `count` non-empty documents in `file`.
    File {
        file: PathBuf,
        index: usize,
        count: usize,
    },
    /// A split-layout directory; the Promise was assembled from its files.
    Split { dir: PathBuf },
}

/// A Promise document read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseSource {
    pub origin: Origin,
    pub value: Value,
}

/// The Promises found under a path, plus documents skipped because they are
/// not Promises (worth a warning).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub promises: Vec<PromiseSource>,
    pub skipped: Vec<String>,
}

impl PromiseSource {
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The file a problem at `field_path` belongs to.
    pub fn file_for(&self, field_path: &str) -> PathBuf {
        match &self.origin {
            Origin::File { file, .. } => file.clone(),
            Origin::Split { dir } => {
                if field_path.starts_with("spec.api") {
                    return dir.join(API_FILE);
                }
                if field_path.starts_with("spec.dependencies") {
                    return dir.join(DEPENDENCIES_FILE);
                }
                if field_path.starts_with("spec.destinationSelectors") {
                    return dir.join(DESTINATION_SELECTORS_FILE);
                }
                for workflow in Workflow::ALL {
                    if field_path.starts_with(&workflow.field_path()) {
                        return workflow_file(dir, workflow);
                    }
                }
                dir.clone()
            }
        }
    }

    /// `document 2 (Promise redis)` when the file holds several documents.
    pub fn document_label(&self) -> Option<String> {
        match &self.origin {
            Origin::File { index, count, .. } if *count > 1 => Some(format!(
                "document {index} (Promise {})",
                if self.name().is_empty() {
                    "<unnamed>"
                } else {
                    self.name()
                }
            )),
            _ => None,
        }
    }
}

/// `workflows/<type>/<action>/workflow.yaml` under `dir`.
pub fn workflow_file(dir: &Path, workflow: Workflow) -> PathBuf {
    dir.join(WORKFLOWS_DIR)
        .join(workflow.workflow_type.as_str())
        .join(workflow.action.as_str())
        .join(WORKFLOW_FILE)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_documents(path: &Path) -> Result<Vec<Document>> {
    parse_documents(&path.display().to_string(), &read(path)?)
}

/// Loads every Promise under `path`.
pub fn load(path: &Path) -> Result<Loaded> {
    let metadata = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if metadata.is_dir() {
        let promise_file = path.join(PROMISE_FILE);
        if promise_file.is_file() {
            return load_file(&promise_file);
        }
        if path.join(API_FILE).is_file()
            || path.join(WORKFLOWS_DIR).is_dir()
            || path.join(DEPENDENCIES_FILE).is_file()
        {
            return Ok(Loaded {
                promises: vec![load_split(path)?],
                skipped: Vec::new(),
            });
        }
        return Err(Error::NotAPromise {
            path: path.to_owned(),
            message: format!(
                "holds neither {PROMISE_FILE} nor the split layout ({API_FILE}, {DEPENDENCIES_FILE}, {WORKFLOWS_DIR}/)"
            ),
        });
    }
    load_file(path)
}

fn load_file(file: &Path) -> Result<Loaded> {
    let documents = read_documents(file)?;
    let count = documents.len();
    let mut loaded = Loaded::default();
    for document in documents {
        match document.kind_and_name() {
            (Some("Promise"), _) => loaded.promises.push(PromiseSource {
                origin: Origin::File {
                    file: file.to_owned(),
                    index: document.index,
                    count,
                },
                value: document.value,
            }),
            (kind, name) => loaded.skipped.push(format!(
                "{}: document {} ({} {}) is not a Promise; skipped",
                file.display(),
                document.index,
                kind.unwrap_or("<no kind>"),
                name.unwrap_or("<unnamed>")
            )),
        }
    }
    if loaded.promises.is_empty() {
        return Err(Error::NotAPromise {
            path: file.to_owned(),
            message: if count == 0 {
                "is empty: no Promise here".to_owned()
            } else {
                format!("holds {count} document(s) and no Promise (kind: Promise)")
            },
        });
    }
    Ok(loaded)
}

/// The documents of a list file: either one YAML list or a stream of documents.
fn list_items(file: &Path) -> Result<Vec<Value>> {
    let documents = read_documents(file)?;
    if let [single] = documents.as_slice()
        && let Value::Array(items) = &single.value
    {
        return Ok(items.clone());
    }
    Ok(documents.into_iter().map(|d| d.value).collect())
}

fn load_split(dir: &Path) -> Result<PromiseSource> {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let name = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut spec = Map::new();
    let api_file = dir.join(API_FILE);
    if api_file.is_file() {
        let mut documents = read_documents(&api_file)?;
        match documents.len() {
            0 => {}
            1 => {
                spec.insert("api".to_owned(), documents.remove(0).value);
            }
            n => {
                return Err(Error::Invalid {
                    source_name: api_file.display().to_string(),
                    path: "spec.api".to_owned(),
                    message: format!("holds {n} documents; it must hold the one CustomResourceDefinition"),
                });
            }
        }
    }
    let dependencies_file = dir.join(DEPENDENCIES_FILE);
    if dependencies_file.is_file() {
        let items = list_items(&dependencies_file)?;
        if !items.is_empty() {
            spec.insert("dependencies".to_owned(), Value::Array(items));
        }
    }
    let selectors_file = dir.join(DESTINATION_SELECTORS_FILE);
    if selectors_file.is_file() {
        let items = list_items(&selectors_file)?;
        if !items.is_empty() {
            spec.insert("destinationSelectors".to_owned(), Value::Array(items));
        }
    }
    let mut workflows = Map::new();
    for workflow in Workflow::ALL {
        let file = workflow_file(dir, workflow);
        if !file.is_file() {
            continue;
        }
        let pipelines = list_items(&file)?;
        let by_type = workflows
            .entry(workflow.workflow_type.as_str())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(actions) = by_type {
            actions.insert(workflow.action.as_str().to_owned(), Value::Array(pipelines));
        }
    }
    if !workflows.is_empty() {
        spec.insert("workflows".to_owned(), Value::Object(workflows));
    }
    Ok(PromiseSource {
        origin: Origin::Split { dir: dir.to_owned() },
        value: json!({
            "apiVersion": API_VERSION,
            "kind": "Promise",
            "metadata": {"name": name},
            "spec": spec,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(path, text).expect("write fixture");
    }

    const PIPELINE: &str = "- apiVersion: platform.kratix.io/v1alpha1\n  kind: Pipeline\n  metadata: {name: instance}\n  spec:\n    containers: [{name: main, image: example/main:v1}]\n";

    #[test]
    fn assembles_the_split_layout() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("database");
        write(
            &dir,
            API_FILE,
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n",
        );
        write(
            &dir,
            DEPENDENCIES_FILE,
            "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n",
        );
        write(&dir, "workflows/resource/configure/workflow.yaml", PIPELINE);
        write(
            &dir,
            "workflows/resource/configure/instance/main/Dockerfile",
            "FROM scratch\n",
        );
        let loaded = load(&dir).expect("loads");
        let promise = &loaded.promises[0];
        assert_eq!(promise.name(), "database");
        assert_eq!(promise.value["spec"]["api"]["kind"], "CustomResourceDefinition");
        assert_eq!(promise.value["spec"]["dependencies"][0]["kind"], "Namespace");
        assert_eq!(
            promise.value["spec"]["workflows"]["resource"]["configure"][0]["metadata"]["name"],
            "instance"
        );
        assert_eq!(
            promise.file_for("spec.workflows.resource.configure[0].spec"),
            dir.join("workflows/resource/configure/workflow.yaml")
        );
        assert_eq!(promise.file_for("spec.api.spec.group"), dir.join(API_FILE));
        assert_eq!(promise.file_for("metadata.name"), dir);
        assert_eq!(promise.document_label(), None);
    }

    #[test]
    fn a_directory_with_promise_yaml_uses_it() {
        let temp = tempfile::tempdir().expect("tempdir");
        write(
            temp.path(),
            PROMISE_FILE,
            "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: p}\nspec: {}\n",
        );
        write(temp.path(), API_FILE, "not: used\n");
        let loaded = load(temp.path()).expect("loads");
        assert_eq!(loaded.promises[0].name(), "p");
    }

    #[test]
    fn files_with_several_documents_label_each_promise() {
        let temp = tempfile::tempdir().expect("tempdir");
        let file = temp.path().join("all.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n---\napiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: second}\n",
        )
        .expect("write");
        let loaded = load(&file).expect("loads");
        assert_eq!(loaded.promises.len(), 1);
        assert_eq!(
            loaded.promises[0].document_label().as_deref(),
            Some("document 2 (Promise second)")
        );
        assert_eq!(loaded.skipped.len(), 1);
        assert!(
            loaded.skipped[0].contains("document 1 (Namespace ns1) is not a Promise"),
            "{:?}",
            loaded.skipped
        );
    }

    #[test]
    fn empty_and_foreign_inputs_are_clear_errors() {
        let temp = tempfile::tempdir().expect("tempdir");
        let error = load(temp.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("holds neither promise.yaml nor the split layout"),
            "{error}"
        );
        let empty = temp.path().join("empty.yaml");
        std::fs::write(&empty, "").expect("write");
        assert!(load(&empty).unwrap_err().to_string().contains("is empty"));
        let missing = temp.path().join("missing.yaml");
        assert!(load(&missing).unwrap_err().to_string().contains("cannot read"));
        let broken = temp.path().join("broken.yaml");
        std::fs::write(&broken, "a: [1\n").expect("write");
        let error = load(&broken).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{}: ", broken.display())) && error.contains("line"),
            "{error}"
        );
    }

    #[test]
    fn api_yaml_holds_one_document() {
        let temp = tempfile::tempdir().expect("tempdir");
        write(temp.path(), API_FILE, "a: 1\n---\nb: 2\n");
        let error = load(temp.path()).unwrap_err().to_string();
        assert!(error.contains("holds 2 documents"), "{error}");
    }
}

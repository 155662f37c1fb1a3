//! Kubernetes objects read from a file, or from the YAML and JSON files under
//! a directory (`update dependencies PATH`, `init --operator-manifests`),
//! each named by its file and document for messages.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::operator_promise::Manifest;
use kratix_shared::codec::yaml::parse_documents;
use serde_json::Value;

/// Every object in `path` (a file, or the YAML and JSON files under a
/// directory, in name order), each checked to be a Kubernetes object.
pub fn read_manifests(path: &Path) -> Result<Vec<Manifest>> {
    let mut files = Vec::new();
    collect(path, &mut files)?;
    let mut manifests = Vec::new();
    for file in files {
        let source = file.display().to_string();
        let text = std::fs::read_to_string(&file).with_context(|| format!("{source}: cannot read"))?;
        for document in parse_documents(&source, &text)? {
            let value = document.value;
            let field = |name: &str| {
                value
                    .pointer(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            if field("/apiVersion").is_none() || field("/kind").is_none() || field("/metadata/name").is_none()
            {
                bail!(
                    "{source}: document {} is not a Kubernetes object (it needs apiVersion, kind and metadata.name)",
                    document.index
                );
            }
            manifests.push(Manifest {
                source: format!("{source}#{}", document.index),
                value,
            });
        }
    }
    if manifests.is_empty() {
        bail!("{}: holds no Kubernetes objects", path.display());
    }
    Ok(manifests)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        files.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    entries.sort();
    for entry in entries {
        let yaml = entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        // A linked directory is not followed: it could lead back up and loop.
        let real_dir = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
        if real_dir {
            collect(&entry, files)?;
        } else if yaml && entry.is_file() {
            files.push(entry);
        }
    }
    Ok(())
}

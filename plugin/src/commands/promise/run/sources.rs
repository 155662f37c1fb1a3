//! `--secret NAME=DIR|FILE` and `--configmap NAME=DIR|FILE`: the Secrets and
//! ConfigMaps a local run reads instead of a cluster's. A directory gives one
//! key per regular file (as `kubectl create secret --from-file=DIR`); a file
//! is a Secret or ConfigMap manifest (`data` base64 for a Secret,
//! `stringData`, `binaryData`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use kratix_shared::codec::yaml::parse_documents;
use kratix_shared::local_run::{SourceKind as Kind, Sources};
use serde_json::Value;

/// Largest file a key may come from: a Secret or ConfigMap holds 1 MiB at most.
const MAX_KEY_BYTES: u64 = 1024 * 1024;

pub fn load(secrets: &[String], config_maps: &[String]) -> Result<Sources> {
    let mut sources = Sources::default();
    for spec in secrets {
        let (name, data) = load_one(Kind::Secret, spec)?;
        if sources.secrets.insert(name.clone(), data).is_some() {
            bail!("--secret {name} is given twice");
        }
    }
    for spec in config_maps {
        let (name, data) = load_one(Kind::ConfigMap, spec)?;
        if sources.config_maps.insert(name.clone(), data).is_some() {
            bail!("--configmap {name} is given twice");
        }
    }
    Ok(sources)
}

fn load_one(kind: Kind, spec: &str) -> Result<(String, BTreeMap<String, Vec<u8>>)> {
    let Some((name, path)) = spec
        .split_once('=')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty())
    else {
        bail!("{} {spec:?}: expected NAME=DIR or NAME=FILE", kind.flag());
    };
    let path = Path::new(path);
    let data = if path.is_dir() {
        from_directory(kind, name, path)?
    } else {
        from_manifest(kind, name, path)?
    };
    Ok((name.to_owned(), data))
}

fn from_directory(kind: Kind, name: &str, dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut data = BTreeMap::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("{} {name}: cannot read {}", kind.flag(), dir.display()))?;
    for entry in entries {
        let entry =
            entry.with_context(|| format!("{} {name}: cannot read {}", kind.flag(), dir.display()))?;
        let file_type = entry.file_type()?;
        // Regular files only, as kubectl takes them (a mounted Secret's `..data` links are not keys).
        if !file_type.is_file() {
            continue;
        }
        let Some(key) = entry.file_name().to_str().map(str::to_owned) else {
            bail!(
                "{} {name}: {}: a key must be a UTF-8 file name",
                kind.flag(),
                entry.path().display()
            );
        };
        let path = entry.path();
        if entry.metadata()?.len() > MAX_KEY_BYTES {
            bail!(
                "{} {name}: {} is over 1 MiB, more than a {} holds",
                kind.flag(),
                path.display(),
                kind.word()
            );
        }
        let content = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        check_key(kind, name, &key)?;
        data.insert(key, content);
    }
    Ok(data)
}

/// Kubernetes' rule for a Secret's or ConfigMap's keys: they become file names
/// in a volume, so one that is not a plain name (`../x`, `a/b`) is refused.
fn check_key(kind: Kind, name: &str, key: &str) -> Result<()> {
    let plain = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        bail!(
            "{} {name}: key {key:?} is not a valid key (letters, digits, '-', '_' and '.'), as Kubernetes requires",
            kind.flag()
        );
    }
    Ok(())
}

fn from_manifest(kind: Kind, name: &str, path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{} {name}: {source}: cannot read", kind.flag()))?;
    let documents = parse_documents(&source, &text)?;
    let [document] = documents.as_slice() else {
        bail!(
            "{source}: holds {} documents; {} {name}= takes one {} manifest",
            documents.len(),
            kind.flag(),
            kind.word()
        );
    };
    let manifest = &document.value;
    if manifest.get("kind").and_then(Value::as_str) != Some(kind.word()) {
        bail!(
            "{source}: is not a {} manifest (kind: {})",
            kind.word(),
            manifest.get("kind").unwrap_or(&Value::Null)
        );
    }
    match manifest.pointer("/metadata/name").and_then(Value::as_str) {
        Some(own) if own != name => {
            bail!(
                "{source}: holds {} {own}, not {name}; write {} {own}={source}",
                kind.word(),
                kind.flag()
            )
        }
        _ => {}
    }
    let mut data = BTreeMap::new();
    let text_map = |field: &str| manifest.get(field).and_then(Value::as_object);
    let (encoded, plain) = match kind {
        Kind::Secret => ("data", "stringData"),
        Kind::ConfigMap => ("binaryData", "data"),
    };
    for (key, value) in text_map(encoded).into_iter().flatten() {
        let text = value
            .as_str()
            .with_context(|| format!("{source}: {encoded}.{key}: not a string"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .with_context(|| format!("{source}: {encoded}.{key}: not base64"))?;
        check_key(kind, name, key)?;
        data.insert(key.clone(), bytes);
    }
    for (key, value) in text_map(plain).into_iter().flatten() {
        let text = value
            .as_str()
            .with_context(|| format!("{source}: {plain}.{key}: not a string"))?;
        check_key(kind, name, key)?;
        data.insert(key.clone(), text.as_bytes().to_vec());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gives_a_key_per_file_and_a_manifest_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("db");
        std::fs::create_dir_all(keys.join("nested")).expect("mkdir");
        std::fs::write(keys.join("password"), "hunter2").expect("write");
        let manifest = dir.path().join("settings.yaml");
        std::fs::write(
            &manifest,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {LEVEL: debug}\nbinaryData: {blob: aGk=}\n",
        )
        .expect("write");
        let secret = dir.path().join("api.yaml");
        std::fs::write(
            &secret,
            "kind: Secret\ndata: {token: czNjcmV0}\nstringData: {user: app}\n",
        )
        .expect("write");
        let sources = load(
            &[
                format!("db={}", keys.display()),
                format!("api={}", secret.display()),
            ],
            &[format!("settings={}", manifest.display())],
        )
        .expect("loads");
        assert_eq!(
            sources.secrets["db"].keys().collect::<Vec<_>>(),
            ["password"],
            "subfolders are not keys"
        );
        assert_eq!(sources.secrets["api"]["token"], b"s3cret");
        assert_eq!(sources.secrets["api"]["user"], b"app");
        assert_eq!(sources.config_maps["settings"]["LEVEL"], b"debug");
        assert_eq!(sources.config_maps["settings"]["blob"], b"hi");
    }

    #[test]
    fn bad_flags_and_manifests_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let other = dir.path().join("other.yaml");
        std::fs::write(&other, "kind: Secret\nmetadata: {name: other}\n").expect("write");
        let error = |secrets: &[String]| load(secrets, &[]).unwrap_err().to_string();
        assert!(error(&["nothing".to_owned()]).contains("expected NAME=DIR or NAME=FILE"));
        let named = error(&[format!("db={}", other.display())]);
        assert!(named.contains("holds Secret other, not db"), "{named}");
        let config_map = dir.path().join("cm.yaml");
        std::fs::write(&config_map, "kind: ConfigMap\n").expect("write");
        let wrong = error(&[format!("db={}", config_map.display())]);
        assert!(wrong.contains("is not a Secret manifest"), "{wrong}");
        let escaping = dir.path().join("escape.yaml");
        std::fs::write(&escaping, "kind: Secret\nstringData: {\"../../evil\": x}\n").expect("write");
        let refused = error(&[format!("db={}", escaping.display())]);
        assert!(
            refused.contains("key \"../../evil\" is not a valid key"),
            "{refused}"
        );
        let missing = error(&["db=/nonexistent/file".to_owned()]);
        assert!(
            missing.contains("--secret db: /nonexistent/file: cannot read"),
            "{missing}"
        );
    }
}

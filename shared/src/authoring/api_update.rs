//! `promise update api`: a Promise's CRD changed as kratix-cli's `update api`
//! changes it: properties of the request's `spec` added (`-p name:type`, `a.b.c`
//! nesting) or removed (`-p name-`), and its group, kind, version or plural
//! renamed (the CRD's name following). Pure: the plugin reads and writes files.

use serde_json::{Map, Value, json};

use crate::{Error, Result};

/// The property types `-p NAME:TYPE` takes.
pub const TYPES: [&str; 5] = ["string", "number", "integer", "object", "boolean"];

/// One `-p` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyChange {
    /// `a.b.c:type`: intermediate objects are made as needed.
    Set { path: Vec<String>, type_: String },
    /// `a.b.c-`.
    Remove { path: Vec<String> },
}

/// Parses `-p`'s value, naming what is wrong.
pub fn parse_property(text: &str) -> Result<PropertyChange> {
    let invalid = |message: String| Error::Invalid {
        source_name: "--property".to_owned(),
        path: text.to_owned(),
        message,
    };
    let path_of = |name: &str| -> Result<Vec<String>> {
        let parts: Vec<String> = name.split('.').map(str::to_owned).collect();
        if parts.iter().any(|p| {
            p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }) {
            return Err(invalid(format!(
                "{name:?} is not a property path (names of letters, digits, _ or -, joined by .)"
            )));
        }
        Ok(parts)
    };
    if let Some(name) = text.strip_suffix('-')
        && !name.contains(':')
    {
        return Ok(PropertyChange::Remove { path: path_of(name)? });
    }
    let Some((name, type_)) = text.split_once(':') else {
        return Err(invalid("expected NAME:TYPE, or NAME- to remove it".to_owned()));
    };
    if !TYPES.contains(&type_) {
        return Err(invalid(format!("{type_:?} is not one of {}", TYPES.join(", "))));
    }
    Ok(PropertyChange::Set {
        path: path_of(name)?,
        type_: type_.to_owned(),
    })
}

/// The API's identity, each part changed only when given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiRename {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub version: Option<String>,
    pub plural: Option<String>,
}

/// Applies `changes` to every version's `spec` schema of `crd` and `rename` to
/// its names; returns what it did not do (a property to remove that is not there).
pub fn apply(crd: &mut Value, changes: &[PropertyChange], rename: &ApiRename) -> Result<Vec<String>> {
    let invalid = |path: &str, message: &str| Error::Invalid {
        source_name: "the Promise's API".to_owned(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let versions = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid("spec.versions", "the CRD has no versions to change"))?;
    let mut notes = Vec::new();
    for version in versions.iter_mut() {
        let spec = spec_schema(version)
            .ok_or_else(|| invalid("spec.versions[].schema", "is not an object schema"))?;
        for change in changes {
            match change {
                PropertyChange::Set { path, type_ } => set(spec, path, type_),
                PropertyChange::Remove { path } => {
                    if !remove(spec, path) && !notes.iter().any(|n: &String| n.contains(&path.join("."))) {
                        notes.push(format!(
                            "property {} is not in the API; nothing to remove",
                            path.join(".")
                        ));
                    }
                }
            }
        }
        if let (Some(name), Some(map)) = (&rename.version, version.as_object_mut()) {
            map.insert("name".to_owned(), Value::String(name.clone()));
        }
    }
    rename_api(crd, rename);
    Ok(notes)
}

/// `openAPIV3Schema.properties.spec`, made when missing.
fn spec_schema(version: &mut Value) -> Option<&mut Map<String, Value>> {
    let root = version
        .as_object_mut()?
        .entry("schema")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry("openAPIV3Schema")
        .or_insert_with(|| json!({"type": "object"}))
        .as_object_mut()?;
    let spec = root
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry("spec")
        .or_insert_with(|| json!({"type": "object", "default": {}}))
        .as_object_mut()?;
    Some(spec)
}

fn properties(schema: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let entry = schema.entry("properties").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}

fn set(schema: &mut Map<String, Value>, path: &[String], type_: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = schema;
    for parent in parents {
        let child = properties(current)
            .entry(parent.clone())
            .or_insert_with(|| json!({"type": "object"}));
        if child.get("type").and_then(Value::as_str) != Some("object") || !child.is_object() {
            *child = json!({"type": "object"});
        }
        current = match child {
            Value::Object(map) => map,
            _ => unreachable!("made an object just above"),
        };
    }
    let entry = properties(current)
        .entry(last.clone())
        .or_insert_with(|| json!({}));
    if entry.get("type").and_then(Value::as_str) != Some(type_) {
        *entry = json!({"type": type_});
    }
}

/// Whether the property was there to remove.
fn remove(schema: &mut Map<String, Value>, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = schema;
    for parent in parents {
        let Some(Value::Object(child)) = current.get_mut("properties").and_then(|p| p.get_mut(parent)) else {
            return false;
        };
        current = child;
    }
    let removed = current
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .and_then(|p| p.remove(last))
        .is_some();
    if let Some(Value::Array(required)) = current.get_mut("required") {
        required.retain(|r| r.as_str() != Some(last));
    }
    removed
}

fn rename_api(crd: &mut Value, rename: &ApiRename) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(group) = &rename.group {
        spec.insert("group".to_owned(), Value::String(group.clone()));
    }
    if let Some(Value::Object(names)) = spec.get_mut("names") {
        if let Some(kind) = &rename.kind {
            names.insert("kind".to_owned(), Value::String(kind.clone()));
            names.insert("singular".to_owned(), Value::String(kind.to_ascii_lowercase()));
        }
        if let Some(plural) = &rename.plural {
            names.insert("plural".to_owned(), Value::String(plural.clone()));
        }
    }
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let plural = spec
        .get("names")
        .and_then(|n| n.get("plural"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(Value::Object(metadata)) = crd.get_mut("metadata") {
        metadata.insert("name".to_owned(), Value::String(format!("{plural}.{group}")));
    }
}

/// The example request with the API's new `apiVersion` and `kind`.
pub fn rename_example(example: &mut Value, crd: &Value) {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = crd
        .pointer("/spec/names/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = crd
        .pointer("/spec/versions/0/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(map) = example.as_object_mut() {
        map.insert(
            "apiVersion".to_owned(),
            Value::String(format!("{group}/{version}")),
        );
        map.insert("kind".to_owned(), Value::String(kind.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authoring::scaffold::{ApiInput, crd};

    fn scaffolded() -> Value {
        crd(&ApiInput {
            name: "redis".into(),
            group: "example.org".into(),
            kind: "Redis".into(),
            version: "v1alpha1".into(),
            plural: "redises".into(),
        })
    }

    #[test]
    fn properties_are_added_nested_and_removed() {
        let mut api = scaffolded();
        let changes: Vec<PropertyChange> = ["size:string", "db.replicas:integer", "db.tls.enabled:boolean"]
            .iter()
            .map(|p| parse_property(p).expect("parses"))
            .collect();
        let notes = apply(&mut api, &changes, &ApiRename::default()).expect("applies");
        assert!(notes.is_empty());
        let spec =
            &api["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert_eq!(spec["size"], json!({"type": "string"}));
        assert_eq!(spec["db"]["type"], "object");
        assert_eq!(spec["db"]["properties"]["replicas"], json!({"type": "integer"}));
        assert_eq!(
            spec["db"]["properties"]["tls"]["properties"]["enabled"],
            json!({"type": "boolean"})
        );

        let removal = [
            parse_property("db.replicas-").expect("parses"),
            parse_property("absent-").expect("parses"),
        ];
        let notes = apply(&mut api, &removal, &ApiRename::default()).expect("applies");
        assert_eq!(notes, ["property absent is not in the API; nothing to remove"]);
        let spec =
            &api["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert!(spec["db"]["properties"].get("replicas").is_none());
        assert!(spec["db"]["properties"].get("tls").is_some());
    }

    #[test]
    fn a_rename_moves_the_crds_name_and_the_example() {
        let mut api = scaffolded();
        let rename = ApiRename {
            group: Some("acme.io".into()),
            kind: Some("Cache".into()),
            version: Some("v1".into()),
            plural: Some("caches".into()),
        };
        apply(&mut api, &[], &rename).expect("applies");
        assert_eq!(api["metadata"]["name"], "caches.acme.io");
        assert_eq!(
            api["spec"]["names"],
            json!({"kind": "Cache", "plural": "caches", "singular": "cache"})
        );
        assert_eq!(api["spec"]["versions"][0]["name"], "v1");
        let mut example =
            json!({"apiVersion": "example.org/v1alpha1", "kind": "Redis", "metadata": {"name": "x"}});
        rename_example(&mut example, &api);
        assert_eq!(
            (example["apiVersion"].as_str(), example["kind"].as_str()),
            (Some("acme.io/v1"), Some("Cache"))
        );
    }

    #[test]
    fn bad_flags_are_named() {
        for (flag, said) in [
            ("size", "expected NAME:TYPE"),
            (
                "size:text",
                "\"text\" is not one of string, number, integer, object, boolean",
            ),
            ("a..b:string", "is not a property path"),
        ] {
            let error = parse_property(flag).unwrap_err().to_string();
            assert!(error.contains(said), "{flag}: {error}");
            assert!(error.starts_with("--property"), "{error}");
        }
    }
}

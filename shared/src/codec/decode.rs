//! Typed decoding that reports every problem at once.
//!
//! serde stops at the first error. A user fixing a Promise wants the whole list, so
//! decoding here records the failing field, removes it from a working copy and tries
//! again; fields the target type does not know are collected on the way (the
//! reference decodes pipelines with unknown fields disallowed).
//!
//! Go's `encoding/json`, which the reference decodes with, matches keys
//! case-insensitively when there is no exact match (`JSONPath` fills `jsonPath`).
//! Keys are first folded to the target type's spelling, guided by its JSON
//! schema, so that what Kratix accepts decodes the same here.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What kind of problem a field has; callers decide how severe each kind is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblemKind {
    /// The value cannot be decoded (wrong type, missing required field).
    Invalid,
    /// The target type has no such field.
    UnknownField,
    /// The key matched a field only case-insensitively, as Go allows.
    CaseMismatch,
}

/// One problem with one field of a decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub kind: FieldProblemKind,
    /// Dotted path from the decoded value's root, such as `spec.containers[0].name`.
    pub path: String,
    pub message: String,
}

/// Upper bound on retries: each one removes a field, so this only guards
/// against pathological input.
const MAX_ATTEMPTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Decodes `value` into `T`, returning the value (when anything decodable was
/// left) and every type error and unknown field, each with its path.
pub fn decode_collecting<T: DeserializeOwned + JsonSchema>(value: &Value) -> (Option<T>, Vec<FieldProblem>) {
    let mut working = value.clone();
    let mut problems = Vec::new();
    let schema = schema_of::<T>();
    let root = schema.as_ref();
    fold_key_case(&mut working, root, root, &mut Vec::new(), &mut problems);
    let mut removed: Vec<Vec<Segment>> = Vec::new();
    // Unknown fields seen in any attempt are in the user's input, even when that
    // attempt failed later on another field.
    let mut unknown: Vec<String> = Vec::new();
    let unknown_problems = |unknown: Vec<String>| {
        unknown.into_iter().map(|path| {
            let field = path.rsplit(['.', '[']).next().unwrap_or(&path).to_owned();
            FieldProblem {
                kind: FieldProblemKind::UnknownField,
                message: format!("unknown field {field:?}"),
                path,
            }
        })
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut record = |path: serde_ignored::Path<'_>| {
            let path = ignored_path(&path);
            if !unknown.contains(&path) {
                unknown.push(path);
            }
        };
        let ignoring = serde_ignored::Deserializer::new(&working, &mut record);
        match serde_path_to_error::deserialize::<_, T>(ignoring) {
            Ok(decoded) => {
                problems.extend(unknown_problems(unknown));
                return (Some(decoded), problems);
            }
            Err(error) => {
                let mut segments: Vec<Segment> = error
                    .path()
                    .iter()
                    .filter_map(|segment| match segment {
                        serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                        serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                        _ => None,
                    })
                    .collect();
                let message = error.into_inner().to_string();
                let caused_by_removal = message.starts_with("missing field")
                    && removed
                        .iter()
                        .any(|r| r.len() == segments.len() + 1 && r.starts_with(&segments));
                if !caused_by_removal {
                    problems.push(FieldProblem {
                        kind: FieldProblemKind::Invalid,
                        path: render_path(&segments),
                        message,
                    });
                }
                // A list item already emptied that still fails (a required field is
                // missing) takes its whole list with it.
                if removed.contains(&segments) {
                    segments.pop();
                }
                if segments.is_empty() || !remove_at(&mut working, &segments) {
                    problems.extend(unknown_problems(unknown));
                    return (None, problems);
                }
                removed.push(segments);
            }
        }
    }
    problems.extend(unknown_problems(unknown));
    (None, problems)
}

/// The JSON schema of `T`, generated once per type.
fn schema_of<T: JsonSchema>() -> Arc<Value> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = T::schema_id().into_owned();
    let mut guard = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    guard
        .entry(id)
        .or_insert_with(|| {
            let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
            Arc::new(schema.to_value())
        })
        .clone()
}

/// The schema itself (references resolved) and the schemas it combines.
fn candidate_schemas<'a>(schema: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let resolve = |s: &'a Value| -> &'a Value {
        match s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            Some(name) => root
                .pointer(&format!("/$defs/{}", name.replace('~', "~0").replace('/', "~1")))
                .unwrap_or(s),
            None => s,
        }
    };
    let mut out = vec![resolve(schema)];
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for member in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(resolve(member));
        }
    }
    out
}

/// Renames keys that match a declared property only case-insensitively.
fn fold_key_case(
    value: &mut Value,
    schema: &Value,
    root: &Value,
    path: &mut Vec<Segment>,
    problems: &mut Vec<FieldProblem>,
) {
    let candidates = candidate_schemas(schema, root);
    match value {
        Value::Object(map) => {
            let properties: Vec<(&String, &Value)> = candidates
                .iter()
                .filter_map(|c| c.get("properties").and_then(Value::as_object))
                .flat_map(|p| p.iter())
                .collect();
            let additional = candidates
                .iter()
                .find_map(|c| c.get("additionalProperties").filter(|a| a.is_object()));
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let exact = properties.iter().find(|(name, _)| **name == key);
                let (key, sub_schema) = match exact {
                    Some((_, sub)) => (key, Some(*sub)),
                    None => match properties
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(&key))
                    {
                        Some((name, sub)) if !map.contains_key(name.as_str()) => {
                            if let Some(item) = map.remove(&key) {
                                map.insert((*name).clone(), item);
                            }
                            path.push(Segment::Key(key.clone()));
                            problems.push(FieldProblem {
                                kind: FieldProblemKind::CaseMismatch,
                                path: render_path(path),
                                message: format!(
                                    "{key:?} is read as {name:?} (keys match case-insensitively, as in Kratix): write {name:?}"
                                ),
                            });
                            path.pop();
                            ((*name).clone(), Some(*sub))
                        }
                        _ => (key, additional),
                    },
                };
                if let (Some(sub_schema), Some(child)) = (sub_schema, map.get_mut(&key)) {
                    path.push(Segment::Key(key));
                    fold_key_case(child, sub_schema, root, path, problems);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = candidates
                .iter()
                .find_map(|c| c.get("items").filter(|i| i.is_object()))
            {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Segment::Index(i));
                    fold_key_case(item, item_schema, root, path, problems);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn remove_at(value: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut current = value;
    for segment in parents {
        let next = match (segment, current) {
            (Segment::Key(key), Value::Object(map)) => map.get_mut(key),
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return false,
        }
    }
    match (last, current) {
        (Segment::Key(key), Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => {
            // Replace rather than remove so later indices keep naming the user's items.
            items[*i] = Value::Object(Default::default());
            true
        }
        _ => false,
    }
}

fn render_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    fn collect(path: &serde_ignored::Path<'_>, segments: &mut Vec<Segment>) {
        use serde_ignored::Path;
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                collect(parent, segments);
                segments.push(Segment::Index(*index));
            }
            Path::Map { parent, key } => {
                collect(parent, segments);
                segments.push(Segment::Key(key.clone()));
            }
            Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
                collect(parent, segments)
            }
        }
    }
    let mut segments = Vec::new();
    collect(path, &mut segments);
    render_path(&segments)
}

/// Joins a base path and a relative one (`spec.workflows` + `[0].kind`).
pub fn join_path(base: &str, relative: &str) -> String {
    match (base.is_empty(), relative.is_empty()) {
        (true, _) => relative.to_owned(),
        (_, true) => base.to_owned(),
        _ if relative.starts_with('[') => format!("{base}{relative}"),
        _ => format!("{base}.{relative}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, JsonSchema, Debug, Default)]
    #[serde(default)]
    struct Inner {
        name: String,
        count: i32,
    }

    #[derive(Deserialize, JsonSchema, Debug, Default)]
    #[serde(default)]
    struct Outer {
        items: Vec<Inner>,
        label: String,
    }

    #[test]
    fn reports_every_type_error_and_unknown_field() {
        let value = json!({
            "items": [{"name": 1, "count": 2}, {"name": "b", "cuont": 3}, {"count": "x"}],
            "label": ["not", "a", "string"],
            "extra": true
        });
        let (decoded, problems) = decode_collecting::<Outer>(&value);
        let decoded = decoded.expect("decodes what is left");
        assert_eq!(decoded.items.len(), 3);
        assert_eq!(decoded.items[1].name, "b");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "items[0].name",
                "items[2].count",
                "label",
                "extra",
                "items[1].cuont"
            ]
        );
        assert_eq!(problems[4].message, "unknown field \"cuont\"");
        assert!(problems[0].message.contains("expected a string"), "{problems:?}");
    }

    #[test]
    fn keys_matching_case_insensitively_are_folded_and_reported() {
        let value = json!({"Items": [{"NAME": "a"}], "label": "x"});
        let (decoded, problems) = decode_collecting::<Outer>(&value);
        let decoded = decoded.expect("decodes");
        assert_eq!(decoded.items[0].name, "a");
        let found: Vec<(&str, FieldProblemKind)> =
            problems.iter().map(|p| (p.path.as_str(), p.kind)).collect();
        assert_eq!(
            found,
            [
                ("Items", FieldProblemKind::CaseMismatch),
                ("items[0].NAME", FieldProblemKind::CaseMismatch)
            ]
        );
    }

    #[test]
    fn folds_keys_inside_kubernetes_types() {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceColumnDefinition;
        let value = json!({"name": "n", "type": "string", "JSONPath": ".spec.x"});
        let (decoded, problems) = decode_collecting::<CustomResourceColumnDefinition>(&value);
        assert_eq!(decoded.expect("decodes").json_path, ".spec.x");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, FieldProblemKind::CaseMismatch);
    }

    #[test]
    fn a_root_of_the_wrong_type_cannot_decode() {
        let (decoded, problems) = decode_collecting::<Outer>(&json!("text"));
        assert!(decoded.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "");
    }

    #[test]
    fn joins_paths() {
        assert_eq!(join_path("spec", "[0].kind"), "spec[0].kind");
        assert_eq!(join_path("spec", "name"), "spec.name");
        assert_eq!(join_path("", "name"), "name");
        assert_eq!(join_path("spec", ""), "spec");
    }
}

//! Typed decoding that reports every problem at once.
//!
//! serde stops at the first error. A user fixing a Promise wants the whole list, so
//! decoding here records the failing field, removes it from a working copy and tries
//! again; fields the target type does not know are collected on the way (the
//! reference decodes pipelines with unknown fields disallowed).

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Write as _;

/// One problem with one field of a decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
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
pub fn decode_collecting<T: DeserializeOwned>(value: &Value) -> (Option<T>, Vec<FieldProblem>) {
    let mut working = value.clone();
    let mut problems = Vec::new();
    let mut removed: Vec<Vec<Segment>> = Vec::new();
    // Unknown fields seen in any attempt are in the user's input, even when that
    // attempt failed later on another field.
    let mut unknown: Vec<String> = Vec::new();
    let unknown_problems = |unknown: Vec<String>| {
        unknown.into_iter().map(|path| {
            let field = path.rsplit(['.', '[']).next().unwrap_or(&path).to_owned();
            FieldProblem {
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
                    && removed.iter().any(|r| r.len() == segments.len() + 1 && r.starts_with(&segments));
                if !caused_by_removal {
                    problems.push(FieldProblem {
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

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Inner {
        name: String,
        count: i32,
    }

    #[derive(Deserialize, Debug, Default)]
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
            ["items[0].name", "items[2].count", "label", "extra", "items[1].cuont"]
        );
        assert_eq!(problems[4].message, "unknown field \"cuont\"");
        assert!(problems[0].message.contains("expected a string"), "{problems:?}");
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

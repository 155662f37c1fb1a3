//! Other tools' descriptions of their inputs as a CRD's structural OpenAPI v3
//! schema: a JSON Schema (a chart's `values.schema.json`) translated keyword by
//! keyword, or a schema inferred from example values (a chart's `values.yaml`).
//! Whatever OpenAPI (as Kubernetes takes it) cannot say is dropped and listed,
//! so the user learns what the API no longer checks.

use serde_json::{Map, Value, json};

/// A schema and what could not be carried over.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub schema: Value,
    pub dropped: Vec<Dropped>,
}

/// One keyword left out, at a field path (`spec.image.tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub path: String,
    pub what: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

/// Keywords carried over as they are: OpenAPI v3 and JSON Schema mean the same.
const SAME: &[&str] = &[
    "description",
    "default",
    "enum",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "nullable",
    "example",
];

/// Keywords about the schema document, not the data: left out silently.
const META: &[&str] = &["$schema", "$id", "id", "$comment", "definitions", "$defs"];

/// A keyword a generator that rewrote its tool's schema first puts where it
/// left something out; reported as dropped at the field path the node is
/// reached by (through every `$ref` to it).
pub const DROPPED_NOTE: &str = "x-kratix-dropped";

/// Nesting beyond this is refused as unreadable (and a `$ref` loop guard).
const MAX_DEPTH: usize = 64;

/// The most schema nodes one translation makes.
const MAX_NODES: usize = 100_000;

/// `schema` (a JSON Schema document) as an OpenAPI v3 schema; `path` names
/// its place in the CRD for the list of what was dropped.
pub fn from_json_schema(schema: &Value, path: &str) -> Translated {
    translate(schema, schema, path, false)
}

/// `schema`, a part of `document` whose `$ref`s point into `document`,
/// rewritten from another tool's schema by a generator that left its notes
/// (`DROPPED_NOTE`) where it dropped something.
pub fn from_json_schema_in(document: &Value, schema: &Value, path: &str) -> Translated {
    translate(document, schema, path, true)
}

fn translate(document: &Value, schema: &Value, path: &str, with_notes: bool) -> Translated {
    let mut translation = Translation {
        root: document,
        dropped: Vec::new(),
        refs: Vec::new(),
        budget: MAX_NODES,
        with_notes,
    };
    let schema = translation.node(schema, path, 0);
    Translated {
        schema,
        dropped: translation.dropped,
    }
}

struct Translation<'a> {
    root: &'a Value,
    dropped: Vec<Dropped>,
    /// The `$ref`s being followed, to stop at a loop.
    refs: Vec<String>,
    /// Nodes still to translate: `$ref`s that each refer to the next twice
    /// would otherwise make a small document exponentially large.
    budget: usize,
    /// Whether `DROPPED_NOTE`s are a generator's (else the input's own, and
    /// ignored like any `x-` keyword).
    with_notes: bool,
}

fn any_value() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

impl Translation<'_> {
    fn drop(&mut self, path: &str, what: impl Into<String>) {
        // Both may carry the input's text (property names, keywords), which is
        // printed to a terminal: no control characters.
        let printable = |text: &str| text.chars().filter(|c| !c.is_control()).collect::<String>();
        self.dropped.push(Dropped {
            path: printable(path),
            what: printable(&what.into()),
        });
    }

    fn node(&mut self, node: &Value, path: &str, depth: usize) -> Value {
        if self.budget == 0 {
            return any_value();
        }
        self.budget -= 1;
        if self.budget == 0 {
            self.drop(
                path,
                format!("the schema expands to more than {MAX_NODES} nodes: any value accepted from here"),
            );
            return any_value();
        }
        if depth > MAX_DEPTH {
            self.drop(
                path,
                format!("nested deeper than {MAX_DEPTH} levels: any value accepted"),
            );
            return any_value();
        }
        let object = match node {
            Value::Object(object) => object,
            Value::Bool(true) => return any_value(),
            Value::Bool(false) => {
                self.drop(path, "`false` (no value allowed): any value accepted");
                return any_value();
            }
            _ => {
                self.drop(path, "not a schema: any value accepted");
                return any_value();
            }
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            return self.reference(reference, object, path, depth);
        }
        let mut out = Map::new();
        self.types(object, path, &mut out);
        for (key, value) in object {
            match key.as_str() {
                "type"
                | "properties"
                | "additionalProperties"
                | "items"
                | "required"
                | "allOf"
                | "anyOf"
                | "oneOf"
                | "uniqueItems" => {}
                key if SAME.contains(&key) => {
                    out.insert(key.to_owned(), value.clone());
                }
                key if key.starts_with("x-kubernetes-") => {
                    out.insert(key.to_owned(), value.clone());
                }
                "title" => {
                    if !object.contains_key("description") {
                        out.insert("description".to_owned(), value.clone());
                    }
                }
                "const" => {
                    out.insert("enum".to_owned(), json!([value]));
                }
                "examples" => match value.as_array().and_then(|e| e.first()) {
                    Some(first) if !object.contains_key("example") => {
                        out.insert("example".to_owned(), first.clone());
                    }
                    _ => {}
                },
                "exclusiveMinimum" | "exclusiveMaximum" => {}
                "pattern" => match value.as_str().map(regex::Regex::new) {
                    Some(Ok(_)) => {
                        out.insert(key.to_owned(), value.clone());
                    }
                    _ => self.drop(
                        path,
                        format!("`pattern: {value}` (the API server's RE2 cannot compile it)"),
                    ),
                },
                DROPPED_NOTE => {
                    if let Some(note) = value.as_str().filter(|_| self.with_notes) {
                        self.drop(path, note);
                    }
                }
                key if META.contains(&key) || key.starts_with("x-") => {}
                other => self.drop(path, format!("`{other}` (OpenAPI in a CRD has no such check)")),
            }
        }
        // After minimum/maximum, so the tighter of a bound and its exclusive one wins.
        for key in ["exclusiveMinimum", "exclusiveMaximum"] {
            if let Some(value) = object.get(key) {
                self.exclusive(key, value, path, &mut out);
            }
        }
        self.object_parts(object, path, depth, &mut out);
        if object.get("uniqueItems") == Some(&Value::Bool(true)) {
            self.unique_items(path, &mut out);
        }
        // An object with no fields named takes any: a CRD would prune them all.
        let open_object = out.get("type").and_then(Value::as_str) == Some("object")
            && !out.contains_key("properties")
            && !out.contains_key("additionalProperties")
            && !object.get("allOf").is_some_and(Value::is_array);
        if open_object {
            out.insert(
                "x-kubernetes-preserve-unknown-fields".to_owned(),
                Value::Bool(true),
            );
        }
        self.combinations(object, path, depth, &mut out);
        let typed = [
            "type",
            "x-kubernetes-int-or-string",
            "x-kubernetes-preserve-unknown-fields",
        ]
        .iter()
        .any(|key| out.contains_key(*key));
        if !typed {
            // No type said or inferred: a structural schema takes any value so.
            out.insert(
                "x-kubernetes-preserve-unknown-fields".to_owned(),
                Value::Bool(true),
            );
        }
        Value::Object(out)
    }

    fn reference(&mut self, reference: &str, object: &Map<String, Value>, path: &str, depth: usize) -> Value {
        let Some(pointer) = reference.strip_prefix('#') else {
            self.drop(path, format!("`$ref: {reference}` (only references inside the document are followed): any value accepted"));
            return any_value();
        };
        if self.refs.iter().any(|r| r == reference) {
            self.drop(
                path,
                format!("`$ref: {reference}` refers to itself: any value accepted below here"),
            );
            return any_value();
        }
        let Some(target) = self.root.pointer(pointer) else {
            self.drop(
                path,
                format!("`$ref: {reference}` leads nowhere in the document: any value accepted"),
            );
            return any_value();
        };
        self.refs.push(reference.to_owned());
        let mut resolved = self.node(target, path, depth + 1);
        self.refs.pop();
        // Keywords beside the reference (a description, a default) win.
        let mut beside = object.clone();
        beside.remove("$ref");
        if !beside.is_empty()
            && let (Value::Object(out), Value::Object(extra)) =
                (&mut resolved, self.node(&Value::Object(beside), path, depth + 1))
        {
            for (key, value) in extra {
                if key != "x-kubernetes-preserve-unknown-fields" {
                    out.insert(key, value);
                }
            }
        }
        resolved
    }

    /// `type` (one, or a list with `null`) as OpenAPI's single type; inferred
    /// when absent.
    fn types(&mut self, object: &Map<String, Value>, path: &str, out: &mut Map<String, Value>) {
        let mut types: Vec<&str> = match object.get("type") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if types.contains(&"null") {
            types.retain(|t| *t != "null");
            out.insert("nullable".to_owned(), Value::Bool(true));
        }
        if types.is_empty() {
            types.extend(inferred_type(object));
        }
        match types.as_slice() {
            // Given by allOf/anyOf/oneOf, or any value (see `node`).
            [] => {}
            [one] => {
                out.insert("type".to_owned(), json!(one));
            }
            several if several.iter().all(|t| matches!(*t, "integer" | "string")) => {
                out.insert("x-kubernetes-int-or-string".to_owned(), Value::Bool(true));
            }
            several => {
                self.drop(
                    path,
                    format!("`type: {several:?}` (a CRD field has one type): any value accepted"),
                );
                out.insert(
                    "x-kubernetes-preserve-unknown-fields".to_owned(),
                    Value::Bool(true),
                );
            }
        }
    }

    /// Kubernetes refuses `uniqueItems`; a list of scalars says it as a set.
    fn unique_items(&mut self, path: &str, out: &mut Map<String, Value>) {
        let scalar = out
            .get("items")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| matches!(t, "string" | "integer" | "number" | "boolean"));
        if scalar {
            out.insert("x-kubernetes-list-type".to_owned(), json!("set"));
        } else {
            self.drop(
                path,
                "`uniqueItems` (a CRD can only say it of a list of scalars, as x-kubernetes-list-type: set)",
            );
        }
    }

    fn exclusive(&mut self, key: &str, value: &Value, path: &str, out: &mut Map<String, Value>) {
        match value {
            Value::Bool(_) => {
                out.insert(key.to_owned(), value.clone());
            }
            Value::Number(number) => {
                // Draft 6 and later give the bound itself; beside an inclusive
                // bound, the tighter of the two holds.
                let lower = key == "exclusiveMinimum";
                let bound = if lower { "minimum" } else { "maximum" };
                let given = number.as_f64().unwrap_or_default();
                let inclusive = out.get(bound).and_then(Value::as_f64);
                let tighter = inclusive.is_none_or(|i| if lower { given >= i } else { given <= i });
                if tighter {
                    out.insert(bound.to_owned(), value.clone());
                    out.insert(key.to_owned(), Value::Bool(true));
                }
            }
            _ => self.drop(path, format!("`{key}` that is neither a bound nor a boolean")),
        }
    }

    fn object_parts(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        depth: usize,
        out: &mut Map<String, Value>,
    ) {
        if let Some(Value::Object(properties)) = object.get("properties") {
            let translated: Map<String, Value> = properties
                .iter()
                .map(|(name, schema)| {
                    (
                        name.clone(),
                        self.node(schema, &format!("{path}.{name}"), depth + 1),
                    )
                })
                .collect();
            out.insert("properties".to_owned(), Value::Object(translated));
        }
        if let Some(required) = object.get("required").and_then(Value::as_array)
            && !required.is_empty()
        {
            out.insert("required".to_owned(), Value::Array(required.clone()));
        }
        match object.get("additionalProperties") {
            None => {}
            Some(Value::Bool(false)) => self.drop(
                path,
                "`additionalProperties: false` (the API server prunes unknown fields instead of refusing them)",
            ),
            Some(Value::Bool(true)) => {
                out.insert("x-kubernetes-preserve-unknown-fields".to_owned(), Value::Bool(true));
            }
            Some(schema) if !out.contains_key("properties") => {
                let translated = self.node(schema, &format!("{path}.*"), depth + 1);
                out.insert("additionalProperties".to_owned(), translated);
            }
            Some(_) => {
                self.drop(
                    path,
                    "`additionalProperties` beside `properties` (a CRD takes one or the other): other fields kept as given",
                );
                out.insert("x-kubernetes-preserve-unknown-fields".to_owned(), Value::Bool(true));
            }
        }
        match object.get("items") {
            None if out.get("type").and_then(Value::as_str) == Some("array") => {
                out.insert("items".to_owned(), any_value());
            }
            None => {}
            Some(Value::Array(tuple)) => {
                self.drop(
                    path,
                    "`items` as a list (one schema per position): the first is used for every item",
                );
                let first = tuple.first().cloned().unwrap_or(Value::Bool(true));
                let translated = self.node(&first, &format!("{path}[]"), depth + 1);
                out.insert("items".to_owned(), translated);
            }
            Some(schema) => {
                let translated = self.node(schema, &format!("{path}[]"), depth + 1);
                out.insert("items".to_owned(), translated);
            }
        }
    }

    /// `allOf` merged into the node; `anyOf`/`oneOf` of plain types read as a
    /// type list, anything else accepted as any value.
    fn combinations(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        depth: usize,
        out: &mut Map<String, Value>,
    ) {
        if let Some(all) = object.get("allOf").and_then(Value::as_array) {
            for part in all {
                if let Value::Object(mut translated) = self.node(part, path, depth + 1) {
                    // A part that only constrains (required, bounds) says nothing of
                    // the type: its "any value" fallback must not switch off pruning.
                    if !says_type(part) {
                        translated.remove("x-kubernetes-preserve-unknown-fields");
                    }
                    if out.contains_key("additionalProperties") {
                        translated.remove("properties");
                    }
                    merge(out, translated);
                }
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some(branches) = object.get(key).and_then(Value::as_array) else {
                continue;
            };
            let types: Option<Vec<Value>> = branches
                .iter()
                .map(|b| {
                    b.as_object()
                        .filter(|o| o.len() == 1)
                        .and_then(|o| o.get("type"))
                        .cloned()
                })
                .collect();
            match types {
                Some(types) if !out.contains_key("type") => {
                    let as_list = json!({"type": types});
                    let mut typed = Map::new();
                    self.types(as_list.as_object().unwrap_or(&Map::new()), path, &mut typed);
                    merge(out, typed);
                }
                // Branches that only constrain (`oneOf: [{required: [a]}, ...]`)
                // leave the node's own schema as it is.
                _ if !branches.iter().any(says_type) => {
                    self.drop(
                        path,
                        format!("`{key}` of constraints (a CRD cannot choose between them)"),
                    );
                }
                _ => {
                    self.drop(
                        path,
                        format!("`{key}` (a CRD cannot choose between schemas): any value accepted"),
                    );
                    for keyword in [
                        "type",
                        "properties",
                        "additionalProperties",
                        "items",
                        "required",
                        "x-kubernetes-list-type",
                        "x-kubernetes-int-or-string",
                    ] {
                        out.remove(keyword);
                    }
                    out.insert(
                        "x-kubernetes-preserve-unknown-fields".to_owned(),
                        Value::Bool(true),
                    );
                }
            }
        }
    }
}

/// Whether a (sub)schema says anything of its value's type or shape.
fn says_type(schema: &Value) -> bool {
    schema.as_object().is_some_and(|o| {
        [
            "type",
            "properties",
            "additionalProperties",
            "items",
            "$ref",
            "enum",
            "const",
            "allOf",
            "anyOf",
            "oneOf",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    })
}

/// The type a schema without `type` has by its other keywords.
fn inferred_type(object: &Map<String, Value>) -> Option<&'static str> {
    if object.contains_key("properties") || object.contains_key("additionalProperties") {
        return Some("object");
    }
    if object.contains_key("items") {
        return Some("array");
    }
    let first = object
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .or_else(|| object.get("const"))
        .or_else(|| object.get("default"))?;
    type_of(first)
}

fn type_of(value: &Value) -> Option<&'static str> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::String(_) => Some("string"),
        Value::Array(_) => Some("array"),
        Value::Object(_) => Some("object"),
    }
}

/// `extra`'s keywords into `into`; properties and required lists joined.
fn merge(into: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (key, value) in extra {
        match (key.as_str(), into.get_mut(&key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => mine.extend(theirs),
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(&name) {
                        mine.push(name);
                    }
                }
            }
            (_, _, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// A schema for `value` as an example of the data (a chart's `values.yaml`):
/// each leaf typed by its value, which becomes its default; an empty object
/// or a `null` accepts anything (a chart's free-form maps), an array's items
/// take the shape of all its elements.
pub fn from_example(value: &Value) -> Value {
    match value {
        Value::Null => any_value(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            json!({"type": type_of(value), "default": value})
        }
        Value::Array(items) => {
            let mut item = items
                .iter()
                .map(from_example)
                .reduce(widen)
                .unwrap_or_else(any_value);
            // One element's values are no default for every other element.
            without_defaults(&mut item);
            json!({"type": "array", "items": item, "default": value})
        }
        Value::Object(fields) if fields.is_empty() => {
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        }
        Value::Object(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, value)| (name.clone(), from_example(value)))
                .collect();
            json!({"type": "object", "properties": properties})
        }
    }
}

fn without_defaults(schema: &mut Value) {
    if let Value::Object(object) = schema {
        object.remove("default");
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            properties.values_mut().for_each(without_defaults);
        }
    }
}

/// One schema for two examples of the same field (items of one array): the
/// properties of both objects; differing types accept anything.
fn widen(a: Value, b: Value) -> Value {
    let strip = |mut v: Value| {
        without_defaults(&mut v);
        v
    };
    let (a, b) = (strip(a), strip(b));
    match (a.get("type"), b.get("type")) {
        (Some(x), Some(y)) if x == y && x == "object" => {
            let mut properties = a
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(theirs) = b.get("properties").and_then(Value::as_object) {
                for (name, schema) in theirs {
                    let joined = match properties.remove(name) {
                        Some(mine) => widen(mine, schema.clone()),
                        None => strip(schema.clone()),
                    };
                    properties.insert(name.clone(), joined);
                }
            }
            if properties.is_empty() {
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
            } else {
                json!({"type": "object", "properties": properties})
            }
        }
        (Some(x), Some(y)) if x == y && x == "array" => {
            let items = widen(a["items"].clone(), b["items"].clone());
            json!({"type": "array", "items": items})
        }
        (Some(x), Some(y)) if x == y => a,
        (Some(x), Some(y)) if (x == "integer" && y == "number") || (x == "number" && y == "integer") => {
            json!({"type": "number"})
        }
        _ => any_value(),
    }
}

/// A value for each required field of `schema` (its default, else one of its
/// type), so the example request is one the API accepts.
pub fn example_of_required(schema: &Value) -> Value {
    let mut example = serde_json::Map::new();
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for name in required.filter_map(Value::as_str) {
        let field = &schema["properties"][name];
        let value = field
            .get("default")
            .or_else(|| field.get("enum").and_then(|e| e.get(0)))
            .cloned()
            .unwrap_or_else(|| match field.get("type").and_then(Value::as_str) {
                Some("object") => example_of_required(field),
                Some("array") => json!([]),
                Some("boolean") => json!(false),
                Some("integer" | "number") => field.get("minimum").cloned().unwrap_or(json!(0)),
                _ => json!("example"),
            });
        example.insert(name.to_owned(), value);
    }
    Value::Object(example)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_schema_keeps_everything_openapi_can_say() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["image"],
            "properties": {
                "replicaCount": {"type": "integer", "minimum": 1, "default": 1, "description": "Pods"},
                "image": {"$ref": "#/definitions/image", "description": "The image to run"},
                "mode": {"enum": ["fast", "safe"], "title": "Mode"},
                "port": {"type": ["integer", "string"]},
                "nickname": {"type": ["string", "null"], "maxLength": 10},
                "ratio": {"type": "number", "exclusiveMaximum": 1},
                "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {},
                "kind": {"const": "web"}
            },
            "definitions": {"image": {"type": "object", "required": ["repository"], "properties": {
                "repository": {"type": "string", "pattern": "^[a-z]"},
                "tag": {"type": "string", "default": "latest", "examples": ["1.0"]}
            }}}
        });
        let translated = from_json_schema(&schema, "spec");
        assert_eq!(translated.dropped, vec![], "nothing lost");
        assert_eq!(
            translated.schema,
            json!({
                "type": "object",
                "required": ["image"],
                "properties": {
                    "replicaCount": {"type": "integer", "minimum": 1, "default": 1, "description": "Pods"},
                    "image": {"type": "object", "required": ["repository"], "description": "The image to run", "properties": {
                        "repository": {"type": "string", "pattern": "^[a-z]"},
                        "tag": {"type": "string", "default": "latest", "example": "1.0"}
                    }},
                    "mode": {"type": "string", "enum": ["fast", "safe"], "description": "Mode"},
                    "port": {"x-kubernetes-int-or-string": true},
                    "nickname": {"type": "string", "nullable": true, "maxLength": 10},
                    "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": true},
                    "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "extra": {"x-kubernetes-preserve-unknown-fields": true},
                    "kind": {"type": "string", "enum": ["web"]}
                }
            })
        );
    }

    #[test]
    fn an_inputs_own_notes_are_ignored_and_its_names_printed_without_control_characters() {
        let schema = json!({
            "type": "object",
            "x-kratix-dropped": "fake note",
            "properties": {"a\u{1b}[2Jb": {"type": "string", "not": {"const": "x"}}}
        });
        let translated = from_json_schema(&schema, "spec");
        let dropped: Vec<String> = translated.dropped.iter().map(ToString::to_string).collect();
        assert!(dropped.iter().all(|d| !d.contains("fake note")), "{dropped:?}");
        assert!(dropped.iter().all(|d| !d.contains('\u{1b}')), "{dropped:?}");
        assert!(
            dropped.iter().any(|d| d.starts_with("spec.a[2Jb: `not`")),
            "{dropped:?}"
        );
    }

    #[test]
    fn what_openapi_cannot_say_is_dropped_and_named() {
        let schema = json!({
            "type": "object",
            "properties": {
                "loop": {"$ref": "#/definitions/node"},
                "choice": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"a": {"type": "string"}}}]},
                "strict": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}},
                "cond": {"type": "string", "if": {"minLength": 1}, "then": {}},
                "remote": {"$ref": "https://example.org/schema.json"},
                "mixed": {"type": ["string", "boolean"]}
            },
            "definitions": {"node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/node"}}}}
        });
        let translated = from_json_schema(&schema, "spec");
        let said: Vec<String> = translated.dropped.iter().map(ToString::to_string).collect();
        let expect = |needle: &str| {
            assert!(
                said.iter().any(|s| s.contains(needle)),
                "{needle:?} not in {said:#?}"
            )
        };
        expect("spec.loop.next: `$ref: #/definitions/node` refers to itself");
        expect("spec.choice: `oneOf`");
        expect("spec.strict: `additionalProperties: false`");
        expect("spec.cond: `if`");
        expect("spec.cond: `then`");
        expect("spec.remote: `$ref: https://example.org/schema.json`");
        expect("spec.mixed: `type: [\"string\", \"boolean\"]`");
        let properties = &translated.schema["properties"];
        assert_eq!(
            properties["choice"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            properties["loop"]["properties"]["next"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(properties["cond"], json!({"type": "string"}));
    }

    #[test]
    fn review_cases_stay_structural_and_tight() {
        let schema = json!({"type": "object", "properties": {
            "annotations": {"type": "object"},
            "bounded": {"type": "number", "minimum": 0, "exclusiveMinimum": 5},
            "looser": {"type": "number", "minimum": 10, "exclusiveMinimum": 5},
            "lookahead": {"type": "string", "pattern": "^(?=a)"},
            "port": {"x-kubernetes-int-or-string": true, "allOf": [{"minimum": 1}]},
            "either": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                       "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
        }});
        let translated = from_json_schema(&schema, "spec");
        let p = &translated.schema["properties"];
        assert_eq!(
            p["annotations"],
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            p["bounded"],
            json!({"type": "number", "minimum": 5, "exclusiveMinimum": true})
        );
        assert_eq!(p["looser"], json!({"type": "number", "minimum": 10}));
        assert_eq!(p["lookahead"], json!({"type": "string"}));
        assert_eq!(
            p["port"],
            json!({"x-kubernetes-int-or-string": true, "minimum": 1})
        );
        assert_eq!(
            p["either"]["properties"]["a"],
            json!({"type": "string"}),
            "constraints keep the schema"
        );
        assert!(p["either"].get("x-kubernetes-preserve-unknown-fields").is_none());
        let said: Vec<String> = translated.dropped.iter().map(ToString::to_string).collect();
        assert!(
            said.iter().any(|s| s.contains("spec.lookahead: `pattern")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.contains("spec.either: `oneOf` of constraints")),
            "{said:?}"
        );

        // Each definition referring to the next twice: bounded, not exponential.
        let mut definitions = serde_json::Map::new();
        for i in 0..60 {
            definitions.insert(
                format!("d{i}"),
                json!({"type": "object", "properties": {
                    "l": {"$ref": format!("#/definitions/d{}", i + 1)},
                    "r": {"$ref": format!("#/definitions/d{}", i + 1)}
                }}),
            );
        }
        definitions.insert("d60".to_owned(), json!({"type": "string"}));
        let bomb = json!({"$ref": "#/definitions/d0", "definitions": definitions});
        let translated = from_json_schema(&bomb, "spec");
        assert!(
            translated
                .dropped
                .iter()
                .any(|d| d.what.contains("more than 100000 nodes"))
        );
    }

    #[test]
    fn a_schema_nested_too_deep_ends_in_any_value() {
        let mut schema = json!({"type": "string"});
        for _ in 0..200 {
            schema = json!({"type": "object", "properties": {"a": schema}});
        }
        let translated = from_json_schema(&schema, "spec");
        assert_eq!(translated.dropped.len(), 1);
        assert!(
            translated.dropped[0]
                .what
                .contains("nested deeper than 64 levels")
        );
    }

    #[test]
    fn example_values_become_typed_fields_with_their_defaults() {
        let values = json!({
            "replicaCount": 2,
            "image": {"repository": "nginx", "tag": ""},
            "ratio": 0.5,
            "enabled": true,
            "podAnnotations": {},
            "nodeSelector": null,
            "ports": [{"name": "http", "port": 80}, {"name": "https", "protocol": "TCP"}],
            "hosts": [{"paths": [{"path": "/"}]}, {"paths": [{"path": "/api", "pathType": "Prefix"}]}],
            "args": []
        });
        assert_eq!(
            from_example(&values),
            json!({"type": "object", "properties": {
                "replicaCount": {"type": "integer", "default": 2},
                "image": {"type": "object", "properties": {
                    "repository": {"type": "string", "default": "nginx"},
                    "tag": {"type": "string", "default": ""}
                }},
                "ratio": {"type": "number", "default": 0.5},
                "enabled": {"type": "boolean", "default": true},
                "podAnnotations": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "nodeSelector": {"x-kubernetes-preserve-unknown-fields": true},
                "ports": {"type": "array", "default": [{"name": "http", "port": 80}, {"name": "https", "protocol": "TCP"}],
                    "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "port": {"type": "integer"}, "protocol": {"type": "string"}
                    }}},
                "args": {"type": "array", "default": [], "items": {"x-kubernetes-preserve-unknown-fields": true}},
                "hosts": {"type": "array", "default": [{"paths": [{"path": "/"}]}, {"paths": [{"path": "/api", "pathType": "Prefix"}]}],
                    "items": {"type": "object", "properties": {"paths": {"type": "array", "items": {
                        "type": "object", "properties": {"path": {"type": "string"}, "pathType": {"type": "string"}}}}}}}
            }})
        );
    }
}

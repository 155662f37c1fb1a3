//! Schema fragments for fields the API server must store as they are given.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object of any shape (an embedded CRD, a Pipeline, a dependency manifest).
pub fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// A list of objects of any shape.
pub fn preserve_unknown_object_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true
        }
    })
}

/// A metav1.Duration, stored as a Go duration string.
pub fn go_duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "description": "A Go duration such as 10m or 1h30m"
    })
}

//! Structural-schema defaulting, as the API server applies `default` values
//! from a CRD's OpenAPI schema to objects it stores.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

/// Fills in missing fields that declare a default, recursively.
pub fn apply_defaults(value: &mut Value, schema: &JSONSchemaProps) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = &schema.properties {
                for (key, property) in properties {
                    if !map.contains_key(key)
                        && let Some(default) = &property.default
                    {
                        map.insert(key.clone(), default.0.clone());
                    }
                    if let Some(child) = map.get_mut(key) {
                        apply_defaults(child, property);
                    }
                }
            }
            if let Some(JSONSchemaPropsOrBool::Schema(additional)) = &schema.additional_properties {
                let declared = schema.properties.as_ref();
                for (key, child) in map.iter_mut() {
                    if declared.is_none_or(|d| !d.contains_key(key)) {
                        apply_defaults(child, additional);
                    }
                }
            }
        }
        Value::Array(items) => match &schema.items {
            Some(JSONSchemaPropsOrArray::Schema(item_schema)) => {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
            Some(JSONSchemaPropsOrArray::Schemas(schemas)) => {
                for (item, item_schema) in items.iter_mut().zip(schemas) {
                    apply_defaults(item, item_schema);
                }
            }
            None => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(value: Value) -> JSONSchemaProps {
        serde_json::from_value(value).expect("schema")
    }

    #[test]
    fn fills_nested_defaults_and_keeps_given_values() {
        let schema = schema(json!({
            "type": "object",
            "properties": {
                "size": {"type": "string", "default": "small"},
                "given": {"type": "string", "default": "unused"},
                "nested": {"type": "object", "default": {}, "properties": {
                    "replicas": {"type": "integer", "default": 3}
                }},
                "list": {"type": "array", "items": {"type": "object", "properties": {
                    "port": {"type": "integer", "default": 80}
                }}}
            }
        }));
        let mut value = json!({"given": "mine", "list": [{}, {"port": 8080}]});
        apply_defaults(&mut value, &schema);
        assert_eq!(
            value,
            json!({
                "size": "small",
                "given": "mine",
                "nested": {"replicas": 3},
                "list": [{"port": 80}, {"port": 8080}]
            })
        );
    }
}

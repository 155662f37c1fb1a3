//! The `kratix.io/hash` label: md5 of an object's spec, encoded as Go's
//! `encoding/json` encodes unstructured content, so that a cluster moved from the
//! reference implementation does not see every object as changed.

use serde_json::Value;
use std::fmt::Write as _;

use crate::api::naming::md5_hex;

/// Hex md5 of the Go-style JSON encoding of `object.spec` (`null` when absent).
pub fn spec_hash(object: &Value) -> String {
    let spec = object.get("spec").unwrap_or(&Value::Null);
    md5_hex(go_json(spec).as_bytes())
}

/// The hash of a resource workflow: md5 of `"<promise hash>-<request hash>"`.
pub fn resource_hash(promise: &Value, request: &Value) -> String {
    md5_hex(format!("{}-{}", spec_hash(promise), spec_hash(request)).as_bytes())
}

/// Encodes `value` as Go's `json.Marshal` encodes a `map[string]interface{}`:
/// keys sorted, HTML-sensitive characters escaped, floats in Go's shortest form.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, &map[key]);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&go_float(f));
    }
}

/// Go formats a float64 with the shortest representation, in plain notation for
/// magnitudes in [1e-6, 1e21) and in exponent notation (`1e+21`, `1e-7`) otherwise.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        format!("{f}")
    } else {
        let formatted = format!("{f:e}");
        match formatted.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => formatted,
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_html_escaped() {
        let value = json!({"b": "<a&b>", "a": [1, 2.5, true, null]});
        assert_eq!(
            go_json(&value),
            r#"{"a":[1,2.5,true,null],"b":"\u003ca\u0026b\u003e"}"#
        );
    }

    #[test]
    fn floats_follow_go_formatting() {
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-7), "1.5e-7");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(-2.25), "-2.25");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(go_json(&json!("a\nb\u{1}")), r#""a\nb\u0001""#);
    }

    #[test]
    fn spec_hash_is_md5_of_the_encoded_spec() {
        // `printf '{"size":"small"}' | md5sum`
        let object = json!({"apiVersion": "x/v1", "spec": {"size": "small"}});
        assert_eq!(spec_hash(&object), "c2ef384011e18a3545c23409e3e9bed8");
    }
}

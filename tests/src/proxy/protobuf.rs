//! Just enough of Kubernetes' protobuf encoding to read the access reviews
//! kubectl sends that way (`kubectl auth can-i`): the `k8s\0` envelope and the
//! review's spec, turned into the JSON the rest of the proxy reads.

use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

enum Field<'a> {
    Varint,
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], position: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*position)?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in order.
fn fields(data: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut position = 0;
    while position < data.len() {
        let key = varint(data, &mut position)?;
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => {
                varint(data, &mut position)?;
                Field::Varint
            }
            2 => {
                let length = usize::try_from(varint(data, &mut position)?).ok()?;
                let bytes = data.get(position..position.checked_add(length)?)?;
                position += length;
                Field::Bytes(bytes)
            }
            1 => {
                position += 8;
                continue;
            }
            5 => {
                position += 4;
                continue;
            }
            _ => return None,
        };
        out.push((number, field));
    }
    Some(out)
}

fn strings(message: &[u8], names: &[(u64, &str)]) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for (number, field) in fields(message)? {
        if let (Some((_, name)), Field::Bytes(bytes)) = (names.iter().find(|(n, _)| *n == number), field) {
            map.insert(
                (*name).to_owned(),
                Value::String(String::from_utf8_lossy(bytes).into_owned()),
            );
        }
    }
    Some(map)
}

const RESOURCE_ATTRIBUTES: [(u64, &str); 7] = [
    (1, "namespace"),
    (2, "verb"),
    (3, "group"),
    (4, "version"),
    (5, "resource"),
    (6, "subresource"),
    (7, "name"),
];
const NON_RESOURCE_ATTRIBUTES: [(u64, &str); 2] = [(1, "path"), (2, "verb")];

fn spec(message: &[u8]) -> Option<Value> {
    let mut spec = Map::new();
    let mut groups = Vec::new();
    for (number, field) in fields(message)? {
        let Field::Bytes(bytes) = field else { continue };
        match number {
            1 => {
                spec.insert(
                    "resourceAttributes".to_owned(),
                    Value::Object(strings(bytes, &RESOURCE_ATTRIBUTES)?),
                );
            }
            2 => {
                spec.insert(
                    "nonResourceAttributes".to_owned(),
                    Value::Object(strings(bytes, &NON_RESOURCE_ATTRIBUTES)?),
                );
            }
            3 => {
                spec.insert(
                    "user".to_owned(),
                    Value::String(String::from_utf8_lossy(bytes).into_owned()),
                );
            }
            4 => groups.push(Value::String(String::from_utf8_lossy(bytes).into_owned())),
            _ => {}
        }
    }
    if !groups.is_empty() {
        spec.insert("groups".to_owned(), Value::Array(groups));
    }
    Some(Value::Object(spec))
}

/// Decodes a protobuf-encoded (Self)SubjectAccessReview into its JSON form.
pub fn access_review(body: &[u8]) -> Option<Value> {
    let envelope = fields(body.strip_prefix(MAGIC)?)?;
    let mut kind = String::new();
    let mut api_version = String::new();
    let mut raw: &[u8] = &[];
    for (number, field) in envelope {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                let meta = strings(type_meta, &[(1, "apiVersion"), (2, "kind")])?;
                api_version = meta
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                kind = meta
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
            }
            (2, Field::Bytes(bytes)) => raw = bytes,
            _ => {}
        }
    }
    let mut review_spec = Value::Null;
    for (number, field) in fields(raw)? {
        if let (2, Field::Bytes(bytes)) = (number, field) {
            review_spec = spec(bytes)?;
        }
    }
    Some(json!({"apiVersion": api_version, "kind": kind, "metadata": {}, "spec": review_spec}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length_delimited(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(bytes.len()).expect("short")];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_self_subject_access_review() {
        let attributes = [
            length_delimited(1, b"default"),
            length_delimited(2, b"list"),
            length_delimited(5, b"configmaps"),
        ]
        .concat();
        let spec = length_delimited(1, &attributes);
        let review = [length_delimited(1, b""), length_delimited(2, &spec)].concat();
        let type_meta = [
            length_delimited(1, b"authorization.k8s.io/v1"),
            length_delimited(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let envelope = [length_delimited(1, &type_meta), length_delimited(2, &review)].concat();
        let body = [MAGIC, &envelope].concat();
        let decoded = access_review(&body).expect("decodes");
        assert_eq!(decoded["kind"], "SelfSubjectAccessReview");
        assert_eq!(
            decoded["spec"],
            json!({"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "configmaps"}})
        );
    }

    #[test]
    fn refuses_what_is_not_the_envelope() {
        assert!(access_review(b"{}").is_none());
        assert!(access_review(b"k8s\0\xff").is_none());
    }
}

//! Presenting the private group as the legacy core group: paths and bodies are
//! rewritten both ways, including each event of a watch stream.

use serde_json::Value;

use crate::platform::builtin_kinds::{CORE_GROUP, NAMESPACE_PLURAL};

/// Kinds (and their lists) served from the private group.
const CORE_KINDS: [&str; 6] = [
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Pod",
    "Event",
];

fn private_api_version() -> String {
    format!("{CORE_GROUP}/v1")
}

fn is_core_kind(kind: &str) -> bool {
    let base = kind.strip_suffix("List").unwrap_or(kind);
    CORE_KINDS.contains(&base)
}

/// `/api/v1/...` → `/apis/<private group>/v1/...`; `None` for other paths.
/// Paths addressing Namespace objects use the private plural.
pub fn private_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let (watch, tail) = match rest.strip_prefix("/watch") {
        Some(tail) if tail.is_empty() || tail.starts_with('/') => ("/watch", tail),
        _ => ("", rest),
    };
    let segments: Vec<&str> = tail.trim_start_matches('/').split('/').collect();
    let namespace_object = segments.first() == Some(&"namespaces")
        && (segments.len() <= 2 || (segments.len() == 3 && matches!(segments[2], "status" | "finalize")));
    let tail = if namespace_object {
        format!("/{NAMESPACE_PLURAL}{}", &tail["/namespaces".len()..])
    } else {
        tail.to_owned()
    };
    Some(format!("/apis/{CORE_GROUP}/v1{watch}{tail}"))
}

/// A request body on its way in: `apiVersion: v1` of a core kind becomes the
/// private group, and a Secret's `stringData` is folded into `data` as the API
/// server's Secret strategy does.
pub fn request_to_private(value: &mut Value) {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if value.get("apiVersion").and_then(Value::as_str) == Some("v1") && is_core_kind(&kind) {
        value["apiVersion"] = Value::String(private_api_version());
    }
    if kind == "Secret"
        && let Some(Value::Object(string_data)) = value.as_object_mut().and_then(|o| o.remove("stringData"))
    {
        use base64::Engine as _;
        if !value.get("data").is_some_and(Value::is_object) {
            value["data"] = Value::Object(serde_json::Map::new());
        }
        for (key, text) in string_data {
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_str().unwrap_or_default());
            value["data"][key] = Value::String(encoded);
        }
    }
}

/// A response body on its way out: objects, lists, watch events and error
/// messages speak of the core group again.
pub fn response_to_public(value: &mut Value) {
    let private = private_api_version();
    if value.get("apiVersion").and_then(Value::as_str) == Some(private.as_str()) {
        value["apiVersion"] = Value::String("v1".to_owned());
    }
    if let Some(Value::Array(items)) = value.get_mut("items") {
        for item in items {
            response_to_public(item);
        }
    }
    if value.get("type").is_some()
        && let Some(object) = value.get_mut("object")
    {
        response_to_public(object);
    }
    if value.get("kind").and_then(Value::as_str) == Some("Status") {
        let suffix = format!(".{CORE_GROUP}");
        if let Some(Value::String(message)) = value.get_mut("message") {
            *message = message
                .replace(&suffix, "")
                .replace(NAMESPACE_PLURAL, "namespaces");
        }
        if let Some(details) = value.get_mut("details")
            && details.get("group").and_then(Value::as_str) == Some(CORE_GROUP)
        {
            details["group"] = Value::String(String::new());
        }
    }
}

/// Rewrites one JSON document (or returns it unchanged when it is not JSON).
pub fn rewrite_bytes(bytes: &[u8], rewrite: fn(&mut Value)) -> Vec<u8> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            rewrite(&mut value);
            serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    }
}

/// Splits a watch stream into lines and rewrites each complete one.
#[derive(Default)]
pub struct LineRewriter {
    pending: Vec<u8>,
}

impl LineRewriter {
    /// Feeds a chunk; returns the rewritten complete lines.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let content = &line[..line.len() - 1];
            if content.iter().all(u8::is_ascii_whitespace) {
                out.extend_from_slice(&line);
            } else {
                out.extend(rewrite_bytes(content, response_to_public));
                out.push(b'\n');
            }
        }
        out
    }

    /// Whatever is left when the stream ends.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        if rest.is_empty() {
            rest
        } else {
            rewrite_bytes(&rest, response_to_public)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_core_paths_only() {
        assert_eq!(
            private_path("/api/v1/namespaces/a/pods").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1/namespaces/a/pods")
        );
        assert_eq!(
            private_path("/api/v1").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1")
        );
        assert_eq!(private_path("/api/v10"), None);
        assert_eq!(
            private_path("/api/v1/namespaces").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1/corenamespaces")
        );
        assert_eq!(
            private_path("/api/v1/namespaces/a").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1/corenamespaces/a")
        );
        assert_eq!(
            private_path("/api/v1/namespaces/a/status").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1/corenamespaces/a/status")
        );
        assert_eq!(
            private_path("/api/v1/watch/namespaces").as_deref(),
            Some("/apis/core.testenv.kratix.io/v1/watch/corenamespaces")
        );
        assert_eq!(private_path("/apis/batch/v1/jobs"), None);
    }

    #[test]
    fn request_bodies_move_to_the_private_group_but_not_options() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod"});
        request_to_private(&mut pod);
        assert_eq!(pod["apiVersion"], "core.testenv.kratix.io/v1");
        let mut options = json!({"apiVersion": "v1", "kind": "DeleteOptions"});
        request_to_private(&mut options);
        assert_eq!(options["apiVersion"], "v1");
    }

    #[test]
    fn secret_string_data_becomes_data() {
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "eA=="}, "stringData": {"b": "hunter2"}});
        request_to_private(&mut secret);
        assert_eq!(secret["data"], json!({"a": "eA==", "b": "aHVudGVyMg=="}));
        assert!(secret.get("stringData").is_none());
    }

    #[test]
    fn responses_lists_events_and_errors_speak_of_the_core_group() {
        let mut list = json!({"apiVersion": "core.testenv.kratix.io/v1", "kind": "PodList",
            "items": [{"apiVersion": "core.testenv.kratix.io/v1", "kind": "Pod"}]});
        response_to_public(&mut list);
        assert_eq!(
            list,
            json!({"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1", "kind": "Pod"}]})
        );
        let mut status = json!({"apiVersion": "v1", "kind": "Status",
            "message": "pods.core.testenv.kratix.io \"x\" not found", "details": {"group": "core.testenv.kratix.io"}});
        response_to_public(&mut status);
        assert_eq!(status["message"], "pods \"x\" not found");
        assert_eq!(status["details"]["group"], "");
    }

    #[test]
    fn watch_lines_are_rewritten_across_chunk_boundaries() {
        let mut rewriter = LineRewriter::default();
        let first = rewriter.feed(br#"{"type":"ADDED","object":{"apiVersion":"core.testenv.kratix.io/v1","#);
        assert!(first.is_empty());
        let second = rewriter.feed(b"\"kind\":\"Pod\"}}\n");
        let line: Value = serde_json::from_slice(&second).expect("one JSON line");
        assert_eq!(line["object"]["apiVersion"], "v1");
        assert!(rewriter.finish().is_empty());
    }
}

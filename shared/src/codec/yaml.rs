//! Reading YAML streams into JSON values, with errors that name the line and column.

use serde_json::Value;

use crate::{Error, Result};

/// One non-empty document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based position among the stream's non-empty documents.
    pub index: usize,
    pub value: Value,
}

impl Document {
    /// `kind` and `metadata.name`, when the document has them.
    pub fn kind_and_name(&self) -> (Option<&str>, Option<&str>) {
        (
            self.value.get("kind").and_then(Value::as_str),
            self.value.pointer("/metadata/name").and_then(Value::as_str),
        )
    }
}

/// Parses every document of `text`; empty documents are skipped, as kubectl does.
pub fn parse_documents(source_name: &str, text: &str) -> Result<Vec<Document>> {
    let values: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Yaml {
        source_name: source_name.to_owned(),
        message: describe_yaml_error(&e),
    })?;
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document { index: i + 1, value })
        .collect())
}

/// `line L, column C: message` without the source snippet (callers print one
/// line per problem).
pub fn describe_yaml_error(error: &serde_saphyr::Error) -> String {
    let message = error.without_snippet().to_string();
    let message = message.lines().next().unwrap_or_default().to_owned();
    match error.location() {
        Some(location) if !message.contains("line ") => {
            format!(
                "line {}, column {}: {message}",
                location.line(),
                location.column()
            )
        }
        _ => message,
    }
}

/// Serialises values as a YAML stream (`---` between documents).
pub fn to_yaml_stream<T: serde::Serialize>(values: &[T]) -> Result<String> {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = serde_saphyr::to_string(value).map_err(|e| Error::Encode {
            what: "YAML".to_owned(),
            message: e.to_string(),
        })?;
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let docs =
            parse_documents("f", "a: 1\n---\n---\nkind: Promise\nmetadata: {name: p}\n").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].index, 2);
        assert_eq!(docs[1].kind_and_name(), (Some("Promise"), Some("p")));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse_documents("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("bad.yaml: ") && text.contains("line 3"),
            "{text}"
        );
        assert!(text.contains("column"), "{text}");
    }
}

//! Printing objects: YAML streams and `v1` Lists.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::cli::OutputFormat;

/// Objects as a YAML stream or a JSON `v1` List.
pub fn format_objects(objects: &[Value], format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Yaml => kratix_shared::codec::yaml::to_yaml_stream(objects).context("encoding YAML"),
        OutputFormat::Json => {
            let list = json!({
                "apiVersion": "v1",
                "kind": "List",
                "metadata": {"resourceVersion": ""},
                "items": objects,
            });
            let mut text = serde_json::to_string_pretty(&list).context("encoding JSON")?;
            text.push('\n');
            Ok(text)
        }
    }
}

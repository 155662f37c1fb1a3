//! `promise init --helm-chart`: a Promise whose requests are a chart's values.
//! The API is the chart's `values.schema.json`, translated, or without one a
//! schema inferred from `values.yaml`, each top-level value a field directly
//! under the request's `spec`; one resource configure pipeline renders the
//! chart with the request's `spec` as its values, with the stage image
//! kratix-cli's generator uses (so a generated Promise behaves as theirs on a
//! cluster). A chart on disk is baked into an image of the user's built from
//! that stage image; a chart in a repository is fetched by the stage itself.

use serde_json::{Value, json};

use super::scaffold::{PromiseContent, ScaffoldFile, stage_pipeline};
use super::schema_translation::{self, Dropped};
use crate::api::Workflow;
use crate::codec::yaml::parse_documents;
use crate::error::{Error, Result};

/// The image kratix-cli's helm generator runs: `helm template` of `CHART_URL`
/// (with `CHART_NAME` from that repository, at `CHART_VERSION`) with the
/// request's `spec` as values.
pub const HELM_STAGE_IMAGE: &str = "ghcr.io/syntasso/kratix-cli/helm-resource-configure:v0.2.0";

/// The pipeline and container name kratix-cli gives the stage.
pub const PIPELINE_NAME: &str = "instance-configure";

/// Where a chart on disk is put in the image built for it.
pub const CHART_IN_IMAGE: &str = "/helm-chart";

/// The three files of a chart the API is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartFiles {
    /// Where they were read from, for messages (`./redis`, `redis-1.0.0.tgz`).
    pub source: String,
    pub chart_yaml: Option<String>,
    pub values_yaml: Option<String>,
    pub values_schema_json: Option<String>,
}

/// Where the pipeline finds the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartLocation {
    /// A repository (`--chart-name` in it) or OCI reference, fetched by the stage.
    Remote {
        url: String,
        name: Option<String>,
        version: Option<String>,
    },
    /// On disk, baked into `image` at [`CHART_IN_IMAGE`]; `file` is the
    /// archive's name there when it is one (`redis-1.0.0.tgz`).
    Local { image: String, file: Option<String> },
}

/// What the chart gives the Promise, and what its schema could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmPromise {
    pub content: PromiseContent,
    pub dropped: Vec<Dropped>,
}

/// The chart's `name` and `version` from `Chart.yaml`, for the README.
fn chart_identity(files: &ChartFiles) -> Result<(String, String)> {
    let source = format!("{}/Chart.yaml", files.source);
    let text = files.chart_yaml.as_deref().ok_or_else(|| Error::Invalid {
        source_name: files.source.clone(),
        path: String::new(),
        message: "is not a Helm chart: it has no Chart.yaml".to_owned(),
    })?;
    let chart = parse_documents(&source, text)?
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let field = |name: &str| chart.get(name).and_then(Value::as_str).map(str::to_owned);
    let name = field("name").ok_or_else(|| Error::Invalid {
        source_name: source.clone(),
        path: "name".to_owned(),
        message: "is missing: a chart has a name".to_owned(),
    })?;
    Ok((name, field("version").unwrap_or_default()))
}

/// The request's `spec` schema from the chart, and what was dropped.
pub fn spec_schema(files: &ChartFiles) -> Result<(Value, Vec<Dropped>, &'static str)> {
    if let Some(text) = &files.values_schema_json {
        let source = format!("{}/values.schema.json", files.source);
        let schema: Value = serde_json::from_str(text).map_err(|e| Error::Invalid {
            source_name: source.clone(),
            path: String::new(),
            message: format!("is not JSON: {e}"),
        })?;
        let translated = schema_translation::from_json_schema(&schema, "spec");
        if translated.schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Error::Invalid {
                source_name: source,
                path: "type".to_owned(),
                message: "the chart's values must be an object (type: object) to be a request's spec"
                    .to_owned(),
            });
        }
        return Ok((translated.schema, translated.dropped, "values.schema.json"));
    }
    let source = format!("{}/values.yaml", files.source);
    let Some(text) = &files.values_yaml else {
        return Err(Error::Invalid {
            source_name: files.source.clone(),
            path: String::new(),
            message: "has neither values.schema.json nor values.yaml: there is nothing to make the Promise's API from; add a values.yaml with the chart's defaults".to_owned(),
        });
    };
    let values = parse_documents(&source, text)?
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let schema = match &values {
        Value::Object(_) => schema_translation::from_example(&values),
        Value::Null => json!({"type": "object", "properties": {}}),
        _ => {
            return Err(Error::Invalid {
                source_name: source,
                path: String::new(),
                message: "is not a mapping of values: a chart's values are keys with values".to_owned(),
            });
        }
    };
    Ok((schema, Vec::new(), "values.yaml"))
}

/// The Promise for the chart `files`, found by the pipeline at `location`.
pub fn helm_promise(files: &ChartFiles, location: &ChartLocation) -> Result<HelmPromise> {
    let (chart, version) = chart_identity(files)?;
    let (mut spec, dropped, schema_source) = spec_schema(files)?;
    if let Value::Object(spec) = &mut spec
        && !spec.contains_key("required")
    {
        spec.insert("default".to_owned(), json!({}));
    }
    let (image, mut env) = match location {
        ChartLocation::Remote { url, .. } => (HELM_STAGE_IMAGE.to_owned(), vec![env_var("CHART_URL", url)]),
        ChartLocation::Local { image, file } => {
            let url = match file {
                Some(file) => format!("{CHART_IN_IMAGE}/{file}"),
                None => CHART_IN_IMAGE.to_owned(),
            };
            (image.clone(), vec![env_var("CHART_URL", &url)])
        }
    };
    if let ChartLocation::Remote { name, version, .. } = location {
        env.extend(name.iter().map(|n| env_var("CHART_NAME", n)));
        env.extend(version.iter().map(|v| env_var("CHART_VERSION", v)));
    }
    let pipeline = stage_pipeline(PIPELINE_NAME, &image, Value::Array(env));
    let mut content = PromiseContent {
        example_spec: Some(schema_translation::example_of_required(&spec)),
        spec_schema: Some(spec),
        pipelines: vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline])],
        readme: readme(&chart, &version, schema_source, location, &dropped),
        ..PromiseContent::default()
    };
    if let ChartLocation::Local { .. } = location {
        content.files.push(ScaffoldFile {
            path: format!("{}/Dockerfile", local_image_dir()),
            content: format!(
                "# The chart is baked into the image: the stage renders it from {CHART_IN_IMAGE}.\n\
                 FROM {HELM_STAGE_IMAGE}\n\
                 COPY chart {CHART_IN_IMAGE}\n"
            ),
            executable: false,
        });
    }
    Ok(HelmPromise { content, dropped })
}

/// The scaffold that builds a chart on disk into the pipeline's image; the
/// chart itself goes in its `chart/` folder.
pub fn local_image_dir() -> String {
    format!("workflows/resource/configure/{PIPELINE_NAME}/{PIPELINE_NAME}")
}

fn env_var(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn readme(
    chart: &str,
    version: &str,
    schema_source: &str,
    location: &ChartLocation,
    dropped: &[Dropped],
) -> String {
    let at = if version.is_empty() {
        String::new()
    } else {
        format!(" {version}")
    };
    let mut text = format!(
        "\n## From the Helm chart `{chart}`{at}\n\n\
         Each request's `spec` is the chart's values (its API comes from the chart's\n\
         `{schema_source}`). The `{PIPELINE_NAME}` pipeline renders the chart with them\n\
         (`helm template`) and the Destinations get what it renders.\n"
    );
    if let ChartLocation::Local { image, .. } = location {
        text.push_str(&format!(
            "\nThe chart is baked into the pipeline's image `{image}`, built from\n\
             `{dir}/` (the chart is in its `chart/` folder). Build and push it:\n\n\
             ```\nkubectl kratix promise build-images --push\n```\n",
            dir = local_image_dir()
        ));
    }
    if !dropped.is_empty() {
        text.push_str("\nWhat the chart's schema says that the API cannot check:\n\n");
        for item in dropped {
            text.push_str(&format!("- `{}`: {}\n", item.path, item.what));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Option<&str>, schema: Option<&str>) -> ChartFiles {
        ChartFiles {
            source: "charts/web".to_owned(),
            chart_yaml: Some("apiVersion: v2\nname: web\nversion: 1.2.3\n".to_owned()),
            values_yaml: values.map(str::to_owned),
            values_schema_json: schema.map(str::to_owned),
        }
    }

    #[test]
    fn a_chart_in_a_repository_is_fetched_by_the_stage() {
        let files = chart(Some("replicaCount: 1\nimage:\n  tag: stable\n"), None);
        let location = ChartLocation::Remote {
            url: "https://charts.example.org".to_owned(),
            name: Some("web".to_owned()),
            version: Some("1.2.3".to_owned()),
        };
        let promise = helm_promise(&files, &location).expect("generated");
        let spec = promise.content.spec_schema.as_ref().expect("spec");
        assert_eq!(
            spec["properties"]["replicaCount"],
            json!({"type": "integer", "default": 1})
        );
        assert_eq!(spec["default"], json!({}));
        let (workflow, pipelines) = &promise.content.pipelines[0];
        assert_eq!(*workflow, Workflow::RESOURCE_CONFIGURE);
        let container = &pipelines[0]["spec"]["containers"][0];
        assert_eq!(container["image"], HELM_STAGE_IMAGE);
        assert_eq!(
            container["env"],
            json!([
                {"name": "CHART_URL", "value": "https://charts.example.org"},
                {"name": "CHART_NAME", "value": "web"},
                {"name": "CHART_VERSION", "value": "1.2.3"}
            ])
        );
        assert!(promise.content.files.is_empty(), "no image to build");
    }

    #[test]
    fn a_chart_on_disk_is_baked_into_the_users_image_and_its_schema_wins() {
        let files = chart(
            Some("ignored: true\n"),
            Some(
                r#"{"type": "object", "required": ["host"], "properties": {"host": {"type": "string"}, "x": {"not": {}}}}"#,
            ),
        );
        let location = ChartLocation::Local {
            image: "example.org/web-chart:v1".to_owned(),
            file: Some("web-1.2.3.tgz".to_owned()),
        };
        let promise = helm_promise(&files, &location).expect("generated");
        let spec = promise.content.spec_schema.as_ref().expect("spec");
        assert!(
            spec["properties"].get("ignored").is_none(),
            "values.schema.json is the API"
        );
        assert!(
            spec.get("default").is_none(),
            "a spec with required fields has no default"
        );
        assert_eq!(promise.dropped.len(), 1);
        assert!(
            promise.content.readme.contains("`spec.x`: `not`"),
            "{}",
            promise.content.readme
        );
        let container = &promise.content.pipelines[0].1[0]["spec"]["containers"][0];
        assert_eq!(container["image"], "example.org/web-chart:v1");
        assert_eq!(
            container["env"],
            json!([{"name": "CHART_URL", "value": "/helm-chart/web-1.2.3.tgz"}])
        );
        assert!(
            promise.content.files[0]
                .content
                .contains(&format!("FROM {HELM_STAGE_IMAGE}"))
        );
    }

    #[test]
    fn a_chart_with_nothing_to_make_an_api_from_is_named() {
        let error = helm_promise(
            &chart(None, None),
            &ChartLocation::Local {
                image: "i".into(),
                file: None,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("charts/web") && error.contains("neither values.schema.json nor values.yaml"),
            "{error}"
        );
        let error = spec_schema(&chart(Some("- a\n- b\n"), None))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("charts/web/values.yaml") && error.contains("not a mapping"),
            "{error}"
        );
        let error = spec_schema(&chart(None, Some("{"))).unwrap_err().to_string();
        assert!(
            error.contains("values.schema.json") && error.contains("not JSON"),
            "{error}"
        );
        let mut nameless = chart(Some("a: 1\n"), None);
        nameless.chart_yaml = Some("apiVersion: v2\n".to_owned());
        let error = helm_promise(
            &nameless,
            &ChartLocation::Local {
                image: "i".into(),
                file: None,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("Chart.yaml") && error.contains("name"), "{error}");
    }
}

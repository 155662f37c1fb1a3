//! What `promise init` and `promise add-container` write: a Promise in the single
//! file or the split layout, an example request, a README, and a container
//! scaffold (Dockerfile and a script that reads `/kratix/input/object.yaml` and
//! writes to `/kratix/output`). Pure: the plugin asks for the inputs and writes
//! the files.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub use super::container_scaffold::{Language, container_dir, container_files};
use crate::api::Workflow;
use crate::error::{Error, Result};
use crate::validate::names;

/// The Promise's API, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInput {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub version: String,
    pub plural: String,
}

/// A pipeline with one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineInput {
    pub workflow: Workflow,
    pub pipeline: String,
    pub container: String,
    pub image: String,
    /// What the container's script is written in.
    pub language: Language,
}

/// One file to write, relative to the Promise's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    pub path: String,
    pub content: String,
    pub executable: bool,
}

/// `kind` in lower case with an `s`, as kubectl's default plural.
pub fn default_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") || lower.ends_with("sh") {
        format!("{lower}es")
    } else if let Some(stem) = lower
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// A container name from an image: its last path segment without the tag,
/// anything but letters, digits and `-` made `-`, at most 63 characters.
pub fn default_container_name(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let without_tag = last.split(':').next().unwrap_or(last);
    let mut name: String = without_tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(63);
    let trimmed = name.trim_matches('-').to_owned();
    if trimmed.is_empty() {
        "main".to_owned()
    } else {
        trimmed
    }
}

/// Every problem with the inputs, each naming its flag.
pub fn check_api(input: &ApiInput) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Some(problem) = names::dns_label_problem(&input.name) {
        problems.push(("NAME", format!("{:?} {problem}", input.name)));
    }
    if !input.group.contains('.') {
        problems.push((
            "--group",
            format!("{:?} needs at least one dot, as in example.org", input.group),
        ));
    } else if let Some(problem) = names::dns_subdomain_problem(&input.group) {
        problems.push(("--group", format!("{:?} {problem}", input.group)));
    }
    let kind_ok = input.kind.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && input.kind.chars().all(|c| c.is_ascii_alphanumeric());
    if !kind_ok {
        problems.push((
            "--kind",
            format!(
                "{:?} must start with a capital letter and hold only letters and digits, as in Redis",
                input.kind
            ),
        ));
    }
    let version_ok = input.version.starts_with('v')
        && input.version[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
        && names::dns_1035_label_problem(&input.version).is_none();
    if !version_ok {
        problems.push((
            "--version",
            format!("{:?} must look like v1, v1alpha1 or v2beta3", input.version),
        ));
    }
    if let Some(problem) = names::dns_label_problem(&input.plural) {
        problems.push(("--plural", format!("{:?} {problem}", input.plural)));
    } else if input.plural != input.plural.to_ascii_lowercase() {
        problems.push(("--plural", format!("{:?} must be lower case", input.plural)));
    }
    problems
}

/// Every problem with a pipeline's names, each naming its flag.
pub fn check_pipeline(input: &PipelineInput) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Some(problem) = names::dns_label_problem(&input.pipeline) {
        problems.push((
            "--pipeline",
            format!("pipeline name {:?} {problem}", input.pipeline),
        ));
    }
    if let Some(problem) = names::dns_label_problem(&input.container) {
        problems.push((
            "--name",
            format!("container name {:?} {problem}", input.container),
        ));
    } else if ["reader", "work-writer", "status-writer"].contains(&input.container.as_str()) {
        problems.push((
            "--name",
            format!(
                "{:?} is the name of a Kratix container; choose another",
                input.container
            ),
        ));
    }
    if input.image.trim().is_empty() || input.image.contains(char::is_whitespace) {
        problems.push(("--image", format!("{:?} is not an image reference", input.image)));
    }
    problems
}

/// The Promise's CRD, its requests' `spec` empty.
pub fn crd(input: &ApiInput) -> Value {
    crd_with_spec(input, &empty_spec())
}

fn empty_spec() -> Value {
    json!({"type": "object", "default": {}, "properties": {}})
}

/// The Promise's CRD with `spec` as its requests' `spec` schema.
pub fn crd_with_spec(input: &ApiInput, spec: &Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", input.plural, input.group)},
        "spec": {
            "group": input.group,
            "names": {
                "kind": input.kind,
                "plural": input.plural,
                "singular": input.kind.to_ascii_lowercase(),
            },
            "scope": "Namespaced",
            "versions": [{
                "name": input.version,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": spec},
                }},
            }],
        },
    })
}

/// A Pipeline object with one container.
pub fn pipeline_object(input: &PipelineInput) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": input.pipeline},
        "spec": {"containers": [{"name": input.container, "image": input.image}]},
    })
}

fn yaml(value: &Value, what: &str) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Encode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// The pipeline every generator writes, as kratix-cli's do: `instance-configure`
/// with one stage container, told what to do by `env` (a list of `EnvVar`s).
pub fn stage_pipeline(container: &str, image: &str, env: Value) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "instance-configure"},
        "spec": {"containers": [{"name": container, "image": image, "env": env}]},
    })
}

/// What a generator puts in a new Promise besides its name and API names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromiseContent {
    /// The requests' `spec` schema (default: an empty object).
    pub spec_schema: Option<Value>,
    /// Pipeline objects per workflow.
    pub pipelines: Vec<(Workflow, Vec<Value>)>,
    /// Objects every Destination gets.
    pub dependencies: Vec<Value>,
    /// The Promise's `destinationSelectors`.
    pub destination_selectors: Option<Value>,
    /// The example request's `spec` (default: empty).
    pub example_spec: Option<Value>,
    /// More files: container scaffolds.
    pub files: Vec<ScaffoldFile>,
    /// README sections about what was generated, in Markdown.
    pub readme: String,
}

/// The files of a new Promise; `command` is the command line that made them
/// (quoted in the README).
pub fn promise_files(
    api: &ApiInput,
    split: bool,
    pipeline: Option<&PipelineInput>,
    command: &str,
) -> Result<Vec<ScaffoldFile>> {
    let content = match pipeline {
        None => PromiseContent::default(),
        Some(pipeline) => PromiseContent {
            pipelines: vec![(pipeline.workflow, vec![pipeline_object(pipeline)])],
            files: container_files(pipeline),
            readme: container_readme(pipeline),
            ..PromiseContent::default()
        },
    };
    generated_files(api, split, &content, command)
}

/// The files of a new Promise with `content`, in the single-file or the split layout.
pub fn generated_files(
    api: &ApiInput,
    split: bool,
    content: &PromiseContent,
    command: &str,
) -> Result<Vec<ScaffoldFile>> {
    let mut files = Vec::new();
    let mut workflows: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    for (kind, action) in [("promise", "configure"), ("resource", "configure")] {
        workflows
            .entry(kind.to_owned())
            .or_default()
            .insert(action.to_owned(), Vec::new());
    }
    for (workflow, pipelines) in &content.pipelines {
        workflows
            .entry(workflow.workflow_type.as_str().to_owned())
            .or_default()
            .insert(workflow.action.as_str().to_owned(), pipelines.clone());
    }
    let crd = crd_with_spec(api, content.spec_schema.as_ref().unwrap_or(&empty_spec()));
    if split {
        files.push(file("api.yaml", yaml(&crd, "api.yaml")?));
        files.push(file(
            "dependencies.yaml",
            yaml(&Value::Array(content.dependencies.clone()), "dependencies.yaml")?,
        ));
        if let Some(selectors) = &content.destination_selectors {
            files.push(file(
                super::source::DESTINATION_SELECTORS_FILE,
                yaml(selectors, super::source::DESTINATION_SELECTORS_FILE)?,
            ));
        }
        for (workflow, pipelines) in &content.pipelines {
            let path = format!(
                "workflows/{}/{}/workflow.yaml",
                workflow.workflow_type.as_str(),
                workflow.action.as_str()
            );
            files.push(file(&path, yaml(&Value::Array(pipelines.clone()), &path)?));
        }
    } else {
        let mut spec = json!({"api": crd});
        if !content.dependencies.is_empty() {
            spec["dependencies"] = Value::Array(content.dependencies.clone());
        }
        if let Some(selectors) = &content.destination_selectors {
            spec["destinationSelectors"] = selectors.clone();
        }
        spec["workflows"] = json!(workflows);
        let promise = json!({
            "apiVersion": "platform.kratix.io/v1alpha1",
            "kind": "Promise",
            "metadata": {
                "name": api.name,
                "labels": {"kratix.io/promise-version": "v0.0.1"},
            },
            "spec": spec,
        });
        files.push(file("promise.yaml", yaml(&promise, "promise.yaml")?));
    }
    let example = json!({
        "apiVersion": format!("{}/{}", api.group, api.version),
        "kind": api.kind,
        "metadata": {"name": format!("example-{}", api.name), "namespace": "default"},
        "spec": content.example_spec.clone().unwrap_or_else(|| json!({})),
    });
    files.push(file(
        "example-resource.yaml",
        yaml(&example, "example-resource.yaml")?,
    ));
    files.push(file("README.md", readme(api, split, &content.readme, command)));
    files.extend(content.files.iter().cloned());
    Ok(files)
}

fn file(path: &str, content: String) -> ScaffoldFile {
    ScaffoldFile {
        path: path.to_owned(),
        content,
        executable: false,
    }
}

/// The README section about a pipeline's container scaffold.
fn container_readme(p: &PipelineInput) -> String {
    format!(
        "\n## The `{}` pipeline\n\n`{}/` holds its container `{}`: a `Dockerfile` and\n\
         `{}`, which reads the request from `/kratix/input/object.yaml`,\n\
         writes what Destinations should get to `/kratix/output/` and a status to\n\
         `/kratix/metadata/status.yaml`. Build and push it as `{}`:\n\n\
         ```\ndocker build -t {} {}\ndocker push {}\n```\n",
        p.pipeline,
        container_dir(p),
        p.container,
        p.language.script(),
        p.image,
        p.image,
        container_dir(p),
        p.image
    )
}

fn readme(api: &ApiInput, split: bool, container: &str, command: &str) -> String {
    let layout = if split {
        "- `api.yaml`: the API your users request, as a CustomResourceDefinition.\n\
         - `dependencies.yaml`: what every Destination gets once the Promise is installed.\n\
         - `destination-selectors.yaml` (when there are any): the labels of the Destinations it goes to.\n\
         - `workflows/<promise|resource>/<configure|delete>/workflow.yaml`: the pipelines.\n\
         \n\
         The Promise is named after this directory."
    } else {
        "- `promise.yaml`: the Promise: its API (`spec.api`), dependencies and workflows."
    };
    format!(
        "# The {kind} Promise\n\n\
         Generated by `{command}`.\n\n\
         {layout}\n\
         - `example-resource.yaml`: a request of `{group}/{version}` `{kind}`.\n\
         {container}\n\
         ## Next\n\n\
         ```\n\
         kubectl kratix promise add-container resource/configure/instance --image IMAGE   # a pipeline step\n\
         kubectl kratix promise validate .                                                 # offline checks\n\
         kubectl kratix promise render . --workflow resource/configure                      # the Job it runs\n\
         ```\n\n\
         Install it with `kubectl apply -f promise.yaml` (in the split layout, assemble it\n\
         first), then request one with `kubectl apply -f example-resource.yaml`.\n",
        kind = api.kind,
        group = api.group,
        version = api.version,
    )
}

/// Adds `input`'s container to the pipeline list `pipelines` (a YAML list of
/// Pipeline objects): to the pipeline of that name, or to a new one at the end.
/// Refuses a container name the pipeline already has.
pub fn add_container(pipelines: &mut Vec<Value>, input: &PipelineInput, source: &str) -> Result<()> {
    let container = json!({"name": input.container, "image": input.image});
    let existing = pipelines
        .iter_mut()
        .find(|p| p.pointer("/metadata/name").and_then(Value::as_str) == Some(input.pipeline.as_str()));
    match existing {
        None => {
            pipelines.push(pipeline_object(input));
            Ok(())
        }
        Some(pipeline) => {
            let containers = pipeline
                .pointer_mut("/spec/containers")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| Error::Invalid {
                    source_name: source.to_owned(),
                    path: format!("pipeline {}", input.pipeline),
                    message: "has no spec.containers list; fix it, then add the container".to_owned(),
                })?;
            if containers
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(input.container.as_str()))
            {
                return Err(Error::Invalid {
                    source_name: source.to_owned(),
                    path: format!("pipeline {}", input.pipeline),
                    message: format!(
                        "already has a container named {}; choose another with --name",
                        input.container
                    ),
                });
            }
            containers.push(container);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ApiInput {
        ApiInput {
            name: "redis".to_owned(),
            group: "example.org".to_owned(),
            kind: "Redis".to_owned(),
            version: "v1alpha1".to_owned(),
            plural: "redises".to_owned(),
        }
    }

    fn pipeline() -> PipelineInput {
        PipelineInput {
            workflow: Workflow::RESOURCE_CONFIGURE,
            pipeline: "instance".to_owned(),
            container: "generate".to_owned(),
            image: "example.org/redis-generate:v0.1.0".to_owned(),
            language: Language::Bash,
        }
    }

    #[test]
    fn plurals_and_container_names_have_sensible_defaults() {
        assert_eq!(default_plural("Redis"), "redises");
        assert_eq!(default_plural("Database"), "databases");
        assert_eq!(default_plural("Policy"), "policies");
        assert_eq!(default_plural("Gateway"), "gateways");
        assert_eq!(
            default_container_name("ghcr.io/org/My_Image.v2:1.0"),
            "my-image-v2"
        );
        assert_eq!(default_container_name("busybox@sha256:abc"), "busybox");
        assert_eq!(default_container_name(":::"), "main");
    }

    #[test]
    fn bad_inputs_name_their_flag() {
        let bad = ApiInput {
            name: "Redis_DB".to_owned(),
            group: "example".to_owned(),
            kind: "redis".to_owned(),
            version: "1".to_owned(),
            plural: "Redises".to_owned(),
        };
        let flags: Vec<&str> = check_api(&bad).into_iter().map(|(flag, _)| flag).collect();
        assert_eq!(flags, ["NAME", "--group", "--kind", "--version", "--plural"]);
        assert!(check_api(&api()).is_empty());
        let reserved = PipelineInput {
            container: "reader".to_owned(),
            ..pipeline()
        };
        assert_eq!(check_pipeline(&reserved)[0].0, "--name");
    }

    #[test]
    fn a_single_file_promise_with_a_pipeline() {
        let files = promise_files(
            &api(),
            false,
            Some(&pipeline()),
            "kubectl kratix promise init redis",
        )
        .expect("files");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "promise.yaml",
                "example-resource.yaml",
                "README.md",
                "workflows/resource/configure/instance/generate/Dockerfile",
                "workflows/resource/configure/instance/generate/scripts/pipeline.sh",
                "workflows/resource/configure/instance/generate/resources/README.md",
            ]
        );
        let promise: Value = serde_saphyr::from_str(&files[0].content).expect("yaml");
        assert_eq!(promise["metadata"]["name"], "redis");
        assert_eq!(promise["spec"]["api"]["metadata"]["name"], "redises.example.org");
        assert_eq!(
            promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0]["image"],
            "example.org/redis-generate:v0.1.0"
        );
        assert_eq!(promise["spec"]["workflows"]["promise"]["configure"], json!([]));
        assert!(files[4].executable);
        assert!(
            files[4]
                .content
                .contains("${KRATIX_INPUT:-/kratix/input}/object.yaml")
        );
        assert!(files[4].content.contains("cat > \"$output/configmap.yaml\""));
        let example: Value = serde_saphyr::from_str(&files[1].content).expect("yaml");
        assert_eq!(example["apiVersion"], "example.org/v1alpha1");
    }

    #[test]
    fn the_split_layout_has_its_own_files() {
        let files = promise_files(&api(), true, Some(&pipeline()), "init").expect("files");
        let paths: Vec<&str> = files.iter().take(3).map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "api.yaml",
                "dependencies.yaml",
                "workflows/resource/configure/workflow.yaml"
            ]
        );
        let list: Vec<Value> = serde_saphyr::from_str(&files[2].content).expect("yaml");
        assert_eq!(list[0]["kind"], "Pipeline");
        let delete = PipelineInput {
            workflow: Workflow::RESOURCE_DELETE,
            ..pipeline()
        };
        let script = &container_files(&delete)[1].content;
        assert!(!script.contains("configmap.yaml"), "{script}");
    }

    #[test]
    fn containers_join_their_pipeline_or_start_one() {
        let mut pipelines = vec![pipeline_object(&pipeline())];
        let second = PipelineInput {
            container: "report".to_owned(),
            ..pipeline()
        };
        add_container(&mut pipelines, &second, "promise.yaml").expect("added");
        assert_eq!(pipelines.len(), 1);
        assert_eq!(pipelines[0]["spec"]["containers"][1]["name"], "report");
        let error = add_container(&mut pipelines, &second, "promise.yaml")
            .expect_err("twice")
            .to_string();
        assert!(error.contains("already has a container named report"), "{error}");
        let other = PipelineInput {
            pipeline: "audit".to_owned(),
            ..pipeline()
        };
        add_container(&mut pipelines, &other, "promise.yaml").expect("new pipeline");
        assert_eq!(pipelines[1]["metadata"]["name"], "audit");
    }
}

//! `promise init --pulumi-schema`: a Promise whose requests are the inputs of
//! a Pulumi component (a resource of a package schema with `isComponent: true`).
//! Its `inputProperties` become the request's `spec`: Pulumi's type specs are
//! read as the JSON Schema they resemble (`#/types/...` and `#/resources/...`
//! references followed, enum entries' values taken, Pulumi's own keys left
//! out) and translated as a chart's schema is. One resource configure pipeline
//! runs kratix-cli's Pulumi stage twice, writing a Pulumi Kubernetes
//! Operator `Program` and `Stack`, for Destinations labelled
//! `environment: pulumi`, as kratix-cli's generator does.

use serde_json::{Map, Value, json};

use super::scaffold::{PromiseContent, ScaffoldFile};
use super::schema_translation::{self, DROPPED_NOTE, Dropped, example_of_required};
use crate::api::Workflow;
use crate::error::{Error, Result};

/// The image kratix-cli's Pulumi generator runs.
pub const PULUMI_STAGE_IMAGE: &str = "ghcr.io/syntasso/kratix-cli/pulumi-generator:v0.1.3";
/// Its pipeline, and its two containers (each runs its own binary).
const PIPELINE: &str = "instance-configure";
const PROGRAM_GENERATOR: &str = "pulumi-program-generator";
const STACK_GENERATOR: &str = "pulumi-stack-generator";
/// Where a schema baked into the user's image lies.
const SCHEMA_IN_IMAGE_DIR: &str = "/pulumi";

/// Nesting of one type spec beyond which it is any value.
const MAX_DEPTH: usize = 64;

/// A Secret's key, from `SECRET:KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey {
    pub name: String,
    pub key: String,
}

impl SecretKey {
    /// `value` of flag `flag` as `SECRET:KEY`: a Secret's name (DNS-1123
    /// subdomain) and a key a Secret may hold.
    pub fn parse(flag: &str, value: &str) -> Result<SecretKey> {
        let invalid = |message: String| Error::Invalid {
            source_name: flag.to_owned(),
            path: String::new(),
            message,
        };
        let Some((name, key)) = value.split_once(':') else {
            return Err(invalid(format!(
                "{value:?} is not SECRET:KEY (a Secret's name, a colon, and the key holding the token)"
            )));
        };
        let (name, key) = (name.trim(), key.trim());
        if let Some(problem) = crate::validate::names::dns_subdomain_problem(name) {
            return Err(invalid(format!("the Secret name {name:?} {problem}")));
        }
        let key_ok = !key.is_empty()
            && key.len() <= 253
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !key_ok {
            return Err(invalid(format!(
                "the key {key:?} is not a Secret key (letters, digits, '-', '_' and '.')"
            )));
        }
        Ok(SecretKey {
            name: name.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// Where the pipeline finds the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaLocation {
    /// An HTTP(S) URL the program generator fetches.
    Url(String),
    /// A file on this machine, baked into `image` (built from a scaffold) as
    /// `file_name`.
    Baked { image: String, file_name: String },
    /// A file on this machine, named as given: the pipeline cannot read it
    /// until the user makes it reachable.
    Unreachable(String),
}

/// What `promise init --pulumi-schema` was given.
#[derive(Debug, Clone, PartialEq)]
pub struct PulumiInput<'a> {
    /// The package schema, parsed.
    pub schema: &'a Value,
    /// Its text, as read (baked into the image when it is local).
    pub schema_text: &'a str,
    /// Where it was read from, for messages.
    pub from: &'a str,
    pub location: SchemaLocation,
    pub component: Option<&'a str>,
    /// The token the program generator fetches the schema with.
    pub schema_token: Option<SecretKey>,
    /// The token the Stack gives Pulumi (named, not read, by the pipeline).
    pub stack_token: Option<SecretKey>,
}

/// The Promise, and what the schema says that the API cannot check.
#[derive(Debug, Clone, PartialEq)]
pub struct PulumiPromise {
    pub content: PromiseContent,
    pub component: String,
    pub dropped: Vec<Dropped>,
}

pub fn pulumi_promise(input: &PulumiInput<'_>) -> Result<PulumiPromise> {
    let invalid = |path: &str, message: String| Error::Invalid {
        source_name: input.from.to_owned(),
        path: path.to_owned(),
        message,
    };
    let resources = input
        .schema
        .get("resources")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            invalid(
                "resources",
                "is missing: a Pulumi package schema lists its resources there".to_owned(),
            )
        })?;
    let component = choose_component(resources, input.component, input.from)?;
    let resource = &resources[&component];
    let document = json!({
        "types": pulumi_types(input.schema.get("types")),
        "resources": resources
            .iter()
            .map(|(token, resource)| (token.clone(), as_object_schema(resource)))
            .collect::<Map<String, Value>>(),
    });
    let inputs = as_object_schema(resource);
    if inputs["properties"].as_object().is_none_or(Map::is_empty) {
        return Err(invalid(
            &format!("resources.{component}.inputProperties"),
            "is empty: a Promise made from the component would have nothing to ask for".to_owned(),
        ));
    }
    let translated = schema_translation::from_json_schema_in(&document, &inputs, "spec");
    let dropped = translated.dropped;
    let mut spec = translated.schema;
    if spec.get("required").is_none() {
        spec["default"] = json!({});
    }
    let (image, source) = match &input.location {
        SchemaLocation::Url(url) => (PULUMI_STAGE_IMAGE.to_owned(), url.clone()),
        SchemaLocation::Baked { image, file_name } => {
            (image.clone(), format!("{SCHEMA_IN_IMAGE_DIR}/{file_name}"))
        }
        SchemaLocation::Unreachable(path) => (PULUMI_STAGE_IMAGE.to_owned(), path.clone()),
    };
    let mut program_env = vec![
        json!({"name": "PULUMI_COMPONENT_TOKEN", "value": component}),
        json!({"name": "PULUMI_SCHEMA_SOURCE", "value": source}),
    ];
    if let Some(secret) = &input.schema_token {
        program_env.push(json!({
            "name": "PULUMI_ACCESS_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": secret.name, "key": secret.key}},
        }));
    }
    let mut stack_env = vec![json!({"name": "PULUMI_COMPONENT_TOKEN", "value": component})];
    if let Some(secret) = &input.stack_token {
        stack_env.push(json!({"name": "PULUMI_STACK_ACCESS_TOKEN_SECRET_NAME", "value": secret.name}));
        stack_env.push(json!({"name": "PULUMI_STACK_ACCESS_TOKEN_SECRET_KEY", "value": secret.key}));
    }
    let pipeline = json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": PIPELINE},
        "spec": {"containers": [
            {"name": PROGRAM_GENERATOR, "image": image, "command": [format!("/{PROGRAM_GENERATOR}")], "env": program_env},
            {"name": STACK_GENERATOR, "image": image, "command": [format!("/{STACK_GENERATOR}")], "env": stack_env},
        ]},
    });
    let mut content = PromiseContent {
        example_spec: Some(example_of_required(&spec)),
        spec_schema: Some(spec),
        pipelines: vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline])],
        destination_selectors: Some(json!([{"matchLabels": {"environment": "pulumi"}}])),
        readme: readme(&component, input, &dropped),
        ..PromiseContent::default()
    };
    if let SchemaLocation::Baked { file_name, .. } = &input.location {
        let dir = baked_image_dir();
        content.files.push(ScaffoldFile {
            path: format!("{dir}/{file_name}"),
            content: input.schema_text.to_owned(),
            executable: false,
        });
        content.files.push(ScaffoldFile {
            path: format!("{dir}/Dockerfile"),
            content: format!(
                "# The schema is baked into the image: the program generator reads it from\n\
                 # {SCHEMA_IN_IMAGE_DIR}/{file_name} (PULUMI_SCHEMA_SOURCE).\n\
                 FROM {PULUMI_STAGE_IMAGE}\n\
                 COPY {file_name} {SCHEMA_IN_IMAGE_DIR}/{file_name}\n"
            ),
            executable: false,
        });
    }
    Ok(PulumiPromise {
        content,
        component,
        dropped,
    })
}

/// The scaffold that bakes a schema on disk into the pipeline's image.
pub fn baked_image_dir() -> String {
    format!("workflows/resource/configure/{PIPELINE}/{PROGRAM_GENERATOR}")
}

/// The component: the one named, else the schema's only one.
fn choose_component(resources: &Map<String, Value>, named: Option<&str>, from: &str) -> Result<String> {
    let components: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r.get("isComponent").and_then(Value::as_bool) == Some(true))
        .map(|(token, _)| token)
        .collect();
    let list = || {
        components
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let invalid = |message: String| Error::Invalid {
        source_name: from.to_owned(),
        path: String::new(),
        message,
    };
    if components.is_empty() {
        return Err(invalid(
            "declares no component (a resource with `isComponent: true`): a Promise is made from a component's inputs".to_owned(),
        ));
    }
    match named {
        Some(token) if components.iter().any(|c| c.as_str() == token) => Ok(token.to_owned()),
        Some(token) => Err(invalid(format!(
            "has no component {token:?}; its components: {}",
            list()
        ))),
        None if components.len() == 1 => Ok(components[0].clone()),
        None => Err(invalid(format!(
            "declares several components ({}): choose one with --component",
            list()
        ))),
    }
}

/// A resource's inputs as an object schema.
fn as_object_schema(resource: &Value) -> Value {
    let properties: Map<String, Value> = resource
        .get("inputProperties")
        .and_then(Value::as_object)
        .map(|inputs| {
            inputs
                .iter()
                .map(|(name, spec)| (name.clone(), type_spec(spec, 0)))
                .collect()
        })
        .unwrap_or_default();
    let mut schema = json!({"type": "object", "properties": properties});
    if let Some(required) = resource.get("requiredInputs").and_then(Value::as_array) {
        let mut names: Vec<&str> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| schema["properties"].get(name).is_some())
            .collect();
        names.sort_unstable();
        names.dedup();
        if !names.is_empty() {
            schema["required"] = json!(names);
        }
    }
    schema
}

/// The schema's `types`, keyed as the rewritten references name them.
fn pulumi_types(types: Option<&Value>) -> Value {
    let Some(types) = types.and_then(Value::as_object) else {
        return json!({});
    };
    Value::Object(
        types
            .iter()
            .map(|(token, spec)| (token.clone(), type_spec(spec, 0)))
            .collect(),
    )
}

/// One Pulumi type spec as JSON Schema; what it cannot carry is noted
/// (`DROPPED_NOTE`) for the translation to report at the field's path.
fn type_spec(spec: &Value, depth: usize) -> Value {
    let Some(object) = spec.as_object() else {
        return spec.clone();
    };
    if depth > MAX_DEPTH {
        return note(format!(
            "nested deeper than {MAX_DEPTH} levels: any value accepted"
        ));
    }
    let mut out = Map::new();
    let mut notes = Vec::new();
    let nested = |value: &Value| type_spec(value, depth + 1);
    for (key, value) in object {
        match key.as_str() {
            "$ref" => match value.as_str().map(reference_to) {
                Some(Reference::To(rewritten)) => {
                    out.insert(key.clone(), Value::String(rewritten));
                }
                Some(Reference::Any) | None => {}
                Some(Reference::Dropped(what)) => notes.push(what),
            },
            "items" | "additionalProperties" => {
                out.insert(key.clone(), nested(value));
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .map(|properties| {
                        properties
                            .iter()
                            .map(|(name, spec)| (name.clone(), nested(spec)))
                            .collect::<Map<String, Value>>()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(properties));
            }
            "oneOf" | "anyOf" | "allOf" => {
                let options = value
                    .as_array()
                    .map(|options| options.iter().map(nested).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Array(options));
            }
            "enum" => {
                // Pulumi's entries are `{name, value, description}`.
                let values = value
                    .as_array()
                    .map(|entries| {
                        entries
                            .iter()
                            .map(|entry| entry.get("value").cloned().unwrap_or_else(|| entry.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Array(values));
            }
            "secret" if value == &Value::Bool(true) => notes
                .push("`secret` (a request's fields are not secret: pass secrets another way)".to_owned()),
            "defaultInfo" => notes
                .push("`defaultInfo` (defaults read from the environment of whoever runs Pulumi)".to_owned()),
            // Only this rewrite's notes are reported, not the schema's own.
            DROPPED_NOTE => {}
            // Pulumi's own: code generation, replacement and overlay hints.
            "secret"
            | "language"
            | "plain"
            | "willReplaceOnChanges"
            | "replaceOnChanges"
            | "deprecationMessage"
            | "isOverlay"
            | "overlaySupportedLanguages"
            | "discriminator"
            | "name"
            | "isComponent"
            | "aliases" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !notes.is_empty() {
        out.insert(DROPPED_NOTE.to_owned(), Value::String(notes.join("; ")));
    }
    Value::Object(out)
}

fn note(what: String) -> Value {
    json!({ DROPPED_NOTE: what })
}

/// What a Pulumi `$ref` becomes.
enum Reference {
    /// A reference into the translated document, or one the translation
    /// names as not followed (another package's type).
    To(String),
    /// Any value, as Pulumi means it.
    Any,
    /// Any value, and why the API cannot say more.
    Dropped(String),
}

fn reference_to(reference: &str) -> Reference {
    for (prefix, section) in [("#/types/", "types"), ("#/resources/", "resources")] {
        if let Some(token) = reference.strip_prefix(prefix) {
            return Reference::To(format!("#/{section}/{}", pointer_token(&percent_decoded(token))));
        }
    }
    match reference {
        "pulumi.json#/Any" | "pulumi.json#/Json" => Reference::Any,
        "pulumi.json#/Archive" | "pulumi.json#/Asset" => Reference::Dropped(format!(
            "a Pulumi {} (files, not request data): any value accepted",
            reference.trim_start_matches("pulumi.json#/")
        )),
        other => Reference::To(other.to_owned()),
    }
}

/// A token as one step of a JSON pointer.
fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `%2F` and the like in a reference's token, decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn readme(component: &str, input: &PulumiInput<'_>, dropped: &[Dropped]) -> String {
    let mut text = format!(
        "\n## From the Pulumi component `{component}`\n\n\
         Each request's `spec` holds the component's inputs, by their names (from\n\
         `{}`). The `{PIPELINE}` pipeline writes a Pulumi Kubernetes Operator `Program`\n\
         that creates the component with them (`{PROGRAM_GENERATOR}`) and the `Stack`\n\
         that runs it (`{STACK_GENERATOR}`), for Destinations labelled\n\
         `environment: pulumi` (where the operator runs).\n",
        input.from
    );
    match &input.location {
        SchemaLocation::Baked { image, file_name } => text.push_str(&format!(
            "\nThe schema is baked into the pipeline's image `{image}`, built from\n\
             `{dir}/` (the schema is its `{file_name}`). Build and push it:\n\n\
             ```\nkubectl kratix promise build-images --push\n```\n",
            dir = baked_image_dir()
        )),
        SchemaLocation::Unreachable(path) => text.push_str(&format!(
            "\n`PULUMI_SCHEMA_SOURCE` is the path `{path}` on the machine that made this\n\
             Promise: the pipeline cannot read it there. Publish the schema at an HTTPS URL\n\
             (and run `promise init` with it), or bake it into an image with `--image`.\n"
        )),
        SchemaLocation::Url(_) => {}
    }
    if let Some(secret) = &input.schema_token {
        text.push_str(&format!(
            "\nThe program generator fetches the schema with the token in Secret\n\
             `{}` (key `{}`), which must exist in the namespace the pipeline runs in.\n",
            secret.name, secret.key
        ));
    }
    if let Some(secret) = &input.stack_token {
        text.push_str(&format!(
            "\nEach `Stack` gives Pulumi the access token in Secret `{}` (key `{}`),\n\
             which must exist where the Destination's operator runs the Stack.\n",
            secret.name, secret.key
        ));
    }
    if !dropped.is_empty() {
        text.push_str("\nWhat the schema says that the API cannot check:\n\n");
        for item in dropped {
            text.push_str(&format!("- `{}`: {}\n", item.path, item.what));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({
            "name": "pkg",
            "types": {
                "pkg:index:Network": {
                    "type": "object",
                    "properties": {
                        "subnetId": {"type": "string", "description": "The subnet"},
                        "public": {"type": "boolean", "default": false},
                        "peers": {"type": "array", "items": {"$ref": "#/types/pkg:index:Network"}}
                    },
                    "required": ["subnetId"]
                },
                "pkg:config/tier:Tier": {
                    "type": "string",
                    "enum": [{"name": "Small", "value": "small"}, {"name": "Large", "value": "large"}]
                }
            },
            "resources": {
                "pkg:index:Database": {
                    "isComponent": true,
                    "inputProperties": {
                        "name": {"type": "string"},
                        "size": {"type": "integer", "default": 10},
                        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                        "network": {"$ref": "#/types/pkg:index:Network", "description": "Where it lives"},
                        "tier": {"$ref": "#/types/pkg:config%2Ftier:Tier"},
                        "password": {"type": "string", "secret": true},
                        "anything": {"$ref": "pulumi.json#/Any"},
                        "bundle": {"$ref": "pulumi.json#/Archive"},
                        "vpc": {"$ref": "/aws/v6.0.0/schema.json#/types/aws:ec2:Vpc"},
                        "replica": {"$ref": "#/resources/pkg:index:Replica"}
                    },
                    "requiredInputs": ["network", "name", "name", "gone"]
                },
                "pkg:index:Replica": {
                    "inputProperties": {"zone": {"type": "string"}},
                    "requiredInputs": ["zone"]
                }
            }
        })
    }

    fn input(schema: &Value) -> PulumiInput<'_> {
        PulumiInput {
            schema,
            schema_text: "{}",
            from: "schema.json",
            location: SchemaLocation::Url("https://example.org/schema.json".to_owned()),
            component: None,
            schema_token: None,
            stack_token: None,
        }
    }

    #[test]
    fn a_components_inputs_become_the_spec_with_pulumi_types_followed() {
        let schema = schema();
        let made = pulumi_promise(&input(&schema)).expect("generated");
        assert_eq!(made.component, "pkg:index:Database");
        let spec = made.content.spec_schema.expect("spec");
        let properties = &spec["properties"];
        assert_eq!(spec["required"], json!(["name", "network"]));
        assert_eq!(properties["size"], json!({"type": "integer", "default": 10}));
        assert_eq!(
            properties["tags"],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(properties["network"]["description"], "Where it lives");
        assert_eq!(properties["network"]["required"], json!(["subnetId"]));
        assert_eq!(
            properties["network"]["properties"]["public"],
            json!({"type": "boolean", "default": false})
        );
        assert_eq!(
            properties["tier"],
            json!({"type": "string", "enum": ["small", "large"]})
        );
        assert_eq!(properties["replica"]["required"], json!(["zone"]));
        for any in ["anything", "bundle", "vpc"] {
            assert_eq!(
                properties[any]["x-kubernetes-preserve-unknown-fields"],
                json!(true),
                "{any}: {}",
                properties[any]
            );
        }
        let dropped: Vec<String> = made.dropped.iter().map(ToString::to_string).collect();
        for expected in [
            "spec.password: `secret`",
            "spec.bundle: a Pulumi Archive",
            "spec.vpc: `$ref: /aws/v6.0.0/schema.json#/types/aws:ec2:Vpc`",
            "spec.network.peers[]: `$ref: #/types/pkg:index:Network` refers to itself",
        ] {
            assert!(
                dropped.iter().any(|d| d.starts_with(expected)),
                "{expected} in {dropped:#?}"
            );
        }
        assert_eq!(
            made.content.destination_selectors,
            Some(json!([{"matchLabels": {"environment": "pulumi"}}]))
        );
        let example = made.content.example_spec.expect("example");
        assert_eq!(example["network"]["subnetId"], json!("example"));
    }

    #[test]
    fn the_pipeline_runs_both_generators_with_kratix_clis_environment() {
        let schema = schema();
        let mut given = input(&schema);
        given.schema_token =
            Some(SecretKey::parse("--schema-bearer-token-secret", "schema-auth:token").expect("parsed"));
        given.stack_token = Some(
            SecretKey::parse("--stack-access-token-secret", " pulumi-api : access-token ").expect("parsed"),
        );
        let made = pulumi_promise(&given).expect("generated");
        let (workflow, pipelines) = &made.content.pipelines[0];
        assert_eq!(*workflow, Workflow::RESOURCE_CONFIGURE);
        let containers = &pipelines[0]["spec"]["containers"];
        assert_eq!(
            containers[0],
            json!({
                "name": "pulumi-program-generator",
                "image": PULUMI_STAGE_IMAGE,
                "command": ["/pulumi-program-generator"],
                "env": [
                    {"name": "PULUMI_COMPONENT_TOKEN", "value": "pkg:index:Database"},
                    {"name": "PULUMI_SCHEMA_SOURCE", "value": "https://example.org/schema.json"},
                    {"name": "PULUMI_ACCESS_TOKEN", "valueFrom": {"secretKeyRef": {"name": "schema-auth", "key": "token"}}}
                ]
            })
        );
        assert_eq!(
            containers[1]["env"],
            json!([
                {"name": "PULUMI_COMPONENT_TOKEN", "value": "pkg:index:Database"},
                {"name": "PULUMI_STACK_ACCESS_TOKEN_SECRET_NAME", "value": "pulumi-api"},
                {"name": "PULUMI_STACK_ACCESS_TOKEN_SECRET_KEY", "value": "access-token"}
            ])
        );
        assert!(made.content.files.is_empty());

        given.location = SchemaLocation::Baked {
            image: "registry.example/db-pipeline:v1".to_owned(),
            file_name: "schema.json".to_owned(),
        };
        let made = pulumi_promise(&given).expect("generated");
        let containers = &made.content.pipelines[0].1[0]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "registry.example/db-pipeline:v1");
        assert_eq!(containers[0]["env"][1]["value"], "/pulumi/schema.json");
        let paths: Vec<&str> = made.content.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "workflows/resource/configure/instance-configure/pulumi-program-generator/schema.json",
                "workflows/resource/configure/instance-configure/pulumi-program-generator/Dockerfile"
            ]
        );
        assert!(
            made.content.files[1]
                .content
                .contains(&format!("FROM {PULUMI_STAGE_IMAGE}"))
        );
    }

    #[test]
    fn the_component_is_the_one_named_or_the_only_one() {
        let mut schema = schema();
        schema["resources"]["pkg:index:Cache"] = json!({"isComponent": true, "inputProperties": {}});
        let error = |component: Option<&str>| {
            let mut given = input(&schema);
            given.component = component;
            pulumi_promise(&given).expect_err("refused").to_string()
        };
        assert_eq!(
            error(None),
            "schema.json: declares several components (pkg:index:Cache, pkg:index:Database): choose one with --component"
        );
        assert!(error(Some("pkg:index:Queue")).contains(
            "has no component \"pkg:index:Queue\"; its components: pkg:index:Cache, pkg:index:Database"
        ));
        assert!(
            error(Some("pkg:index:Replica")).contains("has no component"),
            "not a component"
        );
        assert!(
            error(Some("pkg:index:Cache")).contains("resources.pkg:index:Cache.inputProperties: is empty")
        );
        let mut given = input(&schema);
        given.component = Some("pkg:index:Database");
        assert!(pulumi_promise(&given).is_ok());

        let none = json!({"resources": {"pkg:index:Replica": {}}});
        assert!(
            pulumi_promise(&input(&none))
                .expect_err("refused")
                .to_string()
                .contains("declares no component")
        );
        let not_a_package = json!({"name": "x"});
        assert!(
            pulumi_promise(&input(&not_a_package))
                .expect_err("refused")
                .to_string()
                .contains("schema.json: resources: is missing")
        );
    }

    #[test]
    fn secret_references_are_a_secret_name_and_a_key() {
        let flag = "--stack-access-token-secret";
        assert!(
            SecretKey::parse(flag, "no-colon")
                .expect_err("refused")
                .to_string()
                .contains("is not SECRET:KEY")
        );
        assert!(
            SecretKey::parse(flag, "Bad_Name:key")
                .expect_err("refused")
                .to_string()
                .contains("the Secret name \"Bad_Name\"")
        );
        assert!(
            SecretKey::parse(flag, "name:")
                .expect_err("refused")
                .to_string()
                .contains("is not a Secret key")
        );
        assert!(SecretKey::parse(flag, "name:a/b").is_err());
    }

    #[test]
    fn a_token_with_slashes_is_found_by_its_encoded_reference() {
        assert_eq!(percent_decoded("pkg:config%2Ftier:Tier"), "pkg:config/tier:Tier");
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}

//! `promise init --terraform-module`: a Promise whose requests are a Terraform
//! module's inputs. Each `variable` of the module is a field directly under
//! the request's `spec`, its type constraint translated (`list(object({...}))`,
//! `optional(T, default)`, maps, sets), its default and description kept, and
//! the variables without a default required. One resource configure pipeline
//! writes the module call with the stage image kratix-cli's generator uses, to
//! Destinations labelled `environment: terraform`, as theirs does.

use hcl::Expression;
use hcl::expr::FuncCall;
use serde_json::{Map, Value, json};

use super::scaffold::{PromiseContent, ScaffoldFile, stage_pipeline};
use super::schema_translation::{Dropped, example_of_required};
use crate::api::Workflow;
use crate::error::{Error, Result};

/// The image kratix-cli's terraform generator runs: it writes a module call of
/// `MODULE_SOURCE` (at `MODULE_REGISTRY_VERSION`) with the request's `spec`.
pub const TERRAFORM_STAGE_IMAGE: &str = "ghcr.io/syntasso/kratix-cli/terraform-generate:v0.6.0";

/// One `.tf` file of the module, by its name in the module's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    pub name: String,
    pub text: String,
}

/// The module and how the pipeline calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInput {
    /// Where the module's files were read from, for messages.
    pub from: String,
    /// `MODULE_SOURCE`: how the pipeline's module call names the module.
    pub source: String,
    pub registry_version: Option<String>,
    pub files: Vec<ModuleFile>,
    /// Pass the module's outputs on (`MODULE_OUTPUT_NAMES`).
    pub generate_outputs: bool,
    /// The module's provider settings to deliver beside its calls.
    pub providers: Option<ProviderFiles>,
}

/// Files of the module that configure its providers (`versions.tf`,
/// `providers.tf`): a promise configure pipeline whose image they are baked
/// into copies them to every Destination, as kratix-cli's generator does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFiles {
    pub files: Vec<ModuleFile>,
    pub image: String,
}

/// The promise configure pipeline that delivers the provider files.
pub const DEPENDENCIES_PIPELINE: &str = "dependencies";
/// Its one container, named as kratix-cli names it.
pub const DEPENDENCIES_CONTAINER: &str = "add-tf-dependencies";

/// The Promise, and what the variables say that the API cannot check.
#[derive(Debug, Clone, PartialEq)]
pub struct TerraformPromise {
    pub content: PromiseContent,
    pub dropped: Vec<Dropped>,
}

pub fn terraform_promise(input: &ModuleInput) -> Result<TerraformPromise> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut outputs = Vec::new();
    let mut dropped = Vec::new();
    for file in &input.files {
        let body = hcl::parse(&file.text).map_err(|e| Error::Invalid {
            source_name: format!("{}/{}", input.from, file.name),
            path: String::new(),
            message: format!("is not HCL: {e}"),
        })?;
        for block in body.blocks() {
            let label = block.labels().first().map(|l| l.as_str().to_owned());
            match (block.identifier(), label) {
                ("variable", Some(name)) => {
                    let (schema, is_required) = variable(&name, block.body(), &mut dropped);
                    if is_required {
                        required.push(Value::String(name.clone()));
                    }
                    properties.insert(name, schema);
                }
                ("output", Some(name)) => outputs.push(name),
                _ => {}
            }
        }
    }
    if properties.is_empty() {
        return Err(Error::Invalid {
            source_name: input.from.clone(),
            path: String::new(),
            message: "declares no variable: a Promise made from it would have nothing to ask for".to_owned(),
        });
    }
    let mut spec = json!({"type": "object", "properties": properties});
    if required.is_empty() {
        spec["default"] = json!({});
    } else {
        spec["required"] = Value::Array(required);
    }
    let mut env = vec![json!({"name": "MODULE_SOURCE", "value": input.source})];
    if let Some(version) = &input.registry_version {
        env.push(json!({"name": "MODULE_REGISTRY_VERSION", "value": version}));
    }
    if input.generate_outputs && !outputs.is_empty() {
        outputs.sort();
        env.push(json!({"name": "MODULE_OUTPUT_NAMES", "value": outputs.join(",")}));
    }
    let pipeline = stage_pipeline("terraform-generate", TERRAFORM_STAGE_IMAGE, Value::Array(env));
    let mut readme = format!(
        "\n## From the Terraform module `{}`{}\n\n\
         Each request's `spec` holds the module's variables, by their names. The\n\
         `instance-configure` pipeline writes a module call with them, for Destinations\n\
         labelled `environment: terraform` (where something applies it).\n",
        input.source,
        input
            .registry_version
            .as_ref()
            .map(|v| format!(" (version `{v}`)"))
            .unwrap_or_default()
    );
    if !dropped.is_empty() {
        readme.push_str("\nWhat the variables say that the API cannot check:\n\n");
        for item in &dropped {
            readme.push_str(&format!("- `{}`: {}\n", item.path, item.what));
        }
    }
    let mut content = PromiseContent {
        example_spec: Some(example_of_required(&spec)),
        spec_schema: Some(spec),
        pipelines: vec![(Workflow::RESOURCE_CONFIGURE, vec![pipeline])],
        destination_selectors: Some(json!([{"matchLabels": {"environment": "terraform"}}])),
        readme,
        ..PromiseContent::default()
    };
    if let Some(providers) = &input.providers {
        add_provider_delivery(&mut content, providers, &input.from)?;
    }
    Ok(TerraformPromise { content, dropped })
}

/// The `dependencies` promise configure pipeline and the scaffold its image is
/// built from: the provider files in `resources/`, a script that copies them
/// to the output.
fn add_provider_delivery(content: &mut PromiseContent, providers: &ProviderFiles, from: &str) -> Result<()> {
    let dir = provider_image_dir();
    for file in &providers.files {
        if file.name.is_empty() || file.name.contains('/') || file.name.starts_with('.') {
            return Err(Error::Invalid {
                source_name: from.to_owned(),
                path: file.name.clone(),
                message: "is not a file name in the module's folder".to_owned(),
            });
        }
        content.files.push(ScaffoldFile {
            path: format!("{dir}/resources/{}", file.name),
            content: file.text.clone(),
            executable: false,
        });
    }
    content.files.push(ScaffoldFile {
        path: format!("{dir}/Dockerfile"),
        content: PROVIDERS_DOCKERFILE.to_owned(),
        executable: false,
    });
    content.files.push(ScaffoldFile {
        path: format!("{dir}/scripts/pipeline.sh"),
        content: PROVIDERS_SCRIPT.to_owned(),
        executable: true,
    });
    content.pipelines.insert(
        0,
        (
            Workflow::PROMISE_CONFIGURE,
            vec![json!({
                "apiVersion": "platform.kratix.io/v1alpha1",
                "kind": "Pipeline",
                "metadata": {"name": DEPENDENCIES_PIPELINE},
                "spec": {"containers": [{"name": DEPENDENCIES_CONTAINER, "image": providers.image}]},
            })],
        ),
    );
    let names: Vec<String> = providers.files.iter().map(|f| format!("`{}`", f.name)).collect();
    content.readme.push_str(&format!(
        "\nThe module's provider settings ({}) go to every Destination through the\n\
         `{DEPENDENCIES_PIPELINE}` promise configure pipeline. Its image `{}` is built from\n\
         `{dir}/` (the files are in its `resources/` folder). Build and push it:\n\n\
         ```\nkubectl kratix promise build-images --push\n```\n",
        names.join(", "),
        providers.image,
    ));
    Ok(())
}

/// The scaffold of the image that delivers the provider files.
pub fn provider_image_dir() -> String {
    format!("workflows/promise/configure/{DEPENDENCIES_PIPELINE}/{DEPENDENCIES_CONTAINER}")
}

const PROVIDERS_DOCKERFILE: &str = "FROM alpine:3.20\n\
COPY --chmod=0755 scripts/pipeline.sh /usr/bin/pipeline.sh\n\
COPY resources /resources\n\
# Kratix's default security context runs pipelines as a non-root user.\n\
USER 65534\n\
CMD [\"/usr/bin/pipeline.sh\"]\n";

const PROVIDERS_SCRIPT: &str = "#!/usr/bin/env sh\n\
# The Terraform module's provider settings go to every Destination.\n\
set -eu\n\
cp /resources/* \"${KRATIX_OUTPUT:-/kratix/output}/\"\n";

/// A `variable` block as a field, and whether a request must give it.
fn variable(name: &str, body: &hcl::Body, dropped: &mut Vec<Dropped>) -> (Value, bool) {
    let path = format!("spec.{name}");
    let attribute = |key: &str| {
        body.attributes()
            .find(|a| a.key() == key)
            .map(|a| a.expr().clone())
    };
    let mut schema = match attribute("type") {
        Some(constraint) => type_schema(&constraint, &path, dropped),
        None => any(),
    };
    let default = attribute("default").map(Value::from_expression);
    if let Some(Value::String(description)) = attribute("description").map(Value::from_expression) {
        schema["description"] = Value::String(description);
    }
    if attribute("sensitive").map(Value::from_expression) == Some(Value::Bool(true)) {
        dropped.push(Dropped {
            path: path.clone(),
            what: "`sensitive` (a request's fields are not secret: pass secrets another way)".to_owned(),
        });
    }
    if body.blocks().any(|b| b.identifier() == "validation") {
        dropped.push(Dropped {
            path: path.clone(),
            what: "`validation` blocks (Terraform checks them when it plans)".to_owned(),
        });
    }
    match default {
        None => (schema, true),
        Some(Value::Null) => {
            schema["nullable"] = Value::Bool(true);
            (schema, false)
        }
        Some(value) => {
            schema["default"] = value;
            (schema, false)
        }
    }
}

fn any() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

/// A type constraint (`string`, `list(number)`, `object({a = optional(string, "x")})`) as a schema.
fn type_schema(constraint: &Expression, path: &str, dropped: &mut Vec<Dropped>) -> Value {
    match constraint {
        Expression::Variable(name) => match name.as_str() {
            "string" => json!({"type": "string"}),
            "number" => json!({"type": "number"}),
            "bool" => json!({"type": "boolean"}),
            _ => any(),
        },
        Expression::FuncCall(call) => collection(call, path, dropped),
        Expression::Parenthesis(inner) => type_schema(inner, path, dropped),
        other => {
            dropped.push(Dropped {
                path: path.to_owned(),
                what: format!("the type constraint {other:?} is not understood: any value accepted"),
            });
            any()
        }
    }
}

fn collection(call: &FuncCall, path: &str, dropped: &mut Vec<Dropped>) -> Value {
    let argument = call.args.first();
    let element = |dropped: &mut Vec<Dropped>| {
        argument.map_or_else(any, |a| type_schema(a, &format!("{path}[]"), dropped))
    };
    match call.name.name.as_str() {
        "list" => json!({"type": "array", "items": element(dropped)}),
        "set" => {
            let items = element(dropped);
            let scalar = items
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "object" && t != "array");
            if scalar {
                json!({"type": "array", "items": items, "x-kubernetes-list-type": "set"})
            } else {
                dropped.push(Dropped {
                    path: path.to_owned(),
                    what: "a set of objects or lists (a CRD can only keep scalars unique)".to_owned(),
                });
                json!({"type": "array", "items": items})
            }
        }
        "map" => {
            let values = argument.map_or_else(any, |a| type_schema(a, &format!("{path}.*"), dropped));
            json!({"type": "object", "additionalProperties": values})
        }
        "object" => object(argument, path, dropped),
        "tuple" => {
            dropped.push(Dropped {
                path: path.to_owned(),
                what: "a tuple's per-position types (a CRD list has one item type): any items accepted"
                    .to_owned(),
            });
            json!({"type": "array", "items": any()})
        }
        other => {
            dropped.push(Dropped {
                path: path.to_owned(),
                what: format!("the type constraint {other}(...) is not understood: any value accepted"),
            });
            any()
        }
    }
}

/// `object({name = TYPE, ...})`: attributes wrapped in `optional(TYPE[, DEFAULT])`
/// may be left out (and get their default); the others are required.
fn object(argument: Option<&Expression>, path: &str, dropped: &mut Vec<Dropped>) -> Value {
    let Some(Expression::Object(attributes)) = argument else {
        return json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    };
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (key, constraint) in attributes.iter() {
        let name = key.to_string();
        let field_path = format!("{path}.{name}");
        let schema = match constraint {
            Expression::FuncCall(call) if call.name.name.as_str() == "optional" => {
                let mut schema = call
                    .args
                    .first()
                    .map_or_else(any, |t| type_schema(t, &field_path, dropped));
                if let Some(default) = call.args.get(1) {
                    schema["default"] = Value::from_expression(default.clone());
                }
                schema
            }
            other => {
                required.push(Value::String(name.clone()));
                type_schema(other, &field_path, dropped)
            }
        };
        properties.insert(name, schema);
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema
}

/// An HCL expression's value as JSON: literals as they are, anything computed
/// (a reference, a function call) as its HCL text in `${...}`.
trait FromExpression {
    fn from_expression(expression: Expression) -> Value;
}

impl FromExpression for Value {
    fn from_expression(expression: Expression) -> Value {
        serde_json::to_value(hcl::Value::from(expression)).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARIABLES: &str = r#"
variable "name" {
  type        = string
  description = "The bucket's name"
}

variable "versioning" {
  type    = bool
  default = false
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "zones" {
  type    = set(string)
  default = ["a"]
}

variable "rules" {
  type = list(object({
    id      = string
    days    = optional(number, 30)
    enabled = optional(bool)
  }))
  default = []
}

variable "kms_key" {
  type      = string
  default   = null
  sensitive = true
  validation {
    condition     = var.kms_key == null || length(var.kms_key) > 3
    error_message = "Too short."
  }
}

variable "anything" {}
"#;

    fn module(text: &str) -> ModuleInput {
        ModuleInput {
            from: "modules/bucket".to_owned(),
            source: "./modules/bucket".to_owned(),
            registry_version: None,
            files: vec![
                ModuleFile {
                    name: "variables.tf".to_owned(),
                    text: text.to_owned(),
                },
                ModuleFile {
                    name: "outputs.tf".to_owned(),
                    text: "output \"arn\" { value = 1 }\noutput \"id\" { value = 2 }\n".to_owned(),
                },
            ],
            generate_outputs: true,
            providers: None,
        }
    }

    #[test]
    fn variables_become_the_spec_with_their_types_defaults_and_descriptions() {
        let made = terraform_promise(&module(VARIABLES)).expect("generated");
        let spec = made.content.spec_schema.as_ref().expect("spec");
        assert_eq!(spec["required"], json!(["name", "anything"]));
        let field = |name: &str| spec["properties"][name].clone();
        assert_eq!(
            field("name"),
            json!({"type": "string", "description": "The bucket's name"})
        );
        assert_eq!(field("versioning"), json!({"type": "boolean", "default": false}));
        assert_eq!(
            field("tags"),
            json!({"type": "object", "additionalProperties": {"type": "string"}, "default": {}})
        );
        assert_eq!(
            field("zones"),
            json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "default": ["a"]})
        );
        assert_eq!(
            field("rules"),
            json!({"type": "array", "default": [], "items": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"},
                "days": {"type": "number", "default": 30},
                "enabled": {"type": "boolean"}
            }}})
        );
        assert_eq!(field("kms_key"), json!({"type": "string", "nullable": true}));
        assert_eq!(
            field("anything"),
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        let said: Vec<String> = made.dropped.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].starts_with("spec.kms_key: `sensitive`"), "{said:?}");
        let container = &made.content.pipelines[0].1[0]["spec"]["containers"][0];
        assert_eq!(container["image"], TERRAFORM_STAGE_IMAGE);
        assert_eq!(
            container["env"],
            json!([
                {"name": "MODULE_SOURCE", "value": "./modules/bucket"},
                {"name": "MODULE_OUTPUT_NAMES", "value": "arn,id"}
            ])
        );
        assert_eq!(
            made.content.example_spec,
            Some(json!({"name": "example", "anything": "example"}))
        );
        assert_eq!(
            made.content.destination_selectors,
            Some(json!([{"matchLabels": {"environment": "terraform"}}]))
        );
    }

    #[test]
    fn a_module_without_variables_or_with_bad_hcl_is_named() {
        let error = terraform_promise(&module("# nothing\n")).unwrap_err().to_string();
        assert!(error.contains("modules/bucket: declares no variable"), "{error}");
        let error = terraform_promise(&module("variable \"x\" {\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("modules/bucket/variables.tf: is not HCL"),
            "{error}"
        );
    }

    #[test]
    fn provider_files_are_delivered_by_a_promise_configure_pipeline_built_from_a_scaffold() {
        let mut input = module("variable \"name\" {\n  type = string\n}\n");
        input.providers = Some(ProviderFiles {
            files: vec![ModuleFile {
                name: "versions.tf".to_owned(),
                text: "terraform {}\n".to_owned(),
            }],
            image: "example.org/bucket-providers:v1".to_owned(),
        });
        let content = terraform_promise(&input).expect("generated").content;
        let (workflow, pipelines) = &content.pipelines[0];
        assert_eq!(*workflow, Workflow::PROMISE_CONFIGURE);
        assert_eq!(pipelines[0]["metadata"]["name"], "dependencies");
        assert_eq!(
            pipelines[0]["spec"]["containers"][0],
            json!({"name": "add-tf-dependencies", "image": "example.org/bucket-providers:v1"})
        );
        let paths: Vec<&str> = content.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "workflows/promise/configure/dependencies/add-tf-dependencies/resources/versions.tf",
                "workflows/promise/configure/dependencies/add-tf-dependencies/Dockerfile",
                "workflows/promise/configure/dependencies/add-tf-dependencies/scripts/pipeline.sh",
            ]
        );
        assert!(content.files[2].executable && content.files[2].content.contains("KRATIX_OUTPUT"));
        assert!(content.readme.contains("`versions.tf`"));

        input.providers = Some(ProviderFiles {
            files: vec![ModuleFile {
                name: "../escape.tf".to_owned(),
                text: String::new(),
            }],
            image: "x".to_owned(),
        });
        let error = terraform_promise(&input).expect_err("refused").to_string();
        assert!(error.contains("../escape.tf"), "{error}");
    }
}

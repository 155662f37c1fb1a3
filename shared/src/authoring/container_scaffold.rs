//! A pipeline container's scaffold, in the language asked for: a Dockerfile,
//! the script it runs and a `resources/` directory copied into the image,
//! under `workflows/LIFECYCLE/ACTION/PIPELINE/CONTAINER/`. Each script really
//! reads the object and writes output (configure) and a status, and honours
//! `KRATIX_INPUT`, `KRATIX_OUTPUT` and `KRATIX_METADATA` so it can be tried
//! against folders laid out as `/kratix` outside a pod.

use std::fmt;

use super::scaffold::{PipelineInput, ScaffoldFile};
use crate::api::WorkflowAction;

/// What a container scaffold's script is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    /// POSIX sh with yq, on Alpine.
    #[default]
    Bash,
    /// Python with the Kratix Python SDK (`kratix-sdk`).
    Python,
    /// Go with the standard library only, built in the image.
    Go,
}

impl Language {
    /// The script, relative to the container's directory.
    pub fn script(self) -> &'static str {
        match self {
            Language::Bash => "scripts/pipeline.sh",
            Language::Python => "scripts/pipeline.py",
            Language::Go => "scripts/pipeline.go",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Bash => "bash",
            Language::Python => "python",
            Language::Go => "go",
        })
    }
}

/// The Kratix Python SDK release the Python scaffold installs: pinned, so an
/// image built today and one built next year run the same code.
pub const PYTHON_SDK_VERSION: &str = "0.4.3";

/// Where a pipeline's container scaffold lives.
pub fn container_dir(input: &PipelineInput) -> String {
    format!(
        "workflows/{}/{}/{}/{}",
        input.workflow.workflow_type.as_str(),
        input.workflow.action.as_str(),
        input.pipeline,
        input.container
    )
}

/// The container's scaffold: its Dockerfile, its script (and, in Go, the
/// module file), and `resources/`.
pub fn container_files(input: &PipelineInput) -> Vec<ScaffoldFile> {
    let dir = container_dir(input);
    let file = |path: &str, content: String, executable: bool| ScaffoldFile {
        path: format!("{dir}/{path}"),
        content,
        executable,
    };
    let header = Header::of(input);
    let mut files = match input.language {
        Language::Bash => vec![
            file("Dockerfile", BASH_DOCKERFILE.to_owned(), false),
            file(Language::Bash.script(), bash_script(&header), true),
        ],
        Language::Python => vec![
            file("Dockerfile", python_dockerfile(), false),
            file(Language::Python.script(), python_script(&header), true),
        ],
        Language::Go => vec![
            file("Dockerfile", GO_DOCKERFILE.to_owned(), false),
            file("scripts/go.mod", go_module(input), false),
            file(Language::Go.script(), go_program(&header), false),
        ],
    };
    files.push(file(
        "resources/README.md",
        "Files here are copied into the image at /resources.\n".to_owned(),
        false,
    ));
    files
}

/// What every script says about itself, and whether it writes output.
struct Header {
    title: String,
    configure: bool,
}

impl Header {
    fn of(input: &PipelineInput) -> Self {
        Header {
            title: format!(
                "The {} pipeline's {} container ({}).",
                input.pipeline, input.container, input.workflow
            ),
            configure: input.workflow.action == WorkflowAction::Configure,
        }
    }
}

const BASH_DOCKERFILE: &str = "FROM alpine:3.20\n\
RUN apk add --no-cache yq\n\
COPY --chmod=0755 scripts/pipeline.sh /usr/bin/pipeline.sh\n\
COPY resources /resources\n\
# Kratix's default security context runs pipelines as a non-root user.\n\
USER 65534\n\
CMD [\"/usr/bin/pipeline.sh\"]\n";

fn bash_script(header: &Header) -> String {
    let work = if header.configure {
        "# Everything under the output folder goes to the Destinations.\n\
         cat > \"$output/configmap.yaml\" <<EOF\n\
         apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  \
           name: $name\n  \
           namespace: $namespace\n\
         data:\n  \
           promise: $KRATIX_PROMISE_NAME\n\
         EOF\n\
         \n\
         # The status.yaml keys land in the object's status.\n\
         cat > \"$metadata/status.yaml\" <<EOF\n\
         message: \"$KRATIX_OBJECT_KIND $name configured by $KRATIX_PIPELINE_NAME\"\n\
         EOF\n"
    } else {
        "# A delete pipeline's output is not written anywhere: clean up here.\n\
         echo \"deleting $KRATIX_OBJECT_KIND $namespace/$name\"\n\
         cat > \"$metadata/status.yaml\" <<EOF\n\
         message: \"$KRATIX_OBJECT_KIND $name deleted by $KRATIX_PIPELINE_NAME\"\n\
         EOF\n"
    };
    format!(
        "#!/bin/sh\n\
         # {title}\n\
         # Kratix mounts the object at /kratix/input/object.yaml and sets KRATIX_*\n\
         # variables. To try it outside a pod, point KRATIX_INPUT, KRATIX_OUTPUT and\n\
         # KRATIX_METADATA at other folders.\n\
         set -eu\n\
         \n\
         input=\"${{KRATIX_INPUT:-/kratix/input}}/object.yaml\"\n\
         output=\"${{KRATIX_OUTPUT:-/kratix/output}}\"\n\
         metadata=\"${{KRATIX_METADATA:-/kratix/metadata}}\"\n\
         name=$(yq '.metadata.name' \"$input\")\n\
         namespace=$(yq '.metadata.namespace // \"default\"' \"$input\")\n\
         echo \"$KRATIX_PIPELINE_NAME ($KRATIX_WORKFLOW_TYPE/$KRATIX_WORKFLOW_ACTION) for $KRATIX_OBJECT_KIND $namespace/$name\"\n\
         \n\
         {work}",
        title = header.title,
    )
}

fn python_dockerfile() -> String {
    format!(
        "FROM python:3.12-slim\n\
         RUN pip install --no-cache-dir kratix-sdk=={PYTHON_SDK_VERSION}\n\
         COPY --chmod=0755 scripts/pipeline.py /usr/bin/pipeline.py\n\
         COPY resources /resources\n\
         # Kratix's default security context runs pipelines as a non-root user.\n\
         USER 65534\n\
         CMD [\"python3\", \"/usr/bin/pipeline.py\"]\n"
    )
}

fn python_script(header: &Header) -> String {
    let work = if header.configure {
        "    # Everything under the output folder goes to the Destinations.\n\
         \x20   configmap = (\n\
         \x20       \"apiVersion: v1\\n\"\n\
         \x20       \"kind: ConfigMap\\n\"\n\
         \x20       f\"metadata:\\n  name: {name}\\n  namespace: {namespace}\\n\"\n\
         \x20       f\"data:\\n  promise: {sdk.promise_name()}\\n\"\n\
         \x20   )\n\
         \x20   sdk.write_output(\"configmap.yaml\", configmap.encode())\n\
         \n\
         \x20   # The status keys land in the object's status.\n\
         \x20   status = ks.Status()\n\
         \x20   status.set(\"message\", f\"{kind} {name} configured by {sdk.pipeline_name()}\")\n\
         \x20   sdk.write_status(status)\n"
    } else {
        "    # A delete pipeline's output is not written anywhere: clean up here.\n\
         \x20   print(f\"deleting {kind} {namespace}/{name}\")\n\
         \x20   status = ks.Status()\n\
         \x20   status.set(\"message\", f\"{kind} {name} deleted by {sdk.pipeline_name()}\")\n\
         \x20   sdk.write_status(status)\n"
    };
    format!(
        "#!/usr/bin/env python3\n\
         \"\"\"{title}\n\
         \n\
         Kratix mounts the object at /kratix/input/object.yaml and sets KRATIX_*\n\
         variables; the Kratix Python SDK (kratix-sdk) reads and writes the files.\n\
         To try it outside a pod, point KRATIX_INPUT, KRATIX_OUTPUT and\n\
         KRATIX_METADATA at other folders.\n\
         \"\"\"\n\
         \n\
         import os\n\
         \n\
         import kratix_sdk as ks\n\
         \n\
         for variable, point_at in (\n\
         \x20   (\"KRATIX_INPUT\", ks.set_input_dir),\n\
         \x20   (\"KRATIX_OUTPUT\", ks.set_output_dir),\n\
         \x20   (\"KRATIX_METADATA\", ks.set_metadata_dir),\n\
         ):\n\
         \x20   if os.environ.get(variable):\n\
         \x20       point_at(os.environ[variable])\n\
         \n\
         \n\
         def main() -> None:\n\
         \x20   sdk = ks.KratixSDK()\n\
         \x20   if sdk.is_promise_workflow():\n\
         \x20       promise = sdk.read_promise_input()\n\
         \x20       kind, name, namespace = \"Promise\", promise.get_name(), \"default\"\n\
         \x20   else:\n\
         \x20       resource = sdk.read_resource_input()\n\
         \x20       kind = resource.get_group_version_kind().kind\n\
         \x20       name, namespace = resource.get_name(), resource.get_namespace() or \"default\"\n\
         \x20   print(\n\
         \x20       f\"{{sdk.pipeline_name()}} ({{sdk.workflow_type()}}/{{sdk.workflow_action()}}) \"\n\
         \x20       f\"for {{kind}} {{namespace}}/{{name}}\"\n\
         \x20   )\n\
         \n\
         {work}\
         \n\
         \n\
         if __name__ == \"__main__\":\n\
         \x20   main()\n",
        title = header.title,
    )
}

const GO_DOCKERFILE: &str = "FROM golang:1.24-alpine AS build\n\
WORKDIR /src\n\
COPY scripts/ .\n\
RUN CGO_ENABLED=0 go build -o /pipeline .\n\
\n\
FROM alpine:3.20\n\
COPY --from=build /pipeline /usr/bin/pipeline\n\
COPY resources /resources\n\
# Kratix's default security context runs pipelines as a non-root user.\n\
USER 65534\n\
CMD [\"/usr/bin/pipeline\"]\n";

fn go_module(input: &PipelineInput) -> String {
    format!("module {}/{}\n\ngo 1.22\n", input.pipeline, input.container)
}

fn go_program(header: &Header) -> String {
    let work = if header.configure {
        "\t// Everything under the output folder goes to the Destinations: here a\n\
         \t// ConfigMap carrying the request as it was read.\n\
         \tconfigmap := fmt.Sprintf(\"apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n  namespace: %s\\ndata:\\n  promise: %s\\n  request.yaml: |\\n%s\",\n\
         \t\tname, namespace, os.Getenv(\"KRATIX_PROMISE_NAME\"), indent(string(object), \"    \"))\n\
         \tif err := os.WriteFile(filepath.Join(output, \"configmap.yaml\"), []byte(configmap), 0o644); err != nil {\n\
         \t\treturn fmt.Errorf(\"writing the output: %w\", err)\n\
         \t}\n\
         \n\
         \t// The status.yaml keys land in the object's status.\n\
         \tmessage := fmt.Sprintf(\"%s %s configured by %s\", kind, name, os.Getenv(\"KRATIX_PIPELINE_NAME\"))\n"
    } else {
        "\t// A delete pipeline's output is not written anywhere: clean up here.\n\
         \t_ = output\n\
         \tfmt.Printf(\"deleting %s %s/%s (%d bytes of object)\\n\", kind, namespace, name, len(object))\n\
         \tmessage := fmt.Sprintf(\"%s %s deleted by %s\", kind, name, os.Getenv(\"KRATIX_PIPELINE_NAME\"))\n"
    };
    format!(
        "// {title}\n\
         //\n\
         // Kratix mounts the object at /kratix/input/object.yaml and sets KRATIX_*\n\
         // variables (KRATIX_OBJECT_NAME, KRATIX_OBJECT_NAMESPACE, ...). Only the\n\
         // standard library is used: to read the object's fields, add a YAML module\n\
         // (go get sigs.k8s.io/yaml). To try it outside a pod, point KRATIX_INPUT,\n\
         // KRATIX_OUTPUT and KRATIX_METADATA at other folders.\n\
         package main\n\
         \n\
         import (\n\
         \t\"fmt\"\n\
         \t\"os\"\n\
         \t\"path/filepath\"\n\
         \t\"strings\"\n\
         )\n\
         \n\
         func main() {{\n\
         \tif err := run(); err != nil {{\n\
         \t\tfmt.Fprintln(os.Stderr, err)\n\
         \t\tos.Exit(1)\n\
         \t}}\n\
         }}\n\
         \n\
         func run() error {{\n\
         \tinput := folder(\"KRATIX_INPUT\", \"/kratix/input\")\n\
         \toutput := folder(\"KRATIX_OUTPUT\", \"/kratix/output\")\n\
         \tmetadata := folder(\"KRATIX_METADATA\", \"/kratix/metadata\")\n\
         \tobject, err := os.ReadFile(filepath.Join(input, \"object.yaml\"))\n\
         \tif err != nil {{\n\
         \t\treturn fmt.Errorf(\"reading the object: %w\", err)\n\
         \t}}\n\
         \tkind, name := os.Getenv(\"KRATIX_OBJECT_KIND\"), os.Getenv(\"KRATIX_OBJECT_NAME\")\n\
         \tnamespace := os.Getenv(\"KRATIX_OBJECT_NAMESPACE\")\n\
         \tif namespace == \"\" {{\n\
         \t\tnamespace = \"default\"\n\
         \t}}\n\
         \tfmt.Printf(\"%s (%s/%s) for %s %s/%s\\n\", os.Getenv(\"KRATIX_PIPELINE_NAME\"),\n\
         \t\tos.Getenv(\"KRATIX_WORKFLOW_TYPE\"), os.Getenv(\"KRATIX_WORKFLOW_ACTION\"), kind, namespace, name)\n\
         \n\
         {work}\
         \tstatus := fmt.Sprintf(\"message: %q\\n\", message)\n\
         \tif err := os.WriteFile(filepath.Join(metadata, \"status.yaml\"), []byte(status), 0o644); err != nil {{\n\
         \t\treturn fmt.Errorf(\"writing the status: %w\", err)\n\
         \t}}\n\
         \treturn nil\n\
         }}\n\
         \n\
         // folder is the variable's value, or where Kratix mounts the folder.\n\
         func folder(variable, mounted string) string {{\n\
         \tif value := os.Getenv(variable); value != \"\" {{\n\
         \t\treturn value\n\
         \t}}\n\
         \treturn mounted\n\
         }}\n\
         \n\
         // indent prefixes every line of text, for a YAML block scalar.\n\
         func indent(text, prefix string) string {{\n\
         \tlines := strings.Split(strings.TrimRight(text, \"\\n\"), \"\\n\")\n\
         \treturn prefix + strings.Join(lines, \"\\n\"+prefix) + \"\\n\"\n\
         }}\n",
        title = header.title,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Workflow;

    fn input(language: Language, workflow: Workflow) -> PipelineInput {
        PipelineInput {
            workflow,
            pipeline: "instance".to_owned(),
            container: "demo".to_owned(),
            image: "example.org/demo:v1".to_owned(),
            language,
        }
    }

    #[test]
    fn each_language_has_its_files_and_the_same_input_gives_the_same_bytes() {
        let paths = |language| {
            container_files(&input(language, Workflow::RESOURCE_CONFIGURE))
                .into_iter()
                .map(|f| {
                    (
                        f.path
                            .rsplit_once("demo/")
                            .map(|(_, p)| p.to_owned())
                            .unwrap_or_default(),
                        f.executable,
                    )
                })
                .collect::<Vec<_>>()
        };
        let own = |list: &[(&str, bool)]| {
            list.iter()
                .map(|(p, x)| ((*p).to_owned(), *x))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(Language::Bash),
            own(&[
                ("Dockerfile", false),
                ("scripts/pipeline.sh", true),
                ("resources/README.md", false)
            ])
        );
        assert_eq!(
            paths(Language::Python),
            own(&[
                ("Dockerfile", false),
                ("scripts/pipeline.py", true),
                ("resources/README.md", false)
            ])
        );
        assert_eq!(
            paths(Language::Go),
            own(&[
                ("Dockerfile", false),
                ("scripts/go.mod", false),
                ("scripts/pipeline.go", false),
                ("resources/README.md", false)
            ])
        );
        for language in [Language::Bash, Language::Python, Language::Go] {
            let once = container_files(&input(language, Workflow::RESOURCE_DELETE));
            assert_eq!(once, container_files(&input(language, Workflow::RESOURCE_DELETE)));
            let script = once
                .iter()
                .find(|f| f.path.ends_with(language.script()))
                .expect("the script");
            assert!(
                !script.content.contains("configmap.yaml"),
                "{language}: delete writes no output"
            );
            assert!(
                script.content.contains("KRATIX_METADATA"),
                "{language}: can run outside a pod"
            );
        }
        let python = container_files(&input(Language::Python, Workflow::PROMISE_CONFIGURE));
        assert!(
            python[0]
                .content
                .contains(&format!("kratix-sdk=={PYTHON_SDK_VERSION}"))
        );
        assert!(python[1].content.contains("import kratix_sdk as ks"));
    }
}

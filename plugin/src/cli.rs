//! The command line, as clap sees it. Handlers live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-kratix",
    bin_name = "kubectl kratix",
    version,
    about = "Scaffold, validate, render, inspect and debug Kratix Promise workflows",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with Promises on disk (offline).
    #[command(subcommand)]
    Promise(PromiseCommand),
    /// Inspect, trigger and debug the workflows of Promises and their resources.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Install the agent (kratix-agent) in the current cluster, or print what would be applied.
    Install(InstallArgs),
    /// Remove the agent; with --crds also the Kratix CRDs and so every Promise and request.
    Uninstall(UninstallArgs),
    /// Print the version.
    Version,
    /// Print a completion script for the shell, for `kubectl-kratix` run directly.
    ///
    /// For `kubectl kratix <TAB>`, put the `kubectl_complete-kratix` helper (in the
    /// krew archive, or `krew/kubectl_complete-kratix`) on your PATH: kubectl asks it.
    Completion {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// What kubectl's plugin completion asks: candidates for the last word, one per
    /// line, then `:DIRECTIVE` (cobra's protocol).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Subcommand, Debug)]
pub enum PromiseCommand {
    /// Check Promises as the Kratix admission webhook does, and more.
    ///
    /// Prints one line per problem: `FILE: field.path: what is wrong`. Exits 0
    /// when there are no errors, 1 when there are, 2 on a usage error.
    Validate(ValidateArgs),
    /// Print every object running a workflow creates, in apply order.
    Render(RenderArgs),
    /// Scaffold a new Promise: promise.yaml (or the split layout), an example
    /// request, a README and, with --pipeline, a first pipeline's container.
    ///
    /// On a terminal, missing values are asked for; without one, NAME, --group
    /// and --kind are required. Existing files are never overwritten without --force.
    #[command(disable_version_flag = true)]
    Init(Box<InitArgs>),
    /// Add a container to a pipeline of a Promise on disk (creating the pipeline
    /// when it does not exist), with a container scaffold, in either layout.
    AddContainer(AddContainerArgs),
    /// Change a Promise on disk as kratix-cli's `update` commands do: its API
    /// (properties, group, kind, version, plural) or its destination selector.
    /// The Promise is validated after the change; an invalid result is put back.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Join a Promise in the split layout (api.yaml, dependencies.yaml,
    /// destination-selectors.yaml, workflows/) into one promise.yaml, as
    /// kratix-cli's `build promise` does.
    ///
    /// The result is validated first (errors stop it, exit 1) and is the same
    /// bytes for the same files. Written to stdout, or to --output (never
    /// over an existing file without --force).
    Build(BuildArgs),
    /// Build the image of every container scaffold under the Promise's
    /// workflows/ (workflows/LIFECYCLE/ACTION/PIPELINE/CONTAINER/Dockerfile),
    /// tagged with the image the Promise gives that container, as kratix-cli's
    /// `build container --all`.
    BuildImages(BuildImagesArgs),
    /// Show a Promise's requests on the cluster and, under each, the requests
    /// made for it (a compound Promise's components), as kratix-cli's
    /// `platform get resources`.
    ///
    /// A component is found by labels its parent's pipeline sets on it:
    /// kratix.io/component-of-promise-name, kratix.io/component-of-resource-name
    /// and kratix.io/component-of-resource-namespace. That is kratix-cli's
    /// convention, not something Kratix enforces: a component made without
    /// them is not shown. Requests in every namespace, unless -n names one.
    Tree(TreeArgs),
    /// Run a workflow's pipelines on this machine with podman or docker: the
    /// containers of the Job the agent would create, with what Kratix's own
    /// containers do between them (object.yaml in, status.yaml and the Work out).
    ///
    /// No cluster is needed and no image is built: build yours first. Exits 0
    /// when every pipeline succeeded, 1 when one failed, 3 when the workflow was
    /// suspended, and 2 when the run could not start (flags, files, the Promise,
    /// a Secret or ConfigMap, the engine).
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The Promise's name (a DNS label, e.g. redis).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// API group of the requests, e.g. example.org.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Kind of the requests, e.g. Redis.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// API version of the requests.
    #[arg(long, value_name = "VERSION", default_value = "v1alpha1")]
    pub version: String,
    /// Plural of the kind (default: the kind in lower case, pluralised).
    #[arg(long, value_name = "PLURAL")]
    pub plural: Option<String>,
    /// Directory to write to (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The split layout: api.yaml, dependencies.yaml, destination-selectors.yaml
    /// (generators' selectors) and workflows/<lifecycle>/<action>/workflow.yaml
    /// (the Promise is named after the directory).
    #[arg(long)]
    pub split: bool,
    /// A first pipeline, as LIFECYCLE/ACTION/NAME (e.g. resource/configure/instance).
    #[arg(long, value_name = "LIFECYCLE/ACTION/NAME", requires = "image")]
    pub pipeline: Option<PipelinePath>,
    /// Image of the first pipeline's container (with --pipeline), the image a
    /// chart on disk is baked into (with --helm-chart DIR|TGZ), the one a
    /// Terraform module's provider files are (with --terraform-module), or the
    /// one a Pulumi schema file is (with --pulumi-schema FILE).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Language of the first pipeline's container script.
    #[arg(
        long,
        value_enum,
        value_name = "LANGUAGE",
        default_value_t,
        requires = "pipeline"
    )]
    pub language: LanguageChoice,
    /// Start from a Helm chart: a directory or packaged .tgz (read offline), or
    /// a repository or OCI URL (fetched with helm). The API is the chart's
    /// values.schema.json (else inferred from values.yaml), each top-level value
    /// a field of the request's spec; a resource configure pipeline renders the
    /// chart with the request's spec as values.
    #[arg(
        long,
        value_name = "URL|DIR|TGZ",
        group = "source",
        conflicts_with = "pipeline"
    )]
    pub helm_chart: Option<String>,
    /// The chart's name in the --helm-chart repository.
    #[arg(long, value_name = "NAME", requires = "helm_chart")]
    pub chart_name: Option<String>,
    /// The chart's version (default: the newest).
    #[arg(long, value_name = "VERSION", requires = "helm_chart")]
    pub chart_version: Option<String>,
    /// Start from an operator: its manifests (a file, or the YAML and JSON files
    /// under a directory) become the Promise's dependencies, the CRD named by
    /// --api-schema-from gives the request's spec, and a resource configure
    /// pipeline turns each request into that CRD's object.
    #[arg(
        long,
        value_name = "DIR|FILE",
        group = "source",
        requires = "api_schema_from",
        conflicts_with = "pipeline"
    )]
    pub operator_manifests: Option<PathBuf>,
    /// The CRD (by name, e.g. clusters.postgresql.cnpg.io) whose stored version's
    /// spec schema is the Promise's API.
    #[arg(long, value_name = "CRD_NAME", requires = "operator_manifests")]
    pub api_schema_from: Option<String>,
    /// Start from a Crossplane CompositeResourceDefinition (v2, namespaced; or v1
    /// with claims): its referenceable version's spec is the API, a resource
    /// configure pipeline writes each request as the XRD's object, and the
    /// Promise goes to Destinations labelled crossplane=enabled.
    #[arg(long, value_name = "FILE", group = "source", conflicts_with = "pipeline")]
    pub crossplane_xrd: Option<PathBuf>,
    /// The XRD's Compositions (a file or directory), made dependencies.
    #[arg(long, value_name = "DIR|FILE", requires = "crossplane_xrd")]
    pub compositions: Option<PathBuf>,
    /// The Crossplane Functions the Compositions use (a file or directory), made dependencies.
    #[arg(long, value_name = "DIR|FILE", requires = "crossplane_xrd")]
    pub functions: Option<PathBuf>,
    /// Leave the XRD, Compositions and Functions out of the dependencies
    /// (they are installed on the Destinations some other way).
    #[arg(long, requires = "crossplane_xrd")]
    pub skip_dependencies: bool,
    /// Start from a Terraform module: a directory, a git:: source
    /// (git::URL[//SUBDIR][?ref=REF]), or a registry source
    /// (NAMESPACE/NAME/PROVIDER[//SUBDIR], fetched with terraform or tofu init).
    /// Each variable is a field of the request's spec; a resource configure
    /// pipeline writes the module call, for Destinations labelled
    /// environment=terraform.
    #[arg(
        long,
        value_name = "DIR|git::URL|REGISTRY_PATH",
        group = "source",
        conflicts_with = "pipeline"
    )]
    pub terraform_module: Option<String>,
    /// The registry module's version or version constraint (registry sources only).
    #[arg(
        long,
        value_name = "VERSION",
        alias = "module-registry-version",
        requires = "terraform_module"
    )]
    pub module_version: Option<String>,
    /// The module's files with provider settings, delivered to every
    /// Destination by a promise configure pipeline built into --image
    /// (default: versions.tf and providers.tf, when the module has them).
    #[arg(
        long,
        value_name = "FILE,...",
        value_delimiter = ',',
        requires = "terraform_module"
    )]
    pub module_providers: Option<Vec<String>>,
    /// Start from a Pulumi component: its package schema (JSON or YAML), a file
    /// or an http(s) URL. The component's inputs are the request's spec; a
    /// resource configure pipeline writes a Pulumi Kubernetes Operator Program
    /// and Stack for each request, for Destinations labelled environment=pulumi.
    #[arg(long, value_name = "FILE|URL", group = "source", conflicts_with = "pipeline")]
    pub pulumi_schema: Option<String>,
    /// The component's token (pkg:index:Name), when the schema has several.
    #[arg(long, value_name = "TOKEN", requires = "pulumi_schema")]
    pub component: Option<String>,
    /// The Secret and key holding the token the pipeline fetches a private
    /// schema (https only) with, as PULUMI_ACCESS_TOKEN.
    #[arg(long, value_name = "SECRET:KEY", requires = "pulumi_schema")]
    pub schema_bearer_token_secret: Option<String>,
    /// The Secret and key holding the Pulumi access token each Stack runs with.
    #[arg(long, value_name = "SECRET:KEY", requires = "pulumi_schema")]
    pub stack_access_token_secret: Option<String>,
    /// Pass the module's outputs on (MODULE_OUTPUT_NAMES).
    #[arg(long, requires = "terraform_module")]
    pub generate_outputs: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct AddContainerArgs {
    /// The pipeline, as LIFECYCLE/ACTION/PIPELINE (e.g. resource/configure/instance).
    #[arg(value_name = "LIFECYCLE/ACTION/PIPELINE")]
    pub pipeline: PipelinePath,
    /// The container's image.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// The container's name (default: from the image's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Language of the container's script: bash (sh with yq), python (with the
    /// Kratix Python SDK) or go (standard library only).
    #[arg(long, value_enum, value_name = "LANGUAGE", default_value_t)]
    pub language: LanguageChoice,
    /// The Promise's directory (holding promise.yaml, or the split layout).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite the container scaffold's files if they exist.
    #[arg(long)]
    pub force: bool,
}

/// `LIFECYCLE/ACTION/NAME`: a workflow and a pipeline name in it.
#[derive(Debug, Clone)]
pub struct PipelinePath {
    pub workflow: kratix_shared::api::Workflow,
    pub name: String,
}

impl std::str::FromStr for PipelinePath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((workflow, name)) = text.rsplit_once('/') else {
            return Err(format!(
                "{text:?} is not LIFECYCLE/ACTION/NAME, as in resource/configure/instance"
            ));
        };
        let workflow = workflow.parse().map_err(|e| {
            format!("{text:?}: {e}; write LIFECYCLE/ACTION/NAME, as in resource/configure/instance")
        })?;
        if name.is_empty() {
            return Err(format!("{text:?} names no pipeline; write LIFECYCLE/ACTION/NAME"));
        }
        Ok(PipelinePath {
            workflow,
            name: name.to_owned(),
        })
    }
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Promise files, directories holding promise.yaml, or split-layout directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A Promise file, a directory holding promise.yaml, or a split-layout directory.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Which workflow: promise/configure, promise/delete, resource/configure or resource/delete.
    #[arg(long, value_name = "TYPE/ACTION")]
    pub workflow: kratix_shared::api::Workflow,
    /// The resource request a resource workflow runs for (default: a request
    /// named `example` in `default` whose spec holds the API's defaults).
    #[arg(long, value_name = "REQUEST.yaml")]
    pub resource: Option<PathBuf>,
    /// The `kratix` ConfigMap, as applied to the cluster.
    #[arg(long, value_name = "KRATIX_CONFIGMAP.yaml")]
    pub config: Option<PathBuf>,
    /// Image that runs the reader, work-writer and status-writer containers.
    #[arg(long, value_name = "IMAGE", env = "PIPELINE_ADAPTER_IMG")]
    pub pipeline_adapter_image: Option<String>,
    /// Pull secret for the pipeline adapter image.
    #[arg(long, value_name = "SECRET", env = "PIPELINE_ADAPTER_PULL_SECRET")]
    pub pipeline_adapter_pull_secret: Option<String>,
    /// Job name suffix, for reproducible output (default: random, as the agent's).
    #[arg(long, value_name = "S")]
    pub name_suffix: Option<String>,
    /// Which Promise, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub promise: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Yaml, ignore_case = true)]
    pub output: OutputFormat,
}

#[derive(Subcommand, Debug)]
pub enum UpdateCommand {
    /// Add properties to the request's spec (-p NAME:TYPE, nested as a.b.c;
    /// types string, number, integer, object, boolean), remove them (-p NAME-),
    /// or rename the API (--group, --kind, --version, --plural; the example
    /// request follows).
    #[command(disable_version_flag = true)]
    Api(UpdateApiArgs),
    /// Make the Kubernetes objects in PATH (a file, or a directory read
    /// recursively) the Promise's dependencies; with --image, a promise/configure
    /// pipeline `dependencies` that writes them instead (its image to build).
    Dependencies(UpdateDependenciesArgs),
    /// Set (KEY=VALUE) or remove (KEY-) a label the Promise's Destinations must
    /// carry: spec.destinationSelectors[0].matchLabels in promise.yaml, or the
    /// first entry of the split layout's destination-selectors.yaml.
    DestinationSelector(UpdateSelectorArgs),
}

#[derive(Args, Debug)]
pub struct UpdateApiArgs {
    /// NAME:TYPE to add (or retype), NAME- to remove; repeatable.
    #[arg(short = 'p', long = "property", value_name = "NAME:TYPE|NAME-")]
    pub properties: Vec<String>,
    /// A new API group.
    #[arg(short = 'g', long, value_name = "GROUP")]
    pub group: Option<String>,
    /// A new kind.
    #[arg(short = 'k', long, value_name = "KIND")]
    pub kind: Option<String>,
    /// A new version name.
    #[arg(short = 'v', long, value_name = "VERSION")]
    pub version: Option<String>,
    /// A new plural.
    #[arg(long, value_name = "PLURAL")]
    pub plural: Option<String>,
    /// The Promise's directory.
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct UpdateDependenciesArgs {
    /// A YAML or JSON file of objects, or a directory of them.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Write them from a pipeline with this image instead of spec.dependencies.
    #[arg(short = 'i', long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// The Promise's directory.
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite the pipeline's container scaffold when it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct UpdateSelectorArgs {
    /// KEY=VALUE to set, KEY- to remove.
    #[arg(value_name = "KEY=VALUE|KEY-")]
    pub selector: String,
    /// The Promise's directory.
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The Promise's directory, in the split layout.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Write here instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite --output when it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct BuildImagesArgs {
    /// The Promise's directory.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The container engine (default: podman if it is on PATH, else docker).
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<EngineChoice>,
    /// Push each image after building it.
    #[arg(long)]
    pub push: bool,
    /// A build argument for every image; repeatable.
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A Promise file, a directory holding promise.yaml, or a split-layout directory.
    #[arg(value_name = "PROMISE_PATH")]
    pub path: PathBuf,
    /// Which workflow: promise/configure, promise/delete, resource/configure or resource/delete.
    #[arg(long, value_name = "TYPE/ACTION")]
    pub workflow: kratix_shared::api::Workflow,
    /// The resource request a resource workflow runs for (default: a request
    /// named `example` in `default` whose spec holds the API's defaults).
    #[arg(long, value_name = "REQUEST.yaml")]
    pub resource: Option<PathBuf>,
    /// Run only this pipeline of the workflow.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// The `kratix` ConfigMap, as applied to the cluster.
    #[arg(long, value_name = "KRATIX_CONFIGMAP.yaml")]
    pub config: Option<PathBuf>,
    /// The container engine (default: podman if it is on PATH, else docker).
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<EngineChoice>,
    /// A Secret the pipelines read: a directory (one file per key) or a Secret
    /// manifest. Repeatable.
    #[arg(long = "secret", value_name = "NAME=DIR|FILE")]
    pub secrets: Vec<String>,
    /// A ConfigMap the pipelines read: a directory (one file per key) or a
    /// ConfigMap manifest. Repeatable.
    #[arg(long = "configmap", value_name = "NAME=DIR|FILE")]
    pub config_maps: Vec<String>,
    /// A Destination manifest: with --state-store, show where the Work's files
    /// would land in that store.
    #[arg(long, value_name = "DESTINATION.yaml", requires = "state_store")]
    pub destination: Option<PathBuf>,
    /// The Destination's GitStateStore or BucketStateStore manifest.
    #[arg(long, value_name = "STORE.yaml", requires = "destination")]
    pub state_store: Option<PathBuf>,
    /// Where the pipelines' /kratix folders are kept (default: a new temporary
    /// directory, kept and printed at the end). Its contents are replaced.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Run again whenever the Promise, the request or a file under the
    /// Promise's directory changes (images are not rebuilt).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// The whole result as yaml or json on stdout (the logs go to stderr).
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT", ignore_case = true)]
    pub output: Option<OutputFormat>,
    /// Colour the log prefixes: auto (on a terminal), always or never.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// Which Promise, when the file holds several.
    #[arg(long, value_name = "NAME")]
    pub promise: Option<String>,
    /// Run containers whose securityContext asks for privileged mode, added
    /// capabilities or user 0 as the kubelet would (under rootful docker,
    /// root on this machine); without it such a container is refused.
    #[arg(long)]
    pub allow_privileged: bool,
}

/// The language of a container scaffold's script.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LanguageChoice {
    /// POSIX sh with yq, on Alpine.
    #[default]
    Bash,
    /// Python with the Kratix Python SDK (kratix-sdk).
    Python,
    /// Go with the standard library only, built in the image.
    Go,
}

impl From<LanguageChoice> for kratix_shared::authoring::scaffold::Language {
    fn from(choice: LanguageChoice) -> Self {
        use kratix_shared::authoring::scaffold::Language;
        match choice {
            LanguageChoice::Bash => Language::Bash,
            LanguageChoice::Python => Language::Python,
            LanguageChoice::Go => Language::Go,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineChoice {
    Podman,
    Docker,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Yaml,
    Json,
}

/// kubectl's `--dry-run` values that this plugin supports.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRun {
    /// Print the objects; send nothing.
    Client,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The agent's image (also the pipeline adapter image).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Print the objects instead of applying them.
    #[arg(long = "dry-run", value_enum, value_name = "client", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Wait until the agent's Deployment is Available.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Port of the agent's /healthz, /readyz and /metrics; 0 picks a free one and drops
    /// the probes (for test platforms whose pods share the host's network).
    #[arg(long, value_name = "PORT", default_value_t = kratix_shared::install::agent_manifests::HTTP_PORT)]
    pub metrics_port: u16,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Also delete the Kratix CRDs, and with them every Promise, request and Work.
    #[arg(long)]
    pub crds: bool,
    /// Print what would be deleted instead of deleting it.
    #[arg(long = "dry-run", value_enum, value_name = "client", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    kratix_shared::codec::duration::parse_go_duration(text).map_err(|e| format!("{e}; write 30s, 5m or 1h"))
}

#[derive(Subcommand, Debug)]
pub enum WorkflowsCommand {
    /// Each workflow's pipelines (phase, attempts, last run, duration, Job, pod),
    /// conditions and outputs.
    ///
    /// Pipelines come in the order they run; for one Promise or one request its
    /// conditions and where its output went (Destination, path, commit) follow.
    ///
    /// Without PROMISE: every Promise and its requests. With PROMISE: that
    /// Promise and its requests (in -n's namespace, or all with -A). With
    /// RESOURCE too: that request alone.
    Status(StatusArgs),
    /// Re-run a workflow now, and with --wait follow it to its end.
    ///
    /// Sets kratix.io/manual-reconciliation (or, with --all-resources,
    /// kratix.io/reconcile-resources on the Promise).
    ///
    /// With --wait, shows progress until the run ends; exits 1 if it fails.
    Trigger(TriggerArgs),
    /// Logs of a workflow's pipeline pods, in run order, prefixed `pipeline › container`.
    ///
    /// Each pipeline in order, and in it every container in the order it runs
    /// (reader, your containers, work-writer, status-writer). Log lines go to
    /// stdout, `+ pipeline › container (pod)` markers to stderr.
    Logs(LogsArgs),
    /// Per pipeline: its ServiceAccount, who owns it, and its roles, bindings and rules.
    ///
    /// With --check VERB RESOURCE: whether each account may, answered from the
    /// RBAC objects and confirmed with a SubjectAccessReview; exits 1 when any may not.
    #[command(visible_alias = "sa")]
    ServiceAccounts(ServiceAccountsArgs),
}

/// What `-o` prints for reports.
#[derive(ValueEnum, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// The default table.
    Table,
    /// The table with more columns.
    Wide,
    Json,
    Yaml,
}

#[derive(ValueEnum, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// A Promise's name.
    #[arg(value_name = "PROMISE")]
    pub promise: Option<String>,
    /// One resource request of the Promise.
    #[arg(value_name = "RESOURCE", requires = "promise")]
    pub resource: Option<String>,
    /// Requests in every namespace.
    #[arg(short = 'A', long, conflicts_with = "resource")]
    pub all_namespaces: bool,
    /// Only requests with these labels, as kubectl's -l (Promises are all shown).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// table (default), wide, json or yaml; config.toml's `output` sets the default.
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT", ignore_case = true)]
    pub output: Option<ReportFormat>,
    /// Print again whenever it changes, until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Colour the phases: auto (on a terminal), always or never; NO_COLOR turns auto off.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[derive(Args, Debug)]
pub struct TreeArgs {
    /// The Promise whose requests are the roots.
    #[arg(value_name = "PROMISE")]
    pub promise: String,
    /// tree (default), json or yaml.
    #[arg(
        short = 'o',
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        ignore_case = true
    )]
    pub output: TreeFormat,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

/// What `promise tree -o` prints.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TreeFormat {
    /// One line a request, components indented under it.
    #[default]
    Tree,
    Json,
    Yaml,
}

#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The Promise (alone: its own workflow).
    #[arg(value_name = "PROMISE")]
    pub promise: String,
    /// One resource request of the Promise (its namespace: -n, else the context's).
    #[arg(value_name = "RESOURCE", conflicts_with = "all_resources")]
    pub resource: Option<String>,
    /// Re-run the workflow of every request of the Promise.
    #[arg(long)]
    pub all_resources: bool,
    /// Wait for the run to end, printing progress; exit 1 if it fails.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The Promise (alone: its own workflow).
    #[arg(value_name = "PROMISE")]
    pub promise: String,
    /// One resource request of the Promise (its namespace: -n, else the context's).
    #[arg(value_name = "RESOURCE")]
    pub resource: Option<String>,
    /// Only this pipeline.
    #[arg(long, value_name = "PIPELINE")]
    pub pipeline: Option<String>,
    /// Only this container (reader, work-writer, status-writer or one of yours).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Follow: stream each container as it starts, pipeline after pipeline,
    /// until the workflow ends.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only lines newer than this (5s, 2m, 3h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only the last N lines of each container.
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,
    /// Start each line with its timestamp.
    #[arg(long)]
    pub timestamps: bool,
    /// Which run: 0 is the latest (default), 1 the one before, and so on, as
    /// far back as the Jobs Kratix keeps (numberOfJobsToKeep).
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "follow")]
    pub run: usize,
    /// Colour the prefixes: auto (on a terminal), always or never.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[derive(Args, Debug)]
pub struct ServiceAccountsArgs {
    /// The Promise.
    #[arg(value_name = "PROMISE")]
    pub promise: String,
    /// One resource request: its resource pipelines' accounts only.
    #[arg(value_name = "RESOURCE")]
    pub resource: Option<String>,
    /// Whether each account may VERB RESOURCE (as kubectl auth can-i: `create
    /// deployments.apps`, `get pods/log`), in -n's namespace; without -n, in the
    /// account's own.
    #[arg(long, num_args = 2, value_names = ["VERB", "RESOURCE"])]
    pub check: Option<Vec<String>>,
    /// table (default), wide (adds each grant's binding) , json or yaml.
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT", ignore_case = true)]
    pub output: Option<ReportFormat>,
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn every_command_and_flag_is_well_formed() {
        // clap checks names, shorts and conflicts only when a command is built:
        // this builds them all, so a clash fails here, not in a user's hands.
        super::Cli::command().debug_assert();
    }
}

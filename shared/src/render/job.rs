//! The pipeline Job: Kratix's containers around the user's.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, KeyToPath, LocalObjectReference,
    PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::env::{default_env, is_last_pipeline, trace_env};
use super::names::{self, READER, STATUS_WRITER, WORK_WRITER};
use super::{AdapterImage, Subject};
use crate::api::config::KratixConfig;
use crate::api::labels;
use crate::api::pipeline::{Pipeline, PipelineContainer};
use crate::api::workflow::{Workflow, WorkflowAction, WorkflowType};

/// Where the adapter binary lives in the pipeline adapter image.
pub const ADAPTER_BINARY: &str = "/bin/kratix-agent";
const INPUT_DIR: &str = "/kratix/input";
const OUTPUT_DIR: &str = "/kratix/output";
const METADATA_DIR: &str = "/kratix/metadata";
const WORK_CREATOR_DIR: &str = "/work-creator-files";
const DEFAULT_RESTART_POLICY: &str = "OnFailure";

/// Everything that shapes one pipeline's Job.
pub struct JobContext<'a> {
    pub promise: &'a str,
    pub workflow: Workflow,
    pub pipeline: &'a Pipeline,
    pub is_last: bool,
    pub subject: &'a Subject<'a>,
    pub job_name: String,
    pub namespace: &'a str,
    /// `spec.workflows.config.pipelineNamespace` is set: resource names and labels
    /// then carry the request's namespace too.
    pub pipeline_namespace_set: bool,
    pub service_account: &'a str,
    pub hash: &'a str,
    pub config: Option<&'a KratixConfig>,
    pub adapter: &'a AdapterImage,
}

fn quantity(value: &str) -> Quantity {
    Quantity(value.to_owned())
}

/// Requests cpu 100m, memory and ephemeral storage 128Mi; limits double that.
pub fn builtin_resources() -> ResourceRequirements {
    let amounts = |cpu: &str, bytes: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), quantity(cpu)),
            ("ephemeral-storage".to_owned(), quantity(bytes)),
            ("memory".to_owned(), quantity(bytes)),
        ])
    };
    ResourceRequirements {
        requests: Some(amounts("100m", "128Mi")),
        limits: Some(amounts("200m", "256Mi")),
        ..ResourceRequirements::default()
    }
}

/// The locked-down context every Kratix container runs with.
pub fn kratix_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: None,
        }),
        privileged: Some(false),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}

fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

impl JobContext<'_> {
    fn default_resources(&self) -> ResourceRequirements {
        self.config
            .and_then(|c| c.workflows.default_container_resources.clone())
            .unwrap_or_else(builtin_resources)
    }

    fn default_pull_policy(&self) -> Option<String> {
        self.config
            .and_then(|c| c.workflows.default_image_pull_policy.clone())
    }

    fn default_env(&self) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
        default_env(self.workflow, self.promise, self.pipeline.name(), self.subject)
    }

    fn kratix_container(&self, name: &str, args: Vec<String>) -> Container {
        Container {
            name: name.to_owned(),
            image: Some(self.adapter.image.clone()),
            command: Some(vec![ADAPTER_BINARY.to_owned()]),
            args: Some(args),
            image_pull_policy: self.default_pull_policy(),
            security_context: Some(kratix_security_context()),
            resources: Some(self.default_resources()),
            ..Container::default()
        }
    }

    fn reader(&self) -> Container {
        Container {
            env: Some(self.default_env()),
            volume_mounts: Some(vec![
                mount(names::SHARED_INPUT_VOLUME, INPUT_DIR, false),
                mount(names::SHARED_OUTPUT_VOLUME, OUTPUT_DIR, false),
            ]),
            ..self.kratix_container(READER, vec!["reader".to_owned()])
        }
    }

    fn user_container(&self, container: &PipelineContainer) -> Container {
        let mut env = self.default_env();
        env.extend(container.env.iter().cloned());
        let mut mounts = vec![
            mount(names::SHARED_INPUT_VOLUME, INPUT_DIR, true),
            mount(names::SHARED_OUTPUT_VOLUME, OUTPUT_DIR, false),
            mount(names::SHARED_METADATA_VOLUME, METADATA_DIR, false),
        ];
        mounts.extend(container.volume_mounts.iter().cloned());
        Container {
            name: container.name.clone(),
            image: Some(container.image.clone()),
            command: container.command.clone(),
            args: container.args.clone(),
            env: Some(env),
            env_from: (!container.env_from.is_empty()).then(|| container.env_from.clone()),
            volume_mounts: Some(mounts),
            image_pull_policy: container
                .image_pull_policy
                .clone()
                .or_else(|| self.default_pull_policy()),
            security_context: container
                .security_context
                .clone()
                .or_else(|| KratixConfig::user_container_security_context(self.config)),
            resources: Some(
                container
                    .resources
                    .clone()
                    .unwrap_or_else(|| self.default_resources()),
            ),
            ..Container::default()
        }
    }

    fn work_writer(&self) -> Container {
        let mut args = vec![
            "work-creator".to_owned(),
            "--input-directory".to_owned(),
            WORK_CREATOR_DIR.to_owned(),
            "--promise-name".to_owned(),
            self.promise.to_owned(),
            "--pipeline-name".to_owned(),
            self.pipeline.name().to_owned(),
            "--namespace".to_owned(),
            self.namespace.to_owned(),
            "--workflow-type".to_owned(),
            self.workflow.workflow_type.as_str().to_owned(),
        ];
        if let Subject::Resource { name, namespace, .. } = self.subject {
            args.extend(["--resource-name".to_owned(), (*name).to_owned()]);
            if self.pipeline_namespace_set {
                args.extend(["--resource-namespace".to_owned(), (*namespace).to_owned()]);
            }
        }
        let mut env = trace_env();
        if self.subject.dry_run() {
            env.push(k8s_openapi::api::core::v1::EnvVar {
                name: "KRATIX_DRY_RUN".to_owned(),
                value: Some("true".to_owned()),
                value_from: None,
            });
        }
        Container {
            env: Some(env),
            volume_mounts: Some(vec![
                mount(
                    names::SHARED_OUTPUT_VOLUME,
                    &format!("{WORK_CREATOR_DIR}/input"),
                    false,
                ),
                mount(
                    names::SHARED_METADATA_VOLUME,
                    &format!("{WORK_CREATOR_DIR}/metadata"),
                    false,
                ),
                mount(
                    names::PROMISE_SCHEDULING_VOLUME,
                    &format!("{WORK_CREATOR_DIR}/kratix-system"),
                    false,
                ),
            ]),
            ..self.kratix_container(WORK_WRITER, args)
        }
    }

    fn status_writer(&self) -> Container {
        let mut env = vec![is_last_pipeline(self.is_last)];
        env.extend(self.default_env());
        Container {
            env: Some(env),
            volume_mounts: Some(vec![mount(
                names::SHARED_METADATA_VOLUME,
                &format!("{WORK_CREATOR_DIR}/metadata"),
                false,
            )]),
            ..self.kratix_container(STATUS_WRITER, vec!["update-status".to_owned()])
        }
    }

    fn volumes(&self) -> Vec<Volume> {
        let mut volumes = Vec::new();
        if self.workflow.action == WorkflowAction::Configure {
            volumes.push(Volume {
                name: names::PROMISE_SCHEDULING_VOLUME.to_owned(),
                config_map: Some(ConfigMapVolumeSource {
                    name: names::destination_selectors_configmap(self.promise),
                    items: Some(vec![KeyToPath {
                        key: super::DESTINATION_SELECTORS_KEY.to_owned(),
                        path: names::PROMISE_SCHEDULING_VOLUME.to_owned(),
                        ..KeyToPath::default()
                    }]),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            });
        }
        volumes.push(empty_dir(names::SHARED_INPUT_VOLUME));
        volumes.push(empty_dir(names::SHARED_OUTPUT_VOLUME));
        volumes.push(empty_dir(names::SHARED_METADATA_VOLUME));
        volumes.extend(self.pipeline.spec.volumes.iter().cloned());
        volumes
    }

    fn labels(&self) -> BTreeMap<String, String> {
        // The pipeline's own labels first: the agent's, which it selects its Jobs
        // by, always win (a departure from Kratix, docs/decisions.md).
        let mut labels: BTreeMap<String, String> = self
            .pipeline
            .metadata
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| labels::reserved_job_label(key).is_none())
            .collect();
        labels.extend([
            (labels::PROMISE_NAME.to_owned(), self.promise.to_owned()),
            (
                labels::WORKFLOW_TYPE.to_owned(),
                self.workflow.workflow_type.as_str().to_owned(),
            ),
            (labels::PIPELINE_NAME.to_owned(), self.pipeline.name().to_owned()),
            (
                labels::WORKFLOW_ACTION.to_owned(),
                self.workflow.action.as_str().to_owned(),
            ),
            (
                labels::MANAGED_BY.to_owned(),
                labels::MANAGED_BY_KRATIX.to_owned(),
            ),
            (labels::HASH.to_owned(), self.hash.to_owned()),
        ]);
        if let Some(uid) = self.subject.uid() {
            labels.insert(labels::OBJECT_UID.to_owned(), uid.to_owned());
        }
        if let Subject::Resource { name, namespace, .. } = self.subject {
            labels.insert(labels::RESOURCE_NAME.to_owned(), (*name).to_owned());
            if self.pipeline_namespace_set {
                labels.insert(labels::RESOURCE_NAMESPACE.to_owned(), (*namespace).to_owned());
            }
        }
        labels
    }

    fn job_annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::from([
            (
                labels::JOB_RESOURCE_NAMESPACE.to_owned(),
                self.subject.namespace().to_owned(),
            ),
            (
                labels::JOB_RESOURCE_NAME.to_owned(),
                self.subject.name().to_owned(),
            ),
            (
                labels::JOB_RESOURCE_KIND.to_owned(),
                self.subject.kind().to_owned(),
            ),
            (
                labels::JOB_RESOURCE_API_VERSION.to_owned(),
                self.subject.api_version(),
            ),
        ]);
        annotations.extend(self.subject.trace_annotations());
        annotations
    }

    fn pod_annotations(&self) -> Option<BTreeMap<String, String>> {
        let mut annotations: BTreeMap<String, String> = self
            .pipeline
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| labels::reserved_job_annotation(key).is_none())
            .collect();
        annotations.extend(self.subject.trace_annotations());
        (!annotations.is_empty()).then_some(annotations)
    }

    fn owner_references(&self) -> Option<Vec<OwnerReference>> {
        let owner = self.subject.owner()?;
        match self.workflow.workflow_type {
            WorkflowType::Promise => Some(vec![OwnerReference {
                controller: Some(true),
                block_owner_deletion: Some(true),
                ..owner
            }]),
            // Owner references cannot cross namespaces.
            WorkflowType::Resource => (self.subject.namespace() == self.namespace).then(|| vec![owner]),
        }
    }

    pub fn job(&self) -> Job {
        let spec = &self.pipeline.spec;
        let mut init_containers = vec![self.reader()];
        init_containers.extend(spec.containers.iter().map(|c| self.user_container(c)));
        if self.workflow.action == WorkflowAction::Configure {
            init_containers.push(self.work_writer());
        }
        let mut pull_secrets: Vec<LocalObjectReference> = self
            .adapter
            .pull_secret
            .iter()
            .map(|name| LocalObjectReference { name: name.clone() })
            .collect();
        pull_secrets.extend(spec.image_pull_secrets.iter().cloned());
        let labels = self.labels();
        let backoff_limit = spec
            .job_options
            .as_ref()
            .and_then(|j| j.backoff_limit)
            .or_else(|| self.config.and_then(|c| c.workflows.default_backoff_limit));
        Job {
            metadata: ObjectMeta {
                name: Some(self.job_name.clone()),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(labels.clone()),
                annotations: Some(self.job_annotations()),
                owner_references: self.owner_references(),
                ..ObjectMeta::default()
            },
            spec: Some(JobSpec {
                backoff_limit,
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        annotations: self.pod_annotations(),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(self.service_account.to_owned()),
                        init_containers: Some(init_containers),
                        containers: vec![self.status_writer()],
                        restart_policy: Some(
                            spec.restart_policy
                                .clone()
                                .unwrap_or_else(|| DEFAULT_RESTART_POLICY.to_owned()),
                        ),
                        image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
                        node_selector: (!spec.node_selector.is_empty()).then(|| spec.node_selector.clone()),
                        tolerations: (!spec.tolerations.is_empty()).then(|| spec.tolerations.clone()),
                        volumes: Some(self.volumes()),
                        ..PodSpec::default()
                    }),
                },
                ..JobSpec::default()
            }),
            status: None,
        }
    }
}

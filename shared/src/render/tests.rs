//! Rendering tests. Expectations are written by hand from the contract; hashes
//! and hashed names were computed outside this code (md5sum, or Python's json
//! module with sorted keys and compact separators, then md5).

use serde_json::{Value, json};

use super::*;
use crate::api::pipeline::parse_pipelines;
use crate::api::resource_api::ResourceApi;

const SUFFIX: &str = "abcde";

fn promise_with_deps() -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Promise",
        "metadata": {"name": "redis", "uid": "promise-uid"},
        "spec": {
            "destinationSelectors": [{"matchLabels": {"env": "dev"}}],
            "workflows": {"promise": {"configure": [{
                "apiVersion": "platform.kratix.io/v1alpha1",
                "kind": "Pipeline",
                "metadata": {"name": "deps"},
                "spec": {"containers": [{"name": "install", "image": "example/install:v1"}]}
            }]}}
        }
    })
}

fn pipelines_of(promise: &Value, workflow: Workflow) -> Vec<Pipeline> {
    let path = format!(
        "/spec/workflows/{}/{}",
        workflow.workflow_type.as_str(),
        workflow.action.as_str()
    );
    let values = promise
        .pointer(&path)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    parse_pipelines(&values, "test").expect("fixture pipelines parse")
}

fn render(
    promise: &Value,
    workflow: Workflow,
    resource: Option<(&Value, &ResourceApi)>,
    config: Option<&KratixConfig>,
) -> Vec<PipelineResources> {
    let pipelines = pipelines_of(promise, workflow);
    let adapter = AdapterImage {
        image: "adapter:test".to_owned(),
        pull_secret: None,
    };
    render_workflow(&RenderRequest {
        promise,
        workflow,
        pipelines: &pipelines,
        resource,
        config,
        adapter: &adapter,
        job_name_suffix: Some(SUFFIX),
    })
    .expect("renders")
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("encodes")
}

fn builtin_resources_json() -> Value {
    json!({
        "limits": {"cpu": "200m", "ephemeral-storage": "256Mi", "memory": "256Mi"},
        "requests": {"cpu": "100m", "ephemeral-storage": "128Mi", "memory": "128Mi"}
    })
}

fn kratix_security_context_json() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "privileged": false,
        "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

fn promise_env(pipeline: &str) -> Value {
    json!([
        {"name": "KRATIX_WORKFLOW_ACTION", "value": "configure"},
        {"name": "KRATIX_WORKFLOW_TYPE", "value": "promise"},
        {"name": "KRATIX_PROMISE_NAME", "value": "redis"},
        {"name": "KRATIX_PIPELINE_NAME", "value": pipeline},
        {"name": "KRATIX_OBJECT_KIND", "value": "Promise"},
        {"name": "KRATIX_OBJECT_GROUP", "value": "platform.kratix.io"},
        {"name": "KRATIX_OBJECT_VERSION", "value": "v1alpha1"},
        {"name": "KRATIX_OBJECT_NAME", "value": "redis"},
        {"name": "KRATIX_OBJECT_NAMESPACE", "value": ""},
        {"name": "KRATIX_CRD_PLURAL", "value": "promises"},
        {"name": "KRATIX_CLUSTER_SCOPED", "value": "true"}
    ])
}

#[test]
fn promise_configure_job_is_exactly_as_the_contract_describes() {
    let rendered = render(&promise_with_deps(), Workflow::PROMISE_CONFIGURE, None, None);
    assert_eq!(rendered.len(), 1);
    let labels = json!({
        "agent.kratix.io/object-uid": "promise-uid",
        "app.kubernetes.io/managed-by": "Kratix",
        // md5 of {"destinationSelectors":[{"matchLabels":{"env":"dev"}}],"workflows":...}
        "kratix.io/hash": "92e9a2e026bfe0e8ad13c211cc202bbc",
        "kratix.io/pipeline-name": "deps",
        "kratix.io/promise-name": "redis",
        "kratix.io/workflow-action": "configure",
        "kratix.io/workflow-type": "promise"
    });
    let mut status_writer_env = vec![json!({"name": "IS_LAST_PIPELINE", "value": "true"})];
    status_writer_env.extend(promise_env("deps").as_array().cloned().unwrap_or_default());
    let expected = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "kratix-redis-deps-abcde",
            "namespace": "kratix-platform-system",
            "labels": labels,
            "annotations": {
                "kratix.io/job-resource-api-version": "platform.kratix.io/v1alpha1",
                "kratix.io/job-resource-kind": "Promise",
                "kratix.io/job-resource-name": "redis",
                "kratix.io/job-resource-namespace": ""
            },
            "ownerReferences": [{
                "apiVersion": "platform.kratix.io/v1alpha1",
                "kind": "Promise",
                "name": "redis",
                "uid": "promise-uid",
                "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "redis-promise-configure-deps",
                    "restartPolicy": "OnFailure",
                    "initContainers": [
                        {
                            "name": "reader",
                            "image": "adapter:test",
                            "command": ["/bin/kratix-agent"],
                            "args": ["reader"],
                            "env": promise_env("deps"),
                            "volumeMounts": [
                                {"name": "shared-input", "mountPath": "/kratix/input"},
                                {"name": "shared-output", "mountPath": "/kratix/output"}
                            ],
                            "securityContext": kratix_security_context_json(),
                            "resources": builtin_resources_json()
                        },
                        {
                            "name": "install",
                            "image": "example/install:v1",
                            "env": promise_env("deps"),
                            "volumeMounts": [
                                {"name": "shared-input", "mountPath": "/kratix/input", "readOnly": true},
                                {"name": "shared-output", "mountPath": "/kratix/output"},
                                {"name": "shared-metadata", "mountPath": "/kratix/metadata"}
                            ],
                            "resources": builtin_resources_json()
                        },
                        {
                            "name": "work-writer",
                            "image": "adapter:test",
                            "command": ["/bin/kratix-agent"],
                            "args": [
                                "work-creator", "--input-directory", "/work-creator-files",
                                "--promise-name", "redis", "--pipeline-name", "deps",
                                "--namespace", "kratix-platform-system", "--workflow-type", "promise"
                            ],
                            "env": [
                                {"name": "KRATIX_TRACE_PARENT", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['kratix.io/trace-parent']"}}},
                                {"name": "KRATIX_TRACE_STATE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['kratix.io/trace-state']"}}}
                            ],
                            "volumeMounts": [
                                {"name": "shared-output", "mountPath": "/work-creator-files/input"},
                                {"name": "shared-metadata", "mountPath": "/work-creator-files/metadata"},
                                {"name": "promise-scheduling", "mountPath": "/work-creator-files/kratix-system"}
                            ],
                            "securityContext": kratix_security_context_json(),
                            "resources": builtin_resources_json()
                        }
                    ],
                    "containers": [{
                        "name": "status-writer",
                        "image": "adapter:test",
                        "command": ["/bin/kratix-agent"],
                        "args": ["update-status"],
                        "env": status_writer_env,
                        "volumeMounts": [{"name": "shared-metadata", "mountPath": "/work-creator-files/metadata"}],
                        "securityContext": kratix_security_context_json(),
                        "resources": builtin_resources_json()
                    }],
                    "volumes": [
                        {"name": "promise-scheduling", "configMap": {
                            "name": "destination-selectors-redis",
                            "items": [{"key": "destinationSelectors", "path": "promise-scheduling"}]
                        }},
                        {"name": "shared-input", "emptyDir": {}},
                        {"name": "shared-output", "emptyDir": {}},
                        {"name": "shared-metadata", "emptyDir": {}}
                    ]
                }
            }
        }
    });
    assert_eq!(to_json(&rendered[0].job), expected);
}

#[test]
fn promise_configure_rbac_and_configmap() {
    let rendered = render(&promise_with_deps(), Workflow::PROMISE_CONFIGURE, None, None);
    let objects = workflow_objects(&rendered).expect("objects");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "Job"
        ]
    );
    assert_eq!(
        objects[0],
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "redis-promise-configure-deps", "namespace": "kratix-platform-system",
                         "labels": {"kratix.io/promise-name": "redis"}}
        })
    );
    assert_eq!(
        objects[1],
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "destination-selectors-redis", "namespace": "kratix-platform-system",
                         "labels": {"kratix.io/promise-name": "redis"}},
            "data": {"destinationSelectors": "- matchLabels:\n    env: dev\n  source: promise\n"}
        })
    );
    // Works only where the pipeline runs...
    assert_eq!(
        objects[2],
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "redis-promise-configure-deps", "namespace": "kratix-platform-system",
                         "labels": {"kratix.io/promise-name": "redis"}},
            "rules": [{"apiGroups": ["platform.kratix.io"], "resources": ["works"],
                       "verbs": ["list", "create", "patch"]}]
        })
    );
    assert_eq!(
        objects[3],
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "redis-promise-configure-deps", "namespace": "kratix-platform-system",
                         "labels": {"kratix.io/promise-name": "redis"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "redis-promise-configure-deps"},
            "subjects": [{"kind": "ServiceAccount", "name": "redis-promise-configure-deps", "namespace": "kratix-platform-system"}]
        })
    );
    // ...and this Promise only, never another one.
    assert_eq!(
        objects[4],
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "redis-promise-configure-deps", "labels": {"kratix.io/promise-name": "redis"}},
            "rules": [
                {"apiGroups": ["platform.kratix.io"], "resources": ["promises"], "resourceNames": ["redis"],
                 "verbs": ["get", "patch"]},
                {"apiGroups": ["platform.kratix.io"], "resources": ["promises/status"], "resourceNames": ["redis"],
                 "verbs": ["get", "update", "patch"]}
            ]
        })
    );
    assert_eq!(
        objects[5],
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "redis-promise-configure-deps", "labels": {"kratix.io/promise-name": "redis"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "redis-promise-configure-deps"},
            "subjects": [{"kind": "ServiceAccount", "name": "redis-promise-configure-deps", "namespace": "kratix-platform-system"}]
        })
    );
}

fn redis_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "redis.marketplace.kratix.io"},
        "spec": {
            "group": "marketplace.kratix.io",
            "names": {"kind": "redis", "plural": "redis", "singular": "redis"},
            "scope": "Namespaced",
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "string", "default": "small"}}}
                }}}}]
        }
    })
}

fn pipeline(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": name}, "spec": spec})
}

fn resource_promise(config: Value, configure: Vec<Value>, delete: Vec<Value>) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Promise",
        "metadata": {"name": "redis"},
        "spec": {
            "api": redis_crd(),
            "workflows": {"config": config, "resource": {"configure": configure, "delete": delete}}
        }
    })
}

fn request(namespace: &str) -> Value {
    json!({
        "apiVersion": "marketplace.kratix.io/v1alpha1",
        "kind": "redis",
        "metadata": {"name": "cache", "namespace": namespace, "uid": "request-uid",
                     "annotations": {"kratix.io/trace-parent": "00-abc-def-01"}},
        "spec": {"size": "small"}
    })
}

fn redis_api() -> ResourceApi {
    let (api, problems) = ResourceApi::decode(&redis_crd());
    assert_eq!(problems, vec![]);
    api.expect("CRD decodes")
}

fn simple_container(name: &str) -> Value {
    json!({"containers": [{"name": name, "image": format!("example/{name}:v1")}]})
}

#[test]
fn resource_workflow_in_the_request_namespace() {
    let promise = resource_promise(
        json!({}),
        vec![
            pipeline("first", simple_container("one")),
            pipeline("second", simple_container("two")),
        ],
        vec![],
    );
    let api = redis_api();
    let request = request("team-a");
    let rendered = render(
        &promise,
        Workflow::RESOURCE_CONFIGURE,
        Some((&request, &api)),
        None,
    );
    assert_eq!(rendered.len(), 2);
    let job = to_json(&rendered[0].job);
    assert_eq!(job["metadata"]["name"], "kratix-redis-cache-first-abcde");
    assert_eq!(job["metadata"]["namespace"], "team-a");
    // md5("<md5 of the Promise spec>-<md5 of {"size":"small"}>"), computed in Python:
    // aec56d69... for the spec, c2ef3840... for the request.
    assert_eq!(
        job["metadata"]["labels"]["kratix.io/hash"],
        "f7dbfd8f823d9e79c7b037e77050c37a"
    );
    assert_eq!(job["metadata"]["labels"]["kratix.io/resource-name"], "cache");
    assert_eq!(
        job["metadata"]["labels"]["agent.kratix.io/object-uid"], "request-uid",
        "the agent finds a request's Jobs by its UID"
    );
    assert!(
        job["metadata"]["labels"]
            .get("kratix.io/resource-namespace")
            .is_none()
    );
    assert_eq!(
        job["metadata"]["ownerReferences"],
        json!([{"apiVersion": "marketplace.kratix.io/v1alpha1", "kind": "redis", "name": "cache", "uid": "request-uid"}])
    );
    assert_eq!(
        job["metadata"]["annotations"]["kratix.io/trace-parent"],
        "00-abc-def-01"
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["annotations"]["kratix.io/trace-parent"],
        "00-abc-def-01"
    );
    let env = &job["spec"]["template"]["spec"]["initContainers"][0]["env"];
    assert_eq!(env[4], json!({"name": "KRATIX_OBJECT_KIND", "value": "redis"}));
    assert_eq!(
        env[5],
        json!({"name": "KRATIX_OBJECT_GROUP", "value": "marketplace.kratix.io"})
    );
    assert_eq!(
        env[8],
        json!({"name": "KRATIX_OBJECT_NAMESPACE", "value": "team-a"})
    );
    assert_eq!(env[9], json!({"name": "KRATIX_CRD_PLURAL", "value": "redis"}));
    assert_eq!(
        env[10],
        json!({"name": "KRATIX_CLUSTER_SCOPED", "value": "false"})
    );
    let last_flags: Vec<Value> = rendered
        .iter()
        .map(|r| to_json(&r.job)["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"].clone())
        .collect();
    assert_eq!(last_flags, [json!("false"), json!("true")]);
    let writer_args = &job["spec"]["template"]["spec"]["initContainers"][2]["args"];
    assert_eq!(
        writer_args,
        &json!([
            "work-creator",
            "--input-directory",
            "/work-creator-files",
            "--promise-name",
            "redis",
            "--pipeline-name",
            "first",
            "--namespace",
            "team-a",
            "--workflow-type",
            "resource",
            "--resource-name",
            "cache"
        ])
    );
    let objects = workflow_objects(&rendered).expect("objects");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    // The ConfigMap is listed once, with the first pipeline.
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "Role",
            "RoleBinding",
            "Job",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Job"
        ]
    );
    assert_eq!(
        objects[2]["rules"],
        json!([
            {"apiGroups": ["marketplace.kratix.io"], "resources": ["redis"], "verbs": ["get", "patch"]},
            {"apiGroups": ["marketplace.kratix.io"], "resources": ["redis/status"],
             "verbs": ["get", "update", "patch"]},
            {"apiGroups": ["platform.kratix.io"], "resources": ["works"], "verbs": ["list", "create", "patch"]}
        ])
    );
    assert_eq!(objects[2]["metadata"]["name"], "redis-resource-configure-first");
    assert_eq!(objects[2]["metadata"]["namespace"], "team-a");
}

#[test]
fn pipeline_namespace_moves_the_job_and_adds_cross_namespace_grants() {
    let promise = resource_promise(
        json!({"pipelineNamespace": "pipelines"}),
        vec![pipeline("first", simple_container("one"))],
        vec![],
    );
    let api = redis_api();
    let request = request("team-a");
    let rendered = render(
        &promise,
        Workflow::RESOURCE_CONFIGURE,
        Some((&request, &api)),
        None,
    );
    let job = to_json(&rendered[0].job);
    assert_eq!(job["metadata"]["name"], "kratix-redis-cache-team-a-first-abcde");
    assert_eq!(job["metadata"]["namespace"], "pipelines");
    assert_eq!(
        job["metadata"]["labels"]["kratix.io/resource-namespace"],
        "team-a"
    );
    // No owner reference across namespaces.
    assert!(job["metadata"].get("ownerReferences").is_none());
    let args = job["spec"]["template"]["spec"]["initContainers"][2]["args"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        args[args.len() - 2..],
        [json!("--resource-namespace"), json!("team-a")]
    );
    let rbac = &rendered[0];
    assert_eq!(rbac.roles[0].metadata.namespace.as_deref(), Some("pipelines"));
    assert_eq!(rbac.cluster_roles.len(), 1);
    assert_eq!(
        rbac.cluster_roles[0].metadata.name.as_deref(),
        Some("redis-resource-configure-first-team-a")
    );
    assert_eq!(
        to_json(&rbac.cluster_roles[0].rules),
        json!([
            {"apiGroups": ["marketplace.kratix.io"], "resources": ["redis"], "verbs": ["get", "patch"]},
            {"apiGroups": ["marketplace.kratix.io"], "resources": ["redis/status"],
             "verbs": ["get", "update", "patch"]}
        ])
    );
    // Bound in the request's namespace only, not cluster-wide.
    assert!(rbac.cluster_role_bindings.is_empty());
    let binding = &rbac.role_bindings[1];
    assert_eq!(
        binding.metadata.name.as_deref(),
        Some("redis-resource-configure-first-team-a")
    );
    assert_eq!(binding.metadata.namespace.as_deref(), Some("team-a"));
    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(
        rbac.service_account.metadata.namespace.as_deref(),
        Some("pipelines")
    );
    assert_eq!(
        rbac.config_map
            .as_ref()
            .and_then(|c| c.metadata.namespace.as_deref()),
        Some("pipelines")
    );
}

#[test]
fn user_permissions_become_roles_grouped_by_namespace() {
    let spec = json!({
        "containers": [{"name": "one", "image": "example/one:v1"}],
        "rbac": {"permissions": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNamespace": "team-b"},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"], "resourceNamespace": "*"},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}
        ]}
    });
    let promise = resource_promise(json!({}), vec![pipeline("instance", spec)], vec![]);
    let api = redis_api();
    let request = request("default");
    let rendered = render(
        &promise,
        Workflow::RESOURCE_CONFIGURE,
        Some((&request, &api)),
        None,
    );
    let r = &rendered[0];
    let user_labels = json!({
        "kratix.io/pipeline-name": "instance",
        "kratix.io/pipeline-namespace": "default",
        "kratix.io/promise-name": "redis",
        "kratix.io/workflow-action": "configure",
        "kratix.io/workflow-type": "resource"
    });
    // Names: md5sum of "redis-resource-configure-instance" = bd900fb3...
    assert_eq!(r.roles.len(), 2);
    assert_eq!(
        to_json(&r.roles[1]),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "redis-resource-configure-instance-bd900", "namespace": "default", "labels": user_labels},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}
            ]
        })
    );
    assert_eq!(
        r.role_bindings[1].metadata.name.as_deref(),
        Some("redis-resource-configure-instance-bd900")
    );
    // md5sum of "redis-resource-configure-instance-team-b" = 2d467fa9...
    let team_b_role = to_json(&r.cluster_roles[0]);
    assert_eq!(
        team_b_role["metadata"]["name"],
        "redis-resource-configure-instance-team-b-2d467"
    );
    assert_eq!(
        team_b_role["metadata"]["labels"]["kratix.io/resource-namespace"],
        "team-b"
    );
    // The binding lives in team-b; md5sum of "redis-resource-configure-instance-default" = 4912b602...
    let team_b_binding = to_json(&r.role_bindings[2]);
    assert_eq!(
        team_b_binding["metadata"]["name"],
        "redis-resource-configure-instance-default-4912b"
    );
    assert_eq!(team_b_binding["metadata"]["namespace"], "team-b");
    assert_eq!(
        team_b_binding["roleRef"]["name"],
        "redis-resource-configure-instance-team-b-2d467"
    );
    // md5sum of "redis-resource-configure-instance-kratix-all-namespaces" = cad584b0...
    let all_role = to_json(&r.cluster_roles[1]);
    assert_eq!(
        all_role["metadata"]["name"],
        "redis-resource-configure-instance-kratix-all-namespaces-cad58"
    );
    assert_eq!(
        all_role["metadata"]["labels"]["kratix.io/resource-namespace"],
        "kratix_all_namespaces"
    );
    let all_binding = to_json(&r.cluster_role_bindings[0]);
    assert_eq!(
        all_binding["metadata"]["name"],
        "redis-resource-configure-instance-default-4912b"
    );
    assert_eq!(
        all_binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
        "name": "redis-resource-configure-instance-kratix-all-namespaces-cad58"})
    );
}

#[test]
fn delete_workflows_have_no_work_writer_and_no_scheduling() {
    let promise = resource_promise(
        json!({}),
        vec![],
        vec![pipeline("teardown", simple_container("remove"))],
    );
    let api = redis_api();
    let request = request("default");
    let rendered = render(&promise, Workflow::RESOURCE_DELETE, Some((&request, &api)), None);
    let r = &rendered[0];
    assert!(r.config_map.is_none());
    let job = to_json(&r.job);
    let pod = &job["spec"]["template"]["spec"];
    let init_names: Vec<&str> = pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(init_names, ["reader", "remove"]);
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(volumes, ["shared-input", "shared-output", "shared-metadata"]);
    assert_eq!(
        pod["initContainers"][0]["env"][0],
        json!({"name": "KRATIX_WORKFLOW_ACTION", "value": "delete"})
    );
    assert_eq!(job["metadata"]["labels"]["kratix.io/workflow-action"], "delete");
    assert_eq!(
        r.service_account.metadata.name.as_deref(),
        Some("redis-resource-delete-teardown")
    );
    // Nothing writes a Work, so nothing may.
    let rules = to_json(&r.roles[0].rules);
    assert!(
        rules
            .as_array()
            .into_iter()
            .flatten()
            .all(|rule| rule["resources"] != json!(["works"])),
        "{rules}"
    );
}

#[test]
fn only_the_first_delete_pipeline_runs() {
    let promise = resource_promise(
        json!({}),
        vec![],
        vec![
            pipeline("first", simple_container("one")),
            pipeline("second", simple_container("two")),
        ],
    );
    let api = redis_api();
    let request = request("default");
    let rendered = render(&promise, Workflow::RESOURCE_DELETE, Some((&request, &api)), None);
    assert_eq!(rendered.len(), 1);
    assert_eq!(rendered[0].pipeline_name, "first");
    let job = to_json(&rendered[0].job);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][0],
        json!({"name": "IS_LAST_PIPELINE", "value": "true"})
    );
}

#[test]
fn pipeline_fields_and_labels_reach_the_job() {
    let spec = json!({
        "containers": [{
            "name": "one", "image": "example/one:v1", "command": ["sh"], "args": ["-c", "true"],
            "env": [{"name": "EXTRA", "value": "1"}],
            "envFrom": [{"secretRef": {"name": "creds"}}],
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            "imagePullPolicy": "Always",
            "securityContext": {"runAsUser": 1000},
            "resources": {"limits": {"cpu": "1"}}
        }],
        "volumes": [{"name": "cache", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "registry"}],
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "restartPolicy": "Never",
        "jobOptions": {"backoffLimit": 1},
        "rbac": {"serviceAccount": "my-account"}
    });
    let mut deps = pipeline("deps", spec);
    deps["metadata"]["labels"] = json!({"kratix.io/pipeline-name": "overridden", "team": "a"});
    deps["metadata"]["annotations"] = json!({"note": "x"});
    let mut promise = promise_with_deps();
    promise["spec"]["workflows"]["promise"]["configure"] = json!([deps]);
    let pipelines = pipelines_of(&promise, Workflow::PROMISE_CONFIGURE);
    let adapter = AdapterImage {
        image: "adapter:test".to_owned(),
        pull_secret: Some("adapter-secret".to_owned()),
    };
    let rendered = render_workflow(&RenderRequest {
        promise: &promise,
        workflow: Workflow::PROMISE_CONFIGURE,
        pipelines: &pipelines,
        resource: None,
        config: None,
        adapter: &adapter,
        job_name_suffix: Some(SUFFIX),
    })
    .expect("renders");
    let job = to_json(&rendered[0].job);
    // The agent finds its Jobs by its own labels: a pipeline's never override them
    // (validation refuses such a Promise; rendering holds the line regardless).
    assert_eq!(job["metadata"]["labels"]["kratix.io/pipeline-name"], "deps");
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["kratix.io/pipeline-name"],
        "deps"
    );
    assert_eq!(job["metadata"]["labels"]["team"], "a");
    assert_eq!(
        job["spec"]["template"]["metadata"]["annotations"],
        json!({"note": "x"})
    );
    assert!(job["metadata"]["annotations"].get("note").is_none());
    assert_eq!(job["spec"]["backoffLimit"], 1);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "my-account");
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        pod["imagePullSecrets"],
        json!([{"name": "adapter-secret"}, {"name": "registry"}])
    );
    assert_eq!(pod["nodeSelector"], json!({"disk": "ssd"}));
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "dedicated", "operator": "Exists"}])
    );
    assert_eq!(pod["volumes"][4], json!({"name": "cache", "emptyDir": {}}));
    let user = &pod["initContainers"][1];
    assert_eq!(user["command"], json!(["sh"]));
    assert_eq!(user["args"], json!(["-c", "true"]));
    assert_eq!(user["env"][11], json!({"name": "EXTRA", "value": "1"}));
    assert_eq!(user["envFrom"], json!([{"secretRef": {"name": "creds"}}]));
    assert_eq!(
        user["volumeMounts"][3],
        json!({"name": "cache", "mountPath": "/cache"})
    );
    assert_eq!(user["imagePullPolicy"], "Always");
    assert_eq!(user["securityContext"], json!({"runAsUser": 1000}));
    assert_eq!(user["resources"], json!({"limits": {"cpu": "1"}}));
    let sa = &rendered[0].service_account;
    assert_eq!(sa.metadata.name.as_deref(), Some("my-account"));
    // Roles are still named after the pipeline, bound to the custom account.
    assert_eq!(
        rendered[0].cluster_roles[0].metadata.name.as_deref(),
        Some("redis-promise-configure-deps")
    );
    assert_eq!(
        to_json(&rendered[0].cluster_role_bindings[0].subjects)[0]["name"],
        "my-account"
    );
}

fn config(yaml: &str) -> KratixConfig {
    KratixConfig::from_config_yaml("test", yaml)
        .expect("config parses")
        .config
}

#[test]
fn config_defaults_apply_where_the_pipeline_sets_nothing() {
    let promise = promise_with_deps();
    let with_defaults = config(
        "workflows:\n  defaultImagePullPolicy: IfNotPresent\n  defaultContainerSecurityContext: {runAsNonRoot: true}\n  defaultContainerResources: {limits: {memory: 1Gi}}\n  jobOptions: {defaultBackoffLimit: 4}\n",
    );
    let rendered = render(&promise, Workflow::PROMISE_CONFIGURE, None, Some(&with_defaults));
    let job = to_json(&rendered[0].job);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(job["spec"]["backoffLimit"], 4);
    let user = &pod["initContainers"][1];
    assert_eq!(user["imagePullPolicy"], "IfNotPresent");
    assert_eq!(user["securityContext"], json!({"runAsNonRoot": true}));
    assert_eq!(user["resources"], json!({"limits": {"memory": "1Gi"}}));
    // Kratix containers take the config's pull policy and resources, never its security context.
    let reader = &pod["initContainers"][0];
    assert_eq!(reader["imagePullPolicy"], "IfNotPresent");
    assert_eq!(reader["resources"], json!({"limits": {"memory": "1Gi"}}));
    assert_eq!(reader["securityContext"], kratix_security_context_json());

    // A ConfigMap without the key gives user containers an empty security context.
    let empty = config("{}");
    let rendered = render(&promise, Workflow::PROMISE_CONFIGURE, None, Some(&empty));
    let job = to_json(&rendered[0].job);
    assert_eq!(
        job["spec"]["template"]["spec"]["initContainers"][1]["securityContext"],
        json!({})
    );
    assert!(job["spec"].get("backoffLimit").is_none());

    // No ConfigMap at all: no security context.
    let rendered = render(&promise, Workflow::PROMISE_CONFIGURE, None, None);
    let job = to_json(&rendered[0].job);
    assert!(
        job["spec"]["template"]["spec"]["initContainers"][1]
            .get("securityContext")
            .is_none()
    );
}

#[test]
fn dry_run_requests_get_the_dry_run_variable() {
    let promise = resource_promise(
        json!({}),
        vec![pipeline("first", simple_container("one"))],
        vec![],
    );
    let api = redis_api();
    let mut request = request("default");
    request["metadata"]["labels"] = json!({"kratix.io/dry-run": "true"});
    let rendered = render(
        &promise,
        Workflow::RESOURCE_CONFIGURE,
        Some((&request, &api)),
        None,
    );
    let job = to_json(&rendered[0].job);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["initContainers"][0]["env"][11],
        json!({"name": "KRATIX_DRY_RUN", "value": "true"})
    );
    assert_eq!(
        pod["initContainers"][2]["env"][2],
        json!({"name": "KRATIX_DRY_RUN", "value": "true"})
    );
}

#[test]
fn resource_workflows_need_a_request() {
    let promise = resource_promise(
        json!({}),
        vec![pipeline("first", simple_container("one"))],
        vec![],
    );
    let pipelines = pipelines_of(&promise, Workflow::RESOURCE_CONFIGURE);
    let error = render_workflow(&RenderRequest {
        promise: &promise,
        workflow: Workflow::RESOURCE_CONFIGURE,
        pipelines: &pipelines,
        resource: None,
        config: None,
        adapter: &AdapterImage::default(),
        job_name_suffix: None,
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs the Promise's API and a resource request"),
        "{error}"
    );
}

#[test]
fn random_job_suffixes_differ_between_runs() {
    let promise = promise_with_deps();
    let pipelines = pipelines_of(&promise, Workflow::PROMISE_CONFIGURE);
    let request = RenderRequest {
        promise: &promise,
        workflow: Workflow::PROMISE_CONFIGURE,
        pipelines: &pipelines,
        resource: None,
        config: None,
        adapter: &AdapterImage::default(),
        job_name_suffix: None,
    };
    let first = render_workflow(&request).expect("renders")[0]
        .job
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    let second = render_workflow(&request).expect("renders")[0]
        .job
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    assert!(first.starts_with("kratix-redis-deps-") && first.len() == "kratix-redis-deps-".len() + 5);
    assert_ne!(first, second);
}

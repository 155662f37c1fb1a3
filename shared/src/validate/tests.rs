//! One test per validation rule, each naming the path and the offending value.

use serde_json::{Value, json};

use super::*;

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "databases.example.org"},
        "spec": {
            "group": "example.org",
            "names": {"kind": "Database", "plural": "databases", "singular": "database"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]
        }
    })
}

fn pipeline(name: &str) -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "example/main:v1"}]}
    })
}

fn promise() -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Promise",
        "metadata": {"name": "database", "labels": {"kratix.io/promise-version": "v1.0.0"}},
        "spec": {
            "api": crd(),
            "workflows": {
                "resource": {"configure": [pipeline("instance")], "delete": [pipeline("teardown")]},
                "promise": {"configure": [pipeline("deps")]}
            },
            "destinationSelectors": [{"matchLabels": {"env": "dev"}}]
        }
    })
}

fn problems(value: &Value) -> Vec<Problem> {
    validate_promise(value).problems
}

/// The single problem at `path`, asserting its severity and that its message
/// contains `fragment`.
fn expect(value: &Value, severity: Severity, path: &str, fragment: &str) {
    let found = problems(value);
    let matching: Vec<&Problem> = found.iter().filter(|p| p.path == path).collect();
    assert!(
        matching
            .iter()
            .any(|p| p.severity == severity && p.message.contains(fragment)),
        "expected a {severity:?} at {path} containing {fragment:?}; got {found:#?}"
    );
}

fn set(value: &mut Value, pointer: &str, new: Value) {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} exists in the fixture")) = new;
}

#[test]
fn a_valid_promise_has_no_problems() {
    assert_eq!(problems(&promise()), vec![]);
}

#[test]
fn the_document_must_be_a_promise() {
    let mut value = promise();
    set(&mut value, "/kind", json!("Promis"));
    expect(&value, Severity::Error, "", "not a Promise");
}

#[test]
fn unknown_top_level_and_spec_fields_are_errors() {
    let mut value = promise();
    value["spec"]["destinationSelector"] = json!([]);
    expect(
        &value,
        Severity::Error,
        "spec.destinationSelector",
        "unknown field \"destinationSelector\"",
    );
}

#[test]
fn promise_name_is_required_and_a_dns_label() {
    let mut value = promise();
    set(&mut value, "/metadata/name", json!("Data_base"));
    expect(&value, Severity::Error, "metadata.name", "\"Data_base\"");
    value["metadata"].as_object_mut().map(|m| m.remove("name"));
    expect(&value, Severity::Error, "metadata.name", "needs a name");
}

#[test]
fn promise_labels_must_be_valid() {
    let mut value = promise();
    value["metadata"]["labels"] = json!({"bad key": "x", "ok": "-bad value"});
    expect(&value, Severity::Error, "metadata.labels", "key \"bad key\"");
    expect(
        &value,
        Severity::Error,
        "metadata.labels.ok",
        "value \"-bad value\"",
    );
}

#[test]
fn pipelines_need_the_pipeline_kind_and_api_version() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/kind",
        json!("Job"),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0]",
        "unsupported pipeline: kind \"Job\"",
    );
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/apiVersion",
        json!("platform.kratix.io/v1"),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0]",
        "apiVersion \"platform.kratix.io/v1\"",
    );
}

#[test]
fn pipeline_typos_are_errors() {
    let mut value = promise();
    let spec = value
        .pointer_mut("/spec/workflows/resource/configure/0/spec")
        .and_then(Value::as_object_mut);
    if let Some(spec) = spec {
        spec.insert("contianers".to_owned(), json!([]));
    }
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0].spec.contianers",
        "unknown field \"contianers\"",
    );
}

#[test]
fn pipeline_object_metadata_fields_are_fine() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/metadata",
        json!({"name": "instance", "namespace": "default", "creationTimestamp": null}),
    );
    assert_eq!(problems(&value), vec![]);
}

#[test]
fn wrong_types_name_the_field() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec/containers/0/image",
        json!(5),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0].spec.containers[0].image",
        "invalid type: integer `5`",
    );
}

#[test]
fn pipeline_names_are_unique_per_workflow() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure",
        json!([pipeline("instance"), pipeline("instance")]),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[1].metadata.name",
        "pipeline name \"instance\" is used twice in resource/configure",
    );
    // The same name in another workflow is fine.
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/promise/configure",
        json!([pipeline("instance")]),
    );
    assert_eq!(problems(&value), vec![]);
}

#[test]
fn pipelines_need_a_name() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/promise/configure/0/metadata",
        json!({}),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.promise.configure[0].metadata.name",
        "needs a name",
    );
}

#[test]
fn container_names_are_unique_and_images_present() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec/containers",
        json!([{"name": "main", "image": "a"}, {"name": "main", "image": ""}]),
    );
    let prefix = "spec.workflows.resource.configure[0].spec.containers[1]";
    expect(
        &value,
        Severity::Error,
        &format!("{prefix}.name"),
        "container name \"main\" is used twice in pipeline \"instance\"",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{prefix}.image"),
        "container \"main\" needs an image",
    );
}

#[test]
fn kratix_container_names_are_reserved() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec/containers/0/name",
        json!("status-writer"),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0].spec.containers[0].name",
        "\"status-writer\" is reserved",
    );
}

#[test]
fn a_pipeline_needs_containers() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec/containers",
        json!([]),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0].spec.containers",
        "at least one container",
    );
}

#[test]
fn delete_workflows_run_a_single_pipeline() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/delete",
        json!([pipeline("first"), pipeline("second")]),
    );
    expect(
        &value,
        Severity::Warning,
        "spec.workflows.resource.delete",
        "only the first (first) runs",
    );
    let validated = validate_promise(&value);
    let names = |pipelines: &[Pipeline]| pipelines.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>();
    assert_eq!(
        names(validated.pipelines_of(Workflow::RESOURCE_DELETE)),
        ["first", "second"]
    );
    assert_eq!(
        names(validated.runnable_pipelines(Workflow::RESOURCE_DELETE)),
        ["first"]
    );
    assert_eq!(
        names(validated.runnable_pipelines(Workflow::RESOURCE_CONFIGURE)),
        ["instance"]
    );
    assert!(validated.runnable_pipelines(Workflow::PROMISE_DELETE).is_empty());
}

#[test]
fn pipeline_ids_are_at_most_60_characters() {
    let mut value = promise();
    // "database-resource-configure-" is 28 characters; 33 more make 61.
    let long = "p".repeat(33);
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/metadata/name",
        json!(long),
    );
    expect(
        &value,
        Severity::Error,
        "spec.workflows.resource.configure[0].metadata.name",
        "is 61 characters; the limit is 60",
    );
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/metadata/name",
        json!("p".repeat(32)),
    );
    assert_eq!(problems(&value), vec![]);
}

#[test]
fn pipeline_labels_and_annotations_must_be_valid() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/metadata",
        json!({"name": "instance", "labels": {"team/": "a", "tier": "x".repeat(64)}, "annotations": {"bad key": "v"}}),
    );
    let base = "spec.workflows.resource.configure[0].metadata";
    expect(
        &value,
        Severity::Error,
        &format!("{base}.labels"),
        "key \"team/\"",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.labels.tier"),
        "at most 63 characters",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.annotations"),
        "key \"bad key\"",
    );
}

#[test]
fn the_labels_and_annotations_the_agent_sets_on_jobs_are_reserved() {
    let base = "spec.workflows.resource.configure[0].metadata";
    for key in [
        "kratix.io/hash",
        "kratix.io/promise-name",
        "kratix.io/resource-name",
        "kratix.io/resource-namespace",
        "kratix.io/pipeline-name",
        "kratix.io/workflow-type",
        "kratix.io/workflow-action",
        "app.kubernetes.io/managed-by",
        "batch.kubernetes.io/controller-uid",
        "job-name",
    ] {
        let mut value = promise();
        set(
            &mut value,
            "/spec/workflows/resource/configure/0/metadata",
            json!({"name": "instance", "labels": {key: "x"}}),
        );
        expect(
            &value,
            Severity::Error,
            &format!("{base}.labels"),
            &format!("key {key:?} is set by the agent"),
        );
    }
    for key in ["kratix.io/job-resource-name", "kratix.io/trace-parent"] {
        let mut value = promise();
        set(
            &mut value,
            "/spec/workflows/resource/configure/0/metadata",
            json!({"name": "instance", "annotations": {key: "x"}}),
        );
        expect(
            &value,
            Severity::Error,
            &format!("{base}.annotations"),
            &format!("key {key:?} is set by the agent"),
        );
    }
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/metadata",
        json!({"name": "instance", "labels": {"kratix.io/team": "a"}, "annotations": {"kratix.io/owner": "b"}}),
    );
    assert_eq!(problems(&value), vec![]);
}

#[test]
fn reconciliation_interval_is_at_least_a_minute() {
    let mut value = promise();
    value["spec"]["workflows"]["config"] = json!({"reconciliationInterval": "30s"});
    expect(
        &value,
        Severity::Error,
        "spec.workflows.config.reconciliationInterval",
        "shorter than the minimum of 1m",
    );
    value["spec"]["workflows"]["config"] = json!({"reconciliationInterval": "1d"});
    expect(
        &value,
        Severity::Error,
        "spec.workflows.config.reconciliationInterval",
        "write 24h",
    );
    value["spec"]["workflows"]["config"] = json!({"reconciliationInterval": "1m"});
    assert_eq!(problems(&value), vec![]);
}

#[test]
fn the_reconciliation_interval_annotation_is_checked_too() {
    let mut value = promise();
    value["metadata"]["annotations"] = json!({"kratix.io/reconciliation-interval": "10s"});
    expect(
        &value,
        Severity::Error,
        "metadata.annotations.kratix.io/reconciliation-interval",
        "shorter than the minimum",
    );
}

#[test]
fn the_api_must_be_namespaced() {
    let mut value = promise();
    set(&mut value, "/spec/api/spec/scope", json!("Cluster"));
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.scope",
        "promise api needs to be namespace scoped",
    );
}

#[test]
fn the_crd_name_must_be_plural_dot_group() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/api/metadata/name",
        json!("database.example.org"),
    );
    expect(
        &value,
        Severity::Error,
        "spec.api.metadata.name",
        "\"database.example.org\" must be <plural>.<group>, that is \"databases.example.org\"",
    );
}

#[test]
fn the_crd_group_needs_a_dot() {
    let mut value = promise();
    set(&mut value, "/spec/api/spec/group", json!("example"));
    set(&mut value, "/spec/api/metadata/name", json!("databases.example"));
    expect(&value, Severity::Error, "spec.api.spec.group", "at least one dot");
}

#[test]
fn crd_versions_need_one_storage_version_and_a_schema() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/api/spec/versions",
        json!([{"name": "v1", "served": true, "storage": false}, {"name": "v2", "served": true, "storage": false}]),
    );
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.versions",
        "exactly one version must have storage: true (found none)",
    );
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.versions[0].schema.openAPIV3Schema",
        "needs a schema",
    );
    set(&mut value, "/spec/api/spec/versions", json!([]));
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.versions",
        "at least one version",
    );
}

#[test]
fn crd_names_must_be_valid() {
    let mut value = promise();
    set(&mut value, "/spec/api/spec/names/kind", json!("Data Base"));
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.names.kind",
        "\"Data Base\"",
    );
    let mut value = promise();
    set(&mut value, "/spec/api/spec/names/plural", json!(""));
    expect(
        &value,
        Severity::Error,
        "spec.api.spec.names.plural",
        "must not be empty",
    );
}

#[test]
fn unknown_crd_fields_are_warnings_because_kratix_drops_them() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/api/spec/versions/0/schema/openAPIV3Schema",
        json!({"type": "object", "regex": "x"}),
    );
    expect(
        &value,
        Severity::Warning,
        "spec.api.spec.versions[0].schema.openAPIV3Schema.regex",
        "Kratix drops it",
    );
}

#[test]
fn case_insensitive_keys_are_warnings() {
    let mut value = promise();
    value["spec"]["api"]["spec"]["versions"][0]["additionalPrinterColumns"] =
        json!([{"name": "Size", "type": "string", "JSONPath": ".spec.size"}]);
    expect(
        &value,
        Severity::Warning,
        "spec.api.spec.versions[0].additionalPrinterColumns[0].JSONPath",
        "write \"jsonPath\"",
    );
    assert!(!validate_promise(&value).has_errors());
}

#[test]
fn a_wrong_crd_api_version_is_a_warning() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/api/apiVersion",
        json!("apiextensions.k8s.io/v1beta1"),
    );
    expect(
        &value,
        Severity::Warning,
        "spec.api",
        "is read as an apiextensions.k8s.io/v1 CustomResourceDefinition",
    );
    assert!(validate_promise(&value).resource_api.is_some());
}

#[test]
fn resource_workflows_without_an_api_never_run() {
    let mut value = promise();
    value["spec"].as_object_mut().map(|s| s.remove("api"));
    expect(
        &value,
        Severity::Warning,
        "spec.workflows.resource.configure",
        "never run",
    );
}

#[test]
fn volumes_mounts_and_policies_are_checked() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec",
        json!({
            "containers": [{
                "name": "main", "image": "x", "imagePullPolicy": "Sometimes",
                "volumeMounts": [
                    {"name": "missing", "mountPath": "/data"},
                    {"name": "shared-input", "mountPath": "/kratix/output"}
                ]
            }],
            "volumes": [{"name": "shared-input", "emptyDir": {}}],
            "restartPolicy": "Always",
            "jobOptions": {"backoffLimit": -1}
        }),
    );
    let base = "spec.workflows.resource.configure[0].spec";
    expect(
        &value,
        Severity::Error,
        &format!("{base}.volumes[0].name"),
        "\"shared-input\" is reserved by Kratix",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.containers[0].imagePullPolicy"),
        "\"Sometimes\"",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.containers[0].volumeMounts[0].name"),
        "volume \"missing\" is not declared",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.containers[0].volumeMounts[1].mountPath"),
        "where Kratix mounts",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.restartPolicy"),
        "\"Always\" is not allowed for a Job",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.jobOptions.backoffLimit"),
        "-1 must be 0 or more",
    );
}

#[test]
fn rbac_permissions_are_checked() {
    let mut value = promise();
    value["spec"]["workflows"]["resource"]["configure"][0]["spec"]["rbac"] = json!({
        "serviceAccount": "Bad_Account",
        "permissions": [
            {"resources": ["secrets"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": []},
            {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNamespace": "Team A"}
        ]
    });
    let base = "spec.workflows.resource.configure[0].spec.rbac";
    expect(
        &value,
        Severity::Error,
        &format!("{base}.serviceAccount"),
        "\"Bad_Account\"",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.permissions[0].apiGroups"),
        "resources need apiGroups",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.permissions[1].verbs"),
        "at least one verb",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.permissions[2].nonResourceURLs"),
        "resourceNamespace: \"*\"",
    );
    expect(
        &value,
        Severity::Error,
        &format!("{base}.permissions[3].resourceNamespace"),
        "\"Team A\"",
    );
}

#[test]
fn destination_selectors_and_required_promises_are_checked() {
    let mut value = promise();
    value["spec"]["destinationSelectors"] = json!([{"matchLabels": {"env": "dev prod"}}]);
    value["spec"]["requiredPromises"] = json!([{"name": ""}, {"name": "database"}]);
    expect(
        &value,
        Severity::Error,
        "spec.destinationSelectors[0].matchLabels.env",
        "\"dev prod\"",
    );
    expect(
        &value,
        Severity::Error,
        "spec.requiredPromises[0].name",
        "needs a name",
    );
    expect(
        &value,
        Severity::Error,
        "spec.requiredPromises[1].name",
        "cannot require itself",
    );
}

#[test]
fn dependencies_must_be_manifests() {
    let mut value = promise();
    value["spec"]["dependencies"] = json!([{"metadata": {"name": "x"}}]);
    expect(
        &value,
        Severity::Error,
        "spec.dependencies[0]",
        "needs apiVersion and kind",
    );
}

#[test]
fn pipeline_namespace_must_be_a_namespace_name() {
    let mut value = promise();
    value["spec"]["workflows"]["config"] = json!({"pipelineNamespace": "Pipelines"});
    expect(
        &value,
        Severity::Error,
        "spec.workflows.config.pipelineNamespace",
        "\"Pipelines\"",
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let mut value = promise();
    set(
        &mut value,
        "/spec/workflows/resource/configure/0/spec/containers/0/image",
        json!(""),
    );
    set(
        &mut value,
        "/spec/workflows/promise/configure/0/spec/containers/0/name",
        json!("reader"),
    );
    set(&mut value, "/spec/api/spec/scope", json!("Cluster"));
    let errors = problems(&value)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    assert_eq!(errors, 3);
}

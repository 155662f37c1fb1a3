//! `promise init --operator-manifests --api-schema-from`, run through the built
//! binary on an operator bundle this test writes (a CRD with two versions, the
//! operator's Namespace, ServiceAccount and Deployment): the stored version's
//! spec schema as the API, every manifest a dependency, kratix-cli's operator
//! stage as the pipeline, in both layouts, against golden trees; and the
//! errors naming the CRDs there are.

mod common;

use std::path::Path;

use common::{kratix_in, matches_golden, renders_its_example, spec_schema, text, validates, yaml};
use serde_json::json;

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusters.db.example.com
spec:
  group: db.example.com
  names: {kind: Cluster, plural: clusters, singular: cluster}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [instances]
            properties:
              instances: {type: integer, minimum: 1, description: Pods in the cluster}
              storage:
                type: object
                properties:
                  size: {type: string, default: 1Gi}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

const OPERATOR: &str = "apiVersion: v1
kind: Namespace
metadata: {name: db-operator}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: db-operator, namespace: db-operator}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db-operator, namespace: db-operator}
spec:
  selector: {matchLabels: {app: db-operator}}
  template:
    metadata: {labels: {app: db-operator}}
    spec:
      serviceAccountName: db-operator
      containers: [{name: manager, image: example.org/db-operator:v1.4.0}]
";

fn bundle(dir: &Path) {
    std::fs::create_dir_all(dir.join("bundle/crds")).expect("mkdir");
    std::fs::create_dir_all(dir.join("bundle/deploy")).expect("mkdir");
    std::fs::write(dir.join("bundle/crds/clusters.yaml"), CRD).expect("write");
    std::fs::write(dir.join("bundle/deploy/operator.yaml"), OPERATOR).expect("write");
    std::fs::write(dir.join("bundle/README.md"), "not a manifest\n").expect("write");
}

/// `promise init database` from the bundle, offering the CRD `crd`.
fn init(dir: &Path, crd: &str, extra: &[&str]) -> std::process::Output {
    let base = [
        "promise",
        "init",
        "database",
        "--group",
        "platform.example.org",
        "--kind",
        "Database",
        "--operator-manifests",
        "bundle",
        "--api-schema-from",
        crd,
    ];
    let args: Vec<&str> = base.iter().chain(extra).copied().collect();
    kratix_in(dir, &args)
}

#[test]
fn an_operator_bundle_becomes_a_promise_offering_its_stored_version() {
    let temp = tempfile::tempdir().expect("tempdir");
    bundle(temp.path());
    let output = init(temp.path(), "clusters.db.example.com", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "database");
    let promise = yaml(&temp.path().join("database/promise.yaml"));
    let spec = spec_schema(&promise);
    assert_eq!(spec["required"], json!(["instances"]));
    assert_eq!(
        spec["properties"]["storage"]["properties"]["size"]["default"],
        "1Gi"
    );
    assert_eq!(
        promise["spec"]["api"]["metadata"]["name"],
        "databases.platform.example.org"
    );
    let kinds: Vec<&str> = promise["spec"]["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "Deployment"
        ],
        "every manifest, in file and document order"
    );
    let container = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        "ghcr.io/syntasso/kratix-cli/from-api-to-operator:v0.2.2"
    );
    assert_eq!(
        container["env"][1],
        json!({"name": "OPERATOR_VERSION", "value": "v1"})
    );
    let example = yaml(&temp.path().join("database/example-resource.yaml"));
    assert_eq!(
        example["spec"],
        json!({"instances": 1}),
        "the example request is valid"
    );
    renders_its_example(temp.path(), "database");
    matches_golden(&temp.path().join("database"), "operator-bundle");
}

#[test]
fn in_the_split_layout_the_manifests_are_dependencies_yaml() {
    let temp = tempfile::tempdir().expect("tempdir");
    bundle(temp.path());
    let output = init(temp.path(), "clusters.db.example.com", &["--split"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "database");
    let dependencies = yaml(&temp.path().join("database/dependencies.yaml"));
    assert_eq!(dependencies.as_array().map(Vec::len), Some(4));
    matches_golden(&temp.path().join("database"), "operator-bundle-split");
}

#[test]
fn a_crd_not_in_the_bundle_is_named_with_those_that_are() {
    let temp = tempfile::tempdir().expect("tempdir");
    bundle(temp.path());
    let output = init(temp.path(), "backups.db.example.com", &[]);
    assert_eq!(output.status.code(), Some(1));
    let said = text(&output.stderr);
    assert!(
        said.contains("bundle: --api-schema-from: no CustomResourceDefinition named backups.db.example.com; the manifests hold clusters.db.example.com"),
        "{said}"
    );
    let output = kratix_in(
        temp.path(),
        &[
            "promise",
            "init",
            "database",
            "--group",
            "g.example.org",
            "--kind",
            "D",
            "--operator-manifests",
            "bundle",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "--api-schema-from is required with it"
    );
    assert!(!temp.path().join("database").exists(), "nothing written");
}

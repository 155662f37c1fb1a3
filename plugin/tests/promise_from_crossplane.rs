//! `promise init --crossplane-xrd`, run through the built binary on an XRD, a
//! Composition and a Function this test writes: a v2 namespaced XRD's
//! referenceable version as the API, the three as dependencies (or none with
//! --skip-dependencies), kratix-cli's crossplane stage as the pipeline and the
//! `crossplane: enabled` selector, against a golden tree; a v1 XRD through its
//! claim, with a warning; and a cluster-scoped one refused naming its field.

mod common;

use std::path::Path;

use common::{kratix_in, matches_golden, renders_its_example, text, validates, yaml};
use serde_json::json;

fn xrd(api_version: &str, scope: &str, claim: &str) -> String {
    format!(
        "apiVersion: {api_version}
kind: CompositeResourceDefinition
metadata:
  name: xbuckets.storage.example.org
spec:
  group: storage.example.org
  names: {{kind: XBucket, plural: xbuckets}}
{scope}{claim}  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [region]
            properties:
              region: {{type: string, enum: [eu, us], description: Where the bucket lives}}
              versioning: {{type: boolean, default: false}}
"
    )
}

fn files(dir: &Path, xrd_text: &str) {
    std::fs::create_dir_all(dir.join("crossplane/compositions")).expect("mkdir");
    std::fs::write(dir.join("crossplane/xrd.yaml"), xrd_text).expect("write");
    std::fs::write(
        dir.join("crossplane/compositions/bucket.yaml"),
        "apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\nmetadata: {name: bucket}\nspec:\n  compositeTypeRef: {apiVersion: storage.example.org/v1alpha1, kind: XBucket}\n  mode: Pipeline\n  pipeline: [{step: patch, functionRef: {name: function-patch-and-transform}}]\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("crossplane/function.yaml"),
        "apiVersion: pkg.crossplane.io/v1\nkind: Function\nmetadata: {name: function-patch-and-transform}\nspec: {package: xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.8.2}\n",
    )
    .expect("write");
}

fn init(dir: &Path, extra: &[&str]) -> std::process::Output {
    let base = [
        "promise",
        "init",
        "bucket",
        "--group",
        "platform.example.org",
        "--kind",
        "Bucket",
        "--crossplane-xrd",
        "crossplane/xrd.yaml",
    ];
    let args: Vec<&str> = base.iter().chain(extra).copied().collect();
    kratix_in(dir, &args)
}

#[test]
fn a_v2_xrd_becomes_a_promise_for_crossplane_destinations() {
    let temp = tempfile::tempdir().expect("tempdir");
    files(temp.path(), &xrd("apiextensions.crossplane.io/v2", "", ""));
    let output = init(
        temp.path(),
        &[
            "--compositions",
            "crossplane/compositions",
            "--functions",
            "crossplane/function.yaml",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    validates(temp.path(), "bucket");
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    assert_eq!(
        promise["spec"]["destinationSelectors"],
        json!([{"matchLabels": {"crossplane": "enabled"}}])
    );
    let kinds: Vec<&str> = promise["spec"]["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["Function", "Composition", "CompositeResourceDefinition"]);
    let container = &promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        "ghcr.io/syntasso/kratix-cli/from-api-to-crossplane-claim:v0.2.2"
    );
    assert_eq!(
        container["env"][2],
        json!({"name": "XRD_KIND", "value": "XBucket"})
    );
    assert_eq!(
        yaml(&temp.path().join("bucket/example-resource.yaml"))["spec"],
        json!({"region": "eu"})
    );
    renders_its_example(temp.path(), "bucket");
    matches_golden(&temp.path().join("bucket"), "crossplane-xrd");

    let skipped = init(temp.path(), &["--skip-dependencies", "--force"]);
    assert!(skipped.status.success(), "{}", text(&skipped.stderr));
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    assert!(promise["spec"].get("dependencies").is_none(), "{promise}");
}

#[test]
fn a_v1_xrd_goes_through_its_claim_and_a_cluster_scoped_one_is_refused() {
    let temp = tempfile::tempdir().expect("tempdir");
    files(
        temp.path(),
        &xrd(
            "apiextensions.crossplane.io/v1",
            "",
            "  claimNames: {kind: Bucket, plural: buckets}\n",
        ),
    );
    let output = init(temp.path(), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("a Crossplane v1 XRD: requests become its claims (Bucket)"));
    let promise = yaml(&temp.path().join("bucket/promise.yaml"));
    assert_eq!(
        promise["spec"]["workflows"]["resource"]["configure"][0]["spec"]["containers"][0]["env"][2]["value"],
        "Bucket"
    );

    let cluster = tempfile::tempdir().expect("tempdir");
    files(
        cluster.path(),
        &xrd("apiextensions.crossplane.io/v2", "  scope: Cluster\n", ""),
    );
    let output = init(cluster.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    let said = text(&output.stderr);
    assert!(
        said.contains("crossplane/xrd.yaml#1: spec.scope: is Cluster"),
        "{said}"
    );
    assert!(!cluster.path().join("bucket").exists(), "nothing written");
}

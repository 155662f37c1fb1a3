//! The built-in kinds the project touches, served as CRDs by the genuine API
//! server. The legacy core group cannot be a CRD, so its kinds live in a private
//! group that the proxy presents as `/api/v1`.

use serde_json::{Value, json};

/// The private group standing in for the core (`""`) group.
pub const CORE_GROUP: &str = "core.testenv.kratix.io";

/// The private plural of Namespace. The API server reads
/// `/apis/G/V/namespaces/NAME` as a namespace with no resource, so a CRD named
/// `namespaces` could be listed but never addressed; the proxy maps the name.
pub const NAMESPACE_PLURAL: &str = "corenamespaces";

struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    status: bool,
    categories: &'static [&'static str],
    columns: &'static [(&'static str, &'static str, &'static str)],
}

const AGE: (&str, &str, &str) = ("Age", "date", ".metadata.creationTimestamp");

const KINDS: &[Kind] = &[
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "Namespace",
        plural: NAMESPACE_PLURAL,
        short_names: &["ns"],
        namespaced: false,
        status: true,
        categories: &[],
        columns: &[("Status", "string", ".status.phase"), AGE],
    },
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        short_names: &["sa"],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[AGE],
    },
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        short_names: &["cm"],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[AGE],
    },
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        short_names: &[],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[("Type", "string", ".type"), AGE],
    },
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "Pod",
        plural: "pods",
        short_names: &["po"],
        namespaced: true,
        status: true,
        categories: &["all"],
        columns: &[
            ("Status", "string", ".status.phase"),
            ("Node", "string", ".spec.nodeName"),
            AGE,
        ],
    },
    Kind {
        group: CORE_GROUP,
        version: "v1",
        kind: "Event",
        plural: "events",
        short_names: &["ev"],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[
            ("Type", "string", ".type"),
            ("Reason", "string", ".reason"),
            ("Object", "string", ".involvedObject.name"),
            ("Message", "string", ".message"),
        ],
    },
    Kind {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        short_names: &[],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[
            ("Type", "string", ".type"),
            ("Reason", "string", ".reason"),
            ("Object", "string", ".regarding.name"),
            ("Note", "string", ".note"),
        ],
    },
    Kind {
        group: "batch",
        version: "v1",
        kind: "Job",
        plural: "jobs",
        short_names: &[],
        namespaced: true,
        status: true,
        categories: &["all"],
        columns: &[
            ("Succeeded", "integer", ".status.succeeded"),
            ("Failed", "integer", ".status.failed"),
            AGE,
        ],
    },
    Kind {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        short_names: &["deploy"],
        namespaced: true,
        status: true,
        categories: &["all"],
        columns: &[
            ("Ready", "integer", ".status.readyReplicas"),
            ("Available", "integer", ".status.availableReplicas"),
            AGE,
        ],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "Role",
        plural: "roles",
        short_names: &[],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[AGE],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        short_names: &[],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[("Role", "string", ".roleRef.name"), AGE],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        short_names: &[],
        namespaced: false,
        status: false,
        categories: &[],
        columns: &[AGE],
    },
    Kind {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        short_names: &[],
        namespaced: false,
        status: false,
        categories: &[],
        columns: &[("Role", "string", ".roleRef.name"), AGE],
    },
    Kind {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        short_names: &[],
        namespaced: true,
        status: false,
        categories: &[],
        columns: &[("Holder", "string", ".spec.holderIdentity"), AGE],
    },
];

/// The CustomResourceDefinitions of every built-in kind.
pub fn crds() -> Vec<Value> {
    KINDS.iter().map(crd).collect()
}

fn crd(kind: &Kind) -> Value {
    let mut version = json!({
        "name": kind.version,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        "additionalPrinterColumns": kind.columns.iter().map(|(name, type_, path)| json!({
            "name": name, "type": type_, "jsonPath": path
        })).collect::<Vec<_>>(),
    });
    if kind.status {
        version["subresources"] = json!({"status": {}});
    }
    let mut names = json!({
        "kind": kind.kind,
        "listKind": format!("{}List", kind.kind),
        "plural": kind.plural,
        "singular": kind.kind.to_lowercase(),
    });
    if !kind.short_names.is_empty() {
        names["shortNames"] = json!(kind.short_names);
    }
    if !kind.categories.is_empty() {
        names["categories"] = json!(kind.categories);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.{}", kind.plural, kind.group),
            // Groups ending in k8s.io must say their API was approved.
            "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes/enhancements/pull/1111"},
            "labels": {"testenv.kratix.io/built-in": "true"}
        },
        "spec": {
            "group": kind.group,
            "names": names,
            "scope": if kind.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version]
        }
    })
}

/// Namespaces every cluster has.
pub const INITIAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

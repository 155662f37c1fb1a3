//! A Promise's requests as a tree: under each request, the requests its
//! pipelines made for other Promises (a compound Promise's components), found
//! by kratix-cli's labels. It is a convention, not something Kratix enforces:
//! a parent's pipeline labels what it writes with
//! `kratix.io/component-of-promise-name`, `-resource-name` and
//! `-resource-namespace`. Pure: the command reads the requests and prints
//! what this builds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

pub const COMPONENT_OF_PROMISE: &str = "kratix.io/component-of-promise-name";
pub const COMPONENT_OF_RESOURCE: &str = "kratix.io/component-of-resource-name";
pub const COMPONENT_OF_NAMESPACE: &str = "kratix.io/component-of-resource-namespace";

/// One request, as the tree shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestNode {
    pub promise: String,
    pub kind: String,
    /// Empty for a cluster-scoped request.
    pub namespace: String,
    pub name: String,
    /// `Reconciled`, a failing condition's reason, or `Pending`.
    pub state: String,
    /// The request's `status.message`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

impl RequestNode {
    /// A request of `promise` (whose requests are `kind`) from its object.
    pub fn new(promise: &str, kind: &str, object: &Value, labels: BTreeMap<String, String>) -> Self {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        RequestNode {
            promise: promise.to_owned(),
            kind: kind.to_owned(),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
            state: state_of(object),
            message: Some(text("/status/message")).filter(|m| !m.is_empty()),
            labels,
        }
    }

    fn id(&self) -> (String, String, String) {
        (self.promise.clone(), self.namespace.clone(), self.name.clone())
    }

    /// Whether this request says it was made for `parent`.
    fn is_component_of(&self, parent: &RequestNode) -> bool {
        let label = |key: &str| self.labels.get(key).map(String::as_str);
        label(COMPONENT_OF_PROMISE) == Some(parent.promise.as_str())
            && label(COMPONENT_OF_RESOURCE) == Some(parent.name.as_str())
            // Without a namespace label, the parent is in the request's own namespace.
            && label(COMPONENT_OF_NAMESPACE).unwrap_or(&self.namespace) == parent.namespace
    }
}

/// A request and the requests made for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    #[serde(flatten)]
    pub request: RequestNode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<TreeNode>,
}

/// `Reconciled` when the request's `Reconciled` condition is True, its
/// reason when it is False, else `Pending`.
pub fn state_of(object: &Value) -> String {
    let reconciled = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Reconciled"));
    match reconciled {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => "Reconciled".to_owned(),
        Some(c) if c.get("status").and_then(Value::as_str) == Some("False") => c
            .get("reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .unwrap_or("NotReconciled")
            .to_owned(),
        _ => "Pending".to_owned(),
    }
}

/// The tree under each of `roots` from the labelled `candidates` (requests of
/// any Promise); a label loop ends where it would repeat a request.
pub fn build(mut roots: Vec<RequestNode>, candidates: &[RequestNode]) -> Vec<TreeNode> {
    roots.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    roots
        .into_iter()
        .map(|root| grow(root, candidates, &mut BTreeSet::new()))
        .collect()
}

/// Components deeper than this are not followed: labels anyone may set
/// should not make the tree (and its indentation) grow without end.
const MAX_DEPTH: usize = 16;

fn grow(
    request: RequestNode,
    candidates: &[RequestNode],
    ancestors: &mut BTreeSet<(String, String, String)>,
) -> TreeNode {
    if ancestors.len() >= MAX_DEPTH {
        return TreeNode {
            request,
            components: Vec::new(),
        };
    }
    ancestors.insert(request.id());
    let mut children: Vec<&RequestNode> = candidates
        .iter()
        .filter(|c| c.is_component_of(&request) && !ancestors.contains(&c.id()))
        .collect();
    children.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    let components = children
        .into_iter()
        .map(|child| grow(child.clone(), candidates, ancestors))
        .collect();
    ancestors.remove(&request.id());
    TreeNode { request, components }
}

/// The trees as text: one line a request, `├──`/`└──` before each component.
pub fn render(trees: &[TreeNode]) -> String {
    let mut out = String::new();
    for tree in trees {
        line(&mut out, "", &tree.request);
        branches(&mut out, "", &tree.components);
    }
    out
}

fn branches(out: &mut String, indent: &str, nodes: &[TreeNode]) {
    for (index, node) in nodes.iter().enumerate() {
        let last = index + 1 == nodes.len();
        let (branch, carry) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        line(out, &format!("{indent}{branch}"), &node.request);
        branches(out, &format!("{indent}{carry}"), &node.components);
    }
}

fn line(out: &mut String, prefix: &str, request: &RequestNode) {
    let place = if request.namespace.is_empty() {
        request.name.clone()
    } else {
        format!("{}/{}", request.namespace, request.name)
    };
    out.push_str(&format!(
        "{prefix}{} {place} ({}): {}",
        request.kind,
        request.promise,
        printable(&request.state)
    ));
    if let Some(message) = &request.message {
        out.push_str(&format!(" \"{}\"", printable(message)));
    }
    out.push('\n');
}

/// What a pipeline wrote, on one line and without terminal escapes.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(
        promise: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        parent: Option<(&str, &str, Option<&str>)>,
    ) -> RequestNode {
        let mut labels = BTreeMap::new();
        if let Some((promise, name, namespace)) = parent {
            labels.insert(COMPONENT_OF_PROMISE.to_owned(), promise.to_owned());
            labels.insert(COMPONENT_OF_RESOURCE.to_owned(), name.to_owned());
            if let Some(namespace) = namespace {
                labels.insert(COMPONENT_OF_NAMESPACE.to_owned(), namespace.to_owned());
            }
        }
        RequestNode {
            promise: promise.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            state: "Reconciled".to_owned(),
            message: None,
            labels,
        }
    }

    #[test]
    fn components_hang_under_the_request_their_labels_name() {
        let roots = vec![
            node("app", "App", "team-b", "shop", None),
            node("app", "App", "team-a", "blog", None),
        ];
        let candidates = vec![
            node(
                "db",
                "Database",
                "team-a",
                "blog-db",
                Some(("app", "blog", Some("team-a"))),
            ),
            node(
                "cache",
                "Cache",
                "team-a",
                "blog-cache",
                Some(("app", "blog", None)),
            ),
            node(
                "bucket",
                "Bucket",
                "storage",
                "blog-db-backups",
                Some(("db", "blog-db", Some("team-a"))),
            ),
            // Same names, another namespace: not blog's.
            node(
                "db",
                "Database",
                "team-b",
                "other-db",
                Some(("app", "blog", Some("team-b"))),
            ),
            // Namespace label missing and in another namespace: not blog's.
            node("cache", "Cache", "team-c", "stray", Some(("app", "blog", None))),
        ];
        let trees = build(roots, &candidates);
        let expected = [
            "App team-a/blog (app): Reconciled",
            "├── Cache team-a/blog-cache (cache): Reconciled",
            "└── Database team-a/blog-db (db): Reconciled",
            "    └── Bucket storage/blog-db-backups (bucket): Reconciled",
            "App team-b/shop (app): Reconciled",
            "",
        ];
        assert_eq!(render(&trees), expected.join("\n"));
        let as_json = serde_json::to_value(&trees).expect("json");
        assert_eq!(
            as_json[0]["components"][1]["components"][0]["name"],
            "blog-db-backups"
        );
        assert!(as_json[1].get("components").is_none());
        assert!(as_json[0].get("labels").is_none());
    }

    #[test]
    fn a_label_loop_ends_where_it_would_repeat_a_request() {
        let a = node("x", "X", "ns", "a", Some(("x", "b", Some("ns"))));
        let b = node("x", "X", "ns", "b", Some(("x", "a", Some("ns"))));
        let trees = build(vec![a.clone()], &[a, b]);
        assert_eq!(
            render(&trees),
            "X ns/a (x): Reconciled\n└── X ns/b (x): Reconciled\n"
        );
    }

    #[test]
    fn a_chain_of_components_is_followed_no_deeper_than_the_cap() {
        let chain: Vec<RequestNode> = (1..40)
            .map(|i| {
                let parent = format!("r{}", i - 1);
                node("x", "X", "ns", &format!("r{i}"), Some(("x", &parent, Some("ns"))))
            })
            .collect();
        let trees = build(vec![node("x", "X", "ns", "r0", None)], &chain);
        assert_eq!(render(&trees).lines().count(), MAX_DEPTH + 1);
    }

    #[test]
    fn the_state_is_reconciled_a_failing_reason_or_pending() {
        let with = |conditions: Value| json!({"status": {"conditions": conditions}});
        assert_eq!(
            state_of(&with(json!([{"type": "Reconciled", "status": "True"}]))),
            "Reconciled"
        );
        assert_eq!(
            state_of(&with(
                json!([{"type": "Reconciled", "status": "False", "reason": "WorksFailing"}])
            )),
            "WorksFailing"
        );
        assert_eq!(state_of(&json!({})), "Pending");
        let request = RequestNode::new(
            "app",
            "App",
            &json!({"metadata": {"name": "blog", "namespace": "a"}, "status": {"message": "line one\nline two\u{1b}[2J"}}),
            BTreeMap::new(),
        );
        let shown = render(&[TreeNode {
            request,
            components: Vec::new(),
        }]);
        assert_eq!(shown, "App a/blog (app): Pending \"line oneline two[2J\"\n");
    }
}

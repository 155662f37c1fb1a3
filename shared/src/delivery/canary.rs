//! The Destination canary files: a Namespace and a ConfigMap that
//! tell whoever reads the store that it is being written, and where they go under
//! each file layout.

use std::collections::BTreeMap;

use crate::delivery::state_batch::Target;
use crate::delivery::state_layout::{Layout, join};

pub const NAMESPACE_FILE: &str = "kratix-canary-namespace.yaml";
pub const CONFIGMAP_FILE: &str = "kratix-canary-configmap.yaml";

const NAMESPACE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: kratix-worker-system
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: kratix-info
  namespace: kratix-worker-system
data:
  canary: the presence of this ConfigMap means the Destination reads its state store
";

/// The canary files of a Destination, by path from the store's root: under
/// `dependencies/` and `resources/` in the nested layout, flat otherwise.
pub fn files(target: &Target) -> BTreeMap<String, Vec<u8>> {
    let root = target.root();
    let (namespace_path, configmap_path) = match target.layout {
        Layout::Nested => (
            join(&[&root, "dependencies", NAMESPACE_FILE]),
            join(&[&root, "resources", CONFIGMAP_FILE]),
        ),
        Layout::Flat | Layout::Aggregated { .. } => {
            (join(&[&root, NAMESPACE_FILE]), join(&[&root, CONFIGMAP_FILE]))
        }
    };
    BTreeMap::from([
        (namespace_path, NAMESPACE.as_bytes().to_vec()),
        (configmap_path, CONFIGMAP.as_bytes().to_vec()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(layout: Layout) -> Target {
        Target {
            destination: "dev".to_owned(),
            store_path: "clusters".to_owned(),
            destination_path: "dev".to_owned(),
            layout,
        }
    }

    #[test]
    fn canaries_follow_the_layout() {
        let nested: Vec<String> = files(&target(Layout::Nested)).into_keys().collect();
        assert_eq!(
            nested,
            [
                "clusters/dev/dependencies/kratix-canary-namespace.yaml",
                "clusters/dev/resources/kratix-canary-configmap.yaml"
            ]
        );
        let flat: Vec<String> = files(&target(Layout::Flat)).into_keys().collect();
        assert_eq!(
            flat,
            [
                "clusters/dev/kratix-canary-configmap.yaml",
                "clusters/dev/kratix-canary-namespace.yaml"
            ]
        );
        let namespace =
            &files(&target(Layout::Nested))["clusters/dev/dependencies/kratix-canary-namespace.yaml"];
        assert!(String::from_utf8_lossy(namespace).contains("name: kratix-worker-system"));
    }
}

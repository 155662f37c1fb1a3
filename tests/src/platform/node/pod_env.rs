//! A container's environment: `env` and `envFrom` resolved from the API,
//! `fieldRef` from the pod, and `$(VAR)` references expanded.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapKeySelector, Container, EnvVarSource, Pod, Secret, SecretKeySelector,
};
use kube::Api;

/// A reason the container cannot be configured (the kubelet's
/// `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// Expands `$(NAME)` from `vars`; `$$(` stays a literal `$(`; unknown names stay as they are.
pub fn expand(text: &str, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        if let Some(tail) = after.strip_prefix("$(") {
            out.push_str("$(");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(')
            && let Some(end) = tail.find(')')
        {
            let name = &tail[..end];
            match vars.iter().rev().find(|(k, _)| k == name) {
                Some((_, value)) => out.push_str(value),
                None => out.push_str(&format!("$({name})")),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The value of a `fieldRef` path.
pub fn field_value(pod: &Pod, path: &str) -> Result<String, ConfigError> {
    let meta = &pod.metadata;
    let from_map = |map: &Option<BTreeMap<String, String>>, key: &str| {
        map.as_ref().and_then(|m| m.get(key)).cloned().unwrap_or_default()
    };
    let bracketed = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(str::to_owned)
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default(),
        "spec.serviceAccountName" => pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned()),
        "status.podIP" | "status.hostIP" => "127.0.0.1".to_owned(),
        _ => {
            if let Some(key) = bracketed("metadata.labels['") {
                from_map(&meta.labels, &key)
            } else if let Some(key) = bracketed("metadata.annotations['") {
                from_map(&meta.annotations, &key)
            } else {
                return Err(ConfigError(format!("unsupported fieldRef path {path:?}")));
            }
        }
    })
}

/// The resolved environment of `container`, in Kubernetes order: `envFrom`
/// first, then `env` (later entries win), each value expanded.
pub async fn resolve(
    client: &kube::Client,
    pod: &Pod,
    container: &Container,
) -> Result<Vec<(String, String)>, ConfigError> {
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let sources = Sources {
        configmaps: Api::namespaced(client.clone(), &namespace),
        secrets: Api::namespaced(client.clone(), &namespace),
        namespace,
    };
    let mut vars = sources.env_from(container).await?;
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => expand(value, &vars),
            (None, Some(source)) => match sources.value_from(pod, &var.name, source).await? {
                Some(value) => value,
                None => continue,
            },
            (None, None) => String::new(),
        };
        vars.push((var.name.clone(), value));
    }
    Ok(deduplicate(vars))
}

/// Later entries override earlier ones with the same name.
fn deduplicate(vars: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut deduplicated: Vec<(String, String)> = Vec::new();
    for (key, value) in vars {
        deduplicated.retain(|(k, _)| *k != key);
        deduplicated.push((key, value));
    }
    deduplicated
}

/// The pod namespace's ConfigMaps and Secrets, which a container's environment reads.
struct Sources {
    namespace: String,
    configmaps: Api<ConfigMap>,
    secrets: Api<Secret>,
}

impl Sources {
    /// The variables of the container's `envFrom`, in order, each with its prefix.
    async fn env_from(&self, container: &Container) -> Result<Vec<(String, String)>, ConfigError> {
        let mut vars: Vec<(String, String)> = Vec::new();
        for source in container.env_from.iter().flatten() {
            let prefix = source.prefix.clone().unwrap_or_default();
            if let Some(reference) = &source.config_map_ref {
                match self.configmaps.get_opt(&reference.name).await {
                    Ok(Some(cm)) => {
                        for (k, v) in cm.data.unwrap_or_default() {
                            vars.push((format!("{prefix}{k}"), v));
                        }
                    }
                    Ok(None) if reference.optional == Some(true) => {}
                    Ok(None) => return Err(ConfigError(format!("configmap {:?} not found", reference.name))),
                    Err(error) => return Err(ConfigError(error.to_string())),
                }
            }
            if let Some(reference) = &source.secret_ref {
                match self.secrets.get_opt(&reference.name).await {
                    Ok(Some(secret)) => {
                        for (k, v) in secret.data.unwrap_or_default() {
                            vars.push((format!("{prefix}{k}"), String::from_utf8_lossy(&v.0).into_owned()));
                        }
                    }
                    Ok(None) if reference.optional == Some(true) => {}
                    Ok(None) => return Err(ConfigError(format!("secret {:?} not found", reference.name))),
                    Err(error) => return Err(ConfigError(error.to_string())),
                }
            }
        }
        Ok(vars)
    }

    /// The value of env var `name`'s `valueFrom`; `None` when it names an
    /// optional key that is missing (the variable is left out).
    async fn value_from(
        &self,
        pod: &Pod,
        name: &str,
        source: &EnvVarSource,
    ) -> Result<Option<String>, ConfigError> {
        if let Some(field) = &source.field_ref {
            field_value(pod, &field.field_path).map(Some)
        } else if let Some(key) = &source.config_map_key_ref {
            self.config_map_key(key).await
        } else if let Some(key) = &source.secret_key_ref {
            self.secret_key(key).await
        } else {
            Err(ConfigError(format!("env {name}: unsupported valueFrom")))
        }
    }

    /// A `configMapKeyRef`'s value; `None` when it is optional and missing.
    async fn config_map_key(&self, key: &ConfigMapKeySelector) -> Result<Option<String>, ConfigError> {
        let cm = self
            .configmaps
            .get_opt(&key.name)
            .await
            .map_err(|e| ConfigError(e.to_string()))?;
        match cm.and_then(|c| c.data).and_then(|d| d.get(&key.key).cloned()) {
            Some(value) => Ok(Some(value)),
            None if key.optional == Some(true) => Ok(None),
            None => Err(ConfigError(format!(
                "couldn't find key {} in ConfigMap {}/{}",
                key.key, self.namespace, key.name
            ))),
        }
    }

    /// A `secretKeyRef`'s value; `None` when it is optional and missing.
    async fn secret_key(&self, key: &SecretKeySelector) -> Result<Option<String>, ConfigError> {
        let secret = self
            .secrets
            .get_opt(&key.name)
            .await
            .map_err(|e| ConfigError(e.to_string()))?;
        match secret.and_then(|s| s.data).and_then(|d| d.get(&key.key).cloned()) {
            Some(value) => Ok(Some(String::from_utf8_lossy(&value.0).into_owned())),
            None if key.optional == Some(true) => Ok(None),
            None => Err(ConfigError(format!(
                "couldn't find key {} in Secret {}/{}",
                key.key, self.namespace, key.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn expands_references() {
        let vars = vec![("A".to_owned(), "1".to_owned())];
        assert_eq!(expand("x$(A)y", &vars), "x1y");
        assert_eq!(expand("$$(A)", &vars), "$(A)");
        assert_eq!(expand("$(B)", &vars), "$(B)");
        assert_eq!(expand("cost $5", &vars), "cost $5");
    }

    #[test]
    fn field_refs_read_the_pod() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                annotations: Some(BTreeMap::from([(
                    "kratix.io/trace-parent".to_owned(),
                    "t".to_owned(),
                )])),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(field_value(&pod, "metadata.name"), Ok("p".into()));
        assert_eq!(
            field_value(&pod, "metadata.annotations['kratix.io/trace-parent']"),
            Ok("t".into())
        );
        assert_eq!(
            field_value(&pod, "metadata.annotations['missing']"),
            Ok(String::new())
        );
        assert!(field_value(&pod, "spec.bogus").is_err());
    }
}

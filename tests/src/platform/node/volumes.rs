//! A pod's volumes as host folders: `emptyDir`, `configMap`, `secret`,
//! `downwardAPI` and `projected` (service-account tokens asked of the API
//! server with a TokenRequest bound to the pod, `kube-root-ca.crt`, the
//! namespace). The ServiceAccount admission plugin adds the projected
//! `kube-api-access-*` volume and its mount to every pod; this is what makes
//! in-cluster clients work inside the containers.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, ServiceAccount, ServiceAccountTokenProjection,
    Volume,
};
use kube::Api;
use kube::api::PostParams;

use super::pod_env::{ConfigError, field_value};

/// The default lifetime of a projected token, as the kubelet asks for it.
const TOKEN_SECONDS: i64 = 3600;

fn config_error(error: impl std::fmt::Display) -> ConfigError {
    ConfigError(error.to_string())
}

/// A volume folder, world-writable as an emptyDir is to the containers'
/// non-root users.
fn create_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(config_error)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).map_err(config_error)
}

/// Writes `files` (path relative to `dir`, content) under `dir`, refusing paths
/// that climb out of it as the kubelet does.
fn write_files(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<(), ConfigError> {
    for (path, content) in files {
        let relative = Path::new(&path);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(ConfigError(format!(
                "volume file path {path:?} must be relative and may not contain '..'"
            )));
        }
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(config_error)?;
        }
        std::fs::write(&target, content).map_err(config_error)?;
        // Readable by the container's user, whoever it is.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).map_err(config_error)?;
    }
    Ok(())
}

/// The keys of `data`, all of them or the listed items under their paths.
fn project(
    data: Vec<(String, Vec<u8>)>,
    items: Option<&[KeyToPath]>,
    source: &str,
) -> Result<Vec<(String, Vec<u8>)>, ConfigError> {
    let Some(items) = items else { return Ok(data) };
    let mut files = Vec::new();
    for item in items {
        match data.iter().find(|(k, _)| *k == item.key) {
            Some((_, value)) => files.push((item.path.clone(), value.clone())),
            None => {
                return Err(ConfigError(format!(
                    "configmap or secret {source:?}: key {:?} not found",
                    item.key
                )));
            }
        }
    }
    Ok(files)
}

/// What one pod's volumes are made from.
pub struct VolumeMaker<'a> {
    pub client: &'a kube::Client,
    pub pod: &'a Pod,
    /// The pod's folder; volumes go under `volumes/<name>`.
    pub pod_dir: &'a Path,
}

impl VolumeMaker<'_> {
    fn namespace(&self) -> String {
        self.pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned())
    }

    /// Every volume of the pod, as `(name, host folder)`.
    pub async fn make_all(&self) -> Result<Vec<(String, PathBuf)>, ConfigError> {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let mut made = Vec::new();
        for volume in spec.volumes.iter().flatten() {
            let dir = self.pod_dir.join("volumes").join(&volume.name);
            self.make(volume, &dir).await?;
            made.push((volume.name.clone(), dir));
        }
        Ok(made)
    }

    async fn make(&self, volume: &Volume, dir: &Path) -> Result<(), ConfigError> {
        if volume.empty_dir.is_some() {
            return create_dir(dir);
        }
        let files = if let Some(source) = &volume.config_map {
            let data = self
                .config_map(&source.name, source.optional == Some(true))
                .await?;
            project(data, source.items.as_deref(), &source.name)?
        } else if let Some(source) = &volume.secret {
            let name = source.secret_name.clone().unwrap_or_default();
            let data = self.secret(&name, source.optional == Some(true)).await?;
            project(data, source.items.as_deref(), &name)?
        } else if let Some(source) = &volume.downward_api {
            self.downward_files(source.items.as_deref().unwrap_or_default())?
        } else if let Some(source) = &volume.projected {
            let mut files = Vec::new();
            for projection in source.sources.iter().flatten() {
                if let Some(token) = &projection.service_account_token {
                    files.push((token.path.clone(), self.token(token).await?.into_bytes()));
                }
                if let Some(cm) = &projection.config_map {
                    let data = self.config_map(&cm.name, cm.optional == Some(true)).await?;
                    files.extend(project(data, cm.items.as_deref(), &cm.name)?);
                }
                if let Some(secret) = &projection.secret {
                    let data = self.secret(&secret.name, secret.optional == Some(true)).await?;
                    files.extend(project(data, secret.items.as_deref(), &secret.name)?);
                }
                if let Some(downward) = &projection.downward_api {
                    files.extend(self.downward_files(downward.items.as_deref().unwrap_or_default())?);
                }
            }
            files
        } else {
            return Err(ConfigError(format!(
                "volume {:?}: only emptyDir, configMap, secret, downwardAPI and projected volumes are supported on this node",
                volume.name
            )));
        };
        create_dir(dir)?;
        write_files(dir, files)
    }

    async fn config_map(&self, name: &str, optional: bool) -> Result<Vec<(String, Vec<u8>)>, ConfigError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace());
        match api.get_opt(name).await.map_err(config_error)? {
            Some(cm) => {
                let mut data: Vec<(String, Vec<u8>)> = cm
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes()))
                    .collect();
                data.extend(
                    cm.binary_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0)),
                );
                Ok(data)
            }
            None if optional => Ok(Vec::new()),
            None => Err(ConfigError(format!("configmap {name:?} not found"))),
        }
    }

    async fn secret(&self, name: &str, optional: bool) -> Result<Vec<(String, Vec<u8>)>, ConfigError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace());
        match api.get_opt(name).await.map_err(config_error)? {
            Some(secret) => Ok(secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect()),
            None if optional => Ok(Vec::new()),
            None => Err(ConfigError(format!("secret {name:?} not found"))),
        }
    }

    fn downward_files(&self, items: &[DownwardAPIVolumeFile]) -> Result<Vec<(String, Vec<u8>)>, ConfigError> {
        let mut files = Vec::new();
        for item in items {
            let Some(field) = &item.field_ref else {
                return Err(ConfigError(format!(
                    "downwardAPI file {:?}: only fieldRef is supported on this node",
                    item.path
                )));
            };
            let value = match field.field_path.as_str() {
                "metadata.labels" => map_lines(self.pod.metadata.labels.as_ref()),
                "metadata.annotations" => map_lines(self.pod.metadata.annotations.as_ref()),
                path => field_value(self.pod, path)?,
            };
            files.push((item.path.clone(), value.into_bytes()));
        }
        Ok(files)
    }

    /// A token for the pod's service account, bound to the pod, as the kubelet
    /// asks for one: the API server checks that this node runs that pod.
    async fn token(&self, projection: &ServiceAccountTokenProjection) -> Result<String, ConfigError> {
        let account = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &self.namespace());
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: projection.audience.clone().map(|audience| vec![audience]),
                expiration_seconds: Some(projection.expiration_seconds.unwrap_or(TOKEN_SECONDS)),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Pod".to_owned()),
                    name: self.pod.metadata.name.clone(),
                    uid: self.pod.metadata.uid.clone(),
                }),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let answer = api
            .create_token_request(&account, &PostParams::default(), &request)
            .await
            .map_err(|e| ConfigError(format!("requesting a token for service account {account:?}: {e}")))?;
        answer
            .status
            .and_then(|s| s.token)
            .ok_or_else(|| ConfigError(format!("the token request for {account:?} returned no token")))
    }
}

/// `key="value"` lines, as the downward API writes labels and annotations.
fn map_lines(map: Option<&std::collections::BTreeMap<String, String>>) -> String {
    map.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_items_pick_keys_and_paths() {
        let data = vec![("a".to_owned(), b"1".to_vec()), ("b".to_owned(), b"2".to_vec())];
        let items = [KeyToPath {
            key: "b".into(),
            path: "dir/b.txt".into(),
            ..KeyToPath::default()
        }];
        assert_eq!(
            project(data.clone(), Some(&items), "cm").expect("projected"),
            vec![("dir/b.txt".to_owned(), b"2".to_vec())]
        );
        assert_eq!(project(data.clone(), None, "cm").expect("all"), data);
        let missing = [KeyToPath {
            key: "z".into(),
            path: "z".into(),
            ..KeyToPath::default()
        }];
        assert!(
            project(data, Some(&missing), "cm")
                .unwrap_err()
                .0
                .contains("\"z\"")
        );
    }

    #[test]
    fn files_may_not_leave_their_volume() {
        let dir = tempfile::tempdir().expect("tempdir");
        for path in ["../escape", "/etc/passwd", "a/../../b"] {
            assert!(
                write_files(dir.path(), vec![(path.to_owned(), Vec::new())]).is_err(),
                "{path}"
            );
        }
        write_files(dir.path(), vec![("ok/file".to_owned(), b"x".to_vec())]).expect("written");
        assert_eq!(std::fs::read(dir.path().join("ok/file")).expect("read"), b"x");
    }

    #[test]
    fn labels_are_written_as_quoted_lines() {
        let map = [
            ("app".to_owned(), "web".to_owned()),
            ("tier".to_owned(), "a\"b".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(map_lines(Some(&map)), "app=\"web\"\ntier=\"a\\\"b\"\n");
    }
}

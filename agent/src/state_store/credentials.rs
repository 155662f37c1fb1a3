//! A state store's credentials, read from the Secret its `secretRef` names, in the
//! form its writer hands them on; and the redaction that keeps them out of every
//! message.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kratix_shared::api::state_store::{BucketStateStore, GitStateStore, SecretReference};
use kube::ResourceExt as _;
use kube::api::Api;

use super::StoreError;

/// How `git` authenticates.
pub enum GitAuth {
    /// A repository that needs no credentials (no `secretRef`).
    None,
    Basic {
        header: String,
        secrets: Vec<String>,
    },
    Ssh {
        command: String,
        /// The key and known-hosts files the command names: removed when these
        /// credentials are dropped, so no private key outlives its batch.
        files: Vec<PathBuf>,
    },
}

impl Drop for GitAuth {
    fn drop(&mut self) {
        if let GitAuth::Ssh { files, .. } = self {
            for file in files {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

impl GitAuth {
    /// Hands the credentials to one `git` command through its environment only.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        match self {
            GitAuth::None => {}
            GitAuth::Basic { header, .. } => {
                command
                    .env("GIT_CONFIG_COUNT", "1")
                    .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                    .env("GIT_CONFIG_VALUE_0", header);
            }
            GitAuth::Ssh { command: ssh, .. } => {
                command.env("GIT_SSH_COMMAND", ssh);
            }
        }
    }

    /// `text` with every credential replaced by `***`, those written into a
    /// URL included.
    pub fn redact(&self, text: &str) -> String {
        let text = redact_url_credentials(text);
        match self {
            GitAuth::None | GitAuth::Ssh { .. } => text,
            GitAuth::Basic { secrets, .. } => redact(&text, secrets),
        }
    }
}

/// `text` with each of `secrets` (at least four characters long) replaced.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

/// `text` with the `user:password@` of every URL in it replaced by `***@`: a
/// store's URL may carry a token, and git repeats the URL in its messages.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(user_end) if authority[..user_end].contains(':') => {
                out.push_str("***");
                out.push_str(&authority[user_end..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// The Secret's keys as text, or why not (naming the Secret and the store).
async fn secret_data(
    client: &kube::Client,
    reference: &SecretReference,
    store: &str,
) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    let namespace = reference
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match secrets.get_opt(&reference.name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Err(StoreError::SecretNotFound {
                name: reference.name.clone(),
                namespace: namespace.to_owned(),
            });
        }
        Err(error) => {
            return Err(StoreError::SecretUnreadable(format!(
                "{store}: reading Secret {namespace}/{}: {error}",
                reference.name
            )));
        }
    };
    let mut data = std::collections::BTreeMap::new();
    for (key, value) in secret.data.unwrap_or_default() {
        data.insert(key, String::from_utf8_lossy(&value.0).into_owned());
    }
    for (key, value) in secret.string_data.unwrap_or_default() {
        data.insert(key, value);
    }
    Ok(data)
}

fn required(
    data: &std::collections::BTreeMap<String, String>,
    key: &str,
    store: &str,
    reference: &SecretReference,
    why: &str,
) -> Result<String, StoreError> {
    data.get(key).filter(|v| !v.is_empty()).cloned().ok_or_else(|| {
        StoreError::Failed(format!(
            "{store}: Secret {}/{} has no {key:?} key, which {why} needs",
            reference.namespace.as_deref().unwrap_or("default"),
            reference.name
        ))
    })
}

/// A single-quoted word for `GIT_SSH_COMMAND`, which git runs through a shell.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The Git store's credentials; SSH key files are written under `key_dir` (0600).
pub async fn git_auth(
    client: &kube::Client,
    store: &GitStateStore,
    key_dir: &Path,
) -> Result<GitAuth, StoreError> {
    let label = format!("GitStateStore {}", store.name_any());
    let Some(reference) = store.spec.secret_ref.as_ref().filter(|r| !r.name.is_empty()) else {
        return Ok(GitAuth::None);
    };
    let data = secret_data(client, reference, &label).await?;
    match store.spec.auth_method.as_deref().unwrap_or("basicAuth") {
        "basicAuth" | "" => {
            let username = required(&data, "username", &label, reference, "basicAuth")?;
            let password = required(&data, "password", &label, reference, "basicAuth")?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            Ok(GitAuth::Basic {
                header: format!("Authorization: Basic {encoded}"),
                secrets: vec![password, encoded],
            })
        }
        "ssh" => {
            let key = required(&data, "sshPrivateKey", &label, reference, "ssh")?;
            let known_hosts = required(
                &data,
                "knownHosts",
                &label,
                reference,
                "ssh (the host key is always checked)",
            )?;
            ssh_auth(&label, &key, &known_hosts, key_dir)
        }
        "githubApp" => Err(StoreError::Failed(format!(
            "{label}: authMethod githubApp is not supported by kratix-agent; use basicAuth with a token as the password, or ssh"
        ))),
        other => Err(StoreError::Failed(format!(
            "{label}: spec.authMethod {other:?} is not one of basicAuth, ssh"
        ))),
    }
}

/// SSH credentials: the key and known hosts written under `key_dir` (0600) for
/// the life of the returned value.
pub fn ssh_auth(label: &str, key: &str, known_hosts: &str, key_dir: &Path) -> Result<GitAuth, StoreError> {
    let write = |name: &str, content: &str| -> Result<PathBuf, StoreError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(key_dir)
            .map_err(|e| StoreError::Failed(format!("{label}: creating {}: {e}", key_dir.display())))?;
        let path = key_dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::Failed(format!("{label}: writing {}: {e}", path.display())))?;
        let mut text = content.to_owned();
        if !text.ends_with('\n') {
            // ssh refuses a private key without its final newline.
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .map_err(|e| StoreError::Failed(format!("{label}: writing {}: {e}", path.display())))?;
        Ok(path)
    };
    let key_file = write("ssh-key", key)?;
    let known_hosts_file = write("known_hosts", known_hosts)?;
    Ok(GitAuth::Ssh {
        command: format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20",
            shell_quote(&key_file),
            shell_quote(&known_hosts_file)
        ),
        files: vec![key_file, known_hosts_file],
    })
}

/// How the bucket client authenticates.
pub enum BucketCredentials {
    /// `authMethod: IAM`: the ambient AWS chain (environment, web identity, instance metadata).
    Ambient,
    Keys {
        access_key: String,
        secret_key: String,
    },
}

impl BucketCredentials {
    pub fn redact(&self, text: &str) -> String {
        let text = redact_url_credentials(text);
        match self {
            BucketCredentials::Ambient => text,
            BucketCredentials::Keys { secret_key, .. } => redact(&text, std::slice::from_ref(secret_key)),
        }
    }
}

/// The bucket store's credentials.
pub async fn bucket_credentials(
    client: &kube::Client,
    store: &BucketStateStore,
) -> Result<BucketCredentials, StoreError> {
    let label = format!("BucketStateStore {}", store.name_any());
    match store.spec.auth_method.as_deref().unwrap_or("accessKey") {
        "IAM" => Ok(BucketCredentials::Ambient),
        "accessKey" | "" => {
            let reference = store.spec.secret_ref.as_ref().filter(|r| !r.name.is_empty()).ok_or_else(|| {
                StoreError::Failed(format!(
                    "{label}: authMethod accessKey needs spec.secretRef naming a Secret with accessKeyID and secretAccessKey"
                ))
            })?;
            let data = secret_data(client, reference, &label).await?;
            Ok(BucketCredentials::Keys {
                access_key: required(&data, "accessKeyID", &label, reference, "accessKey")?,
                secret_key: required(&data, "secretAccessKey", &label, reference, "accessKey")?,
            })
        }
        other => Err(StoreError::Failed(format!(
            "{label}: spec.authMethod {other:?} is not one of accessKey, IAM"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_survive_in_a_message() {
        let auth = GitAuth::Basic {
            header: "Authorization: Basic a3JhdGl4OnMzY3IzdA==".to_owned(),
            secrets: vec!["s3cr3t".to_owned(), "a3JhdGl4OnMzY3IzdA==".to_owned()],
        };
        assert_eq!(
            auth.redact("fatal: auth a3JhdGl4OnMzY3IzdA== for s3cr3t failed"),
            "fatal: auth *** for *** failed"
        );
        assert_eq!(
            redact("abc", &["ab".to_owned()]),
            "abc",
            "too short to be a credential"
        );
        assert_eq!(shell_quote(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }

    #[test]
    fn credentials_written_into_a_store_url_are_redacted_too() {
        let text = "fatal: unable to access 'https://kratix:t0ken@git.example.org/repo.git/': 403";
        for redacted in [
            GitAuth::None.redact(text),
            redact_url_credentials(text),
            BucketCredentials::Ambient.redact("GET http://AKIA:secret@minio:9000/b failed"),
        ] {
            assert!(
                !redacted.contains("t0ken") && !redacted.contains("secret@"),
                "{redacted}"
            );
        }
        assert_eq!(
            redact_url_credentials(text),
            "fatal: unable to access 'https://***@git.example.org/repo.git/': 403"
        );
        assert_eq!(
            redact_url_credentials("ssh://git@host/x and git@host:x.git stay"),
            "ssh://git@host/x and git@host:x.git stay",
            "a user name alone is no credential"
        );
    }

    #[test]
    fn ssh_key_files_live_only_as_long_as_the_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = ssh_auth("GitStateStore s", "KEY", "host ssh-ed25519 AAAA", dir.path()).expect("auth");
        let key = dir.path().join("ssh-key");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).expect("key").permissions());
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&key).expect("key"), "KEY\n");
        drop(auth);
        assert!(!key.exists(), "the private key is removed once the batch is done");
        assert!(!dir.path().join("known_hosts").exists());
    }
}

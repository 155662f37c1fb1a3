//! The bucket writer: S3-compatible object storage through the `object_store`
//! crate (SigV4, path-style or virtual-hosted addressing, access keys or the
//! ambient AWS credential chain). One batch lists the store's prefix once, skips
//! objects whose ETag already is the content's md5, puts and deletes the rest in
//! parallel.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt as _, TryStreamExt as _};
use kratix_shared::api::state_store::BucketStateStoreSpec;
use kratix_shared::delivery::state_batch::{self, Change, StoreContents};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};
use sha2::Digest as _;

use super::credentials::BucketCredentials;
use super::{BatchOutcome, StoreError};

/// Object writes in flight at once.
const PARALLEL_WRITES: usize = 16;

/// What a listing says of an object: its md5 (when its ETag is one), and its
/// version (its ETag where the bucket keeps no versions).
type ObjectState = (Option<String>, Option<String>);

/// One object written: its key and new state (`None`: deleted), or its key
/// and why not.
type WriteResult = Result<(String, Option<ObjectState>), (String, StoreError)>;

pub struct Bucket {
    /// For messages: `BucketStateStore NAME`.
    pub label: String,
    spec: BucketStateStoreSpec,
}

impl Bucket {
    pub fn new(label: String, spec: &BucketStateStoreSpec) -> Bucket {
        Bucket {
            label,
            spec: spec.clone(),
        }
    }

    fn prefix(&self) -> Option<Path> {
        let joined =
            kratix_shared::delivery::state_layout::join(&[self.spec.path.as_deref().unwrap_or_default()]);
        (!joined.is_empty()).then(|| Path::from(joined.as_str()))
    }

    fn fail(&self, what: &str, error: impl std::fmt::Display, credentials: &BucketCredentials) -> StoreError {
        StoreError::Failed(credentials.redact(&format!("{}: {what}: {error}", self.label)))
    }

    /// Builds the client; the endpoint decides the addressing style, as the
    /// reference's client does: virtual-hosted for AWS, path-style elsewhere.
    fn client(&self, credentials: &BucketCredentials) -> Result<Arc<dyn ObjectStore>, StoreError> {
        let insecure = self.spec.insecure.unwrap_or(false);
        let raw = self.spec.endpoint.trim().trim_end_matches('/');
        let host = raw.split_once("://").map_or(raw, |(_, rest)| rest);
        let aws = host.ends_with("amazonaws.com");
        let region = host
            .strip_prefix("s3.")
            .and_then(|rest| rest.strip_suffix(".amazonaws.com"))
            .map(|r| r.trim_start_matches("dualstack."))
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let host = if aws && self.spec.use_dual_stack.unwrap_or(false) {
            format!("s3.dualstack.{region}.amazonaws.com")
        } else {
            host.to_owned()
        };
        let scheme = if insecure { "http" } else { "https" };
        let mut builder = match credentials {
            // The ambient chain: AWS_* variables, a web identity token, instance metadata.
            BucketCredentials::Ambient => AmazonS3Builder::from_env(),
            BucketCredentials::Keys {
                access_key,
                secret_key,
            } => AmazonS3Builder::new()
                .with_access_key_id(access_key)
                .with_secret_access_key(secret_key),
        };
        builder = builder
            .with_bucket_name(&self.spec.bucket_name)
            .with_region(region)
            .with_allow_http(insecure);
        if aws {
            builder = builder.with_virtual_hosted_style_request(true);
            if self.spec.use_dual_stack.unwrap_or(false) {
                builder = builder.with_endpoint(format!("{scheme}://{}.{host}", self.spec.bucket_name));
            }
        } else {
            builder = builder
                .with_endpoint(format!("{scheme}://{host}"))
                .with_virtual_hosted_style_request(false);
        }
        builder
            .build()
            .map(|store| Arc::new(store) as Arc<dyn ObjectStore>)
            .map_err(|e| self.fail("configuring the bucket client", e, credentials))
    }

    /// Every object under the store's path: key → ETag (an md5 hex for a
    /// single-part upload, else unknown), and its version when the bucket keeps them.
    async fn listing(
        &self,
        client: &dyn ObjectStore,
        credentials: &BucketCredentials,
    ) -> Result<BTreeMap<String, ObjectState>, StoreError> {
        let prefix = self.prefix();
        let objects: Vec<object_store::ObjectMeta> = client
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| self.fail("listing the bucket", e, credentials))?;
        Ok(objects
            .into_iter()
            .map(|object| {
                let md5 = md5_of_e_tag(object.e_tag.as_deref());
                (
                    object.location.to_string(),
                    (md5, object.version.or(object.e_tag)),
                )
            })
            .collect())
    }

    pub async fn write_batch(
        &self,
        changes: &[Change],
        credentials: &BucketCredentials,
    ) -> Result<BatchOutcome, StoreError> {
        let client = self.client(credentials)?;
        let mut listing = self.listing(client.as_ref(), credentials).await?;
        let mut files: BTreeMap<String, Option<String>> = listing
            .iter()
            .map(|(key, (md5, _))| (key.clone(), md5.clone()))
            .collect();
        let ownership = self.read_ownership(&client, &files, credentials).await?;
        let read = |path: &str| ownership.get(path).cloned();
        let mut plan = state_batch::plan(
            changes,
            &StoreContents {
                files: &files,
                read: &read,
            },
        );
        // Some servers list objects without their ETags: ask for those the plan
        // would overwrite, so that unchanged objects are still left alone.
        let unknown: Vec<String> = plan
            .writes
            .iter()
            .filter(|(key, content)| content.is_some() && matches!(files.get(*key), Some(None)))
            .map(|(key, _)| key.clone())
            .collect();
        if !unknown.is_empty() {
            for (key, md5) in head_md5s(&client, unknown).await {
                if let Some(entry) = listing.get_mut(&key) {
                    entry.0.clone_from(&md5);
                }
                files.insert(key, md5);
            }
            plan = state_batch::plan(
                changes,
                &StoreContents {
                    files: &files,
                    read: &read,
                },
            );
        }
        let writes: Vec<(String, Option<Vec<u8>>)> = plan.writes.clone().into_iter().collect();
        let results = self.write_objects(&client, writes, credentials).await;
        let attempted = results.len();
        let mut failures = Vec::new();
        for result in results {
            match result {
                Ok((key, Some(entry))) => {
                    listing.insert(key, entry);
                }
                Ok((key, None)) => {
                    listing.remove(&key);
                }
                Err(failure) => failures.push(failure),
            }
        }
        // Every write failing is the store's fault (credentials, the network):
        // the whole batch is retried. Some failing is their changes' fault alone.
        if attempted > 0 && failures.len() == attempted {
            return Err(failures.swap_remove(0).1);
        }
        for (key, error) in failures {
            if let Some(index) = plan.owners.get(&key) {
                plan.results[*index] = Err(kratix_shared::Error::StorePath {
                    message: format!("{error}; the change is retried"),
                });
            }
        }
        Ok(BatchOutcome {
            results: plan.results,
            version: Some(version_of(&listing)),
        })
    }

    /// The flat layout's ownership files, the only ones the plan reads.
    async fn read_ownership(
        &self,
        client: &Arc<dyn ObjectStore>,
        files: &BTreeMap<String, Option<String>>,
        credentials: &BucketCredentials,
    ) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let mut ownership = BTreeMap::new();
        for key in files
            .keys()
            .filter(|k| k.contains("/.kratix/") || k.starts_with(".kratix/"))
        {
            let bytes = client
                .get(&Path::from(key.as_str()))
                .await
                .map_err(|e| self.fail(&format!("reading {key}"), e, credentials))?
                .bytes()
                .await
                .map_err(|e| self.fail(&format!("reading {key}"), e, credentials))?;
            ownership.insert(key.clone(), bytes.to_vec());
        }
        Ok(ownership)
    }

    /// Puts (`Some`) or deletes (`None`) each object, several at a time: each
    /// key with its new state (`None`: gone), or why it failed.
    async fn write_objects(
        &self,
        client: &Arc<dyn ObjectStore>,
        writes: Vec<(String, Option<Vec<u8>>)>,
        credentials: &BucketCredentials,
    ) -> Vec<WriteResult> {
        futures::stream::iter(writes)
            .map(|(key, content)| {
                let client = client.clone();
                async move {
                    let path = Path::from(key.as_str());
                    match content {
                        Some(bytes) => {
                            let md5 = kratix_shared::api::naming::md5_hex(&bytes);
                            match client.put(&path, bytes.into()).await {
                                Ok(put) => Ok((key, Some((Some(md5), put.version.or(put.e_tag))))),
                                Err(e) => {
                                    let error = self.fail(&format!("writing {key}"), e, credentials);
                                    Err((key, error))
                                }
                            }
                        }
                        None => match client.delete(&path).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok((key, None)),
                            Err(e) => {
                                let error = self.fail(&format!("deleting {key}"), e, credentials);
                                Err((key, error))
                            }
                        },
                    }
                }
            })
            .buffer_unordered(PARALLEL_WRITES)
            .collect()
            .await
    }

    /// Checks that the bucket answers with these credentials.
    pub async fn probe(&self, credentials: &BucketCredentials) -> Result<(), StoreError> {
        let client = self.client(credentials)?;
        let prefix = self.prefix();
        let mut listing = client.list(prefix.as_ref());
        match listing.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(self.fail("listing the bucket", e, credentials)),
        }
    }
}

/// The content's md5 from an ETag, when it is one (a single-part upload's).
fn md5_of_e_tag(e_tag: Option<&str>) -> Option<String> {
    e_tag
        .map(|tag| tag.trim_matches('"').to_ascii_lowercase())
        .filter(|tag| tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The store's version after a batch: a sha256 over every object's key and
/// version (its ETag where the bucket keeps no versions), so any change anywhere
/// under the store's path gives a new one.
fn version_of(listing: &BTreeMap<String, ObjectState>) -> String {
    let mut hasher = sha2::Sha256::new();
    for (key, (md5, version)) in listing {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(
            version
                .as_deref()
                .or(md5.as_deref())
                .unwrap_or_default()
                .as_bytes(),
        );
        hasher.update([b'\n']);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5s of objects listed without one, asked of each object.
async fn head_md5s(client: &Arc<dyn ObjectStore>, keys: Vec<String>) -> Vec<(String, Option<String>)> {
    futures::stream::iter(keys)
        .map(|key| {
            let client = client.clone();
            async move {
                let md5 = client
                    .head(&Path::from(key.as_str()))
                    .await
                    .ok()
                    .and_then(|meta| md5_of_e_tag(meta.e_tag.as_deref()));
                (key, md5)
            }
        })
        .buffer_unordered(PARALLEL_WRITES)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_part_etag_is_an_md5() {
        assert_eq!(
            md5_of_e_tag(Some("\"9A0364B9E99BB480DD25E1F0284C8555\"")).as_deref(),
            Some("9a0364b9e99bb480dd25e1f0284c8555")
        );
        assert_eq!(md5_of_e_tag(Some("\"9a0364b9e99bb480dd25e1f0284c8555-2\"")), None);
        assert_eq!(md5_of_e_tag(None), None);
    }

    #[test]
    fn the_version_changes_with_any_object() {
        let mut listing = BTreeMap::from([("a".to_owned(), (Some("x".to_owned()), None))]);
        let before = version_of(&listing);
        assert_eq!(before.len(), 64);
        assert_eq!(before, version_of(&listing.clone()));
        listing.insert("b".to_owned(), (None, Some("v2".to_owned())));
        assert_ne!(before, version_of(&listing));
    }
}

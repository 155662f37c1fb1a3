//! State-store writers: one task per store, so writes to a store are serialised,
//! and every change that arrives while a write is under way goes into the next
//! batch together (one commit for many placements).
//!
//! Controllers call [`StateStores::write`] with one change and wait for its own
//! outcome; the writer plans the batch with `kratix_shared::delivery::state_batch` and
//! carries it out with the store's backend.

pub mod bucket;
pub mod credentials;
pub mod git;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kratix_shared::api::conditions::{status as state, types};
use kratix_shared::api::state_store::{BucketStateStore, GitStateStore};
use kratix_shared::delivery::state_batch::{self, Change};
use kube::ResourceExt as _;
use tokio::sync::{mpsc, oneshot};

/// How long the writer waits for more changes before it starts a batch: long
/// enough for the reconciles woken by one event to join, short enough not to be
/// felt.
const BATCH_WINDOW: Duration = Duration::from_millis(25);
/// The most changes in one batch.
const MAX_BATCH: usize = 5000;
/// The most bytes a batch's changes may inflate to: what planning one holds in
/// memory. The rest waits for the next batch; the agent's memory limit is sized
/// for this (`kratix_shared::install::agent_manifests`).
const BATCH_BYTES: usize = 32 << 20;
/// Numbers the writers' directories.
static WRITER_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// How long a caller waits for its change to be written.
const WRITE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Failed(String),
    /// The store's `secretRef` names a Secret that does not exist (Kratix's words).
    #[error("Secret {name} not found in namespace {namespace}")]
    SecretNotFound { name: String, namespace: String },
    /// The store's Secret could not be read.
    #[error("{0}")]
    SecretUnreadable(String),
    /// A push lost a race with another writer; the batch is planned again.
    #[error("{0}")]
    Rejected(String),
}

/// A batch's outcome: one result per change, and the store's version after it
/// (a commit SHA; `None` for an empty branch).
pub struct BatchOutcome {
    pub results: Vec<kratix_shared::Result<bool>>,
    pub version: Option<String>,
}

/// One change's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub changed: bool,
    pub version: Option<String>,
}

/// A state store object, as the writers need it.
#[derive(Clone)]
pub enum StoreObject {
    Git(Arc<GitStateStore>),
    Bucket(Arc<BucketStateStore>),
}

impl StoreObject {
    pub fn kind(&self) -> &'static str {
        match self {
            StoreObject::Git(_) => "GitStateStore",
            StoreObject::Bucket(_) => "BucketStateStore",
        }
    }

    pub fn name(&self) -> String {
        match self {
            StoreObject::Git(store) => store.name_any(),
            StoreObject::Bucket(store) => store.name_any(),
        }
    }

    /// Its own `Ready` condition is False: the store is known broken, whatever
    /// one write to it says.
    pub fn says_not_ready(&self) -> bool {
        let status = match self {
            StoreObject::Git(store) => store.status.as_ref(),
            StoreObject::Bucket(store) => store.status.as_ref(),
        };
        status.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == types::READY && c.status == state::FALSE)
        })
    }

    /// The store's `spec.path`.
    pub fn path(&self) -> String {
        match self {
            StoreObject::Git(store) => store.spec.path.clone().unwrap_or_default(),
            StoreObject::Bucket(store) => store.spec.path.clone().unwrap_or_default(),
        }
    }

    /// Changes when the writer must be made anew (a new spec, a recreated store).
    fn fingerprint(&self) -> String {
        let (uid, spec) = match self {
            StoreObject::Git(store) => (store.metadata.uid.clone(), serde_json::to_string(&store.spec)),
            StoreObject::Bucket(store) => (store.metadata.uid.clone(), serde_json::to_string(&store.spec)),
        };
        format!("{}:{}", uid.unwrap_or_default(), spec.unwrap_or_default())
    }
}

/// A store's writer side: the backend and the object it was made from (its
/// Secret is read again for each batch, so a rotated credential applies at once).
enum Backend {
    Git(git::GitRepo, Arc<GitStateStore>),
    Bucket(bucket::Bucket, Arc<BucketStateStore>),
}

impl Backend {
    fn new(store: &StoreObject, dir: &std::path::Path) -> Backend {
        let label = format!("{} {}", store.kind(), store.name());
        match store {
            StoreObject::Git(git_store) => Backend::Git(
                git::GitRepo::new(label, &git_store.spec, dir.join("clone")),
                git_store.clone(),
            ),
            StoreObject::Bucket(bucket_store) => Backend::Bucket(
                bucket::Bucket::new(label, &bucket_store.spec),
                bucket_store.clone(),
            ),
        }
    }

    fn label(&self) -> &str {
        match self {
            Backend::Git(repo, _) => &repo.label,
            Backend::Bucket(bucket, _) => &bucket.label,
        }
    }

    async fn write(
        &mut self,
        client: &kube::Client,
        dir: &std::path::Path,
        changes: &[Change],
        min_fetch_interval: Duration,
    ) -> Result<BatchOutcome, StoreError> {
        match self {
            Backend::Git(repo, store) => {
                let auth = credentials::git_auth(client, store, dir).await?;
                repo.write_batch(changes, &auth, min_fetch_interval).await
            }
            Backend::Bucket(bucket, store) => {
                let keys = credentials::bucket_credentials(client, store).await?;
                bucket.write_batch(changes, &keys).await
            }
        }
    }

    async fn probe(&mut self, client: &kube::Client, dir: &std::path::Path) -> Result<(), StoreError> {
        match self {
            Backend::Git(repo, store) => {
                let auth = credentials::git_auth(client, store, dir).await?;
                repo.probe(&auth).await
            }
            Backend::Bucket(bucket, store) => {
                let keys = credentials::bucket_credentials(client, store).await?;
                bucket.probe(&keys).await
            }
        }
    }
}

enum Request {
    Change(
        Box<Change>,
        Duration,
        oneshot::Sender<Result<Written, StoreError>>,
    ),
    Probe(oneshot::Sender<Result<(), StoreError>>),
}

struct Writer {
    fingerprint: String,
    requests: mpsc::UnboundedSender<Request>,
}

/// The writers, by store.
pub struct StateStores {
    client: kube::Client,
    /// Where the writers keep their clones.
    root: PathBuf,
    writers: Mutex<HashMap<(String, String), Writer>>,
}

impl StateStores {
    pub fn new(client: kube::Client, root: PathBuf) -> StateStores {
        StateStores {
            client,
            root,
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// Writes one change to `store` (in a batch with whatever else is pending).
    /// A Git clone fetched less than `min_fetch_interval` ago is not fetched again
    /// (`git.minimumFetchInterval`).
    pub async fn write(
        &self,
        store: &StoreObject,
        change: Change,
        min_fetch_interval: Duration,
    ) -> Result<Written, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(
            store,
            Request::Change(Box::new(change), min_fetch_interval, reply),
        )?;
        wait(store, outcome).await?
    }

    /// Checks that the store answers with its credentials.
    pub async fn probe(&self, store: &StoreObject) -> Result<(), StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.send(store, Request::Probe(reply))?;
        wait(store, outcome).await?
    }

    /// Stops the writer of a deleted store (its clone goes with it).
    pub fn forget(&self, kind: &str, name: &str) {
        let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        writers.remove(&(kind.to_owned(), name.to_owned()));
    }

    fn send(&self, store: &StoreObject, request: Request) -> Result<(), StoreError> {
        let key = (store.kind().to_owned(), store.name());
        let fingerprint = store.fingerprint();
        let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        let current = writers
            .get(&key)
            .filter(|w| w.fingerprint == fingerprint && !w.requests.is_closed());
        let sender = match current {
            Some(writer) => writer.requests.clone(),
            None => {
                let (sender, receiver) = mpsc::unbounded_channel();
                // Each writer its own directory: a replaced writer removes its own
                // as it ends, while its successor already works in another.
                let serial = WRITER_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let dir = self.root.join(format!("{}-{}-{serial}", key.0, key.1));
                tokio::spawn(run_writer(self.client.clone(), store.clone(), dir, receiver));
                writers.insert(
                    key,
                    Writer {
                        fingerprint,
                        requests: sender.clone(),
                    },
                );
                sender
            }
        };
        sender.send(request).map_err(|_| {
            StoreError::Failed(format!(
                "{} {}: its writer has stopped; the change is retried",
                store.kind(),
                store.name()
            ))
        })
    }
}

async fn wait<T>(store: &StoreObject, outcome: oneshot::Receiver<T>) -> Result<T, StoreError> {
    match tokio::time::timeout(WRITE_TIMEOUT, outcome).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(StoreError::Failed(format!(
            "{} {}: its writer was replaced before the change was written; it is retried",
            store.kind(),
            store.name()
        ))),
        Err(_) => Err(StoreError::Failed(format!(
            "{} {}: the write did not finish in {} s",
            store.kind(),
            store.name(),
            WRITE_TIMEOUT.as_secs()
        ))),
    }
}

/// A request with the bytes its change inflates to.
fn sized(request: Request) -> (Request, usize) {
    let size = match &request {
        Request::Change(change, ..) => change.inflated_bytes(),
        Request::Probe(_) => 0,
    };
    (request, size)
}

/// One store's writer: takes what is pending, writes it as one batch, answers
/// each caller, and again, until the store is forgotten or replaced.
async fn run_writer(
    client: kube::Client,
    store: StoreObject,
    dir: PathBuf,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    // A writer made anew starts from a fresh clone.
    let _ = std::fs::remove_dir_all(&dir);
    let mut backend = Backend::new(&store, &dir);
    // Requests left over when the last batch was cut by its bytes, with their sizes.
    let mut carried: VecDeque<(Request, usize)> = VecDeque::new();
    while let Some(batch) = next_batch(&mut carried, &mut requests).await {
        if batch.changes.is_empty() {
            let probed = backend.probe(&client, &dir).await;
            for probe in batch.probes {
                let _ = probe.send(probed.clone());
            }
            continue;
        }
        let started = std::time::Instant::now();
        let outcome = backend
            .write(&client, &dir, &batch.changes, batch.min_fetch_interval)
            .await;
        answer(&backend, batch, outcome, started);
    }
    // The store is forgotten or replaced: its clone goes with it.
    let _ = std::fs::remove_dir_all(&dir);
}

/// What one write of a store answers: its changes (each with whom to tell)
/// and the probes that came with them.
struct Batch {
    changes: Vec<Change>,
    replies: Vec<oneshot::Sender<Result<Written, StoreError>>>,
    probes: Vec<oneshot::Sender<Result<(), StoreError>>>,
    min_fetch_interval: Duration,
}

/// The next batch: what came within the batch window, up to the count and
/// byte limits (the rest is carried to the next). `None` once the store is
/// forgotten and nothing is left.
async fn next_batch(
    carried: &mut VecDeque<(Request, usize)>,
    requests: &mut mpsc::UnboundedReceiver<Request>,
) -> Option<Batch> {
    if carried.is_empty() {
        let first = requests.recv().await?;
        carried.push_back(sized(first));
        tokio::time::sleep(BATCH_WINDOW).await;
    }
    while carried.len() < MAX_BATCH {
        match requests.try_recv() {
            Ok(request) => carried.push_back(sized(request)),
            Err(_) => break,
        }
    }
    let count = state_batch::batch_len(carried.iter().take(MAX_BATCH).map(|(_, size)| *size), BATCH_BYTES);
    let mut batch = Batch {
        changes: Vec::new(),
        replies: Vec::new(),
        probes: Vec::new(),
        min_fetch_interval: Duration::MAX,
    };
    for (request, _) in carried.drain(..count) {
        match request {
            Request::Change(change, interval, reply) => {
                batch.changes.push(*change);
                batch.replies.push(reply);
                batch.min_fetch_interval = batch.min_fetch_interval.min(interval);
            }
            Request::Probe(reply) => batch.probes.push(reply),
        }
    }
    Some(batch)
}

/// Tells every change of the batch how its write went; a probe that came with
/// changes is answered by how their write went.
fn answer(
    backend: &Backend,
    batch: Batch,
    outcome: Result<BatchOutcome, StoreError>,
    started: std::time::Instant,
) {
    let probed = outcome.as_ref().map(|_| ()).map_err(Clone::clone);
    for probe in batch.probes {
        let _ = probe.send(probed.clone());
    }
    match outcome {
        Ok(outcome) => {
            tracing::info!(
                store = %backend.label(),
                changes = batch.changes.len(),
                version = outcome.version.as_deref().unwrap_or("-"),
                took_ms = started.elapsed().as_millis() as u64,
                "state store written"
            );
            for (reply, result) in batch.replies.into_iter().zip(outcome.results) {
                let _ = reply.send(
                    result
                        .map(|changed| Written {
                            changed,
                            version: outcome.version.clone(),
                        })
                        .map_err(|e| StoreError::Failed(e.to_string())),
                );
            }
        }
        Err(error) => {
            tracing::warn!(store = %backend.label(), changes = batch.changes.len(), %error, "state store write failed");
            for reply in batch.replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

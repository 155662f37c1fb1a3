//! A pod's status as the kubelet keeps it: changed in memory as its containers
//! move, and written to the API by one writer per pod that folds the changes of
//! a short window into one write, as the real kubelet's status manager does
//! (there, a container start and the previous one's end land in one update).
//! Every change would otherwise be its own PATCH: a dozen per pod, which on a
//! busy platform is most of what the API server does.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard, Notify};

/// How long a change waits for others to join it.
const COALESCE: Duration = Duration::from_millis(50);

pub struct PodStatusWriter {
    api: Api<Pod>,
    /// `namespace/name`, for logs.
    label: String,
    name: String,
    status: Mutex<PodStatus>,
    /// The status last written; held across a write so that writes never overlap.
    written: Mutex<Option<PodStatus>>,
    changed: Notify,
}

impl PodStatusWriter {
    pub fn new(api: Api<Pod>, namespace: &str, name: &str, initial: PodStatus) -> Arc<Self> {
        Arc::new(PodStatusWriter {
            api,
            label: format!("{namespace}/{name}"),
            name: name.to_owned(),
            status: Mutex::new(initial),
            written: Mutex::new(None),
            changed: Notify::new(),
        })
    }

    /// The status as it stands, to read (or change without a write).
    pub async fn current(&self) -> MutexGuard<'_, PodStatus> {
        self.status.lock().await
    }

    /// Changes the status; the writer sends it shortly.
    pub async fn update(&self, change: impl FnOnce(&mut PodStatus)) {
        change(&mut *self.status.lock().await);
        self.changed.notify_one();
    }

    /// Writes changes until the task is dropped; pair with [`Self::flush`].
    pub async fn run(self: Arc<Self>) {
        loop {
            self.changed.notified().await;
            tokio::time::sleep(COALESCE).await;
            self.write_latest().await;
        }
    }

    /// Writes the latest status now (when it differs from the last one written).
    pub async fn flush(&self) {
        self.write_latest().await;
    }

    async fn write_latest(&self) {
        let mut written = self.written.lock().await;
        let status = self.status.lock().await.clone();
        if written.as_ref() == Some(&status) {
            return;
        }
        let patch = json!({"status": status});
        match self
            .api
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => *written = Some(status),
            Err(error) => tracing::debug!(pod = %self.label, %error, "status update failed"),
        }
    }
}

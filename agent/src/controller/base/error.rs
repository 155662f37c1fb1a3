//! Why a reconcile failed, each cause its own variant with a metric label.

use kratix_shared::api::answers;

/// A failed reconcile: what was being done, and why it failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The API server refused or could not be reached.
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// An object read from the cluster does not decode as its kind, or one
    /// built here does not encode.
    #[error("{what}: {source}")]
    Codec {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The Promise is invalid where a reconcile needs it to be valid (its own
    /// status says why).
    #[error("Promise {promise}: {message}")]
    InvalidPromise { promise: String, message: String },
    /// The shared rules refused to build what a workflow needs.
    #[error(transparent)]
    Shared(#[from] kratix_shared::Error),
    /// An object the agent would write belongs to someone else: it is left
    /// as it is.
    #[error("{0}")]
    Foreign(String),
}

impl ReconcileError {
    /// Someone else changed the object first (a pipeline writing its status,
    /// say): not a failure, just a reason to read it again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if answers::is_conflict(source))
    }

    /// The object is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if answers::is_not_found(source))
    }

    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        ReconcileError::Kube {
            what: what.into(),
            source: Box::new(source),
        }
    }

    pub fn codec(what: impl Into<String>, source: serde_json::Error) -> Self {
        ReconcileError::Codec {
            what: what.into(),
            source,
        }
    }

    /// The `error` label of the reconcile metric: which kind of failure.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Kube { .. } if self.is_conflict() => "conflict",
            ReconcileError::Kube { .. } => "kube",
            ReconcileError::Codec { .. } => "codec",
            ReconcileError::InvalidPromise { .. } => "invalid_promise",
            ReconcileError::Shared(_) => "shared_rules",
            ReconcileError::Foreign(_) => "foreign_object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("refused", "Reason")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn every_cause_has_its_own_metric_label() {
        let decode = serde_json::from_str::<u8>("x").expect_err("not a number");
        let cases = [
            (ReconcileError::kube("writing", api_error(500)), "kube"),
            (ReconcileError::kube("writing", api_error(409)), "conflict"),
            (ReconcileError::codec("reading Promise a", decode), "codec"),
            (
                ReconcileError::InvalidPromise {
                    promise: "a".to_owned(),
                    message: "see its status".to_owned(),
                },
                "invalid_promise",
            ),
            (
                ReconcileError::Shared(kratix_shared::Error::Render {
                    workflow: "resource/configure".to_owned(),
                    message: "m".to_owned(),
                }),
                "shared_rules",
            ),
            (
                ReconcileError::Foreign("Job x is not ours".to_owned()),
                "foreign_object",
            ),
        ];
        for (error, label) in cases {
            assert_eq!(error.metric_label(), label, "{error}");
        }
    }

    #[test]
    fn gone_and_conflicting_are_told_apart() {
        assert!(ReconcileError::kube("x", api_error(404)).is_not_found());
        assert!(!ReconcileError::kube("x", api_error(404)).is_conflict());
        assert!(ReconcileError::kube("x", api_error(409)).is_conflict());
    }
}

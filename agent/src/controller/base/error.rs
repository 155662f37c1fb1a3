//! Why a reconcile failed, and the API answers that are not failures.

/// A failed reconcile: what was being done, and why it failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ReconcileError {
    /// Someone else changed the object first (a pipeline writing its status,
    /// say): not a failure, just a reason to read it again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if matches!(source.as_ref(), kube::Error::Api(status) if status.code == 409))
    }

    /// The object is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReconcileError::Kube { source, .. } if matches!(source.as_ref(), kube::Error::Api(status) if status.code == 404))
    }

    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        ReconcileError::Kube {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

/// A delete of something already gone is a success.
pub fn ignore_missing<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

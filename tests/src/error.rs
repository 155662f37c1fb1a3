//! The platform's error: which step of bringing it up or down failed, and why.

/// A platform failure, always saying which step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{step}: {message}")]
    Step { step: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches the step being performed to any error.
pub trait StepContext<T> {
    fn step(self, step: impl Into<String>) -> Result<T>;
}

impl<T, E: std::fmt::Display> StepContext<T> for std::result::Result<T, E> {
    fn step(self, step: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Step {
            step: step.into(),
            message: e.to_string(),
        })
    }
}

impl<T> StepContext<T> for Option<T> {
    fn step(self, step: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::Step {
            step: step.into(),
            message: "missing".to_owned(),
        })
    }
}

/// An error for `step` with `message`.
pub fn fail(step: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Step {
        step: step.into(),
        message: message.into(),
    }
}

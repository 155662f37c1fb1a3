//! The one error type of the crate: what went wrong, with the file, field or
//! object a user needs to act on it.

use std::path::PathBuf;

/// Everything that can go wrong in this crate, with what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file is not valid YAML.
    #[error("{source_name}: {message}")]
    Yaml { source_name: String, message: String },

    /// A document is not what it must be (wrong kind, missing key, bad field).
    #[error("{source_name}: {}{message}", path_prefix(.path))]
    Invalid {
        source_name: String,
        path: String,
        message: String,
    },

    /// A path given on the command line holds no Promise.
    #[error("{}: {message}", path.display())]
    NotAPromise { path: PathBuf, message: String },

    /// Rendering needs something the inputs do not provide.
    #[error("cannot render {workflow}: {message}")]
    Render { workflow: String, message: String },

    /// A WorkPlacement cannot be laid out in its state store (a path that escapes its
    /// directory, content that does not decode, an unknown file layout).
    #[error("WorkPlacement {placement}: {message}")]
    Placement { placement: String, message: String },

    /// A batch of state-store changes would make a path the store cannot hold.
    #[error("state store: {message}")]
    StorePath { message: String },

    /// An object could not be encoded.
    #[error("cannot encode {what}: {message}")]
    Encode { what: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `path: `, or nothing for a problem with the whole document.
fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

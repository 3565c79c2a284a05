//! Why the server could not start.

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Listening or file access failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A component refused its configuration.
    #[error("{0}")]
    Config(String),
    /// The database could not be used.
    #[error("database {0}")]
    Database(String),
}

pub(super) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let context = context.into();
    move |source| StartError::Io { context, source }
}

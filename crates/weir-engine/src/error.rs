//! The one error of the engine's commands: what kind of failure it is (whose mistake, and
//! what the caller may do about it) and a message that says what and where. The HTTP
//! layer turns each kind into a status once; nothing else needs to know the engine's
//! inner failures.
//!
//! A failure of the server itself (`Internal`) is logged in full where it is made and
//! carries only "see the server log" out, so no internals reach a client.

use std::fmt;
use std::time::Duration;

use weir_core::PackageProblem;
use weir_store::StoreError;

use crate::apps::LoadError;
use crate::runner::RunError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request cannot be read at all (not a zip, not the shape a call takes).
    Malformed,
    /// What was named does not exist, or is not the caller's to see.
    NotFound,
    /// Well-formed, but its content breaks a rule (a value out of range, an app that
    /// refuses an install).
    Invalid,
    /// Too big to take.
    TooLarge,
    /// The rules do not allow this change, whoever asks (an app's extension webhook
    /// changed through the API).
    Refused,
    /// It contradicts what is stored now (already installed, still pending, disabled).
    Conflict,
    /// It existed and is gone for good (an uninstalled app's target URL).
    Gone,
    /// Too many of these lately; the caller may try again after `retry_after`.
    RateLimited { retry_after: Duration },
    /// The app's code or a third party failed on the way.
    Upstream,
    /// The database does not answer or take writes now; nothing was changed.
    Unavailable,
    /// A bug or broken stored data: logged where it was made.
    Internal,
}

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Itemised problems, e.g. one per file of a broken package.
    problems: Vec<PackageProblem>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn problems(&self) -> &[PackageProblem] {
        &self.problems
    }

    pub(crate) fn with_problems(mut self, problems: Vec<PackageProblem>) -> Self {
        self.problems = problems;
        self
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Refused, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub(crate) fn gone(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, message)
    }

    pub(crate) fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    pub(crate) fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::new(ErrorKind::RateLimited { retry_after }, message)
    }

    /// A failure of the server: logged here with `what` failed, answered without detail.
    pub(crate) fn internal(what: &str, error: &dyn fmt::Display) -> Self {
        tracing::error!(%error, "{what}");
        Self::new(ErrorKind::Internal, "internal error; see the server log")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => Error::conflict(message),
            StoreError::NotFound => Error::not_found("not found"),
            StoreError::Unavailable(why) => {
                tracing::warn!(why, "the database is unavailable");
                Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the database is unavailable ({why}); nothing was changed, try again later"
                    ),
                )
            }
            StoreError::Backend(_) | StoreError::Corrupt(_) | StoreError::Secrets(_) => {
                Error::internal("storage failed", &error)
            }
        }
    }
}

impl From<LoadError> for Error {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Store(error) => error.into(),
            other => Error::internal("a stored app cannot be loaded", &other),
        }
    }
}

impl From<RunError> for Error {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Store(error) => error.into(),
            RunError::Load(error) => error.into(),
            other => Error::internal("a handler could not run", &other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_keeps_its_kind_and_hides_internals() {
        let unavailable = Error::from(StoreError::Unavailable("disk full".into()));
        assert_eq!(unavailable.kind(), ErrorKind::Unavailable);
        assert!(unavailable.message().contains("disk full"));
        let conflict = Error::from(StoreError::Conflict("app installed twice".into()));
        assert_eq!(conflict.kind(), ErrorKind::Conflict);
        assert_eq!(conflict.message(), "app installed twice");
        let broken = Error::from(StoreError::Corrupt("secret table row 7".into()));
        assert_eq!(broken.kind(), ErrorKind::Internal);
        assert!(!broken.message().contains("row 7"));
    }
}

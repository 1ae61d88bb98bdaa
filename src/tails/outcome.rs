//! [`Outcome`]: a serializable "value or the reason there is none", so that one failed estimate
//! is recorded inside a report (`{"status":"unavailable","reason":"…"}`) instead of aborting it.

use serde::Serialize;

use super::error::TailError;

/// Either an estimate or the plain-language reason it could not be produced.
///
/// Serializes as `{"status":"available","value":…}` or
/// `{"status":"unavailable","reason":"only 7 exceedances above 0.31; need at least 20"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome<T> {
    /// The estimate.
    Available {
        /// The value.
        value: T,
    },
    /// Why there is no estimate.
    Unavailable {
        /// Human-readable reason (the `Display` of a [`TailError`]).
        reason: String,
    },
}

impl<T> Outcome<T> {
    /// The value, if available.
    pub fn value(&self) -> Option<&T> {
        match self {
            Outcome::Available { value } => Some(value),
            Outcome::Unavailable { .. } => None,
        }
    }

    /// The reason, if unavailable.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Available { .. } => None,
            Outcome::Unavailable { reason } => Some(reason),
        }
    }

    /// `true` if there is a value.
    pub fn is_available(&self) -> bool {
        matches!(self, Outcome::Available { .. })
    }

    /// An unavailable outcome with the given reason.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Outcome::Unavailable {
            reason: reason.into(),
        }
    }

    /// Map the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Available { value } => Outcome::Available { value: f(value) },
            Outcome::Unavailable { reason } => Outcome::Unavailable { reason },
        }
    }
}

impl<T> From<Result<T, TailError>> for Outcome<T> {
    fn from(r: Result<T, TailError>) -> Self {
        match r {
            Ok(value) => Outcome::Available { value },
            Err(e) => Outcome::Unavailable {
                reason: e.to_string(),
            },
        }
    }
}

//! The one error type of the tails module: every way an estimate can be impossible, said plainly.
//! No function in `tails` returns NaN in place of a number; it returns one of these instead.

use thiserror::Error;

use crate::text::shortest;

/// Why a tail statistic could not be computed.
///
/// The `Display` text is meant to be shown to a person as is (it is also the `reason` stored in
/// [`super::Outcome::Unavailable`]).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TailError {
    /// The input slice has no elements.
    #[error("the input is empty")]
    Empty,

    /// The input contains NaN or ±∞.
    #[error("the input contains a non-finite value ({value} at index {index})")]
    NonFinite {
        /// Position of the first non-finite value.
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// A slice documented as "sorted ascending" is not.
    #[error(
        "the input is not sorted in ascending order (value at index {index} is smaller than the one before it)"
    )]
    NotSorted {
        /// First index `i` with `x[i] < x[i-1]`.
        index: usize,
    },

    /// Every observation has the same value, so there is no tail to describe.
    #[error("all {n} values are equal ({}); there is no tail to estimate", shortest(*.value))]
    AllEqual {
        /// Number of observations.
        n: usize,
        /// The common value.
        value: f64,
    },

    /// Too few observations for the requested statistic.
    #[error("only {found} observations; need at least {required} ({what})")]
    TooFewObservations {
        /// Observations available.
        found: usize,
        /// Observations required.
        required: usize,
        /// What needed them.
        what: &'static str,
    },

    /// Too few observations above the threshold for a tail fit.
    #[error("only {found} exceedances above {}; need at least {required}", shortest(*.threshold))]
    TooFewExceedances {
        /// The threshold.
        threshold: f64,
        /// Number of observations strictly above it.
        found: usize,
        /// Minimum required.
        required: usize,
    },

    /// All exceedances have the same value: the GPD likelihood has no maximum.
    #[error("all {n} exceedances above {} are equal ({}); a GPD cannot be fitted", shortest(*.threshold), shortest(*.value))]
    DegenerateExceedances {
        /// The threshold.
        threshold: f64,
        /// Number of exceedances.
        n: usize,
        /// Their common value.
        value: f64,
    },

    /// An argument is outside its documented range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The fitted tail is so heavy (ξ ≥ 1) that the mean beyond any level is infinite.
    #[error(
        "{what} is infinite: the fitted shape ξ = {xi:.4} ≥ 1 means the tail has no finite mean"
    )]
    InfiniteMean {
        /// Which quantity (e.g. "expected shortfall at p = 0.999").
        what: String,
        /// The fitted shape.
        xi: f64,
    },

    /// The requested level lies inside the body of the data, not beyond the threshold.
    #[error(
        "{what} is not beyond the threshold: only a fraction {exceedance_rate:.4} of the data exceeds u = {}, \
         so the fitted tail describes only probabilities of exceedance below that; use the empirical estimate instead",
        shortest(*.threshold)
    )]
    NotInTail {
        /// Which quantity (e.g. "VaR at p = 0.9").
        what: String,
        /// The threshold of the fit.
        threshold: f64,
        /// Fraction of all observations above the threshold.
        exceedance_rate: f64,
    },

    /// The data are bounded or non-positive where the method needs a heavy (Pareto-type) tail.
    #[error("{0}")]
    BoundedTail(String),

    /// A numerical search did not find an answer.
    #[error("the numerical search did not converge: {0}")]
    NonConvergence(String),

    /// A result does not fit in a double (overflow).
    #[error("{0} overflows the range of a 64-bit float")]
    Overflow(String),
}

/// Check that every value is finite.
pub(crate) fn check_finite(data: &[f64]) -> Result<(), TailError> {
    match data.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(TailError::NonFinite {
            index,
            value: data[index],
        }),
        None => Ok(()),
    }
}

/// Check that `p` is a probability strictly between 0 and 1.
pub(crate) fn check_probability(p: f64, name: &str) -> Result<(), TailError> {
    if p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(TailError::InvalidArgument(format!(
            "{name} must be strictly between 0 and 1, got {p}"
        )))
    }
}

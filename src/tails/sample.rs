//! Validated inputs: [`SortedSample`] (finite values, sorted once, ascending) and
//! [`Exceedances`] (the excesses `x − u` of the observations strictly above a threshold `u`).

use super::error::{TailError, check_finite};

/// A non-empty sample of finite values, sorted ascending.
///
/// Sorting is the only O(n log n) step of the tail analysis; build this once and pass it to
/// every estimator.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedSample {
    values: Vec<f64>,
}

/// Check that `data` is finite and sorted ascending.
pub(crate) fn check_sorted(data: &[f64]) -> Result<(), TailError> {
    check_finite(data)?;
    match data.windows(2).position(|w| w[1] < w[0]) {
        Some(i) => Err(TailError::NotSorted { index: i + 1 }),
        None => Ok(()),
    }
}

impl SortedSample {
    /// Copy and sort `data`.
    ///
    /// # Errors
    /// [`TailError::Empty`] for an empty slice, [`TailError::NonFinite`] if any value is NaN or
    /// infinite (nothing is silently dropped).
    pub fn new(data: &[f64]) -> Result<Self, TailError> {
        if data.is_empty() {
            return Err(TailError::Empty);
        }
        check_finite(data)?;
        let mut values = data.to_vec();
        // Equal values under `total_cmp` have equal bits: a parallel sort gives the same
        // vector on any number of threads.
        rayon::slice::ParallelSliceMut::par_sort_unstable_by(&mut values[..], f64::total_cmp);
        Ok(Self { values })
    }

    /// Take ownership of an already sorted vector (checked in O(n)).
    ///
    /// # Errors
    /// [`TailError::Empty`], [`TailError::NonFinite`] or [`TailError::NotSorted`].
    pub fn from_sorted(values: Vec<f64>) -> Result<Self, TailError> {
        if values.is_empty() {
            return Err(TailError::Empty);
        }
        check_sorted(&values)?;
        Ok(Self { values })
    }

    /// The values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of observations (always ≥ 1).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always `false`: a `SortedSample` is never empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Smallest value.
    pub fn min(&self) -> f64 {
        self.values[0]
    }

    /// Largest value.
    pub fn max(&self) -> f64 {
        self.values[self.values.len() - 1]
    }

    /// `true` if every value is the same.
    pub fn is_constant(&self) -> bool {
        self.min() == self.max()
    }

    /// Number of observations strictly greater than `u`.
    pub fn count_above(&self, u: f64) -> usize {
        self.values.len() - self.values.partition_point(|&x| x <= u)
    }

    /// The observations strictly greater than `u` (ascending).
    pub fn above(&self, u: f64) -> &[f64] {
        &self.values[self.values.partition_point(|&x| x <= u)..]
    }

    /// The `k`-th largest value (`k = 1` is the maximum).
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] unless `1 ≤ k ≤ n`.
    pub fn kth_largest(&self, k: usize) -> Result<f64, TailError> {
        if k == 0 || k > self.len() {
            return Err(TailError::InvalidArgument(format!(
                "order statistic k = {k} is outside 1..={}",
                self.len()
            )));
        }
        Ok(self.values[self.len() - k])
    }
}

/// The excesses over a threshold: `y = x − u` for every observation `x > u` (strictly), kept
/// ascending, together with the threshold and the total sample size (for the exceedance rate).
#[derive(Debug, Clone, PartialEq)]
pub struct Exceedances {
    threshold: f64,
    excesses: Vec<f64>,
    n_total: usize,
}

impl Exceedances {
    /// Excesses of `data` over `threshold` (the data need not be sorted).
    ///
    /// # Errors
    /// [`TailError::Empty`], [`TailError::NonFinite`] (data or threshold).
    pub fn new(data: &[f64], threshold: f64) -> Result<Self, TailError> {
        if data.is_empty() {
            return Err(TailError::Empty);
        }
        check_finite(data)?;
        Self::check_threshold(threshold)?;
        let mut excesses: Vec<f64> = data
            .iter()
            .filter(|&&x| x > threshold)
            .map(|&x| x - threshold)
            .collect();
        excesses.sort_unstable_by(f64::total_cmp);
        Ok(Self {
            threshold,
            excesses,
            n_total: data.len(),
        })
    }

    /// Excesses of a sorted sample over `threshold`.
    ///
    /// # Errors
    /// [`TailError::NonFinite`] if the threshold is not finite.
    pub fn from_sample(sample: &SortedSample, threshold: f64) -> Result<Self, TailError> {
        Self::check_threshold(threshold)?;
        let excesses = sample
            .above(threshold)
            .iter()
            .map(|&x| x - threshold)
            .collect();
        Ok(Self {
            threshold,
            excesses,
            n_total: sample.len(),
        })
    }

    /// Use excesses computed elsewhere (e.g. a GPD sample, with `threshold = 0`). `n_total` is
    /// the size of the sample they came from (for the exceedance rate); it must be at least the
    /// number of excesses.
    ///
    /// # Errors
    /// [`TailError::NonFinite`], or [`TailError::InvalidArgument`] if an excess is ≤ 0 or
    /// `n_total` is too small.
    pub fn from_excesses(
        mut excesses: Vec<f64>,
        n_total: usize,
        threshold: f64,
    ) -> Result<Self, TailError> {
        check_finite(&excesses)?;
        Self::check_threshold(threshold)?;
        if let Some(bad) = excesses.iter().find(|&&y| y <= 0.0) {
            return Err(TailError::InvalidArgument(format!(
                "excesses over the threshold must be > 0, found {bad}"
            )));
        }
        if n_total < excesses.len() {
            return Err(TailError::InvalidArgument(format!(
                "n_total = {n_total} is smaller than the number of excesses ({})",
                excesses.len()
            )));
        }
        excesses.sort_unstable_by(f64::total_cmp);
        Ok(Self {
            threshold,
            excesses,
            n_total,
        })
    }

    fn check_threshold(threshold: f64) -> Result<(), TailError> {
        if threshold.is_finite() {
            Ok(())
        } else {
            Err(TailError::NonFinite {
                index: 0,
                value: threshold,
            })
        }
    }

    /// The threshold `u`.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The excesses `x − u > 0`, ascending.
    pub fn excesses(&self) -> &[f64] {
        &self.excesses
    }

    /// Number of exceedances.
    pub fn len(&self) -> usize {
        self.excesses.len()
    }

    /// `true` if no observation exceeds the threshold.
    pub fn is_empty(&self) -> bool {
        self.excesses.is_empty()
    }

    /// Size of the whole sample.
    pub fn n_total(&self) -> usize {
        self.n_total
    }

    /// Fraction of all observations above the threshold, `N_u / n`.
    pub fn rate(&self) -> f64 {
        self.excesses.len() as f64 / self.n_total as f64
    }

    /// Largest excess (0 if there is none).
    pub fn max(&self) -> f64 {
        self.excesses.last().copied().unwrap_or(0.0)
    }

    /// Mean excess (0 if there is none).
    pub fn mean(&self) -> f64 {
        if self.excesses.is_empty() {
            0.0
        } else {
            self.excesses.iter().sum::<f64>() / self.excesses.len() as f64
        }
    }
}

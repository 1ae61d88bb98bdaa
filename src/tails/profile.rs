//! Profile-likelihood confidence intervals: for ξ directly (1-D profile over σ), and for any
//! quantity monotone in σ (return levels, VaR, ES) as its range over the likelihood region
//! `{(ξ, σ): l(ξ, σ) ≥ l̂ − χ²₁(level)/2}`, which is traced once per confidence level.

use std::borrow::Cow;

use serde::Serialize;

use super::error::{TailError, check_probability};
use super::gpd::{
    GpdFit, GpdOptions, XI_MIN, fit_gpd_ml, loglik, profile_xi, sigma_crossing, sigma_hat,
};
use super::optim::{brent_max, brent_min, brent_root};
use super::sample::Exceedances;
use super::special::chi2_quantile;

/// One end of a profile-likelihood interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// The profile log-likelihood falls to the cut-off here.
    Crossed {
        /// The end point.
        value: f64,
    },
    /// The profile stays above the cut-off up to the edge of the parameter space (ξ = −1), so
    /// the interval is closed by that constraint, not by the data.
    AtBoundary {
        /// The end point.
        value: f64,
    },
    /// The profile stays above the cut-off as far as the search went (ξ up to
    /// max(10, ξ̂ + 5), or a quantity that is infinite inside the region): the data do not
    /// bound this side.
    Unbounded,
}

impl Endpoint {
    /// The end point as a number (`None` if unbounded).
    pub fn value(&self) -> Option<f64> {
        match *self {
            Endpoint::Crossed { value } | Endpoint::AtBoundary { value } => Some(value),
            Endpoint::Unbounded => None,
        }
    }
}

/// A profile-likelihood confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProfileInterval {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// The point estimate (the maximum of the profile).
    pub estimate: f64,
    /// Lower end.
    pub lower: Endpoint,
    /// Upper end.
    pub upper: Endpoint,
}

impl ProfileInterval {
    /// `true` if `x` lies in the interval (an unbounded end contains everything on its side).
    pub fn contains(&self, x: f64) -> bool {
        self.lower.value().is_none_or(|l| x >= l) && self.upper.value().is_none_or(|u| x <= u)
    }
}

/// A GPD fitted to a set of exceedances, kept together so that profile likelihoods can be
/// evaluated.
#[derive(Clone, PartialEq)]
pub struct TailModel {
    exceedances: Exceedances,
    fit: GpdFit,
}

impl std::fmt::Debug for TailModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The excesses themselves can be millions of numbers: show the fit only.
        f.debug_struct("TailModel")
            .field("n_exceedances", &self.exceedances.len())
            .field("fit", &self.fit)
            .finish()
    }
}

impl TailModel {
    /// Fit by maximum likelihood (see [`fit_gpd_ml`]).
    ///
    /// # Errors
    /// As [`fit_gpd_ml`].
    pub fn fit(exceedances: Exceedances, options: &GpdOptions) -> Result<Self, TailError> {
        let fit = fit_gpd_ml(&exceedances, options)?;
        Ok(Self { exceedances, fit })
    }

    /// The exceedances.
    pub fn exceedances(&self) -> &Exceedances {
        &self.exceedances
    }

    /// The ML fit.
    pub fn gpd_fit(&self) -> &GpdFit {
        &self.fit
    }

    /// Upper limit of the ξ search for profile intervals: max(10, ξ̂ + 5).
    fn xi_search_max(&self) -> f64 {
        (self.fit.xi + 5.0).max(10.0)
    }

    /// Profile-likelihood confidence interval for ξ: the ξ with
    /// `max_σ l(ξ, σ) ≥ l̂ − χ²₁(level)/2`, searched outwards from ξ̂ (down to ξ = −1 and up to
    /// max(10, ξ̂ + 5)).
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] unless `0 < level < 1`.
    pub fn xi_interval(&self, level: f64) -> Result<ProfileInterval, TailError> {
        check_probability(level, "confidence level")?;
        let cutoff = self.fit.log_likelihood - 0.5 * chi2_quantile(level, 1)?;
        Ok(self.xi_interval_at(level, cutoff))
    }

    fn xi_interval_at(&self, level: f64, cutoff: f64) -> ProfileInterval {
        let y = self.exceedances.excesses();
        let fit = &self.fit;
        let step0 = fit.cov().map_or(0.1, |c| c.se_xi).clamp(1e-3, 0.5);
        let search = |dir: f64| -> Endpoint {
            let limit = if dir > 0.0 {
                self.xi_search_max()
            } else {
                XI_MIN
            };
            if dir < 0.0 && fit.at_boundary {
                return Endpoint::AtBoundary { value: XI_MIN };
            }
            let (mut x0, mut l0, mut hint) = (fit.xi, fit.log_likelihood, fit.sigma);
            let mut h = step0;
            loop {
                let x1 = if dir > 0.0 {
                    (x0 + h).min(limit)
                } else {
                    (x0 - h).max(limit)
                };
                let (l1, s1) = profile_xi(y, x1, Some(hint));
                if l1 < cutoff {
                    let mut hint_r = hint;
                    let root = brent_root(
                        |x| {
                            let (l, s) = profile_xi(y, x, Some(hint_r));
                            hint_r = s;
                            l - cutoff
                        },
                        x0,
                        x1,
                        l0 - cutoff,
                        l1 - cutoff,
                        1e-10,
                        200,
                    );
                    return match root {
                        Some(value) => Endpoint::Crossed { value },
                        None => Endpoint::Crossed { value: x1 },
                    };
                }
                if x1 == limit {
                    return if dir > 0.0 {
                        Endpoint::Unbounded
                    } else {
                        Endpoint::AtBoundary { value: XI_MIN }
                    };
                }
                x0 = x1;
                l0 = l1;
                hint = s1;
                h *= 2.0;
            }
        };
        ProfileInterval {
            level,
            estimate: fit.xi,
            lower: search(-1.0),
            upper: search(1.0),
        }
    }

    /// Trace the likelihood region at `level` for profile intervals of derived quantities.
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] unless `0 < level < 1`.
    pub fn region(&self, level: f64) -> Result<ConfidenceRegion<'_>, TailError> {
        ConfidenceRegion::new(Cow::Borrowed(self), level)
    }

    /// [`TailModel::region`] owning the model, so the region can be kept (e.g. in a
    /// [`TailReport`](super::TailReport)) for profile intervals asked for later.
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] unless `0 < level < 1`.
    pub fn into_region(self, level: f64) -> Result<ConfidenceRegion<'static>, TailError> {
        ConfidenceRegion::new(Cow::Owned(self), level)
    }
}

/// The ξ-section `[σ_lo, σ_hi]` of the likelihood region.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Section {
    xi: f64,
    sigma_lo: f64,
    sigma_hi: f64,
}

/// The likelihood-based confidence region `R = {(ξ, σ): l(ξ, σ) ≥ l̂ − χ²₁(level)/2}` of a
/// [`TailModel`].
///
/// The profile-likelihood interval of any function g(ξ, σ) is `{g(ξ, σ): (ξ, σ) ∈ R}` (the
/// image of a connected region), i.e. `[min_R g, max_R g]`. For fixed ξ the log-likelihood is
/// concave in ln σ, so each section of R is an interval `[σ_lo(ξ), σ_hi(ξ)]`, and for g monotone
/// in σ the extremes lie on `σ_lo` or `σ_hi`. The region is sampled on 33 values of ξ across the
/// profile interval of ξ and every extreme is refined by Brent's method. This matches Coles
/// (2001, §4.3.4) for return levels, with the exceedance rate held fixed as he does.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceRegion<'a> {
    model: Cow<'a, TailModel>,
    level: f64,
    cutoff: f64,
    xi_interval: ProfileInterval,
    upper_open: bool,
    grid: Vec<Section>,
}

impl<'a> ConfidenceRegion<'a> {
    fn new(model: Cow<'a, TailModel>, level: f64) -> Result<Self, TailError> {
        check_probability(level, "confidence level")?;
        let cutoff = model.fit.log_likelihood - 0.5 * chi2_quantile(level, 1)?;
        let xi_interval = model.xi_interval_at(level, cutoff);
        let lo = xi_interval.lower.value().unwrap_or(XI_MIN);
        let (hi, upper_open) = match xi_interval.upper {
            Endpoint::Unbounded => (model.xi_search_max(), true),
            e => (e.value().unwrap_or(model.fit.xi), false),
        };
        let mut region = Self {
            model,
            level,
            cutoff,
            xi_interval,
            upper_open,
            grid: Vec::new(),
        };
        const POINTS: usize = 32;
        let mut xis: Vec<f64> = (0..=POINTS)
            .map(|i| lo + (hi - lo) * i as f64 / POINTS as f64)
            .collect();
        xis.push(region.model.fit.xi);
        xis.sort_unstable_by(f64::total_cmp);
        xis.dedup();
        let mut prev: Option<Section> = None;
        for xi in xis {
            let s = region.section(xi, prev.as_ref());
            region.grid.push(s);
            prev = Some(s);
        }
        Ok(region)
    }

    /// The confidence level.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The log-likelihood cut-off `l̂ − χ²₁(level)/2` that defines the region.
    pub fn cutoff(&self) -> f64 {
        self.cutoff
    }

    /// The model the region belongs to.
    pub fn model(&self) -> &TailModel {
        &self.model
    }

    /// The profile-likelihood interval for ξ at this level.
    pub fn xi_interval(&self) -> &ProfileInterval {
        &self.xi_interval
    }

    fn section(&self, xi: f64, near: Option<&Section>) -> Section {
        let y = self.model.exceedances.excesses();
        let s_hat = sigma_hat(y, xi, near.map(|s| 0.5 * (s.sigma_lo + s.sigma_hi)));
        let l_hat = loglik(y, xi, s_hat);
        if l_hat.is_nan() || l_hat <= self.cutoff {
            return Section {
                xi,
                sigma_lo: s_hat,
                sigma_hi: s_hat,
            };
        }
        let lo = sigma_crossing(y, xi, s_hat, self.cutoff, false, near.map(|s| s.sigma_lo));
        let hi = sigma_crossing(y, xi, s_hat, self.cutoff, true, near.map(|s| s.sigma_hi));
        Section {
            xi,
            sigma_lo: lo,
            sigma_hi: hi,
        }
    }

    /// One end of the section at `xi` (`upper`: σ_hi, else σ_lo).
    fn section_end(&self, xi: f64, near: &Section, upper: bool) -> f64 {
        let y = self.model.exceedances.excesses();
        let s_hat = sigma_hat(y, xi, Some(0.5 * (near.sigma_lo + near.sigma_hi)));
        let hint = if upper { near.sigma_hi } else { near.sigma_lo };
        sigma_crossing(y, xi, s_hat, self.cutoff, upper, Some(hint))
    }

    /// Profile-likelihood interval of `g(ξ, σ)`, a quantity monotone in σ for fixed ξ (as all
    /// POT quantities are: return levels, VaR, ES, the modified scale). `estimate` is g at the
    /// MLE. `g` may return +∞ (e.g. ES where ξ ≥ 1): that end is then [`Endpoint::Unbounded`].
    pub fn interval<G: Fn(f64, f64) -> f64>(&self, estimate: f64, g: G) -> ProfileInterval {
        let eval = |s: &Section| -> (f64, f64) {
            let a = g(s.xi, s.sigma_lo);
            let b = g(s.xi, s.sigma_hi);
            (a.min(b), a.max(b))
        };
        let vals: Vec<(f64, f64)> = self.grid.iter().map(eval).collect();
        let last = self.grid.len() - 1;
        let xi_lo_closed_by_boundary =
            matches!(self.xi_interval.lower, Endpoint::AtBoundary { .. });

        // Upper end: maximum over the region.
        let upper = {
            let (j, vmax) = vals
                .iter()
                .enumerate()
                .map(|(j, v)| (j, if v.1.is_nan() { f64::NEG_INFINITY } else { v.1 }))
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, x| if x.1 > acc.1 { x } else { acc },
                );
            if vmax == f64::INFINITY || (self.upper_open && j == last) {
                Endpoint::Unbounded
            } else {
                let v = self.refine(j, vmax, &g, true);
                let v = v.max(estimate);
                if j == 0 && xi_lo_closed_by_boundary {
                    Endpoint::AtBoundary { value: v }
                } else {
                    Endpoint::Crossed { value: v }
                }
            }
        };
        let lower = {
            let (j, vmin) = vals
                .iter()
                .enumerate()
                .map(|(j, v)| (j, if v.0.is_nan() { f64::INFINITY } else { v.0 }))
                .fold(
                    (0, f64::INFINITY),
                    |acc, x| if x.1 < acc.1 { x } else { acc },
                );
            if vmin == f64::NEG_INFINITY || (self.upper_open && j == last) {
                Endpoint::Unbounded
            } else {
                let v = self.refine(j, vmin, &g, false);
                let v = v.min(estimate);
                if j == 0 && xi_lo_closed_by_boundary {
                    Endpoint::AtBoundary { value: v }
                } else {
                    Endpoint::Crossed { value: v }
                }
            }
        };
        ProfileInterval {
            level: self.level,
            estimate,
            lower,
            upper,
        }
    }

    /// Refine the extreme of `g` over the region around grid index `j` by Brent's method along
    /// the side of the sections (σ_lo or σ_hi) where the grid extreme lies.
    fn refine<G: Fn(f64, f64) -> f64>(
        &self,
        j: usize,
        grid_value: f64,
        g: &G,
        maximise: bool,
    ) -> f64 {
        let last = self.grid.len() - 1;
        let a = self.grid[j.saturating_sub(1)];
        let b = self.grid[(j + 1).min(last)];
        if a.xi >= b.xi {
            return grid_value;
        }
        let near = self.grid[j];
        let (g_lo, g_hi) = (g(near.xi, near.sigma_lo), g(near.xi, near.sigma_hi));
        let upper = if maximise { g_hi >= g_lo } else { g_hi < g_lo };
        let f = |xi: f64| g(xi, self.section_end(xi, &near, upper));
        // The extreme of a smooth function is flat: an error δ in ξ costs O(δ²) in g.
        let tol = 1e-4 * (b.xi - a.xi).max(1e-12);
        let best = if maximise {
            brent_max(f, a.xi, b.xi, 0.0, tol, 40).1
        } else {
            brent_min(f, a.xi, b.xi, 0.0, tol, 40).1
        };
        if !best.is_finite() {
            return grid_value;
        }
        if maximise {
            best.max(grid_value)
        } else {
            best.min(grid_value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_serializes_with_kind() {
        let e = Endpoint::Crossed { value: 1.5 };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"kind":"crossed","value":1.5}"#
        );
        assert_eq!(
            serde_json::to_string(&Endpoint::Unbounded).unwrap(),
            r#"{"kind":"unbounded"}"#
        );
    }
}

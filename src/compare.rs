//! Comparing two saved runs, pure computation on their provenance and per-path columns:
//! whether the runs are paired (the same scenario text apart from what a run overrides, the
//! same seed and paths, so path `i` of both saw the same random numbers), and the difference
//! `B − A` of every headline figure with a 95% interval: paired where the runs are paired,
//! unpaired otherwise. Knows nothing of files or the terminal.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::metrics::{Column, ColumnSource, Header, Values};
use crate::stats::{Z95, wilson95};
use crate::summary::{Provenance, TAIL_METRICS};
use crate::sweep::paired::paired_flags;

/// Bootstrap resamples behind the VaR/ES differences.
pub const RESAMPLES: usize = 200;
/// Levels at which VaR and ES differences are given.
pub const RISK_LEVELS: [f64; 2] = [0.95, 0.99];
/// A VaR/ES level is compared only when each run has at least this many paths beyond it:
/// with fewer, the estimate is one or two order statistics and a bootstrap of it says little.
pub const MIN_TAIL_PATHS: f64 = 10.0;
/// Keys of `[simulation]` that a run may override from the command line (`--paths`,
/// `--seed`, `--replicates`): ignored when the two scenario texts are compared (the values
/// the runs used are compared from the provenance instead).
const OVERRIDABLE: [&str; 3] = ["paths", "seed", "population_replicates"];

/// Whether two runs can be compared path by path, and why (not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pairing {
    pub paired: bool,
    /// In words: what matched, or every reason the runs are not paired.
    pub reason: String,
}

/// One headline figure of both runs and its difference `b − a`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// What is compared: `cascade_probability`, `mean`, `share`, `VaR` or `ES`.
    pub figure: &'static str,
    /// The per-path metric it is computed from.
    pub metric: &'static str,
    /// The confidence level of a VaR or ES.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    pub unit: &'static str,
    pub a: f64,
    pub b: f64,
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// `paired-normal`, `no-discordant-path`, `newcombe-wilson`, `unpaired-normal`,
    /// `paired-bootstrap` or `unpaired-bootstrap` (see [`compare`]).
    pub method: &'static str,
}

impl Row {
    /// A short name for tables: `cascade probability`, `mean max_drawdown`, `VaR 99% bad_debt`.
    pub fn label(&self) -> String {
        match (self.figure, self.level) {
            ("cascade_probability", _) => "cascade probability".into(),
            (f, Some(p)) => format!("{f} {}% {}", p * 100.0, self.metric),
            (f, None) => format!("{f} {}", self.metric),
        }
    }

    /// Whether the interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci_low > 0.0 || self.ci_high < 0.0
    }
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub pairing: Pairing,
    pub paths_a: u64,
    pub paths_b: u64,
    pub level: f64,
    pub rows: Vec<Row>,
    /// Figures one run has and the other lacks (a lending column, say): not compared.
    pub only_in_one: Vec<String>,
    /// How each interval is computed, in words.
    pub methods: Vec<String>,
}

/// `text` without the [`OVERRIDABLE`] keys of `[simulation]`, re-serialised, so that two
/// files that differ only there compare equal. `None` when the text does not parse.
fn comparable_text(text: &str) -> Option<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
    if let Some(sim) = doc
        .get_mut("simulation")
        .and_then(|s| s.as_table_like_mut())
    {
        for k in OVERRIDABLE {
            sim.remove(k);
        }
    }
    Some(doc.to_string())
}

/// Whether runs `a` and `b` are paired: the same scenario text apart from [`OVERRIDABLE`]
/// keys, the same seed, paths, first path and population replicates.
pub fn pairing(a: &Provenance, b: &Provenance) -> Pairing {
    let mut why = Vec::new();
    if a.seed != b.seed {
        why.push(format!("seeds differ ({} and {})", a.seed, b.seed));
    }
    if a.paths != b.paths {
        why.push(format!("path counts differ ({} and {})", a.paths, b.paths));
    }
    if a.first_path != b.first_path {
        why.push(format!(
            "first paths differ ({} and {})",
            a.first_path, b.first_path
        ));
    }
    if a.population_replicates != b.population_replicates {
        why.push("population replicates differ".into());
    }
    match (comparable_text(&a.scenario), comparable_text(&b.scenario)) {
        (Some(x), Some(y)) if x == y => {}
        (Some(_), Some(_)) => why.push(
            "the scenario texts differ (beyond simulation.paths, seed and population_replicates)"
                .into(),
        ),
        _ => why.push("a stored scenario text does not parse".into()),
    }
    if why.is_empty() {
        Pairing {
            paired: true,
            reason: format!(
                "same scenario, seed {} and {} paths: path i of both runs saw the same random numbers",
                a.seed,
                crate::text::thousands(a.paths)
            ),
        }
    } else {
        Pairing {
            paired: false,
            reason: why.join("; "),
        }
    }
}

/// The paired mean difference `mean(b − a)` with the normal interval `± z·s_d/√n`.
fn paired_mean(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    // One path says nothing of the spread: the interval is unbounded, never "significant".
    let (mean, var) = mean_var(&d);
    let half = Z95 * (var / d.len() as f64).sqrt();
    (mean, mean - half, mean + half)
}

/// Mean and sample variance (unbounded for one value: it says nothing of the spread; a run
/// of one path compared with another was "significantly" different at any difference).
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        f64::INFINITY
    };
    (mean, var)
}

/// The unpaired mean difference with Welch's normal interval `± z·√(s_a²/n_a + s_b²/n_b)`.
fn unpaired_mean(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let d = mb - ma;
    let half = Z95 * (va / a.len() as f64 + vb / b.len() as f64).sqrt();
    (d, d - half, d + half)
}

/// VaR and ES at `p` of `v` (any order; reordered in place): the same definitions as
/// [`crate::stats::var_sorted`] and [`crate::stats::es_sorted`], found by selection.
fn var_es(v: &mut [f64], p: f64) -> (f64, f64) {
    let n = v.len();
    let np = n as f64 * p;
    let k = ((np.ceil() as usize).clamp(1, n)) - 1;
    let (_, var, upper) = v.select_nth_unstable_by(k, f64::total_cmp);
    let var = *var;
    let denom = n as f64 - np;
    if denom <= 0.0 {
        let max = upper.iter().copied().fold(var, f64::max);
        return (var, max);
    }
    let tail: f64 = upper.iter().sum();
    (var, (tail + (k as f64 + 1.0 - np) * var) / denom)
}

/// Type-1 quantile of an ascending slice, as the sweep's and the tails' bootstraps take.
fn type1(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let r = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[r - 1]
}

/// The bootstrap percentile intervals of `VaR_p(b) − VaR_p(a)` and `ES_p(b) − ES_p(a)` at
/// each level `p` of `levels`. Paired: each resample draws one set of path indices for both
/// runs. Unpaired: independent indices for each. Resample `r` uses
/// `ChaCha8Rng::seed_from_u64(seed)` on stream `r`, so the result does not depend on the
/// thread count. Every level is computed on the same resample: the draws do not depend on
/// the level, so each level's intervals are what a bootstrap of that level alone gives,
/// bit for bit (each level but the last selects in a copy, so that its sum of the tail runs
/// in the order a fresh resample would give it).
fn bootstrap_var_es(
    a: &[f64],
    b: &[f64],
    levels: &[f64],
    paired: bool,
    seed: u64,
) -> Vec<[(f64, f64); 2]> {
    if levels.is_empty() {
        return Vec::new();
    }
    let reps: Vec<Vec<(f64, f64)>> = (0..RESAMPLES)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(ra, rb, copy): &mut (Vec<f64>, Vec<f64>, Vec<f64>), r| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(r as u64);
                ra.clear();
                rb.clear();
                if paired {
                    for _ in 0..a.len() {
                        let i = rng.random_range(0..a.len() as u64) as usize;
                        ra.push(a[i]);
                        rb.push(b[i]);
                    }
                } else {
                    ra.extend(
                        (0..a.len()).map(|_| a[rng.random_range(0..a.len() as u64) as usize]),
                    );
                    rb.extend(
                        (0..b.len()).map(|_| b[rng.random_range(0..b.len() as u64) as usize]),
                    );
                }
                let last = levels.len() - 1;
                let mut in_copy = |v: &[f64], p: f64| {
                    copy.clear();
                    copy.extend_from_slice(v);
                    var_es(copy, p)
                };
                let mut out: Vec<(f64, f64)> = levels[..last]
                    .iter()
                    .map(|&p| {
                        let ((va, ea), (vb, eb)) = (in_copy(ra, p), in_copy(rb, p));
                        (vb - va, eb - ea)
                    })
                    .collect();
                let ((va, ea), (vb, eb)) = (var_es(ra, levels[last]), var_es(rb, levels[last]));
                out.push((vb - va, eb - ea));
                out
            },
        )
        .collect();
    let interval = |mut d: Vec<f64>| {
        d.sort_unstable_by(f64::total_cmp);
        (type1(&d, 0.025), type1(&d, 0.975))
    };
    (0..levels.len())
        .map(|j| {
            [
                interval(reps.iter().map(|r| r[j].0).collect()),
                interval(reps.iter().map(|r| r[j].1).collect()),
            ]
        })
        .collect()
}

/// Newcombe's hybrid score interval (method 10) for `p_b − p_a` from the two Wilson
/// intervals: `d − √((p_b − l_b)² + (u_a − p_a)²)`, `d + √((u_b − p_b)² + (p_a − l_a)²)`.
fn newcombe(ka: u64, na: u64, kb: u64, nb: u64) -> (f64, f64, f64) {
    let (a, b) = (wilson95(ka, na), wilson95(kb, nb));
    let d = b.estimate - a.estimate;
    let lo = d - ((b.estimate - b.ci_low).powi(2) + (a.ci_high - a.estimate).powi(2)).sqrt();
    let hi = d + ((b.ci_high - b.estimate).powi(2) + (a.estimate - a.ci_low).powi(2)).sqrt();
    (d, lo, hi)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn flags(c: &Column) -> Vec<u8> {
    match &c.values {
        Values::Flag(v) => v.clone(),
        other => other.to_f64().iter().map(|&x| u8::from(x > 0.0)).collect(),
    }
}

/// Compares run `b` with run `a` (differences are `b − a`).
///
/// Methods, 95% intervals:
/// - cascade probability: paired, the sweep's method ([`paired_flags`]: normal interval of
///   the per-path differences, or the exact bound when no path changed); unpaired,
///   Newcombe's hybrid score interval from the two Wilson intervals;
/// - mean of every summarised metric and the failure shares (paths with a positive value):
///   paired, the normal interval of the mean per-path difference; unpaired, Welch's normal
///   interval;
/// - VaR and ES at [`RISK_LEVELS`] of the tail metrics: a percentile bootstrap of the
///   difference ([`RESAMPLES`] resamples seeded from run A's seed), resampling paths jointly
///   when paired and independently otherwise; only levels with at least
///   [`MIN_TAIL_PATHS`] paths beyond them in both runs.
///
/// Rows follow run A's column order; figures one run lacks are listed in `only_in_one`.
/// Runs with no paths give no rows.
///
/// The path columns of `ca` and `cb` are read pair by pair as their rows are computed (two
/// columns at a time, so two saved runs of 10⁷ paths are compared without holding either;
/// `metrics::Held` serves columns in memory). A column a source cannot read gives no rows
/// (its owner reports the problem).
pub fn compare(
    pa: &Provenance,
    ca: &dyn ColumnSource,
    pb: &Provenance,
    cb: &dyn ColumnSource,
) -> Comparison {
    let pairing = pairing(pa, pb);
    let paired = pairing.paired;
    let (na, nb) = (pa.paths, pb.paths);
    let (ha, hb) = (ca.path_headers(), cb.path_headers());
    let has = |h: &[Header], name: &str| h.iter().any(|x| x.name == name);
    // Both runs' column `name`, read.
    let pair = |name: &str| Some((ca.path(name)?, cb.path(name)?));
    let mut rows = Vec::new();
    let mut only_in_one = Vec::new();
    for h in ha.iter().filter(|h| h.summarize) {
        if !has(&hb, h.name) {
            only_in_one.push(format!("{} (only in A)", h.name));
        }
    }
    for h in hb.iter().filter(|h| h.summarize) {
        if !has(&ha, h.name) {
            only_in_one.push(format!("{} (only in B)", h.name));
        }
    }
    if na > 0 && nb > 0 {
        if let Some((x, y)) = pair("cascade") {
            let (fa, fb) = (flags(&x), flags(&y));
            drop((x, y));
            let (ka, kb) = (
                fa.iter().filter(|&&f| f != 0).count() as u64,
                fb.iter().filter(|&&f| f != 0).count() as u64,
            );
            let (pa_, pb_) = (ka as f64 / na as f64, kb as f64 / nb as f64);
            let (difference, lo, hi, method) = if paired {
                let d = paired_flags(&fa, &fb);
                (d.estimate, d.ci_low, d.ci_high, d.method)
            } else {
                let (d, lo, hi) = newcombe(ka, na, kb, nb);
                (d, lo, hi, "newcombe-wilson")
            };
            rows.push(Row {
                figure: "cascade_probability",
                metric: "cascade",
                level: None,
                unit: "fraction",
                a: pa_,
                b: pb_,
                difference,
                ci_low: lo,
                ci_high: hi,
                method,
            });
        }
        let diff = |a: &[f64], b: &[f64]| {
            if paired {
                let (d, lo, hi) = paired_mean(a, b);
                (d, lo, hi, "paired-normal")
            } else {
                let (d, lo, hi) = unpaired_mean(a, b);
                (d, lo, hi, "unpaired-normal")
            }
        };
        for h in ha.iter().filter(|h| h.summarize && has(&hb, h.name)) {
            let Some((x, y)) = pair(h.name) else {
                continue;
            };
            let (a, b) = (x.values.to_f64(), y.values.to_f64());
            drop((x, y));
            let (difference, ci_low, ci_high, method) = diff(&a, &b);
            rows.push(Row {
                figure: "mean",
                metric: h.name,
                level: None,
                unit: h.unit,
                a: mean(&a),
                b: mean(&b),
                difference,
                ci_low,
                ci_high,
                method,
            });
        }
        for name in ["book_exhausted", "fund_exhausted", "bad_debt"] {
            let Some((x, y)) = pair(name) else {
                continue;
            };
            let ind = |c: &Column| -> Vec<f64> {
                c.values
                    .to_f64()
                    .iter()
                    .map(|&v| f64::from(v > 0.0))
                    .collect()
            };
            let (a, b) = (ind(&x), ind(&y));
            let (difference, ci_low, ci_high, method) = diff(&a, &b);
            rows.push(Row {
                figure: "share",
                metric: x.name,
                level: None,
                unit: "fraction",
                a: mean(&a),
                b: mean(&b),
                difference,
                ci_low,
                ci_high,
                method,
            });
        }
        let seed = pa.seed;
        for name in TAIL_METRICS {
            let Some((x, y)) = pair(name) else {
                continue;
            };
            let (metric, unit) = (x.name, x.unit);
            let (a, b) = (x.values.to_f64(), y.values.to_f64());
            drop((x, y));
            // The levels with enough paths beyond them in both runs, bootstrapped together.
            let beyond = |n: u64, p: f64| n as f64 * (1.0 - p) >= MIN_TAIL_PATHS - 1e-9;
            let levels: Vec<f64> = RISK_LEVELS
                .into_iter()
                .filter(|&p| beyond(na, p) && beyond(nb, p))
                .collect();
            let intervals = bootstrap_var_es(&a, &b, &levels, paired, seed);
            for (&p, &[vi, ei]) in levels.iter().zip(&intervals) {
                let (va, ea) = var_es(&mut a.clone(), p);
                let (vb, eb) = var_es(&mut b.clone(), p);
                let method = if paired {
                    "paired-bootstrap"
                } else {
                    "unpaired-bootstrap"
                };
                for (figure, fa, fb, (lo, hi)) in [("VaR", va, vb, vi), ("ES", ea, eb, ei)] {
                    rows.push(Row {
                        figure,
                        metric,
                        level: Some(p),
                        unit,
                        a: fa,
                        b: fb,
                        difference: fb - fa,
                        ci_low: lo,
                        ci_high: hi,
                        method,
                    });
                }
            }
        }
    }
    let methods = if paired {
        vec![
            "cascade probability: paired difference of the per-path cascade flags, normal interval (the sweep's method; the exact bound when no path changed)".into(),
            "means and shares: mean of the per-path differences B − A, normal interval".into(),
            format!(
                "VaR/ES: percentile bootstrap of the difference, {RESAMPLES} resamples of paths drawn jointly for both runs"
            ),
        ]
    } else {
        vec![
            "cascade probability: unpaired difference, Newcombe's hybrid score interval from the two Wilson intervals".into(),
            "means and shares: unpaired difference of means, Welch's normal interval".into(),
            format!(
                "VaR/ES: percentile bootstrap of the difference, {RESAMPLES} resamples drawn independently from each run"
            ),
        ]
    };
    Comparison {
        pairing,
        paths_a: na,
        paths_b: nb,
        level: 0.95,
        rows,
        only_in_one,
        methods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{es_sorted, var_sorted};

    /// The bootstrap of one level, as it was written before the levels shared their
    /// resamples: the reference of the shared one.
    fn one_level(a: &[f64], b: &[f64], p: f64, paired: bool, seed: u64) -> [(f64, f64); 2] {
        let reps: Vec<(f64, f64)> = (0..RESAMPLES)
            .map(|r| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(r as u64);
                let (mut ra, mut rb): (Vec<f64>, Vec<f64>) = if paired {
                    (0..a.len())
                        .map(|_| {
                            let i = rng.random_range(0..a.len() as u64) as usize;
                            (a[i], b[i])
                        })
                        .unzip()
                } else {
                    let ra = (0..a.len())
                        .map(|_| a[rng.random_range(0..a.len() as u64) as usize])
                        .collect();
                    let rb = (0..b.len())
                        .map(|_| b[rng.random_range(0..b.len() as u64) as usize])
                        .collect();
                    (ra, rb)
                };
                let ((va, ea), (vb, eb)) = (var_es(&mut ra, p), var_es(&mut rb, p));
                (vb - va, eb - ea)
            })
            .collect();
        let interval = |mut d: Vec<f64>| {
            d.sort_unstable_by(f64::total_cmp);
            (type1(&d, 0.025), type1(&d, 0.975))
        };
        [
            interval(reps.iter().map(|r| r.0).collect()),
            interval(reps.iter().map(|r| r.1).collect()),
        ]
    }

    #[test]
    fn levels_bootstrapped_together_equal_each_alone_bit_for_bit() {
        // Heavy-tailed values with ties (many zeros, repeated values), as loss columns are;
        // B of another length for the unpaired case.
        let draw = |n: usize, k: u64| -> Vec<f64> {
            (0..n as u64)
                .map(|i| {
                    let h = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k) % 10_007;
                    if h < 4_000 {
                        0.0
                    } else {
                        (h as f64 / 97.0).powf(2.5).round() / 3.0
                    }
                })
                .collect()
        };
        let (a, b, short) = (draw(3_001, 1), draw(3_001, 2), draw(1_777, 3));
        let bits = |x: &[(f64, f64); 2]| x.map(|(l, h)| (l.to_bits(), h.to_bits()));
        for (paired, b) in [(true, &b), (false, &b), (false, &short)] {
            for levels in [&[0.95, 0.99][..], &[0.99, 0.95, 0.5], &[0.99]] {
                let together = bootstrap_var_es(&a, b, levels, paired, 11);
                assert_eq!(together.len(), levels.len());
                for (&p, got) in levels.iter().zip(&together) {
                    assert_eq!(
                        bits(got),
                        bits(&one_level(&a, b, p, paired, 11)),
                        "level {p}, paired {paired}, levels {levels:?}"
                    );
                }
            }
        }
        assert!(bootstrap_var_es(&a, &b, &[], true, 11).is_empty());
    }

    #[test]
    fn selection_var_es_matches_the_sorted_definitions() {
        let v: Vec<f64> = (0..997).map(|i| ((i * 7919) % 1009) as f64 * 0.5).collect();
        let mut s = v.clone();
        s.sort_unstable_by(f64::total_cmp);
        for p in [0.5, 0.95, 0.99, 0.999] {
            let (var, es) = var_es(&mut v.clone(), p);
            assert_eq!(var, var_sorted(&s, p));
            // Sums in another order: equal to within rounding.
            assert!((es - es_sorted(&s, p)).abs() < 1e-9 * es.abs().max(1.0));
        }
    }

    #[test]
    fn newcombe_brackets_the_difference_and_is_wider_than_either_wilson() {
        let (d, lo, hi) = newcombe(30, 1000, 50, 1000);
        assert!((d - 0.02).abs() < 1e-12);
        assert!(lo < d && d < hi);
        // Published example (Newcombe 1998, table II, 56/70 vs 48/80): −0.0524 to 0.3339 for
        // p_a − p_b; here b − a, so the signs swap.
        let (_, lo, hi) = newcombe(48, 80, 56, 70);
        assert!((lo - 0.0524).abs() < 5e-4, "{lo}");
        assert!((hi - 0.3339).abs() < 5e-4, "{hi}");
    }

    #[test]
    fn text_differing_only_in_overridable_keys_compares_equal() {
        let a = "[simulation]\npaths = 100\nseed = 1\nsteps = 5\n";
        let b = "[simulation]\npaths = 900\nseed = 2\nsteps = 5\n";
        let c = "[simulation]\npaths = 100\nseed = 1\nsteps = 6\n";
        assert_eq!(comparable_text(a), comparable_text(b));
        assert_ne!(comparable_text(a), comparable_text(c));
    }

    #[test]
    fn paired_mean_of_a_constant_shift_is_exact() {
        let a = [1.0, 2.0, 5.0, 9.0];
        let b = [1.5, 2.5, 5.5, 9.5];
        let (d, lo, hi) = paired_mean(&a, &b);
        assert_eq!((d, lo, hi), (0.5, 0.5, 0.5));
        let (d, lo, hi) = unpaired_mean(&a, &b);
        assert_eq!(d, 0.5);
        assert!(
            lo < 0.0 && hi > 1.0,
            "independent samples: the spread is noise"
        );
    }

    /// A run of one path says nothing of its spread: the interval of a mean difference is
    /// unbounded, never excluding 0 (it was the point, "significant" at any difference).
    #[test]
    fn one_path_gives_no_interval() {
        let (d, lo, hi) = unpaired_mean(&[1.0], &[1.5, 2.5, 1.9]);
        assert!((d - 0.966_666_666_666_666_7).abs() < 1e-12);
        assert_eq!((lo, hi), (f64::NEG_INFINITY, f64::INFINITY));
        let (d, lo, hi) = paired_mean(&[1.0], &[3.0]);
        assert_eq!((d, lo, hi), (2.0, f64::NEG_INFINITY, f64::INFINITY));
    }
}

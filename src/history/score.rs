//! Scores of simulated against observed hourly liquidations, and the naive baseline that
//! needs no positions. Pure functions on slices.

use serde::Serialize;

/// Pearson correlation; `None` when either side is constant or the slices are shorter
/// than 2.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let (mx, my) = (
        x[..n].iter().sum::<f64>() / n as f64,
        y[..n].iter().sum::<f64>() / n as f64,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (x[i] - mx, y[i] - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Ranks from 1, ties given their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman correlation: Pearson of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&ranks(x), &ranks(y))
}

/// Indices of the `k` largest values (ties broken by the earlier index).
fn top(x: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// How many hours the top-N overlap uses.
pub const TOP_HOURS: usize = 10;

/// Scores of one side (long or short) over a window of hourly bars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SideScores {
    /// Hours scored.
    pub hours: usize,
    /// Observed total, asset units.
    pub observed_total: f64,
    /// Simulated (or baseline) total, asset units.
    pub simulated_total: f64,
    /// Pearson correlation of the hourly values (`null` when either is constant).
    pub pearson: Option<f64>,
    /// Spearman rank correlation of the hourly values.
    pub spearman: Option<f64>,
    /// simulated_total / observed_total (`null` when nothing was observed).
    pub total_ratio: Option<f64>,
    /// Share of the 10 largest observed hours among the 10 largest simulated ones.
    pub top10_overlap: Option<f64>,
}

impl SideScores {
    /// Scores `sim` against `obs` (the same hours).
    pub fn new(sim: &[f64], obs: &[f64]) -> SideScores {
        let (st, ot) = (sim.iter().sum::<f64>(), obs.iter().sum::<f64>());
        let k = TOP_HOURS.min(obs.len());
        let overlap = (k > 0).then(|| {
            let ts = top(sim, k);
            top(obs, k).iter().filter(|i| ts.contains(i)).count() as f64 / k as f64
        });
        SideScores {
            hours: obs.len(),
            observed_total: ot,
            simulated_total: st,
            pearson: pearson(sim, obs),
            spearman: spearman(sim, obs),
            total_ratio: (ot > 0.0).then(|| st / ot),
            top10_overlap: overlap,
        }
    }
}

/// Long and short scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub long: SideScores,
    pub short: SideScores,
}

/// The baseline's unscaled hourly predictions: `max(0, 1 − low/open)` for longs and
/// `max(0, high/open − 1)` for shorts.
pub fn baseline_raw(open: &[f64], low: &[f64], high: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let long = open
        .iter()
        .zip(low)
        .map(|(o, l)| (1.0 - l / o).max(0.0))
        .collect();
    let short = open
        .iter()
        .zip(high)
        .map(|(o, h)| (h / o - 1.0).max(0.0))
        .collect();
    (long, short)
}

/// The scale that makes `raw` sum to `observed` over the same (training) hours; `None`
/// when `raw` sums to zero.
pub fn baseline_scale(raw: &[f64], observed: &[f64]) -> Option<f64> {
    let r: f64 = raw.iter().sum();
    (r > 0.0).then(|| observed.iter().sum::<f64>() / r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_on_hand_computed_cases() {
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), Some(1.0));
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
        // x = 1,2,3,4; y = 1,3,2,4: cov 4/4·… → r = 0.8 exactly.
        let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!((r - 0.8).abs() < 1e-12, "{r}");
        assert_eq!(ranks(&[10.0, 5.0, 10.0, 1.0]), vec![3.5, 2.0, 3.5, 1.0]);
        // Monotone but not linear: Spearman 1, Pearson below 1.
        let (x, y) = ([1.0, 2.0, 3.0, 4.0], [1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(spearman(&x, &y), Some(1.0));
        assert!(pearson(&x, &y).unwrap() < 0.9);
    }

    #[test]
    fn side_scores_and_baseline() {
        let obs: Vec<f64> = (0..12).map(f64::from).collect();
        let mut sim = obs.clone();
        sim.swap(0, 11); // the largest observed hour (11) is the smallest simulated
        let s = SideScores::new(&sim, &obs);
        assert_eq!(s.hours, 12);
        assert_eq!(s.total_ratio, Some(1.0));
        // Top 10 observed: hours 2..=11; top 10 simulated: 0, 2..=10 → 9 shared.
        assert_eq!(s.top10_overlap, Some(0.9));
        let (l, sh) = baseline_raw(&[100.0, 100.0], &[90.0, 101.0], &[105.0, 100.0]);
        assert!((l[0] - 0.1).abs() < 1e-12 && l[1] == 0.0);
        assert!((sh[0] - 0.05).abs() < 1e-12 && sh[1] == 0.0);
        assert_eq!(baseline_scale(&[0.5, 0.5], &[10.0, 30.0]), Some(40.0));
        assert_eq!(baseline_scale(&[0.0], &[1.0]), None);
    }
}

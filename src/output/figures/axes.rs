//! Axes of the run's figures: tick positions on log axes, probability tick labels, axis
//! unit names and where a legend goes.

use plotters::prelude::*;

use crate::output::format::sig;

/// A probability on a log axis: 1, 0.1, 0.01, 1e-3, …
pub(super) fn prob_tick(p: f64) -> String {
    if p >= 0.01 {
        sig(p, 2)
    } else {
        format!("{p:.0e}")
    }
}

/// Tick positions for a log axis over `[lo, hi]`: (labelled, light grid lines). Decades for
/// wide ranges, 1-2-5 for a few decades, every digit below that, and evenly spaced round
/// numbers when the range is too narrow for any of these to give three labels.
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = (hi / lo).log10();
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |ms: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        for d in d0..=d1 {
            for &m in ms {
                let x = m * 10f64.powi(d);
                if x >= lo * (1.0 - 1e-9) && x <= hi * (1.0 + 1e-9) {
                    v.push(x);
                }
            }
        }
        v
    };
    let digits: Vec<f64> = (1..10).map(f64::from).collect();
    let light = if span > 0.6 {
        within(&digits)
    } else {
        Vec::new()
    };
    let step_decades = (span / 7.0).ceil().max(1.0) as usize;
    for ms in [
        &[1.0][..],
        &[1.0, 2.0, 5.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let mut bold = within(ms);
        if ms.len() == 1 && span > 7.0 {
            bold = bold.into_iter().step_by(step_decades).collect();
        }
        if bold.len() >= 4 || (ms.len() > 3 && bold.len() >= 3) {
            return (bold, light);
        }
    }
    (linear_ticks(lo, hi), light)
}

/// About five round, evenly spaced values in `[lo, hi]`.
pub(super) fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    let mut v = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi * (1.0 + 1e-12) {
        v.push(k * step);
        k += 1.0;
    }
    v
}

/// How an axis names a unit (values of `fraction` are shown in %).
pub(super) fn unit_desc(unit: &str) -> &str {
    match unit {
        "fraction" => "% of price",
        u => u,
    }
}

/// The corner of a plot (half its width, 35% of its height) that the fewest points fall in,
/// for the legend.
pub(super) fn emptiest_corner(
    points: impl Iterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> SeriesLabelPosition {
    let mut count = [0usize; 4]; // upper left, upper right, lower left, lower right
    for (x, y) in points {
        let fx = (x - x0) / (x1 - x0);
        let fy = (y - y0) / (y1 - y0);
        let left = fx <= 0.5;
        let right = fx >= 0.5;
        let upper = fy >= 0.65;
        let lower = fy <= 0.35;
        for (i, hit) in [upper && left, upper && right, lower && left, lower && right]
            .into_iter()
            .enumerate()
        {
            count[i] += usize::from(hit);
        }
    }
    let best = (0..4).min_by_key(|&i| (count[i], i)).unwrap_or(1);
    [
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::LowerRight,
    ][best]
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_enough() {
        assert_eq!(sig(0.012345, 2), "0.012");
        assert_eq!(sig(12345.0, 3), "12345");
        assert_eq!(sig(2.0, 3), "2");
        assert_eq!(prob_tick(0.001), "1e-3");
        assert_eq!(prob_tick(0.1), "0.1");
    }

    #[test]
    fn log_ticks_label_narrow_and_wide_ranges() {
        let (b, _) = log_ticks(0.043, 0.1);
        assert!(b.len() >= 3, "{b:?}");
        let (b, _) = log_ticks(1e-7, 1.2);
        assert!(b.len() >= 4 && b.len() <= 8, "{b:?}");
        let (b, _) = log_ticks(0.061, 0.066);
        assert!(b.len() >= 3, "{b:?}");
    }
}

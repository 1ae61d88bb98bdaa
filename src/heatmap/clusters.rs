//! Liquidation clusters: dense zones of liquidation prices.
//!
//! Method (one side at a time, on the grid's histogram of notional per bin):
//! 1. **Smooth** with a Gaussian kernel of standard deviation `kernel` (in bins), truncated at
//!    4 standard deviations and normalised to sum 1, so the smoothed density keeps the unit
//!    (USD per bin) and the total notional (up to what leaks past the grid's ends).
//! 2. **Reference level**: the median of the smoothed density over the bins where it is
//!    positive (the part of the grid the side occupies).
//! 3. **Peaks**: local maxima of the smoothed density whose topographic *prominence* (height
//!    above the higher of the two lowest points separating it from a strictly higher peak or
//!    the grid's end, as in `scipy.signal.peak_prominences`) is at least `prominence` times
//!    the reference level.
//! 4. **Zones**: from each accepted peak, the contiguous bins where the smoothed density is at
//!    least `zone_height` (½) of the peak's height, never crossing the lowest point between
//!    two accepted peaks (the saddle goes to the lower-priced peak), so zones never overlap.
//! 5. A cluster's notional, size and position count are the raw (unsmoothed) sums over its
//!    zone's bins.

use serde::Serialize;

/// The side a cluster's positions are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
}

impl Side {
    /// `"long"` or `"short"`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
        }
    }
}

/// A zone found on one side's density, in bins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    /// Bin of the peak.
    pub peak: usize,
    /// First and last bin of the zone (inclusive).
    pub first: usize,
    pub last: usize,
    /// Smoothed density at the peak (USD per bin).
    pub height: f64,
    /// Prominence of the peak (USD per bin).
    pub prominence: f64,
}

/// Gaussian smoothing with standard deviation `sigma` bins (no smoothing when `sigma ≤ 0`).
pub fn smooth(raw: &[f64], sigma: f64) -> Vec<f64> {
    if sigma.is_nan() || sigma <= 0.0 || raw.is_empty() {
        return raw.to_vec();
    }
    let radius = (4.0 * sigma).ceil() as usize;
    let mut kernel: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let d = i as f64 - radius as f64;
            (-0.5 * (d / sigma) * (d / sigma)).exp()
        })
        .collect();
    let total: f64 = kernel.iter().sum();
    for k in &mut kernel {
        *k /= total;
    }
    let n = raw.len();
    let mut out = vec![0.0; n];
    for (j, &x) in raw.iter().enumerate() {
        if x == 0.0 {
            continue;
        }
        let lo = j.saturating_sub(radius);
        let hi = (j + radius).min(n - 1);
        for (i, o) in out.iter_mut().enumerate().take(hi + 1).skip(lo) {
            *o += x * kernel[i + radius - j];
        }
    }
    out
}

/// Median of the positive values (0 when there are none).
pub fn positive_median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| *x > 0.0).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Local maxima: `s[j] > 0`, strictly above the left neighbour and not below the right one
/// (the left end of a plateau).
fn local_maxima(s: &[f64]) -> Vec<usize> {
    let n = s.len();
    (0..n)
        .filter(|&j| s[j] > 0.0 && (j == 0 || s[j] > s[j - 1]) && (j + 1 == n || s[j] >= s[j + 1]))
        .collect()
}

/// Topographic prominence of the peak at `j`.
pub fn prominence(s: &[f64], j: usize) -> f64 {
    let h = s[j];
    let mut left_min = h;
    for i in (0..j).rev() {
        if s[i] > h {
            break;
        }
        left_min = left_min.min(s[i]);
    }
    let mut right_min = h;
    for &x in &s[j + 1..] {
        if x > h {
            break;
        }
        right_min = right_min.min(x);
    }
    h - left_min.max(right_min)
}

/// Finds the zones of a smoothed density (see the module documentation).
pub fn find_zones(smoothed: &[f64], min_prominence: f64, zone_height: f64) -> Vec<Zone> {
    let mut peaks: Vec<Zone> = local_maxima(smoothed)
        .into_iter()
        .map(|j| Zone {
            peak: j,
            first: j,
            last: j,
            height: smoothed[j],
            prominence: prominence(smoothed, j),
        })
        .filter(|z| z.prominence > 0.0 && z.prominence >= min_prominence)
        .collect();
    // Saddles between consecutive accepted peaks: the lowest bin between them (the first
    // one when several are equally low).
    let n = smoothed.len();
    let saddles: Vec<usize> = peaks
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0].peak, w[1].peak);
            (a..=b)
                .min_by(|&x, &y| smoothed[x].total_cmp(&smoothed[y]))
                .unwrap_or(a)
        })
        .collect();
    for (i, z) in peaks.iter_mut().enumerate() {
        // Bins this peak may claim: after the previous saddle, up to and including the next.
        let lo = if i == 0 { 0 } else { saddles[i - 1] + 1 };
        let hi = if i < saddles.len() { saddles[i] } else { n - 1 };
        let floor = zone_height * z.height;
        let mut first = z.peak;
        while first > lo && smoothed[first - 1] >= floor {
            first -= 1;
        }
        let mut last = z.peak;
        while last < hi && smoothed[last + 1] >= floor {
            last += 1;
        }
        z.first = first;
        z.last = last;
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_mass_and_spreads_a_spike() {
        let mut raw = vec![0.0; 101];
        raw[50] = 10.0;
        let s = smooth(&raw, 2.0);
        assert!((s.iter().sum::<f64>() - 10.0).abs() < 1e-12);
        assert!(s[50] > s[49] && s[49] > s[47] && s[49] == s[51]);
        assert_eq!(s[40], 0.0, "truncated at 4 sigma");
    }

    #[test]
    fn two_separated_bumps_are_two_zones_and_noise_is_not() {
        let n = 200;
        let mut s = vec![1.0; n];
        for (j, x) in s.iter_mut().enumerate() {
            let a = (j as f64 - 50.0) / 5.0;
            let b = (j as f64 - 140.0) / 3.0;
            *x += 20.0 * (-0.5 * a * a).exp() + 10.0 * (-0.5 * b * b).exp();
        }
        s[100] += 0.2; // a ripple
        let z = find_zones(&s, positive_median(&s), 0.5);
        assert_eq!(z.len(), 2, "{z:?}");
        assert_eq!(z[0].peak, 50);
        assert_eq!(z[1].peak, 140);
        // Half height of a Gaussian: ±1.18 sigma (on top of the floor of 1, a bit wider).
        assert!(z[0].first >= 43 && z[0].first <= 45 && z[0].last >= 55 && z[0].last <= 57);
        assert!(z[1].first < 140 && z[1].last > 140 && z[1].last < 145);
    }

    #[test]
    fn zones_of_close_peaks_do_not_overlap() {
        let mut s = vec![0.0; 60];
        for (j, x) in s.iter_mut().enumerate() {
            let a = (j as f64 - 25.0) / 3.0;
            let b = (j as f64 - 33.0) / 3.0;
            *x = 10.0 * (-0.5 * a * a).exp() + 9.0 * (-0.5 * b * b).exp();
        }
        let z = find_zones(&s, 0.1, 0.5);
        assert_eq!(z.len(), 2);
        assert!(z[0].last < z[1].first);
    }
}

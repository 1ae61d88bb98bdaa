//! Paired differences between grid points under common random numbers: the same path id
//! at two grid points sees the same random numbers, so the per-path difference of the cascade
//! indicator removes most of the sampling noise that two separate estimates would carry.

use std::collections::VecDeque;

use serde::Serialize;

use super::grid::Grid;
use crate::stats::Z95;

/// Difference in cascade probability between two grid points (`after − before`), from the
/// same paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedDifference {
    pub paths: u64,
    /// Paths that are not a cascade at `before` and are one at `after`.
    pub became_cascade: u64,
    /// Paths that are a cascade at `before` and not at `after`.
    pub stopped_cascade: u64,
    /// `(became − stopped) / paths`.
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// `"paired-normal"` or `"no-discordant-path"` (see [`paired_flags`]).
    pub method: &'static str,
    /// Half-width a 95% interval would have if the two points had been run on independent
    /// paths (`z·√(p₁(1−p₁)/n + p₂(1−p₂)/n)`), for comparison.
    pub unpaired_half_width: f64,
}

/// The paired difference of two 0/1 vectors of equal length (path order).
///
/// Method: the per-path differences `dᵢ ∈ {−1, 0, 1}` have mean `(b − c)/n` (b paths became
/// cascades, c stopped) and sample variance `((b + c) − n·mean²)/(n − 1)`; the 95% interval is
/// the normal approximation `mean ± z·s/√n` (paired-normal), clipped to [−1, 1]. With no
/// discordant path (b = c = 0) that interval would collapse to a point, which overstates what
/// n paths show: the interval is then ±u, where u = 1 − 0.025^(1/n) is the exact (Clopper–
/// Pearson) 95% upper bound on the share of discordant paths, which bounds |difference|.
///
/// # Panics
/// When the vectors differ in length (a caller bug: both come from the same paths).
pub fn paired_flags(before: &[u8], after: &[u8]) -> PairedDifference {
    assert_eq!(
        before.len(),
        after.len(),
        "paired vectors cover the same paths"
    );
    let n = before.len() as u64;
    let (mut b, mut c, mut k1, mut k2) = (0u64, 0u64, 0u64, 0u64);
    for (&x, &y) in before.iter().zip(after) {
        let (x, y) = (x != 0, y != 0);
        k1 += u64::from(x);
        k2 += u64::from(y);
        match (x, y) {
            (false, true) => b += 1,
            (true, false) => c += 1,
            _ => {}
        }
    }
    let nf = n as f64;
    let (p1, p2) = if n == 0 {
        (0.0, 0.0)
    } else {
        (k1 as f64 / nf, k2 as f64 / nf)
    };
    let unpaired_half_width = if n == 0 {
        1.0
    } else {
        Z95 * ((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / nf).sqrt()
    };
    if n == 0 {
        return PairedDifference {
            paths: 0,
            became_cascade: 0,
            stopped_cascade: 0,
            estimate: 0.0,
            ci_low: -1.0,
            ci_high: 1.0,
            method: "no-discordant-path",
            unpaired_half_width,
        };
    }
    let mean = (b as f64 - c as f64) / nf;
    let (lo, hi, method) = if b + c == 0 {
        let u = 1.0 - 0.025f64.powf(1.0 / nf);
        (-u, u, "no-discordant-path")
    } else {
        let var = if n > 1 {
            (((b + c) as f64) - nf * mean * mean).max(0.0) / (nf - 1.0)
        } else {
            0.0
        };
        let half = Z95 * (var / nf).sqrt();
        (
            (mean - half).max(-1.0),
            (mean + half).min(1.0),
            "paired-normal",
        )
    };
    PairedDifference {
        paths: n,
        became_cascade: b,
        stopped_cascade: c,
        estimate: mean,
        ci_low: lo,
        ci_high: hi,
        method,
        unpaired_half_width,
    }
}

/// The paired difference between a grid point and its predecessor along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeighbourDifference {
    pub axis: usize,
    /// Point index of the predecessor (`before`).
    pub from: usize,
    /// Point index of the point (`after`).
    pub to: usize,
    pub difference: PairedDifference,
}

/// Collects the paired differences along every axis while grid points finish in index
/// order, remembering only the cascade indicators of the last [`Grid::max_stride`] points.
#[derive(Debug)]
pub struct Neighbours {
    window: VecDeque<(usize, Vec<u8>)>,
    keep: usize,
    rows: Vec<NeighbourDifference>,
}

impl Neighbours {
    pub fn new(grid: &Grid) -> Neighbours {
        Neighbours {
            window: VecDeque::new(),
            keep: grid.max_stride(),
            rows: Vec::new(),
        }
    }

    /// Adds point `i` (points must arrive in index order).
    pub fn push(&mut self, grid: &Grid, i: usize, flags: Vec<u8>) {
        for axis in 0..grid.axes.len() {
            if let Some(j) = grid.previous(i, axis)
                && let Some((_, before)) = self.window.iter().find(|(k, _)| *k == j)
            {
                self.rows.push(NeighbourDifference {
                    axis,
                    from: j,
                    to: i,
                    difference: paired_flags(before, &flags),
                });
            }
        }
        self.window.push_back((i, flags));
        while self.window.len() > self.keep {
            self.window.pop_front();
        }
    }

    /// Every difference, by point then axis.
    pub fn into_rows(self) -> Vec<NeighbourDifference> {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_computed_paired_difference() {
        // 10 paths: 2 become cascades, 1 stops, 3 stay cascades, 4 stay calm.
        let before = [0, 0, 1, 1, 1, 1, 0, 0, 0, 0];
        let after = [1, 1, 0, 1, 1, 1, 0, 0, 0, 0];
        let d = paired_flags(&before, &after);
        assert_eq!((d.became_cascade, d.stopped_cascade), (2, 1));
        assert!((d.estimate - 0.1).abs() < 1e-15);
        // Variance of d = (3 − 10·0.01)/9 = 0.32222…; half-width = z·√(0.032222…).
        let half = Z95 * (2.9f64 / 9.0 / 10.0).sqrt();
        assert!((d.ci_high - (0.1 + half)).abs() < 1e-12, "{d:?}");
        assert!((d.ci_low - (0.1 - half)).abs() < 1e-12, "{d:?}");
        assert_eq!(d.method, "paired-normal");
    }

    #[test]
    fn pairing_is_tighter_than_two_separate_estimates_when_paths_agree() {
        // 1000 paths, p₁ = 0.30, p₂ = 0.32: 20 paths became cascades, none stopped.
        let before: Vec<u8> = (0..1000).map(|i| u8::from(i < 300)).collect();
        let after: Vec<u8> = (0..1000).map(|i| u8::from(i < 320)).collect();
        let d = paired_flags(&before, &after);
        let paired_half = (d.ci_high - d.ci_low) / 2.0;
        assert!(
            d.ci_low > 0.0,
            "the increase is significant when paired: {d:?}"
        );
        assert!(paired_half < d.unpaired_half_width / 3.0, "{d:?}");
        assert!(
            d.unpaired_half_width > 0.02,
            "unpaired, the intervals overlap: {d:?}"
        );
    }

    #[test]
    fn neighbours_are_found_along_both_axes_of_a_grid() {
        use super::super::grid::Axis;
        use super::super::path::KeyPath;
        let axis = |p: &str, n: usize| Axis {
            path: KeyPath::parse(p).unwrap(),
            values: (0..n).map(|i| i as f64).collect(),
        };
        let grid = Grid::new(vec![axis("a", 2), axis("b", 3)]).unwrap();
        let mut nb = Neighbours::new(&grid);
        // Point i has cascades on its first i paths, so every difference is known.
        for i in 0..grid.len() {
            nb.push(&grid, i, (0..10).map(|p| u8::from(p < i)).collect());
            assert!(nb.window.len() <= 3);
        }
        let rows = nb.into_rows();
        let pairs: Vec<(usize, usize, usize)> =
            rows.iter().map(|r| (r.axis, r.from, r.to)).collect();
        assert_eq!(
            pairs,
            [
                (1, 0, 1),
                (1, 1, 2),
                (0, 0, 3),
                (0, 1, 4),
                (1, 3, 4),
                (0, 2, 5),
                (1, 4, 5)
            ]
        );
        let d = rows[2].difference;
        assert_eq!((d.became_cascade, d.stopped_cascade), (3, 0));
    }

    #[test]
    fn no_discordant_path_gives_an_honest_nonzero_interval() {
        let v = vec![0u8; 200];
        let d = paired_flags(&v, &v);
        assert_eq!(d.estimate, 0.0);
        assert_eq!(d.method, "no-discordant-path");
        // 1 − 0.025^(1/200) ≈ 0.01828 (≈ the "rule of three" 3.7/n).
        assert!((d.ci_high - 0.018_276).abs() < 1e-5, "{d:?}");
        assert_eq!(d.ci_low, -d.ci_high);
    }
}

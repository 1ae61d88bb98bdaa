//! History: price series replayed exactly, the living population that trades through them,
//! and the scores of its liquidations against the observed ones. Pure computation (no
//! files): `series` parses CSV text, `grid` lays rows on steps and hourly bars, `living`
//! holds one path's open positions, `score` the correlations and the naive baseline,
//! `calibrate` fits the population with Nelder–Mead, `time` reads and writes timestamps.
//! This module runs paths in parallel and reduces them in path order.

pub mod calibrate;
pub mod grid;
pub mod living;
pub mod score;
pub mod series;
pub mod time;

use std::ops::Range;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use grid::{Bars, StepGrid};
use living::{LivingParams, Marking, replay_path};
use score::{SideScores, baseline_raw, baseline_scale};

/// Mean liquidations per step over paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    /// Mean long quantity liquidated per step (asset units), steps `0..end`.
    pub long: Vec<f64>,
    /// Mean short quantity liquidated per step.
    pub short: Vec<f64>,
    /// Mean mark per step (the observed price when the price is the mark).
    pub mark: Vec<f64>,
}

/// Most paths replayed at once by [`simulate`]: each holds its three series of `end` steps
/// until its block is added, so memory grows with the block, not with the paths.
const BLOCK: u64 = 256;

/// What one block of [`simulate`] may hold, bytes: a year of one-minute steps (24 bytes a
/// step) in blocks of 256 paths held 3.2 GB; the block is cut to this, down to one path per
/// thread.
const BLOCK_BYTES: u64 = 64 << 20;

/// Replays steps `0..end` of `grid` on `paths` independent living populations (path `i`
/// on ChaCha8 stream `i` of `seed`) and averages their liquidations in path order, so the
/// result does not depend on the number of threads. The paths run in parallel in blocks of
/// at most [`BLOCK`] paths and [`BLOCK_BYTES`] of series, each added in path order before
/// the next starts.
pub fn simulate(
    grid: &StepGrid,
    params: &LivingParams,
    marking: Marking<'_>,
    paths: u64,
    seed: u64,
    end: usize,
) -> Simulated {
    let steps = end.min(grid.len());
    let mut out = Simulated {
        long: vec![0.0; steps],
        short: vec![0.0; steps],
        mark: vec![0.0; steps],
    };
    let per_path = (steps as u64).saturating_mul(24).max(1);
    let block = (BLOCK_BYTES / per_path).clamp(rayon::current_num_threads() as u64, BLOCK);
    let mut start = 0;
    while start < paths {
        let stop = start.saturating_add(block).min(paths);
        let runs: Vec<_> = (start..stop)
            .into_par_iter()
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i);
                replay_path(grid, params, marking, end, &mut rng)
            })
            .collect();
        for r in &runs {
            for k in 0..steps {
                out.long[k] += r.long[k];
                out.short[k] += r.short[k];
                out.mark[k] += r.mark[k];
            }
        }
        start = stop;
    }
    let n = paths.max(1) as f64;
    out.long
        .iter_mut()
        .chain(out.short.iter_mut())
        .chain(out.mark.iter_mut())
        .for_each(|x| *x /= n);
    out
}

/// Hourly observed, simulated and baseline liquidations over a grid's bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Hourly {
    pub bars: Bars,
    pub observed_long: Vec<f64>,
    pub observed_short: Vec<f64>,
    pub simulated_long: Vec<f64>,
    pub simulated_short: Vec<f64>,
    /// Unscaled baseline predictions (fall and rise from the bar's open).
    pub baseline_long_raw: Vec<f64>,
    pub baseline_short_raw: Vec<f64>,
}

impl Hourly {
    /// Sums a grid's observed liquidations and `sim` (steps `0..sim.long.len()`; later
    /// steps count as zero) into hourly bars. `None` when the grid has no observed
    /// liquidations.
    pub fn new(grid: &StepGrid, sim: &Simulated) -> Option<Hourly> {
        let (ol, os) = (grid.observed_long.as_ref()?, grid.observed_short.as_ref()?);
        let bars = grid.bars();
        let pad = |v: &[f64]| {
            let mut p = v.to_vec();
            p.resize(grid.len(), 0.0);
            p
        };
        let (bl, bs) = baseline_raw(&bars.open, &bars.low, &bars.high);
        Some(Hourly {
            observed_long: bars.sum(ol),
            observed_short: bars.sum(os),
            simulated_long: bars.sum(&pad(&sim.long)),
            simulated_short: bars.sum(&pad(&sim.short)),
            baseline_long_raw: bl,
            baseline_short_raw: bs,
            bars,
        })
    }

    /// The model's scores on bars `w`.
    pub fn model_scores(&self, w: Range<usize>) -> score::Scores {
        score::Scores {
            long: SideScores::new(
                &self.simulated_long[w.clone()],
                &self.observed_long[w.clone()],
            ),
            short: SideScores::new(&self.simulated_short[w.clone()], &self.observed_short[w]),
        }
    }

    /// The baseline's hourly predictions on every bar, scaled so that their totals match
    /// the observed ones on bars `train`. `None` when it predicts nothing there.
    pub fn baseline(&self, train: Range<usize>) -> Option<(Vec<f64>, Vec<f64>)> {
        let side = |raw: &[f64], obs: &[f64]| {
            let scale = baseline_scale(&raw[train.clone()], &obs[train.clone()])?;
            Some(raw.iter().map(|x| x * scale).collect::<Vec<f64>>())
        };
        Some((
            side(&self.baseline_long_raw, &self.observed_long)?,
            side(&self.baseline_short_raw, &self.observed_short)?,
        ))
    }

    /// The baseline scaled on bars `train`, scored on bars `w`.
    pub fn baseline_scores(&self, train: Range<usize>, w: Range<usize>) -> Option<score::Scores> {
        let (l, s) = self.baseline(train)?;
        Some(score::Scores {
            long: SideScores::new(&l[w.clone()], &self.observed_long[w.clone()]),
            short: SideScores::new(&s[w.clone()], &self.observed_short[w]),
        })
    }
}

/// A scored window with the model's and the baseline's scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowScores {
    /// Window start, unix seconds (first bar's start).
    pub from: i64,
    /// Window end, unix seconds (last bar's end).
    pub to: i64,
    /// The living population's scores.
    pub model: score::Scores,
    /// The baseline's scores (`null` when it cannot be scaled).
    pub baseline: Option<score::Scores>,
}

impl Hourly {
    /// Scores bars `w` for the model and for the baseline scaled on bars `train`.
    pub fn window(&self, train: Range<usize>, w: Range<usize>) -> WindowScores {
        WindowScores {
            from: self.bars.start.get(w.start).copied().unwrap_or(0),
            to: self
                .bars
                .start
                .get(w.end.wrapping_sub(1))
                .map_or(0, |s| s + 3600),
            model: self.model_scores(w.clone()),
            baseline: self.baseline_scores(train, w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use living::{Inflow, LivingParams};

    /// Paths over several blocks are averaged exactly as one path after the other: the
    /// block-wise sum equals the plain sum in path order, to the bit, and does not depend
    /// on the thread count.
    #[test]
    fn blocks_of_paths_average_as_the_paths_one_by_one() {
        let mut text = String::from("time,price\n");
        for i in 0..40 {
            let p = 100.0 * (1.0 + 0.08 * f64::from(i % 7) - 0.2 * f64::from(i / 20));
            text.push_str(&format!("{},{p}\n", 60 * (i + 1)));
        }
        let g = StepGrid::new(&series::parse_series(&text, "t").unwrap(), 60);
        let p = LivingParams {
            inflow: Inflow::Constant(6000.0),
            activity: None,
            positions_per_hour: 600.0,
            long_share: 0.5,
            funding_sensitivity: 0.0,
            leverage_median: 10.0,
            leverage_sigma: 0.5,
            max_leverage: 50.0,
            size_sigma: 0.5,
            holding_hours: 0.2,
            maintenance_margin: 0.005,
            start: Default::default(),
        };
        let paths = 2 * BLOCK + 3;
        let mut plain = Simulated {
            long: vec![0.0; g.len()],
            short: vec![0.0; g.len()],
            mark: vec![0.0; g.len()],
        };
        for i in 0..paths {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            rng.set_stream(i);
            let r = replay_path(&g, &p, Marking::Observed, g.len(), &mut rng);
            for k in 0..g.len() {
                plain.long[k] += r.long[k];
                plain.short[k] += r.short[k];
                plain.mark[k] += r.mark[k];
            }
        }
        for v in [&mut plain.long, &mut plain.short, &mut plain.mark] {
            v.iter_mut().for_each(|x| *x /= paths as f64);
        }
        assert!(
            plain.long.iter().sum::<f64>() > 0.0,
            "the test needs liquidations"
        );
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let blocks = pool.install(|| simulate(&g, &p, Marking::Observed, paths, 9, g.len()));
            assert_eq!(blocks, plain, "{threads} threads");
        }
    }
}

//! How an irregular series becomes simulation steps and hourly bars.
//!
//! Steps are `dt` seconds apart on the clock: the first step is the first row's time rounded
//! up to a multiple of `dt`, the last the last row's time rounded up, so every row falls in
//! exactly one step. Step `k` at time `t_k` covers the rows with `t_{k−1} < time ≤ t_k`
//! (step 0: every row at or before `t_0`). Its price is the last row's price at or before
//! `t_k` (carried over a gap), its low and high are the extremes of that price and the rows
//! inside the step, its observed liquidations are the sum of the rows inside it, and its
//! open interest and funding rate are the last values at or before `t_k`.
//!
//! An hourly bar `[H, H + 1 h)` holds the steps whose interval `(t_k − dt, t_k]` starts in
//! it; its open is the price at `H` (the close of the step ending at `H`).

use super::series::PriceSeries;

/// Most steps a series may span, and the limit of `simulation.steps` (which reads it from
/// here: the scenario reader is above this module).
pub const MAX_GRID_STEPS: u64 = 10_000_000;

/// When laying `series` on steps of `dt` seconds would take more than [`MAX_GRID_STEPS`]
/// steps: the line of the row that stretches it (the one beside its widest gap, on the side
/// with fewer rows: a stray first or last row) and a message with the span in years and
/// steps. Computed from the two end times alone, before anything is allocated.
pub fn span_problem(series: &PriceSeries, dt: i64) -> Option<(usize, String)> {
    let (t0, tn) = (series.time[0], series.time[series.len() - 1]);
    let steps = ((tn / dt as f64).ceil() - (t0 / dt as f64).ceil()) + 1.0;
    if steps <= MAX_GRID_STEPS as f64 {
        return None;
    }
    let (g, _) = series
        .time
        .windows(2)
        .enumerate()
        .max_by(|a, b| (a.1[1] - a.1[0]).total_cmp(&(b.1[1] - b.1[0])))?;
    // Rows 0..=g before the widest gap, g+1.. after it.
    let row = if g + 1 < series.len() - g - 1 {
        g
    } else {
        g + 1
    };
    let years = (tn - t0) / (365.25 * 86_400.0);
    Some((
        series.line[row],
        format!(
            "the series would span {years:.1} years / {steps:.0} steps of {dt} s; at most {MAX_GRID_STEPS} steps (the limit of simulation.steps)"
        ),
    ))
}

/// A series laid out on a regular grid of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepGrid {
    /// Step length in seconds (divides 3600).
    pub dt: i64,
    /// End time of each step, unix seconds.
    pub time: Vec<i64>,
    /// Last observed price at or before the step's time.
    pub price: Vec<f64>,
    /// Lowest observed price in the step (including the price carried into it).
    pub low: Vec<f64>,
    /// Highest observed price in the step (including the price carried into it).
    pub high: Vec<f64>,
    /// Observed long liquidations summed into the step, asset units.
    pub observed_long: Option<Vec<f64>>,
    /// Observed short liquidations summed into the step, asset units.
    pub observed_short: Option<Vec<f64>>,
    /// Open interest (USD), last value at or before the step's time.
    pub open_interest: Option<Vec<f64>>,
    /// Funding rate per 8 h, last value at or before the step's time.
    pub funding_rate: Option<Vec<f64>>,
}

impl StepGrid {
    /// Lays `series` on steps of `dt` seconds (`dt` ≥ 1 and divides 3600; the scenario
    /// reader checks it). The caller checks [`span_problem`] first: the grid is allocated
    /// in one block over the whole span.
    pub fn new(series: &PriceSeries, dt: i64) -> StepGrid {
        debug_assert!(span_problem(series, dt).is_none());
        let ceil = |t: f64| (t / dt as f64).ceil() as i64 * dt;
        let (t0, tn) = (ceil(series.time[0]), ceil(series.time[series.len() - 1]));
        let steps = ((tn - t0) / dt + 1) as usize;
        let mut g = StepGrid {
            dt,
            time: Vec::with_capacity(steps),
            price: Vec::with_capacity(steps),
            low: Vec::with_capacity(steps),
            high: Vec::with_capacity(steps),
            observed_long: series.long_liquidated.as_ref().map(|_| vec![0.0; steps]),
            observed_short: series.short_liquidated.as_ref().map(|_| vec![0.0; steps]),
            open_interest: series.open_interest.as_ref().map(|_| Vec::new()),
            funding_rate: series.funding_rate.as_ref().map(|_| Vec::new()),
        };
        let mut row = 0;
        let mut last: Option<usize> = None;
        for k in 0..steps {
            let t = t0 + k as i64 * dt;
            let carried = last.map(|r| series.price[r]);
            let (mut lo, mut hi) = carried.map_or((f64::INFINITY, f64::NEG_INFINITY), |p| (p, p));
            while row < series.len() && series.time[row] <= t as f64 {
                let p = series.price[row];
                lo = lo.min(p);
                hi = hi.max(p);
                if let (Some(obs), Some(src)) = (&mut g.observed_long, &series.long_liquidated) {
                    obs[k] += src[row];
                }
                if let (Some(obs), Some(src)) = (&mut g.observed_short, &series.short_liquidated) {
                    obs[k] += src[row];
                }
                last = Some(row);
                row += 1;
            }
            // t0 is at or after the first row, so every step has a row at or before it.
            let r = last.unwrap_or(0);
            g.time.push(t);
            g.price.push(series.price[r]);
            g.low.push(lo.min(series.price[r]));
            g.high.push(hi.max(series.price[r]));
            if let (Some(v), Some(src)) = (&mut g.open_interest, &series.open_interest) {
                v.push(src[r]);
            }
            if let (Some(v), Some(src)) = (&mut g.funding_rate, &series.funding_rate) {
                v.push(src[r]);
            }
        }
        g
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether there are no steps (never for a grid built from a series).
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// The first step whose time is at or after `t` (`len()` if none).
    pub fn step_at_or_after(&self, t: i64) -> usize {
        self.time.partition_point(|&s| s < t)
    }

    /// The hourly bars of the grid.
    pub fn bars(&self) -> Bars {
        let bar_of = |k: usize| (self.time[k] - self.dt).div_euclid(3600);
        let (b0, bn) = (bar_of(0), bar_of(self.len() - 1));
        let n = (bn - b0 + 1) as usize;
        let mut bars = Bars {
            start: (0..n as i64).map(|i| (b0 + i) * 3600).collect(),
            first_step: vec![usize::MAX; n],
            end_step: vec![0; n],
            open: vec![f64::NAN; n],
            low: vec![f64::INFINITY; n],
            high: vec![f64::NEG_INFINITY; n],
        };
        for k in 0..self.len() {
            let b = (bar_of(k) - b0) as usize;
            if bars.first_step[b] == usize::MAX {
                bars.first_step[b] = k;
                // The price at the bar's start: the previous step's close (step 0: its own
                // price, the first observation).
                bars.open[b] = self.price[k.saturating_sub(1)];
            }
            bars.end_step[b] = k + 1;
            bars.low[b] = bars.low[b].min(self.low[k]);
            bars.high[b] = bars.high[b].max(self.high[k]);
        }
        bars
    }
}

/// Hourly bars over a [`StepGrid`]: bar `b` holds steps `first_step[b]..end_step[b]`.
/// With `dt` dividing 3600 every bar has at least one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Bar start, unix seconds (a whole hour).
    pub start: Vec<i64>,
    /// First step of the bar.
    pub first_step: Vec<usize>,
    /// One past the bar's last step.
    pub end_step: Vec<usize>,
    /// Price at the bar's start.
    pub open: Vec<f64>,
    /// Lowest price in the bar.
    pub low: Vec<f64>,
    /// Highest price in the bar.
    pub high: Vec<f64>,
}

impl Bars {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether there are no bars.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Per-step values summed into bars.
    pub fn sum(&self, per_step: &[f64]) -> Vec<f64> {
        (0..self.len())
            .map(|b| per_step[self.first_step[b]..self.end_step[b]].iter().sum())
            .collect()
    }

    /// The bars that start in `[from, to)`, as an index range.
    pub fn window(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let a = self.start.partition_point(|&s| s < from);
        let b = self.start.partition_point(|&s| s < to);
        a..b.max(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::series::parse_series;

    fn grid(text: &str, dt: i64) -> StepGrid {
        StepGrid::new(&parse_series(text, "t").unwrap(), dt)
    }

    /// Review A1: the span check names the stray row on the short side of the widest gap
    /// (a first or a last row far from the others), and passes spans within the limit.
    #[test]
    fn span_problem_names_the_stray_row() {
        // 200-day gaps: under the gap limit, but 200 days of 1 s steps (17,280,241) is over 10^7.
        let rows = |first_far: bool| {
            let mut t: Vec<i64> = (0..5).map(|i| 1_600_000_000 + 60 * i).collect();
            if first_far {
                t.insert(0, 1_600_000_000 - 200 * 86_400);
            } else {
                t.push(1_600_000_240 + 200 * 86_400);
            }
            let body: String = t.iter().map(|t| format!("\n# c\n{t},100")).collect();
            parse_series(&format!("time,price{body}\n"), "t").unwrap()
        };
        let (line, m) = span_problem(&rows(true), 1).unwrap();
        assert_eq!(line, 3, "{m}");
        assert!(
            m.contains("0.5 years / 17280241 steps of 1 s; at most 10000000 steps"),
            "{m}"
        );
        assert_eq!(span_problem(&rows(false), 1).unwrap().0, 13);
        assert!(span_problem(&rows(true), 60).is_none());
    }

    #[test]
    fn rows_map_to_steps_by_last_price_and_summed_liquidations() {
        // Rows at 00:00:30, 00:01:00 (on a step boundary), 00:01:10, 00:01:50, then a gap
        // to 00:04:05. Steps of 60 s from 00:01:00 (00:00:30 rounded up) to 00:05:00.
        let g = grid(
            "time,price,long_liquidated,short_liquidated\n\
             1609459230,100,1,0\n\
             1609459260,101,2,0\n\
             1609459270,99,0,3\n\
             1609459310,102,4,0\n\
             1609459445,98,5,1\n",
            60,
        );
        let t0 = 1_609_459_260;
        assert_eq!(g.time, (0..5).map(|k| t0 + 60 * k).collect::<Vec<_>>());
        assert_eq!(g.price, vec![101.0, 102.0, 102.0, 102.0, 98.0]);
        assert_eq!(g.low, vec![100.0, 99.0, 102.0, 102.0, 98.0]);
        assert_eq!(g.high, vec![101.0, 102.0, 102.0, 102.0, 102.0]);
        assert_eq!(g.observed_long, Some(vec![3.0, 4.0, 0.0, 0.0, 5.0]));
        assert_eq!(g.observed_short, Some(vec![0.0, 3.0, 0.0, 0.0, 1.0]));
        assert_eq!(g.step_at_or_after(t0 + 61), 2);
    }

    #[test]
    fn hourly_bars_hold_the_steps_that_start_in_them() {
        // Steps of 30 min from 00:30 to 02:00: 00:30 starts at 00:00 (bar 0), 01:00 starts
        // at 00:30 (bar 0), 01:30 and 02:00 in bar 1.
        let g = grid(
            "time,price\n\
             2021-01-01T00:30:00Z,100\n\
             2021-01-01T00:50:00Z,90\n\
             2021-01-01T01:20:00Z,120\n\
             2021-01-01T02:00:00Z,110\n",
            1800,
        );
        let bars = g.bars();
        assert_eq!(bars.start, vec![1_609_459_200, 1_609_462_800]);
        assert_eq!(
            (bars.first_step.clone(), bars.end_step.clone()),
            (vec![0, 2], vec![2, 4])
        );
        assert_eq!(bars.open, vec![100.0, 90.0]);
        assert_eq!(bars.low, vec![90.0, 90.0]);
        assert_eq!(bars.high, vec![100.0, 120.0]);
        assert_eq!(bars.sum(&[1.0, 2.0, 3.0, 4.0]), vec![3.0, 7.0]);
        assert_eq!(bars.window(1_609_462_800, i64::MAX), 1..2);
    }
}

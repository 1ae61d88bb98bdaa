//! Position populations: drawing synthetic positions from their distributions (or taking an
//! explicit list) and laying them out as liquidation ladders, struct-of-arrays sorted in the
//! order they would be liquidated, so a path finds triggered positions with a cursor and
//! never scans positions that are not being liquidated.

use std::sync::OnceLock;

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::ddsum;
use super::margin::{self, MarginSchedule};
use super::search::{first_index, run_length};
use super::spec::{
    EntryDist, LeverageDist, Population, PositionRecord, PositionSource, SizeDist, SyntheticSpec,
};

/// One side of a population, sorted by trigger order: longs by liquidation price descending
/// (the first to go when price falls), shorts ascending.
#[derive(Debug, Clone, Default)]
pub struct Ladder {
    /// Liquidation price, USD.
    pub liq: Vec<f64>,
    /// Size, base units.
    pub qty: Vec<f64>,
    /// Entry price, USD.
    pub entry: Vec<f64>,
    /// Isolated margin, USD.
    pub margin: Vec<f64>,
    /// Prefix sums of the settlement columns (`model::ddsum::prefix`, one entry more than
    /// positions), so a triggered run settles in closed form (`engine::bulk`); built by
    /// [`Ladder::sums`] the first time a path needs them, so ladders no long run reaches
    /// never pay for them (time or memory). Shared by the paths like the columns.
    pub sums: OnceLock<Vec<[f64; 4]>>,
    /// Every [`STRIDE`]-th position's row `[liq, qty, entry, margin]` (position `k·STRIDE`
    /// at `k`), so a search over a long run reads this small copy, which stays in cache,
    /// and then one stride of the columns ([`Ladder::partition`]); and the liquidation
    /// prices alone every [`STRIDE`]-th and every [`FINE`]-th position, for
    /// [`Ladder::liq_first`]. Built by [`Ladder::sample`] the first time a search needs it
    /// (a triggered run's end or its class splits), so ladders no mark reaches never pay for
    /// it.
    pub sample: OnceLock<Sample>,
}

/// Spacing of [`Sample::rows`] and [`Sample::liq`]: 64 positions (8 cache lines of a
/// column), so a search ends in one stride.
pub const STRIDE: usize = 64;

/// Spacing of [`Sample::fine_liq`]: 8 positions, one cache line of a column.
pub const FINE: usize = 8;

/// A ladder's search copies, built once and shared by the paths like the columns: the
/// columns' own `f64`s, so a test reads the same numbers here as there.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Every [`STRIDE`]-th row (position `k·STRIDE` at `k`): 0.5 byte per position.
    pub rows: Vec<[f64; 4]>,
    /// Every [`STRIDE`]-th liquidation price: 0.125 byte per position, eight to a cache
    /// line, so the sampled prices of all of a run's replicates' ladders stay in cache.
    pub liq: Vec<f64>,
    /// Every [`FINE`]-th liquidation price (position `j·FINE` at `j`): 1 byte per position;
    /// a stride's eight in one cache line.
    pub fine_liq: Vec<f64>,
}

impl Ladder {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.liq.len()
    }

    /// Whether the ladder has no positions.
    pub fn is_empty(&self) -> bool {
        self.liq.is_empty()
    }

    /// The prefix sums of the settlement columns (see the field), built now if no path has
    /// needed them yet. `long`: the ladder's side (it sets the sign of `qty·entry`).
    pub fn sums(&self, long: bool) -> &[[f64; 4]] {
        self.sums
            .get_or_init(|| ddsum::prefix(&self.qty, &self.entry, &self.margin, long))
    }

    /// The search copies (see the field), built now if no path has needed them yet.
    pub fn sample(&self) -> &Sample {
        self.sample.get_or_init(|| Sample {
            rows: (0..self.len())
                .step_by(STRIDE)
                .map(|i| self.row(i))
                .collect(),
            liq: self.liq.iter().step_by(STRIDE).copied().collect(),
            fine_liq: self.liq.iter().step_by(FINE).copied().collect(),
        })
    }

    /// Position `i`'s row `[liq, qty, entry, margin]`.
    #[inline(always)]
    pub fn row(&self, i: usize) -> [f64; 4] {
        [self.liq[i], self.qty[i], self.entry[i], self.margin[i]]
    }

    /// The first index in `lo..hi` whose row satisfies `pred` (`hi` if none), for `pred`
    /// false then true along the range: the index a binary search of `lo..hi` finds, read
    /// from [`Ladder::sample`] (the sampled rows in the range bracket the answer within one
    /// stride) and then a binary search of that stride. `pred` sees the same `f64` values
    /// either way, so where it is monotone along the range the answer is the unique
    /// partition point, whatever the probe order; where it is not (a float test that
    /// disagrees with the ladder's order near a tie), the answer is still a function of the
    /// ladder, `lo`, `hi` and `pred` alone, i.e. of the run, never of a path's history.
    #[inline]
    pub fn partition(&self, lo: usize, hi: usize, pred: impl Fn([f64; 4]) -> bool) -> usize {
        let (mut a, mut b) = (lo, hi);
        let (ka, kb) = (lo.div_ceil(STRIDE), hi.div_ceil(STRIDE));
        if kb > ka + 1 {
            let s = &self.sample().rows[ka..kb];
            let k = ka + s.partition_point(|r| !pred(*r));
            if k > ka {
                a = (k - 1) * STRIDE + 1; // `pred` fails at `(k − 1)·STRIDE`
            }
            if k < kb {
                b = k * STRIDE; // and holds at `k·STRIDE`
            }
        }
        first_index(a, b, |m| pred(self.row(m)))
    }

    /// The first index in `lo..hi` whose liquidation price satisfies `test` (`hi` if none),
    /// for `test` false then true along the ladder (a threshold on the sorted prices):
    /// `lo + self.liq[lo..hi].partition_point(|x| !test(x))`, found in searches of a cache
    /// line or a few each: the next [`FINE`]-th price (most runs end before it, and then
    /// the column from `lo` to it), else the sampled prices every [`STRIDE`]-th position
    /// ([`Sample::liq`]), then every [`FINE`]-th one inside that stride
    /// ([`Sample::fine_liq`]), then the column inside that line, instead of a binary search
    /// whose probes each read a line of their own. A monotone test has one partition point,
    /// so this is the index any search finds.
    #[inline]
    pub fn liq_first(&self, lo: usize, hi: usize, test: impl Fn(f64) -> bool) -> usize {
        let s = self.sample();
        // A run usually ends before the next sampled price: then one sample and the
        // column's line (or two) at `lo`.
        let j = lo.div_ceil(FINE);
        if j * FINE >= hi || test(s.fine_liq[j]) {
            let b = hi.min(j * FINE);
            return lo + self.liq[lo..b].partition_point(|&x| !test(x));
        }
        // `test` fails at `j·FINE`: the answer is past it.
        let range = narrow(&s.liq, STRIDE, (j * FINE + 1, hi), &test);
        let (a, b) = narrow(&s.fine_liq, FINE, range, &test);
        a + self.liq[a..b].partition_point(|&x| !test(x))
    }

    /// [`Ladder::partition`] helped by `guess`, a test of the liquidation price alone, false
    /// then true along the ladder, that changes where `pred` does but for rounding (a closed
    /// form of it): the index [`Ladder::liq_first`] finds for `guess` is the answer when
    /// `pred` fails just before it (or it is `lo`) and holds at it (or it is `hi`), which
    /// reads two rows instead of a stride's probes; otherwise [`Ladder::partition`]. Where
    /// `pred` is monotone along the range it changes once, so the answer is
    /// [`Ladder::partition`]'s whatever `guess` is. Where it is not (a float test that
    /// disagrees with the ladder's order near a tie), the answer is a place where it
    /// changes, still a function of the ladder, `lo`, `hi`, `guess` and `pred` alone.
    #[inline]
    pub fn partition_near(
        &self,
        lo: usize,
        hi: usize,
        guess: impl Fn(f64) -> bool,
        pred: impl Fn([f64; 4]) -> bool,
    ) -> usize {
        let j = self.liq_first(lo, hi, guess);
        if (j == lo || !pred(self.row(j - 1))) && (j == hi || pred(self.row(j))) {
            j
        } else {
            self.partition(lo, hi, pred)
        }
    }

    /// Open interest of the ladder, USD at entry.
    pub fn open_interest(&self) -> f64 {
        self.qty.iter().zip(&self.entry).map(|(q, e)| q * e).sum()
    }

    pub(crate) fn from_unsorted(mut rows: Vec<[f64; 4]>, long: bool) -> Ladder {
        // Stable sort keeps the draw order among equal prices, so the layout is deterministic.
        if long {
            rows.sort_by(|a, b| b[0].total_cmp(&a[0]));
        } else {
            rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
        }
        let mut l = Ladder {
            liq: Vec::with_capacity(rows.len()),
            qty: Vec::with_capacity(rows.len()),
            entry: Vec::with_capacity(rows.len()),
            margin: Vec::with_capacity(rows.len()),
            sums: OnceLock::new(),
            sample: OnceLock::new(),
        };
        for r in rows {
            l.liq.push(r[0]);
            l.qty.push(r[1]);
            l.entry.push(r[2]);
            l.margin.push(r[3]);
        }
        l
    }
}

/// The part of `a..b` where `test` (false then true along the ladder) changes, narrowed by
/// the sampled prices `v` (position `k·step` at `k`) inside it: after the last that fails,
/// at or before the first that holds. Those are searched by doubling steps from the front,
/// since the answer is usually near it; the same index as a binary search.
#[inline(always)]
fn narrow(
    v: &[f64],
    step: usize,
    (a, b): (usize, usize),
    test: &impl Fn(f64) -> bool,
) -> (usize, usize) {
    let (ka, kb) = (a.div_ceil(step), b.div_ceil(step));
    let k = ka + run_length(&v[ka..kb], |&x| !test(x));
    let a = if k > ka { (k - 1) * step + 1 } else { a };
    let b = if k < kb { k * step } else { b };
    (a, b)
}

/// A population laid out for simulation.
#[derive(Debug, Clone)]
pub struct Positions {
    pub longs: Ladder,
    pub shorts: Ladder,
}

impl Positions {
    /// Open interest, USD at entry.
    pub fn open_interest(&self) -> f64 {
        self.longs.open_interest() + self.shorts.open_interest()
    }
}

/// Lays out a population: draws it when synthetic (from `rng`), or sorts the explicit list.
/// `price` is the asset's price at step 0.
pub fn build<R: Rng + ?Sized>(pop: &Population, price: f64, rng: &mut R) -> Positions {
    match &pop.source {
        PositionSource::Explicit(records) => from_records(records, &pop.margin),
        PositionSource::Synthetic(spec) => draw(spec, &pop.margin, price, rng),
    }
}

fn row(long: bool, qty: f64, entry: f64, margin_usd: f64, sched: &MarginSchedule) -> [f64; 4] {
    let tier = sched.tier(qty * entry);
    let liq = margin::liquidation_price(long, qty, entry, margin_usd, tier);
    [liq, qty, entry, margin_usd]
}

fn from_records(records: &[PositionRecord], sched: &MarginSchedule) -> Positions {
    let mut longs = Vec::new();
    let mut shorts = Vec::new();
    for r in records {
        let x = row(r.long, r.qty, r.entry, r.margin, sched);
        if r.long {
            longs.push(x)
        } else {
            shorts.push(x)
        }
    }
    Positions {
        longs: Ladder::from_unsorted(longs, true),
        shorts: Ladder::from_unsorted(shorts, false),
    }
}

/// How many times an entry offset is redrawn when it would put the position past its
/// liquidation price at the start; after that the entry is the start price.
const ENTRY_REDRAWS: usize = 64;

/// Draws a synthetic population. Per position, in this order: size, leverage, entry offset
/// (redrawn while the position would already be liquidatable at `price`). Counts split by
/// `long_share` (rounded, but a side with a positive share keeps at least one position when
/// there are two or more), notionals rescaled so each side adds up to its open interest; the
/// total is always `open_interest`.
pub fn draw<R: Rng + ?Sized>(
    spec: &SyntheticSpec,
    sched: &MarginSchedule,
    price: f64,
    rng: &mut R,
) -> Positions {
    let count = spec.count as usize;
    let mut n_long = (((spec.count as f64) * spec.long_share).round() as usize).min(count);
    // A side with a share of open interest keeps at least one position when there are two or
    // more, so rounding never drops its open interest ...
    if count >= 2 {
        if spec.long_share > 0.0 && n_long == 0 {
            n_long = 1;
        } else if spec.long_share < 1.0 && n_long == count {
            n_long = count - 1;
        }
    }
    let n_short = count - n_long;
    // ... and with a single position, all of the open interest goes to its side.
    let long_oi = match (n_long, n_short) {
        (0, _) => 0.0,
        (_, 0) => spec.open_interest,
        _ => spec.open_interest * spec.long_share,
    };
    let longs = draw_side(spec, sched, price, true, n_long, long_oi, rng);
    let shorts = draw_side(
        spec,
        sched,
        price,
        false,
        n_short,
        spec.open_interest - long_oi,
        rng,
    );
    Positions {
        longs: Ladder::from_unsorted(longs, true),
        shorts: Ladder::from_unsorted(shorts, false),
    }
}

fn draw_side<R: Rng + ?Sized>(
    spec: &SyntheticSpec,
    sched: &MarginSchedule,
    price: f64,
    long: bool,
    n: usize,
    oi: f64,
    rng: &mut R,
) -> Vec<[f64; 4]> {
    if n == 0 || oi <= 0.0 {
        return Vec::new();
    }
    let mut raw: Vec<(f64, f64, f64)> = Vec::with_capacity(n);
    let mut total = 0.0;
    for _ in 0..n {
        let size = match spec.size {
            SizeDist::LogNormal { sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (sigma * z).exp()
            }
            SizeDist::Pareto { alpha } => {
                let u: f64 = rng.random::<f64>();
                (1.0 - u).powf(-1.0 / alpha)
            }
        };
        let lev = leverage(&spec.leverage, rng);
        let offset = entry_offset(&spec.entry, rng);
        total += size;
        raw.push((size, lev, offset));
    }
    let scale = oi / total;
    let mut out = Vec::with_capacity(n);
    for (size, lev, mut offset) in raw {
        let notional = size * scale;
        let lev = lev.min(sched.max_leverage(notional));
        let alive = |offset: f64| {
            let entry = price * offset.exp();
            let qty = notional / entry;
            let m = notional / lev;
            let tier = sched.tier(notional);
            let liq = margin::liquidation_price(long, qty, entry, m, tier);
            if long { liq < price } else { liq > price }
        };
        let mut tries = 0;
        while !alive(offset) {
            tries += 1;
            if tries > ENTRY_REDRAWS {
                offset = 0.0;
                break;
            }
            offset = entry_offset(&spec.entry, rng);
        }
        let entry = price * offset.exp();
        let qty = notional / entry;
        out.push(row(long, qty, entry, notional / lev, sched));
    }
    out
}

// Inlined into `draw_side` as it was when it had no other caller (callgrind: +1.5% of a
// flash-crash run without the hint).
#[inline(always)]
pub(crate) fn leverage<R: Rng + ?Sized>(d: &LeverageDist, rng: &mut R) -> f64 {
    match d {
        LeverageDist::Discrete { values, weights } => {
            let u: f64 = rng.random::<f64>();
            let mut acc = 0.0;
            for (v, w) in values.iter().zip(weights) {
                acc += w;
                if u < acc {
                    return *v;
                }
            }
            *values.last().expect("validated non-empty")
        }
        LeverageDist::LogNormal {
            median,
            sigma,
            min,
            max,
        } => {
            let z: f64 = StandardNormal.sample(rng);
            (median * (sigma * z).exp()).clamp(*min, *max)
        }
        LeverageDist::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
    }
}

fn entry_offset<R: Rng + ?Sized>(d: &EntryDist, rng: &mut R) -> f64 {
    match *d {
        EntryDist::Normal { mean, sd } => {
            if sd == 0.0 {
                mean
            } else {
                let z: f64 = StandardNormal.sample(rng);
                mean + sd * z
            }
        }
        EntryDist::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
    }
}

/// Long share implied by a funding rate (per 8 h): a logistic map centred on the usual
/// 0.01%/8h baseline, reaching ~88% long at +0.05%/8h. A documented heuristic.
pub fn long_share_from_funding(rate_8h: f64) -> f64 {
    const BASELINE: f64 = 0.0001;
    const SCALE: f64 = 0.0002;
    1.0 / (1.0 + (-(rate_8h - BASELINE) / SCALE).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    fn spec(count: u64) -> SyntheticSpec {
        SyntheticSpec {
            count,
            open_interest: 1e9,
            long_share: 0.7,
            size: SizeDist::Pareto { alpha: 1.5 },
            leverage: LeverageDist::Discrete {
                values: vec![2.0, 10.0, 50.0, 100.0],
                weights: vec![0.4, 0.3, 0.2, 0.1],
            },
            entry: EntryDist::Normal {
                mean: 0.0,
                sd: 0.05,
            },
        }
    }

    #[test]
    fn drawn_population_matches_its_totals_and_is_alive_and_sorted() {
        let sched = MarginSchedule::tiered(&[(0.0, 0.004), (1e6, 0.01), (1e7, 0.025)]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = draw(&spec(20_000), &sched, 100.0, &mut rng);
        assert_eq!(p.longs.len(), 14_000);
        assert_eq!(p.shorts.len(), 6_000);
        // Open interest is exact by construction (rescaled), up to rounding.
        assert!((p.longs.open_interest() - 0.7e9).abs() < 1e-3);
        assert!((p.shorts.open_interest() - 0.3e9).abs() < 1e-3);
        assert!(p.longs.liq.windows(2).all(|w| w[0] >= w[1]));
        assert!(p.shorts.liq.windows(2).all(|w| w[0] <= w[1]));
        assert!(p.longs.liq[0] < 100.0, "no long is born liquidatable");
        assert!(p.shorts.liq[0] > 100.0, "no short is born liquidatable");
        // Leverage never exceeds the tier's maximum 1/(2·rate).
        for i in 0..p.longs.len() {
            let notional = p.longs.qty[i] * p.longs.entry[i];
            let lev = notional / p.longs.margin[i];
            assert!(lev <= sched.max_leverage(notional) + 1e-9);
        }
    }

    #[test]
    fn rounding_never_drops_open_interest() {
        // Regression: count 10 with 4% long used to give 0 longs and 96% of the open interest.
        let sched = MarginSchedule::flat(0.004);
        for (count, share) in [
            (10, 0.04),
            (1, 0.3),
            (1, 0.7),
            (2, 0.999),
            (3, 0.0),
            (3, 1.0),
        ] {
            let mut s = spec(count);
            s.long_share = share;
            s.open_interest = 1e6;
            let p = draw(&s, &sched, 100.0, &mut ChaCha8Rng::seed_from_u64(2));
            assert_eq!(p.longs.len() + p.shorts.len(), count as usize);
            assert!(
                (p.open_interest() - 1e6).abs() < 1e-6,
                "{count} {share}: {}",
                p.open_interest()
            );
            if count >= 2 && share > 0.0 && share < 1.0 {
                assert!(!p.longs.is_empty() && !p.shorts.is_empty());
            }
        }
    }

    #[test]
    fn same_seed_same_population() {
        let sched = MarginSchedule::flat(0.004);
        let a = draw(
            &spec(1000),
            &sched,
            100.0,
            &mut ChaCha8Rng::seed_from_u64(5),
        );
        let b = draw(
            &spec(1000),
            &sched,
            100.0,
            &mut ChaCha8Rng::seed_from_u64(5),
        );
        assert_eq!(a.longs.liq, b.longs.liq);
        assert_eq!(a.shorts.margin, b.shorts.margin);
    }

    /// A ladder whose rows are `[liq, qty, entry, margin]` with the given liquidation
    /// prices (in trigger order for `long`) and the other columns from the index.
    fn ladder_of(liq: Vec<f64>, long: bool) -> Ladder {
        let rows = liq
            .into_iter()
            .enumerate()
            .map(|(i, l)| [l, i as f64, 1.0, 2.0])
            .collect();
        Ladder::from_unsorted(rows, long)
    }

    proptest::proptest! {
        /// The sampled search, the search of the sampled prices (`liq_first`: the next 8th
        /// price, the 64th ones, the 8th ones, the column) and the guided one
        /// (`partition_near`, whatever its guess: right, the loose test for the strict one,
        /// or another threshold's) find the index a plain binary search of the range finds,
        /// on ladders with many equal prices (ties at, around and between the sampled
        /// positions of both levels), for every range and threshold (equal to some
        /// prices), strict or not, either side.
        #[test]
        fn the_sampled_search_finds_the_partition_point(
            prices in proptest::collection::vec(0u8..12, 0..700),
            long in proptest::bool::ANY,
            cut in (0usize..720, 0usize..720),
            t in 0u8..13,
            other in 0u8..13,
        ) {
            let l = ladder_of(prices.iter().map(|&p| f64::from(p)).collect(), long);
            let n = l.len();
            let (lo, hi) = (cut.0.min(cut.1).min(n), cut.0.max(cut.1).min(n));
            // Past `t` in trigger order, strictly (not crossed by a mark at `t`: `run_end`'s
            // test) or not (a tie at `t` counts as past): false then true along the ladder.
            let past = |t: f64, strict: bool| {
                move |x: f64| match (long, strict) {
                    (true, true) => x < t,
                    (true, false) => x <= t,
                    (false, true) => x > t,
                    (false, false) => x >= t,
                }
            };
            let (t, other) = (f64::from(t), f64::from(other));
            for strict in [true, false] {
                let test = past(t, strict);
                let want = lo + l.liq[lo..hi].partition_point(|&x| !test(x));
                proptest::prop_assert_eq!(l.partition(lo, hi, |r| test(r[0])), want);
                proptest::prop_assert_eq!(l.liq_first(lo, hi, test), want);
                for guess in [past(t, strict), past(t, !strict), past(other, strict)] {
                    proptest::prop_assert_eq!(l.partition_near(lo, hi, guess, |r| test(r[0])), want);
                }
            }
        }

        /// With a test that is not monotone along the range (here: arbitrary bits per
        /// position), the answer is still one a binary search could give: inside the range,
        /// the test fails just before it (or it is `lo`) and holds at it (or it is `hi`); and
        /// it is the same every time (a function of the ladder, the range and the test).
        #[test]
        fn the_sampled_search_brackets_a_change_when_the_test_is_not_monotone(
            bits in proptest::collection::vec(proptest::bool::ANY, 0..700),
            cut in (0usize..720, 0usize..720),
        ) {
            // The qty column holds the index, so the test can look a position's bit up.
            let l = ladder_of(vec![1.0; bits.len()], true);
            let n = l.len();
            let (lo, hi) = (cut.0.min(cut.1).min(n), cut.0.max(cut.1).min(n));
            let pred = |r: [f64; 4]| bits[r[1] as usize];
            let k = l.partition(lo, hi, pred);
            proptest::prop_assert!(lo <= k && k <= hi);
            proptest::prop_assert!(k == lo || !bits[k - 1]);
            proptest::prop_assert!(k == hi || bits[k]);
            proptest::prop_assert_eq!(l.partition(lo, hi, pred), k);
            // The guided search too, whatever its guess (here: the range's start or end).
            for guess in [|_: f64| true, |_: f64| false] {
                let k = l.partition_near(lo, hi, guess, pred);
                proptest::prop_assert!(lo <= k && k <= hi);
                proptest::prop_assert!(k == lo || !bits[k - 1]);
                proptest::prop_assert!(k == hi || bits[k]);
                proptest::prop_assert_eq!(l.partition_near(lo, hi, guess, pred), k);
            }
        }
    }

    #[test]
    fn the_sample_is_every_strideth_row() {
        let l = ladder_of((0..200).map(f64::from).collect(), false);
        let s = l.sample();
        assert_eq!(s.rows.len(), 200usize.div_ceil(STRIDE));
        for (k, r) in s.rows.iter().enumerate() {
            assert_eq!(*r, l.row(k * STRIDE));
        }
        assert_eq!(s.liq.len(), s.rows.len());
        for (k, x) in s.liq.iter().enumerate() {
            assert_eq!(*x, l.liq[k * STRIDE]);
        }
        assert_eq!(s.fine_liq.len(), 200usize.div_ceil(FINE));
        for (j, x) in s.fine_liq.iter().enumerate() {
            assert_eq!(*x, l.liq[j * FINE]);
        }
    }
}

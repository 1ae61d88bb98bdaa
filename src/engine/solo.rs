//! The loops of quiet steps without control (see `mode`), each a loop of its own over the
//! general step's stages 1–3 (`step`) with their kernels (`step::advance`,
//! `BookState::refill` and `mid`, `Measures::record_book`), so they give the same numbers,
//! to the bit (`tests/fast_paths.rs`):
//!
//! - the lone-asset loop (`Solo`): one asset and one book, the path's state in registers;
//!   with a plain price process its draws are inlined ([`SoloReturn`]), and while the log
//!   fundamental stays in an interval where the step can change nothing else
//!   ([`skip_interval`]), it does not even take the `exp`;
//! - the same for several assets, one book each (`StepState::several`): the step's draws
//!   as the general step takes them (correlation, jumps, t mixing included), and a skip
//!   interval per asset; an asset inside its own does nothing but its log fundamental,
//!   the others go through refill, mid, band check and extremes as the lone asset would.
//!   Each asset's log fundamental and lane are held in a fixed array for two to four assets
//!   (`Hot`), the loops over the assets are written out once per asset (`each_asset!`), and
//!   the draws are taken through inlined methods (`Draws`). When the loop stops it marks
//!   the assets whose marks left their bands (`Assets::active`): the cascade step that
//!   follows looks only at those (`step`).

use rand::rngs::ChaCha8Rng;

use super::extremes::{Extremes, Measures};
use super::market::Market;
use super::state::{Lane, StepState, Streams};
use super::step::advance;
use crate::model::book::{BookShape, BookState};
use crate::model::price::{PriceState, SoloReturn, StepDraws};

impl StepState<'_> {
    /// Runs the lone-asset loop from `step` (`ret`: the asset's inlinable return, if any).
    /// Returns the first step whose mark left the armed band, its stages 1–3 done, or
    /// `None` when the path ended.
    #[inline(always)]
    pub(super) fn solo(
        &mut self,
        s: &mut Streams,
        step: u32,
        ret: Option<SoloReturn<'_>>,
    ) -> Option<u32> {
        // Called once per step that went through the cascade loop (and at the start).
        self.armed_bands();
        let band = self.band[0];
        let mut lane = Solo {
            ret,
            rng: &mut s.rng,
            jump_rng: &mut s.jump_rng,
            draws: &mut s.draws,
            price_state: &mut self.assets.price[0],
            log_f: &mut self.assets.log_f[0],
            fundamental: &mut self.assets.fundamental[0],
            book: &mut self.books.state[0],
            mid: &mut self.books.mid[0],
            mark: &mut self.assets.mark[0],
            measures: &mut self.assets.measures[0],
        };
        let next = lane.run(self.market, step, band);
        self.books.dirty[0] = false;
        next
    }
}

/// The quiet lane of a path with one asset and one book and no control, as a loop of its
/// own: the state it touches, borrowed from the path's, its scalars held in registers.
struct Solo<'a> {
    /// The lone asset's step as one inlinable function, when it is that simple
    /// (`PriceProcess::solo_return`, found once per path).
    ret: Option<SoloReturn<'a>>,
    rng: &'a mut ChaCha8Rng,
    jump_rng: &'a mut ChaCha8Rng,
    draws: &'a mut StepDraws,
    price_state: &'a mut PriceState,
    log_f: &'a mut f64,
    fundamental: &'a mut f64,
    book: &'a mut BookState,
    mid: &'a mut f64,
    mark: &'a mut f64,
    measures: &'a mut Measures,
}

impl Solo<'_> {
    /// From `step` on: draws the step's return, refills the book and updates the mid and
    /// mark (the general step's stage 1, refill and `refresh_mids`, in the same order with
    /// the same arithmetic) and, while the mark stays strictly inside `band` (nothing is
    /// triggered), records the extremes and goes on. Returns the first step whose mark left
    /// the band, its draws, refill and mid done, or `None` when the path ended.
    fn run(&mut self, market: &Market, step: u32, band: (f64, f64)) -> Option<u32> {
        let process = &market.assets[0].process;
        match self.ret {
            // The step's draws as one small inlined function, as in the floor benchmark.
            Some(ret) => self.run_with(market, step, band, |step, st, rng, _, _| {
                ret.log_return(step, st, rng)
            }),
            None => self.run_with(market, step, band, |step, st, rng, jump_rng, draws| {
                market.dependence.draw(step, draws, rng, jump_rng);
                process.log_return(0, step, draws, st, rng)
            }),
        }
    }

    #[inline(never)]
    fn run_with<F>(
        &mut self,
        market: &Market,
        mut step: u32,
        band: (f64, f64),
        mut log_return: F,
    ) -> Option<u32>
    where
        F: FnMut(u32, &mut PriceState, &mut ChaCha8Rng, &mut ChaCha8Rng, &mut StepDraws) -> f64,
    {
        let asset = &market.assets[0];
        let shape = &asset.book;
        let mut log_f = *self.log_f;
        let mut fundamental = *self.fundamental;
        let mut book = *self.book;
        let mut mid = *self.mid;
        let mut measures = *self.measures;
        // While the log fundamental stays inside `skip`, the step changes nothing but the
        // log fundamental: the book is whole, the mark is inside the band and sets no new
        // extreme, nor does the fundamental. Its `exp`, the mid and the extremes wait.
        let mut skip = NO_SKIP;
        // Whether `fundamental` (and the mid) are those of the current `log_f`.
        let mut fresh = true;
        let stop = loop {
            let r = log_return(step, self.price_state, self.rng, self.jump_rng, self.draws);
            if r != 0.0 {
                log_f = advance(log_f, r);
            }
            if log_f > skip.0 && log_f < skip.1 {
                fresh &= r == 0.0;
            } else {
                let mut dirty = false;
                if r != 0.0 || !fresh {
                    fundamental = log_f.exp();
                    dirty = true;
                    fresh = true;
                }
                dirty |= book.refill(shape);
                if dirty {
                    mid = book.mid(shape, fundamental);
                }
                if !(mid > band.0 && mid < band.1) {
                    break Some(step);
                }
                measures.record_book(&book, shape.floor, fundamental, mid);
                skip = skip_interval(&book, shape, band, &measures);
            }
            step += 1;
            if step == market.steps {
                break None;
            }
        };
        if !fresh {
            fundamental = log_f.exp();
            mid = book.mid(shape, fundamental);
        }
        *self.log_f = log_f;
        *self.fundamental = fundamental;
        *self.book = book;
        *self.mid = mid;
        *self.mark = mid;
        *self.measures = measures;
        stop
    }
}

impl StepState<'_> {
    /// Runs the several-asset loop from `step` (`rets`: every asset's inlinable return when
    /// they are independent and Gaussian, else empty): the lone-asset loop's rules per asset
    /// (one book each, its own skip interval), the step's draws as the general step takes
    /// them. Returns the first step on which some mark left its armed band, stages 1–3 of
    /// every asset done, or `None` when the path ended.
    pub(super) fn several(
        &mut self,
        s: &mut Streams,
        step: u32,
        rets: &[SoloReturn<'_>],
    ) -> Option<u32> {
        if rets.is_empty() {
            self.several_sized(s, step, General(self.market))
        } else {
            // One normal per asset, in asset order: what the general draw takes.
            self.several_sized(s, step, Inlined(rets))
        }
    }

    /// [`StepState::several_with`] with the per-asset scalars held in a fixed array for two to
    /// four assets (see [`Hot`]), in vectors for more.
    #[inline(always)]
    fn several_sized<D: Draws>(&mut self, s: &mut Streams, step: u32, d: D) -> Option<u32> {
        match self.market.assets.len() {
            2 => self.several_with::<Fixed<2>, _>(s, step, d),
            3 => self.several_with::<Fixed<3>, _>(s, step, d),
            4 => self.several_with::<Fixed<4>, _>(s, step, d),
            _ => self.several_with::<Spilled, _>(s, step, d),
        }
    }

    /// [`StepState::several`] with the step's draws taken by `d`, each asset's log
    /// fundamental and lane held in `H` while the loop runs.
    #[inline(never)]
    fn several_with<H: Hot, D: Draws>(
        &mut self,
        s: &mut Streams,
        mut step: u32,
        mut d: D,
    ) -> Option<u32> {
        // Called once per step that went through the cascade loop (and at the start): the
        // bands of the assets that step looked at (every asset at the start).
        self.armed_bands();
        let market = self.market;
        // A constant for a fixed `H`: every loop below over the assets then has a known count.
        let n = H::LEN.unwrap_or(market.assets.len());
        debug_assert_eq!(n, market.assets.len());
        let assets = &market.assets[..n];
        let a_ = &mut self.assets;
        let (log_f, fundamental, mark) = (
            &mut a_.log_f[..n],
            &mut a_.fundamental[..n],
            &mut a_.mark[..n],
        );
        let (price, measures) = (&mut a_.price[..n], &mut a_.measures[..n]);
        let active = &mut a_.active[..n];
        let b_ = &mut self.books;
        let (books, mid) = (&mut b_.state[..n], &mut b_.mid[..n]);
        let band = &self.band[..n];
        let mut hot = H::load(&log_f[..], &self.lanes[..n]);
        let (log_f_hot, lanes) = hot.parts();
        for (a, l) in lanes.iter_mut().enumerate() {
            // An interval found before a step that went through the cascade loop still holds
            // when that step left the asset alone: its log fundamental was inside (else the
            // interval was dropped when the loop stopped), so none of its positions
            // triggered, its book was not walked and recording it changed nothing. Its band
            // and book are then as they were; checked all the same.
            if l.band != band[a] || !books[a].is_whole() {
                l.skip = NO_SKIP;
            }
            l.band = band[a];
            l.fresh = true;
        }
        let stop = loop {
            d.draw(step, s);
            // Every asset's return, in asset order (the draws of the general step); whether
            // every log fundamental stays inside its asset's skip interval.
            let mut all_inside = true;
            each_asset!(H, n, |a| {
                let r = d.log_return(a, step, s, &mut price[a]);
                if r != 0.0 {
                    log_f_hot[a] = advance(log_f_hot[a], r);
                    lanes[a].fresh = false;
                }
                all_inside &= lanes[a].inside(log_f_hot[a]);
            });
            if !all_inside {
                // Stages 2 and 3 for the assets outside their intervals, as the lone-asset
                // loop takes them; the step leaves the loop if any mark left its band.
                let mut out = false;
                each_asset!(H, n, |a| {
                    let (m, l) = (&assets[a], &mut lanes[a]);
                    debug_assert_eq!(m.first_slot, a, "one book per asset");
                    if !l.inside(log_f_hot[a]) {
                        let mut dirty = false;
                        if !l.fresh {
                            fundamental[a] = log_f_hot[a].exp();
                            dirty = true;
                            l.fresh = true;
                        }
                        dirty |= books[a].refill(&m.book);
                        if dirty {
                            mid[a] = books[a].mid(&m.book, fundamental[a]);
                        }
                        out |= !(mid[a] > band[a].0 && mid[a] < band[a].1);
                    }
                });
                if out {
                    // The cascade loop looks only at the assets whose mark left its band (an
                    // asset inside its interval is inside its band); the general step records
                    // the assets outside their intervals, whose intervals no longer hold.
                    for (a, (l, &x)) in lanes.iter_mut().zip(log_f_hot.iter()).enumerate() {
                        let inside = l.inside(x);
                        active[a] = !(inside || (mid[a] > band[a].0 && mid[a] < band[a].1));
                        if !inside {
                            l.skip = NO_SKIP;
                        }
                    }
                    break Some(step);
                }
                each_asset!(H, n, |a| {
                    let (m, l) = (&assets[a], &mut lanes[a]);
                    if !l.inside(log_f_hot[a]) {
                        measures[a].record_book(&books[a], m.book.floor, fundamental[a], mid[a]);
                        l.skip = skip_interval(&books[a], &m.book, band[a], &measures[a]);
                    }
                });
            }
            step += 1;
            if step == market.steps {
                break None;
            }
        };
        for (a, m) in assets.iter().enumerate() {
            if !lanes[a].fresh {
                fundamental[a] = log_f_hot[a].exp();
                mid[a] = books[a].mid(&m.book, fundamental[a]);
            }
            mark[a] = mid[a];
        }
        log_f.copy_from_slice(log_f_hot);
        self.lanes[..n].copy_from_slice(lanes);
        b_.dirty[..n].fill(false);
        stop
    }
}

/// Runs `$body` for every asset `$a` of `0..$n`, in asset order: for a fixed count
/// (`Fixed<N>`, `N` ≤ 4, checked when compiling) as that many copies, each with a constant index, so that the per-asset
/// scalars need no loop counter and may stay in registers (a loop with a body this large
/// is not unrolled by the compiler); as a loop otherwise. `$body` may not `continue`.
macro_rules! each_asset {
    ($h:ty, $n:expr, |$a:ident| $body:block) => {
        if let Some(len) = <$h>::LEN {
            const {
                let fits = matches!(<$h>::LEN, None | Some(0..=4));
                assert!(fits, "`each_asset!` writes out at most four assets");
            }
            let $a = 0;
            if $a < len $body
            let $a = 1;
            if $a < len $body
            let $a = 2;
            if $a < len $body
            let $a = 3;
            if $a < len $body
        } else {
            for $a in 0..$n $body
        }
    };
}
use each_asset;

/// How the several-asset loop takes a step's random numbers: the shared draws, then each
/// asset's return in asset order. Methods rather than closures, so that they are inlined
/// into every size of the loop.
trait Draws {
    fn draw(&mut self, step: u32, s: &mut Streams);
    fn log_return(&mut self, a: usize, step: u32, s: &mut Streams, st: &mut PriceState) -> f64;
}

/// The general step's draws (`Dependence::draw`, then each process's `log_return`):
/// correlation, regimes, jumps on either clock, t mixing.
struct General<'m>(&'m Market);

impl Draws for General<'_> {
    #[inline(always)]
    fn draw(&mut self, step: u32, s: &mut Streams) {
        let dep = &self.0.dependence;
        dep.draw(step, &mut s.draws, &mut s.rng, &mut s.jump_rng);
    }

    #[inline(always)]
    fn log_return(&mut self, a: usize, step: u32, s: &mut Streams, st: &mut PriceState) -> f64 {
        let process = &self.0.assets[a].process;
        process.log_return(a, step, &s.draws, st, &mut s.rng)
    }
}

/// Independent Gaussian assets: each asset's inlined [`SoloReturn`], which draws the same
/// normal as the general draw.
struct Inlined<'r, 'a>(&'r [SoloReturn<'a>]);

impl Draws for Inlined<'_, '_> {
    #[inline(always)]
    fn draw(&mut self, _: u32, _: &mut Streams) {}

    #[inline(always)]
    fn log_return(&mut self, a: usize, step: u32, s: &mut Streams, st: &mut PriceState) -> f64 {
        self.0[a].log_return(step, st, &mut s.rng)
    }
}

/// The several-asset loop's per-asset scalars while it runs: each asset's log fundamental
/// and [`Lane`], copied in from the path's columns when the loop starts and back when it
/// stops. For two to four assets a fixed array ([`Fixed`]): its loops over the assets unroll
/// and the scalars stay in registers, as the lone asset's do in its loop; more assets use
/// vectors ([`Spilled`]).
trait Hot {
    /// The number of assets, when fixed.
    const LEN: Option<usize>;
    fn load(log_f: &[f64], lanes: &[Lane]) -> Self;
    fn parts(&mut self) -> (&mut [f64], &mut [Lane]);
}

/// [`Hot`] for exactly `N` assets.
struct Fixed<const N: usize>([f64; N], [Lane; N]);

impl<const N: usize> Hot for Fixed<N> {
    const LEN: Option<usize> = Some(N);

    #[inline(always)]
    fn load(log_f: &[f64], lanes: &[Lane]) -> Self {
        Fixed(
            std::array::from_fn(|a| log_f[a]),
            std::array::from_fn(|a| lanes[a]),
        )
    }

    #[inline(always)]
    fn parts(&mut self) -> (&mut [f64], &mut [Lane]) {
        (&mut self.0, &mut self.1)
    }
}

/// [`Hot`] for any number of assets.
struct Spilled(Vec<f64>, Vec<Lane>);

impl Hot for Spilled {
    const LEN: Option<usize> = None;

    fn load(log_f: &[f64], lanes: &[Lane]) -> Self {
        Spilled(log_f.to_vec(), lanes.to_vec())
    }

    #[inline(always)]
    fn parts(&mut self) -> (&mut [f64], &mut [Lane]) {
        (&mut self.0, &mut self.1)
    }
}

impl Lane {
    /// Whether the log fundamental `log_f` is strictly inside the skip interval.
    #[inline(always)]
    pub(super) fn inside(&self, log_f: f64) -> bool {
        log_f > self.skip.0 && log_f < self.skip.1
    }
}

/// An empty interval: no step is skipped.
const NO_SKIP: (f64, f64) = (f64::INFINITY, f64::NEG_INFINITY);

/// The open interval of log fundamentals at which a lone asset's quiet step changes nothing
/// but the log fundamental (see `Solo::run_with`): with a whole book the mark is
/// `max(F·e^p, floor)` (`p` the permanent offset), and neither it nor `F` may leave the
/// range in which [`Extremes::update`] does nothing, nor the mark the armed band; the
/// endogenous gap is then `p` exactly (both prices above the floor), so the interval is empty
/// unless `p` is already inside the recorded extremes. Found in
/// log space and shrunk by `1e-9` on each side, far more than the few ulps by which
/// `exp`, `ln` and the product can differ from exact arithmetic, so a step inside it is
/// certain to be one of those steps. Empty unless the book is whole.
fn skip_interval(
    book: &BookState,
    shape: &BookShape,
    band: (f64, f64),
    measures: &Measures,
) -> (f64, f64) {
    const MARGIN: f64 = 1e-9;
    let (mark, fund): (&Extremes, &Extremes) = (&measures.mark, &measures.fund);
    if !book.is_whole() || !measures.endo.covers(book.log_permanent) {
        return NO_SKIP;
    }
    let mark_lo = band.0.max(mark.down_at).max(mark.trough).max(shape.floor);
    let mark_hi = band.1.min(mark.peak).min(mark.up_at);
    let fund_lo = fund.down_at.max(fund.trough).max(shape.floor);
    let fund_hi = fund.peak.min(fund.up_at);
    let p = book.log_permanent;
    let lo = (mark_lo.ln() - p).max(fund_lo.ln()) + MARGIN;
    let hi = (mark_hi.ln() - p).min(fund_hi.ln()) - MARGIN;
    (lo, hi)
}

//! One population's venue during one path: which positions a cascade round liquidates and how
//! each liquidation is settled (fee, insurance fund, auto-deleveraging, bad debt).
//!
//! Per-path state, all of it proportional to what was liquidated, never to the population:
//! - the insurance fund;
//! - a cursor per side over the shared ladders (positions in trigger order);
//! - re-armed remainders of partially liquidated positions, in a binary heap per side ordered
//!   by their new liquidation price (a round looks at its top only);
//! - the ladder positions per side that auto-deleveraging closed only partly, with their
//!   current size and margin (usually one: the head of the ADL queue; more when a head could
//!   not be deleveraged further and a later one was cut): they stay in the ADL queue, and if
//!   the ladder cursor reaches one first it moves to the heap with its new liquidation price;
//! - positions removed by auto-deleveraging, a bitset per side allocated when ADL first hits
//!   that side (the cursors skip them);
//! - the ADL queue of each side, ranked once per path when ADL first needs it (at that
//!   round's mark) and walked with a cursor afterwards.
//!
//! - funding paid per coin by each side since step 0, and the shift it gives the side's
//!   liquidation prices (positions are stored as at step 0; see `model::funding`).
//!
//! A quiet round costs one comparison per ladder and one heap peek per side. Without a partial
//! rule, and on a side ADL has not touched, the triggered ladder range is collected and
//! settled by plain loops over the ladder's columns (same arithmetic, same order, so the
//! results equal the per-position path's to the bit), or, for a run of `bulk::MIN_RUN` or
//! more, from the ladder's prefix sums and sample without reading the run's positions (its
//! quantity here, its settlement in `engine::bulk`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::bulk;
use super::queue::{Queue, Queued, Released, Taken};
use super::round_sum::{self, LANES, RUN, TAIL};
use super::{PathSummary, PopulationModel};
use crate::model::ddsum::{self, Dd};
use crate::model::funding;
use crate::model::margin::{self, Position};
use crate::model::population::{Ladder, Positions};

/// A remainder waiting in a heap for its new liquidation price.
#[derive(Debug, Clone, Copy)]
struct Rearmed {
    /// Liquidation price, USD.
    liq: f64,
    /// Heap key: `liq` for longs (highest first), `−liq` for shorts (lowest first).
    key: f64,
    /// Insertion order, so equal prices pop in a fixed order.
    seq: u32,
    pos: Position,
}

impl Ord for Rearmed {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key.total_cmp(&o.key).then(o.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Rearmed {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Rearmed {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Rearmed {}

/// One side (longs or shorts) of a population during a path.
#[derive(Debug, Default, Clone)]
struct Side {
    /// Ladder positions before this index are closed (liquidated, or passed over because ADL
    /// removed them).
    cursor: usize,
    /// Start of the ladder positions triggered in the current round (`lo..cursor`).
    lo: usize,
    /// What the side closes in the current round: the quantity `collect` returned (the
    /// triggered ladder run summed in four interleaved lanes, or from the prefix sums for a
    /// full-close run of `bulk::MIN_RUN` or more, see `collect_triggered`; then the re-armed
    /// remainders). Settlement closes exactly these positions at the round's
    /// fill, so it gives the side's notional too.
    round_qty: f64,
    /// The last ladder run whose quantity `collect` took from the prefix sums: `(start, end,
    /// Σ qty)`; the current round's if it starts at `lo` and ends at `cursor` (the liquidation
    /// engine's queue then sums that run as the venue did, `round_sum`).
    run: Option<(usize, usize, f64)>,
    heap: BinaryHeap<Rearmed>,
    /// Re-armed remainders triggered in the current round.
    fired: Vec<Position>,
    /// Bitset of ladder positions removed by ADL; empty until ADL first removes one.
    removed: Vec<u64>,
    /// Ladder indices in ADL order (best score first), built when first needed.
    queue: Option<Vec<u32>>,
    /// Entries of `queue` before this are closed.
    queue_cursor: usize,
    /// The ladder positions ADL closed partly (index, what is left of each); rarely more
    /// than one, so a list searched by index.
    partly: Vec<(usize, Position)>,
    /// Funding paid by this side since step 0, USD per coin (negative: received). Positions
    /// are stored as they were at step 0 (ladder) or as if they had paid nothing (heap,
    /// `partly`): a position's margin now is its stored margin minus `qty · paid`.
    paid: f64,
    /// How far funding moved the side's liquidation prices (`model::funding::trigger_shift`
    /// of `paid`): a stored liquidation price `l` triggers at the mark `l + shift`. 0 without
    /// funding, and `m − 0.0` is `m`, so nothing changes then.
    shift: f64,
    /// Open size of the side, base units; tracked only for funding's payments (set when the
    /// population pays funding, see [`Venue::start_funding`]).
    open_qty: f64,
}

fn at(ladder: &Ladder, i: usize, long: bool) -> Position {
    Position {
        long,
        qty: ladder.qty[i],
        entry: ladder.entry[i],
        margin: ladder.margin[i],
    }
}

impl Side {
    /// A stored position as it is now: its margin less the funding paid since.
    #[inline(always)]
    fn now(&self, p: Position) -> Position {
        Position {
            margin: p.margin - p.qty * self.paid,
            ..p
        }
    }

    /// A position as it is now, stored as if it had paid no funding (inverse of `now`).
    #[inline]
    fn stored(&self, p: Position) -> Position {
        Position {
            margin: p.margin + p.qty * self.paid,
            ..p
        }
    }

    #[inline]
    fn is_removed(&self, i: usize) -> bool {
        self.removed
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    fn remove(&mut self, i: usize, len: usize) {
        if self.removed.is_empty() {
            self.removed = vec![0; len.div_ceil(64)];
        }
        self.removed[i / 64] |= 1 << (i % 64);
    }

    fn rearm(&mut self, pos: Position, pm: &PopulationModel, seq: &mut u32) {
        let liq = pos.liquidation_price(&pm.margin);
        let key = if pos.long { liq } else { -liq };
        self.heap.push(Rearmed {
            liq,
            key,
            seq: *seq,
            pos,
        });
        *seq += 1;
    }

    /// Marks the positions triggered at mark `m` and returns the quantity the venue closes.
    /// The quiet case (nothing triggered) is two comparisons, inlined into the step loop.
    #[inline(always)]
    fn collect<const LONG: bool>(
        &mut self,
        ladder: &Ladder,
        m: f64,
        pm: &PopulationModel,
        seq: &mut u32,
    ) -> f64 {
        debug_assert!(self.fired.is_empty(), "settle empties `fired`");
        // Funding moved every stored liquidation price by `shift`: compare them with the
        // mark moved back by it.
        let t = m - self.shift;
        let ladder_hit = self.cursor < ladder.len() && crossed::<LONG>(ladder.liq[self.cursor], t);
        let heap_hit = self.heap.peek().is_some_and(|h| crossed::<LONG>(h.liq, t));
        self.lo = self.cursor;
        self.round_qty = if !ladder_hit && !heap_hit {
            0.0
        } else {
            self.collect_triggered::<LONG>(ladder, m, t, pm, seq)
        };
        self.round_qty
    }

    #[inline(never)]
    fn collect_triggered<const LONG: bool>(
        &mut self,
        ladder: &Ladder,
        m: f64,
        t: f64,
        pm: &PopulationModel,
        seq: &mut u32,
    ) -> f64 {
        let rule = pm.partial.as_ref();
        let lo = self.cursor;
        let mut c = lo;
        // The run's closes are summed in `LANES` interleaved partial sums (position `lo + i`
        // into lane `i % LANES`), added up in a fixed order at the end: the same sum whatever
        // path below finds them, and no chain of dependent additions one position long.
        let mut lanes = [0.0f64; LANES];
        // A full-close run of `bulk::MIN_RUN` or more: its quantity from the ladder's prefix
        // sums instead (added to the empty lanes' 0).
        let mut run_qty = 0.0;
        if rule.is_none() && self.partly.is_empty() && self.removed.is_empty() {
            // Full closes and nothing deleveraged on this side: each triggered position
            // closes its whole size. The ladder is in trigger order, so the triggered run
            // ends where a search from the cursor says.
            let end = run_end::<LONG>(ladder, c, t);
            if end - c >= bulk::MIN_RUN {
                // `Σ qty` over the run as the difference of two double-double prefixes,
                // rounded once: two entries read instead of the run's quantities, and closer
                // to the exact sum than the lanes.
                run_qty = ddsum::range(ladder.sums(LONG), c, end).1.f64();
                self.run = Some((c, end, run_qty));
            } else {
                for (i, &q) in ladder.qty[c..end].iter().enumerate() {
                    lanes[i % LANES] += q;
                }
            }
            c = end;
        }
        while c < ladder.len() && crossed::<LONG>(ladder.liq[c], t) {
            if let Some(k) = self.partly.iter().position(|&(j, _)| j == c) {
                // Partly deleveraged: its liquidation price moved; the heap decides.
                let (_, rest) = self.partly.swap_remove(k);
                self.remove(c, ladder.len());
                self.rearm(rest, pm, seq);
            } else if !self.is_removed(c) {
                lanes[(c - lo) % LANES] +=
                    margin::close_quantity(&self.now(at(ladder, c, LONG)), m, &pm.margin, rule);
            }
            c += 1;
        }
        self.cursor = c;
        let mut qty = round_sum::fold(&lanes) + run_qty;
        while let Some(top) = self.heap.peek()
            && crossed::<LONG>(top.liq, t)
        {
            let pos = top.pos;
            self.heap.pop();
            qty += margin::close_quantity(&self.now(pos), m, &pm.margin, rule);
            self.fired.push(pos);
        }
        qty
    }
}

/// The end of the run of `ladder` positions from `c` that mark `t` (moved back by funding's
/// shift) has crossed: `c` plus the length of the prefix of `ladder.liq[c..]` that
/// `crossed` holds on (the ladder is in trigger order), found in the ladder's sampled
/// prices (`Ladder::liq_first`): a cache line or two of the samples and one of the column,
/// where a search of the column reads a line per probe. It is the partition point of the
/// sorted column, whatever the search.
#[inline]
fn run_end<const LONG: bool>(ladder: &Ladder, c: usize, t: f64) -> usize {
    ladder.liq_first(c, ladder.len(), |l| !crossed::<LONG>(l, t))
}

/// Whether mark `m` has reached liquidation price `liq` (longs: at or below it).
#[inline(always)]
fn crossed<const LONG: bool>(liq: f64, m: f64) -> bool {
    if LONG { liq >= m } else { liq <= m }
}

/// Per-path state of one population's venue.
#[derive(Debug)]
pub(crate) struct Venue {
    /// Insurance fund, USD.
    pub fund: f64,
    /// Whether this venue's fund has met a shortfall it could not cover.
    pub exhausted: bool,
    longs: Side,
    shorts: Side,
    seq: u32,
    /// The liquidation engine's queue and backstop (`engine::queue`); `None` without a
    /// `liquidation_engine`.
    pub(super) queue: Option<Box<Queue>>,
}

/// What a settlement needs besides the venue: the round's mark and fills, the step.
pub(crate) struct Round {
    /// Mark before the round's orders, USD.
    pub mark: f64,
    /// Average fill of the round's long liquidations (sells), USD.
    pub sell_px: f64,
    /// Average fill of the round's short liquidations (buys), USD.
    pub buy_px: f64,
    pub step: u32,
}

/// What a round's settlement adds to the step's per-asset figures.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Filled {
    /// Notional closed at fill prices, USD.
    pub notional: f64,
    /// Quantity closed, base units.
    pub qty: f64,
}

impl Venue {
    pub fn new(fund: f64) -> Venue {
        Venue {
            fund,
            exhausted: false,
            longs: Side::default(),
            shorts: Side::default(),
            seq: 0,
            queue: None,
        }
    }

    /// Starts tracking the open size of each side, which funding's payments are computed on
    /// (one pass over the ladders per path, only for populations that pay funding).
    pub fn start_funding(&mut self, pos: &Positions) {
        self.longs.open_qty = pos.longs.qty.iter().sum();
        self.shorts.open_qty = pos.shorts.qty.iter().sum();
    }

    /// Pays funding `n` times at rate `rate` per interval and mark `mark` (positive: longs
    /// pay): every position's margin moves by `rate · mark` per coin, and so its side's
    /// liquidation prices (`model::funding::trigger_shift`, with maintenance rate
    /// `mm_rate`). Returns what the population's positions paid and received, USD.
    pub fn pay_funding(&mut self, n: u32, rate: f64, mark: f64, mm_rate: f64) -> (f64, f64) {
        let (mut paid, mut received) = (0.0, 0.0);
        for _ in 0..n {
            let per_coin = rate * mark;
            self.longs.paid += per_coin;
            self.shorts.paid -= per_coin;
            let (l, s) = (
                per_coin * self.longs.open_qty,
                per_coin * self.shorts.open_qty,
            );
            if per_coin >= 0.0 {
                paid += l;
                received += s;
            } else {
                paid -= s;
                received -= l;
            }
        }
        self.longs.shift = funding::trigger_shift(true, self.longs.paid, mm_rate);
        self.shorts.shift = funding::trigger_shift(false, self.shorts.paid, mm_rate);
        (paid, received)
    }

    /// Finds the positions triggered at mark `m`; returns the quantities the venue sells
    /// (closing longs) and buys (closing shorts).
    #[inline(always)]
    pub fn collect(&mut self, pos: &Positions, pm: &PopulationModel, m: f64) -> (f64, f64) {
        (
            self.longs.collect::<true>(&pos.longs, m, pm, &mut self.seq),
            self.shorts
                .collect::<false>(&pos.shorts, m, pm, &mut self.seq),
        )
    }

    /// [`Venue::collect`] through the liquidation engine (`engine::queue`) in `step`: the
    /// triggered positions join the queue (unless the engine would pass them to the book
    /// unchanged, see `Queue::passes`), the queue's round releases what the delay and
    /// capacity allow and hands positions to the backstop, and positions no longer
    /// liquidatable are re-armed. Returns the quantities sold and bought, and whether the
    /// backstop takes something over (the round must settle even with nothing to walk).
    /// Out of line and cold: a scenario without an engine only pays the test that skips it.
    #[cold]
    #[inline(never)]
    pub fn collect_engine(
        &mut self,
        pos: &Positions,
        pm: &PopulationModel,
        m: f64,
        step: u32,
    ) -> (f64, f64, bool) {
        let (sq, bq) = self.collect(pos, pm, m);
        let q = self.queue.as_deref_mut().expect("a venue with an engine");
        if q.passes(sq + bq, m, step) {
            return (sq, bq, false);
        }
        self.enqueue(pos, step);
        let q = self.queue.as_deref_mut().expect("a venue with an engine");
        let (longs, shorts) = (&mut self.longs, &mut self.shorts);
        let (sq, bq) = q.round(
            m,
            step,
            pm,
            [longs.paid, shorts.paid],
            [longs.shift, shorts.shift],
        );
        for e in q.recovered.drain(..) {
            let side = if e.long { &mut *longs } else { &mut *shorts };
            side.rearm(e.pos, pm, &mut self.seq);
        }
        longs.round_qty = sq;
        shorts.round_qty = bq;
        (sq, bq, !q.taken.is_empty())
    }

    /// Moves what `collect` found (ladder run, then re-armed remainders, longs first) into
    /// the queue: the settlement then closes only what the queue releases.
    #[cold]
    #[inline(never)]
    fn enqueue(&mut self, pos: &Positions, step: u32) {
        let q = self.queue.as_deref_mut().expect("a venue with an engine");
        for (side, ladder, long) in [
            (&mut self.longs, &pos.longs, true),
            (&mut self.shorts, &pos.shorts, false),
        ] {
            // Each tagged with the lane `collect` summed its close in, and the run flag if it
            // summed the run from the prefix sums (`round_sum`).
            let run = side.run.filter(|r| (r.0, r.1) == (side.lo, side.cursor));
            q.set_run(long, run.map(|r| ((r.1 - r.0) as u32, r.2)));
            let flag = if run.is_some() { RUN } else { 0 };
            for i in side.lo..side.cursor {
                if !side.is_removed(i) {
                    let lane = flag | ((i - side.lo) % LANES) as u8;
                    q.push(long, at(ladder, i, long), step, lane);
                }
            }
            for p in side.fired.drain(..) {
                q.push(long, p, step, TAIL);
            }
            side.lo = side.cursor;
            side.round_qty = 0.0;
        }
    }

    /// The liquidation prices a mark must reach for [`Venue::collect`] to find anything:
    /// the highest armed long trigger (ladder head or heap top; −∞ when none) and the lowest
    /// armed short one (+∞). A mark strictly between them triggers nothing. The ladder heads
    /// are taken as they are, even if ADL removed them, so the band is never wider than
    /// `collect`'s own quiet test.
    pub fn armed(&self, pos: &Positions) -> (f64, f64) {
        let long = pos.longs.liq.get(self.longs.cursor).copied();
        let long = long
            .into_iter()
            .chain(self.longs.heap.peek().map(|t| t.liq))
            .fold(f64::NEG_INFINITY, f64::max)
            + self.longs.shift;
        let short = pos.shorts.liq.get(self.shorts.cursor).copied();
        let short = short
            .into_iter()
            .chain(self.shorts.heap.peek().map(|t| t.liq))
            .fold(f64::INFINITY, f64::min)
            + self.shorts.shift;
        (long, short)
    }

    /// Settles every position `collect` found, longs first, each at its side's fill.
    pub fn settle(
        &mut self,
        pos: &Positions,
        pm: &PopulationModel,
        r: &Round,
        sum: &mut PathSummary,
    ) -> Filled {
        let mut filled = Filled::default();
        let Venue {
            fund,
            exhausted,
            longs,
            shorts,
            seq,
            queue,
        } = self;
        let mut ctx = Ctx {
            pm,
            r,
            fund,
            exhausted,
            seq,
            sum,
            filled: &mut filled,
        };
        ctx.side(longs, shorts, &pos.longs, &pos.shorts, true);
        ctx.side(shorts, longs, &pos.shorts, &pos.longs, false);
        if let Some(q) = queue.as_deref_mut()
            && !(q.released.is_empty() && q.taken.is_empty())
        {
            ctx.engine(q, longs, shorts, pos);
        }
        filled
    }
}

/// A side's triggered ladder run to settle: the side's fill and funding paid per coin
/// (`Side::paid`), its ladder, and the opposite side's (for ADL).
struct Run<'a> {
    fill: f64,
    paid: f64,
    ladder: &'a Ladder,
    opp_ladder: &'a Ladder,
}

struct Ctx<'a> {
    pm: &'a PopulationModel,
    r: &'a Round,
    fund: &'a mut f64,
    exhausted: &'a mut bool,
    seq: &'a mut u32,
    sum: &'a mut PathSummary,
    filled: &'a mut Filled,
}

impl Ctx<'_> {
    fn side(
        &mut self,
        side: &mut Side,
        opp: &mut Side,
        ladder: &Ladder,
        opp_ladder: &Ladder,
        long: bool,
    ) {
        let fill = if long { self.r.sell_px } else { self.r.buy_px };
        if self.pm.partial.is_none() && side.removed.is_empty() {
            let range = side.lo..side.cursor;
            let run = Run {
                fill,
                paid: side.paid,
                ladder,
                opp_ladder,
            };
            if long {
                self.full_closes::<true>(range, &run, opp);
            } else {
                self.full_closes::<false>(range, &run, opp);
            }
        } else {
            for i in side.lo..side.cursor {
                if !side.is_removed(i) {
                    self.one(at(ladder, i, long), fill, side, opp, opp_ladder);
                }
            }
        }
        let fired = std::mem::take(&mut side.fired);
        for &p in &fired {
            self.one(p, fill, side, opp, opp_ladder);
        }
        side.fired = fired;
        side.fired.clear(); // kept empty between rounds (`collect` relies on it)
        // The side's closes all fill at `fill`: its notional is `fill` times what it closed,
        // which is what `collect` found (the same positions and quantities: ADL never
        // reaches a position the cursor has passed). One product per side and round instead
        // of one per position.
        let q = side.round_qty;
        side.open_qty -= q;
        if q != 0.0 {
            let notional = q * fill;
            if long {
                self.sum.long_liquidated_notional += notional;
            } else {
                self.sum.short_liquidated_notional += notional;
            }
            self.filled.notional += notional;
            self.filled.qty += q;
        }
    }

    /// [`Ctx::one`] for the ladder positions `range` when every position closes in full (no
    /// partial rule) and none was deleveraged. A run of `bulk::MIN_RUN` or more settles in
    /// closed form (`engine::bulk`): the negative-equity head the fund covers and the
    /// fee-paying tail as prefix-sum totals (one rounding each into the fund, the draw and
    /// the fees, instead of one per position), the rest of the negative head (where the fund
    /// may run out) by [`Ctx::each_close`]. Short runs, tiered margins and odd fills go
    /// through [`Ctx::each_close`] entirely. The closed quantity and the notional follow
    /// from `collect`'s sum in [`Ctx::side`]. `run`: the side's fill, funding paid per coin
    /// and ladders.
    fn full_closes<const LONG: bool>(
        &mut self,
        range: std::ops::Range<usize>,
        run: &Run,
        opp: &mut Side,
    ) {
        let &Run {
            fill, paid, ladder, ..
        } = run;
        let (lo, end) = (range.start, range.end);
        if !bulk::applies(end - lo, fill, paid, &self.pm.margin) {
            return self.each_close::<LONG>(range, run, opp);
        }
        let fee_rate = self.pm.fee;
        let rate = self.pm.margin.tiers()[0].rate; // one tier (`bulk::applies`)
        let (neg, mid) = bulk::splits::<LONG>(ladder, lo, end, fill, paid, fee_rate, rate);
        let sums = ladder.sums(LONG);
        // The head of the negative class the fund surely covers: its shortfalls in one sum.
        let k = bulk::covered::<LONG>(sums, lo, neg, fill, paid, *self.fund);
        if k > lo {
            let s = bulk::equity_sum::<LONG>(sums, lo, k, fill, paid);
            *self.fund = (Dd::from(*self.fund) + s).f64();
            let sum = &mut *self.sum;
            sum.insurance_fund_draw = (Dd::from(sum.insurance_fund_draw) - s).f64();
            sum.liquidation_count += (k - lo) as u32;
        }
        if neg > k {
            self.each_close::<LONG>(k..neg, run, opp);
        }
        if end > neg {
            let f = bulk::fees::<LONG>(sums, (neg, mid, end), fill, paid, fee_rate);
            let sum = &mut *self.sum;
            if f != Dd::ZERO {
                *self.fund = (Dd::from(*self.fund) + f).f64();
                sum.fees = (Dd::from(sum.fees) + f).f64();
            }
            sum.liquidation_count += (end - neg) as u32;
        }
    }

    /// [`Ctx::one`] for the ladder positions `range` when every position closes in full (no
    /// partial rule) and none was deleveraged: the arithmetic of [`margin::settle`] in the
    /// same order (so the sums are bit-identical), on the ladder's columns, with the running
    /// sums (fund, fees, draw) in registers. They are written back before a shortfall the
    /// fund cannot pay (which may deleverage the opposite side) and at the end.
    fn each_close<const LONG: bool>(
        &mut self,
        range: std::ops::Range<usize>,
        run: &Run,
        opp: &mut Side,
    ) {
        let &Run {
            fill,
            paid,
            ladder,
            opp_ladder,
        } = run;
        let fee_rate = self.pm.fee;
        let qty = &ladder.qty[range.clone()];
        let entry = &ladder.entry[range.clone()][..qty.len()];
        let margin = &ladder.margin[range][..qty.len()];
        let mut j = 0;
        while j < qty.len() {
            let sum = &mut *self.sum;
            let mut fund = *self.fund;
            let mut fees = sum.fees;
            let mut draw = sum.insurance_fund_draw;
            let mut short = None;
            let start = j;
            while j < qty.len() {
                let (q, e) = (qty[j], entry[j]);
                // The margin now (`Side::now`) and `Position::equity`; a fee is only paid
                // out of positive equity.
                let equity = bulk::equity::<LONG>(q, e, margin[j], fill, paid);
                j += 1;
                if equity >= 0.0 {
                    let fee = (fee_rate * q * fill).min(equity);
                    fund += fee;
                    fees += fee;
                } else {
                    // The common case, a fund that covers the whole shortfall, takes the
                    // same values as the general one below (`fund_draw == shortfall`,
                    // nothing uncovered) but keeps the min/max off the loop-carried chain
                    // through `fund`, which bounds this loop's speed. `fund + equity` is
                    // `fund − shortfall` exactly, and it is ≥ 0 exactly when
                    // `fund ≥ shortfall` (a rounded sum of two floats is 0 only if they
                    // cancel exactly).
                    let after = fund + equity;
                    if after >= 0.0 {
                        fund = after;
                        draw -= equity;
                        continue;
                    }
                    let shortfall = -equity;
                    let fund_draw = shortfall.min(fund.max(0.0));
                    fund -= fund_draw;
                    draw += fund_draw;
                    let uncovered = shortfall - fund_draw;
                    if uncovered > 0.0 {
                        let p = Position {
                            long: LONG,
                            qty: q,
                            entry: e,
                            margin: margin[j - 1] - q * paid,
                        };
                        short = Some((p, uncovered));
                        break;
                    }
                }
            }
            *self.fund = fund;
            sum.fees = fees;
            sum.insurance_fund_draw = draw;
            sum.liquidation_count += (j - start) as u32;
            if let Some((p, uncovered)) = short {
                self.shortfall(p, fill, uncovered, opp, opp_ladder);
            }
        }
    }

    /// Liquidates one position (fully or partly) at `fill`. Inlined into the settlement
    /// loops; the rare branches (remainder, shortfall) are out of line.
    #[inline(always)]
    fn one(
        &mut self,
        p: Position,
        fill: f64,
        side: &mut Side,
        opp: &mut Side,
        opp_ladder: &Ladder,
    ) {
        let p = side.now(p);
        let pm = self.pm;
        let rule = pm.partial.as_ref();
        let close = margin::close_quantity(&p, self.r.mark, &pm.margin, rule);
        let partial = close < p.qty;
        let fee_rate = match rule {
            Some(r) if partial => r.fee,
            _ => pm.fee,
        };
        let s = margin::settle(&p, close, fill, fee_rate, self.fund);
        let sum = &mut *self.sum;
        sum.fees += s.fee;
        sum.insurance_fund_draw += s.fund_draw;
        sum.liquidation_count += 1;
        if partial {
            self.rearm_rest(p, close, s.remaining_margin, side);
        }
        if s.uncovered > 0.0 {
            self.shortfall(p, fill, s.uncovered, opp, opp_ladder);
        }
    }

    #[cold]
    #[inline(never)]
    fn rearm_rest(&mut self, p: Position, close: f64, margin: f64, side: &mut Side) {
        self.sum.partial_liquidation_count += 1;
        let rest = Position {
            qty: p.qty - close,
            margin,
            ..p
        };
        side.rearm(side.stored(rest), self.pm, self.seq);
    }

    /// Settles what the engine's round released (at the side's book fill) and handed to
    /// the backstop (at its takeover price), longs first; what the capacity left of a
    /// position goes back to the head of the queue.
    #[cold]
    #[inline(never)]
    fn engine(&mut self, q: &mut Queue, longs: &mut Side, shorts: &mut Side, pos: &Positions) {
        let released = std::mem::take(&mut q.released);
        let taken = std::mem::take(&mut q.taken);
        for long in [true, false] {
            let (side, opp, opp_ladder) = if long {
                (&mut *longs, &mut *shorts, &pos.shorts)
            } else {
                (&mut *shorts, &mut *longs, &pos.longs)
            };
            let fill = if long { self.r.sell_px } else { self.r.buy_px };
            for r in released.iter().filter(|r| r.entry.long == long) {
                if let Some(rest) = self.released(r, fill, side, opp, opp_ladder) {
                    q.requeue(rest);
                }
            }
            for t in taken.iter().filter(|t| t.entry.long == long) {
                self.taken(t, side, opp, opp_ladder);
            }
        }
        q.released = released;
        q.released.clear();
        q.taken = taken;
        q.taken.clear();
    }

    /// [`Ctx::one`] for a released position: closes `r.close` at `fill`; the rest goes back
    /// to the queue (returned) when the capacity cut the close, or is re-armed when the
    /// partial rule did.
    fn released(
        &mut self,
        r: &Released,
        fill: f64,
        side: &mut Side,
        opp: &mut Side,
        opp_ladder: &Ladder,
    ) -> Option<Queued> {
        let p = side.now(r.entry.pos);
        let rule = self.pm.partial.as_ref();
        let partial = r.close < p.qty;
        // The rule's fee when the rule closes part of the position, even if the capacity
        // cut that part further; the full-close fee otherwise.
        let fee_rate = match rule {
            Some(x) if r.rule_partial => x.fee,
            _ => self.pm.fee,
        };
        let s = margin::settle(&p, r.close, fill, fee_rate, self.fund);
        let sum = &mut *self.sum;
        sum.fees += s.fee;
        sum.insurance_fund_draw += s.fund_draw;
        sum.liquidation_count += 1;
        if s.uncovered > 0.0 {
            self.shortfall(p, fill, s.uncovered, opp, opp_ladder);
        }
        if !partial {
            return None;
        }
        if !r.keep {
            self.rearm_rest(p, r.close, s.remaining_margin, side);
            return None;
        }
        let rest = Position {
            qty: p.qty - r.close,
            margin: s.remaining_margin,
            ..p
        };
        Some(Queued {
            pos: side.stored(rest),
            ..r.entry
        })
    }

    /// The backstop takes a position over at its price: the trader's equity there is
    /// settled without fee (a negative one is the fund's, then ADL's or bad debt); the
    /// position leaves its side.
    fn taken(&mut self, t: &Taken, side: &mut Side, opp: &mut Side, opp_ladder: &Ladder) {
        let p = side.now(t.entry.pos);
        let s = margin::settle(&p, p.qty, t.price, 0.0, self.fund);
        self.sum.insurance_fund_draw += s.fund_draw;
        side.open_qty -= p.qty;
        if s.uncovered > 0.0 {
            self.shortfall(p, t.price, s.uncovered, opp, opp_ladder);
        }
    }

    /// A shortfall the fund could not pay: ADL if enabled, then bad debt.
    #[cold]
    #[inline(never)]
    fn shortfall(
        &mut self,
        p: Position,
        fill: f64,
        uncovered: f64,
        opp: &mut Side,
        opp_ladder: &Ladder,
    ) {
        if !self.sum.fund_exhausted {
            self.sum.fund_exhausted = true;
            self.sum.fund_exhausted_at = self.r.step + 1;
        }
        *self.exhausted = true;
        let covered = if self.pm.auto_deleverage {
            let bankruptcy = p.bankruptcy_price();
            self.deleverage(opp, opp_ladder, !p.long, bankruptcy, fill, uncovered)
        } else {
            0.0
        };
        // What ADL covered within rounding (a part in 10¹²) leaves no bad debt.
        let left = uncovered - covered;
        if left > 1e-12 * uncovered {
            self.sum.bad_debt += left;
        }
    }

    /// Auto-deleverages positions of the opposite side, best ADL score first, at the
    /// liquidated position's bankruptcy price, until `need` is covered or the queue is
    /// exhausted. Returns the amount covered.
    fn deleverage(
        &mut self,
        opp: &mut Side,
        ladder: &Ladder,
        long: bool,
        bankruptcy: f64,
        fill: f64,
        need: f64,
    ) -> f64 {
        let mark = self.r.mark;
        if opp.queue.is_none() {
            // Ranked once per path, at the mark of the round where ADL first hits this side.
            let mut scored: Vec<(f64, u32)> = (opp.cursor..ladder.len())
                .filter(|&i| !opp.is_removed(i))
                .filter_map(|i| {
                    margin::adl_score(&opp.now(at(ladder, i, long)), mark).map(|s| (s, i as u32))
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            opp.queue = Some(scored.into_iter().map(|x| x.1).collect());
            opp.queue_cursor = 0;
        }
        let queue = opp.queue.take().expect("built above");
        let closed = |opp: &Side, i: usize| i < opp.cursor || opp.is_removed(i);
        while opp.queue_cursor < queue.len() && closed(opp, queue[opp.queue_cursor] as usize) {
            opp.queue_cursor += 1;
        }
        let mut covered = 0.0;
        for &i in &queue[opp.queue_cursor..] {
            let i = i as usize;
            if covered >= need {
                break;
            }
            if closed(opp, i) {
                continue;
            }
            let head = opp.partly.iter().position(|&(j, _)| j == i);
            let cp = opp.now(head.map_or_else(|| at(ladder, i, long), |k| opp.partly[k].1));
            let Some(d) = margin::deleverage(&cp, bankruptcy, fill, need - covered) else {
                continue;
            };
            // A partial close covers exactly what was left to cover.
            covered = if d.closed < cp.qty {
                need
            } else {
                covered + d.haircut
            };
            self.sum.adl_notional += d.closed * bankruptcy;
            opp.open_qty -= d.closed;
            if head.is_none() {
                self.sum.adl_count += 1;
            }
            if d.closed < cp.qty {
                // Partly closed: it stays at the head of the queue with what is left.
                let rest = Position {
                    qty: cp.qty - d.closed,
                    margin: d.remaining_margin,
                    ..cp
                };
                // A head that could not be cut further keeps its own entry: each partly
                // closed position remembers what is left of it.
                let entry = (i, opp.stored(rest));
                match head {
                    Some(k) => opp.partly[k] = entry,
                    None => opp.partly.push(entry),
                }
                break;
            }
            opp.remove(i, ladder.len());
            if let Some(k) = head {
                opp.partly.swap_remove(k);
            }
        }
        opp.queue = Some(queue);
        covered
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! `Ctx::full_closes` (the closed form of `engine::bulk` with the register loop
    //! `Ctx::each_close` where the fund may run out) against the general per-position
    //! settlement (`Ctx::one`, which is `margin::close_quantity` and `margin::settle` per
    //! position) on random ladders: the same counts, flags, ADL and removals exactly, the
    //! money within the stated rounding bound; and the loop alone to the bit.

    use proptest::prelude::*;

    use super::*;
    use crate::engine::Market;
    use crate::model::spec::Scenario;
    use crate::scenario::NoFiles;

    /// A population model with no partial rule (from a one-population scenario), flat
    /// maintenance 0.5%.
    pub(in crate::engine) fn population() -> PopulationModel {
        let text = "[scenario]\nname = \"t\"\n\n[simulation]\npaths = 1\nsteps = 1\n\n\
                    [[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.5\n\n\
                    [assets.book]\nprofile = \"flat\"\nspread_bp = 1\nlevel_spacing_bp = 1\n\
                    levels = 10\ndepth_usd = 1e6\n\n\
                    [[populations]]\nasset = \"A\"\ncount = 10\nopen_interest_usd = 1e4\n\
                    long_share = 0.5\nmaintenance_margin = 0.005\n\
                    size = { distribution = \"lognormal\", sigma = 1.0 }\n\
                    leverage = { values = [10.0], weights = [1.0] }\n";
        let s = Scenario::parse(text, "t.toml", &NoFiles).expect("valid");
        Market::new(&s).populations[0].clone()
    }

    /// A ladder of positions `(qty, entry, margin)` in the given order, without trigger
    /// prices (settle it with a tiered `pm`, see [`tiered`], to keep it off the closed form,
    /// which needs trigger order).
    fn ladder(rows: &[(f64, f64, f64)]) -> Ladder {
        Ladder {
            liq: vec![0.0; rows.len()],
            qty: rows.iter().map(|r| r.0).collect(),
            entry: rows.iter().map(|r| r.1).collect(),
            margin: rows.iter().map(|r| r.2).collect(),
            sums: Default::default(),
            sample: Default::default(),
        }
    }

    /// The positions `(qty, entry, margin)` as the population lays them out: trigger prices
    /// from the population's maintenance rate, sorted in trigger order.
    fn sorted_ladder(rows: &[(f64, f64, f64)], long: bool, pm: &PopulationModel) -> Ladder {
        let rows = rows
            .iter()
            .map(|&(q, e, m)| {
                let p = Position {
                    long,
                    qty: q,
                    entry: e,
                    margin: m,
                };
                [p.liquidation_price(&pm.margin), q, e, m]
            })
            .collect();
        Ladder::from_unsorted(rows, long)
    }

    /// Positions around price 100: sizes over four decades, entries ±30%, leverage 1–100×.
    fn rows() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
        prop::collection::vec(
            (-3.0..1.0f64, 0.7..1.3f64, 0.0..2.0f64).prop_map(|(q, e, lev)| {
                let (qty, entry) = (10f64.powf(q), 100.0 * e);
                (qty, entry, qty * entry / 10f64.powf(lev))
            }),
            1..120,
        )
    }

    /// Everything a settlement changes, as text (`{:?}` of f64 is exact).
    fn state(sum: &PathSummary, fund: f64, exhausted: bool, opp: &Side) -> String {
        format!("{sum:?}\n{fund:?} {exhausted}\n{opp:?}")
    }

    /// A position that auto-deleveraging cut partly keeps what is left of it when, at a later
    /// shortfall, it cannot be cut further and the next one in the queue is cut partly: both
    /// remainders are remembered (a single slot forgot the first, whose closed quantity then
    /// came back at its full ladder size).
    #[test]
    fn two_partly_deleveraged_positions_keep_their_remainders() {
        let pm = population();
        // Opposite side: longs, profitable at the mark 101, A (index 0) ranked first.
        let opp_lad = ladder(&[(10.0, 100.0, 1.0), (10.0, 99.0, 50.0)]);
        let r = Round {
            mark: 101.0,
            sell_px: 96.0,
            buy_px: 96.0,
            step: 3,
        };
        let (mut sum, mut fund, mut exhausted, mut seq) = (PathSummary::default(), 0.0, true, 0);
        let mut filled = Filled::default();
        let mut opp = Side::default();
        let mut ctx = Ctx {
            pm: &pm,
            r: &r,
            fund: &mut fund,
            exhausted: &mut exhausted,
            seq: &mut seq,
            sum: &mut sum,
            filled: &mut filled,
        };
        // A short went bankrupt at 95 and was filled at 96: one coin of haircut per coin.
        let covered = ctx.deleverage(&mut opp, &opp_lad, true, 95.0, 96.0, 0.1);
        assert_eq!(covered, 0.1);
        assert_eq!(opp.partly.len(), 1);
        // A's remainder (9.9 coins, margin 0.5) cannot pay 5 at 95; B is cut by 5 coins.
        let covered = ctx.deleverage(&mut opp, &opp_lad, true, 95.0, 96.0, 5.0);
        assert_eq!(covered, 5.0);
        let rest = |i: usize| opp.partly.iter().find(|e| e.0 == i).map(|e| e.1.qty);
        assert!((rest(0).expect("A remembered") - 9.9).abs() < 1e-12);
        assert_eq!(rest(1), Some(5.0));
        assert_eq!(ctx.sum.adl_count, 2);
    }

    /// Two maintenance tiers (0.5%, then 1% from $10⁴), which keep a settlement off the
    /// closed form (`bulk::applies`).
    fn tiered() -> crate::model::margin::MarginSchedule {
        crate::model::margin::MarginSchedule::tiered(&[(0.0, 0.005), (1e4, 0.01)])
    }

    /// Settles `lad` (every position, side `long`) by `full_closes` and by `Ctx::one` per
    /// position, from the same fund and opposite side; returns both outcomes.
    #[allow(clippy::too_many_arguments)]
    fn both(
        pm: &PopulationModel,
        lad: &Ladder,
        opp_lad: &Ladder,
        long: bool,
        fill: f64,
        fund: f64,
        paid: f64,
        opp_cursor: usize,
    ) -> [(PathSummary, f64, bool, Side); 2] {
        let r = Round {
            mark: fill * 1.001,
            sell_px: fill,
            buy_px: fill,
            step: 3,
        };
        let opp = Side {
            paid: -paid,
            cursor: opp_cursor.min(opp_lad.len()),
            ..Side::default()
        };
        let mut out = Vec::new();
        for fast in [true, false] {
            let (mut sum, mut f, mut ex, mut seq) = (PathSummary::default(), fund, false, 0);
            let (mut filled, mut opp) = (Filled::default(), opp.clone());
            let mut side = Side {
                paid,
                cursor: lad.len(),
                ..Side::default()
            };
            let mut ctx = Ctx {
                pm,
                r: &r,
                fund: &mut f,
                exhausted: &mut ex,
                seq: &mut seq,
                sum: &mut sum,
                filled: &mut filled,
            };
            let run = Run {
                fill,
                paid,
                ladder: lad,
                opp_ladder: opp_lad,
            };
            if fast && long {
                ctx.full_closes::<true>(0..lad.len(), &run, &mut opp);
            } else if fast {
                ctx.full_closes::<false>(0..lad.len(), &run, &mut opp);
            } else {
                for i in 0..lad.len() {
                    ctx.one(at(lad, i, long), fill, &mut side, &mut opp, opp_lad);
                }
            }
            out.push((sum, f, ex, opp));
        }
        let b = out.pop().expect("two");
        [out.pop().expect("two"), b]
    }

    /// The rounding bound of a settlement of `lad` at `fill` from `fund`: `4·(n + 3)·2⁻⁵³ ·
    /// M`, `M = fund + Σ (|mg| + q·|paid| + q·(fill + e))·(1 + fee)`, the magnitudes the
    /// per-position loop rounds (three roundings per equity, one per running sum and
    /// position, each within `2⁻⁵³` of a value no larger than `M`). The closed form is
    /// within `2⁻¹⁰⁰·M` of the exact sums before its one final rounding, so the two differ
    /// by at most the loop's own error plus one rounding.
    fn bound(lad: &Ladder, fill: f64, fund: f64, paid: f64, fee: f64) -> f64 {
        let m: f64 = (0..lad.len())
            .map(|i| {
                let (q, e, mg) = (lad.qty[i], lad.entry[i], lad.margin[i]);
                (mg.abs() + q * paid.abs() + q * (fill + e)) * (1.0 + fee)
            })
            .sum::<f64>()
            + fund;
        4.0 * (lad.len() as f64 + 3.0) * 2f64.powi(-53) * m
    }

    /// Whether two money figures agree within `tol` (or relatively within 10⁻⁹, for what ADL
    /// derives from a shortfall that differs by `tol`).
    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol + 1e-9 * b.abs()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The settlement of a ladder run (closed form and loop) against `margin::settle` per
        /// position: counts, flags, ADL closes and removals equal; fund, fees, draw, bad debt
        /// and ADL notional within [`bound`]. Funds of 0–10 run out (the loop's fallback,
        /// ADL, bad debt), large ones do not (the closed form alone). With `tiers`, the loop
        /// alone, to the bit.
        #[test]
        fn full_closes_match_margin_settle(
            side_rows in rows(),
            opp_rows in rows(),
            long in any::<bool>(),
            fill in 50.0..150.0f64,
            fee in prop_oneof![Just(0.0), 0.0..0.02f64],
            fund in prop_oneof![Just(0.0), 0.0..10.0f64, 0.0..1e4f64, Just(1e15)],
            paid in prop_oneof![Just(0.0), -1.0..1.0f64],
            adl in any::<bool>(),
            opp_cursor in 0usize..5,
            tiers in any::<bool>(),
        ) {
            let mut pm = population();
            pm.fee = fee;
            pm.partial = None;
            pm.auto_deleverage = adl;
            if tiers {
                // Two maintenance tiers: `full_closes` takes the register loop
                // (`Ctx::each_close`) for the whole run, which equals `margin::settle` per
                // position to the bit.
                pm.margin = tiered();
                let (lad, opp_lad) = (ladder(&side_rows), ladder(&opp_rows));
                let [(sa, fa, xa, oa), (sb, fb, xb, ob)] =
                    both(&pm, &lad, &opp_lad, long, fill, fund, paid, opp_cursor);
                prop_assert_eq!(state(&sa, fa, xa, &oa), state(&sb, fb, xb, &ob));
                return Ok(());
            }
            let lad = sorted_ladder(&side_rows, long, &pm);
            let opp_lad = ladder(&opp_rows);
            let [(mut sa, fa, xa, mut oa), (sb, fb, xb, ob)] =
                both(&pm, &lad, &opp_lad, long, fill, fund, paid, opp_cursor);
            prop_assert_eq!(sb.liquidation_count as usize, lad.len());
            prop_assert_eq!(sb.partial_liquidation_count, 0);
            let tol = bound(&lad, fill, fund, paid, fee);
            prop_assert!(near(fa, fb, tol), "fund {} vs {} (bound {})", fa, fb, tol);
            for (a, b) in [
                (&mut sa.fees, sb.fees),
                (&mut sa.insurance_fund_draw, sb.insurance_fund_draw),
                (&mut sa.bad_debt, sb.bad_debt),
                (&mut sa.adl_notional, sb.adl_notional),
            ] {
                prop_assert!(near(*a, b, tol), "{} vs {} (bound {})", a, b, tol);
                *a = b;
            }
            prop_assert_eq!(oa.partly.len(), ob.partly.len());
            for (a, b) in oa.partly.iter_mut().zip(&ob.partly) {
                prop_assert_eq!(a.0, b.0);
                prop_assert!(near(a.1.qty, b.1.qty, tol) && near(a.1.margin, b.1.margin, tol));
                a.1 = b.1;
            }
            oa.open_qty = ob.open_qty;
            // Everything else (counts, flags, ADL queue and removals) to the bit.
            prop_assert_eq!(state(&sa, fb, xa, &oa), state(&sb, fb, xb, &ob));
        }

        /// Positions whose bankruptcy prices lie within a few ulps of the fill, so their
        /// equities are ±(rounding) and the float sign test disagrees with the trigger order
        /// here and there: the binary searches may put such a position in the wrong class,
        /// which moves the totals by about its equity, within [`bound`]; counts stay exact.
        #[test]
        fn ties_at_the_split_stay_within_the_bound(
            rows in prop::collection::vec((-3.0..1.0f64, 0.01..0.3f64, -8i32..8), 16..80),
            long in any::<bool>(),
            fee in prop_oneof![Just(0.0), 0.0..0.02f64],
        ) {
            let mut pm = population();
            pm.fee = fee;
            pm.partial = None;
            let fill = 100.0;
            let ulp = 100f64.next_up() - 100.0;
            let rows: Vec<(f64, f64, f64)> = rows
                .iter()
                .map(|&(q, off, k)| {
                    let (q, b) = (10f64.powf(q), fill + f64::from(k) * ulp);
                    let e = if long { fill * (1.0 + off) } else { fill * (1.0 - off) };
                    (q, e, q * (e - b).abs())
                })
                .collect();
            let lad = sorted_ladder(&rows, long, &pm);
            let opp_lad = ladder(&[]);
            let [(mut sa, fa, xa, oa), (sb, fb, xb, ob)] =
                both(&pm, &lad, &opp_lad, long, fill, 1e6, 0.0, 0);
            let tol = bound(&lad, fill, 1e6, 0.0, fee);
            prop_assert!(near(fa, fb, tol), "fund {} vs {} (bound {})", fa, fb, tol);
            for (a, b) in [
                (&mut sa.fees, sb.fees),
                (&mut sa.insurance_fund_draw, sb.insurance_fund_draw),
            ] {
                prop_assert!((*a - b).abs() <= tol, "{} vs {} (bound {})", a, b, tol);
                *a = b;
            }
            prop_assert_eq!(state(&sa, fb, xa, &oa), state(&sb, fb, xb, &ob));
        }
    }
}

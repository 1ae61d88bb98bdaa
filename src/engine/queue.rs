//! A venue's liquidation engine during one path (a population's `liquidation_engine`): the
//! queue of positions that became liquidatable, released to the book first in, first out
//! after a delay and within a notional capacity per step, and the backstop liquidator that
//! takes queued positions over, off the book, below a margin fraction while its capital
//! lasts. The settlement of what it releases or hands over is the venue's (`venue.rs`).
//!
//! Per-path state grows only with positions that went through the queue. A round costs one
//! pass over the queue (whether each entry is still liquidatable, the backstop's test, the
//! release); a venue whose queue is empty, without delay or backstop, and whose round fits
//! in the step's capacity goes to the book exactly as a venue without an engine.

use std::collections::VecDeque;

use super::PopulationModel;
use super::round_sum::{RUN, RoundSum, TAIL};
use super::summary::PopulationPathMetrics;
use crate::model::margin::{self, Position};
use crate::model::spec::{BackstopPrice, LiquidationEngine};

/// A position waiting in the queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct Queued {
    pub(super) long: bool,
    /// As stored by its side: the margin without the funding paid since step 0
    /// (`venue::Side::now` gives it as it is now).
    pub(super) pos: Position,
    /// The step in which it became liquidatable.
    pub(super) since: u32,
    /// The lane the venue summed its close in when it found it (`round_sum`): its close
    /// joins that lane if it is released in the same round.
    pub(super) lane: u8,
}

/// A position (or the part of it the capacity allows) released to the book this round.
#[derive(Debug, Clone, Copy)]
pub(super) struct Released {
    pub(super) entry: Queued,
    /// Quantity closed, base units.
    pub(super) close: f64,
    /// Whether the capacity cut the close short of what the venue's rule closes: the rest
    /// stays at the head of the queue.
    pub(super) keep: bool,
    /// Whether the venue's partial rule closes less than the whole position (it then
    /// charges the rule's fee, whether or not the capacity cut the close further).
    pub(super) rule_partial: bool,
}

/// A position the backstop takes over this round, at `price`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Taken {
    pub(super) entry: Queued,
    pub(super) price: f64,
}

/// What a path's engine counts as it goes (its population's
/// `metrics::ENGINE_POPULATION_METRICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct EngineFigures {
    peak_notional: f64,
    peak_length: u32,
    /// Positions that left the queue by liquidation (their last part) or takeover.
    cleared: u32,
    wait_sum: u64,
    wait_max: u32,
    backstop_count: u32,
    backstop_notional: f64,
}

/// One venue's engine during a path.
#[derive(Debug)]
pub(super) struct Queue {
    spec: LiquidationEngine,
    entries: VecDeque<Queued>,
    /// How many entries at the back of `entries` were pushed since the last round: the
    /// venue found them liquidatable at the coming round's own trigger price.
    fresh: usize,
    /// Each side's ladder run of the coming round when the venue summed it from the prefix
    /// sums (longs, shorts): its size and total (`round_sum::RoundSum::with_run`).
    runs: [Option<(u32, f64)>; 2],
    /// The next round's queue, filled while a round walks `entries` (kept to reuse it).
    spare: VecDeque<Queued>,
    /// The step whose capacity `used` counts, and the notional sent to the book in it.
    step: u32,
    used: f64,
    capital_used: f64,
    /// The backstop's holdings per side (longs, shorts): quantity and cost, USD.
    inventory: [(f64, f64); 2],
    pub(super) released: Vec<Released>,
    pub(super) taken: Vec<Taken>,
    /// Entries no longer liquidatable: the venue re-arms them.
    pub(super) recovered: Vec<Queued>,
    figures: EngineFigures,
}

impl Queue {
    pub(super) fn new(spec: LiquidationEngine) -> Queue {
        Queue {
            spec,
            entries: VecDeque::new(),
            fresh: 0,
            runs: [None; 2],
            spare: VecDeque::new(),
            step: 0,
            used: 0.0,
            capital_used: 0.0,
            inventory: [(0.0, 0.0); 2],
            released: Vec::new(),
            taken: Vec::new(),
            recovered: Vec::new(),
            figures: EngineFigures::default(),
        }
    }

    /// Whether a round's triggered closes (`qty`, base units, at trigger price `m`) go to
    /// the book as in a venue without an engine: nothing queued, no delay, no backstop, and
    /// room in the step's capacity (which they then use). Inlined into the cascade round.
    #[inline(always)]
    pub(super) fn passes(&mut self, qty: f64, m: f64, step: u32) -> bool {
        if step != self.step {
            self.step = step;
            self.used = 0.0;
        }
        if self.entries.is_empty() && qty == 0.0 {
            return true;
        }
        if !self.entries.is_empty() || self.spec.delay_steps > 0 || self.spec.backstop.is_some() {
            return false;
        }
        let n = qty * m;
        if self.used + n <= self.spec.capacity_usd_per_step {
            self.used += n;
            true
        } else {
            false
        }
    }

    /// Queues a position that became liquidatable in `step` (at the back: first in, first
    /// out), whose close the venue summed in `lane`.
    pub(super) fn push(&mut self, long: bool, pos: Position, step: u32, lane: u8) {
        self.entries.push_back(Queued {
            long,
            pos,
            since: step,
            lane,
        });
        self.fresh += 1;
    }

    /// Records that the venue summed the ladder run it just queued on side `long` from the
    /// prefix sums: `(size, total)` (see `round_sum`).
    pub(super) fn set_run(&mut self, long: bool, run: Option<(u32, f64)>) {
        self.runs[usize::from(!long)] = run;
    }

    /// Puts back at the head of the queue what the capacity left of a released position.
    pub(super) fn requeue(&mut self, entry: Queued) {
        self.entries.push_front(entry);
    }

    /// One round at trigger price `m` in `step`, over the queue in order: an entry from an
    /// earlier round no longer liquidatable (its stored liquidation price against
    /// `m − shift` of its side) goes to `recovered` (the entries pushed for this round were
    /// just found liquidatable at `m`: not tested again); one below the backstop's margin
    /// fraction goes to the backstop if its capital allows; one whose delay has passed is
    /// released while the step's capacity lasts (the last one possibly in part). `paid` and
    /// `shift`: the sides' funding per coin and trigger shift (longs, shorts). Returns the
    /// quantities released (sells, buys), each side's summed as the venue sums a round
    /// (`round_sum`): so a queue that releases what the venue found sends the book the
    /// venue's quantities to the bit.
    pub(super) fn round(
        &mut self,
        m: f64,
        step: u32,
        pm: &PopulationModel,
        paid: [f64; 2],
        shift: [f64; 2],
    ) -> (f64, f64) {
        let rule = pm.partial.as_ref();
        let delay = u64::from(self.spec.delay_steps);
        let ready = |e: &Queued| u64::from(e.since) + delay <= u64::from(step);
        let cap = self.spec.capacity_usd_per_step;
        let [long_run, short_run] = std::mem::take(&mut self.runs);
        let mut sums = [RoundSum::with_run(long_run), RoundSum::with_run(short_run)];
        let mut entries = std::mem::take(&mut self.entries);
        let fresh_from = entries.len() - std::mem::take(&mut self.fresh);
        let mut next = std::mem::take(&mut self.spare);
        // What the capacity left of a released position, back in the queue after settlement.
        let mut kept = 0.0;
        for (i, e) in entries.drain(..).enumerate() {
            let fresh = i >= fresh_from;
            let s = usize::from(!e.long);
            let now = Position {
                margin: e.pos.margin - e.pos.qty * paid[s],
                ..e.pos
            };
            if !fresh {
                let liq = e.pos.liquidation_price(&pm.margin);
                let t = m - shift[s];
                if !(if e.long { liq >= t } else { liq <= t }) {
                    self.recovered.push(e);
                    continue;
                }
            }
            if let Some(price) = self.takes_over(&now, m, pm) {
                self.taken.push(Taken { entry: e, price });
                self.cleared(step, e.since);
                continue;
            }
            let room = cap - self.used;
            if ready(&e) && room > 0.0 {
                let full = margin::close_quantity(&now, m, &pm.margin, rule);
                let close = full.min(room / m);
                let keep = close < full;
                self.used = if keep { cap } else { self.used + close * m };
                // A close the capacity cut short is not the run's close the venue summed.
                let lane = if keep { e.lane & !RUN } else { e.lane };
                sums[s].add(if fresh { lane } else { TAIL }, close);
                if keep {
                    kept = e.pos.qty - close;
                } else {
                    self.cleared(step, e.since);
                }
                self.released.push(Released {
                    entry: e,
                    close,
                    keep,
                    rule_partial: full < now.qty,
                });
                continue;
            }
            next.push_back(e);
        }
        self.entries = next;
        self.spare = entries;
        let waiting = self.entries.len() + usize::from(kept > 0.0);
        let qty = self.queued_qty() + kept;
        let f = &mut self.figures;
        f.peak_length = f.peak_length.max(waiting as u32);
        f.peak_notional = f.peak_notional.max(qty * m);
        (sums[0].total(), sums[1].total())
    }

    /// The backstop's takeover price of `now` at trigger price `m`, when its equity is below
    /// the margin fraction times its maintenance requirement and the backstop's capital
    /// covers its notional at that price (which it then uses). The notional must be
    /// positive: an insolvent remainder of a partial close (a short whose margin a bad fill
    /// drove below `−q·entry`) has a bankruptcy price at or below 0, and a takeover there
    /// would hold a negative notional, which fits in any capital (even none) and gives
    /// capital back; such a position goes to the book, as without a backstop.
    fn takes_over(&mut self, now: &Position, m: f64, pm: &PopulationModel) -> Option<f64> {
        let b = self.spec.backstop?;
        let tier = pm.margin.tier(now.qty * now.entry);
        let requirement = tier.rate * now.qty * m - tier.cum;
        if now.equity(m) >= b.margin_fraction * requirement {
            return None;
        }
        let price = match b.price {
            BackstopPrice::Bankruptcy => now.bankruptcy_price(),
            BackstopPrice::Mark => m,
        };
        let notional = now.qty * price;
        if notional <= 0.0 || self.capital_used + notional > b.capital_usd {
            return None;
        }
        self.capital_used += notional;
        let inv = &mut self.inventory[usize::from(!now.long)];
        inv.0 += now.qty;
        inv.1 += notional;
        self.figures.backstop_count += 1;
        self.figures.backstop_notional += notional;
        Some(price)
    }

    /// The quantity queued (`+0.0` when nothing is: `Sum` of no `f64` is `−0.0`).
    fn queued_qty(&self) -> f64 {
        self.entries.iter().fold(0.0, |s, e| s + e.pos.qty)
    }

    fn cleared(&mut self, step: u32, since: u32) {
        let wait = step - since;
        let f = &mut self.figures;
        f.cleared += 1;
        f.wait_sum += u64::from(wait);
        f.wait_max = f.wait_max.max(wait);
    }

    /// The path's figures into `p`, at the last trigger price `px`: what is still queued is
    /// valued there, and the backstop's holdings are marked there (profit positive).
    pub(super) fn finish(&self, px: f64, p: &mut PopulationPathMetrics) {
        let f = self.figures;
        let [(lq, lc), (sq, sc)] = self.inventory;
        p.queue_peak_notional = f.peak_notional;
        p.queue_peak_length = f.peak_length;
        p.queue_cleared = f.cleared;
        p.queue_wait_mean_steps = if f.cleared == 0 {
            0.0
        } else {
            f.wait_sum as f64 / f64::from(f.cleared)
        };
        p.queue_wait_max_steps = f.wait_max;
        p.queue_uncleared_notional = self.queued_qty() * px;
        p.backstop_count = f.backstop_count;
        p.backstop_notional = f.backstop_notional;
        p.backstop_pnl = (lq * px - lc) + (sc - sq * px);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::venue::tests::population;
    use crate::model::spec::Backstop;

    fn backstop(capital_usd: f64, price: BackstopPrice) -> Queue {
        Queue::new(LiquidationEngine {
            capacity_usd_per_step: f64::INFINITY,
            delay_steps: 0,
            backstop: Some(Backstop {
                margin_fraction: 1.0,
                capital_usd,
                price,
            }),
        })
    }

    /// A short of one coin entered at 100 with margin `margin`, at the trigger price 110.
    fn short(margin: f64) -> Position {
        Position {
            long: false,
            qty: 1.0,
            entry: 100.0,
            margin,
        }
    }

    /// A takeover needs a positive notional: an insolvent short whose bankruptcy price is
    /// below 0 (margin −150: 100 − 150) is never taken over at that price, whatever the
    /// capital, and a backstop without capital takes nothing. (It once took such a
    /// remainder with no capital at a negative notional, so a queue without limits closed
    /// fewer positions than the venue under a partial rule.)
    #[test]
    fn the_backstop_takes_over_only_at_a_positive_notional() {
        let pm = population();
        let bankruptcy = BackstopPrice::Bankruptcy;
        for capital in [0.0, 1e9] {
            let mut q = backstop(capital, bankruptcy);
            assert_eq!(q.takes_over(&short(-150.0), 110.0, &pm), None, "{capital}");
            assert_eq!(q.capital_used, 0.0);
        }
        // At the mark the same position fits in capital (110 USD), not in none.
        let mark = BackstopPrice::Mark;
        assert_eq!(
            backstop(1e9, mark).takes_over(&short(-150.0), 110.0, &pm),
            Some(110.0)
        );
        assert_eq!(
            backstop(0.0, mark).takes_over(&short(-150.0), 110.0, &pm),
            None
        );
        // An insolvent short with a positive bankruptcy price (105) is taken at it.
        let mut q = backstop(1e9, bankruptcy);
        assert_eq!(q.takes_over(&short(5.0), 110.0, &pm), Some(105.0));
        assert_eq!((q.capital_used, q.figures.backstop_count), (105.0, 1));
        assert_eq!(
            backstop(0.0, bankruptcy).takes_over(&short(5.0), 110.0, &pm),
            None
        );
    }
}

//! Settlement of a triggered ladder run in closed form: the classes of the run's positions at
//! the fill, and each class's totals from the ladder's prefix sums (`model::ddsum`), so a run
//! of `n` full closes costs `O(log n)` instead of `n` settlements (`Ctx::full_closes` in
//! `venue.rs` uses it; the per-position loop stays for what this cannot decide).
//!
//! Why the classes are contiguous: with one maintenance rate `r` (a single tier, so no
//! maintenance amount) a position's bankruptcy price is `b = l·(1 − r)` for a long and
//! `b = l·(1 + r)` for a short, `l` its liquidation price, and funding moves every `b` of a
//! side by the same amount. A ladder is sorted by `l`, so along a triggered run `b` moves one
//! way, and the equity at a fill `f`, `q·(f − b)` (long) or `q·(b − f)` (short), is first
//! negative (the fund pays the shortfall), then below the full fee `φ·q·f` (the fee is the
//! equity), then above it (the fee is `φ·q·f`). The split points are found by binary search
//! with the per-position float test the loop uses, so a position can only be put in the
//! wrong class if the sorted order and that test disagree, i.e. if its equity is within
//! rounding of 0 (or of its fee): the totals then move by about that rounding.
//!
//! The fund: it pays the negative class first, in ladder order. The closed form takes the
//! longest head of that class the fund covers with a margin ([`covered`]) larger than the
//! loop's possible rounding error, so it never decides "covered" where the loop would have run
//! out; the rest of the class goes through the per-position loop (shortfall, ADL and bad
//! debt per position, as before). Fees, from the positive classes, never run the fund out.

use crate::model::ddsum::{self, Dd};
use crate::model::margin::MarginSchedule;
use crate::model::population::Ladder;
use crate::model::search::first_index;

/// Runs shorter than this settle position by position: the loop (about 24 instructions a
/// position) is cheaper than the searches (two or three binary searches of up to `log₂ n`
/// probes each) below it, and short runs keep the loop's sequential roundings.
pub(super) const MIN_RUN: usize = 16;

/// A ladder position's equity at `fill` with funding `paid` per coin: the margin now
/// (`Side::now`), plus the PnL as `Position::equity` computes it (the sign folded into the
/// difference, which is exact). The loop and the searches share it, so both classify a
/// position the same way.
#[inline(always)]
pub(super) fn equity<const LONG: bool>(q: f64, e: f64, mg: f64, fill: f64, paid: f64) -> f64 {
    let mg = mg - q * paid;
    mg + if LONG { q * (fill - e) } else { q * (e - fill) }
}

/// Whether a run of `n` positions may settle in closed form: long enough, one maintenance
/// rate below 1 (see the module doc), a finite positive fill and finite funding.
#[inline]
pub(super) fn applies(n: usize, fill: f64, paid: f64, m: &MarginSchedule) -> bool {
    n >= MIN_RUN
        && fill.is_finite()
        && fill > 0.0
        && paid.is_finite()
        && matches!(m.tiers(), [t] if t.cum == 0.0 && (0.0..1.0).contains(&t.rate))
}

/// Where the classes of the run `lo..end` change at `fill`: positions `lo..neg` have
/// negative equity, `neg..mid` pay their equity as the fee (below the full fee), `mid..end`
/// pay the full fee `fee_rate · q · fill` (without a fee, `mid = neg`). Each split is the
/// first position the loop's float test puts in the next class, found by
/// `Ladder::partition_near`: the liquidation price where the test's closed form changes
/// (with maintenance rate `rate`, a long's equity is `q·(fill − paid − l·(1 − rate))`, a
/// short's `q·(l·(1 + rate) − fill − paid)`, `l` its liquidation price), checked with the
/// float test on the two positions around it, else `Ladder::partition` (the ladder's
/// sample, then one stride of the columns). Where the test is monotone along the run, that
/// is the index any binary search finds.
#[allow(clippy::too_many_arguments)] // the run, the fill's terms and the margin rate
pub(super) fn splits<const LONG: bool>(
    l: &Ladder,
    lo: usize,
    end: usize,
    fill: f64,
    paid: f64,
    fee_rate: f64,
    rate: f64,
) -> (usize, usize) {
    let eq = |r: [f64; 4]| equity::<LONG>(r[1], r[2], r[3], fill, paid);
    // The closed form of a test on the liquidation price `x`: equity ≥ 0 at `level = fill`,
    // equity ≥ the full fee at `fill` moved by the fee rate.
    let above = |level: f64| {
        move |x: f64| {
            if LONG {
                x * (1.0 - rate) <= level - paid
            } else {
                x * (1.0 + rate) >= level + paid
            }
        }
    };
    let neg = l.partition_near(lo, end, above(fill), |r| eq(r) >= 0.0);
    // `min(fee, equity)` is the full fee when it is at most the equity (the loop's test).
    let mid = if fee_rate == 0.0 {
        neg
    } else {
        let level = if LONG { 1.0 - fee_rate } else { 1.0 + fee_rate } * fill;
        l.partition_near(neg, end, above(level), |r| fee_rate * r[1] * fill <= eq(r))
    };
    (neg, mid)
}

/// Total equity of positions `i..j` at `fill` (double-double, from the prefix sums `p` of
/// `Ladder::sums`): long
/// `Σ(mg − q·e) + f·Σq − paid·Σq`, short `Σ(mg + q·e) − f·Σq − paid·Σq`.
#[inline]
pub(super) fn equity_sum<const LONG: bool>(
    p: &[[f64; 4]],
    i: usize,
    j: usize,
    fill: f64,
    paid: f64,
) -> Dd {
    let (a, q) = ddsum::range(p, i, j);
    let qf = q.scale(fill);
    let qp = q.scale(paid);
    (if LONG { a + qf } else { a - qf }) - qp
}

/// What the positions `neg..end` pay as fees (see [`splits`]): their equity for `neg..mid`,
/// `fee_rate · f · Σq` for `mid..end`.
pub(super) fn fees<const LONG: bool>(
    p: &[[f64; 4]],
    (neg, mid, end): (usize, usize, usize),
    fill: f64,
    paid: f64,
    fee_rate: f64,
) -> Dd {
    let full = if fee_rate == 0.0 || mid == end {
        Dd::ZERO
    } else {
        ddsum::range(p, mid, end).1.scale(fee_rate).scale(fill)
    };
    if mid > neg {
        equity_sum::<LONG>(p, neg, mid, fill, paid) + full
    } else {
        full
    }
}

/// The end `k` of the longest head `lo..k` of the negative class `lo..neg` whose shortfalls a
/// fund of `fund` pays with room to spare: `fund + Σ equity ≥ δ`, where `δ = (n + 16)·2⁻⁴⁸ ·
/// (fund + Σ|mg − q·e| + Σq·(f + |paid|))` over the class exceeds what the loop's `n`
/// sequential roundings (each within `2⁻⁵³` of a running fund no larger than the starting
/// one) and the per-position equities' roundings (three each, within `2⁻⁵³` of those
/// magnitudes) can add up to. So wherever this says "covered", the loop's fund would not
/// have run out. The equities are negative, so the running total falls along the class and
/// the search is a binary one. (The loop also rounds each `q·(f − e)`, bounded by the scale
/// only while `q·e` is within a factor of about 30 of `|mg − q·e|`, i.e. for leverage above
/// about 1.03: at lower leverage, after a fall of more than 97% — the only way such a
/// position has negative equity — the margin is not proven; the closed form can then differ
/// from the loop only where the fund ends within rounding of zero.)
pub(super) fn covered<const LONG: bool>(
    p: &[[f64; 4]],
    lo: usize,
    neg: usize,
    fill: f64,
    paid: f64,
    fund: f64,
) -> usize {
    if neg == lo {
        return lo;
    }
    let (a, q) = ddsum::range(p, lo, neg);
    let scale = fund.abs() + a.hi.abs() + q.hi * (fill + paid.abs());
    let delta = ((neg - lo) as f64 + 16.0) * 2f64.powi(-48) * scale;
    let room = |k: usize| {
        let left = Dd::from(fund) + equity_sum::<LONG>(p, lo, k, fill, paid);
        left.f64() >= delta
    };
    if room(neg) {
        return neg;
    }
    first_index(lo, neg + 1, |k| !room(k))
        .saturating_sub(1)
        .max(lo)
}

#[cfg(test)]
mod tests {
    //! How accurate the closed form is, against a reference and against the loop it replaces.

    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    use super::*;
    use crate::model::margin::{self, MarginSchedule};

    /// 30,000 peer-like longs (`scenarios/bench/peer.toml`: entries ±5% around 100,000,
    /// lognormal sizes σ 1.5 around 0.5 coin, leverage 2–100×, maintenance 0.5%), in
    /// trigger order.
    fn peer_ladder(rng: &mut ChaCha8Rng) -> Ladder {
        let sched = MarginSchedule::flat(0.005);
        let levs = [2.0, 3.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0];
        let rows: Vec<[f64; 4]> = (0..30_000)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                let q = 0.5 * (1.5 * z).exp();
                let z: f64 = StandardNormal.sample(rng);
                let e = 100_000.0 * (0.05 * z).exp();
                let lev = levs[rng.random_range(0..levs.len())];
                let m = q * e / lev;
                let liq = margin::liquidation_price(true, q, e, m, sched.tier(q * e));
                [liq, q, e, m]
            })
            .collect();
        Ladder::from_unsorted(rows, true)
    }

    /// A peer-like long ladder (`scenarios/bench/peer.toml`: entries ±5% around 100,000,
    /// lognormal sizes σ 1.5 around 0.5 coin, leverage 2–100×, maintenance 0.5%) settled at a
    /// fill 8% down with a 0.05% fee, funding 3 USD per coin paid: the draw and the fees of
    /// the closed form and of the sequential loop (`Ctx::each_close`'s arithmetic) against a
    /// reference (each term exact to 2⁻¹⁰⁶ by double-double products, summed in order in
    /// double-double: within about 10⁻²⁷ of the exact sums). The closed form is within one
    /// rounding (half an ulp, plus 10⁻²⁰ relative) of the reference; the loop is printed
    /// beside it (about 10⁻¹⁴ relative on 30,000 positions, i.e. tens of ulps).
    #[test]
    fn the_closed_form_is_within_one_rounding_of_the_exact_sums() {
        let mut rng = ChaCha8Rng::seed_from_u64(26);
        let l = peer_ladder(&mut rng);
        let (fill, paid, fee) = (92_000.0, 3.0, 0.0005);
        let n = l.len();
        let (neg, mid) = splits::<true>(&l, 0, n, fill, paid, fee, 0.005);
        assert!(
            0 < neg && neg < mid && mid < n,
            "all three classes: {neg} {mid} {n}"
        );
        // The loop's arithmetic (the fund covers everything, so only the sums matter).
        let (mut draw_loop, mut fees_loop) = (0.0f64, 0.0f64);
        let (mut draw_ref, mut fees_ref) = (Dd::ZERO, Dd::ZERO);
        for i in 0..n {
            let (q, e, m) = (l.qty[i], l.entry[i], l.margin[i]);
            let eq = equity::<true>(q, e, m, fill, paid);
            // m − q·paid + q·fill − q·e, each product exact.
            let exact =
                Dd::mul_add(-q, paid, m) + Dd::mul_add(q, fill, 0.0) + Dd::mul_add(-q, e, 0.0);
            if i < neg {
                draw_loop -= eq;
                draw_ref = draw_ref - exact;
            } else {
                let fee_i = (fee * q * fill).min(eq);
                fees_loop += fee_i;
                fees_ref = fees_ref
                    + if i < mid {
                        exact
                    } else {
                        Dd::mul_add(fee * q, fill, 0.0)
                            + Dd::mul_add(fee, q, -(fee * q)).scale(fill)
                    };
            }
        }
        let p = l.sums(true);
        let draw = (-equity_sum::<true>(p, 0, neg, fill, paid)).f64();
        let fees = fees::<true>(p, (neg, mid, n), fill, paid, fee).f64();
        let ulp = |x: f64| x.next_up() - x;
        for (what, closed, sequential, reference) in [
            ("draw", draw, draw_loop, draw_ref),
            ("fees", fees, fees_loop, fees_ref),
        ] {
            let r = reference.f64();
            let err = |x: f64| ((Dd::from(x) - reference).f64()).abs();
            println!(
                "{what}: reference {r:.6}, closed form off by {:.3e} ({:.2} ulp), \
                 loop by {:.3e} ({:.2} ulp)",
                err(closed),
                err(closed) / ulp(r),
                err(sequential),
                err(sequential) / ulp(r)
            );
            assert!(err(closed) <= 0.5 * ulp(r) + 1e-20 * r.abs(), "{what}");
            assert!(err(closed) <= err(sequential), "{what}");
        }
    }

    /// On a peer-like ladder ([`peer_ladder`]), the sampled splits
    /// equal a plain binary search of the whole run with the same float tests, for many
    /// fills, funding payments, fees and runs: the equity tests are monotone along the
    /// ladder there, so the sample changes which rows are read, not the answer.
    #[test]
    fn the_sampled_splits_equal_a_plain_binary_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(27);
        let l = peer_ladder(&mut rng);
        let n = l.len();
        for _ in 0..2_000 {
            let fill = 100_000.0 * rng.random_range(0.5..1.05);
            let paid = rng.random_range(-20.0..20.0);
            let fee = [0.0, 0.0005, 0.01][rng.random_range(0..3)];
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            let (lo, end) = (a.min(b), a.max(b));
            let eq = |i: usize| equity::<true>(l.qty[i], l.entry[i], l.margin[i], fill, paid);
            let neg = first_index(lo, end, |i| eq(i) >= 0.0);
            let mid = if fee == 0.0 {
                neg
            } else {
                first_index(neg, end, |i| fee * l.qty[i] * fill <= eq(i))
            };
            assert_eq!(
                splits::<true>(&l, lo, end, fill, paid, fee, 0.005),
                (neg, mid)
            );
        }
    }
}

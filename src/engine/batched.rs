//! Batched settlement of full closes: the insurance fund, fee and fund-draw running sums of a
//! block of ladder positions computed in independent lanes, equal to the sequential sums of
//! `Ctx::full_closes` (one rounded addition per position) to the bit, or declined.
//!
//! Why it is exact. A running sum `s ← RN(s + d)` whose value stays inside one binade
//! `[2ᵉ, 2ᵉ⁺¹)` only ever moves on that binade's grid `u = 2ᵉ⁻⁵²`: each step adds the multiple
//! of `u` nearest to `d`, `y = u·RN(d/u)`, whatever `s` is (barring a tie, when `d` is an odd
//! multiple of `u/2` and the rounding of `s + d` depends on the last bit of `s`). Those `y` do
//! not depend on each other, and sums of multiples of `u` below `2ᵉ⁺¹` are exact in any
//! order, so the block's `y` are computed and summed in lanes (vectorised), and the block is
//! taken only when that argument holds, checked exactly:
//! - every `y` is the nearest multiple of `u` to `d` and no `d` is a tie: `y` is
//!   `(a + d) − a`, with `a` the largest number of the binade for a negative `d` and its
//!   smallest (`2ᵉ`) for a positive one (so `a + d` stays on the grid), and `|y − d| < u/2`;
//! - every intermediate sum stays in `[2ᵉ + u, 2ᵉ⁺¹ − u]`, where the sequential rounding is
//!   the grid's: the sum of the block's negative `y` and that of its positive `y` both keep
//!   `s` inside it (each prefix sum lies between them).
//!
//! A sum at exactly `+0.0` (the draw or fees before anything was paid) may take only zeros.
//! Anything else (a binade crossed, a tie, a fund that would run out, a NaN) declines the
//! block and the caller settles it position by position; nothing is written then.
//! `engine::venue::tests` checks the batched and per-position settlements against each
//! other on random ladders, and `tests` below the batched sums against sequential ones.

/// Positions per block: large enough to amortise the checks, small enough that a declined
/// block (a binade crossed, a shortfall) costs little.
pub(super) const BLOCK: usize = 64;

/// Lanes of the block's partial sums (one AVX-512 vector, two AVX2 ones).
const W: usize = 8;

/// A running sum's value at the start of a block, and what the block may add to it.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    /// The sum at the start of the block.
    s0: f64,
    /// The anchor of negative steps: the largest number of `s0`'s binade (`2ᵉ⁺¹ − u`); 0 for
    /// a sum at `+0.0`.
    top: f64,
    /// The anchor of positive steps: the smallest number of the binade (`2ᵉ`); 0 at `+0.0`.
    bottom: f64,
    /// `u/2`: the largest distance (exclusive) from `d` to its grid point; +∞ at `+0.0`
    /// (where `y` is `d` itself and the bounds allow only zeros).
    half_u: f64,
    /// The least sum of the block's negative `y` (`2ᵉ + u − s0`, exact).
    lo: f64,
    /// The greatest sum of the block's positive `y` (`2ᵉ⁺¹ − u − s0`, exact).
    hi: f64,
}

impl Anchor {
    /// The anchor of a sum at `s0`; `None` (the block is declined) unless `s0` is `+0.0` or a
    /// positive normal number far from underflow and overflow.
    fn new(s0: f64) -> Option<Anchor> {
        if s0 == 0.0 && s0.is_sign_positive() {
            return Some(Anchor {
                s0,
                top: 0.0,
                bottom: 0.0,
                half_u: f64::INFINITY,
                lo: 0.0,
                hi: 0.0,
            });
        }
        // 2⁻⁹⁰⁰ ≤ s0 < 2⁹⁰⁰: u, u/2 and 2ᵉ⁺¹ are normal and finite.
        let (least, limit) = (
            f64::from_bits(0x07b0_0000_0000_0000),
            f64::from_bits(0x7830_0000_0000_0000),
        );
        if !(s0 >= least && s0 < limit) {
            return None;
        }
        let p = f64::from_bits(s0.to_bits() & 0x7ff0_0000_0000_0000); // 2ᵉ
        let u = p * f64::EPSILON; // 2ᵉ⁻⁵², exact
        let top = 2.0 * p - u; // exact: the binade's largest number
        Some(Anchor {
            s0,
            top,
            bottom: p,
            half_u: 0.5 * u,
            lo: (p + u) - s0,
            hi: top - s0,
        })
    }

    /// `d`'s grid point `y`, from the anchor `a` (`top` for a negative `d`, `bottom` for a
    /// positive one), and whether it is one (`|y − d| < u/2`, so `y` is the unique multiple
    /// of `u` that near, and `d` no tie).
    #[inline(always)]
    fn grid(&self, a: f64, d: f64) -> (f64, bool) {
        let y = (a + d) - a;
        (y, (y - d).abs() < self.half_u)
    }

    /// The sum after the block, given the sums of its negative and positive grid points, or
    /// `None` when an intermediate sum could leave `[2ᵉ + u, 2ᵉ⁺¹ − u]`.
    #[inline(always)]
    fn end(&self, neg: f64, pos: f64) -> Option<f64> {
        (neg >= self.lo && pos <= self.hi).then_some(self.s0 + (pos + neg))
    }
}

/// One settlement's running sums (USD), as `Ctx::full_closes` keeps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sums {
    pub fund: f64,
    pub fees: f64,
    pub draw: f64,
}

/// A block of full closes on one side at one fill: the ladder columns of the block and what
/// each close's arithmetic reads.
#[derive(Clone, Copy)]
pub(super) struct Block<'a> {
    pub qty: &'a [f64],
    pub entry: &'a [f64],
    pub margin: &'a [f64],
    pub fill: f64,
    /// The side's funding per coin (`Side::paid`), taken off each stored margin.
    pub paid: f64,
    pub fee_rate: f64,
}

/// The running sums after settling every position of `b` in full, in order, each as
/// `Ctx::full_closes` does (equity `margin − qty·paid + qty·(±(fill − entry))`; a fee of
/// `min(fee_rate·qty·fill, equity)` into the fund out of non-negative equity, a draw on the
/// fund of a negative one), or `None` when the block must be settled position by position
/// (see the module docs). `None` also whenever the fund could not cover a shortfall.
#[inline]
pub(super) fn settle<const LONG: bool>(b: &Block<'_>, s: Sums) -> Option<Sums> {
    let fund = Anchor::new(s.fund)?;
    let draw = Anchor::new(s.draw)?;
    let fees = Anchor::new(s.fees)?;
    let fee = b.fee_rate != 0.0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe {
            if fee {
                settle_avx2::<LONG, true>(b, &fund, &draw, &fees)
            } else {
                settle_avx2::<LONG, false>(b, &fund, &draw, &fees)
            }
        };
    }
    if fee {
        lanes::<LONG, true>(b, &fund, &draw, &fees)
    } else {
        lanes::<LONG, false>(b, &fund, &draw, &fees)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn settle_avx2<const LONG: bool, const FEE: bool>(
    b: &Block<'_>,
    fund: &Anchor,
    draw: &Anchor,
    fees: &Anchor,
) -> Option<Sums> {
    lanes::<LONG, FEE>(b, fund, draw, fees)
}

/// Per-lane partial sums of a block's grid points, and whether every lane stayed on its grids.
#[derive(Clone, Copy)]
struct Lanes {
    fund_neg: [f64; W],
    fund_pos: [f64; W],
    draw: [f64; W],
    fees: [f64; W],
    /// Non-zero once a lane met a step off its grid (`u64`, not `bool`: a lane of the
    /// vector compare's mask, without packing).
    off_grid: [u64; W],
}

/// The block in `W` lanes: position `i` of the block into lane `i % W`. Every operation is one
/// correctly rounded IEEE operation (no fused multiply-add), so the result is the same on any
/// instruction set. `FEE`: whether the fee rate is non-zero (a zero rate pays `±0` fees, which
/// change neither the fund nor the fees, so their arithmetic is skipped).
#[inline(always)]
fn lanes<const LONG: bool, const FEE: bool>(
    b: &Block<'_>,
    fund: &Anchor,
    draw: &Anchor,
    fees: &Anchor,
) -> Option<Sums> {
    let n = b.qty.len();
    let (entry, margin) = (&b.entry[..n], &b.margin[..n]);
    let mut l = Lanes {
        fund_neg: [0.0; W],
        fund_pos: [0.0; W],
        draw: [0.0; W],
        fees: [0.0; W],
        off_grid: [0; W],
    };
    let (fill, paid, fee_rate) = (b.fill, b.paid, b.fee_rate);
    let (fund, draw, fees) = (*fund, *draw, *fees);
    // The fund's anchors as values: a select between two fields would become a load indexed
    // by the sign.
    let (top, bottom) = (fund.top, fund.bottom);
    // One position into lane `i`: the same expressions as `Ctx::full_closes`.
    let one = |l: &mut Lanes, i: usize, q: f64, e: f64, m: f64| {
        let mg = m - q * paid;
        let equity = mg + if LONG { q * (fill - e) } else { q * (e - fill) };
        // `equity >= 0.0` is the per-position path's test (a NaN goes the negative way).
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let neg = !(equity >= 0.0);
        let fee = if FEE {
            (fee_rate * q * fill).min(equity)
        } else {
            0.0
        };
        // A fee (positive) steps up from the bottom of the fund's binade, a draw down from
        // its top.
        let (a, d) = if neg { (top, equity) } else { (bottom, fee) };
        let (yf, ok_f) = fund.grid(a, d);
        let (yd, ok_d) = draw.grid(draw.bottom, if neg { -equity } else { 0.0 });
        l.off_grid[i] |= u64::from(!(ok_f & ok_d));
        l.draw[i] += yd;
        if FEE {
            let (ye, ok_e) = fees.grid(fees.bottom, if neg { 0.0 } else { fee });
            l.off_grid[i] |= u64::from(!ok_e);
            l.fees[i] += ye;
            l.fund_neg[i] += if neg { yf } else { 0.0 };
            l.fund_pos[i] += if neg { 0.0 } else { yf };
        } else {
            l.fund_neg[i] += yf;
        }
    };
    let (q, e, m) = (
        b.qty.chunks_exact(W),
        entry.chunks_exact(W),
        margin.chunks_exact(W),
    );
    let rest = (q.remainder(), e.remainder(), m.remainder());
    for ((q, e), m) in q.zip(e).zip(m) {
        for i in 0..W {
            one(&mut l, i, q[i], e[i], m[i]);
        }
    }
    for i in 0..rest.0.len() {
        one(&mut l, i, rest.0[i], rest.1[i], rest.2[i]);
    }
    if l.off_grid.iter().any(|&x| x != 0) {
        return None;
    }
    // Exact in any order once the bounds below hold (multiples of `u` below `2ᵉ⁺¹`); a lane
    // that overflowed the bound rounds to a sum that fails them (rounding is monotone).
    let total = |x: &[f64; W]| ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
    Some(Sums {
        fund: fund.end(total(&l.fund_neg), total(&l.fund_pos))?,
        draw: draw.end(0.0, total(&l.draw))?,
        fees: fees.end(0.0, total(&l.fees))?,
    })
}

#[cfg(test)]
mod tests {
    //! The batched sums against sequential ones (`s ← s + d` per position, as
    //! `Ctx::full_closes` adds), on random blocks.

    use proptest::prelude::*;

    use super::*;

    /// The per-position arithmetic of `Ctx::full_closes` when the fund never runs out.
    fn sequential<const LONG: bool>(b: &Block<'_>, mut s: Sums) -> Option<Sums> {
        for j in 0..b.qty.len() {
            let (q, e, mg) = (b.qty[j], b.entry[j], b.margin[j] - b.qty[j] * b.paid);
            let equity = mg
                + if LONG {
                    q * (b.fill - e)
                } else {
                    q * (e - b.fill)
                };
            if equity >= 0.0 {
                let fee = (b.fee_rate * q * b.fill).min(equity);
                s.fund += fee;
                s.fees += fee;
            } else {
                let after = s.fund + equity;
                if after.is_nan() || after < 0.0 {
                    return None;
                }
                s.fund = after;
                s.draw -= equity;
            }
        }
        Some(s)
    }

    /// Bit patterns, so that `-0.0` and `0.0` differ.
    fn bits(s: &Sums) -> [u64; 3] {
        [s.fund.to_bits(), s.fees.to_bits(), s.draw.to_bits()]
    }

    fn rows() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
        prop::collection::vec(
            (-3.0..1.0f64, 0.7..1.3f64, 0.0..2.0f64).prop_map(|(q, e, lev)| {
                let (qty, entry) = (10f64.powf(q), 100.0 * e);
                (qty, entry, qty * entry / 10f64.powf(lev))
            }),
            1..=BLOCK,
        )
    }

    fn sum() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(1024.0),
            0.0..1.0f64,
            0.0..1e4f64,
            1e6..1e9f64,
            1e14..1e15f64
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Whenever the batch gives sums, they are the sequential ones to the bit.
        #[test]
        fn a_batch_gives_the_sequential_sums_or_declines(
            rows in rows(),
            long in any::<bool>(),
            fill in 50.0..150.0f64,
            fee_rate in prop_oneof![Just(0.0), 0.0..0.02f64],
            paid in prop_oneof![Just(0.0), -1.0..1.0f64],
            fund in sum(),
            fees in sum(),
            draw in sum(),
        ) {
            let (qty, entry, margin): (Vec<f64>, Vec<f64>, Vec<f64>) = (
                rows.iter().map(|r| r.0).collect(),
                rows.iter().map(|r| r.1).collect(),
                rows.iter().map(|r| r.2).collect(),
            );
            let b = Block { qty: &qty, entry: &entry, margin: &margin, fill, paid, fee_rate };
            let s = Sums { fund, fees, draw };
            let (batch, seq) = if long {
                (settle::<true>(&b, s), sequential::<true>(&b, s))
            } else {
                (settle::<false>(&b, s), sequential::<false>(&b, s))
            };
            if let Some(batch) = batch {
                let seq = seq.expect("a batch is taken only when the fund covers it");
                prop_assert_eq!(bits(&batch), bits(&seq));
            }
        }
    }

    /// The common case of a large fund and a draw well under way is batched (so the property
    /// above is not vacuous), and sums at `+0.0` take only zeros.
    #[test]
    fn a_large_fund_is_batched_and_a_zero_sum_takes_only_zeros() {
        let n = BLOCK;
        let qty: Vec<f64> = (0..n).map(|i| 0.5 + 0.01 * i as f64).collect();
        let entry = vec![100.0; n];
        let margin: Vec<f64> = (0..n).map(|i| 1.0 + 0.1 * i as f64).collect();
        let b = Block {
            qty: &qty,
            entry: &entry,
            margin: &margin,
            fill: 90.0,
            paid: 0.0,
            fee_rate: 0.0,
        };
        let s = Sums {
            fund: 1e15 + 0.125,
            fees: 0.0,
            draw: 3.0e7 + 0.25,
        };
        let batch = settle::<true>(&b, s).expect("batched");
        assert_eq!(bits(&batch), bits(&sequential::<true>(&b, s).unwrap()));
        assert!(batch.draw > s.draw && batch.fund < s.fund && batch.fees == 0.0);
        // Every long is under water at 90: a draw at +0.0 must decline; fees at +0.0 with no
        // fee rate take only zeros.
        assert!(settle::<true>(&b, Sums { draw: 0.0, ..s }).is_none());
        // A fund at exactly a power of two declines (its first step could leave the binade).
        assert!(
            settle::<true>(
                &b,
                Sums {
                    fund: 2f64.powi(49),
                    ..s
                }
            )
            .is_none()
        );

        // Fees and draws mixed, shorts: every third position under water.
        let margin: Vec<f64> = (0..n)
            .map(|i| if i % 3 == 0 { 0.5 } else { 20.0 })
            .collect();
        let b = Block {
            margin: &margin,
            fill: 110.0,
            fee_rate: 0.001,
            ..b
        };
        let s = Sums { fees: 600.5, ..s };
        let batch = settle::<false>(&b, s).expect("batched");
        assert_eq!(bits(&batch), bits(&sequential::<false>(&b, s).unwrap()));
        assert!(batch.draw > s.draw && batch.fees > s.fees);
    }
}

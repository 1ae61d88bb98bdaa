//! Double-double arithmetic (an unevaluated sum `hi + lo` of two `f64`, about 106 bits) and
//! the per-ladder prefix sums built on it, which let the engine settle a triggered ladder run
//! in closed form (`engine::bulk`): the sum of `margin ∓ qty·entry` and of `qty` over any
//! index range is the difference of two prefixes.
//!
//! Accuracy: a prefix of `k` terms is within about `k²·2⁻¹⁰⁶·S` of their exact sum (`S` the
//! sum of their magnitudes; see [`prefix`]), so a range sum of a 10⁵-position ladder is
//! within about `10⁻²²` of its magnitude: when it is finally rounded to `f64`, that rounding
//! (`2⁻⁵³ ≈ 10⁻¹⁶`) is the whole error.

/// `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

/// `a + b = s + e` exactly (Knuth).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `a + b = s + e` exactly, for `|a| ≥ |b|` (or `a = 0`).
#[inline(always)]
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// `a = hi + lo` with `hi` holding the upper 26 bits (Veltkamp).
#[inline(always)]
fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a; // 2²⁷ + 1
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a·b = p + e` exactly (Dekker; no `fma`, which without the target feature is a library
/// call; no overflow or underflow assumed, i.e. magnitudes between about 2⁻⁹⁰⁰ and 2⁹⁹⁰).
#[inline(always)]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

impl Dd {
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    #[inline(always)]
    pub fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// `a·b + c` as a double-double (error about `2⁻¹⁰⁶` of the magnitudes).
    #[inline(always)]
    pub fn mul_add(a: f64, b: f64, c: f64) -> Dd {
        let (p, pe) = two_prod(a, b);
        let (s, se) = two_sum(c, p);
        let (hi, lo) = fast_two_sum(s, se + pe);
        Dd { hi, lo }
    }

    /// `self · x`.
    #[inline(always)]
    pub fn scale(self, x: f64) -> Dd {
        let (p, e) = two_prod(self.hi, x);
        let (hi, lo) = fast_two_sum(p, e + self.lo * x);
        Dd { hi, lo }
    }

    /// The nearest `f64` (within rounding of `lo`'s own error, i.e. `hi + lo` rounded once).
    #[inline(always)]
    pub fn f64(self) -> f64 {
        self.hi + self.lo
    }
}

impl std::ops::Add for Dd {
    type Output = Dd;

    #[inline(always)]
    fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        let (t, f) = two_sum(self.lo, o.lo);
        let (s, e) = fast_two_sum(s, e + t);
        let (hi, lo) = fast_two_sum(s, e + f);
        Dd { hi, lo }
    }
}

impl std::ops::Neg for Dd {
    type Output = Dd;

    #[inline(always)]
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl std::ops::Sub for Dd {
    type Output = Dd;

    #[inline(always)]
    fn sub(self, o: Dd) -> Dd {
        self + -o
    }
}

/// Prefix sums of one ladder's settlement columns: entry `k` holds, over its first `k`
/// positions, `Σ (margin − qty·entry)` for longs (`Σ (margin + qty·entry)` for shorts) and
/// `Σ qty`, each as a running `f64` sum and the running sum of its exact rounding errors
/// (`[a, a_err, q, q_err]`; one 32-byte entry, so a range sum reads two). Each term
/// `margin ∓ qty·entry` is taken exactly (to `2⁻¹⁰⁶`, a double-double); the error sums round
/// at `2⁻⁵³` of values themselves within `k·2⁻⁵³` of the total, so a prefix is within about
/// `k²·2⁻¹⁰⁶·S` of the exact sum (`S` the sum of magnitudes): `10⁻²²·S` at `k = 10⁵`.
/// A position's equity at fill `f` with funding `paid` per coin is `a + qty·(f − paid)` for a
/// long and `a − qty·(f + paid)` for a short, so a range's total equity is two prefix
/// differences and two products (`engine::bulk`).
pub fn prefix(qty: &[f64], entry: &[f64], margin: &[f64], long: bool) -> Vec<[f64; 4]> {
    let sign = if long { -1.0 } else { 1.0 };
    let mut out = Vec::with_capacity(qty.len() + 1);
    let [mut a, mut a_err, mut q, mut q_err] = [0.0; 4];
    out.push([0.0; 4]);
    for ((&qt, &e), &m) in qty.iter().zip(entry).zip(margin) {
        let t = Dd::mul_add(sign * qt, e, m);
        let (s, err) = two_sum(a, t.hi);
        (a, a_err) = (s, a_err + (err + t.lo));
        let (s, err) = two_sum(q, qt);
        (q, q_err) = (s, q_err + err);
        out.push([a, a_err, q, q_err]);
    }
    out
}

/// `(hi_j + err_j) − (hi_i + err_i)` as a double-double.
#[inline(always)]
fn diff(hi_j: f64, err_j: f64, hi_i: f64, err_i: f64) -> Dd {
    let (d, de) = two_sum(hi_j, -hi_i);
    let (hi, lo) = two_sum(d, de + (err_j - err_i));
    Dd { hi, lo }
}

/// The sums of `margin ∓ qty·entry` and of `qty` over positions `i..j` of a ladder with
/// prefix `p` (see [`prefix`]).
#[inline(always)]
pub fn range(p: &[[f64; 4]], i: usize, j: usize) -> (Dd, Dd) {
    let (x, y) = (p[i], p[j]);
    (diff(y[0], y[1], x[0], x[1]), diff(y[2], y[3], x[2], x[3]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `x · 2²⁰` as an integer (exact for the values on the 2⁻²⁰ grid below).
    fn fixed(x: f64) -> i128 {
        (x * (1u64 << 20) as f64) as i128
    }

    proptest! {
        /// Range sums of the prefix equal the exact integer sums (the inputs are chosen so
        /// every term and sum is exactly representable in a double-double, so any lost bit
        /// would show), and `f64()` of them is the correctly rounded value.
        #[test]
        fn range_sums_are_exact_on_a_grid(
            rows in prop::collection::vec((1i64..1 << 20, 1i64..1 << 20, 0i64..1 << 40), 1..200),
            long in any::<bool>(),
            cut in (0usize..200, 0usize..200),
        ) {
            // qty and entry on a 2⁻¹⁰ grid, margin on a 2⁻²⁰ grid: q·e is on 2⁻²⁰.
            let qty: Vec<f64> = rows.iter().map(|r| r.0 as f64 / 1024.0).collect();
            let entry: Vec<f64> = rows.iter().map(|r| r.1 as f64 / 1024.0).collect();
            let margin: Vec<f64> = rows.iter().map(|r| r.2 as f64 / (1 << 20) as f64).collect();
            let p = prefix(&qty, &entry, &margin, long);
            let n = qty.len();
            let (i, j) = (cut.0.min(cut.1).min(n), cut.0.max(cut.1).min(n));
            let (a, q) = range(&p, i, j);
            let mut want_a = 0i128;
            let mut want_q = 0i128;
            for &(q, e, m) in &rows[i..j] {
                let qe = i128::from(q) * i128::from(e);
                want_a += if long { i128::from(m) - qe } else { i128::from(m) + qe };
                want_q += i128::from(q);
            }
            // a on the 2⁻²⁰ grid, q on 2⁻¹⁰: compare as exact integers on those grids.
            let got_a = fixed(a.hi) + fixed(a.lo);
            prop_assert_eq!(got_a, want_a);
            prop_assert_eq!(a.f64(), want_a as f64 / (1 << 20) as f64);
            prop_assert_eq!(q.f64(), want_q as f64 / 1024.0);
        }
    }

    /// `2⁵³ + 1 − 2⁵³` is lost in `f64` but kept by a double-double.
    #[test]
    fn a_double_double_keeps_what_f64_loses() {
        let big = 2f64.powi(53);
        let s = Dd::from(big) + Dd::from(1.0) - Dd::from(big);
        assert_eq!(s.f64(), 1.0);
        assert_eq!((big + 1.0) - big, 0.0);
        // (1 + 2⁻⁵²)² − 1 = 2⁻⁵¹ + 2⁻¹⁰⁴: the last term is below f64's reach of 2⁻⁵¹.
        let x = 1.0 + f64::EPSILON;
        let p = Dd::mul_add(x, x, -1.0);
        assert_eq!((p.hi, p.lo), (2f64.powi(-51), 2f64.powi(-104)));
        assert_eq!(x * x - 1.0, 2f64.powi(-51));
        assert_eq!(Dd::from(3.0).scale(1.0 / 3.0).f64(), 1.0);
    }
}

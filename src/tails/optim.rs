//! One-dimensional numerical workhorses used by the fits and profile intervals: Brent's
//! minimiser (golden section + parabolic steps) and Brent–Dekker root finding on a bracket.

/// Minimise `f` on `[a, b]` by Brent's method. Non-finite values of `f` count as +∞.
/// Returns `(x, f(x))`. Stops when the bracket is below `rel_tol·|x| + abs_tol` or after
/// `max_iter` evaluations.
pub(crate) fn brent_min<F: FnMut(f64) -> f64>(
    mut f: F,
    mut a: f64,
    mut b: f64,
    rel_tol: f64,
    abs_tol: f64,
    max_iter: usize,
) -> (f64, f64) {
    const C: f64 = 0.381_966_011_250_105_1; // (3 − √5)/2
    let mut g = |x: f64| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut x = a + C * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = g(x);
    let (mut fw, mut fv) = (fx, fx);
    let (mut d, mut e) = (0.0_f64, 0.0_f64);
    for _ in 0..max_iter {
        let m = 0.5 * (a + b);
        let tol = rel_tol * x.abs() + abs_tol;
        let t2 = 2.0 * tol;
        if (x - m).abs() <= t2 - 0.5 * (b - a) {
            break;
        }
        let mut use_golden = true;
        if e.abs() > tol && fx.is_finite() && fw.is_finite() && fv.is_finite() {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            let r_old = e;
            if p.abs() < (0.5 * q * r_old).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < t2 || b - u < t2 {
                    d = if x < m { tol } else { -tol };
                }
                use_golden = false;
            }
        }
        if use_golden {
            e = if x < m { b - x } else { a - x };
            d = C * e;
        }
        let u = x + if d.abs() >= tol {
            d
        } else if d > 0.0 {
            tol
        } else {
            -tol
        };
        let fu = g(u);
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            v = w;
            fv = fw;
            w = x;
            fw = fx;
            x = u;
            fx = fu;
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                v = w;
                fv = fw;
                w = u;
                fw = fu;
            } else if fu <= fv || v == x || v == w {
                v = u;
                fv = fu;
            }
        }
    }
    (x, fx)
}

/// Maximise `f` on `[a, b]`; see [`brent_min`]. Non-finite values count as −∞.
pub(crate) fn brent_max<F: FnMut(f64) -> f64>(
    mut f: F,
    a: f64,
    b: f64,
    rel_tol: f64,
    abs_tol: f64,
    max_iter: usize,
) -> (f64, f64) {
    let (x, fx) = brent_min(|x| -f(x), a, b, rel_tol, abs_tol, max_iter);
    (x, -fx)
}

/// Find a zero of `f` in `[a, b]` given `fa = f(a)` and `fb = f(b)` of opposite signs
/// (Brent–Dekker). Returns `None` if the signs do not differ or a value is NaN.
pub(crate) fn brent_root<F: FnMut(f64) -> f64>(
    mut f: F,
    mut a: f64,
    mut b: f64,
    mut fa: f64,
    mut fb: f64,
    xtol: f64,
    max_iter: usize,
) -> Option<f64> {
    if fa.is_nan() || fb.is_nan() || (fa > 0.0) == (fb > 0.0) && fa != 0.0 && fb != 0.0 {
        return None;
    }
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..max_iter {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Some(b);
        }
        if e.abs() < tol || fa.abs() <= fb.abs() {
            d = m;
            e = m;
        } else {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol {
            d
        } else if m > 0.0 {
            tol
        } else {
            -tol
        };
        fb = f(b);
        if fb.is_nan() {
            return None;
        }
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_min_finds_parabola_minimum() {
        let (x, fx) = brent_min(
            |x| (x - 1.234).powi(2) + 5.0,
            -10.0,
            10.0,
            1e-12,
            1e-14,
            200,
        );
        assert!((x - 1.234).abs() < 1e-7);
        assert!((fx - 5.0).abs() < 1e-13);
    }

    #[test]
    fn brent_root_finds_cubic_root() {
        let f = |x: f64| x * x * x - 2.0;
        let r = brent_root(f, 0.0, 3.0, f(0.0), f(3.0), 1e-15, 200).unwrap();
        assert!((r - 2f64.cbrt()).abs() < 1e-14);
        assert!(brent_root(f, 2.0, 3.0, f(2.0), f(3.0), 1e-15, 200).is_none());
    }
}

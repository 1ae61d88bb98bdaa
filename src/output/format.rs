//! How numbers read to people — in the terminal, in `report.html` and on figures. One policy,
//! so the same value reads the same everywhere:
//!
//! - **USD** ([`usd`]): `$` and three significant digits, with a k/M/B/T suffix from a
//!   thousand up: `$950`, `$1.23k`, `$100k`, `$45.6M`, `$2.30T`; below a dollar three
//!   significant digits (`$0.0123`); the sign before the `$` (`-$1.50M`); `$0` for zero.
//! - **Percentages** ([`percent`], of a fraction; [`points`], of a value already in percent):
//!   always two decimals (`12.34%`, `0.50%`); a nonzero value that two decimals would show as
//!   zero reads `<0.01%` (or `>-0.01%`), never `0.00%`.
//! - **Counts** ([`thousands`]) and other plain numbers ([`number`]): thousands separators
//!   (`4,352`, `11,370`), two decimals when fractional.
//! - **Prices in text** ([`price`]): thousands separators, with decimals that suit the size
//!   (`2,450`, `31.25`, `0.5012`).
//! - **Parameter values** ([`compact`]: sweep rows, tornado bars): at most three significant
//!   digits, k/M/B/T from a thousand up, a mantissa-exponent form below 0.001.
//! - **Axis ticks** ([`Axis`]): every label on one linear axis has the same suffix and the same
//!   number of decimals (`$99.5k`, `$100.0k`, `$100.5k`), chosen from the axis range; on a log
//!   axis each label is the shortest exact form of its value (`$1k`, `$2.5k`, `$10k`).
//!
//! Non-finite values read `–` in the money, percent and number forms.

/// `x` with at most `digits` significant digits, trailing zeros removed.
pub fn sig(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - mag).max(0) as usize;
    trim_zeros(format!("{x:.decimals$}"))
}

/// `s` without trailing zeros after a decimal point (and without the point if nothing is left).
fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The suffixes from a thousand up, largest first.
const SUFFIXES: [(i32, &str); 4] = [(12, "T"), (9, "B"), (6, "M"), (3, "k")];

/// The power of ten and suffix for a value whose decimal exponent is `mag`.
fn suffix_for(mag: i32) -> (i32, &'static str) {
    SUFFIXES
        .into_iter()
        .find(|&(e, _)| mag >= e)
        .unwrap_or((0, ""))
}

/// The decimal exponent of `a` (> 0) after rounding it to `digits` significant digits, so
/// 999.6 at three digits counts as 1000.
fn rounded_exponent(a: f64, digits: i32) -> i32 {
    let mag = a.log10().floor() as i32;
    let scaled = (a / 10f64.powi(mag - digits + 1)).round();
    if scaled >= 10f64.powi(digits) {
        mag + 1
    } else {
        mag
    }
}

/// A nonnegative `a` with three significant digits (trailing zeros kept) and its suffix.
fn three_significant(a: f64) -> String {
    if a == 0.0 {
        return "0".into();
    }
    let mag = rounded_exponent(a, 3);
    let (e, s) = suffix_for(mag);
    let decimals = (2 - (mag - e)).max(0) as usize;
    format!("{:.decimals$}{s}", a / 10f64.powi(e))
}

/// The sign of `x` as text: `-` for negative values, nothing otherwise (never `-0`).
fn sign(x: f64) -> &'static str {
    if x < 0.0 { "-" } else { "" }
}

/// Money for people: `$950`, `$1.23k`, `$45.6M`, `$2.30T`, `-$1.50M`, `$0.0123`.
pub fn usd(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    format!("{}${}", sign(value), three_significant(value.abs()))
}

/// A signed number with two decimals, `+1.23` or `-0.40`, and `0.00` for anything that
/// rounds to zero (never `-0.00` or `+0.00`): differences and distances in σ or points.
pub fn signed(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{v:+.2}");
    if s == "+0.00" || s == "-0.00" {
        "0.00".into()
    } else {
        s
    }
}

/// A value already in percent, with two decimals: `12.34%`; `<0.01%` for a nonzero value
/// that would otherwise read `0.00%`.
pub fn points(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let v = v + 0.0; // no "-0"
    if v != 0.0 && v.abs() < 0.005 {
        return if v > 0.0 { "<0.01%" } else { ">-0.01%" }.into();
    }
    let s = format!("{v:.2}%");
    if s == "-0.00%" { "0.00%".into() } else { s }
}

/// A fraction as a percentage with two decimals: `0.1234` → `12.34%`.
pub fn percent(fraction: f64) -> String {
    points(fraction * 100.0)
}

pub use crate::text::thousands;

/// `value` with `decimals` decimals and thousands separators on the whole part.
fn separated(value: f64, decimals: usize) -> String {
    let s = format!("{:.decimals$}", value.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let int = thousands(int.parse().unwrap_or(0));
    let sign = if s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        sign(value)
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// A plain number: thousands separators, two decimals when it has a fractional part
/// (`11,370`, `-1,234.50`); scientific from 10¹⁵ up.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    if value.abs() >= 1e15 {
        format!("{value:.3e}")
    } else if value.fract() == 0.0 {
        separated(value, 0)
    } else {
        separated(value, 2)
    }
}

/// A number quoted back in a message: [`crate::text::shortest`] (a leaf, so that `tails`
/// and `desk` quote numbers without importing `output`).
pub use crate::text::shortest;

/// A price in text: thousands separators, no decimals from 1,000 up, two from 10, four below.
pub fn price(value: f64) -> String {
    let a = value.abs();
    let decimals = if a >= 1000.0 {
        0
    } else if a >= 10.0 {
        2
    } else {
        4
    };
    separated(value, decimals)
}

/// A value according to its unit: `fraction` and `log` (log points) as [`percent`], `USD` as
/// [`usd`], anything else as a plain [`number`].
pub fn human(value: f64, unit: &str) -> String {
    match unit {
        "fraction" | "log" => percent(value),
        "USD" => usd(value),
        _ => number(value),
    }
}

/// A parameter value in a short label: at most three significant digits, k/M/B/T from a
/// thousand up (`250k`, `-3.25B`), a mantissa-exponent form below 0.001 (`1.23e-4`), and
/// up to six decimals in between (`0.004`, `12.5`).
pub fn compact(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        return "–".into();
    }
    if a >= 999.5 {
        let mag = rounded_exponent(a, 3);
        let (e, s) = suffix_for(mag);
        format!("{}{}{s}", sign(x), sig(a / 10f64.powi(e), 3))
    } else if a != 0.0 && a < 1e-3 {
        let mut e = a.log10().floor() as i32;
        let mut m = a / 10f64.powi(e);
        if !m.is_finite() {
            // Below 1e-307 the power of ten underflows (5e-324 printed "infe-323"): the
            // decimal exponent as Rust's formatting finds it.
            let t = format!("{a:.2e}");
            let (mant, exp) = t.split_once('e').unwrap_or((&t, "0"));
            return format!("{}{}e{exp}", sign(x), sig(mant.parse().unwrap_or(m), 3));
        }
        // Rounding the mantissa can carry it to 10 (9.999e-5 → 1e-4).
        if (m * 100.0).round() >= 1000.0 {
            m /= 10.0;
            e += 1;
        }
        format!("{}{}e{e}", sign(x), sig(m, 3))
    } else {
        format!("{}", (x * 1e6).round() / 1e6 + 0.0)
    }
}

/// The spacing of the ticks plotters puts on a linear axis over `[lo, hi]` with at most
/// `max_points` of them (its `compute_f64_key_points`: the finest of 1, 2 or 5 times a power
/// of ten that gives no more than `max_points` multiples inside the range). 0 for an empty or
/// non-finite range.
fn tick_step(lo: f64, hi: f64, max_points: usize) -> f64 {
    let span = hi - lo;
    if !(span > f64::EPSILON && span.is_finite()) || max_points == 0 {
        return 0.0;
    }
    let count = |step: f64| {
        let left = (lo / step).ceil() * step;
        let right = (hi / step).floor() * step;
        (1.0 + (right - left) / step).round() as usize
    };
    let mut scale = 10f64.powf(span.log10().floor());
    if 1 + (span / scale).floor() as usize > max_points {
        scale *= 10.0;
    }
    // Bounded: each round divides the step by 10 and the count grows with it.
    for _ in 0..32 {
        let old = scale;
        for nxt in [2.0, 5.0, 10.0] {
            if count(old / nxt) > max_points {
                return scale;
            }
            scale = old / nxt;
        }
    }
    scale
}

/// What an axis shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AxisUnit {
    Usd,
    Percent,
    Plain,
}

/// Tick labels for one axis, so that every label on it has one form (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Axis {
    unit: AxisUnit,
    /// `Some((power of ten, suffix, decimals))` on a linear axis; `None` on a log axis.
    linear: Option<(i32, &'static str, usize)>,
}

impl Axis {
    fn unit_of(unit: &str) -> AxisUnit {
        match unit {
            "USD" => AxisUnit::Usd,
            "fraction" | "log" | "%" => AxisUnit::Percent,
            _ => AxisUnit::Plain,
        }
    }

    /// A linear axis over `[lo, hi]` in `unit` (`USD`, `fraction` shown in %, or anything
    /// else as plain numbers) with at most `labels` ticks (plotters' ticks are 1, 2 or 5 times
    /// a power of ten apart, at least `(hi − lo)/labels`). The suffix comes from the larger
    /// end, the decimals from the smallest tick spacing possible, so neighbours differ.
    pub fn linear(unit: &str, lo: f64, hi: f64, labels: usize) -> Axis {
        let unit = Axis::unit_of(unit);
        let k = if unit == AxisUnit::Percent {
            100.0
        } else {
            1.0
        };
        let (lo, hi) = (lo * k, hi * k);
        let top = lo.abs().max(hi.abs());
        let (e, s) = if unit == AxisUnit::Percent || !(top > 0.0 && top.is_finite()) {
            (0, "")
        } else {
            suffix_for(rounded_exponent(top, 3))
        };
        let step = tick_step(lo.min(hi), lo.max(hi), labels) / 10f64.powi(e);
        // Ticks are 1, 2 or 5 times a power of ten apart: as many decimals as the step has.
        let decimals = if step > 0.0 && step.is_finite() {
            (-((step * (1.0 + 1e-9)).log10().floor() as i32)).clamp(0, 4) as usize
        } else {
            0
        };
        Axis {
            unit,
            linear: Some((e, s, decimals)),
        }
    }

    /// A log axis in `unit`: each label the shortest exact form of its own value.
    pub fn log(unit: &str) -> Axis {
        Axis {
            unit: Axis::unit_of(unit),
            linear: None,
        }
    }

    /// The label of the tick at `x` (a fraction for a percent axis).
    pub fn label(&self, x: f64) -> String {
        let v = if self.unit == AxisUnit::Percent {
            x * 100.0
        } else {
            x
        };
        let body = match self.linear {
            _ if v == 0.0 => "0".to_string(),
            Some((e, s, decimals)) => format!("{:.decimals$}{s}", v.abs() / 10f64.powi(e)),
            None => {
                let mag = rounded_exponent(v.abs(), 4);
                let (e, s) = if self.unit == AxisUnit::Percent {
                    (0, "")
                } else {
                    suffix_for(mag)
                };
                format!("{}{s}", sig(v.abs() / 10f64.powi(e), 4))
            }
        };
        let sign = if body.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            sign(v)
        } else {
            ""
        };
        match self.unit {
            AxisUnit::Usd => format!("{sign}${body}"),
            AxisUnit::Percent => format!("{sign}{body}%"),
            AxisUnit::Plain => format!("{sign}{body}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number quoted back in a message stays short (`tails --threshold 1e300` printed 301
    /// digits) and is unchanged in the usual range (the stored reasons keep their bytes).
    #[test]
    fn shortest_uses_an_exponent_only_for_huge_and_tiny_values() {
        assert_eq!(shortest(0.31), "0.31");
        assert_eq!(shortest(1250.0), "1250");
        assert_eq!(shortest(0.0), "0");
        assert_eq!(shortest(1e300), "1e300");
        assert_eq!(shortest(-2.5e-300), "-2.5e-300");
        assert_eq!(
            crate::tails::TailError::TooFewExceedances {
                threshold: 1e300,
                found: 0,
                required: 20
            }
            .to_string(),
            "only 0 exceedances above 1e300; need at least 20"
        );
    }

    #[test]
    fn tick_steps_match_plotters() {
        use plotters::coord::ranged1d::Ranged;
        use plotters::coord::types::RangedCoordf64;
        for &(lo, hi, n) in &[
            (0.0, 0.098, 10),
            (99_200.0, 100_800.0, 10),
            (0.0, 5e6, 10),
            (-3e7, 3e7, 10),
            (2210.0, 4720.0, 10),
            (0.04, 0.147, 10),
            (0.0, 1.0, 10),
            (0.0, 1.0, 4),
        ] {
            let keys = RangedCoordf64::from(lo..hi).key_points(n);
            let step = keys[1] - keys[0];
            assert!(
                (tick_step(lo, hi, n) - step).abs() < 1e-9 * step,
                "[{lo}, {hi}] {n}: {} vs plotters {step}",
                tick_step(lo, hi, n)
            );
        }
    }

    #[test]
    fn signed_never_prints_a_signed_zero() {
        assert_eq!(signed(1.234), "+1.23");
        assert_eq!(signed(-0.4), "-0.40");
        assert_eq!(signed(-0.004), "0.00");
        assert_eq!(signed(0.004), "0.00");
        assert_eq!(signed(-0.0), "0.00");
        assert_eq!(signed(f64::NAN), "–");
    }

    #[test]
    fn usd_has_three_significant_digits_and_a_suffix() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(-0.0), "$0");
        assert_eq!(usd(950.0), "$950");
        assert_eq!(usd(5.0), "$5.00");
        assert_eq!(usd(0.012345), "$0.0123");
        assert_eq!(usd(1234.0), "$1.23k");
        assert_eq!(usd(99_999.0), "$100k");
        assert_eq!(usd(100_000.0), "$100k");
        assert_eq!(usd(999.6), "$1.00k");
        assert_eq!(usd(45.6e6), "$45.6M");
        assert_eq!(usd(1.5e9), "$1.50B");
        assert_eq!(usd(2304.34e9), "$2.30T");
        assert_eq!(usd(-1.5e6), "-$1.50M");
        assert_eq!(usd(f64::NAN), "–");
    }

    #[test]
    fn percentages_have_two_decimals() {
        assert_eq!(percent(0.1234), "12.34%");
        assert_eq!(percent(0.005), "0.50%");
        assert_eq!(percent(1.0), "100.00%");
        assert_eq!(percent(0.0), "0.00%");
        assert_eq!(percent(-0.0), "0.00%");
        assert_eq!(percent(0.000_042), "<0.01%");
        assert_eq!(percent(-0.000_042), ">-0.01%");
        assert_eq!(percent(-0.25), "-25.00%");
        assert_eq!(points(12.5), "12.50%");
        assert_eq!(percent(f64::INFINITY), "–");
    }

    #[test]
    fn counts_and_numbers_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(4352), "4,352");
        assert_eq!(thousands(11_370), "11,370");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(number(11_370.0), "11,370");
        assert_eq!(number(-1234.5), "-1,234.50");
        assert_eq!(number(-0.001), "0.00");
        assert_eq!(number(2e15), "2.000e15");
    }

    #[test]
    fn prices_have_digits_for_their_size() {
        assert_eq!(price(2450.4), "2,450");
        assert_eq!(price(104_250.0), "104,250");
        assert_eq!(price(31.25), "31.25");
        assert_eq!(price(0.50123), "0.5012");
        assert_eq!(price(-1500.0), "-1,500");
    }

    #[test]
    fn human_follows_the_unit() {
        assert_eq!(human(0.5, "fraction"), "50.00%");
        assert_eq!(human(0.02, "log"), "2.00%");
        assert_eq!(human(2.5e6, "USD"), "$2.50M");
        assert_eq!(human(11_370.0, "count"), "11,370");
    }

    #[test]
    fn compact_parameter_values() {
        assert_eq!(compact(2.5e5), "250k");
        assert_eq!(compact(1e6), "1M");
        assert_eq!(compact(-3.25e9), "-3.25B");
        assert_eq!(compact(1.5e12), "1.5T");
        assert_eq!(compact(99_999.0), "100k");
        assert_eq!(compact(11_370.0), "11.4k");
        assert_eq!(compact(4352.0), "4.35k");
        assert_eq!(compact(999.6), "1k");
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(12.5), "12.5");
        assert_eq!(compact(0.004), "0.004");
        assert_eq!(compact(5e-5), "5e-5");
        // Subnormal: the power of ten underflows (it printed "infe-323").
        assert_eq!(compact(5e-324), "4.94e-324");
        assert_eq!(compact(-2.5e-310), "-2.5e-310");
        assert_eq!(compact(1.234e-4), "1.23e-4");
        assert_eq!(compact(9.999e-5), "1e-4");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn a_linear_axis_has_one_form() {
        // A price axis from $99.2k to $100.8k: plotters puts ticks 200 apart at most 10 labels.
        let a = Axis::linear("USD", 99_200.0, 100_800.0, 10);
        let labels: Vec<String> = [99_400.0, 99_600.0, 100_000.0, 100_600.0]
            .iter()
            .map(|&x| a.label(x))
            .collect();
        assert_eq!(labels, ["$99.4k", "$99.6k", "$100.0k", "$100.6k"]);
        // Notional from 0 to $5M: every label in M, the zero plain.
        let a = Axis::linear("USD", 0.0, 5e6, 10);
        assert_eq!(a.label(0.0), "$0");
        assert_eq!(a.label(1e6), "$1M");
        assert_eq!(a.label(-2e6), "-$2M");
        // From 0 to $4M the ticks are 0.5M apart.
        let a = Axis::linear("USD", 0.0, 4e6, 10);
        assert_eq!(a.label(5e5), "$0.5M");
        assert_eq!(a.label(2e6), "$2.0M");
        // Drawdown from 0 to 40%; a histogram's share of paths up to 9.8% (ticks 1% apart).
        let a = Axis::linear("fraction", 0.0, 0.098, 10);
        assert_eq!(a.label(0.09), "9%");
        let a = Axis::linear("fraction", 0.0, 0.4, 10);
        assert_eq!(a.label(0.05), "5%");
        assert_eq!(a.label(0.3), "30%");
        let a = Axis::linear("fraction", 0.0, 0.04, 10);
        assert_eq!(a.label(0.005), "0.5%");
        assert_eq!(a.label(0.03), "3.0%");
        let a = Axis::linear("count", 0.0, 50.0, 10);
        assert_eq!(a.label(10.0), "10");
    }

    #[test]
    fn a_log_axis_labels_each_value_exactly() {
        let a = Axis::log("USD");
        assert_eq!(a.label(1e3), "$1k");
        assert_eq!(a.label(2500.0), "$2.5k");
        assert_eq!(a.label(1e7), "$10M");
        assert_eq!(a.label(500.0), "$500");
        let a = Axis::log("fraction");
        assert_eq!(a.label(0.05), "5%");
        assert_eq!(a.label(0.001), "0.1%");
        let a = Axis::log("count");
        assert_eq!(a.label(20_000.0), "20k");
    }
}

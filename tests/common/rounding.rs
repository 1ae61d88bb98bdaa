//! Comparing two runs' `Debug`-printed figures up to the rounding of the closed-form
//! settlement (`engine::bulk`): for the tests that compare a path the venue settles in closed
//! form with the same path settled position by position.

/// Whether two texts of `Debug`-printed results are equal, except that floating-point figures
/// may differ by the closed form's rounding. Where a run goes the closed way (`engine::bulk`),
/// the venue takes its quantity and its fees, fund draw and bad debt from prefix sums, rounded
/// once, while the per-position path (the queue, or a population with a partial rule) adds
/// them position by position. That rounding is about `n·2⁻⁵³` of the magnitudes summed
/// (margins, `q·e`, `q·f`: each at most a position's notional), not of the figure, which can
/// be a small difference of large sums (fees of 0.79 USD moved by 1.4e-12 on 4,000 USD of
/// closes). So those figures, and the ADL notional computed from the shortfall after them, may
/// differ by 10⁻¹² of the figure plus the largest open interest or liquidated notional in the
/// texts: hundreds of times the worst rounding of the few thousand positions these tests
/// close. The quantity moves the fill, and the shortfall sizes what ADL closes (a partly
/// deleveraged remainder a later round sends to the book), so every fill, notional and price
/// after them may differ by 10⁻¹² of itself. Integers (counts, steps, flags) must be equal: a
/// different position closed or a count changed is a real difference.
pub fn same_but_settlement_rounding(a: &str, b: &str) -> bool {
    let split = |s: &str| -> Vec<String> {
        s.split([' ', ',', '{', '}', '[', ']', '(', ')', '\n'])
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (ta, tb) = (split(a), split(b));
    let scale = ta
        .windows(2)
        .filter(|w| ["open_interest:", "liquidated_notional:"].contains(&w[0].as_str()))
        .filter_map(|w| w[1].parse::<f64>().ok())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    ta.len() == tb.len()
        && (0..ta.len()).all(|i| {
            let money = i > 0
                && [
                    "fees:",
                    "insurance_fund_draw:",
                    "bad_debt:",
                    "adl_notional:",
                ]
                .contains(&ta[i - 1].as_str());
            let float = |t: &str| t.contains(['.', 'e']) || t.ends_with("inf") || t == "NaN";
            ta[i] == tb[i]
                || float(&ta[i])
                    && float(&tb[i])
                    && match (ta[i].parse::<f64>(), tb[i].parse::<f64>()) {
                        (Ok(x), Ok(y)) => {
                            let m = x.abs().max(y.abs());
                            (x - y).abs() <= 1e-12 * (m + if money { scale } else { 0.0 })
                        }
                        _ => false,
                    }
        })
}

//! Property tests through the public library API: random *valid* scenarios (a TOML template
//! filled with numbers drawn within the documented ranges, kept small so a case runs in
//! milliseconds in debug mode) and random mutations of them.
//!
//! - parsing never panics, on arbitrary text and on mutated scenarios, and every error
//!   issue has a message; a mutated scenario that still validates also simulates;
//! - the mark stays finite and > 0 at every step, even with −99% shocks and tiny books;
//! - no more notional is liquidated than exists, and no position is closed in full twice;
//! - every settlement (full or partial liquidation, insurance fund, auto-deleveraging, bad
//!   debt) balances to the cent; ADL happens only once a fund ran out, and only if enabled;
//! - with only longs, no upward move and all impact permanent, the mark never rises;
//! - bad debt, insurance-fund draws and fees are ≥ 0; a fund that starts empty is never
//!   drawn without fees, and never pays out more than the fees it received;
//! - results do not depend on the number of threads;
//! - (exploration, ignored) a deeper book does not always mean a smaller drawdown.

use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use cascadesim::engine::{
    AssetPathMetrics, AssetStep, Market, NoObserver, Observer, simulate_path,
};
use cascadesim::mc;
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

#[path = "common/random_scenario.rs"]
mod random_scenario;
use random_scenario::*;

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// Records every step-end view of a path.
#[derive(Default)]
struct Trace {
    steps: Vec<Vec<AssetStep>>,
}

impl Observer for Trace {
    fn on_step(&mut self, step: u32, assets: &[AssetStep]) {
        assert_eq!(
            step as usize,
            self.steps.len(),
            "steps are observed in order"
        );
        self.steps.push(assets.to_vec());
    }
}

fn trace_path(
    market: &Market,
    path: u64,
) -> (
    cascadesim::engine::PathSummary,
    Vec<AssetPathMetrics>,
    Trace,
) {
    let mut per = vec![AssetPathMetrics::default(); market.assets.len()];
    let mut trace = Trace::default();
    let s = simulate_path(market, path, &mut per, &mut trace);
    (s, per, trace)
}

fn run_all(market: &Market, paths: u64) -> mc::RunResults {
    mc::run(market, 0, paths, &|_| {}, &AtomicBool::new(false)).expect("not cancelled")
}

/// Where proptest records failing cases, replayed first on every later run. Proptest's
/// default looks for `lib.rs` or `main.rs` beside the test file, which an integration test in
/// `tests/` does not have, so it would record nothing.
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/properties.txt"
);

fn config(cases: u32) -> ProptestConfig {
    persisted(cases, REGRESSIONS, 2000)
}

// ------------------------------------------------------------------------------------------
// Parsing never panics
// ------------------------------------------------------------------------------------------

fn check_parse(text: &str) -> Result<Option<Scenario>, TestCaseError> {
    match Scenario::parse(text, "fuzz.toml", &NoFiles) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            prop_assert!(!e.issues.is_empty(), "an error without issues");
            for i in &e.issues {
                prop_assert!(
                    !i.message.trim().is_empty(),
                    "issue without a message: {i:?}"
                );
            }
            // The rendering used by the CLI must not panic either.
            let shown = e.to_string();
            prop_assert!(shown.contains("fuzz.toml"));
            Ok(None)
        }
    }
}

/// A scenario that a mutation left valid must also simulate (validation promises that what
/// it accepts runs). Only small ones, so a mutated `steps = 10000000` does not take minutes.
fn simulate_if_small(s: &Scenario) -> Result<(), TestCaseError> {
    if s.simulation.steps > 200 || s.position_count() > 20_000 || s.book_level_count() > 200_000 {
        return Ok(());
    }
    let market = Market::new(s);
    for path in 0..2 {
        let (_, _, trace) = trace_path(&market, path);
        for (t, step) in trace.steps.iter().enumerate() {
            for (a, x) in step.iter().enumerate() {
                prop_assert!(
                    x.mark.is_finite() && x.mark > 0.0,
                    "mutated scenario: path {path} step {t} asset {a}: mark {}\n{}",
                    x.mark,
                    s.text
                );
            }
        }
    }
    Ok(())
}

/// Tokens that are likely to hit edge cases where a number is expected.
const TOKENS: &[&str] = &[
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "1e-300",
    "1e300",
    "1e400",
    "-1e400",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "0x7fffffffffffffff",
    "0b1",
    "0o7",
    "1_000",
    "1__0",
    "_1",
    "1.",
    ".5",
    "1e",
    "\"1\"",
    "\"\"",
    "true",
    "[]",
    "[[]]",
    "{}",
    "{ a = 1 }",
    "1979-05-27",
    "0.5",
    "2",
    "1e-9",
    "0.999999",
    "1.0000001",
    "-0.99",
    "-1.0",
    "24",
    "4294967296",
    "=",
    "[",
    "]",
    "#",
    "\"\"\"",
    "'",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    /// Replaces a number of the text (picked by index) with a token.
    ReplaceNumber(prop::sample::Index, String),
    /// Replaces a whole `key = value` value with a token.
    ReplaceValue(prop::sample::Index, String),
    /// Cuts the text at a byte (on a char boundary).
    Truncate(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(TOKENS).prop_map(str::to_string),
        1 => any::<f64>().prop_map(|x| format!("{x:?}")),
        1 => any::<i64>().prop_map(|x| x.to_string()),
        1 => "[a-z_]{1,12}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<prop::sample::Index>().prop_map(Mutation::DeleteLine),
        1 => any::<prop::sample::Index>().prop_map(Mutation::DuplicateLine),
        3 => (any::<prop::sample::Index>(), token()).prop_map(|(i, t)| Mutation::ReplaceNumber(i, t)),
        2 => (any::<prop::sample::Index>(), token()).prop_map(|(i, t)| Mutation::ReplaceValue(i, t)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

/// Byte ranges of the numbers in `text`: maximal runs of `[0-9._eE+-]` that contain a digit
/// and start at a digit, a sign or a dot.
fn numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let is_num = |c: u8| c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'e' | b'E' | b'+' | b'-');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (b[i].is_ascii_digit() || matches!(b[i], b'-' | b'+' | b'.'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let mut j = i;
            while j < b.len() && is_num(b[j]) {
                j += 1;
            }
            if b[i..j].iter().any(u8::is_ascii_digit) {
                out.push(i..j);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn mutate(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        // An earlier mutation (a truncation) left nothing to pick a line from.
        return text.to_string();
    }
    match m {
        Mutation::DeleteLine(i) => {
            let k = i.index(lines.len());
            lines.remove(k);
        }
        Mutation::DuplicateLine(i) => {
            let k = i.index(lines.len());
            let l = lines[k].clone();
            lines.insert(k, l);
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
        }
        Mutation::ReplaceValue(i, t) => {
            let with_value: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].contains(" = "))
                .collect();
            if !with_value.is_empty() {
                let k = with_value[i.index(with_value.len())];
                let key = lines[k].split(" = ").next().unwrap_or("").to_string();
                lines[k] = format!("{key} = {t}");
            }
        }
        Mutation::ReplaceNumber(i, t) => {
            let nums = numbers(text);
            if nums.is_empty() {
                return text.to_string();
            }
            let r = nums[i.index(nums.len())].clone();
            return format!("{}{}{}", &text[..r.start], t, &text[r.end..]);
        }
        Mutation::Truncate(i) => {
            let mut cut = i.index(text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
    }
    lines.join("\n")
}

/// Fragments of scenario syntax, for token soups that get further into validation than
/// arbitrary text does.
const FRAGMENTS: &[&str] = &[
    "[simulation]",
    "[simulation.cascade]",
    "[[assets]]",
    "[assets.book]",
    "[[populations]]",
    "[correlation]",
    "[scenario]",
    "steps = ",
    "paths = ",
    "name = ",
    "price = ",
    "volatility = ",
    "profile = ",
    "depth_usd = ",
    "asset = ",
    "count = ",
    "open_interest_usd = ",
    "size = ",
    "leverage = ",
    "matrix = ",
    "shocks = ",
    "values = ",
    "weights = ",
    "levels = ",
    "\"flat\"",
    "\"A\"",
    "\"power_law\"",
    "{ distribution = \"lognormal\", sigma = 1 }",
    "{ values = [2], weights = [1] }",
    "[[1, 0.5], [0.5, 1]]",
    "[{ step = 0, return = -0.5 }]",
    "1",
    "0",
    "-1",
    "nan",
    "inf",
    "1e400",
    "0.5",
    "100",
    "\n",
    "\n",
    "\n",
    " ",
    "=",
    ",",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "#",
    "'",
    "\\",
    "é",
    "\u{0}",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        check_parse(&text)?;
    }

    #[test]
    fn parse_never_panics_on_scenario_token_soup(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..80)
    ) {
        check_parse(&parts.concat())?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn parse_never_panics_on_mutated_scenarios(
        s in scenario(EXTREME, 1..=4),
        mutations in prop::collection::vec(mutation(), 1..=3),
    ) {
        let mut text = s.toml();
        for m in &mutations {
            text = mutate(&text, m);
        }
        if let Some(parsed) = check_parse(&text)? {
            simulate_if_small(&parsed)?;
        }
    }
}

// ------------------------------------------------------------------------------------------
// Path invariants
// ------------------------------------------------------------------------------------------

/// Checks every step of a few paths: marks and fundamentals finite and > 0.
fn marks_are_prices(market: &Market, paths: u64, text: &str) -> Result<(), TestCaseError> {
    for path in 0..paths {
        let (summary, per, trace) = trace_path(market, path);
        prop_assert_eq!(trace.steps.len(), market.steps as usize);
        for (t, step) in trace.steps.iter().enumerate() {
            for (a, x) in step.iter().enumerate() {
                prop_assert!(
                    x.mark.is_finite() && x.mark > 0.0,
                    "path {} step {} asset {}: mark {}\n{}",
                    path,
                    t,
                    a,
                    x.mark,
                    text
                );
                prop_assert!(
                    x.fundamental.is_finite() && x.fundamental > 0.0,
                    "path {} step {} asset {}: fundamental {}\n{}",
                    path,
                    t,
                    a,
                    x.fundamental,
                    text
                );
                prop_assert!(x.liquidated_notional.is_finite() && x.liquidated_notional >= 0.0);
            }
        }
        for m in &per {
            prop_assert!(
                m.max_drawdown.is_finite() && (0.0..=1.0).contains(&m.max_drawdown),
                "{:?}",
                m
            );
            prop_assert!(m.end_return.is_finite());
        }
        prop_assert!(summary.liquidated_notional.is_finite());
        prop_assert!(summary.slippage_cost.is_finite() && summary.slippage_cost >= 0.0);
        prop_assert!(summary.bad_debt.is_finite());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// The mark is the book mid times the fundamental: it must stay a usable price whatever
    /// happens — −99% shocks, books of a few dollars that every order exhausts.
    #[test]
    fn mark_stays_finite_and_positive(s in scenario(EXTREME, 1..=3)) {
        let scenario = s.parse()?;
        marks_are_prices(&Market::new(&scenario), s.paths, &scenario.text)?;
    }

    /// Never more notional than exists, and each position liquidated at most once.
    ///
    /// Every position is liquidated whole, at most once, at its side's fill price: the
    /// liquidated notional on an asset is Σ qtyᵢ · fillᵢ over liquidated positions, so it is
    /// at most (Σ qty of all positions on the asset) × (highest fill price on the path).
    /// Bounding the highest fill price from what an observer sees (marks and fundamentals at
    /// step ends, so OI × "max mark ratio" with the book's reach as slack):
    /// - the mark is `reference · e^(ask displacement − bid displacement)` with
    ///   `reference = fundamental · e^(permanent impact)`; each displacement is at most the
    ///   book's extent E (deepest level plus a gap), so `e^(permanent) ≤ (mark/fundamental) ·
    ///   e^E_bid` at every step end;
    /// - within a step the cascade moves each asset's mark one way only (after a net sell no
    ///   short can newly trigger, after a net buy no long), so the permanent impact during
    ///   step t lies between its values at the ends of steps t − 1 and t;
    /// - a sell fills at or below the pre-trade mark, a buy at or below the deepest ask,
    ///   `reference · e^E_ask`.
    ///
    /// Hence every fill in step t is at most `max(f_t · m_{t−1}/f_{t−1}, m_t) · e^(E_bid +
    /// E_ask)`. The generated books reach at most a few log units, usually much less.
    #[test]
    fn liquidated_notional_never_exceeds_what_exists(s in scenario(EXTREME, 1..=3)) {
        let mut s = s;
        s.per_path = false; // fixed positions (replicates), so the test can see them
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        let n_assets = market.assets.len();
        for path in 0..s.paths {
            // The population replicate this path trades against.
            let rep = market.replicate(market.replicate_of(path).expect("fixed mode"));
            let mut qty = vec![0.0; n_assets];
            let mut positions = 0usize;
            for (p, pos) in market.populations.iter().zip(&rep.positions) {
                qty[p.asset] +=
                    pos.longs.qty.iter().sum::<f64>() + pos.shorts.qty.iter().sum::<f64>();
                positions += pos.longs.len() + pos.shorts.len();
            }
            let open_interest = rep.open_interest;
            let (summary, per, trace) = trace_path(&market, path);
            // A position may be partly liquidated several times but closed in full once.
            let full = summary.liquidation_count - summary.partial_liquidation_count;
            prop_assert!(
                full as usize <= positions,
                "path {}: {} full liquidations of {} positions", path, full, positions
            );
            prop_assert!((summary.open_interest - open_interest).abs() <= 1e-9 * open_interest);
            let mut total = 0.0;
            for a in 0..n_assets {
                let reach = (s.assets[a].book.extent() * 2.0).exp();
                let start = market.assets[a].start_price;
                let (mut prev_f, mut prev_m) = (start, start);
                let mut highest: f64 = start;
                for step in &trace.steps {
                    let x = step[a];
                    highest = highest.max(x.fundamental * prev_m / prev_f).max(x.mark);
                    prev_f = x.fundamental;
                    prev_m = x.mark;
                }
                let bound = qty[a] * highest * reach;
                let liq = per[a].liquidated_notional;
                prop_assert!(
                    liq <= bound * (1.0 + 1e-9),
                    "path {} asset {}: liquidated {} > {} (qty {}, highest price {}, reach {})",
                    path, a, liq, bound, qty[a], highest, reach
                );
                total += liq;
            }
            prop_assert!(
                (summary.liquidated_notional - total).abs() <= 1e-9 * total.max(1.0),
                "path total {} vs per-asset sum {}", summary.liquidated_notional, total
            );
            prop_assert!(
                (summary.long_liquidated_notional + summary.short_liquidated_notional
                    - summary.liquidated_notional).abs() <= 1e-9 * total.max(1.0)
            );
        }
    }

    /// Settlement splits a liquidation's equity into what goes back to the trader, the fee,
    /// the fund's draw and bad debt; none of the last three can be negative. With
    /// `insurance_fund_usd = 0` and no fee the fund stays empty and is never drawn. (With a
    /// fee it is not true that an initially empty fund is never drawn: fees paid into it by
    /// earlier liquidations cover later shortfalls; see the next property.)
    #[test]
    fn settlement_figures_are_non_negative(s in scenario(EXTREME, 1..=3), empty_fund in any::<bool>()) {
        let mut s = s;
        if empty_fund {
            for p in &mut s.pops {
                p.insurance_fund_usd = 0.0;
                p.liquidation_fee = 0.0;
                if let Some(partial) = &mut p.partial {
                    partial.2 = 0.0; // no fee on partial closes either
                }
            }
        }
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        let r = run_all(&market, s.paths);
        for (i, p) in r.paths.iter().enumerate() {
            prop_assert!(p.bad_debt >= 0.0 && p.bad_debt.is_finite(), "path {}: bad debt {}", i, p.bad_debt);
            prop_assert!(p.insurance_fund_draw >= 0.0 && p.insurance_fund_draw.is_finite(), "path {}: draw {}", i, p.insurance_fund_draw);
            prop_assert!(p.fees >= 0.0 && p.fees.is_finite(), "path {}: fees {}", i, p.fees);
            prop_assert!(p.unfilled_notional >= 0.0 && p.unfilled_notional.is_finite());
            if empty_fund {
                prop_assert_eq!(p.fees, 0.0);
                prop_assert_eq!(p.insurance_fund_draw, 0.0, "path {}: an empty fund paid out", i);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// With `insurance_fund_usd = 0` the fund still receives liquidation fees and pays them
    /// out again for later shortfalls, so its draws can be > 0; it can never pay out more
    /// than the fees it received.
    #[test]
    fn an_empty_fund_pays_out_at_most_its_fees(s in scenario(EXTREME, 1..=3)) {
        let mut s = s;
        for p in &mut s.pops {
            p.insurance_fund_usd = 0.0;
        }
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        let r = run_all(&market, s.paths);
        for (i, p) in r.paths.iter().enumerate() {
            prop_assert!(
                p.insurance_fund_draw <= p.fees * (1.0 + 1e-12),
                "path {}: the fund paid {} but only received {} in fees", i, p.insurance_fund_draw, p.fees
            );
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// Out to the documented limits: whatever validation accepts simulates with usable
    /// prices (the scenarios it rejects are fine too: that is what it is for).
    #[test]
    fn whatever_validation_accepts_keeps_prices_usable(s in scenario(WILD, 1..=2)) {
        let text = s.toml();
        if let Some(scenario) = check_parse(&text)? {
            marks_are_prices(&Market::new(&scenario), s.paths, &text)?;
        }
    }
}

fn longs_only_no_rise(s: &ScenarioP) -> ScenarioP {
    let mut s = s.clone();
    for a in &mut s.assets {
        a.volatility = 0.0;
        a.drift = a.drift.min(0.0);
        for sh in &mut a.shocks {
            sh.1 = sh.1.min(0.0);
        }
        a.book.refill_half_life_s = 1e12;
        a.book.permanent_impact = 1.0;
    }
    for p in &mut s.pops {
        p.long_share = 1.0;
    }
    s
}

proptest! {
    #![proptest_config(config(48))]

    /// With only longs and no upward move the mark never rises from one step to the next.
    ///
    /// Within a step's cascade the mark can only fall here (only sells walk the book). Across
    /// steps it could rise in general: the book refills and the transient part of the impact
    /// decays, so the mid moves back up toward the reference. With `permanent_impact = 1`
    /// every sweep moves its whole price move into the reference price and leaves the hole
    /// where it was (at 0: nothing is transient), so there is nothing for the refill to undo
    /// — `refill_half_life_s = 1e12` makes doubly sure. The reference is then the fundamental
    /// (volatility 0, drift ≤ 0, shocks ≤ 0: non-increasing) times e^(permanent impact)
    /// (sells only: non-increasing), so the mark is non-increasing over steps.
    #[test]
    fn longs_only_without_upward_moves_never_see_the_mark_rise(s in scenario(EXTREME, 1..=3)) {
        let s = longs_only_no_rise(&s);
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        for path in 0..s.paths {
            let (summary, _, trace) = trace_path(&market, path);
            prop_assert_eq!(summary.short_liquidated_notional, 0.0);
            let mut prev: Vec<f64> = market.assets.iter().map(|a| a.start_price).collect();
            for (t, step) in trace.steps.iter().enumerate() {
                for (a, x) in step.iter().enumerate() {
                    prop_assert!(
                        x.mark <= prev[a],
                        "path {} step {} asset {}: mark rose from {} to {}", path, t, a, prev[a], x.mark
                    );
                    prev[a] = x.mark;
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Determinism across thread counts
// ------------------------------------------------------------------------------------------

fn on_threads(n: usize, market: &Market, paths: u64) -> Result<mc::RunResults, TestCaseError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| TestCaseError::fail(format!("thread pool: {e}")))?;
    Ok(pool.install(|| run_all(market, paths)))
}

proptest! {
    #![proptest_config(config(8))]

    /// More paths than one chunk (256), so three threads really share the work.
    #[test]
    fn results_are_identical_on_one_and_three_threads(s in scenario(NORMAL, 260..=520)) {
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        let one = on_threads(1, &market, s.paths)?;
        let three = on_threads(3, &market, s.paths)?;
        prop_assert_eq!(one.paths.len(), s.paths as usize);
        prop_assert_eq!(&one.paths, &three.paths);
        prop_assert_eq!(&one.assets, &three.assets);
    }
}

// ------------------------------------------------------------------------------------------
// Exploration: does a deeper book always mean a smaller drawdown?
// ------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    /// Under common random numbers (same seed, so the same price draws and positions),
    /// doubling every book's depth does NOT always lower a path's max drawdown. Ignored: the
    /// property is false in this model (a finding about the model, not an engine bug), and
    /// the failing case proptest recorded in `proptest-regressions/properties.txt` is replayed
    /// first whenever it is run with `--ignored`.
    ///
    /// Shrunk counterexample (seed 5168159299199956861, 1 path, 8 steps of 1 s, max_rounds 1,
    /// fixed population): asset A1 at price 1, volatility 1.65, Student-t(10.95), a +26.9%
    /// shock at step 5, flat 2-level book with $143M of depth, refill half-life 1 s,
    /// permanent_impact 0; 214 longs ($48M OI, leverage ≈ 7.5, entries normal around −6.5%)
    /// on A1; A0 has no positions. Max drawdown 6.681327e-4 with depth d, 6.681392e-4 with
    /// 2d. Both books liquidate the same $198k at step 1; the deeper mark is higher at every
    /// step, but the drawdown is measured from the peak after the shock (step 5), when the
    /// shallow book is still displaced by what is left of the step-1 sweep. That remainder
    /// keeps refilling during the fall that follows, lifting the shallow mark and cushioning
    /// its drawdown; the deeper book has less left to recover, so it shows the larger fall
    /// (the "depth that refills later" effect).
    ///
    /// The second recorded case (seed 1171198430027680, 2 steps, max_rounds 8): volatility 0,
    /// one −17% shock at step 0, power-law book (power 1.24, 1057 levels 0.35 bp apart, $22k
    /// within 41 bp), permanent_impact 1, 195 longs with $100M OI: max drawdown 36.17% with
    /// depth d, 36.72% with 2d. All 195 positions go either way, but in 7 rounds that all
    /// exhaust the shallow book against 9 rounds (2 exhausting) for the deeper one: the
    /// splitting mechanism below.
    ///
    /// Three mechanisms break the property, each found by variants of this test:
    /// - refill after the peak, as above (longs only, permanent_impact 0, volatility > 0);
    /// - splitting with permanent impact: with permanent_impact > 0 part of the consumed
    ///   depth is re-centred at once, so each round walks a (partly) fresh book, and the move
    ///   of one sweep is concave in its size (capped at the book's extent when it exhausts
    ///   the side, the backstop taking the rest; sub-linear on "V" books). A shallow book
    ///   takes the cascade in few big sweeps; a deeper one splits it over more rounds, whose
    ///   moves add up to more, and the price ends lower. By hand, with volatility 0 and longs
    ///   only:
    ///   `price = 100, shocks = [{ step = 0, return = -0.048 }]`, flat book with default
    ///   levels/spacing, `permanent_impact = 0.5`, 10 longs of $100M OI in all,
    ///   `leverage = { distribution = "uniform", min = 5, max = 20 }`, size lognormal σ 0.1,
    ///   steps 2, max_rounds 50, seed 1: depth_usd 1,520,875 → max drawdown 24.25% in
    ///   2 rounds; depth_usd 3,041,750 → 28.55% in 3 rounds (26.4% vs 29.6% with
    ///   permanent_impact 1);
    /// - both sides: a deeper book damps a short squeeze, which changes which longs and
    ///   shorts are liquidated when; the marks of the two books are no longer ordered.
    ///
    /// With only longs, permanent_impact 0 and no upward move (volatility 0, shocks ≤ 0) no
    /// counterexample turned up in 300 cases: there the deeper book's mark is higher at every
    /// round (fewer triggers, a smaller hole relative to a deeper book) and the peak is the
    /// start price.
    #[test]
    #[ignore = "false in this model (see the counterexample above); kept as documentation"]
    fn deeper_books_never_deepen_drawdowns(s in scenario(NORMAL, 1..=3)) {
        let shallow = s.parse()?;
        let mut deep_p = s.clone();
        for a in &mut deep_p.assets {
            a.book.depth_usd *= 2.0;
        }
        let deep = deep_p.parse()?;
        let (ms, md) = (Market::new(&shallow), Market::new(&deep));
        for path in 0..s.paths {
            let mut ps = vec![AssetPathMetrics::default(); ms.assets.len()];
            let mut pd = vec![AssetPathMetrics::default(); md.assets.len()];
            let a = simulate_path(&ms, path, &mut ps, &mut NoObserver);
            let b = simulate_path(&md, path, &mut pd, &mut NoObserver);
            prop_assert!(
                b.max_drawdown <= a.max_drawdown + 1e-12,
                "path {}: max drawdown {} with depth d but {} with 2d", path, a.max_drawdown, b.max_drawdown
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Settlement conservation
// ------------------------------------------------------------------------------------------

mod conservation {
    use super::*;
    use cascadesim::model::margin::{self, MarginSchedule, PartialRule, Position};

    /// A position of 10²–10⁸ USD notional at 1–100× on a 0.4%/1%/2.5% tiered schedule.
    fn position() -> impl Strategy<Value = Position> {
        (any::<bool>(), 2.0..8.0f64, 1.0..5.0f64, 1.0..100.0f64).prop_map(
            |(long, log_notional, log_entry, lev)| {
                let entry = 10f64.powf(log_entry);
                let notional = 10f64.powf(log_notional);
                Position {
                    long,
                    qty: notional / entry,
                    entry,
                    margin: notional / lev,
                }
            },
        )
    }

    fn schedule() -> MarginSchedule {
        MarginSchedule::tiered(&[(0.0, 0.004), (1e5, 0.01), (1e7, 0.025)])
    }

    /// Asserts `a == b` to the cent.
    fn cents(a: f64, b: f64, what: &str) -> Result<(), TestCaseError> {
        prop_assert!((a - b).abs() < 0.005, "{}: {} vs {}", what, a, b);
        Ok(())
    }

    proptest! {
        #![proptest_config(config(2000))]

        /// A liquidation at a mark past the liquidation price (by up to 20%) filled up to 20%
        /// worse, with or without partial liquidation, a fund of any size and opposite
        /// positions to deleverage: margin, fills, fees, fund, ADL and bad debt balance to
        /// the cent, for the liquidated position and for every counterparty, and a partial
        /// remainder's liquidation price is the formula's (equity = maintenance there).
        #[test]
        fn every_settlement_balances_to_the_cent(
            p in position(),
            past in prop_oneof![0.0..0.002f64, 0.0..0.2f64],
            slip in 0.0..0.2f64,
            fund0 in prop_oneof![Just(0.0), 0.0..1e6f64],
            partial in proptest::option::of((1.01..10.0f64, 0.0..0.003f64)),
            fee in 0.0..0.02f64,
            cps in proptest::collection::vec(position(), 0..6),
        ) {
            let sched = schedule();
            let liq = p.liquidation_price(&sched);
            prop_assume!(liq > 0.0);
            let s_ = p.sign();
            let mark = liq * (1.0 - s_ * past);
            let fill = mark * (1.0 - s_ * slip);
            prop_assume!(mark > 0.0 && fill > 0.0);
            let rule = partial.map(|(k, f)| PartialRule { target_multiple: k, min_notional: 0.0, fee: f });
            let close = margin::close_quantity(&p, mark, &sched, rule.as_ref());
            prop_assert!(close > 0.0 && close <= p.qty);
            let fee_rate = match rule {
                Some(r) if close < p.qty => r.fee,
                _ => fee,
            };
            let mut fund = fund0;
            let st = margin::settle(&p, close, fill, fee_rate, &mut fund);
            cents(
                p.margin + p.pnl_of(close, fill),
                st.returned + st.remaining_margin + st.fee - st.fund_draw - st.uncovered,
                "liquidated position",
            )?;
            cents(fund, fund0 + st.fee - st.fund_draw, "fund")?;
            prop_assert!(st.returned >= 0.0 && st.fee >= 0.0 && st.fund_draw >= 0.0 && st.uncovered >= 0.0);
            prop_assert!(fund >= 0.0);
            prop_assert!(st.uncovered == 0.0 || fund == 0.0, "uncovered {} with {} left in the fund", st.uncovered, fund);
            if close < p.qty {
                // The remainder: its new liquidation price is where equity meets maintenance.
                let rest = Position { qty: p.qty - close, margin: st.remaining_margin, ..p };
                let t = sched.tier(rest.qty * rest.entry);
                let l = rest.liquidation_price(&sched);
                let maint = t.rate * rest.qty * l - t.cum;
                prop_assert!((rest.equity(l) - maint).abs() <= 1e-6 * (rest.qty * l).max(1.0));
                if (fill - mark).abs() < 1e-12 * mark {
                    // Filled at the mark, the remainder meets the target and is safe there.
                    let k = rule.map(|r| r.target_multiple).unwrap_or(1.0);
                    let req = t.rate * rest.qty * mark - t.cum;
                    prop_assert!(rest.equity(mark) >= k * req - 1e-6 * rest.qty * mark);
                    let beyond = if p.long { l < mark } else { l > mark };
                    prop_assert!(beyond, "new liquidation price {} vs mark {}", l, mark);
                }
            }
            // Auto-deleveraging: opposite positions at the bankruptcy price.
            let bk = p.bankruptcy_price();
            let mut covered = 0.0;
            for cp in &cps {
                let cp = Position { long: !p.long, ..*cp };
                if let Some(d) = margin::deleverage(&cp, bk, fill, st.uncovered - covered) {
                    cents(
                        cp.margin + cp.pnl_of(d.closed, fill),
                        d.returned + d.remaining_margin + d.haircut,
                        "counterparty",
                    )?;
                    prop_assert!(d.closed > 0.0 && d.closed <= cp.qty);
                    prop_assert!(d.haircut >= 0.0 && d.returned >= 0.0 && d.remaining_margin >= 0.0);
                    covered += d.haircut;
                }
            }
            prop_assert!(covered <= st.uncovered * (1.0 + 1e-12) + 1e-9);
            let bad_debt = (st.uncovered - covered).max(0.0);
            // The whole shortfall is paid by the fund, ADL and bad debt.
            if st.returned == 0.0 && close == p.qty {
                cents(-p.equity(fill).min(0.0), st.fund_draw + covered + bad_debt, "shortfall")?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Random scenarios with partial liquidation and ADL switched on or off at random: ADL
    /// happens only in paths where a fund ran out and only where it is enabled; the first
    /// exhaustion step is within the path; partial liquidations are a part of all
    /// liquidations; every figure is finite and ≥ 0.
    #[test]
    fn adl_only_after_the_fund_ran_out(s in scenario(EXTREME, 1..=3)) {
        let scenario = s.parse()?;
        let market = Market::new(&scenario);
        let adl = s.pops.iter().any(|p| p.auto_deleverage);
        let partial = s.pops.iter().any(|p| p.partial.is_some());
        let r = run_all(&market, s.paths);
        for (i, p) in r.paths.iter().enumerate() {
            prop_assert_eq!(p.fund_exhausted, p.fund_exhausted_at > 0, "path {}", i);
            prop_assert!(p.fund_exhausted_at <= s.steps);
            if p.adl_count > 0 || p.adl_notional > 0.0 {
                prop_assert!(adl && p.fund_exhausted, "path {}: ADL with fund_exhausted = {}", i, p.fund_exhausted);
            }
            if p.bad_debt > 0.0 {
                prop_assert!(p.fund_exhausted, "path {}: bad debt while the fund had money", i);
            }
            prop_assert!(p.adl_notional >= 0.0 && p.adl_notional.is_finite());
            prop_assert!(p.partial_liquidation_count <= p.liquidation_count);
            if !partial {
                prop_assert_eq!(p.partial_liquidation_count, 0);
            }
        }
    }
}

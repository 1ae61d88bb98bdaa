//! The engine's fast paths give the general step's numbers to the bit, on random scenarios.
//!
//! A step on which no position can trigger may skip the cascade loop (the quiet lane), and a
//! run of such steps is a loop of its own (the lone-asset loop, or with several assets the
//! several-asset loop, `engine::solo`). All must change nothing: every random scenario (one
//! or two assets, random books, populations with random leverage, sizes and entries, partial
//! liquidation and ADL, random volatility, fat tails, jumps, shocks and price floors, and,
//! some of the time, the rules the lane does not handle — circuit breaker,
//! volatility-dependent depth, funding) is simulated three times: with every fast path
//! allowed, with the lane but not the loops of quiet steps, and with the general step only
//! (`Market::with_fast_paths`). The summaries, per-asset and per-population figures and the
//! steps an observer of liquidations sees must be identical bit for bit (compared through
//! `{:?}`, which tells `-0.0` from `0.0`). Scenarios of two to four assets over longer
//! paths, with the dependence the several-asset loop draws through (none, correlation, a
//! regime change, a common jump clock, shared t mixing) and GARCH feedback, check that loop
//! the same way, and a hand-built one the rule by which it keeps an asset's skip interval
//! across another asset's cascade step; hand-built three- and four-asset scenarios, one
//! asset cascading while the others (with armed populations of their own) stay quiet, the
//! rule by which such a cascade step looks only at the assets whose marks left their bands;
//! and the bundled cross-margin contagion, in which it may not. A rare-event control
//! (tilted draws, a stream switch, a stop) keeps the lane and must match too.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use cascadesim::engine::{
    AssetPathMetrics, AssetStep, Control, FastPaths, Market, Observer, PathSummary,
    PopulationPathMetrics, simulate_full,
};
use cascadesim::model::price::StepDraws;

#[path = "common/random_scenario.rs"]
mod random_scenario;
use random_scenario::*;

/// Rules added to a random scenario: those the quiet lane must handle itself (jumps, a
/// price floor) and those that keep it off (circuit breaker, volatility depth, funding).
#[derive(Debug, Clone)]
struct Extras {
    /// `jumps` of every asset: rate per day, mean and sd of the log size.
    jumps: Option<(f64, f64, f64)>,
    /// `price_floor_usd` of every book, as a fraction of the asset's price.
    floor: Option<f64>,
    /// `[simulation.circuit_breaker]`: max move, halt steps.
    breaker: Option<(f64, u32)>,
    /// `[assets.book.volatility_depth]` beta.
    vol_depth: Option<f64>,
    /// `funding = { rate }` of every population.
    funding: Option<f64>,
}

fn extras() -> impl Strategy<Value = Extras> {
    (
        prop::option::weighted(0.3, (0.5..=50.0f64, -0.01..=0.01f64, 0.001..=0.03f64)),
        prop::option::weighted(0.3, 0.5..=0.999f64),
        prop::option::weighted(0.2, (0.001..=0.2f64, 1u32..=5)),
        prop::option::weighted(0.2, 0.1..=3.0f64),
        prop::option::weighted(0.2, -0.001..=0.001f64),
    )
        .prop_map(|(jumps, floor, breaker, vol_depth, funding)| Extras {
            jumps,
            floor,
            breaker,
            vol_depth,
            funding,
        })
}

/// The scenario's TOML with the extras written in.
fn with_extras(s: &ScenarioP, x: &Extras) -> String {
    let text = s.toml();
    let mut chunks: Vec<String> = text.split("[assets.book]\n").map(str::to_string).collect();
    assert_eq!(chunks.len(), s.assets.len() + 1, "one book per asset");
    for (i, chunk) in chunks.iter_mut().enumerate() {
        // Chunk `i` ends with asset `i`'s keys (for i < assets); chunk `i + 1` starts with
        // asset `i`'s book keys, which end at its first blank line.
        if i < s.assets.len()
            && let Some((rate, mean, sd)) = x.jumps
        {
            let j = format!(
                "jumps = {{ rate_per_day = {}, mean = {}, sd = {} }}\n",
                num(rate),
                num(mean),
                num(sd)
            );
            chunk.push_str(&j);
        }
        if i > 0 {
            let a = &s.assets[i - 1];
            let mut head = String::new();
            if let Some(f) = x.floor {
                head.push_str(&format!("price_floor_usd = {}\n", num(f * a.price)));
            }
            let mut c = head + chunk;
            if let Some(beta) = x.vol_depth {
                let at = c
                    .find("\n\n")
                    .expect("the book's keys end with a blank line");
                c.insert_str(
                    at + 1,
                    &format!(
                        "\n[assets.book.volatility_depth]\nbeta = {}\nreference_volatility = 0.5\nhalf_life_s = 120\nmin = 0.2\nmax = 2.0\n",
                        num(beta)
                    ),
                );
            }
            *chunk = c;
        }
    }
    let mut out = chunks.join("[assets.book]\n");
    if let Some(rate) = x.funding {
        out = out
            .replace(
                "auto_deleverage = true\n",
                &format!(
                    "auto_deleverage = true\nfunding = {{ rate = {} }}\n",
                    num(rate)
                ),
            )
            .replace(
                "auto_deleverage = false\n",
                &format!(
                    "auto_deleverage = false\nfunding = {{ rate = {} }}\n",
                    num(rate)
                ),
            );
    }
    if let Some((max_move, halt_steps)) = x.breaker {
        out.push_str(&format!(
            "\n[simulation.circuit_breaker]\nmax_move = {}\nhalt_steps = {halt_steps}\n",
            num(max_move)
        ));
    }
    out
}

/// How several assets' moves depend on each other, added to a random scenario of two or
/// more assets (whose `[correlation]` table correlates the first two).
#[derive(Debug, Clone)]
struct Dependence {
    /// No `[correlation]` table at all (independent assets; the keys below are then unused).
    independent: bool,
    /// `jump_clock = "common"` (matters only with jumps).
    common_jumps: bool,
    /// Every asset Student-t with these degrees of freedom and `t_mixing = "shared"`.
    shared_t: Option<f64>,
    /// A `[[correlation.regimes]]` from this fraction of the steps, with this correlation of
    /// the first two assets.
    regime: Option<(f64, f64)>,
    /// `volatility_feedback = { alpha, beta }` on every asset (GARCH: the variance is path
    /// state the loop carries), when no asset has jumps and every volatility is positive.
    feedback: Option<(f64, f64)>,
}

fn dependence() -> impl Strategy<Value = Dependence> {
    (
        prop::bool::weighted(0.4),
        any::<bool>(),
        prop::option::weighted(0.3, 2.5..=30.0f64),
        prop::option::weighted(0.3, (0.0..1.0f64, -0.95..=0.95f64)),
        prop::option::weighted(0.3, (0.01..=0.2f64, 0.5..=0.79f64)),
    )
        .prop_map(
            |(independent, common_jumps, shared_t, regime, feedback)| Dependence {
                independent,
                common_jumps,
                shared_t,
                regime,
                feedback,
            },
        )
}

/// The scenario's TOML with the extras and the dependence written in (`s` has two or more
/// assets).
fn with_dependence(s: &ScenarioP, x: &Extras, d: &Dependence) -> String {
    let mut s = s.clone();
    if let (false, Some(dof)) = (d.independent, d.shared_t) {
        for a in &mut s.assets {
            a.dof = Some(dof);
        }
    }
    let mut text = with_extras(&s, x);
    if let Some((alpha, beta)) = d.feedback
        && x.jumps.is_none()
        && s.assets.iter().all(|a| a.volatility > 0.0)
    {
        let key = format!(
            "volatility_feedback = {{ alpha = {}, beta = {} }}\n",
            num(alpha),
            num(beta)
        );
        text = text
            .lines()
            .map(|l| match l.starts_with("volatility = ") {
                true => format!("{l}\n{key}"),
                false => format!("{l}\n"),
            })
            .collect();
    }
    let at = text.find("[correlation]\n").expect("two or more assets");
    if d.independent {
        // Independent Gaussian assets take the several-asset loop's inlined draws.
        let end = at + text[at..].find("\n\n").expect("the table ends") + 2;
        return format!("{}{}", &text[..at], &text[end..]);
    }
    let mut keys = String::new();
    if d.common_jumps {
        keys.push_str("jump_clock = \"common\"\n");
    }
    if d.shared_t.is_some() {
        keys.push_str("t_mixing = \"shared\"\n");
    }
    if let Some((from, rho)) = d.regime {
        // A regime starts after step 0 and before the last step: none with one step.
        let from = 1 + (from * f64::from(s.steps.saturating_sub(1))) as u32;
        if from < s.steps {
            keys.push_str(&format!(
                "\n[[correlation.regimes]]\nfrom_step = {from}\nmatrix = {}\n",
                correlation_matrix(s.assets.len(), rho)
            ));
        }
    }
    let end = at + text[at..].find('\n').expect("a line") + 1;
    let end = end + text[end..].find('\n').expect("the matrix") + 1;
    text.insert_str(end, &keys);
    text
}

/// Records the steps with liquidations (the observer the Monte Carlo run's realised heatmap
/// is: it leaves the quiet lane on).
#[derive(Default)]
struct Liquidations {
    steps: Vec<(u32, Vec<AssetStep>)>,
}

impl Observer for Liquidations {
    const QUIET_STEPS: bool = false;

    fn on_step(&mut self, step: u32, assets: &[AssetStep]) {
        self.steps.push((step, assets.to_vec()));
    }
}

/// A rare-event-like control: tilts the diffusion draws, switches the path to another
/// stream at one step and stops it once its drawdown passes a level.
struct Steer {
    tilt: f64,
    switch: u32,
    key: u64,
    stop: f64,
}

impl Control for Steer {
    fn on_draws(&mut self, _market: &Market, _step: u32, d: &mut StepDraws) {
        for z in &mut d.z {
            *z += self.tilt;
        }
    }

    fn switch_at(&mut self, step: u32) -> Option<u64> {
        (step == self.switch).then_some(self.key)
    }

    fn stop_after(&mut self, _step: u32, drawdown: f64) -> bool {
        drawdown > self.stop
    }
}

/// Everything a path gives, as text: `{:?}` of f64 is exact and tells `-0.0` from `0.0`.
fn run<C: Control>(market: &Market, path: u64, control: &mut C) -> String {
    let mut per_asset = vec![AssetPathMetrics::default(); market.assets.len()];
    let mut per_pop = vec![PopulationPathMetrics::default(); market.populations.len()];
    let mut obs = Liquidations::default();
    let s: PathSummary = simulate_full(
        market,
        path,
        &mut per_asset,
        &mut per_pop,
        &mut obs,
        control,
    );
    format!("{s:?}\n{per_asset:?}\n{per_pop:?}\n{:?}", obs.steps)
}

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/fast_paths.txt"
);

fn config(cases: u32) -> ProptestConfig {
    persisted(cases, REGRESSIONS, 1000)
}

fn markets(text: &str) -> Result<[Market; 3], TestCaseError> {
    let scenario = cascadesim::model::spec::Scenario::parse(
        text,
        "fast-paths.toml",
        &cascadesim::scenario::NoFiles,
    )
    .map_err(|e| TestCaseError::fail(format!("generated scenario is invalid:\n{e}\n{text}")))?;
    let m = Market::new(&scenario);
    Ok([
        m.clone(),
        m.clone().with_fast_paths(FastPaths::LaneOnly),
        m.with_fast_paths(FastPaths::None),
    ])
}

/// Paths `0..paths` of the scenario `text` give the same numbers with every fast path, with
/// the lane only and with the general step only.
fn three_ways_agree(text: &str, paths: u64) -> Result<(), TestCaseError> {
    let [all, lane, general] = markets(text)?;
    for path in 0..paths {
        let want = run(&general, path, &mut cascadesim::engine::Plain);
        let got_lane = run(&lane, path, &mut cascadesim::engine::Plain);
        prop_assert!(
            got_lane == want,
            "lane differs on path {}:\n{}\n---\n{}\n{}",
            path,
            got_lane,
            want,
            text
        );
        let got_all = run(&all, path, &mut cascadesim::engine::Plain);
        prop_assert!(
            got_all == want,
            "loop of quiet steps differs on path {}:\n{}\n---\n{}\n{}",
            path,
            got_all,
            want,
            text
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(192))]

    /// The loops of quiet steps and the quiet lane give the general step's numbers, to the
    /// bit.
    #[test]
    fn fast_paths_match_the_general_step(
        s in prop_oneof![scenario(NORMAL, 1..=3), scenario(EXTREME, 1..=3)],
        x in extras(),
    ) {
        three_ways_agree(&with_extras(&s, &x), s.paths)?;
    }

    /// Under a rare-event control (tilted draws, a stream switch, a stop at a drawdown) the
    /// lane still gives the general step's numbers.
    #[test]
    fn the_lane_matches_the_general_step_under_control(
        s in scenario(EXTREME, 1..=2),
        x in extras(),
        tilt in -0.5..=0.5f64,
        switch in 0u32..30,
        stop in 0.01..=1.0f64,
    ) {
        let text = with_extras(&s, &x);
        let [all, _, general] = markets(&text)?;
        for path in 0..s.paths {
            let steer = |p: u64| Steer { tilt, switch, key: p + 1_000, stop };
            let want = run(&general, path, &mut steer(path));
            let got = run(&all, path, &mut steer(path));
            prop_assert!(got == want, "lane under control differs on path {}:\n{}\n---\n{}\n{}", path, got, want, text);
        }
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// With two to four assets, over longer paths and through every kind of dependence the
    /// step's draws know, the several-asset loop gives the general step's numbers.
    #[test]
    fn the_several_asset_loop_matches_the_general_step(
        s in prop_oneof![
            scenario_of(NORMAL, 2..=4, 1..=4, 1..=120, 1..=2),
            scenario_of(EXTREME, 2..=4, 1..=4, 1..=120, 1..=2),
        ],
        x in extras(),
        d in dependence(),
    ) {
        three_ways_agree(&with_dependence(&s, &x, &d), s.paths)?;
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// With five or six assets, whose per-asset scalars the several-asset loop holds in
    /// vectors rather than the fixed arrays of two to four (`engine::solo`'s `Hot`), it gives
    /// the general step's numbers likewise.
    #[test]
    fn the_several_asset_loop_matches_the_general_step_beyond_four_assets(
        s in scenario_of(EXTREME, 5..=6, 1..=6, 1..=60, 1..=2),
        x in extras(),
        d in dependence(),
    ) {
        three_ways_agree(&with_dependence(&s, &x, &d), s.paths)?;
    }
}

/// An asset that moved on a step that went through the cascade loop (another asset's
/// positions triggered) loses its skip interval, since recording that step changed its
/// extremes. B falls from 100 to 90 and comes back to 95, so that 90–95 sets no new extreme
/// and B at 93 is skipped; at step 5 A's shock liquidates A's longs while B makes a new peak
/// at 120; at step 6 B falls back to 94, inside the old interval but a new drawdown from 120.
/// The loop of quiet steps must record that drawdown like the general step.
#[test]
fn an_asset_that_moved_on_a_cascade_step_loses_its_skip_interval() {
    let book = "[assets.book]\nprofile = \"flat\"\nspread_bp = 1.0\nlevel_spacing_bp = 1.0\n\
                levels = 200\ndepth_usd = 1.0e8\ndepth_band_bp = 100\n\
                refill_half_life_s = 60\npermanent_impact = 0.0\n\n";
    let text = format!(
        "[simulation]\npaths = 1\nsteps = 10\nstep_seconds = 60\nseed = 3\n\n\
         [[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.0\n\
         shocks = [{{ step = 5, return = -0.10 }}]\n\n{book}\
         [[assets]]\nname = \"B\"\nprice = 100.0\nvolatility = 0.0\n\
         shocks = [{{ step = 1, return = -0.10 }}, {{ step = 2, return = 0.0555555 }}, \
         {{ step = 3, return = -0.021 }}, {{ step = 5, return = 0.29 }}, \
         {{ step = 6, return = -0.217 }}]\n\n{book}\
         [[populations]]\nasset = \"A\"\ncount = 200\nopen_interest_usd = 1.0e7\n\
         long_share = 1.0\nmaintenance_margin = 0.005\n\
         size = {{ distribution = \"lognormal\", sigma = 0.5 }}\n\
         leverage = {{ values = [20], weights = [1.0] }}\n\
         entry = {{ distribution = \"normal\", mean = 0.0, sd = 0.001 }}\n"
    );
    let [all, _, general] = markets(&text).expect("a valid scenario");
    let want = run(&general, 0, &mut cascadesim::engine::Plain);
    let got = run(&all, 0, &mut cascadesim::engine::Plain);
    assert_eq!(got, want);
    // The scenario does what it says: A's longs are liquidated, B's deepest fall is from 120.
    let mut per_asset = vec![AssetPathMetrics::default(); 2];
    let mut per_pop = vec![PopulationPathMetrics::default(); 1];
    let s = simulate_full(
        &general,
        0,
        &mut per_asset,
        &mut per_pop,
        &mut Liquidations::default(),
        &mut cascadesim::engine::Plain,
    );
    assert!(s.liquidation_count > 0);
    assert!(
        per_asset[1].max_drawdown > 0.2,
        "{}",
        per_asset[1].max_drawdown
    );
}

/// A scenario of `n` assets (3 or 4), each with its own book and a population of 20×
/// longs: A falls 10% at step 5 and 5% at step 20, B 8% at step 12, the others only
/// diffuse (50%/year, so their marks move on every step but stay far above their 20×
/// longs' triggers); B's population liquidates partly, C's deleverages (ADL).
fn one_asset_cascades(n: usize) -> String {
    let book = "[assets.book]\nprofile = \"flat\"\nspread_bp = 1.0\nlevel_spacing_bp = 1.0\n\
                levels = 200\ndepth_usd = 2.0e7\ndepth_band_bp = 100\n\
                refill_half_life_s = 60\npermanent_impact = 0.2\n\n";
    let names = ["A", "B", "C", "D"];
    let mut text =
        "[simulation]\npaths = 3\nsteps = 40\nstep_seconds = 60\nseed = 7\n\n".to_string();
    for (a, name) in names.iter().enumerate().take(n) {
        let shocks = match a {
            0 => "shocks = [{ step = 5, return = -0.10 }, { step = 20, return = -0.05 }]\n",
            1 => "shocks = [{ step = 12, return = -0.08 }]\n",
            _ => "",
        };
        text.push_str(&format!(
            "[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.5\n{shocks}\n{book}"
        ));
    }
    for (a, name) in names.iter().enumerate().take(n) {
        text.push_str(&format!(
            "[[populations]]\nasset = \"{name}\"\ncount = 300\nopen_interest_usd = 3.0e7\n\
             long_share = 0.8\nmaintenance_margin = 0.005\nauto_deleverage = {}\n\
             size = {{ distribution = \"lognormal\", sigma = 0.5 }}\n\
             leverage = {{ values = [10, 20], weights = [0.5, 0.5] }}\n\
             entry = {{ distribution = \"normal\", mean = 0.0, sd = 0.01 }}\n",
            a == 2
        ));
        if a == 1 {
            text.push_str(
                "[populations.partial_liquidation]\ntarget_multiple = 2.0\n\
                 min_notional_usd = 1000\nfee = 0.001\n",
            );
        }
        text.push('\n');
    }
    text
}

/// A cascade step after the several-asset loop looks only at the assets whose marks left
/// their bands (`engine::state`'s `Assets::active`): the other assets' populations are
/// neither collected nor settled, their bands not recomputed and, inside their skip
/// intervals, their steps not recorded (debug builds do all of it anyway and check that it
/// changes nothing). With three and four assets, one asset's cascades while the others
/// move quietly (their own populations armed, one with a partial rule, one with ADL), and
/// a second asset's cascade later, give the general step's numbers; and the scenario does
/// what it says: at A's shock only A liquidates.
#[test]
fn cascades_on_one_asset_leave_the_quiet_assets_as_they_were() {
    for n in [3, 4] {
        let text = one_asset_cascades(n);
        three_ways_agree(&text, 3).unwrap_or_else(|e| panic!("{n} assets: {e}"));
        let [_, _, general] = markets(&text).expect("a valid scenario");
        let mut per_asset = vec![AssetPathMetrics::default(); n];
        let mut per_pop = vec![PopulationPathMetrics::default(); n];
        let mut obs = Liquidations::default();
        simulate_full(
            &general,
            0,
            &mut per_asset,
            &mut per_pop,
            &mut obs,
            &mut cascadesim::engine::Plain,
        );
        let (_, at_shock) = obs
            .steps
            .iter()
            .find(|(s, _)| *s == 5)
            .expect("A's shock liquidates");
        assert!(at_shock[0].liquidated_notional > 0.0);
        assert!(at_shock[1..].iter().all(|v| v.liquidated_notional == 0.0));
        assert!(per_pop[0].liquidated_notional > 0.0 && per_pop[1].liquidated_notional > 0.0);
        assert!(per_pop[2..].iter().all(|p| p.liquidated_notional == 0.0));
    }
}

/// Cross-asset contagion through cross-margin accounts (`scenarios/cross_margin_contagion`:
/// a BTC crash closes accounts that hold ETH too, whose ETH sales trigger the ETH perps)
/// keeps every fast path off (`engine::mode`): an asset can move on a cascade step without
/// its mark having left its band at the step's start, so no step may leave it alone. All
/// three ways give the same numbers.
#[test]
fn cross_margin_contagion_matches_the_general_step() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cross_margin_contagion.toml"
    );
    let text = std::fs::read_to_string(path).expect("the bundled scenario");
    // Fewer accounts and steps: the same rules at a debug build's speed.
    let small = text
        .replace("steps = 120 ", "steps = 40 ")
        .replace("accounts = 20000", "accounts = 2000");
    assert_eq!(small.len(), text.len() - 2, "both keys found");
    let text = small;
    three_ways_agree(&text, 2).expect("contagion matches the general step");
}

//! Random *valid* scenarios for property tests: a TOML template filled with numbers drawn
//! within the documented ranges, kept small so a case runs in milliseconds in debug mode.
//! Used by `tests/properties.rs` and `tests/fast_paths.rs` (`#[path]` module).

#![allow(dead_code)]

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};

use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

// ------------------------------------------------------------------------------------------
// Random valid scenarios
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum Profile {
    Flat,
    Linear,
    Exponential { scale_bp: f64 },
    PowerLaw { power: f64 },
}

#[derive(Debug, Clone)]
pub struct BookP {
    pub profile: Profile,
    pub spread_bp: f64,
    pub spacing_bp: f64,
    pub levels: u32,
    pub depth_usd: f64,
    /// Band beyond the half-spread (the band must hold at least the first level).
    pub band_extra_bp: f64,
    pub refill_half_life_s: f64,
    pub permanent_impact: f64,
    pub hourly: Option<Vec<f64>>,
}

impl BookP {
    /// Upper bound (log units) on how far any level, the backstop or a displaced mid can sit
    /// from the reference price: the deepest level plus one more gap.
    pub fn extent(&self) -> f64 {
        (self.spread_bp / 2.0 + f64::from(self.levels) * self.spacing_bp.max(self.spread_bp / 2.0))
            * 1e-4
    }
}

#[derive(Debug, Clone)]
pub struct AssetP {
    pub price: f64,
    pub volatility: f64,
    pub drift: f64,
    /// Student-t degrees of freedom, or Gaussian.
    pub dof: Option<f64>,
    /// (fraction of the horizon, simple return).
    pub shocks: Vec<(f64, f64)>,
    pub book: BookP,
}

#[derive(Debug, Clone)]
pub enum SizeP {
    LogNormal(f64),
    Pareto(f64),
}

#[derive(Debug, Clone)]
pub enum LeverageP {
    /// Values as fractions of the way from 1 to the venue maximum, and their weights.
    Discrete(Vec<(f64, f64)>),
    /// min and max as fractions of the way from 1 to the venue maximum (lo < hi).
    Uniform(f64, f64),
    /// Like `Uniform`, with the median at fraction `mid` between min and max and a sigma.
    LogNormal(f64, f64, f64, f64),
}

#[derive(Debug, Clone)]
pub enum EntryP {
    AtStart,
    Normal(f64, f64),
    Uniform(f64, f64),
}

#[derive(Debug, Clone)]
pub struct PopP {
    pub asset: usize,
    pub count: u32,
    pub open_interest_usd: f64,
    pub long_share: f64,
    pub maintenance_margin: f64,
    pub liquidation_fee: f64,
    pub insurance_fund_usd: f64,
    pub size: SizeP,
    pub leverage: LeverageP,
    pub entry: EntryP,
    /// `[populations.partial_liquidation]`: target multiple, minimum remainder (USD), fee as
    /// a fraction of the maintenance rate.
    pub partial: Option<(f64, f64, f64)>,
    pub auto_deleverage: bool,
}

#[derive(Debug, Clone)]
pub struct ScenarioP {
    pub paths: u64,
    pub steps: u32,
    pub step_seconds: f64,
    pub seed: u64,
    pub start_hour_utc: f64,
    pub max_rounds: u32,
    pub per_path: bool,
    pub assets: Vec<AssetP>,
    /// Correlation of the first two assets (when there are two or more; the others are
    /// independent).
    pub rho: f64,
    pub pops: Vec<PopP>,
}

/// `cases` cases, failures recorded in `regressions` (a path: proptest's default looks for
/// `lib.rs` or `main.rs` beside the test file, which an integration test does not have, so
/// it would record nothing) and replayed first on every later run. Shrinking re-runs whole
/// simulations: at most `max_shrink_iters` steps, to keep it bounded in debug mode.
pub fn persisted(cases: u32, regressions: &'static str, max_shrink_iters: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        max_shrink_iters,
        ..ProptestConfig::default()
    }
}

/// Writes a float so TOML reads it back exactly (`{:?}` keeps `.0` and exponents).
pub fn num(x: f64) -> String {
    format!("{x:?}")
}

/// The TOML of an `n × n` correlation matrix whose first two assets are correlated by `rho`
/// and the others independent.
pub fn correlation_matrix(n: usize, rho: f64) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let row: Vec<String> = (0..n)
                .map(|j| match (i, j) {
                    _ if i == j => "1.0".to_string(),
                    (0, 1) | (1, 0) => num(rho),
                    _ => "0.0".to_string(),
                })
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

impl ScenarioP {
    pub fn toml(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "[scenario]\nname = \"property\"\n");
        let _ = writeln!(w, "[simulation]");
        let _ = writeln!(w, "paths = {}", self.paths);
        let _ = writeln!(w, "steps = {}", self.steps);
        let _ = writeln!(w, "step_seconds = {}", num(self.step_seconds));
        let _ = writeln!(w, "seed = {}", self.seed);
        let _ = writeln!(w, "start_hour_utc = {}", num(self.start_hour_utc));
        let _ = writeln!(w, "max_rounds = {}", self.max_rounds);
        let mode = if self.per_path { "per_path" } else { "fixed" };
        let _ = writeln!(w, "population = \"{mode}\"\n");
        let _ = writeln!(
            w,
            "[simulation.cascade]\nendogenous_move = 0.01\nliquidated_oi_share = 0.2\nrule = \"any\"\n"
        );
        for (i, a) in self.assets.iter().enumerate() {
            let _ = writeln!(w, "[[assets]]");
            let _ = writeln!(w, "name = \"A{i}\"");
            let _ = writeln!(w, "price = {}", num(a.price));
            let _ = writeln!(w, "volatility = {}", num(a.volatility));
            let _ = writeln!(w, "drift = {}", num(a.drift));
            if let Some(dof) = a.dof {
                let _ = writeln!(w, "innovations = \"student_t\"\ndof = {}", num(dof));
            }
            if !a.shocks.is_empty() {
                let items: Vec<String> = a
                    .shocks
                    .iter()
                    .map(|&(at, r)| {
                        let step = ((at * f64::from(self.steps)) as u32).min(self.steps - 1);
                        format!("{{ step = {step}, return = {} }}", num(r))
                    })
                    .collect();
                let _ = writeln!(w, "shocks = [{}]", items.join(", "));
            }
            let b = &a.book;
            let _ = writeln!(w, "\n[assets.book]");
            match b.profile {
                Profile::Flat => {
                    let _ = writeln!(w, "profile = \"flat\"");
                }
                Profile::Linear => {
                    let _ = writeln!(w, "profile = \"linear\"");
                }
                Profile::Exponential { scale_bp } => {
                    let _ = writeln!(w, "profile = \"exponential\"\nscale_bp = {}", num(scale_bp));
                }
                Profile::PowerLaw { power } => {
                    let _ = writeln!(w, "profile = \"power_law\"\npower = {}", num(power));
                }
            }
            let _ = writeln!(w, "spread_bp = {}", num(b.spread_bp));
            let _ = writeln!(w, "level_spacing_bp = {}", num(b.spacing_bp));
            let _ = writeln!(w, "levels = {}", b.levels);
            let _ = writeln!(w, "depth_usd = {}", num(b.depth_usd));
            let _ = writeln!(
                w,
                "depth_band_bp = {}",
                num(b.spread_bp / 2.0 + b.band_extra_bp)
            );
            let _ = writeln!(w, "refill_half_life_s = {}", num(b.refill_half_life_s));
            let _ = writeln!(w, "permanent_impact = {}", num(b.permanent_impact));
            if let Some(h) = &b.hourly {
                let h: Vec<String> = h.iter().map(|x| num(*x)).collect();
                let _ = writeln!(w, "hourly_liquidity = [{}]", h.join(", "));
            }
            let _ = writeln!(w);
        }
        let n = self.assets.len();
        if n >= 2 {
            let m = correlation_matrix(n, self.rho);
            let _ = writeln!(w, "[correlation]\nmatrix = {m}\n");
        }
        for p in &self.pops {
            let max_lev = 1.0 / (2.0 * p.maintenance_margin);
            let lev = |f: f64| 1.0 + f * (max_lev - 1.0);
            let _ = writeln!(w, "[[populations]]");
            let _ = writeln!(w, "asset = \"A{}\"", p.asset);
            let _ = writeln!(w, "count = {}", p.count);
            let _ = writeln!(w, "open_interest_usd = {}", num(p.open_interest_usd));
            let _ = writeln!(w, "long_share = {}", num(p.long_share));
            let _ = writeln!(w, "maintenance_margin = {}", num(p.maintenance_margin));
            let _ = writeln!(w, "liquidation_fee = {}", num(p.liquidation_fee));
            let _ = writeln!(w, "insurance_fund_usd = {}", num(p.insurance_fund_usd));
            let _ = writeln!(w, "auto_deleverage = {}", p.auto_deleverage);
            let _ = match p.size {
                SizeP::LogNormal(sigma) => writeln!(
                    w,
                    "size = {{ distribution = \"lognormal\", sigma = {} }}",
                    num(sigma)
                ),
                SizeP::Pareto(alpha) => writeln!(
                    w,
                    "size = {{ distribution = \"pareto\", alpha = {} }}",
                    num(alpha)
                ),
            };
            let _ = match &p.leverage {
                LeverageP::Discrete(vw) => {
                    let v: Vec<String> = vw.iter().map(|(f, _)| num(lev(*f))).collect();
                    let ws: Vec<String> = vw.iter().map(|(_, x)| num(*x)).collect();
                    writeln!(
                        w,
                        "leverage = {{ values = [{}], weights = [{}] }}",
                        v.join(", "),
                        ws.join(", ")
                    )
                }
                LeverageP::Uniform(lo, hi) => writeln!(
                    w,
                    "leverage = {{ distribution = \"uniform\", min = {}, max = {} }}",
                    num(lev(*lo)),
                    num(lev(*hi))
                ),
                LeverageP::LogNormal(lo, hi, mid, sigma) => {
                    let (min, max) = (lev(*lo), lev(*hi));
                    writeln!(
                        w,
                        "leverage = {{ distribution = \"lognormal\", median = {}, sigma = {}, min = {}, max = {} }}",
                        num(min + mid * (max - min)),
                        num(*sigma),
                        num(min),
                        num(max)
                    )
                }
            };
            let _ = match p.entry {
                EntryP::AtStart => Ok(()),
                EntryP::Normal(mean, sd) => writeln!(
                    w,
                    "entry = {{ distribution = \"normal\", mean = {}, sd = {} }}",
                    num(mean),
                    num(sd)
                ),
                EntryP::Uniform(low, high) => writeln!(
                    w,
                    "entry = {{ distribution = \"uniform\", low = {}, high = {} }}",
                    num(low),
                    num(high)
                ),
            };
            if let Some((k, min, fee)) = p.partial {
                let _ = writeln!(
                    w,
                    "[populations.partial_liquidation]\ntarget_multiple = {}\nmin_notional_usd = {}\nfee = {}",
                    num(k),
                    num(min),
                    num(fee * p.maintenance_margin)
                );
            }
            let _ = writeln!(w);
        }
        s
    }

    pub fn parse(&self) -> Result<Scenario, TestCaseError> {
        let text = self.toml();
        Scenario::parse(&text, "property.toml", &NoFiles).map_err(|e| {
            TestCaseError::fail(format!("generated scenario is invalid:\n{e}\n{text}"))
        })
    }
}

/// Log-uniform in [lo, hi].
pub fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo.ln()..=hi.ln()).prop_map(f64::exp)
}

/// Knobs that widen the generated ranges toward the extremes.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    /// Shocks down to −99% and books down to a few dollars of depth.
    pub extreme: bool,
    /// Everything out to the documented limits (spacing and spread up to 10⁴ bp, volatility
    /// up to 20, steps up to 10⁹ s, many shocks): many of these scenarios are rejected by
    /// validation, and those it accepts must simulate sanely.
    pub wild: bool,
}

pub fn book(k: Knobs) -> impl Strategy<Value = BookP> {
    let profile = prop_oneof![
        Just(Profile::Flat),
        Just(Profile::Linear),
        log_uniform(0.5, 2000.0).prop_map(|scale_bp| Profile::Exponential { scale_bp }),
        (-3.0..=5.0f64).prop_map(|power| Profile::PowerLaw { power }),
    ];
    let depth = if k.wild {
        prop_oneof![8 => log_uniform(1.0, 1e10), 1 => log_uniform(1e-300, 1e300)].boxed()
    } else if k.extreme {
        log_uniform(1.0, 1e5).boxed()
    } else {
        log_uniform(1e4, 1e10).boxed()
    };
    // Wild values half of the time, so that a fair share of scenarios still validates.
    let (spread, spacing, levels) = if k.wild {
        (
            prop_oneof![log_uniform(0.05, 50.0), log_uniform(1e-6, 1e4)].boxed(),
            prop_oneof![log_uniform(0.05, 20.0), log_uniform(1e-6, 1e4)].boxed(),
            (1u32..=3000).boxed(),
        )
    } else {
        (
            log_uniform(0.05, 50.0).boxed(),
            log_uniform(0.05, 20.0).boxed(),
            (1u32..=1500).boxed(),
        )
    };
    (
        profile,
        spread,
        spacing,
        levels,
        depth,
        log_uniform(1.0, 500.0),
        prop_oneof![log_uniform(0.5, 1e5), Just(1e12)],
        prop_oneof![0.0..=1.0f64, Just(0.0), Just(1.0)],
        prop::option::weighted(
            0.3,
            prop::collection::vec(
                if k.wild {
                    prop_oneof![8 => log_uniform(0.05, 5.0), 1 => log_uniform(1e-300, 100.0)]
                        .boxed()
                } else {
                    log_uniform(0.05, 5.0).boxed()
                },
                24,
            ),
        ),
    )
        .prop_map(
            |(
                profile,
                spread_bp,
                spacing_bp,
                levels,
                depth_usd,
                band_extra_bp,
                refill,
                perm,
                hourly,
            )| {
                BookP {
                    profile,
                    spread_bp,
                    spacing_bp,
                    levels,
                    depth_usd,
                    band_extra_bp,
                    refill_half_life_s: refill,
                    permanent_impact: perm,
                    hourly,
                }
            },
        )
}

pub fn asset(k: Knobs) -> impl Strategy<Value = AssetP> {
    let shock_ret = if k.extreme {
        prop_oneof![Just(-0.99), -0.99..0.5f64, Just(0.5)].boxed()
    } else {
        (-0.3..0.3f64).boxed()
    };
    let (vol, max_shocks) = if k.wild {
        (
            prop_oneof![Just(0.0), 0.0..=3.0f64, 0.0..=20.0f64].boxed(),
            300,
        )
    } else {
        (prop_oneof![Just(0.0), 0.0..=3.0f64].boxed(), 3)
    };
    let n_shocks = prop_oneof![0usize..=max_shocks.min(3), 0usize..=max_shocks];
    (
        if k.wild {
            prop_oneof![8 => log_uniform(0.01, 1e6), 1 => log_uniform(1e-300, 1e300)].boxed()
        } else {
            log_uniform(0.01, 1e6).boxed()
        },
        vol,
        -2.0..=2.0f64,
        prop::option::of(2.05..=30.0f64),
        n_shocks.prop_flat_map(move |n| prop::collection::vec((0.0..1.0f64, shock_ret.clone()), n)),
        book(k),
    )
        .prop_map(|(price, volatility, drift, dof, shocks, book)| AssetP {
            price,
            volatility,
            drift,
            dof,
            shocks,
            book,
        })
}

pub fn leverage() -> impl Strategy<Value = LeverageP> {
    prop_oneof![
        prop::collection::vec((0.001..=1.0f64, 0.0..=1.0f64), 1..=5).prop_map(|mut vw| {
            // At least one positive weight.
            vw[0].1 += 0.1;
            LeverageP::Discrete(vw)
        }),
        (0.001..0.9f64, 0.01..=1.0f64)
            .prop_map(|(lo, t)| LeverageP::Uniform(lo, lo + t * (1.0 - lo))),
        (0.001..0.9f64, 0.01..=1.0f64, 0.0..=1.0f64, 0.05..=2.0f64).prop_map(
            |(lo, t, mid, sigma)| LeverageP::LogNormal(lo, lo + t * (1.0 - lo), mid, sigma)
        ),
    ]
}

pub fn population(k: Knobs, n_assets: usize, max_count: u32) -> impl Strategy<Value = PopP> {
    let (oi, fund) = if k.wild {
        (
            prop_oneof![8 => log_uniform(1e3, 1e10), 1 => log_uniform(1e-300, 1e300)].boxed(),
            prop_oneof![4 => Just(0.0), 4 => log_uniform(1.0, 1e9), 1 => log_uniform(1e-300, 1e300)].boxed(),
        )
    } else {
        (
            log_uniform(1e3, 1e10).boxed(),
            prop_oneof![Just(0.0), log_uniform(1.0, 1e9)].boxed(),
        )
    };
    (
        0..n_assets,
        1..=max_count,
        oi,
        prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64],
        log_uniform(0.001, 0.05),
        0.0..=0.1f64,
        fund,
        prop_oneof![
            (0.05..=3.0f64).prop_map(SizeP::LogNormal),
            (0.55..=10.0f64).prop_map(SizeP::Pareto)
        ],
        leverage(),
        prop_oneof![
            Just(EntryP::AtStart),
            (-0.2..0.2f64, 0.0..=0.2f64).prop_map(|(m, s)| EntryP::Normal(m, s)),
            (-0.3..0.0f64, 0.001..0.3f64).prop_map(|(l, h)| EntryP::Uniform(l, h)),
        ],
        proptest::option::of((
            1.01..=20.0f64,
            prop_oneof![Just(0.0), log_uniform(1.0, 1e6)],
            0.0..0.95f64,
        )),
        any::<bool>(),
    )
        .prop_map(
            |(
                asset,
                count,
                oi,
                long_share,
                mm,
                fee,
                fund,
                size,
                leverage,
                entry,
                partial,
                auto_deleverage,
            )| PopP {
                asset,
                count,
                open_interest_usd: oi,
                long_share,
                maintenance_margin: mm,
                liquidation_fee: fee,
                insurance_fund_usd: fund,
                size,
                leverage,
                entry,
                partial,
                auto_deleverage,
            },
        )
}

/// A random valid scenario: 1–2 assets, 1–2 populations of at most 2000 positions in all,
/// 1–30 steps of 1 s to 1 h, `paths` in the given range.
pub fn scenario(
    k: Knobs,
    paths: std::ops::RangeInclusive<u64>,
) -> impl Strategy<Value = ScenarioP> {
    scenario_of(k, 1..=2, 1..=2, 1..=30, paths)
}

/// A random valid scenario with `assets` assets (the first two correlated), `pops`
/// populations of at most 2000 positions in all, `steps` steps of 1 s to 1 h, `paths` in
/// the given range.
pub fn scenario_of(
    k: Knobs,
    assets: std::ops::RangeInclusive<usize>,
    pops: std::ops::RangeInclusive<usize>,
    steps: std::ops::RangeInclusive<u32>,
    paths: std::ops::RangeInclusive<u64>,
) -> impl Strategy<Value = ScenarioP> {
    (assets, pops).prop_flat_map(move |(n_assets, n_pops)| {
        (
            paths.clone(),
            steps.clone(),
            if k.wild {
                prop_oneof![log_uniform(1.0, 3600.0), log_uniform(1e-3, 1e9)].boxed()
            } else {
                log_uniform(1.0, 3600.0).boxed()
            },
            0u64..=i64::MAX as u64,
            0.0..24.0f64,
            1u32..=20,
            any::<bool>(),
            prop::collection::vec(asset(k), n_assets),
            -0.95..=0.95f64,
            prop::collection::vec(population(k, n_assets, 2000 / n_pops as u32), n_pops),
        )
            .prop_map(
                |(
                    paths,
                    steps,
                    step_seconds,
                    seed,
                    start_hour_utc,
                    max_rounds,
                    per_path,
                    assets,
                    rho,
                    pops,
                )| {
                    ScenarioP {
                        paths,
                        steps,
                        step_seconds,
                        seed,
                        start_hour_utc,
                        max_rounds,
                        per_path,
                        assets,
                        rho,
                        pops,
                    }
                },
            )
    })
}

pub const NORMAL: Knobs = Knobs {
    extreme: false,
    wild: false,
};
pub const EXTREME: Knobs = Knobs {
    extreme: true,
    wild: false,
};
pub const WILD: Knobs = Knobs {
    extreme: true,
    wild: true,
};

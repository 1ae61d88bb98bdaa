//! Scenario files: TOML text → validated, typed [`Scenario`] with explicit units.
//!
//! Nothing downstream sees raw TOML. Validation walks the whole document and reports every
//! problem at once ([`ScenarioError`]), each with its key path and line. Referenced files
//! (positions and book CSVs) are fetched through a [`FileSource`], so this module does no I/O
//! itself. The schema is documented in `docs/scenario.md`.

mod bootstrap;
mod csv;
pub use csv::{ProspectiveRow, prospective_positions};
mod funding;
mod reader;
mod replay;
mod venues;

use toml::de::DeTable;

pub use crate::diagnostics::{Issue, ScenarioError, suggest};
pub use funding::DEFAULT_INTERVAL_S as DEFAULT_FUNDING_INTERVAL_S;
pub use replay::{ReplayMode, ReplayScenario};

use crate::model::book::{LevelShape, synthetic_levels};
use crate::model::correlation::{FactorError, cholesky_factor};
use crate::model::margin::{MarginSchedule, PartialRule};
/// The validated types this module produces live in `model::spec`; re-exported here so the
/// old paths (`scenario::Scenario`, …) keep compiling until their users switch (transitional).
pub use crate::model::spec::*;
use reader::{Doc, Tbl};

/// Where referenced files (CSV) come from. The CLI resolves them relative to the scenario file.
pub trait FileSource {
    /// The text of the file at `relative` path, or a message saying why it cannot be read.
    ///
    /// # Errors
    /// Any failure to read the file, as a human-readable message.
    fn read(&self, relative: &str) -> Result<String, String>;
}

/// A file source that has no files: every reference is an error. For scenarios given as text.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, relative: &str) -> Result<String, String> {
        Err(format!(
            "cannot read `{relative}`: no file access in this context"
        ))
    }
}

impl Buffer {
    /// Reads `"2%"`, `"2 %"`, `"1.5 sigma"`, `"1.5sigma"` or `"1.5σ"`.
    ///
    /// # Errors
    /// Any other text, and numbers out of range, with what was expected.
    pub fn parse(text: &str) -> Result<Buffer, String> {
        let t = text.trim();
        let (number, percent) = if let Some(n) = t.strip_suffix('%') {
            (n, true)
        } else if let Some(n) = t.strip_suffix("sigma").or_else(|| t.strip_suffix('σ')) {
            (n, false)
        } else {
            return Err(format!(
                "{text:?} is not a distance: write a percentage (\"2%\") or one-day standard deviations (\"1.5 sigma\")"
            ));
        };
        let x: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {:?} is not a number", number.trim()))?;
        if percent {
            if !(x > 0.0 && x < 100.0) {
                return Err(format!(
                    "a percentage must be in (0, 100), found {}",
                    show(x)
                ));
            }
            Ok(Buffer::Percent(x))
        } else {
            if !(x > 0.0 && x <= 100.0) {
                return Err(format!(
                    "a number of σ must be in (0, 100], found {}",
                    show(x)
                ));
            }
            Ok(Buffer::Sigma(x))
        }
    }
}

/// Reads the optional `[check]` table.
fn check_section(doc: &mut Doc<'_>, top: &mut Tbl<'_, '_>) -> CheckSpec {
    let mut spec = CheckSpec::default();
    let Some(mut t) = doc.table(top, "check", CHECK_KEYS) else {
        return spec;
    };
    if let Some(text) = doc.str(&mut t, "no_trade_buffer") {
        match Buffer::parse(text) {
            Ok(b) => spec.no_trade_buffer = Some(b),
            Err(e) => doc.invalid(&mut t, "no_trade_buffer", e),
        }
    }
    doc.finish(t);
    spec
}

/// Most clones per level (a typo must not ask for an exploding tree).
pub const MAX_CLONES: u64 = 1_000;
/// Most splitting levels.
pub const MAX_SPLIT_LEVELS: usize = 32;

impl Scenario {
    /// Parses and validates a scenario.
    ///
    /// `origin` names the scenario in messages (its path); `files` provides CSV files it
    /// references.
    ///
    /// # Errors
    /// A [`ScenarioError`] listing every problem found: TOML syntax, unknown keys (with
    /// suggestions), wrong types, missing keys, out-of-range values, inconsistent references
    /// and unreadable or malformed referenced files.
    pub fn parse(
        text: &str,
        origin: &str,
        files: &dyn FileSource,
    ) -> Result<Scenario, ScenarioError> {
        let mut doc = Doc::new(text);
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            for e in syntax {
                let span = e.span().or_else(|| locate_spanless(text, e.message()));
                let mut message = format!("TOML syntax error: {}", e.message().trim());
                // The parser's name for a dotted key of 80 or more parts (its only error
                // without a position): found by the fuzzer, reported on no line at all.
                if message.ends_with("recursion limit") {
                    message.push_str(" (a dotted key has too many parts)");
                }
                // The parser says only "duplicate key" and points at the key: name it, since
                // the first definition may be far away (a table header defined twice, say).
                if message.ends_with("duplicate key")
                    && let Some(key) = span.clone().and_then(|s| text.get(s))
                    && !key.trim().is_empty()
                {
                    message.push_str(&format!(" `{}`", key.trim()));
                }
                doc.error_at("", span, message);
            }
            return Err(ScenarioError {
                origin: origin.into(),
                issues: doc.issues,
            });
        }
        let scenario = validate(&mut doc, &root, text, files);
        doc.issues
            .sort_by_key(|i| (i.line.is_none(), i.line, i.column));
        if doc.issues.is_empty() {
            Ok(scenario.expect("validation without issues yields a scenario"))
        } else {
            Err(ScenarioError {
                origin: origin.into(),
                issues: doc.issues,
            })
        }
    }
}

/// Where a syntax error that the TOML parser reports without a position (a dotted key of 80
/// or more parts) occurs: the start of the line ending the shortest prefix of whole lines
/// that yields the same error. Binary search, so O(log lines) extra parses of a broken file.
fn locate_spanless(text: &str, message: &str) -> Option<std::ops::Range<usize>> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len())
        .collect();
    // The first `n` lines of the text.
    let prefix = |n: usize| &text[..line_starts.get(n).copied().unwrap_or(text.len())];
    let fails = |n: usize| {
        DeTable::parse_recoverable(prefix(n))
            .1
            .iter()
            .any(|e| e.span().is_none() && e.message() == message)
    };
    let (mut lo, mut hi) = (1, line_starts.len());
    if hi == 0 || !fails(hi) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let start = line_starts[hi - 1];
    Some(start..start)
}

const ROOT_KEYS: &[&str] = &[
    "scenario",
    "simulation",
    "assets",
    "correlation",
    "populations",
    "lending",
    "output",
    "sweep",
    "rare_event",
    "check",
];
/// `[check]`: settings of `cascadesim check`.
const CHECK_KEYS: &[&str] = &["no_trade_buffer"];
/// `[rare_event]`: rare-event estimation (importance sampling or splitting).
const RARE_KEYS: &[&str] = &[
    "method",
    "tilt",
    "jump_rate_factor",
    "pilot_paths",
    "levels",
    "clones",
];
const META_KEYS: &[&str] = &["name", "description"];
const SIM_KEYS: &[&str] = &[
    "paths",
    "steps",
    "step_seconds",
    "seed",
    "start_hour_utc",
    "max_rounds",
    "population",
    "population_replicates",
    "cascade",
    "circuit_breaker",
];
const BREAKER_KEYS: &[&str] = &["max_move", "halt_steps"];
const CASCADE_KEYS: &[&str] = &["endogenous_move", "liquidated_oi_share", "rule"];
const ASSET_KEYS: &[&str] = &[
    "name",
    "price",
    "volatility",
    "drift",
    "innovations",
    "dof",
    "bootstrap",
    "shocks",
    "jumps",
    "volatility_feedback",
    "book",
    "venues",
    "index_lag_steps",
    "arbitrage_speed",
];
const JUMP_KEYS: &[&str] = &["rate_per_day", "mean", "sd", "compensate"];
const FEEDBACK_KEYS: &[&str] = &["alpha", "beta", "max_ratio"];
const VOL_DEPTH_KEYS: &[&str] = &["beta", "reference_volatility", "half_life_s", "min", "max"];
const SHOCK_KEYS: &[&str] = &["step", "return"];
const BOOK_KEYS: &[&str] = &[
    "profile",
    "spread_bp",
    "level_spacing_bp",
    "levels",
    "depth_usd",
    "depth_band_bp",
    "scale_bp",
    "power",
    "file",
    "hourly_liquidity",
    "refill_half_life_s",
    "permanent_impact",
    "volatility_depth",
    "price_floor_usd",
];
const CORR_KEYS: &[&str] = &["matrix", "regimes", "jump_clock", "t_mixing"];
const REGIME_KEYS: &[&str] = &["from_step", "matrix"];
const POP_KEYS: &[&str] = &[
    "name",
    "asset",
    "count",
    "open_interest_usd",
    "long_share",
    "funding_rate_8h",
    "size",
    "leverage",
    "entry",
    "maintenance_margin",
    "margin_tiers",
    "liquidation_fee",
    "insurance_fund_usd",
    "partial_liquidation",
    "auto_deleverage",
    "funding",
    "positions_file",
    "venue",
    "trigger_price",
];
const PARTIAL_KEYS: &[&str] = &["target_multiple", "min_notional_usd", "fee"];
const SIZE_KEYS: &[&str] = &["distribution", "sigma", "alpha"];
const LEV_KEYS: &[&str] = &[
    "values",
    "weights",
    "distribution",
    "median",
    "sigma",
    "min",
    "max",
];
const ENTRY_KEYS: &[&str] = &["distribution", "mean", "sd", "low", "high"];
const TIER_KEYS: &[&str] = &["from_notional_usd", "rate"];
const LENDING_KEYS: &[&str] = &[
    "name",
    "accounts",
    "debt_usd",
    "debt_sigma",
    "health_factor",
    "close_factor",
    "full_close_health_factor",
    "collateral",
];
const HF_KEYS: &[&str] = &["min", "max"];
const COLLATERAL_KEYS: &[&str] = &["asset", "share", "liquidation_threshold", "bonus"];
const OUTPUT_KEYS: &[&str] = &["trace_paths", "trace_worst", "trace_metric"];

/// The keys the schema allows in a table, by the table's key path without array indices
/// (`[]` the top level, `["populations", "leverage"]`). `None` when no table of the schema
/// has that path. For tools that edit scenario documents (the `sweep` module).
pub fn schema_keys(table: &[&str]) -> Option<&'static [&'static str]> {
    Some(match table {
        [] => ROOT_KEYS,
        ["scenario"] => META_KEYS,
        ["simulation"] => SIM_KEYS,
        ["simulation", "cascade"] => CASCADE_KEYS,
        ["assets"] => ASSET_KEYS,
        ["assets", "shocks"] => SHOCK_KEYS,
        ["assets", "book"] => BOOK_KEYS,
        ["assets", "bootstrap"] => bootstrap::KEYS,
        ["assets", "venues"] => venues::VENUE_KEYS,
        ["assets", "venues", "book"] => BOOK_KEYS,
        ["correlation"] => CORR_KEYS,
        ["populations"] => POP_KEYS,
        ["populations", "size"] => SIZE_KEYS,
        ["populations", "leverage"] => LEV_KEYS,
        ["populations", "entry"] => ENTRY_KEYS,
        ["populations", "margin_tiers"] => TIER_KEYS,
        ["populations", "funding"] => funding::FUNDING_KEYS,
        ["populations", "funding", "schedule"] => funding::SCHEDULE_KEYS,
        ["populations", "funding", "premium"] => funding::PREMIUM_KEYS,
        ["lending"] => LENDING_KEYS,
        ["lending", "health_factor"] => HF_KEYS,
        ["lending", "collateral"] => COLLATERAL_KEYS,
        ["output"] => OUTPUT_KEYS,
        ["rare_event"] => RARE_KEYS,
        ["check"] => CHECK_KEYS,
        _ => return None,
    })
}

/// Upper bounds that keep a typo from asking for a machine-filling run.
const MAX_STEPS: u64 = 10_000_000;
/// Default `simulation.population_replicates`: enough populations for a between-replicate
/// variance on 31 degrees of freedom (t quantile 2.04 against the normal's 1.96).
pub const DEFAULT_REPLICATES: u32 = 32;
/// Most population replicates: each is a whole population in memory, and replicate `r` draws
/// from word `r·2⁵⁶` of its population's stream (a ChaCha8 stream holds 2⁶⁸ words).
pub const MAX_REPLICATES: u64 = 4_096;
const MAX_LEVELS: u64 = 1_000_000;
const MAX_POSITIONS: u64 = 50_000_000;
/// Largest log-price move of a fundamental over a path that validation accepts (see `asset`).
const MAX_LOG_REACH: f64 = 200.0;
/// Farthest a synthetic book level may sit from the mid, bp (log distance 10: prices e^±10).
const MAX_BOOK_EXTENT_BP: f64 = 100_000.0;
/// Magnitudes the engine's arithmetic stays well inside of. Without them a valid-looking
/// `price = 1e-300` or `open_interest_usd = 1e300` overflowed sizes in coins (USD / price),
/// and an hourly factor of 1e-300 overflowed `qty / factor` in the book walk: liquidated
/// notional, bad debt and slippage came out inf/NaN (shown as null in summary.json).
pub const MIN_PRICE: f64 = 1e-12;
pub const MAX_PRICE: f64 = 1e12;
/// Largest USD amount (open interest, depth, insurance fund): a quadrillion dollars.
pub const MAX_USD: f64 = 1e15;
const MIN_HOURLY_FACTOR: f64 = 1e-6;

/// A number for a message: plain when moderate, in exponent form when tiny or huge (`{}` of
/// 1e-300 writes 300 digits).
fn show(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn validate(
    doc: &mut Doc<'_>,
    root: &toml::Spanned<DeTable<'_>>,
    text: &str,
    files: &dyn FileSource,
) -> Option<Scenario> {
    let mut top = doc.root(root, ROOT_KEYS);

    let (name, description) = match doc.table(&mut top, "scenario", META_KEYS) {
        Some(mut t) => {
            let n = doc.str(&mut t, "name").unwrap_or("").to_string();
            let d = doc.str(&mut t, "description").unwrap_or("").to_string();
            doc.finish(t);
            (n, d)
        }
        None => (String::new(), String::new()),
    };

    let (clock, simulation) = match doc.req_table(&mut top, "simulation", SIM_KEYS) {
        Some(t) => simulation(doc, t),
        None => (Clock::default(), None),
    };
    let asset_tables = doc.tables(&mut top, "assets", ASSET_KEYS);
    if !doc.has(&mut top, "assets") {
        doc.error_at(
            "assets",
            None,
            "missing required `[[assets]]`: a scenario needs at least one asset".into(),
        );
    } else if asset_tables.is_empty() && doc.issues.iter().all(|i| i.path != "assets") {
        let span = doc.span_of(&mut top, "assets");
        doc.error_at("assets", span, "needs at least one asset".into());
    }
    let mut assets = Vec::new();
    let mut assets_ok = true;
    let mut names: Vec<String> = Vec::new();
    // Each asset's venue names (empty: one book), `None` for an invalid asset.
    let mut venue_names: Vec<Option<Vec<String>>> = Vec::new();
    for mut t in asset_tables {
        let path = t.path.clone();
        // Taken before `asset` consumes the table, so a duplicate name is reported with its line.
        let name_span = doc.span_of(&mut t, "name");
        let has_venues = doc.has(&mut t, "venues");
        let (name, parsed) = asset(doc, t, clock, files);
        if !name.is_empty() && names.contains(&name) {
            doc.error_at(
                &format!("{path}.name"),
                name_span,
                format!("duplicate asset name \"{name}\""),
            );
            assets_ok = false;
        }
        names.push(name);
        // Without venues the names are known (none) even when the asset has other problems.
        venue_names.push(match &parsed {
            Some(a) => Some(
                a.venues
                    .iter()
                    .flat_map(|v| v.list.iter().map(|x| x.name.clone()))
                    .collect(),
            ),
            None => (!has_venues).then(Vec::new),
        });
        match parsed {
            Some(a) => assets.push(a),
            None => assets_ok = false,
        }
    }

    let (cholesky, dependence) = match doc.table(&mut top, "correlation", CORR_KEYS) {
        Some(t) => correlation(doc, t, names.len(), assets_ok.then_some(&assets), clock),
        None => (None, Dependence::default()),
    };

    let mut populations = Vec::new();
    let pop_tables = doc.tables(&mut top, "populations", POP_KEYS);
    let mut pops_ok = true;
    for t in pop_tables {
        match population(doc, t, &names, &venue_names, clock.steps, files) {
            Some(p) => populations.push(p),
            None => pops_ok = false,
        }
    }
    let mut lending = Vec::new();
    for t in doc.tables(&mut top, "lending", LENDING_KEYS) {
        match lending_market(doc, t, &names) {
            Some(m) => lending.push(m),
            None => pops_ok = false,
        }
    }
    let output = output_section(doc, &mut top);
    let rare_event = rare_event_section(doc, &mut top);
    let check = check_section(doc, &mut top);
    // `[sweep]` belongs to `cascadesim sweep` (the `sweep` module reads and checks it); a
    // scenario is the same with or without it.
    doc.has(&mut top, "sweep");
    doc.finish(top);

    let simulation = simulation?;
    if !assets_ok || !pops_ok || !doc.issues.is_empty() {
        return None;
    }
    Some(Scenario {
        name,
        description,
        text: text.to_string(),
        simulation,
        assets,
        cholesky,
        dependence,
        populations,
        lending,
        output,
        rare_event,
        check,
    })
}

/// Reads the optional `[rare_event]` table.
fn rare_event_section(doc: &mut Doc<'_>, top: &mut Tbl<'_, '_>) -> Option<RareEventSpec> {
    let mut t = doc.table(top, "rare_event", RARE_KEYS)?;
    let n0 = doc.issues.len();
    let method = if doc.has(&mut t, "method") {
        doc.choice(&mut t, "method", &["is", "split"])
    } else {
        doc.missing(&t, "method");
        None
    };
    let mut spec = RareEventSpec::defaults(RareMethod::ImportanceSampling);
    if let Some(x) = doc.f64(&mut t, "tilt") {
        if !(-40.0..=40.0).contains(&x) {
            doc.invalid(
                &mut t,
                "tilt",
                format!(
                    "must be in [-40, 40] standard deviations per step, found {}",
                    show(x)
                ),
            );
        }
        spec.tilt = Some(x);
    }
    if let Some(x) = doc.f64(&mut t, "jump_rate_factor") {
        if !(x > 0.0 && x <= 1000.0) {
            doc.invalid(
                &mut t,
                "jump_rate_factor",
                format!("must be in (0, 1000], found {}", show(x)),
            );
        }
        spec.jump_rate_factor = Some(x);
    }
    if let Some(n) = doc.u64(&mut t, "pilot_paths") {
        if !(100..=10_000_000).contains(&n) {
            doc.invalid(
                &mut t,
                "pilot_paths",
                format!("must be in [100, 10000000], found {n}"),
            );
        }
        spec.pilot_paths = n;
    }
    let levels_span = doc.span_of(&mut t, "levels");
    if let Some(levels) = doc.array_f64(&mut t, "levels") {
        let path = t.child("levels");
        if levels.is_empty() || levels.len() > MAX_SPLIT_LEVELS {
            doc.error_at(
                &path,
                levels_span.clone(),
                format!(
                    "needs 1 to {MAX_SPLIT_LEVELS} levels, found {}",
                    levels.len()
                ),
            );
        }
        for (i, &x) in levels.iter().enumerate() {
            if !(x > 0.0 && x < 1.0) {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    levels_span.clone(),
                    format!("a drawdown level must be in (0, 1), found {}", show(x)),
                );
            } else if i > 0 && x <= levels[i - 1] {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    levels_span.clone(),
                    format!(
                        "levels must increase, found {} after {}",
                        show(x),
                        show(levels[i - 1])
                    ),
                );
            }
        }
        spec.levels = levels;
    }
    if let Some(r) = doc.u64(&mut t, "clones") {
        if !(2..=MAX_CLONES).contains(&r) {
            doc.invalid(
                &mut t,
                "clones",
                format!("must be in [2, {MAX_CLONES}], found {r}"),
            );
        }
        spec.clones = r.clamp(2, MAX_CLONES) as u32;
    }
    match method {
        Some("split") => {
            spec.method = RareMethod::Splitting;
            if spec.levels.is_empty() && doc.issues.len() == n0 {
                doc.invalid_table(
                    &t,
                    "method = \"split\" needs `levels`, the drawdown levels at which paths are cloned (e.g. levels = [0.02, 0.04, 0.06])".into(),
                );
            }
        }
        Some(_) if spec.jump_rate_factor.is_some() && spec.tilt.is_none() => {
            doc.invalid(
                &mut t,
                "jump_rate_factor",
                "applies only with `tilt` (without it the pilot run chooses both)".into(),
            );
        }
        _ => {}
    }
    doc.finish(t);
    (doc.issues.len() == n0 && method.is_some()).then_some(spec)
}

/// Most traces a scenario may ask for by each of `trace_paths` and `trace_worst` (a trace
/// holds one `engine::AssetStep` per step and asset, in memory until the results file is
/// written).
pub const MAX_TRACES: u64 = 100;

/// Reads the optional `[output]` table.
fn output_section(doc: &mut Doc<'_>, top: &mut Tbl<'_, '_>) -> OutputSpec {
    const KEYS: &[&str] = OUTPUT_KEYS;
    let mut spec = OutputSpec::default();
    let Some(mut t) = doc.table(top, "output", KEYS) else {
        return spec;
    };
    let span = doc.span_of(&mut t, "trace_paths");
    if let Some(ids) = doc.array_f64(&mut t, "trace_paths") {
        let path = t.child("trace_paths");
        for (i, &x) in ids.iter().enumerate() {
            if x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0 {
                spec.trace_paths.push(x as u64);
            } else {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    span.clone(),
                    format!("must be a path id (an integer >= 0), found {x}"),
                );
            }
        }
        if ids.len() as u64 > MAX_TRACES {
            doc.invalid(
                &mut t,
                "trace_paths",
                format!(
                    "at most {MAX_TRACES} paths can be traced, found {}",
                    ids.len()
                ),
            );
        }
        spec.trace_paths.sort_unstable();
        spec.trace_paths.dedup();
    }
    if let Some(k) = doc.u64(&mut t, "trace_worst") {
        if k > MAX_TRACES {
            doc.invalid(
                &mut t,
                "trace_worst",
                format!("must be at most {MAX_TRACES}, found {k}"),
            );
        }
        spec.trace_worst = k.min(MAX_TRACES) as u32;
        // `trace_metric` only applies with `trace_worst`; alone, `finish` reports it.
        if let Some(m) = doc.str(&mut t, "trace_metric") {
            let names = crate::metric_names::PATH_METRIC_NAMES.iter().copied();
            if names.clone().any(|n| n == m) {
                spec.trace_metric = m.to_string();
            } else {
                let hint = suggest(m, names.clone())
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                let known: Vec<&str> = names.collect();
                doc.invalid(
                    &mut t,
                    "trace_metric",
                    format!(
                        "unknown per-path metric \"{m}\"{hint}; expected one of {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
    doc.finish(t);
    spec
}

/// The step count and step length, each when valid, for the checks of other sections that
/// depend on them (shock steps, the price range over the horizon).
#[derive(Debug, Clone, Copy, Default)]
struct Clock {
    steps: Option<u32>,
    step_seconds: Option<f64>,
}

/// Returns the step count and length on their own too (when valid), so assets can be checked
/// against them even if another `[simulation]` key is wrong.
fn simulation(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> (Clock, Option<Simulation>) {
    let n0 = doc.issues.len();
    let paths = doc.u64(&mut t, "paths").unwrap_or(10_000);
    let steps = doc.req_u64(&mut t, "steps");
    if let Some(s) = steps
        && !(1..=MAX_STEPS).contains(&s)
    {
        doc.invalid(
            &mut t,
            "steps",
            format!("must be between 1 and {MAX_STEPS}, found {s}"),
        );
    }
    let n_before_step_seconds = doc.issues.len();
    let step_seconds = doc.f64(&mut t, "step_seconds").unwrap_or(60.0);
    if step_seconds <= 0.0 {
        doc.invalid(
            &mut t,
            "step_seconds",
            format!("must be > 0 seconds, found {step_seconds}"),
        );
    }
    let step_seconds_ok = doc.issues.len() == n_before_step_seconds;
    let seed = doc.u64(&mut t, "seed").unwrap_or(1);
    let start_hour = doc.f64(&mut t, "start_hour_utc").unwrap_or(0.0);
    if !(0.0..24.0).contains(&start_hour) {
        doc.invalid(
            &mut t,
            "start_hour_utc",
            format!("must be in [0, 24) hours, found {start_hour}"),
        );
    }
    let max_rounds = doc.u64(&mut t, "max_rounds").unwrap_or(50);
    if !(1..=1_000_000).contains(&max_rounds) {
        doc.invalid(
            &mut t,
            "max_rounds",
            format!("must be between 1 and 1000000, found {max_rounds}"),
        );
    }
    let population_mode = match doc.choice(&mut t, "population", &["fixed", "per_path"]) {
        Some("per_path") => PopulationMode::PerPath,
        _ => PopulationMode::Fixed,
    };
    let replicates = doc.u64(&mut t, "population_replicates");
    if let Some(r) = replicates {
        if !(1..=MAX_REPLICATES).contains(&r) {
            doc.invalid(
                &mut t,
                "population_replicates",
                format!("must be between 1 and {MAX_REPLICATES}, found {r}"),
            );
        } else if population_mode == PopulationMode::PerPath {
            doc.invalid(
                &mut t,
                "population_replicates",
                "has no effect with population = \"per_path\" (every path draws its own population); remove it or use population = \"fixed\"".into(),
            );
        }
    }
    let cascade = match doc.table(&mut t, "cascade", CASCADE_KEYS) {
        Some(mut c) => {
            let endo = doc.f64(&mut c, "endogenous_move");
            if let Some(x) = endo
                && !(0.0..=1.0).contains(&x)
            {
                doc.invalid(
                    &mut c,
                    "endogenous_move",
                    format!("must be a fraction in [0, 1], found {x}"),
                );
            }
            let share = doc.f64(&mut c, "liquidated_oi_share");
            if let Some(x) = share
                && !(0.0..=1.0).contains(&x)
            {
                doc.invalid(
                    &mut c,
                    "liquidated_oi_share",
                    format!("must be a fraction in [0, 1], found {x}"),
                );
            }
            let rule = doc.choice(&mut c, "rule", &["any", "all"]).unwrap_or("any");
            if endo.is_none()
                && share.is_none()
                && !doc.has(&mut c, "endogenous_move")
                && !doc.has(&mut c, "liquidated_oi_share")
            {
                doc.invalid_table(
                    &c,
                    "needs `endogenous_move` and/or `liquidated_oi_share`".into(),
                );
            }
            doc.finish(c);
            CascadeRule {
                endogenous_move: endo,
                liquidated_oi_share: share,
                require_all: rule == "all",
            }
        }
        None => CascadeRule {
            endogenous_move: Some(0.05),
            liquidated_oi_share: None,
            require_all: false,
        },
    };
    let circuit_breaker = doc
        .table(&mut t, "circuit_breaker", BREAKER_KEYS)
        .map(|b| circuit_breaker(doc, b));
    doc.finish(t);
    let steps = steps
        .filter(|s| (1..=MAX_STEPS).contains(s))
        .map(|s| s as u32);
    let clock = Clock {
        steps,
        step_seconds: step_seconds_ok.then_some(step_seconds),
    };
    if doc.issues.len() > n0 {
        return (clock, None);
    }
    let Some(steps) = steps else {
        return (clock, None);
    };
    let sim = Simulation {
        paths,
        steps,
        step_seconds,
        seed,
        start_second_of_day: start_hour * 3600.0,
        max_rounds: max_rounds as u32,
        population_mode,
        population_replicates: replicates.map_or(DEFAULT_REPLICATES, |r| r as u32),
        cascade,
        circuit_breaker: circuit_breaker.flatten(),
    };
    (clock, Some(sim))
}

/// A number under `key` that must satisfy `ok`; absent → `default` (`None`: required).
/// Out of range is reported as "must be {what}, found x". Returns NaN when missing or bad,
/// so the caller can go on (the issue is recorded).
fn number(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    key: &'static str,
    default: Option<f64>,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> f64 {
    let x = match default {
        Some(d) => doc.f64(t, key).unwrap_or(d),
        None => doc.req_f64(t, key).unwrap_or(f64::NAN),
    };
    if x.is_nan() {
        return x;
    }
    if !ok(x) {
        doc.invalid(t, key, format!("must be {what}, found {}", show(x)));
        return f64::NAN;
    }
    x
}

/// `[simulation.circuit_breaker]`.
fn circuit_breaker(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> Option<CircuitBreaker> {
    let n0 = doc.issues.len();
    let max_move = number(
        doc,
        &mut t,
        "max_move",
        None,
        |x| x > 0.0 && x < 1.0,
        "a fraction in (0, 1)",
    );
    let halt_steps = doc.req_u64(&mut t, "halt_steps");
    if let Some(k) = halt_steps
        && !(1..=MAX_STEPS).contains(&k)
    {
        doc.invalid(
            &mut t,
            "halt_steps",
            format!("must be between 1 and {MAX_STEPS} steps, found {k}"),
        );
    }
    doc.finish(t);
    (doc.issues.len() == n0).then(|| CircuitBreaker {
        max_move,
        halt_steps: halt_steps.unwrap_or(1) as u32,
    })
}

fn asset(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    clock: Clock,
    files: &dyn FileSource,
) -> (String, Option<Asset>) {
    let n0 = doc.issues.len();
    let name = doc.req_str(&mut t, "name").unwrap_or("").to_string();
    if doc.has(&mut t, "name") && name.trim().is_empty() {
        doc.invalid(&mut t, "name", "must not be empty".into());
    } else if name.contains('/') || name == "." || name == ".." || name.contains('\0') {
        // The name becomes an HDF5 group (`/assets/<name>`) and part of file names.
        doc.invalid(
            &mut t,
            "name",
            format!("\"{name}\" cannot name an asset: no '/', NUL, \".\" or \"..\""),
        );
    }
    let price = doc.req_f64(&mut t, "price").unwrap_or(f64::NAN);
    if price <= 0.0 {
        doc.invalid(&mut t, "price", format!("must be > 0, found {price}"));
    } else if !(MIN_PRICE..=MAX_PRICE).contains(&price) {
        // Sizes in coins are USD amounts over the price: at 1e-300 they overflow.
        doc.invalid(
            &mut t,
            "price",
            format!(
                "must be between {MIN_PRICE:e} and {MAX_PRICE:e} USD, found {}",
                show(price)
            ),
        );
    }
    let volatility = doc.req_f64(&mut t, "volatility").unwrap_or(0.0);
    if !(0.0..=20.0).contains(&volatility) {
        doc.invalid(
            &mut t,
            "volatility",
            format!("must be an annualised fraction in [0, 20], found {volatility}"),
        );
    }
    let drift = doc.f64(&mut t, "drift").unwrap_or(0.0);
    if drift.abs() > 100.0 {
        doc.invalid(
            &mut t,
            "drift",
            format!("must be an annualised rate in [-100, 100], found {drift}"),
        );
    }
    let mut resampled = None;
    let innovations = match doc.choice(
        &mut t,
        "innovations",
        &["gaussian", "student_t", "bootstrap"],
    ) {
        Some("bootstrap") => {
            resampled = bootstrap::read(doc, &mut t, clock.step_seconds, files);
            Innovations::Gaussian
        }
        Some("student_t") => {
            let dof = doc.req_f64(&mut t, "dof").unwrap_or(f64::NAN);
            if dof <= 2.0 || dof > 1e6 {
                doc.invalid(&mut t, "dof", format!("degrees of freedom must be in (2, 1e6] so the variance is finite, found {dof}"));
            }
            Innovations::StudentT { dof }
        }
        Some(_) => Innovations::Gaussian,
        None => {
            // Absent: Gaussian. Present but invalid (already reported): `dof` may well belong
            // to the intended "student_t", so it is not reported as not applying.
            if doc.has(&mut t, "innovations") {
                doc.has(&mut t, "dof");
            }
            Innovations::Gaussian
        }
    };
    let mut shocks = Vec::new();
    for mut s in doc.tables(&mut t, "shocks", SHOCK_KEYS) {
        let step = doc.req_u64(&mut s, "step");
        let ret = doc.req_f64(&mut s, "return");
        if let (Some(step), Some(n)) = (step, clock.steps)
            && step >= u64::from(n)
        {
            doc.invalid(
                &mut s,
                "step",
                format!("must be below simulation.steps = {n}, found {step}"),
            );
        }
        if let Some(r) = ret
            && r <= -1.0
        {
            doc.invalid(
                &mut s,
                "return",
                format!("must be > -1 (a price cannot fall 100% or more), found {r}"),
            );
        }
        doc.finish(s);
        if let (Some(step), Some(ret)) = (step, ret) {
            shocks.push(Shock {
                step: step.min(u64::from(u32::MAX)) as u32,
                ret,
            });
        }
    }
    shocks.sort_by_key(|s| s.step);
    let jumps = doc
        .table(&mut t, "jumps", JUMP_KEYS)
        .and_then(|j| jumps(doc, j, clock));
    let vol_feedback = doc
        .table(&mut t, "volatility_feedback", FEEDBACK_KEYS)
        .and_then(|f| vol_feedback(doc, f));
    // Feedback keeps the long-run variance at the stated one only if the constant term
    // ω = (1 − α − β)·σ²·dt − α·E[J²] is positive, E[J²] the jumps' second moment per step.
    if let (Some(f), Some(secs)) = (vol_feedback, clock.step_seconds) {
        let dt = secs / SECONDS_PER_YEAR;
        let h = volatility * volatility * dt;
        let j2 = jumps.map_or(0.0, |j| {
            let l = j.rate_per_day * secs / 86_400.0;
            l * (j.mean * j.mean + j.sd * j.sd) + (l * j.mean).powi(2)
        });
        if volatility == 0.0 || (1.0 - f.alpha - f.beta) * h <= f.alpha * j2 {
            doc.invalid(
                &mut t,
                "volatility_feedback",
                format!(
                    "cannot keep the long-run volatility at the stated {volatility}: needs volatility > 0 and (1 − alpha − beta)·σ²·dt = {:.3e} > alpha·E[jump²] per step = {:.3e}; lower alpha or beta, or the jumps",
                    (1.0 - f.alpha - f.beta) * h,
                    f.alpha * j2
                ),
            );
        }
    }
    // The fundamental is `exp(log price)`. Over the whole horizon its trend (drift and
    // variance drag), ±10 standard deviations of its noise and all shocks together must stay
    // far inside the range of an f64, or the price becomes 0 or inf mid-path (with
    // `step_seconds = 1e12`, or volatility 20 over 10⁷ one-minute steps) and every figure
    // after it is NaN. Book impact needs room on top, hence e^±200 rather than e^±709.
    if doc.issues.len() == n0
        && let (Some(n), Some(secs)) = (clock.steps, clock.step_seconds)
    {
        let years = f64::from(n) * secs / SECONDS_PER_YEAR;
        // A zero coefficient contributes nothing even over an infinite horizon (0·inf = NaN).
        let term = |c: f64, x: f64| if c == 0.0 { 0.0 } else { c.abs() * x };
        // Volatility feedback keeps the long-run variance at the stated one, so the noise
        // term is unchanged (bursts are capped at `max_ratio` times σ per step). Jumps add
        // their expected count times |mean| plus 10 standard deviations of their sum.
        let peak_vol = volatility;
        let jump_reach = jumps.map_or(0.0, |j| {
            let count = j.rate_per_day * years * 365.0;
            term(j.mean, count) + term(10.0, (count * (j.mean * j.mean + j.sd * j.sd)).sqrt())
        });
        let reach = term(drift - peak_vol * peak_vol / 2.0, years)
            + term(10.0 * peak_vol, years.sqrt())
            + jump_reach
            + shocks.iter().map(|s| (1.0 + s.ret).ln().abs()).sum::<f64>();
        if reach.is_nan() || reach > MAX_LOG_REACH {
            doc.invalid_table(
                &t,
                format!(
                    "over {n} steps of {secs} s ({years:.3e} years) this asset's price could move by a factor of e^{reach:.0} (drift, volatility and shocks), beyond the e^{MAX_LOG_REACH} that prices can represent; use fewer or shorter steps, or lower the volatility, drift or shocks"
                ),
            );
        }
    }
    let book = doc
        .req_table(&mut t, "book", BOOK_KEYS)
        .and_then(|b| book(doc, b, price, volatility, files));
    let venues = venues::venues(doc, &mut t, book.as_ref(), price, volatility, clock, files);
    doc.finish(t);
    if doc.issues.len() > n0 {
        return (name, None);
    }
    let asset = book.map(|book| Asset {
        name: name.clone(),
        price,
        volatility,
        drift,
        innovations,
        bootstrap: resampled,
        shocks,
        jumps,
        vol_feedback,
        book,
        venues,
    });
    (name, asset)
}

/// Most expected jumps per step: the inverse-CDF draw of the count walks about this many
/// terms in the worst case.
const MAX_JUMPS_PER_STEP: f64 = 100.0;

/// `[assets.jumps]`.
fn jumps(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>, clock: Clock) -> Option<Jumps> {
    let n0 = doc.issues.len();
    let rate = number(
        doc,
        &mut t,
        "rate_per_day",
        None,
        |x| x >= 0.0,
        ">= 0 jumps per day",
    );
    if let Some(secs) = clock.step_seconds
        && rate * secs / 86_400.0 > MAX_JUMPS_PER_STEP
    {
        doc.invalid(
            &mut t,
            "rate_per_day",
            format!(
                "gives {} expected jumps per step of {secs} s; at most {MAX_JUMPS_PER_STEP} are supported (use shorter steps or a lower rate)",
                show(rate * secs / 86_400.0)
            ),
        );
    }
    let mean = number(
        doc,
        &mut t,
        "mean",
        None,
        |x| x.abs() <= 1.0,
        "a log jump size in [-1, 1]",
    );
    let sd = number(
        doc,
        &mut t,
        "sd",
        None,
        |x| (0.0..=1.0).contains(&x),
        "a log jump size in [0, 1]",
    );
    let compensate = doc.bool(&mut t, "compensate").unwrap_or(true);
    doc.finish(t);
    (doc.issues.len() == n0).then_some(Jumps {
        rate_per_day: rate,
        mean,
        sd,
        compensate,
    })
}

/// `[assets.volatility_feedback]`.
fn vol_feedback(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> Option<VolFeedback> {
    let n0 = doc.issues.len();
    let alpha = number(
        doc,
        &mut t,
        "alpha",
        None,
        |x| x > 0.0 && x < 1.0,
        "in (0, 1)",
    );
    let beta = number(
        doc,
        &mut t,
        "beta",
        None,
        |x| (0.0..1.0).contains(&x),
        "in [0, 1)",
    );
    if alpha + beta >= 1.0 {
        doc.invalid(
            &mut t,
            "beta",
            format!("alpha + beta must be < 1 (a stationary variance), found {alpha} + {beta}"),
        );
    }
    let max_ratio = number(
        doc,
        &mut t,
        "max_ratio",
        Some(10.0),
        |x| (1.0..=100.0).contains(&x),
        "a multiple of the stated volatility in [1, 100]",
    );
    doc.finish(t);
    (doc.issues.len() == n0).then_some(VolFeedback {
        alpha,
        beta,
        max_ratio,
    })
}

/// `volatility`: the asset's, the default reference of `volatility_depth`.
fn book(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    price: f64,
    volatility: f64,
    files: &dyn FileSource,
) -> Option<BookSpec> {
    let n0 = doc.issues.len();
    let profile = doc.choice(
        &mut t,
        "profile",
        &["flat", "linear", "exponential", "power_law", "file"],
    );
    if profile.is_none() && !doc.has(&mut t, "profile") {
        doc.invalid(
            &mut t,
            "profile",
            "missing required key `profile` (flat, linear, exponential, power_law or file)".into(),
        );
    }
    if profile.is_none() {
        // Missing or invalid profile (reported): the other keys are not "not applying".
        doc.skip_rest(&mut t);
    }
    let mut hourly = [1.0; 24];
    if let Some(h) = doc.array_f64(&mut t, "hourly_liquidity") {
        if h.len() != 24 {
            doc.invalid(
                &mut t,
                "hourly_liquidity",
                format!(
                    "needs 24 hourly factors (00:00 UTC first), found {}",
                    h.len()
                ),
            );
        } else if let Some((i, x)) = h
            .iter()
            .enumerate()
            .find(|(_, x)| **x < MIN_HOURLY_FACTOR || **x > 100.0)
        {
            doc.invalid(
                &mut t,
                "hourly_liquidity",
                format!(
                    "factor for hour {i} must be in [{MIN_HOURLY_FACTOR:e}, 100], found {}",
                    show(*x)
                ),
            );
        } else {
            hourly.copy_from_slice(&h);
        }
    }
    let refill = doc.f64(&mut t, "refill_half_life_s").unwrap_or(60.0);
    if refill <= 0.0 {
        doc.invalid(
            &mut t,
            "refill_half_life_s",
            format!("must be > 0 seconds, found {refill}"),
        );
    }
    let permanent = doc.f64(&mut t, "permanent_impact").unwrap_or(0.5);
    if !(0.0..=1.0).contains(&permanent) {
        doc.invalid(
            &mut t,
            "permanent_impact",
            format!("must be a share in [0, 1], found {permanent}"),
        );
    }
    let vol_depth = doc
        .table(&mut t, "volatility_depth", VOL_DEPTH_KEYS)
        .and_then(|v| vol_depth(doc, v, volatility));
    let price_floor = doc.f64(&mut t, "price_floor_usd");
    if let Some(f) = price_floor
        && !(f >= MIN_PRICE && f < price)
    {
        doc.invalid(
            &mut t,
            "price_floor_usd",
            format!(
                "must be a price in [{MIN_PRICE:e}, price) USD (below the start price {}), found {}",
                show(price),
                show(f)
            ),
        );
    }

    let sides = match profile {
        Some("file") => {
            let file = doc.req_str(&mut t, "file");
            let path = t.child("file");
            file.and_then(|f| match files.read(f) {
                Ok(text) => match csv::book_levels(&text, price) {
                    Ok(s) => Some(s),
                    Err(errs) => {
                        let span = doc.span_of(&mut t, "file");
                        for e in errs {
                            doc.error_at(&path, span.clone(), format!("{f}:{e}"));
                        }
                        None
                    }
                },
                Err(e) => {
                    doc.invalid(&mut t, "file", e);
                    None
                }
            })
        }
        Some(p) => {
            let spread_bp = doc.f64(&mut t, "spread_bp").unwrap_or(1.0);
            if spread_bp <= 0.0 || spread_bp > 10_000.0 {
                doc.invalid(
                    &mut t,
                    "spread_bp",
                    format!("must be in (0, 10000] basis points, found {spread_bp}"),
                );
            }
            let spacing_bp = doc.f64(&mut t, "level_spacing_bp").unwrap_or(1.0);
            if spacing_bp <= 0.0 || spacing_bp > 10_000.0 {
                doc.invalid(
                    &mut t,
                    "level_spacing_bp",
                    format!("must be in (0, 10000] basis points, found {spacing_bp}"),
                );
            }
            let levels = doc.u64(&mut t, "levels").unwrap_or(2000);
            if !(1..=MAX_LEVELS).contains(&levels) {
                doc.invalid(
                    &mut t,
                    "levels",
                    format!("must be between 1 and {MAX_LEVELS} per side, found {levels}"),
                );
            }
            // Bids at distance x trade at e^(−x) times the price, asks at e^(+x), and a sweep
            // through the whole side moves the mid by the full extent: a ladder reaching
            // thousands of log units (levels = 1000 at 10000 bp) gives prices of 0 or inf.
            let deepest_bp = spread_bp / 2.0 + (levels as f64 - 1.0) * spacing_bp;
            if deepest_bp > MAX_BOOK_EXTENT_BP {
                doc.invalid(
                    &mut t,
                    "levels",
                    format!(
                        "the deepest level would sit {deepest_bp} bp from the mid (spread_bp / 2 + (levels − 1) × level_spacing_bp); it must be within {MAX_BOOK_EXTENT_BP} bp (a factor e^10 of the price) for prices to stay representable: use fewer levels or a smaller spacing"
                    ),
                );
            }
            let depth = doc.req_f64(&mut t, "depth_usd").unwrap_or(f64::NAN);
            if depth <= 0.0 {
                doc.invalid(
                    &mut t,
                    "depth_usd",
                    format!("must be > 0 USD, found {depth}"),
                );
            } else if depth > MAX_USD {
                doc.invalid(
                    &mut t,
                    "depth_usd",
                    format!("must be at most {MAX_USD:e} USD, found {}", show(depth)),
                );
            }
            let band_bp = doc.f64(&mut t, "depth_band_bp").unwrap_or(100.0);
            if band_bp <= 0.0 {
                doc.invalid(
                    &mut t,
                    "depth_band_bp",
                    format!("must be > 0 basis points, found {band_bp}"),
                );
            } else if band_bp < spread_bp / 2.0 {
                doc.invalid(&mut t, "depth_band_bp", format!("band of {band_bp} bp lies inside the half-spread ({} bp): it holds no level", spread_bp / 2.0));
            }
            let shape = match p {
                "flat" => Some(LevelShape::Power(0.0)),
                "linear" => Some(LevelShape::Power(1.0)),
                "power_law" => {
                    let power = doc.req_f64(&mut t, "power").unwrap_or(f64::NAN);
                    if !(-3.0..=5.0).contains(&power) {
                        doc.invalid(
                            &mut t,
                            "power",
                            format!("must be in [-3, 5], found {power}"),
                        );
                    }
                    Some(LevelShape::Power(power))
                }
                "exponential" => {
                    let scale = doc.req_f64(&mut t, "scale_bp").unwrap_or(f64::NAN);
                    if scale <= 0.0 {
                        doc.invalid(
                            &mut t,
                            "scale_bp",
                            format!("must be > 0 basis points, found {scale}"),
                        );
                    }
                    Some(LevelShape::Exponential(scale * 1e-4))
                }
                _ => None,
            };
            let sides = if doc.issues.len() > n0 {
                None
            } else {
                shape.map(|s| {
                    synthetic_levels(
                        s,
                        spread_bp * 1e-4,
                        spacing_bp * 1e-4,
                        levels as usize,
                        depth,
                        band_bp * 1e-4,
                        price,
                    )
                })
            };
            // Extreme shape parameters (scale_bp = 1e-10, or power −3 with spread_bp = 1e-300)
            // make every weight underflow to 0 or overflow to inf: a book with no depth or
            // NaN sizes, which the engine cannot walk. (An invalid price, already reported,
            // makes the sizes meaningless too: nothing more to say then.)
            match sides {
                Some(_) if !(MIN_PRICE..=MAX_PRICE).contains(&price) => None,
                Some((bid, ask))
                    if bid.iter().all(|l| l.size.is_finite() && l.size >= 0.0)
                        && bid.iter().any(|l| l.size > 0.0) =>
                {
                    Some((bid, ask))
                }
                Some(_) => {
                    doc.invalid(
                        &mut t,
                        "profile",
                        format!("with these parameters the \"{p}\" profile gives no usable depth (level sizes underflow to 0 or overflow); check spread_bp, scale_bp and power"),
                    );
                    None
                }
                None => None,
            }
        }
        None => None,
    };
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    let (bid, ask) = sides?;
    Some(BookSpec {
        bid,
        ask,
        hourly,
        refill_half_life_s: refill,
        permanent_impact: permanent,
        vol_depth,
        price_floor,
    })
}

/// `[assets.book.volatility_depth]`.
fn vol_depth(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>, volatility: f64) -> Option<VolDepth> {
    let n0 = doc.issues.len();
    let beta = number(
        doc,
        &mut t,
        "beta",
        Some(1.0),
        |x| x > 0.0 && x <= 5.0,
        "in (0, 5]",
    );
    let default_ref = (volatility > 0.0).then_some(volatility);
    if default_ref.is_none() && !doc.has(&mut t, "reference_volatility") {
        doc.invalid(
            &mut t,
            "reference_volatility",
            "missing required key `reference_volatility` (the asset's volatility is 0)".into(),
        );
    }
    let reference = number(
        doc,
        &mut t,
        "reference_volatility",
        Some(default_ref.unwrap_or(f64::NAN)),
        |x| x > 0.0 && x <= 20.0,
        "an annualised fraction in (0, 20]",
    );
    let half_life = number(
        doc,
        &mut t,
        "half_life_s",
        Some(600.0),
        |x| x > 0.0,
        "> 0 seconds",
    );
    let min = number(
        doc,
        &mut t,
        "min",
        Some(0.1),
        |x| (MIN_HOURLY_FACTOR..=1.0).contains(&x),
        &format!("a multiplier in [{MIN_HOURLY_FACTOR:e}, 1]"),
    );
    let max = number(
        doc,
        &mut t,
        "max",
        Some(1.0),
        |x| (1.0..=100.0).contains(&x),
        "a multiplier in [1, 100]",
    );
    doc.finish(t);
    (doc.issues.len() == n0).then_some(VolDepth {
        beta,
        reference_volatility: reference,
        half_life_s: half_life,
        min,
        max,
    })
}

/// `[correlation]`: the base matrix (its Cholesky factor) and the rest of the dependence.
/// `assets` are given when every asset is valid (for the checks of `t_mixing`).
fn correlation(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    n: usize,
    assets: Option<&Vec<Asset>>,
    clock: Clock,
) -> (Option<Vec<f64>>, Dependence) {
    let base = matrix_factor(doc, &mut t, n);
    let mut dep = Dependence::default();
    let mut last_step = 0u64;
    for mut r in doc.tables(&mut t, "regimes", REGIME_KEYS) {
        let from = doc.req_u64(&mut r, "from_step");
        if let Some(k) = from {
            if k <= last_step {
                doc.invalid(
                    &mut r,
                    "from_step",
                    format!("must be > 0 and above the previous regime's from_step ({last_step}), found {k}"),
                );
            } else if let Some(steps) = clock.steps
                && k >= u64::from(steps)
            {
                doc.invalid(
                    &mut r,
                    "from_step",
                    format!("must be below simulation.steps = {steps}, found {k}"),
                );
            }
            last_step = last_step.max(k);
        }
        let factor = matrix_factor(doc, &mut r, n);
        doc.finish(r);
        if let (Some(k), Some(l)) = (from, factor) {
            dep.regimes.push(CorrelationRegime {
                from_step: k.min(u64::from(u32::MAX)) as u32,
                cholesky: l,
            });
        }
    }
    dep.common_jump_clock = doc
        .choice(&mut t, "jump_clock", &["independent", "common"])
        .is_some_and(|c| c == "common");
    dep.shared_t_mixing = doc
        .choice(&mut t, "t_mixing", &["per_asset", "shared"])
        .is_some_and(|c| c == "shared");
    if dep.shared_t_mixing
        && let Some(assets) = assets
    {
        let dofs: Vec<Option<f64>> = assets
            .iter()
            .map(|a| match a.innovations {
                Innovations::StudentT { dof } => Some(dof),
                Innovations::Gaussian => None,
            })
            .collect();
        let first = dofs.first().copied().flatten();
        if dofs.iter().any(|d| d.is_none() || *d != first) {
            let list: Vec<String> = assets
                .iter()
                .zip(&dofs)
                .map(|(a, d)| match d {
                    Some(d) => format!("{} student_t({d})", a.name),
                    None => format!("{} gaussian", a.name),
                })
                .collect();
            doc.invalid(
                &mut t,
                "t_mixing",
                format!(
                    "\"shared\" (a multivariate t) needs every asset to be student_t with the same dof; found {}",
                    list.join(", ")
                ),
            );
        }
    }
    doc.finish(t);
    (base, dep)
}

/// Reads `matrix` of `t` and returns its Cholesky factor (row-major n×n), reporting a matrix
/// that is missing, of the wrong size, not a correlation matrix or not PSD.
fn matrix_factor(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>, n: usize) -> Option<Vec<f64>> {
    let m = doc.matrix(t, "matrix");
    if m.is_none() && !doc.has(t, "matrix") {
        doc.invalid_table(t, "missing required key `matrix`".into());
    }
    let path = t.child("matrix");
    let span = doc.span_of(t, "matrix");
    let m = m?;
    if m.len() != n || m.iter().any(|r| r.len() != n) {
        let shape = m
            .iter()
            .map(|r| r.len().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        doc.error_at(
            &path,
            span,
            format!("must be {n}×{n} (one row and column per asset, in [[assets]] order); found {} rows of lengths [{shape}]", m.len()),
        );
        return None;
    }
    let mut bad = false;
    for (i, row) in m.iter().enumerate() {
        if (row[i] - 1.0).abs() > 1e-9 {
            doc.error_at(
                &format!("{path}[{i}][{i}]"),
                span.clone(),
                format!("diagonal entries must be 1, found {}", row[i]),
            );
            bad = true;
        }
        for (j, &x) in row.iter().enumerate() {
            if !(-1.0..=1.0).contains(&x) {
                doc.error_at(
                    &format!("{path}[{i}][{j}]"),
                    span.clone(),
                    format!("correlations must be in [-1, 1], found {x}"),
                );
                bad = true;
            } else if j > i && (x - m[j][i]).abs() > 1e-9 {
                doc.error_at(
                    &format!("{path}[{i}][{j}]"),
                    span.clone(),
                    format!(
                        "matrix must be symmetric: [{i}][{j}] = {x} but [{j}][{i}] = {}",
                        m[j][i]
                    ),
                );
                bad = true;
            }
        }
    }
    if bad {
        return None;
    }
    match cholesky_factor(&m) {
        Ok(l) => Some(l),
        Err(FactorError::NotPsd { min_eigenvalue }) => {
            doc.error_at(&path, span, format!("is not positive semi-definite (smallest eigenvalue {min_eigenvalue:.4}); no set of assets can have these correlations"));
            None
        }
        Err(FactorError::NotFactorisable) => {
            doc.error_at(
                &path,
                span,
                "cannot be factorised (Cholesky); it is numerically not positive semi-definite"
                    .into(),
            );
            None
        }
    }
}

/// The index of the asset named under `asset` (required) in `names`; an unknown name is
/// reported with a "did you mean" and the list of assets.
fn asset_index(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>, names: &[String]) -> Option<usize> {
    let asset_name = doc.req_str(t, "asset");
    asset_name.and_then(|a| match names.iter().position(|n| n == a) {
        Some(i) => Some(i),
        None => {
            let hint = suggest(a, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            // Assets without a valid name are listed as "" in `names`; with none left the
            // list would read "assets are: " (nothing).
            let named: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| !n.is_empty())
                .collect();
            let known = if names.is_empty() {
                "the scenario defines no asset".to_string()
            } else if named.is_empty() {
                "no asset has a valid name".to_string()
            } else {
                format!("assets are: {}", named.join(", "))
            };
            doc.invalid(t, "asset", format!("unknown asset \"{a}\"{hint}; {known}"));
            None
        }
    })
}

fn population(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    names: &[String],
    venue_names: &[Option<Vec<String>>],
    steps: Option<u32>,
    files: &dyn FileSource,
) -> Option<Population> {
    let n0 = doc.issues.len();
    let pname = doc.str(&mut t, "name").unwrap_or("").to_string();
    let asset = asset_index(doc, &mut t, names);

    let n_margin = doc.issues.len();
    let margin = if doc.has(&mut t, "margin_tiers") {
        if doc.has(&mut t, "maintenance_margin") {
            doc.invalid(
                &mut t,
                "maintenance_margin",
                "give either `maintenance_margin` or `margin_tiers`, not both".into(),
            );
        }
        let mut pairs = Vec::new();
        for mut tier in doc.tables(&mut t, "margin_tiers", TIER_KEYS) {
            let floor = doc.req_f64(&mut tier, "from_notional_usd");
            let rate = doc.req_f64(&mut tier, "rate");
            if let Some(r) = rate
                && !(r > 0.0 && r < 0.5)
            {
                doc.invalid(&mut tier, "rate", format!("must be in (0, 0.5), found {r}"));
            }
            let path = tier.path.clone();
            // Ordering errors point at the tier's line.
            let span = doc.span_of(&mut tier, "from_notional_usd");
            doc.finish(tier);
            if let (Some(f), Some(r)) = (floor, rate) {
                pairs.push((f, r, path, span));
            }
        }
        if pairs.is_empty() {
            doc.invalid(&mut t, "margin_tiers", "needs at least one tier".into());
        } else if pairs[0].0 != 0.0 {
            doc.error_at(
                &format!("{}.from_notional_usd", pairs[0].2),
                pairs[0].3.clone(),
                "the first tier must start at 0".into(),
            );
        }
        for w in pairs.windows(2) {
            if w[1].0 <= w[0].0 || w[1].1 < w[0].1 {
                doc.error_at(
                    &w[1].2,
                    w[1].3.clone(),
                    "tiers must have increasing `from_notional_usd` and non-decreasing `rate`"
                        .into(),
                );
            }
        }
        MarginSchedule::tiered(&pairs.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>())
    } else {
        let r = doc.f64(&mut t, "maintenance_margin").unwrap_or(0.004);
        if r <= 0.0 || r >= 0.5 {
            doc.invalid(
                &mut t,
                "maintenance_margin",
                format!("must be a rate in (0, 0.5), found {r}"),
            );
        }
        MarginSchedule::flat(r)
    };
    // What depends on the schedule (the leverage cap, the rows of a positions file) is
    // checked only against a valid one: an invalid rate would give spurious leverage errors,
    // and an empty schedule (`margin_tiers = []`) made `MarginSchedule::tier` panic on an
    // out-of-bounds index while reading the positions file.
    let margin_ok = doc.issues.len() == n_margin && !margin.tiers().is_empty();
    let max_leverage = margin
        .tiers()
        .first()
        .filter(|_| margin_ok)
        .map(|x| 1.0 / (2.0 * x.rate));
    let fee = doc.f64(&mut t, "liquidation_fee").unwrap_or(0.005);
    if !(0.0..=0.1).contains(&fee) {
        doc.invalid(
            &mut t,
            "liquidation_fee",
            format!("must be a rate in [0, 0.1], found {fee}"),
        );
    }
    let fund = doc.f64(&mut t, "insurance_fund_usd").unwrap_or(0.0);
    if fund < 0.0 {
        doc.invalid(
            &mut t,
            "insurance_fund_usd",
            format!("must be >= 0 USD, found {fund}"),
        );
    } else if fund > MAX_USD {
        doc.invalid(
            &mut t,
            "insurance_fund_usd",
            format!("must be at most {MAX_USD:e} USD, found {}", show(fund)),
        );
    }

    let partial = partial_rule(
        doc,
        &mut t,
        margin.tiers().first().filter(|_| margin_ok).map(|x| x.rate),
    );
    let auto_deleverage = doc.bool(&mut t, "auto_deleverage").unwrap_or(false);
    let funding = funding::funding(
        doc,
        &mut t,
        margin_ok.then(|| margin.tiers().len() == 1),
        steps,
    );
    let (venue, trigger) = venues::population_venue(
        doc,
        &mut t,
        asset.map_or("", |a| names[a].as_str()),
        asset.and_then(|a| venue_names.get(a)?.as_deref()),
    );

    let source = if doc.has(&mut t, "positions_file") {
        let file = doc.str(&mut t, "positions_file");
        let path = t.child("positions_file");
        let span = doc.span_of(&mut t, "positions_file");
        file.and_then(|f| match files.read(f) {
            Ok(_) if !margin_ok => None,
            Ok(text) => {
                match csv::positions(&text, &margin, asset.map_or("", |a| names[a].as_str())) {
                    Ok(r) => Some(PositionSource::Explicit(r)),
                    Err(errs) => {
                        for e in errs {
                            doc.error_at(&path, span.clone(), format!("{f}:{e}"));
                        }
                        None
                    }
                }
            }
            Err(e) => {
                doc.error_at(&path, span.clone(), e);
                None
            }
        })
    } else {
        synthetic(doc, &mut t, max_leverage)
    };
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    Some(Population {
        name: pname,
        asset: asset?,
        margin,
        liquidation_fee: fee,
        insurance_fund: fund,
        partial,
        auto_deleverage,
        funding,
        source: source?,
        venue,
        trigger,
    })
}

/// `[[lending]]`: accounts, their start health factors and the collateral assets.
fn lending_market(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    names: &[String],
) -> Option<LendingMarket> {
    let n0 = doc.issues.len();
    let name = doc.str(&mut t, "name").unwrap_or("").to_string();
    let accounts = doc.req_u64(&mut t, "accounts").unwrap_or(0);
    if doc.has(&mut t, "accounts") && !(1..=MAX_POSITIONS).contains(&accounts) {
        doc.invalid(
            &mut t,
            "accounts",
            format!("must be between 1 and {MAX_POSITIONS}, found {accounts}"),
        );
    }
    let debt_usd = number(
        doc,
        &mut t,
        "debt_usd",
        None,
        |x| x > 0.0 && x <= MAX_USD,
        &format!("> 0 and at most {MAX_USD:e} USD"),
    );
    let debt_sigma = number(
        doc,
        &mut t,
        "debt_sigma",
        Some(1.0),
        |x| (0.0..=3.0).contains(&x),
        "in [0, 3]",
    );
    let close_factor = number(
        doc,
        &mut t,
        "close_factor",
        Some(0.5),
        |x| x > 0.0 && x <= 1.0,
        "a fraction in (0, 1]",
    );
    let full_below = number(
        doc,
        &mut t,
        "full_close_health_factor",
        Some(0.95),
        |x| x > 0.0 && x <= 1.0,
        "a health factor in (0, 1]",
    );
    let (hf_min, hf_max) = match doc.req_table(&mut t, "health_factor", HF_KEYS) {
        Some(mut h) => {
            let ok = |x: f64| x > 1.0 && x <= 100.0;
            let lo = number(doc, &mut h, "min", None, ok, "a health factor in (1, 100]");
            let hi = number(doc, &mut h, "max", None, ok, "a health factor in (1, 100]");
            if hi < lo {
                doc.invalid(
                    &mut h,
                    "max",
                    format!("must be at least `min` ({}), found {}", show(lo), show(hi)),
                );
            }
            doc.finish(h);
            (lo, hi)
        }
        None => (f64::NAN, f64::NAN),
    };
    let tables = doc.tables(&mut t, "collateral", COLLATERAL_KEYS);
    if tables.is_empty()
        && doc
            .issues
            .iter()
            .all(|i| !i.path.starts_with(&t.child("collateral")))
    {
        doc.invalid(
            &mut t,
            "collateral",
            "needs at least one `[[lending.collateral]]` asset".into(),
        );
    }
    let mut collateral: Vec<LendingCollateral> = Vec::new();
    let mut share_sum = 0.0;
    for mut c in tables {
        let asset = asset_index(doc, &mut c, names);
        if let Some(a) = asset
            && collateral.iter().any(|x| x.params.asset == a)
        {
            doc.invalid(
                &mut c,
                "asset",
                format!(
                    "asset \"{}\" is already a collateral of this market",
                    names[a]
                ),
            );
        }
        let share = number(
            doc,
            &mut c,
            "share",
            None,
            |x| x > 0.0 && x <= 1.0,
            "in (0, 1]",
        );
        let lt = number(
            doc,
            &mut c,
            "liquidation_threshold",
            None,
            |x| x > 0.0 && x < 1.0,
            "a fraction in (0, 1)",
        );
        let bonus = number(
            doc,
            &mut c,
            "bonus",
            None,
            |x| (0.0..0.5).contains(&x),
            "a fraction in [0, 0.5)",
        );
        // Aave's own rule: a liquidation must not lower the health factor of an account
        // with a single collateral, which needs LT · (1 + bonus) < 1.
        if lt * (1.0 + bonus) >= 1.0 {
            doc.invalid(
                &mut c,
                "bonus",
                format!(
                    "liquidation_threshold x (1 + bonus) must be < 1, found {} x {}",
                    show(lt),
                    show(1.0 + bonus)
                ),
            );
        }
        share_sum += share;
        doc.finish(c);
        if let Some(a) = asset {
            collateral.push(LendingCollateral {
                params: CollateralParams {
                    asset: a,
                    liquidation_threshold: lt,
                    bonus,
                },
                share,
            });
        }
    }
    if !collateral.is_empty() && share_sum.is_finite() && (share_sum - 1.0).abs() > 1e-9 {
        doc.invalid(
            &mut t,
            "collateral",
            format!(
                "the collateral shares must add up to 1, found {}",
                show(share_sum)
            ),
        );
    }
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    Some(LendingMarket {
        name,
        accounts,
        debt_usd,
        debt_sigma,
        hf_min,
        hf_max,
        rule: CloseRule {
            close_factor,
            full_below,
        },
        collateral,
    })
}

/// `[populations.partial_liquidation]`. `first_rate`: the first tier's maintenance rate when
/// the schedule is valid (the target must be reachable with it).
fn partial_rule(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    first_rate: Option<f64>,
) -> Option<PartialRule> {
    let mut p = doc.table(t, "partial_liquidation", PARTIAL_KEYS)?;
    let k = doc.req_f64(&mut p, "target_multiple");
    if let Some(k) = k
        && !(k > 1.0 && k <= 100.0)
    {
        doc.invalid(
            &mut p,
            "target_multiple",
            format!("must be in (1, 100] (equity over maintenance after the close), found {k}"),
        );
    }
    let min_notional = doc.f64(&mut p, "min_notional_usd").unwrap_or(0.0);
    if !(0.0..=MAX_USD).contains(&min_notional) {
        doc.invalid(
            &mut p,
            "min_notional_usd",
            format!(
                "must be between 0 and {MAX_USD:e} USD, found {}",
                show(min_notional)
            ),
        );
    }
    let fee = doc.f64(&mut p, "fee").unwrap_or(0.0);
    if !(0.0..=0.1).contains(&fee) {
        doc.invalid(
            &mut p,
            "fee",
            format!("must be a rate in [0, 0.1], found {fee}"),
        );
    } else if let Some(rate) = first_rate
        && fee >= rate
    {
        doc.invalid(
            &mut p,
            "fee",
            format!(
                "must be below the first maintenance rate ({rate}): at the liquidation price the equity is at most the maintenance margin, so a fee this large leaves nothing to restore and every close would be full"
            ),
        );
    }
    doc.finish(p);
    Some(PartialRule {
        target_multiple: k?,
        min_notional,
        fee,
    })
}

/// `max_leverage`: the venue cap 1/(2·first maintenance rate), `None` when the margin
/// schedule is invalid (already reported).
fn synthetic(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    max_leverage: Option<f64>,
) -> Option<PositionSource> {
    let n0 = doc.issues.len();
    let count = doc.req_u64(t, "count").unwrap_or(0);
    if doc.has(t, "count") && !(1..=MAX_POSITIONS).contains(&count) {
        doc.invalid(
            t,
            "count",
            format!("must be between 1 and {MAX_POSITIONS}, found {count}"),
        );
    }
    let oi = doc.req_f64(t, "open_interest_usd").unwrap_or(f64::NAN);
    if oi <= 0.0 {
        doc.invalid(
            t,
            "open_interest_usd",
            format!("must be > 0 USD, found {oi}"),
        );
    } else if oi > MAX_USD {
        doc.invalid(
            t,
            "open_interest_usd",
            format!("must be at most {MAX_USD:e} USD, found {}", show(oi)),
        );
    }
    let long_share = match (doc.has(t, "long_share"), doc.has(t, "funding_rate_8h")) {
        (true, true) => {
            doc.invalid(
                t,
                "funding_rate_8h",
                "give either `long_share` or `funding_rate_8h`, not both".into(),
            );
            None
        }
        (true, false) => {
            let s = doc.f64(t, "long_share");
            if let Some(x) = s
                && !(0.0..=1.0).contains(&x)
            {
                doc.invalid(
                    t,
                    "long_share",
                    format!("must be a probability in [0, 1], found {x}"),
                );
            }
            s
        }
        (false, true) => {
            let f = doc.f64(t, "funding_rate_8h");
            if let Some(x) = f
                && x.abs() > 0.05
            {
                doc.invalid(
                    t,
                    "funding_rate_8h",
                    format!("must be a rate per 8 hours in [-0.05, 0.05], found {x}"),
                );
            }
            f.map(crate::model::population::long_share_from_funding)
        }
        (false, false) => Some(0.5),
    };

    let size = match doc.req_table(t, "size", SIZE_KEYS) {
        Some(mut s) => {
            let d = doc.choice(&mut s, "distribution", &["lognormal", "pareto"]);
            let out = match d {
                Some("lognormal") => {
                    let sigma = doc.req_f64(&mut s, "sigma").unwrap_or(f64::NAN);
                    if sigma <= 0.0 || sigma > 5.0 {
                        doc.invalid(&mut s, "sigma", format!("must be in (0, 5], found {sigma}"));
                    }
                    Some(SizeDist::LogNormal { sigma })
                }
                Some("pareto") => {
                    let alpha = doc.req_f64(&mut s, "alpha").unwrap_or(f64::NAN);
                    if alpha <= 0.5 || alpha > 20.0 {
                        doc.invalid(
                            &mut s,
                            "alpha",
                            format!("tail index must be in (0.5, 20], found {alpha}"),
                        );
                    }
                    Some(SizeDist::Pareto { alpha })
                }
                _ => {
                    if !doc.has(&mut s, "distribution") {
                        doc.invalid(
                            &mut s,
                            "distribution",
                            "missing required key `distribution` (lognormal or pareto)".into(),
                        );
                    }
                    // Reported above: the parameters are not also "not applying".
                    doc.skip_rest(&mut s);
                    None
                }
            };
            doc.finish(s);
            out
        }
        None => None,
    };

    let leverage = match doc.req_table(t, "leverage", LEV_KEYS) {
        Some(mut l) => {
            let out = leverage(doc, &mut l, max_leverage);
            doc.finish(l);
            out
        }
        None => None,
    };

    let entry = match doc.table(t, "entry", ENTRY_KEYS) {
        Some(mut e) => {
            let d = doc.choice(&mut e, "distribution", &["normal", "uniform"]);
            let out = match d {
                Some("uniform") => {
                    let low = doc.req_f64(&mut e, "low").unwrap_or(f64::NAN);
                    let high = doc.req_f64(&mut e, "high").unwrap_or(f64::NAN);
                    if low <= -2.0 || high >= 2.0 || low >= high {
                        doc.invalid(&mut e, "high", format!("need -2 < low < high < 2 (log offsets from the start price), found low = {low}, high = {high}"));
                    }
                    Some(EntryDist::Uniform { low, high })
                }
                Some("normal") => {
                    let mean = doc.f64(&mut e, "mean").unwrap_or(0.0);
                    let sd = doc.req_f64(&mut e, "sd").unwrap_or(f64::NAN);
                    if mean.abs() >= 2.0 {
                        doc.invalid(
                            &mut e,
                            "mean",
                            format!("must be a log offset in (-2, 2), found {mean}"),
                        );
                    }
                    if !(0.0..=1.0).contains(&sd) {
                        doc.invalid(&mut e, "sd", format!("must be in [0, 1], found {sd}"));
                    }
                    Some(EntryDist::Normal { mean, sd })
                }
                _ => {
                    if !doc.has(&mut e, "distribution") {
                        doc.invalid(
                            &mut e,
                            "distribution",
                            "missing required key `distribution` (normal or uniform)".into(),
                        );
                    }
                    // Reported above: the parameters are not also "not applying".
                    doc.skip_rest(&mut e);
                    None
                }
            };
            doc.finish(e);
            out
        }
        None => Some(EntryDist::Normal { mean: 0.0, sd: 0.0 }),
    };
    if doc.issues.len() > n0 {
        return None;
    }
    Some(PositionSource::Synthetic(SyntheticSpec {
        count,
        open_interest: oi,
        long_share: long_share?,
        size: size?,
        leverage: leverage?,
        entry: entry?,
    }))
}

fn leverage(
    doc: &mut Doc<'_>,
    l: &mut Tbl<'_, '_>,
    max_leverage: Option<f64>,
) -> Option<LeverageDist> {
    // Venues cap leverage at 1/(2·maintenance rate) (0.4% → 125×); see model::margin.
    // Without a valid rate only the lower bound is checked.
    let max_allowed = max_leverage.unwrap_or(f64::INFINITY);
    let cap = match max_leverage {
        Some(m) => format!(" and at most the venue maximum 1/(2·maintenance_margin) = {m:.1}"),
        None => String::new(),
    };
    if doc.has(l, "values") {
        let values = doc.array_f64(l, "values");
        let weights = doc.array_f64(l, "weights");
        if !doc.has(l, "weights") {
            doc.invalid(
                l,
                "weights",
                "missing required key `weights` (one per value)".into(),
            );
        }
        let (values, weights) = (values?, weights?);
        let mut ok = true;
        if values.is_empty() || values.len() != weights.len() {
            doc.invalid(
                l,
                "weights",
                format!(
                    "needs one weight per value: {} values, {} weights",
                    values.len(),
                    weights.len()
                ),
            );
            ok = false;
        }
        if let Some(v) = values.iter().find(|v| **v <= 1.0 || **v > max_allowed) {
            doc.invalid(l, "values", format!("leverage must be > 1{cap}, found {v}"));
            ok = false;
        }
        let sum: f64 = weights.iter().sum();
        if let Some(w) = weights.iter().find(|w| **w < 0.0) {
            doc.invalid(l, "weights", format!("weights must be >= 0, found {w}"));
            ok = false;
        } else if sum <= 0.0 {
            doc.invalid(
                l,
                "weights",
                "weights sum to 0 and cannot be normalised".into(),
            );
            ok = false;
        }
        ok.then(|| LeverageDist::Discrete {
            values,
            weights: weights.iter().map(|w| w / sum).collect(),
        })
    } else {
        let d = doc.choice(l, "distribution", &["lognormal", "uniform"]);
        let min = doc.req_f64(l, "min").unwrap_or(f64::NAN);
        let max = doc.req_f64(l, "max").unwrap_or(f64::NAN);
        if min <= 1.0 || min >= max || max > max_allowed {
            let cap = match max_leverage {
                Some(m) => format!(" <= 1/(2·maintenance_margin) = {m:.1}"),
                None => String::new(),
            };
            doc.invalid(
                l,
                "min",
                format!("need 1 < min < max{cap}, found min = {min}, max = {max}"),
            );
        }
        match d {
            Some("lognormal") => {
                let median = doc.req_f64(l, "median").unwrap_or(f64::NAN);
                let sigma = doc.req_f64(l, "sigma").unwrap_or(f64::NAN);
                if median <= 1.0 {
                    doc.invalid(l, "median", format!("must be > 1, found {median}"));
                }
                if sigma <= 0.0 || sigma > 5.0 {
                    doc.invalid(l, "sigma", format!("must be in (0, 5], found {sigma}"));
                }
                Some(LeverageDist::LogNormal {
                    median,
                    sigma,
                    min,
                    max,
                })
            }
            Some("uniform") => Some(LeverageDist::Uniform { min, max }),
            _ => {
                if !doc.has(l, "distribution") {
                    doc.invalid_table(l, "give `values` and `weights`, or `distribution` = \"lognormal\" or \"uniform\" with `min` and `max`".into());
                }
                // Reported above: the parameters are not also "not applying".
                doc.skip_rest(l);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three assets; the first row/column perfectly correlated, the other pair almost.
    fn three_assets(c: &str) -> String {
        let mut s = String::from("[simulation]\nsteps = 10\n");
        for name in ["A", "B", "C"] {
            s.push_str(&format!(
                "[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n"
            ));
        }
        s.push_str(&format!(
            "[correlation]\nmatrix = [[1, 1, 1], [1, 1, {c}], [1, {c}, 1]]\n"
        ));
        s
    }

    #[test]
    fn a_tolerated_tiny_negative_eigenvalue_keeps_the_correlation() {
        // Smallest eigenvalue about −3e-12: inside the PSD tolerance, but the fixed 1e-12
        // ridge did not make it factorisable and the correlation was silently dropped.
        let s = Scenario::parse(&three_assets("0.99999999999"), "t.toml", &NoFiles)
            .expect("valid scenario");
        let l = s.cholesky.expect("the correlation is kept");
        // Row 1 of L·Lᵀ reproduces the matrix: the assets move together.
        let dot = |i: usize, j: usize| (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum::<f64>();
        assert!((dot(0, 1) - 1.0).abs() < 1e-5 && (dot(1, 2) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn an_empty_tier_list_with_a_positions_file_is_an_error_not_a_panic() {
        struct One;
        impl FileSource for One {
            fn read(&self, _: &str) -> Result<String, String> {
                Ok("side,size,entry_price,leverage\nlong,1,100,10\n".into())
            }
        }
        let text = "[simulation]\nsteps = 10\n[[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n[[populations]]\nasset = \"A\"\nmargin_tiers = []\npositions_file = \"p.csv\"\n";
        let e = Scenario::parse(text, "t.toml", &One).expect_err("no tiers");
        assert_eq!(e.issues.len(), 1, "{e}");
        assert!(
            e.issues[0].message.contains("needs at least one tier"),
            "{e}"
        );
    }

    #[test]
    fn a_syntax_error_without_position_gets_the_line_that_causes_it() {
        // The parser reports a dotted key of 80+ parts as "recursion limit" with no span.
        let key = vec!["k"; 85].join(".");
        for (text, line) in [
            (
                format!("[simulation]\nsteps = 10\n{key} = 1\nseed = 1\n"),
                3,
            ),
            (format!("[simulation]\nsteps = 10\n\n\n{key} = 1"), 5),
            (format!("{key} = 1\n[simulation]\n"), 1),
        ] {
            let e = Scenario::parse(&text, "t.toml", &NoFiles).expect_err("too deep");
            assert_eq!(e.issues.len(), 1, "{e}");
            assert_eq!(e.issues[0].line, Some(line), "{e}");
            assert!(e.issues[0].message.contains("too many parts"), "{e}");
        }
    }
}

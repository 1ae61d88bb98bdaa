//! Replay scenarios (`cascadesim backtest` / `calibrate`): TOML text → a validated
//! [`ReplayScenario`], every problem at once with key path, line and column. The series
//! file it names is read and parsed by the caller (`history::series`).

use toml::de::DeTable;

use super::FileSource;
use super::book::{BOOK_KEYS, book};
use super::common::{MAX_POSITIONS, MAX_USD, show};
use super::reader::Doc;
use crate::diagnostics::ScenarioError;
use crate::history::living::{Activity, Inflow, LivingParams, Start};
use crate::history::time::parse_time;
use crate::model::spec::BookSpec;

/// How the replayed price acts on the simulated positions.
#[derive(Debug, Clone)]
pub enum ReplayMode {
    /// The observed price is the mark: positions are liquidated when it crosses their
    /// liquidation price, and the liquidations move nothing.
    Mark,
    /// The observed price is the fundamental; the simulated liquidations walk `book` and
    /// move the mark on top of it (a what-if that double-counts the real liquidations'
    /// impact, which the observed price already contains).
    Fundamental {
        /// The book, its depth in coins set at `reference_price`.
        book: Box<BookSpec>,
        /// Cascade rounds per step.
        max_rounds: u32,
    },
}

impl ReplayMode {
    /// `"mark"` or `"fundamental"`.
    pub fn name(&self) -> &'static str {
        match self {
            ReplayMode::Mark => "mark",
            ReplayMode::Fundamental { .. } => "fundamental",
        }
    }
}

/// A validated replay scenario.
#[derive(Debug, Clone)]
pub struct ReplayScenario {
    /// The price-series CSV, relative to the scenario file.
    pub prices: String,
    /// Step length in seconds (divides 3600).
    pub step_seconds: i64,
    /// How the price acts on the positions.
    pub mode: ReplayMode,
    /// Start of the scored window, unix seconds (`None`: the first hour after the warm-up).
    pub from: Option<i64>,
    /// End of the scored window, unix seconds (`None`: the series' end).
    pub to: Option<i64>,
    /// Hours at the start of the series that are never scored while the population builds up.
    pub warmup_hours: f64,
    /// The living population.
    pub living: LivingParams,
    /// Paths (independent populations) a backtest averages.
    pub paths: u64,
    /// Run seed: path `i` draws from ChaCha8 stream `i`.
    pub seed: u64,
    /// Paths per objective evaluation in `calibrate` (same seed at every evaluation).
    pub calibration_paths: u64,
    /// Nelder–Mead iteration limit in `calibrate`.
    pub max_iterations: u64,
}

const ROOT: &[&str] = &["replay", "living", "simulation", "calibration"];
const REPLAY: &[&str] = &[
    "prices",
    "step_seconds",
    "mode",
    "from",
    "to",
    "warmup_hours",
    "book",
    "reference_price",
    "max_rounds",
];
const LIVING: &[&str] = &[
    "inflow_usd_per_hour",
    "inflow_activity",
    "oi_participation",
    "positions_per_hour",
    "long_share",
    "funding_sensitivity",
    "leverage_median",
    "leverage_sigma",
    "max_leverage",
    "size_sigma",
    "holding_hours",
    "maintenance_margin",
    "start",
];
const ACTIVITY: &[&str] = &["halflife_hours", "elasticity", "baseline_hours"];
const SIMULATION: &[&str] = &["paths", "seed"];
const CALIBRATION: &[&str] = &["paths", "max_iterations"];

impl ReplayScenario {
    /// Parses and validates a replay scenario.
    ///
    /// # Errors
    /// Every problem at once: TOML syntax, missing or unknown keys, wrong types, values out
    /// of range (each rule is stated in its message and in `docs/backtest.md`). `files`
    /// serves a book's level file (`mode = "fundamental"`, `profile = "file"`).
    pub fn parse(
        text: &str,
        origin: &str,
        files: &dyn FileSource,
    ) -> Result<ReplayScenario, ScenarioError> {
        let mut doc = Doc::new(text);
        let fail = |issues| ScenarioError {
            origin: origin.into(),
            issues,
        };
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            for e in syntax {
                doc.error_at(
                    "",
                    e.span(),
                    format!("TOML syntax error: {}", e.message().trim()),
                );
            }
            return Err(fail(doc.issues));
        }
        let mut top = doc.root(&root, ROOT);
        let out = read(&mut doc, &mut top, files);
        doc.finish(top);
        doc.issues
            .sort_by_key(|i| (i.line.is_none(), i.line, i.column));
        match out {
            Some(s) if doc.issues.is_empty() => Ok(s),
            _ => Err(fail(doc.issues)),
        }
    }
}

/// A number under `key` (or `default` when absent) that must satisfy `ok`.
fn num(
    doc: &mut Doc<'_>,
    t: &mut super::reader::Tbl<'_, '_>,
    key: &'static str,
    default: Option<f64>,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Option<f64> {
    let v = match default {
        Some(d) if !doc.has(t, key) => return Some(d),
        Some(_) => doc.f64(t, key)?,
        None => doc.req_f64(t, key)?,
    };
    if ok(v) {
        Some(v)
    } else {
        doc.invalid(t, key, format!("must be {rule}, got {v}"));
        None
    }
}

/// `living.inflow_activity = { halflife_hours, elasticity, baseline_hours }`: `Some(None)`
/// when absent. Without `baseline_hours` its reference window (the warm-up) is filled in
/// once `replay.warmup_hours` is known.
fn inflow_activity(
    doc: &mut Doc<'_>,
    living: &mut super::reader::Tbl<'_, '_>,
    oi: bool,
) -> Option<Option<Activity>> {
    if !doc.has(living, "inflow_activity") {
        return Some(None);
    }
    if oi {
        doc.invalid(
            living,
            "inflow_activity",
            "scales `inflow_usd_per_hour`; it does not apply with `oi_participation`".into(),
        );
        return None;
    }
    let mut t = doc.table(living, "inflow_activity", ACTIVITY)?;
    let hours = |doc: &mut Doc<'_>, t: &mut super::reader::Tbl<'_, '_>, key| {
        num(
            doc,
            t,
            key,
            None,
            |x| x > 0.0 && x <= 1e4,
            "in (0, 10000] hours",
        )
    };
    let half = hours(doc, &mut t, "halflife_hours");
    let elasticity = num(
        doc,
        &mut t,
        "elasticity",
        None,
        |x| (0.0..=5.0).contains(&x),
        "in [0, 5]",
    );
    let baseline = if doc.has(&mut t, "baseline_hours") {
        match (hours(doc, &mut t, "baseline_hours"), half) {
            (Some(b), Some(h)) if h > b => {
                doc.invalid(
                    &mut t,
                    "baseline_hours",
                    format!("must be at least `halflife_hours` ({h}), got {b}"),
                );
                None
            }
            (Some(b), _) => Some(Some(b)),
            (None, _) => None,
        }
    } else {
        Some(None)
    };
    doc.finish(t);
    Some(Some(Activity {
        halflife_hours: half?,
        elasticity: elasticity?,
        reference_hours: 0.0,
        baseline_hours: baseline?,
    }))
}

fn time_key(
    doc: &mut Doc<'_>,
    t: &mut super::reader::Tbl<'_, '_>,
    key: &'static str,
) -> Option<Option<i64>> {
    if !doc.has(t, key) {
        return Some(None);
    }
    let s = doc.str(t, key)?;
    match parse_time(s) {
        Some(x) => Some(Some(x.floor() as i64)),
        None => {
            doc.invalid(
                t,
                key,
                format!("\"{s}\" is neither RFC 3339 UTC (2021-01-08T00:00:00Z) nor unix seconds"),
            );
            None
        }
    }
}

/// The `[replay]` table's values: the series file, step, mode, window and warm-up (each
/// `None` when invalid; every problem is recorded in `doc`).
type ReplayValues = (
    Option<String>,
    Option<f64>,
    Option<ReplayMode>,
    Option<Option<i64>>,
    Option<Option<i64>>,
    Option<f64>,
);

fn replay_table(
    doc: &mut Doc<'_>,
    t: &mut super::reader::Tbl<'_, '_>,
    files: &dyn FileSource,
) -> ReplayValues {
    let prices = doc.req_str(t, "prices").map(str::to_string);
    let step = num(
        doc,
        t,
        "step_seconds",
        Some(60.0),
        |x| x >= 1.0 && x.fract() == 0.0 && 3600.0 % x == 0.0,
        "a whole number of seconds that divides 3600",
    );
    let mode = replay_mode(doc, t, files);
    let from = time_key(doc, t, "from");
    let to = time_key(doc, t, "to");
    if let (Some(Some(f)), Some(Some(e))) = (from, to)
        && e <= f
    {
        doc.invalid(t, "to", "must be after `from`".into());
    }
    let warm = num(doc, t, "warmup_hours", Some(24.0), |x| x >= 0.0, ">= 0");
    (prices, step, mode, from, to, warm)
}

/// `[replay].mode`: the observed price as the mark, or as the fundamental under a book.
fn replay_mode(
    doc: &mut Doc<'_>,
    t: &mut super::reader::Tbl<'_, '_>,
    files: &dyn FileSource,
) -> Option<ReplayMode> {
    match doc.choice(t, "mode", &["mark", "fundamental"]) {
        Some("fundamental") => {
            let price = num(doc, t, "reference_price", None, |x| x > 0.0, "> 0 USD");
            let rounds = num(
                doc,
                t,
                "max_rounds",
                Some(5.0),
                |x| x >= 1.0 && x.fract() == 0.0 && x <= 1000.0,
                "a whole number in [1, 1000]",
            );
            // The depth law's reference volatility is not used by a replay (no depth
            // multiplier but the hour's): any positive value validates the book alike.
            let book = doc
                .req_table(t, "book", BOOK_KEYS)
                .and_then(|b| book(doc, b, price.unwrap_or(1.0), 1.0, files));
            match (book, rounds, price) {
                (Some(book), Some(r), Some(_)) => Some(ReplayMode::Fundamental {
                    book: Box::new(book),
                    max_rounds: r as u32,
                }),
                _ => None,
            }
        }
        Some(_) => Some(ReplayMode::Mark),
        None if doc.has(t, "mode") => None,
        None => Some(ReplayMode::Mark),
    }
}

/// `living.start`: `"empty"` (default) or `"stationary"`, which needs a constant inflow.
fn start(doc: &mut Doc<'_>, t: &mut super::reader::Tbl<'_, '_>, oi: bool) -> Option<Start> {
    if !doc.has(t, "start") {
        return Some(Start::Empty);
    }
    match doc.choice(t, "start", &["empty", "stationary"])? {
        "stationary" if oi => {
            doc.invalid(
                t,
                "start",
                "\"stationary\" needs `inflow_usd_per_hour` (the rate before the series is unknown with `oi_participation`)".into(),
            );
            None
        }
        "stationary" => Some(Start::Stationary),
        _ => Some(Start::Empty),
    }
}

/// Whether `positions_per_hour` = `n` keeps the living population within the limit of
/// positions: at most [`MAX_POSITIONS`] opened in an hour, and (with `holding_hours`) at most
/// that many alive on average (`n × holding_hours`). Reports the key otherwise.
fn live_positions_ok(
    doc: &mut Doc<'_>,
    t: &mut super::reader::Tbl<'_, '_>,
    n: f64,
    hold: Option<f64>,
) -> bool {
    let max = MAX_POSITIONS as f64;
    let what = format!("at most {MAX_POSITIONS} (the limit of positions)");
    if n > max {
        doc.invalid(
            t,
            "positions_per_hour",
            format!("must be {what}, found {}", show(n)),
        );
        return false;
    }
    match hold {
        Some(h) if n * h > max => {
            doc.invalid(
                t,
                "positions_per_hour",
                format!(
                    "positions_per_hour × holding_hours = {} positions alive on average; must be {what}",
                    show(n * h)
                ),
            );
            false
        }
        _ => true,
    }
}

/// The `[living]` table: the living population's parameters (`None` when any is invalid;
/// every problem is recorded in `doc`).
fn living_table(doc: &mut Doc<'_>, t: &mut super::reader::Tbl<'_, '_>) -> Option<LivingParams> {
    let positive = |x: f64| x > 0.0;
    let oi = doc.has(t, "oi_participation");
    let inflow = if oi {
        if doc.has(t, "inflow_usd_per_hour") {
            doc.invalid(
                t,
                "inflow_usd_per_hour",
                "give either `inflow_usd_per_hour` or `oi_participation`, not both".into(),
            );
        }
        num(doc, t, "oi_participation", None, positive, "> 0")
            .map(|participation| Inflow::OpenInterest { participation })
    } else {
        let usd = |x: f64| x > 0.0 && x <= MAX_USD;
        num(
            doc,
            t,
            "inflow_usd_per_hour",
            None,
            usd,
            "> 0 and at most 1e15 USD (the limit of open_interest_usd)",
        )
        .map(Inflow::Constant)
    };
    let activity = inflow_activity(doc, t, oi);
    let start = start(doc, t, oi);
    let n = num(doc, t, "positions_per_hour", Some(600.0), positive, "> 0");
    let share = num(
        doc,
        t,
        "long_share",
        Some(0.5),
        |x| x > 0.0 && x < 1.0,
        "in (0, 1)",
    );
    let fs = num(
        doc,
        t,
        "funding_sensitivity",
        Some(0.0),
        |_| true,
        "a number",
    );
    let mmr = num(
        doc,
        t,
        "maintenance_margin",
        Some(0.005),
        |x| (0.0..0.5).contains(&x),
        "in [0, 0.5)",
    );
    let cap = mmr.map_or(
        f64::INFINITY,
        |m| if m > 0.0 { 1.0 / m } else { f64::INFINITY },
    );
    let max_lev = num(
        doc,
        t,
        "max_leverage",
        Some(125.0),
        |x| x > 1.01 && x < cap,
        &format!("above 1.01 and below 1 / maintenance_margin = {cap}"),
    );
    let med = num(
        doc,
        t,
        "leverage_median",
        None,
        |x| x >= 1.01 && x <= max_lev.unwrap_or(f64::INFINITY),
        "at least 1.01 and at most max_leverage",
    );
    let ls = num(doc, t, "leverage_sigma", Some(0.5), |x| x >= 0.0, ">= 0");
    let ss = num(doc, t, "size_sigma", Some(1.0), |x| x >= 0.0, ">= 0");
    let hold = num(doc, t, "holding_hours", None, positive, "> 0");
    let n = n.filter(|&n| live_positions_ok(doc, t, n, hold));
    if let (
        Some(inflow),
        Some(activity),
        Some(n),
        Some(share),
        Some(fs),
        Some(mmr),
        Some(max_lev),
        Some(med),
        Some(ls),
        Some(ss),
        Some(hold),
        Some(start),
    ) = (
        inflow, activity, n, share, fs, mmr, max_lev, med, ls, ss, hold, start,
    ) {
        return Some(LivingParams {
            inflow,
            activity,
            positions_per_hour: n,
            long_share: share,
            funding_sensitivity: fs,
            leverage_median: med,
            leverage_sigma: ls,
            max_leverage: max_lev,
            size_sigma: ss,
            holding_hours: hold,
            maintenance_margin: mmr,
            start,
        });
    }
    None
}

fn read(
    doc: &mut Doc<'_>,
    top: &mut super::reader::Tbl<'_, '_>,
    files: &dyn FileSource,
) -> Option<ReplayScenario> {
    let mut replay = doc.req_table(top, "replay", REPLAY);
    let mut living = doc.req_table(top, "living", LIVING);
    let mut sim = doc.table(top, "simulation", SIMULATION);
    let mut cal = doc.table(top, "calibration", CALIBRATION);

    let r = replay.as_mut().map(|t| replay_table(doc, t, files));
    let l = living.as_mut().and_then(|t| living_table(doc, t));

    let count = |doc: &mut Doc<'_>, t: &mut Option<super::reader::Tbl<'_, '_>>, key, d: u64| {
        let Some(t) = t.as_mut() else { return Some(d) };
        if !doc.has(t, key) {
            return Some(d);
        }
        let v = doc.u64(t, key)?;
        if v == 0 {
            doc.invalid(t, key, "must be at least 1".into());
            return None;
        }
        Some(v)
    };
    let paths = count(doc, &mut sim, "paths", 20);
    let seed = match sim.as_mut() {
        Some(t) => {
            if doc.has(t, "seed") {
                doc.u64(t, "seed")
            } else {
                Some(1)
            }
        }
        None => Some(1),
    };
    let cal_paths = count(doc, &mut cal, "paths", 4);
    let max_it = count(doc, &mut cal, "max_iterations", 150);
    for t in [replay, living, sim, cal].into_iter().flatten() {
        doc.finish(t);
    }
    let (prices, step, mode, from, to, warm) = r?;
    let mut living = l?;
    if let Some(a) = living.activity.as_mut() {
        a.reference_hours = warm?;
    }
    Some(ReplayScenario {
        prices: prices?,
        step_seconds: step? as i64,
        mode: mode?,
        from: from?,
        to: to?,
        warmup_hours: warm?,
        living,
        paths: paths?,
        seed: seed?,
        calibration_paths: cal_paths?,
        max_iterations: max_it?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::NoFiles;

    const GOOD: &str = r#"
[replay]
prices = "data/eth.csv"
from = "2021-01-08T00:00:00Z"

[living]
inflow_usd_per_hour = 5e7
leverage_median = 10
holding_hours = 24
"#;

    #[test]
    fn defaults_fill_in() {
        let s = ReplayScenario::parse(GOOD, "s.toml", &NoFiles).unwrap();
        assert_eq!(s.prices, "data/eth.csv");
        assert_eq!((s.step_seconds, s.paths, s.seed), (60, 20, 1));
        assert_eq!(s.from, Some(1_610_064_000));
        assert_eq!(s.living.inflow, Inflow::Constant(5e7));
        assert_eq!(s.living.maintenance_margin, 0.005);
        assert_eq!(s.living.start, Start::Empty);
    }

    #[test]
    fn start_is_read_and_checked() {
        let with = |extra: &str| {
            GOOD.replace(
                "holding_hours = 24",
                &format!("holding_hours = 24\n{extra}"),
            )
        };
        let s = ReplayScenario::parse(&with("start = \"stationary\""), "s.toml", &NoFiles).unwrap();
        assert_eq!(s.living.start, Start::Stationary);
        let s = ReplayScenario::parse(&with("start = \"empty\""), "s.toml", &NoFiles).unwrap();
        assert_eq!(s.living.start, Start::Empty);
        let msgs = |text: &str| {
            ReplayScenario::parse(text, "s.toml", &NoFiles)
                .unwrap_err()
                .issues
                .iter()
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect::<Vec<_>>()
        };
        let e = msgs(&with("start = \"stationnary\""));
        assert!(e[0].starts_with("living.start: unknown value"), "{e:?}");
        assert!(e[0].contains("did you mean \"stationary\""), "{e:?}");
        let e = msgs(
            &with("start = \"stationary\"\noi_participation = 0.5")
                .replace("inflow_usd_per_hour = 5e7\n", ""),
        );
        assert_eq!(
            e,
            vec![
                "living.start: \"stationary\" needs `inflow_usd_per_hour` (the rate before the series is unknown with `oi_participation`)"
            ]
        );
    }

    #[test]
    fn inflow_activity_takes_the_warm_up_as_its_reference() {
        let text = GOOD.replace(
            "holding_hours = 24",
            "holding_hours = 24\ninflow_activity = { halflife_hours = 12, elasticity = 0.7 }",
        );
        let s = ReplayScenario::parse(&text, "s.toml", &NoFiles).unwrap();
        assert_eq!(
            s.living.activity,
            Some(Activity {
                halflife_hours: 12.0,
                elasticity: 0.7,
                reference_hours: 24.0,
                baseline_hours: None,
            })
        );
        assert_eq!(
            ReplayScenario::parse(GOOD, "s.toml", &NoFiles)
                .unwrap()
                .living
                .activity,
            None
        );
    }

    #[test]
    fn inflow_activity_takes_a_trailing_baseline_when_given() {
        let text = GOOD.replace(
            "holding_hours = 24",
            "holding_hours = 24\ninflow_activity = { halflife_hours = 6, elasticity = 0.5, baseline_hours = 72 }",
        );
        let a = ReplayScenario::parse(&text, "s.toml", &NoFiles)
            .unwrap()
            .living
            .activity
            .unwrap();
        assert_eq!(a.baseline_hours, Some(72.0));
        assert_eq!(a.halflife_hours, 6.0);
    }

    #[test]
    fn bad_inflow_activity_values_are_reported_with_their_key_path() {
        let bad = |activity: &str, extra: &str| {
            let text = GOOD.replace(
                "holding_hours = 24",
                &format!("holding_hours = 24\ninflow_activity = {activity}\n{extra}"),
            );
            let e = ReplayScenario::parse(&text, "s.toml", &NoFiles).unwrap_err();
            e.issues
                .iter()
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bad("{ halflife_hours = 0, elasticity = -1 }", ""),
            vec![
                "living.inflow_activity.halflife_hours: must be in (0, 10000] hours, got 0",
                "living.inflow_activity.elasticity: must be in [0, 5], got -1",
            ]
        );
        assert_eq!(
            bad(
                "{ halflife_hours = 6, elasticity = 1, baseline_hours = 0 }",
                ""
            ),
            vec!["living.inflow_activity.baseline_hours: must be in (0, 10000] hours, got 0"]
        );
        assert_eq!(
            bad(
                "{ halflife_hours = 6, elasticity = 1, baseline_hours = 4 }",
                ""
            ),
            vec![
                "living.inflow_activity.baseline_hours: must be at least `halflife_hours` (6), got 4"
            ]
        );
        assert_eq!(
            bad(
                "{ halflife_hours = 6, elasticity = 1, baseline_hours = \"long\" }",
                ""
            ),
            vec!["living.inflow_activity.baseline_hours: expected a number, found string \"long\""]
        );
        let e = bad("{ halflife_hours = 6, elasticty = 1 }", "");
        assert!(e[0].starts_with("living.inflow_activity"), "{e:?}");
        assert!(
            e.iter().any(|m| m.contains("did you mean `elasticity`")),
            "{e:?}"
        );
        assert_eq!(
            bad("3", ""),
            vec!["living.inflow_activity: expected a table, found integer 3"]
        );
        let e = bad(
            "{ halflife_hours = 6, elasticity = 1 }",
            "oi_participation = 0.5",
        );
        assert!(
            e.contains(&"living.inflow_activity: scales `inflow_usd_per_hour`; it does not apply with `oi_participation`".to_string()),
            "{e:?}"
        );
    }

    #[test]
    fn every_problem_at_once() {
        let text = r#"
[replay]
step_seconds = 7
mode = "mrk"
from = "2021-01-08"

[living]
inflow_usd_per_hour = -1
leverage_median = 10
holding_hours = 24
max_leverage = 300
levrage_sigma = 1
"#;
        let e = ReplayScenario::parse(text, "s.toml", &NoFiles).unwrap_err();
        let paths: Vec<&str> = e.issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "replay.prices",
                "replay.step_seconds",
                "replay.mode",
                "replay.from",
                "living.inflow_usd_per_hour",
                "living.max_leverage",
                "living.levrage_sigma",
            ],
            "{e}"
        );
        let msg = e.to_string();
        assert!(msg.contains("s.toml:3:16: replay.step_seconds"), "{msg}");
        assert!(msg.contains("did you mean `leverage_sigma`"), "{msg}");
        assert!(msg.contains("did you mean \"mark\""), "{msg}");
    }
}

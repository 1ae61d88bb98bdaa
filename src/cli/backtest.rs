//! `cascadesim backtest` (replay a price series with the living population and score its
//! liquidations against the observed ones, writing `<out>/<stem>-backtest/`) and
//! `cascadesim calibrate` (fit the population on a training window, write a calibrated
//! scenario, print in- and out-of-sample scores).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use cascadesim::history::calibrate::{self, Fit, Problem};
use cascadesim::history::grid::{StepGrid, span_problem};
use cascadesim::history::living::{Inflow, LivingParams, Marking};
use cascadesim::history::score::{Scores, SideScores};
use cascadesim::history::series::{PriceSeries, parse_series};
use cascadesim::history::time::{format_time, parse_time};
use cascadesim::history::{Hourly, WindowScores, simulate};
use cascadesim::model::book::BookShape;
use cascadesim::output::Staging;
use cascadesim::output::backtest::{Backtest, BacktestProvenance, fmt, write_backtest};
use cascadesim::run::plan::stem;
use cascadesim::scenario::{ReplayMode, ReplayScenario};

use super::common::{InputError, check_file_out, create_parents, thread_pool};

#[derive(Args)]
pub(crate) struct BacktestArgs {
    /// Replay scenario TOML file ([replay] and [living] tables; see docs/backtest.md).
    scenario: PathBuf,
    /// Price-series CSV replacing the scenario's `replay.prices`.
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Start of the scored window (RFC 3339 UTC or unix seconds, a whole hour); the series
    /// before it is warm-up. Default: replay.from, else the first hour after the warm-up.
    #[arg(long, value_parser = hour)]
    from: Option<i64>,
    /// End of the scored window (a whole hour). Default: replay.to, else the series' end.
    #[arg(long, value_parser = hour)]
    to: Option<i64>,
    /// Paths: independent living populations averaged (default: simulation.paths).
    #[arg(long)]
    paths: Option<u64>,
    /// Random seed (default: simulation.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder; files go to <out>/<scenario stem>-backtest/.
    #[arg(long, value_parser = super::common::out_folder, default_value = "results")]
    out: PathBuf,
    /// No score table on the terminal.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
pub(crate) struct CalibrateArgs {
    /// Replay scenario TOML file: its [living] values are the starting point.
    scenario: PathBuf,
    /// Training cut (RFC 3339 UTC or unix seconds, a whole hour): only data before it is fitted.
    #[arg(long, value_parser = hour)]
    to: i64,
    /// Price-series CSV replacing the scenario's `replay.prices`.
    #[arg(long)]
    prices: Option<PathBuf>,
    /// Calibrated scenario to write (default: <stem>-calibrated.toml beside the scenario).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Nelder–Mead iteration limit (default: calibration.max_iterations).
    #[arg(long)]
    iterations: Option<u64>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// Parses a time that must be a whole hour.
fn hour(arg: &str) -> std::result::Result<i64, String> {
    let t = parse_time(arg)
        .ok_or_else(|| format!("\"{arg}\" is neither RFC 3339 UTC nor unix seconds"))?;
    if t.fract() != 0.0 || (t as i64).rem_euclid(3600) != 0 {
        return Err(format!(
            "\"{arg}\" is not a whole hour (scores are taken on 1-hour bars)"
        ));
    }
    Ok(t as i64)
}

/// A scenario with its series laid on steps.
pub(crate) struct Loaded {
    scenario: ReplayScenario,
    pub(crate) prices: PathBuf,
    pub(crate) grid: StepGrid,
    /// The book of `mode = "fundamental"`.
    shape: Option<BookShape>,
}

pub(crate) fn load(path: &Path, prices: Option<&Path>) -> Result<Loaded> {
    let text = super::common::read_scenario(path)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let scenario = ReplayScenario::parse(
        &text,
        &path.display().to_string(),
        &super::common::fs_files(base.clone()),
    )?;
    // A series named on the command line is the user's choice; one named inside the
    // scenario is confined to the scenario's folder tree like every referenced file.
    let (prices, csv) = match prices {
        Some(p) => (
            p.to_path_buf(),
            cascadesim::run::files::read_named(p, "price series").map_err(InputError)?,
        ),
        None => (
            base.join(&scenario.prices),
            cascadesim::run::files::read_referenced(
                &base,
                &scenario.prices,
                super::common::allow_external(),
            )
            .map_err(|e| InputError(format!("{}: replay.prices: {e}", path.display())))?,
        ),
    };
    let series: PriceSeries = parse_series(&csv, &prices.display().to_string())?;
    if matches!(scenario.living.inflow, Inflow::OpenInterest { .. })
        && series.open_interest.is_none()
    {
        bail!(InputError(format!(
            "{}: living.oi_participation needs an `open_interest` column, which {} does not have",
            path.display(),
            prices.display()
        )));
    }
    if let Some((line, m)) = span_problem(&series, scenario.step_seconds) {
        bail!(InputError(format!(
            "{}:{line}: time: {m}",
            prices.display()
        )));
    }
    if let Some(w) = series.long_gap()
        && !super::common::silent()
    {
        eprintln!("warning: {}: {w}", prices.display());
    }
    let grid = StepGrid::new(&series, scenario.step_seconds);
    let shape = match &scenario.mode {
        ReplayMode::Mark => None,
        ReplayMode::Fundamental { book, .. } => {
            Some(BookShape::new(book, scenario.step_seconds as f64))
        }
    };
    Ok(Loaded {
        scenario,
        prices,
        grid,
        shape,
    })
}

/// `validate` on a replay scenario (a file with a top-level `[replay]` table): its summary
/// line, or its problems (scenario and series). `None` for any other file.
pub(crate) fn validate_replay(path: &Path) -> Option<Result<String>> {
    let text = super::common::read_scenario(path).ok()?;
    let doc: toml_edit::DocumentMut = text.parse().ok()?;
    if !doc.contains_key("replay") {
        return None;
    }
    Some(load(path, None).map(|l| {
        format!(
            "ok: {} (replay scenario: {} → {} steps of {} s from {} to {}, {} paths)",
            path.display(),
            l.prices.display(),
            l.grid.len(),
            l.grid.dt,
            format_time(l.grid.time[0]),
            format_time(l.grid.time[l.grid.len() - 1]),
            l.scenario.paths
        )
    }))
}

impl Loaded {
    /// What the positions see as the mark.
    fn marking(&self) -> Marking<'_> {
        match (&self.scenario.mode, &self.shape) {
            (ReplayMode::Fundamental { max_rounds, .. }, Some(shape)) => Marking::Book {
                shape,
                max_rounds: *max_rounds,
            },
            _ => Marking::Observed,
        }
    }

    /// The series' start (the first step's interval start) and end (the last step's time).
    fn span(&self) -> (i64, i64) {
        let g = &self.grid;
        (g.time[0] - g.dt, g.time[g.len() - 1])
    }
}

/// The first whole hour at or after `t`.
fn ceil_hour(t: i64) -> i64 {
    t.div_euclid(3600) * 3600 + if t.rem_euclid(3600) > 0 { 3600 } else { 0 }
}

/// The scored window's default start: the first whole hour after the warm-up, and after the
/// series' start `first` (with no warm-up and a series starting on the hour, the next hour:
/// the window needs a bar before it to scale the baseline on).
fn default_from(first: i64, s: &cascadesim::scenario::ReplayScenario) -> i64 {
    let from = ceil_hour(first + (s.warmup_hours * 3600.0) as i64);
    if from <= first { from + 3600 } else { from }
}

/// Steps whose bars start before `to`: `0..end`.
fn end_before(grid: &StepGrid, to: i64) -> usize {
    grid.step_at_or_after(to + grid.dt)
}

pub(crate) fn backtest(args: &BacktestArgs) -> Result<i32> {
    let l = load(&args.scenario, args.prices.as_deref())?;
    let (s, g) = (&l.scenario, &l.grid);
    let (first, last) = l.span();
    let from = args
        .from
        .or(s.from)
        .unwrap_or_else(|| default_from(first, s));
    let to = args.to.or(s.to).unwrap_or_else(|| ceil_hour(last));
    if from <= first || from >= last || to <= from {
        bail!(InputError(format!(
            "the scored window {} .. {} must start after the series' start {} (the part before it is the warm-up), before its end {}, and end after it starts",
            format_time(from),
            format_time(to),
            format_time(first),
            format_time(last)
        )));
    }
    let paths = args.paths.unwrap_or(s.paths);
    let seed = args.seed.unwrap_or(s.seed);
    if paths == 0 {
        bail!(InputError("--paths must be at least 1".into()));
    }
    let pool = thread_pool(args.threads)?;
    // The results folder is staged before the replay: a name the filesystem does not take,
    // or a file in the way, is refused before any work (it was found after the replay).
    let dest = args.out.join(format!("{}-backtest", stem(&args.scenario)));
    let staging = Staging::new(&dest)?;
    let end = end_before(g, to);
    let sim = pool.install(|| simulate(g, &s.living, l.marking(), paths, seed, end));
    let hourly = Hourly::new(g, &sim);
    let (window, scores, baseline) = match &hourly {
        Some(h) => {
            let w = h.bars.window(from, to);
            let train = h.bars.window(i64::MIN, from);
            (
                w.clone(),
                Some(h.window(train.clone(), w)),
                h.baseline(train),
            )
        }
        None => (0..0, None, None),
    };
    let b = Backtest {
        provenance: BacktestProvenance {
            scenario_file: args.scenario.display().to_string(),
            prices_file: l.prices.display().to_string(),
            mode: s.mode.name(),
            paths,
            seed,
            step_seconds: g.dt,
            from: format_time(from),
            to: format_time(to),
            cascadesim_version: env!("CARGO_PKG_VERSION"),
        },
        params: &s.living,
        grid: g,
        simulated: &sim,
        hourly: hourly.as_ref(),
        baseline,
        scores,
        window,
    };
    write_backtest(&staging, &b)?;
    let dest = super::common::commit(staging)?;
    if !args.quiet {
        let head = format!(
            "backtest of {} on {} .. {} ({} paths, warm-up from {})",
            args.scenario.display(),
            format_time(from),
            format_time(to),
            cascadesim::output::format::thousands(paths),
            format_time(first)
        );
        // 80 columns: continuation lines indented under the first.
        for (i, l) in cascadesim::output::style::wrap(&head, 78)
            .iter()
            .enumerate()
        {
            println!("{}{l}", if i == 0 { "" } else { "  " });
        }
        match &scores {
            Some(w) => print!("{}", table(&[("window", w)])),
            None => println!("the price file has no observed liquidations: nothing scored"),
        }
        println!("results: {}", dest.display());
    }
    Ok(0)
}

/// The score table of one or more windows (model and baseline side by side).
fn table(windows: &[(&str, &WindowScores)]) -> String {
    let mut o = String::new();
    let _ = write!(o, "{:<8}{:<16}", "side", "score");
    for (name, _) in windows {
        let _ = write!(o, "{name:>15}{:>10}", "baseline");
    }
    o.push('\n');
    type Get = fn(&SideScores) -> Option<f64>;
    let rows: [(&str, Get); 4] = [
        ("Pearson", |s| s.pearson),
        ("Spearman", |s| s.spearman),
        ("total ratio", |s| s.total_ratio),
        ("top-10 overlap", |s| s.top10_overlap),
    ];
    for side in ["long", "short"] {
        let pick = |x: &Scores| if side == "long" { x.long } else { x.short };
        for (name, get) in rows {
            let _ = write!(o, "{side:<8}{name:<16}");
            for (_, w) in windows {
                let base = w.baseline.as_ref().and_then(|b| get(&pick(b)));
                let _ = write!(o, "{:>15}{:>10}", fmt(get(&pick(&w.model))), fmt(base));
            }
            o.push('\n');
        }
        let _ = write!(o, "{side:<8}{:<16}", "observed total");
        for (_, w) in windows {
            let _ = write!(o, "{:>15}{:>10}", whole(pick(&w.model).observed_total), "");
        }
        o.push('\n');
        let _ = write!(o, "{side:<8}{:<16}", "predicted total");
        for (_, w) in windows {
            let base = w.baseline.as_ref().map(|b| pick(b).simulated_total);
            let _ = write!(
                o,
                "{:>15}{:>10}",
                whole(pick(&w.model).simulated_total),
                base.map_or("—".into(), whole)
            );
        }
        o.push('\n');
    }
    o.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

/// A total for the terminal, rounded to a whole number, with thousands separators.
fn whole(x: f64) -> String {
    cascadesim::output::format::number(x.round())
}

pub(crate) fn calibrate(args: &CalibrateArgs) -> Result<i32> {
    let l = load(&args.scenario, args.prices.as_deref())?;
    let (s, g) = (&l.scenario, &l.grid);
    let (first, last) = l.span();
    let train_from = ceil_hour(first + (s.warmup_hours * 3600.0) as i64);
    // The training window [train_from, to) holds hourly bars: exactly 24 hours is enough.
    if args.to < train_from + 24 * 3600 || args.to > last {
        bail!(InputError(format!(
            "--to {} must leave at least 24 hours of training after the warm-up (from {}) and lie within the series (ends {})",
            format_time(args.to),
            format_time(train_from),
            format_time(last)
        )));
    }
    if g.observed_long.is_none() || g.observed_short.is_none() {
        bail!(InputError(format!(
            "{}: calibration needs observed liquidations (columns long_liquidated and short_liquidated)",
            l.prices.display()
        )));
    }
    let out = args.out.clone().unwrap_or_else(|| {
        args.scenario
            .with_file_name(format!("{}-calibrated.toml", stem(&args.scenario)))
    });
    check_file_out(&out)?;
    let pool = thread_pool(args.threads)?;
    let bars = g.bars();
    let train = bars.window(train_from, args.to);
    let fit = Fit {
        base: s.living,
        long_share: g.funding_rate.is_none(),
    };
    let problem = Problem {
        grid: g,
        marking: l.marking(),
        fit,
        bars: train.clone(),
        end: end_before(g, args.to),
        paths: s.calibration_paths,
        seed: s.seed,
    };
    let iterations = args.iterations.unwrap_or(s.max_iterations);
    let fitted = pool
        .install(|| calibrate::fit(problem, iterations))
        .context("the optimiser failed")?;
    // Scores with the scenario's paths: in sample on the training bars, out of sample on
    // every bar after the cut (the baseline scaled on the training bars in both).
    let sim = pool.install(|| simulate(g, &fitted.params, l.marking(), s.paths, s.seed, g.len()));
    let h = Hourly::new(g, &sim).expect("observed columns checked above");
    let test = h.bars.window(args.to, i64::MAX);
    let ins = h.window(train.clone(), train.clone());
    let oos = (!test.is_empty()).then(|| h.window(train.clone(), test));
    let text = super::common::read_scenario(&args.scenario)?;
    let names = fit.names();
    // The series path is relative to the scenario's folder: keep it when the calibrated
    // file goes to the same folder and the scenario's own series was used.
    let same_dir = |a: &Path, b: &Path| {
        let dir = |p: &Path| {
            std::fs::canonicalize(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
            )
            .ok()
        };
        dir(a).is_some() && dir(a) == dir(b)
    };
    let prices = if args.prices.is_none() && same_dir(&args.scenario, &out) {
        None
    } else {
        Some(std::fs::canonicalize(&l.prices).unwrap_or(l.prices.clone()))
    };
    let written = calibrated_text(
        &text,
        prices.as_deref(),
        &fitted.params,
        &names,
        args.to,
        train_from,
        fitted.objective,
        &ins,
        oos.as_ref(),
        s.paths,
    )?;
    create_parents(&out)?;
    cascadesim::output::html::write_atomic(&out, written.as_bytes())?;
    println!(
        "calibrated {} on {} .. {}: {} Nelder–Mead iterations, objective {:.4} (start {:.4})",
        names.join(", "),
        format_time(train_from),
        format_time(args.to),
        fitted.iterations,
        fitted.objective,
        fitted.start_objective
    );
    println!("{}", params_line(&fitted.params));
    let mut windows = vec![("in-sample", &ins)];
    if let Some(o) = &oos {
        windows.push(("out-of-sample", o));
    }
    print!("{}", table(&windows));
    if oos.is_none() {
        println!("(no data after the training cut: nothing out of sample)");
    }
    println!("wrote {}", out.display());
    Ok(0)
}

fn params_line(p: &LivingParams) -> String {
    let inflow = match p.inflow {
        Inflow::Constant(x) => format!("inflow_usd_per_hour = {x:.4e}"),
        Inflow::OpenInterest { participation } => format!("oi_participation = {participation:.4}"),
    };
    let activity = p.activity.map_or(String::new(), |a| {
        let baseline = a
            .baseline_hours
            .map_or(String::new(), |b| format!(", baseline_hours = {b:.3}"));
        format!(
            ", inflow_activity = {{ halflife_hours = {:.3}, elasticity = {:.3}{baseline} }}",
            a.halflife_hours, a.elasticity
        )
    });
    format!(
        "{inflow}, leverage_median = {:.3}, leverage_sigma = {:.3}, holding_hours = {:.3}, long_share = {:.3}{activity}",
        p.leverage_median, p.leverage_sigma, p.holding_hours, p.long_share
    )
}

fn score_line(name: &str, w: &WindowScores) -> String {
    let side = |x: &SideScores| {
        format!(
            "Pearson {}, Spearman {}, total ratio {}, top-10 {}",
            fmt(x.pearson),
            fmt(x.spearman),
            fmt(x.total_ratio),
            fmt(x.top10_overlap)
        )
    };
    let mut o = format!(
        "# {name} {} .. {}:\n#   long:  {}\n#   short: {}\n",
        format_time(w.from),
        format_time(w.to),
        side(&w.model.long),
        side(&w.model.short)
    );
    if let Some(b) = &w.baseline {
        let _ = write!(
            o,
            "#   baseline long:  {}\n#   baseline short: {}\n",
            side(&b.long),
            side(&b.short)
        );
    }
    o
}

/// The scenario text with the fitted values set (comments and layout kept), `replay.from`
/// set to the training cut (so `backtest` scores the days after it), and a header comment
/// recording the window, objective and scores (replacing an earlier one).
#[allow(clippy::too_many_arguments)]
fn calibrated_text(
    text: &str,
    prices: Option<&Path>,
    p: &LivingParams,
    names: &[&str],
    to: i64,
    train_from: i64,
    objective: f64,
    ins: &WindowScores,
    oos: Option<&WindowScores>,
    paths: u64,
) -> Result<String> {
    const MARK: &str = "# calibrated by `cascadesim calibrate`";
    let body: String = {
        let mut lines = text.lines().peekable();
        if lines.peek().is_some_and(|l| l.starts_with(MARK)) {
            // The previous header: its comment lines and the blank line after them.
            while lines.peek().is_some_and(|l| l.starts_with('#')) {
                lines.next();
            }
            if lines.peek().is_some_and(|l| l.trim().is_empty()) {
                lines.next();
            }
        }
        lines.map(|l| format!("{l}\n")).collect()
    };
    let mut doc: toml_edit::DocumentMut = body.parse().context("re-reading the scenario")?;
    let round = |x: f64| (x * 1e6).round() / 1e6;
    for name in names {
        let v = match *name {
            "inflow_usd_per_hour" | "oi_participation" => match p.inflow {
                Inflow::Constant(x) => x.round(),
                Inflow::OpenInterest { participation } => round(participation),
            },
            "leverage_median" => round(p.leverage_median),
            "leverage_sigma" => round(p.leverage_sigma),
            "holding_hours" => round(p.holding_hours),
            "long_share" => round(p.long_share),
            "inflow_activity.elasticity" | "inflow_activity.halflife_hours" => {
                let Some(a) = p.activity else { continue };
                let (key, v) = match *name {
                    "inflow_activity.elasticity" => ("elasticity", round(a.elasticity)),
                    // Rounded, then held at most the baseline again (the scenario's rule):
                    // rounding up past a baseline of more decimals made a file its own
                    // validation refused.
                    _ => (
                        "halflife_hours",
                        a.baseline_hours
                            .map_or(round(a.halflife_hours), |b| round(a.halflife_hours).min(b)),
                    ),
                };
                doc["living"]["inflow_activity"][key] = toml_edit::value(v);
                continue;
            }
            _ => continue,
        };
        doc["living"][*name] = toml_edit::value(v);
    }
    doc["replay"]["from"] = toml_edit::value(format_time(to));
    if let Some(p) = prices {
        doc["replay"]["prices"] = toml_edit::value(p.display().to_string());
    }
    let mut head = format!(
        "{MARK} on {} .. {} (warm-up from the series' start; nothing after the cut was used).\n\
         # Objective (maximised): mean over long and short of (Pearson + Spearman)/2 - |ln(simulated/observed total)|\n\
         # on hourly liquidations = {objective:.4}. Fitted: {}. Scores below: {paths} paths.\n",
        format_time(train_from),
        format_time(to),
        names.join(", ")
    );
    head.push_str(&score_line("in sample", ins));
    if let Some(o) = oos {
        head.push_str(&score_line("out of sample", o));
    }
    Ok(format!("{head}\n{doc}"))
}

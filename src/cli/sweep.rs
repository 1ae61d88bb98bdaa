//! `cascadesim sweep`, `tune` and `sensitivity`: parameter grids, threshold solving and the
//! tornado table, all under common random numbers (every run uses the same seed and paths).

use std::path::Path;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::ProgressBar;

use cascadesim::diagnostics::ScenarioError;
use cascadesim::engine::Market;
use cascadesim::model::spec::Scenario;
use cascadesim::output::format::signed;
use cascadesim::output::sweep::{self as files, SweepProvenance, SweepResults};
use cascadesim::output::{self, Staging};
use cascadesim::stats::Proportion;
use cascadesim::sweep::tornado::{self, TornadoRow};
use cascadesim::sweep::tune::{self, Target, TuneError};
use cascadesim::sweep::{
    self, Axis, Neighbours, Plan, PointOutcome, SweepError, paired_flags, parse_set,
};
use cascadesim::{mc, metrics};

use cascadesim::run::files::FsFiles;
use cascadesim::run::plan::stem as file_stem;

use super::common::{CANCEL, InputError, fs_files, memory_guard, progress_bar, silent};
use super::mpi::Cluster;

/// Options every sweep-like command shares with `run`.
type Common = super::common::RunOptions;

#[derive(Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// A parameter and its values: PATH=V1,V2,... or PATH=FROM:TO:POINTS[:log]. Repeat to
    /// cross several into a grid. Replaces the file's [sweep] table.
    #[arg(long = "set", value_name = "PATH=VALUES")]
    set: Vec<String>,
    /// Show where the grid meets a target (as `tune --target`, e.g.
    /// cascade_probability<=0.05) on the figure of its metric: a contour on a two-parameter
    /// heatmap, a dashed line on a one-parameter plot. Changes no number.
    #[arg(long)]
    target: Option<String>,
}

#[derive(Args)]
pub(crate) struct TuneArgs {
    #[command(flatten)]
    common: Common,
    /// The parameter to solve for, by its TOML path.
    #[arg(long)]
    param: String,
    /// The target: METRIC<=LEVEL (or <, >=, >), METRIC cascade_probability or
    /// bad_debt_probability.
    #[arg(long)]
    target: String,
    /// The bracket FROM:TO: one end must meet the target and the other fail it.
    #[arg(long, value_name = "FROM:TO")]
    range: String,
    /// Stop when the bracket is this narrow (default: 1/256 of the range).
    #[arg(long)]
    tolerance: Option<f64>,
}

#[derive(Args)]
pub(crate) struct SensitivityArgs {
    #[command(flatten)]
    common: Common,
    /// A parameter to move: PATH (by --step, relative) or PATH=STEP (absolute). Repeat.
    #[arg(long, required = true)]
    param: Vec<String>,
    /// Relative step for parameters given without their own: 0.1 moves them ±10%.
    #[arg(long, default_value_t = 0.1)]
    step: f64,
}

/// A loaded base scenario and where its files go.
struct Setup {
    origin: String,
    text: String,
    files: FsFiles,
    pool: rayon::ThreadPool,
    /// The MPI job this process is a rank of (`--mpi`).
    cluster: Option<Cluster>,
}

impl Setup {
    fn new(c: &Common) -> Result<Setup> {
        // First, so that only rank 0 of an MPI job reports problems.
        let cluster = if c.mpi { Some(Cluster::init()?) } else { None };
        let text = super::common::read_scenario(&c.scenario)?;
        let base = c
            .scenario
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let pool = c.pool()?;
        Ok(Setup {
            origin: c.scenario.display().to_string(),
            text,
            files: fs_files(base),
            pool,
            cluster,
        })
    }

    /// Whether this process writes the files (always, except on MPI ranks other than 0).
    fn writes(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.rank() == 0)
    }

    fn plan(&self, axes: Option<Vec<Axis>>) -> Result<Plan> {
        sweep::plan(&self.text, &self.origin, &self.files, axes).map_err(input)
    }

    /// Whether the scenario takes only whole values at `path` (a count, a number of steps):
    /// the validator's own rule, asked with a value halfway between two whole ones near
    /// `near`. How the file writes the number says nothing (`volatility = 1` is a float key,
    /// and a key left at its default is written nowhere).
    fn integer_key(&self, path: &sweep::KeyPath, near: f64) -> bool {
        let probe = near.floor() + 0.5;
        let axes = vec![Axis {
            path: path.clone(),
            values: vec![probe],
        }];
        match sweep::plan(&self.text, &self.origin, &self.files, Some(axes)) {
            Ok(_) => false,
            Err(e) => e.to_string().contains("expected an integer"),
        }
    }

    /// The scenario of one run, with the command line's paths, seed and replicates
    /// ([`cascadesim::run::Overrides::apply`]).
    fn scenario(&self, text: &str, c: &Common) -> Result<Scenario> {
        let s = Scenario::parse(text, &self.origin, &self.files)?;
        Ok(c.overrides()
            .apply(s)
            .map_err(|e| InputError(e.to_string()))?)
    }

    /// Runs one grid point. Under MPI every rank simulates its share of the paths and all
    /// ranks receive the whole run's columns, so each computes the same outcome.
    fn run(&self, s: &Scenario, bar: &ProgressBar) -> Result<PointOutcome> {
        super::common::honour_cancel();
        let Some(cluster) = &self.cluster else {
            return self
                .pool
                .install(|| sweep::evaluate(s, &|n| bar.inc(n), &CANCEL))
                .map_err(|_| anyhow::Error::new(Interrupted));
        };
        let market = self.pool.install(|| Market::new(s));
        let (first, count) = cluster.shard().range(s.simulation.paths);
        let mut results = self
            .pool
            .install(|| mc::run(&market, first, count, &|n| bar.inc(n), &CANCEL))
            .map_err(|_| anyhow::Error::new(Interrupted))?;
        let columns = self.pool.install(|| metrics::columns(&mut results));
        let columns = cluster.share_columns(columns)?;
        Ok(PointOutcome::from_columns(
            &columns,
            s.replicates().map(u64::from),
        ))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted: no results written")]
struct Interrupted;

fn input(e: SweepError) -> anyhow::Error {
    match e {
        SweepError::Scenario(se) => anyhow::Error::new(se),
        other => anyhow::Error::new(InputError(other.to_string())),
    }
}

/// Sweeps compare plain runs path by path: a `[rare_event]` table is not used (said once).
fn note_rare_event(base: &Scenario, c: &Common) {
    if base.rare_event.is_some() && !c.quiet && !silent() {
        eprintln!(
            "note: the [rare_event] table is not used here: sweep, tune and sensitivity compare plain Monte Carlo runs on the same paths"
        );
    }
}

fn stem(c: &Common) -> String {
    file_stem(&c.scenario)
}

fn provenance(setup: &Setup, base: &Scenario, c: &Common) -> SweepProvenance {
    SweepProvenance {
        cascadesim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: setup.origin.clone(),
        scenario_name: base.name.clone(),
        seed: c.seed.unwrap_or(base.simulation.seed),
        paths: c.paths.unwrap_or(base.simulation.paths),
        population_replicates: base.replicates().map(u64::from),
        scenario: setup.text.clone(),
    }
}

/// Refuses runs whose per-path results would not fit in memory (one grid point at a time).
fn check_memory(paths: u64, base: &Scenario) -> Result<()> {
    memory_guard(paths, base.assets.len(), base.cross_margin.is_some())
}

/// Exit code for an interrupted run, or the error.
fn interrupted(e: anyhow::Error) -> Result<i32> {
    if e.downcast_ref::<Interrupted>().is_some() {
        eprintln!("{e}");
        Ok(super::common::interrupted_code())
    } else {
        Err(e)
    }
}

fn pct(x: f64) -> String {
    cascadesim::output::format::percent(x)
}

fn ci(p: &Proportion) -> String {
    format!(
        "{} [{}, {}]",
        pct(p.estimate),
        pct(p.ci_low),
        pct(p.ci_high)
    )
}

/// Checks a scenario's `[sweep]` table, if it has one (for `run` and `validate`): the number
/// of grid points, or the problems as an input error.
pub(crate) fn check_table(path: &Path) -> Result<Option<usize>> {
    let text = super::common::read_scenario(path)?;
    let has = text
        .parse::<toml_edit::DocumentMut>()
        .is_ok_and(|d| d.contains_key("sweep"));
    if !has {
        return Ok(None);
    }
    let files = fs_files(path.parent().map(Path::to_path_buf).unwrap_or_default());
    let plan = sweep::plan(&text, &path.display().to_string(), &files, None).map_err(input)?;
    Ok(Some(plan.grid.len()))
}

pub(crate) fn sweep(args: &SweepArgs) -> Result<i32> {
    let c = &args.common;
    let setup = Setup::new(c)?;
    let mut axes = Vec::new();
    let mut problems = Vec::new();
    let target = match args.target.as_deref().map(Target::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("--target: {e}"));
            None
        }
    };
    for s in &args.set {
        match parse_set(s) {
            Ok(a) => axes.push(a),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        // Report the well-formed parameters' problems (unknown keys, bad values) too.
        if !axes.is_empty()
            && let Err(SweepError::Input { problems: more, .. }) =
                sweep::plan(&setup.text, &setup.origin, &setup.files, Some(axes))
        {
            problems.extend(more);
        }
        bail!(InputError(problems.join("\n")));
    }
    let plan = setup.plan((!axes.is_empty()).then_some(axes))?;
    if !args.set.is_empty()
        && setup
            .text
            .parse::<toml_edit::DocumentMut>()
            .is_ok_and(|d| d.contains_key("sweep"))
    {
        eprintln!(
            "note: --set given: the [sweep] table of {} is not used",
            setup.origin
        );
    }
    let base = setup.scenario(&plan.texts[0], c)?;
    note_rare_event(&base, c);
    let paths = base.simulation.paths;
    check_memory(paths, &base)?;
    let prov = provenance(&setup, &plan.base, c);
    let dest = c.out.join(format!("{}-sweep", stem(c)));
    let staging = setup.writes().then(|| Staging::new(&dest)).transpose()?;

    let grid = &plan.grid;
    let bar = progress_bar(paths.saturating_mul(grid.len() as u64), "paths", c.quiet);
    let mut points = Vec::with_capacity(grid.len());
    let mut neighbours = Neighbours::new(grid);
    for (i, text) in plan.texts.iter().enumerate() {
        bar.set_message(format!("grid point {}/{}", i + 1, grid.len()));
        let s = setup.scenario(text, c)?;
        let out = match setup.run(&s, &bar) {
            Ok(o) => o,
            Err(e) => return interrupted(e),
        };
        points.push(out.stats);
        neighbours.push(grid, i, out.cascade);
    }
    bar.finish_and_clear();
    let differences = neighbours.into_rows();
    let results = SweepResults {
        provenance: &prov,
        grid,
        points: &points,
        differences: &differences,
        texts: &plan.texts,
    };
    let Some(staging) = staging else {
        return Ok(0);
    };
    files::write_sweep(&staging, &results)?;
    let warnings =
        output::sweep_plot::write_sweep_plots(&staging.path(""), &results, target.as_ref());
    output::sweep_page::write(&staging, &results)?;
    let dir = super::common::commit(staging)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !c.quiet {
        print!("{}", sweep_table(&results, &dir));
    }
    Ok(0)
}

fn sweep_table(r: &SweepResults<'_>, dir: &Path) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "{} grid point{} × {} paths, seed {} (the same paths at every point)\n",
        r.points.len(),
        if r.points.len() == 1 { "" } else { "s" },
        cascadesim::output::format::thousands(r.provenance.paths),
        r.provenance.seed
    );
    let last = r.grid.axes.len() - 1;
    // Each point: its label, its cascade probability and the paired difference from the
    // previous point. On one line when every point's fits 80 columns, else the label on a
    // line of its own above the figures.
    let rows: Vec<(String, String)> = r
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut figures = format!("cascade {:<28}", ci(&p.cascade));
            if let Some(d) = r.differences.iter().find(|d| d.to == i && d.axis == last) {
                let d = d.difference;
                let _ = write!(
                    figures,
                    "  Δ {} pp [{}, {}]",
                    signed(d.estimate * 100.0),
                    signed(d.ci_low * 100.0),
                    signed(d.ci_high * 100.0)
                );
            }
            (r.grid.label(i), figures.trim_end().to_string())
        })
        .collect();
    let label_w = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let fits = rows
        .iter()
        .all(|(_, f)| 2 + 4 + 2 + label_w + 2 + f.chars().count() <= 80);
    for (i, (label, figures)) in rows.iter().enumerate() {
        if fits {
            let _ = writeln!(s, "  {i:>4}  {label:<label_w$}  {figures}");
        } else {
            let _ = writeln!(s, "  {i:>4}  {label}");
            let _ = writeln!(s, "{:8}{figures}", "");
        }
    }
    let note = format!(
        "Δ: paired difference from the previous point along {} (95%, same paths)",
        r.grid.axes[last].path
    );
    for line in cascadesim::output::style::wrap(&note, 80) {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s, "results: {}", dir.display());
    s
}

/// A parameter value in the terminal: whole numbers from a thousand up with separators
/// (`125,078,125`), anything else in its shortest exact form (`0.0125`).
fn param_value(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() >= 1000.0 {
        cascadesim::output::format::number(x)
    } else {
        format!("{x}")
    }
}

/// Prints `text` indented by `indent` spaces and wrapped to 80 columns, continuation lines
/// two spaces further in.
fn print_wrapped(text: &str, indent: usize) {
    let lines = cascadesim::output::style::wrap(text, 80 - indent - 2);
    for (i, l) in lines.iter().enumerate() {
        let pad = if i == 0 { indent } else { indent + 2 };
        println!("{:pad$}{l}", "");
    }
}

fn parse_bracket(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("--range {s}: expected FROM:TO"))?;
    let num = |x: &str| {
        x.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("--range {s}: `{}` is not a finite number", x.trim()))
    };
    let (a, b) = (num(a)?, num(b)?);
    if a == b {
        return Err(format!("--range {s}: the ends must differ"));
    }
    Ok((a, b))
}

pub(crate) fn tune(args: &TuneArgs) -> Result<i32> {
    let c = &args.common;
    let setup = Setup::new(c)?;
    let mut problems = Vec::new();
    let target = Target::parse(&args.target).map_err(|e| problems.push(format!("--target: {e}")));
    let bracket = parse_bracket(&args.range).map_err(|e| problems.push(e));
    let path =
        sweep::KeyPath::parse(&args.param).map_err(|e| problems.push(format!("--param: {e}")));
    if let Some(t) = args.tolerance
        && !(t.is_finite() && t > 0.0)
    {
        problems.push(format!("--tolerance must be > 0, found {t}"));
    }
    let (Ok(target), Ok((lo, hi)), Ok(path), true) = (target, bracket, path, problems.is_empty())
    else {
        bail!(InputError(problems.join("\n")));
    };
    let tolerance = args.tolerance.unwrap_or((hi - lo).abs() / 256.0);
    // An integer key (the validator takes only whole values there), between whole ends, is
    // bisected on whole values.
    let integer = lo.fract() == 0.0 && hi.fract() == 0.0 && setup.integer_key(&path, lo);
    // Both ends are validated before anything runs; values between them are validated as
    // bisection reaches them.
    let plan = setup.plan(Some(vec![Axis {
        path,
        values: vec![lo, hi],
    }]))?;
    let base = setup.scenario(&plan.texts[0], c)?;
    note_rare_event(&base, c);
    let paths = base.simulation.paths;
    check_memory(paths, &base)?;
    let prov = provenance(&setup, &plan.base, c);
    let staging = setup
        .writes()
        .then(|| Staging::new(&c.out.join(format!("{}-tune", stem(c)))))
        .transpose()?;
    let runs = 2 + ((hi - lo).abs() / tolerance).log2().ceil().max(0.0) as u64;
    let bar = progress_bar(paths.saturating_mul(runs), "paths", c.quiet);
    let mut n = 0;
    let result = tune::bisect(
        lo,
        hi,
        tolerance,
        integer,
        &target,
        |x| -> Result<Proportion> {
            n += 1;
            bar.set_message(format!("run {n}: {} = {x}", args.param));
            let text = plan.text_at(&[x]).map_err(InputError)?;
            let s = setup.scenario(&text, c).map_err(|e| match e.downcast::<ScenarioError>() {
            Ok(se) => anyhow::Error::new(InputError(format!(
                "{} = {x}, reached by bisection, is not a valid scenario (the valid values are not an interval):\n{}",
                args.param,
                se.to_string().trim_end()
            ))),
            Err(e) => e,
        })?;
            Ok(target.metric.of(&setup.run(&s, &bar)?.stats))
        },
    );
    bar.finish_and_clear();
    let tuned = match result {
        Ok(t) => t,
        Err(TuneError::Eval(e)) => return interrupted(e),
        Err(TuneError::NotBracketed { lo, hi }) => {
            let say = |e: &tune::Evaluation| {
                format!(
                    "{} = {}: {} {} ({})",
                    args.param,
                    e.value,
                    target.metric.name(),
                    pct(e.estimate),
                    if e.meets {
                        "meets the target"
                    } else {
                        "fails the target"
                    }
                )
            };
            eprintln!(
                "error: the range does not bracket {target}: both ends {} it\n  {}\n  {}",
                if lo.meets { "meet" } else { "fail" },
                say(&lo),
                say(&hi)
            );
            return Ok(1);
        }
    };
    let Some(staging) = staging else {
        return Ok(0);
    };
    files::write_tune(&staging, &prov, &args.param, &target.to_string(), &tuned)?;
    let dir = super::common::commit(staging)?;
    if !tuned.monotone {
        eprintln!(
            "warning: {} is not monotone in {} over the evaluated values: bisection assumes it is, so the answer may be one of several crossings",
            target.metric.name(),
            args.param
        );
    }
    let at = tuned
        .evaluations
        .iter()
        .find(|e| e.value == tuned.answer)
        .expect("the answer was evaluated");
    let line = format!(
        "{}: {} = {} meets {target} ({} [{}, {}], {} paths)",
        setup.origin,
        args.param,
        param_value(tuned.answer),
        pct(at.estimate),
        pct(at.ci_low),
        pct(at.ci_high),
        cascadesim::output::format::thousands(paths)
    );
    print_wrapped(&line, 0);
    let compact = cascadesim::output::format::compact;
    let line = format!(
        "bracket: fails at {} (bracket width {}, tolerance {}, {} runs on the same paths)",
        param_value(tuned.fails_at),
        compact((tuned.fails_at - tuned.answer).abs()),
        compact(tuned.tolerance),
        tuned.evaluations.len()
    );
    print_wrapped(&line, 2);
    let line = match tuned.indistinguishable {
        Some((a, b)) => format!(
            "uncertainty: at evaluated values from {} to {} the 95% interval of {} contains {}",
            param_value(a),
            param_value(b),
            target.metric.name(),
            target.level
        ),
        None => format!(
            "uncertainty: every evaluated value's 95% interval excludes {}: the sampling error is below the bracket",
            target.level
        ),
    };
    print_wrapped(&line, 2);
    println!("results: {}", dir.display());
    Ok(0)
}

pub(crate) fn sensitivity(args: &SensitivityArgs) -> Result<i32> {
    let c = &args.common;
    let setup = Setup::new(c)?;
    if !(args.step.is_finite() && args.step > 0.0) {
        bail!(InputError(format!(
            "--step must be > 0, found {}",
            args.step
        )));
    }
    // Every move is validated before anything runs.
    let mut problems = Vec::new();
    let mut plans = Vec::new();
    for p in &args.param {
        let moved = tornado::parse_param(p, args.step).and_then(|(path, step)| {
            let base = tornado::read_number(&setup.text, &path)?;
            let integer = setup.integer_key(&path, base);
            let (lo, hi) =
                tornado::moved(base, step, integer).map_err(|e| format!("{path}: {e}"))?;
            Ok((path, base, lo, hi))
        });
        match moved {
            Ok((path, base, lo, hi)) => match setup.plan(Some(vec![Axis {
                path: path.clone(),
                values: vec![lo, hi],
            }])) {
                Ok(plan) => plans.push((path, base, plan)),
                Err(e) => problems.push(format!("{e:#}")),
            },
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        bail!(InputError(problems.join("\n")));
    }
    let base = setup.scenario(&setup.text, c)?;
    note_rare_event(&base, c);
    let paths = base.simulation.paths;
    check_memory(paths, &base)?;
    let prov = provenance(&setup, &base, c);
    let staging = setup
        .writes()
        .then(|| Staging::new(&c.out.join(format!("{}-sensitivity", stem(c)))))
        .transpose()?;
    let bar = progress_bar(
        paths.saturating_mul(1 + 2 * plans.len() as u64),
        "paths",
        c.quiet,
    );
    bar.set_message("scenario as written");
    let reference = match setup.run(&base, &bar) {
        Ok(o) => o,
        Err(e) => return interrupted(e),
    };
    let mut rows = Vec::new();
    for (path, value, plan) in &plans {
        let mut ends = Vec::new();
        for (text, x) in plan.texts.iter().zip(&plan.grid.axes[0].values) {
            bar.set_message(format!("{path} = {x}"));
            let s = setup.scenario(text, c)?;
            match setup.run(&s, &bar) {
                Ok(o) => ends.push(o),
                Err(e) => return interrupted(e),
            }
        }
        let (low, high) = (&ends[0], &ends[1]);
        rows.push(TornadoRow {
            path: path.to_string(),
            base: *value,
            low: plan.grid.axes[0].values[0],
            high: plan.grid.axes[0].values[1],
            cascade_low: low.stats.cascade.estimate,
            cascade_high: high.stats.cascade.estimate,
            cascade_difference: paired_flags(&low.cascade, &high.cascade),
            es_low: low.stats.drawdown_es99(),
            es_high: high.stats.drawdown_es99(),
        });
    }
    bar.finish_and_clear();
    tornado::rank(&mut rows);
    let Some(staging) = staging else {
        return Ok(0);
    };
    files::write_tornado(&staging, &prov, &rows)?;
    let warnings = output::sweep_plot::write_tornado_plot(
        &staging.path(""),
        &rows,
        reference.stats.cascade.estimate,
        reference.stats.drawdown_es99(),
    );
    let dir = super::common::commit(staging)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !c.quiet {
        let head = format!(
            "{}: cascade probability {} and ES99 of max drawdown {} as written ({paths} paths)",
            setup.origin,
            ci(&reference.stats.cascade),
            pct(reference.stats.drawdown_es99())
        );
        for part in cascadesim::output::style::wrap(&head, 80) {
            println!("{part}");
        }
        println!("ranked by the change in cascade probability, then in ES99 of max drawdown:");
        for (i, r) in rows.iter().enumerate() {
            let d = &r.cascade_difference;
            let what = format!("{}. {}  from {} to {}", i + 1, r.path, r.low, r.high);
            for part in cascadesim::output::style::wrap(&what, 80 - 2) {
                println!("  {part}");
            }
            let line = format!(
                "cascade {} → {} (Δ {} pp, 95% [{}, {}] on the same paths); ES99 drawdown {} → {}",
                pct(r.cascade_low),
                pct(r.cascade_high),
                signed(d.estimate * 100.0),
                signed(d.ci_low * 100.0),
                signed(d.ci_high * 100.0),
                pct(r.es_low),
                pct(r.es_high)
            );
            for part in cascadesim::output::style::wrap(&line, 80 - 6) {
                println!("      {part}");
            }
        }
        println!("results: {}", dir.display());
    }
    Ok(0)
}

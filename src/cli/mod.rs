//! Command-line interface: the only module that knows about clap, anyhow, the terminal,
//! progress bars and where files live. Each subcommand is one function: options → validate
//! → run → export.

mod table;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cascadesim::engine::Market;
use cascadesim::output::{self, Staging};
use cascadesim::scenario::{FileSource, PopulationMode, Scenario, ScenarioError};
use cascadesim::summary::{self, Provenance, Summary};
use cascadesim::{mc, metrics};

#[derive(Parser)]
#[command(
    name = "cascadesim",
    version,
    about = "Monte Carlo simulator of liquidation cascades"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check scenario files and list every problem (exit 2 if any file is invalid).
    Validate {
        /// Scenario TOML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a scenario: simulate its paths and write results/<scenario stem>/.
    Run(RunArgs),
    /// Refit the extreme-value tail of a metric from a saved run, without re-simulating.
    Tails(TailsArgs),
}

#[derive(Args)]
struct TailsArgs {
    /// A results.h5 written by `cascadesim run`.
    results: PathBuf,
    /// Per-path metric (a dataset under /paths).
    #[arg(long, default_value = "max_drawdown")]
    metric: String,
    /// Fit above this threshold (in the metric's unit) instead of the automatic rule.
    #[arg(long)]
    threshold: Option<f64>,
    /// Print the whole report (with diagnostic curves) as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Scenario TOML file.
    scenario: PathBuf,
    /// Number of paths (default: simulation.paths from the file).
    #[arg(long)]
    paths: Option<u64>,
    /// Random seed (default: simulation.seed from the file).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder; results go to <out>/<scenario file stem>/.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
}

/// Bad input: reported with exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InputError(String);

/// Set by the first Ctrl-C: the run stops between chunks of paths and writes nothing.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    // A second Ctrl-C while the first is being honoured ends the process at once; either way
    // the output folder holds the previous complete results or nothing.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Run(args) => run(&args),
        Command::Tails(args) => refit_tails(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(se) = e.downcast_ref::<ScenarioError>() {
                eprint!("error: {se}");
                2
            } else if e.downcast_ref::<InputError>().is_some() {
                eprintln!("error: {e:#}");
                2
            } else {
                eprintln!("error: {e:#}");
                1
            }
        }
    }
}

/// Reads CSV files referenced by a scenario, relative to the scenario's folder.
struct FsFiles {
    base: PathBuf,
}

impl FileSource for FsFiles {
    fn read(&self, relative: &str) -> std::result::Result<String, String> {
        let p = self.base.join(relative);
        std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    }
}

fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read scenario file {}: {e}", path.display())))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Scenario::parse(
        &text,
        &path.display().to_string(),
        &FsFiles { base },
    )?)
}

fn validate(files: &[PathBuf]) -> Result<i32> {
    let mut bad = 0;
    for f in files {
        match load(f) {
            Ok(s) => {
                let positions: String = match s.simulation.population_mode {
                    PopulationMode::Fixed => {
                        let n: u64 = s
                            .populations
                            .iter()
                            .map(|p| match &p.source {
                                cascadesim::scenario::PositionSource::Synthetic(x) => x.count,
                                cascadesim::scenario::PositionSource::Explicit(r) => r.len() as u64,
                            })
                            .sum();
                        format!("{n} positions")
                    }
                    PopulationMode::PerPath => "positions drawn per path".into(),
                };
                println!(
                    "ok: {} ({} asset{}, {} population{}, {positions}, {} paths × {} steps)",
                    f.display(),
                    s.assets.len(),
                    plural(s.assets.len()),
                    s.populations.len(),
                    plural(s.populations.len()),
                    s.simulation.paths,
                    s.simulation.steps
                );
            }
            Err(e) => {
                bad += 1;
                if let Some(se) = e.downcast_ref::<ScenarioError>() {
                    eprint!("error: {se}");
                } else {
                    eprintln!("error: {e:#}");
                }
            }
        }
    }
    if bad > 0 {
        eprintln!(
            "{bad} of {} file{} invalid",
            files.len(),
            plural(files.len())
        );
        Ok(2)
    } else {
        Ok(0)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Bytes kept per path while a run is in memory (results, their columns and a sort buffer).
fn bytes_per_path(n_assets: usize) -> u64 {
    let summary = std::mem::size_of::<cascadesim::engine::PathSummary>();
    let asset = std::mem::size_of::<cascadesim::engine::AssetPathMetrics>();
    (2 * summary + 2 * n_assets * asset + 16) as u64
}

fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn run(args: &RunArgs) -> Result<i32> {
    let started = Instant::now();
    let mut scenario = load(&args.scenario)?;
    if let Some(p) = args.paths {
        scenario.simulation.paths = p;
    }
    if let Some(s) = args.seed {
        scenario.simulation.seed = s;
    }
    if args.threads == Some(0) {
        bail!(InputError("--threads must be at least 1".into()));
    }
    let paths = scenario.simulation.paths;
    let need = paths.saturating_mul(bytes_per_path(scenario.assets.len()));
    if let Some(avail) = available_memory()
        && need > avail
    {
        bail!(InputError(format!(
            "{paths} paths need about {:.1} GiB of memory for their results, but only {:.1} GiB is available; run fewer paths",
            need as f64 / (1u64 << 30) as f64,
            avail as f64 / (1u64 << 30) as f64
        )));
    }
    let stem = args
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let dest = args.out.join(&stem);

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = args.threads {
            b = b.num_threads(t);
        }
        b.build().context("cannot start worker threads")?
    };
    let threads = pool.current_num_threads();

    // Fail on an unwritable output folder before spending time on the simulation.
    let staging = Staging::new(&dest)?;

    let t_seed = Instant::now();
    let market = pool.install(|| Market::new(&scenario));
    let seed_time = t_seed.elapsed();

    let show = !args.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(paths),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} paths ({rate}, eta {eta})",
        )
        .expect("valid template")
        .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} paths/s", s.per_sec());
        }),
    );
    let t_run = Instant::now();
    let results = match pool.install(|| mc::run(&market, 0, paths, &|n| bar.inc(n), &CANCEL)) {
        Ok(r) => r,
        Err(mc::Cancelled) => {
            bar.abandon();
            eprintln!(
                "interrupted: no results written ({} left as it was)",
                dest.display()
            );
            return Ok(130);
        }
    };
    let sim_time = t_run.elapsed();
    bar.finish_and_clear();

    let names: Vec<String> = scenario.assets.iter().map(|a| a.name.clone()).collect();
    let columns = metrics::columns(&results);
    let asset_columns = metrics::asset_columns(&results, &names);
    let provenance = Provenance {
        cascadesim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: args.scenario.display().to_string(),
        scenario_name: scenario.name.clone(),
        seed: scenario.simulation.seed,
        paths,
        first_path: 0,
        steps: scenario.simulation.steps,
        step_seconds: scenario.simulation.step_seconds,
        assets: names,
        population_mode: match scenario.simulation.population_mode {
            PopulationMode::Fixed => "fixed".into(),
            PopulationMode::PerPath => "per_path".into(),
        },
        positions: market.fixed_position_count().map(|n| n as u64),
        cascade_definition: (&scenario.simulation.cascade).into(),
        scenario: scenario.text.clone(),
    };
    let tail_reports =
        summary::analyze_tails(&columns, &summary::tail_options(scenario.simulation.seed));
    let summary = Summary::build(provenance, &columns, &tail_reports);
    output::write_run(&staging, &summary, &columns, &asset_columns, &tail_reports)?;
    let dir = staging.commit()?;

    if !args.quiet {
        let timing = table::Timing {
            threads,
            seed_seconds: seed_time.as_secs_f64(),
            sim_seconds: sim_time.as_secs_f64(),
            total_seconds: started.elapsed().as_secs_f64(),
        };
        print!("{}", table::render(&summary, &tail_reports, &timing, &dir));
    }
    Ok(0)
}

fn refit_tails(args: &TailsArgs) -> Result<i32> {
    use cascadesim::output::h5;
    let f = &args.results;
    if !f.exists() {
        bail!(InputError(format!("no such results file: {}", f.display())));
    }
    let available = h5::list_datasets(f, "/paths").map_err(|e| {
        InputError(format!(
            "{} is not a cascadesim results file: {e}",
            f.display()
        ))
    })?;
    if !available.iter().any(|d| d == &args.metric) {
        bail!(InputError(format!(
            "{} has no per-path metric `{}`; available: {}",
            f.display(),
            args.metric,
            available.join(", ")
        )));
    }
    if let Some(u) = args.threshold
        && !u.is_finite()
    {
        bail!(InputError("--threshold must be a finite number".into()));
    }
    let data = h5::read_f64_column(f, &format!("/paths/{}", args.metric))?;
    let seed = h5::read_attr_u64(f, "/", "seed")?;
    let unit = h5::read_attr_str(f, &format!("/paths/{}", args.metric), "unit")?;
    let mut options = summary::tail_options(seed);
    if let Some(threshold) = args.threshold {
        options.threshold = cascadesim::tails::ThresholdRule::Fixed { threshold };
    }
    let report = cascadesim::tails::analyze(&data, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::render_tail(&args.metric, &unit, &report));
    }
    Ok(0)
}

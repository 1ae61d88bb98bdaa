//! Command-line interface: the only module that knows about clap, anyhow, the terminal,
//! progress bars and where files live. Each subcommand is one function: options → validate
//! → run → export.

mod backtest;
mod check;
mod compare;
mod files;
mod heatmap;
mod help;
mod memory;
mod merge;
mod mpi;
mod population;
mod report;
mod run;
mod sweep;
mod table;
mod tails;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use std::io::IsTerminal;

use anyhow::{Result, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cascadesim::scenario::{FileSource, MAX_REPLICATES, PopulationMode, Scenario, ScenarioError};

#[derive(Parser)]
#[command(
    name = "cascadesim",
    version,
    about = "Monte Carlo simulator of liquidation cascades"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Let files referenced inside a scenario or results file (positions_file, a book's
    /// file) lie outside the scenario's folder: absolute paths, `..` and links out of it.
    #[arg(long, global = true)]
    allow_external_files: bool,
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
    Run(run::RunArgs),
    /// Refit the extreme-value tail of a metric from a saved run, without re-simulating.
    Tails(tails::TailsArgs),
    /// Map where the scenario's positions would be liquidated: heatmap by price, clusters,
    /// crowding, a risk score and the critical shock; writes <out>/<stem>-heatmap/.
    Heatmap(heatmap::HeatmapArgs),
    /// Rebuild summary.json, the summary table, plots/ and report.html from a saved
    /// results.h5, without re-simulating.
    Report(report::ReportArgs),
    /// Join the shard files of one run (`run --shard K/N`) into the run's results folder,
    /// the same files a single-machine run writes.
    Merge(merge::MergeArgs),
    /// Run a scenario over a grid of parameter values (`--set PATH=VALUES` or the file's
    /// [sweep] table), every point on the same paths; writes <out>/<stem>-sweep/.
    Sweep(sweep::SweepArgs),
    /// Find the least restrictive value of one parameter that meets a target such as
    /// cascade_probability<=0.01, by bisection on the same paths; writes <out>/<stem>-tune/.
    Tune(sweep::TuneArgs),
    /// Sensitivity (tornado) table: each parameter moved down and up around the scenario's
    /// value, ranked by the change in cascade probability; writes <out>/<stem>-sensitivity/.
    Sensitivity(sweep::SensitivityArgs),
    /// Replay a price series with a living population of positions and score its
    /// liquidations against the observed ones by hour; writes <out>/<stem>-backtest/.
    Backtest(backtest::BacktestArgs),
    /// Fit a replay scenario's living population on the data before --to (Nelder–Mead) and
    /// write a calibrated scenario; prints in- and out-of-sample scores.
    Calibrate(backtest::CalibrateArgs),
    /// Write every position of the drawn population (asset, venue, side, size, entry,
    /// leverage, liquidation price) as CSV, readable back as a positions_file, or as HDF5.
    Population(population::PopulationArgs),
    /// Pre-trade check of prospective positions: liquidation price, nearest major cluster,
    /// no-trade buffer, slippage and Monte Carlo liquidation odds. Exit 3 when a position is
    /// inside the no-trade buffer.
    Check(check::CheckArgs),
    /// Compare two saved runs (results folders or results.h5 files): differences B − A of
    /// every headline figure with 95% intervals, paired when the runs share scenario, seed
    /// and paths; writes <out>/<A>-vs-<B>-compare/.
    Compare(compare::CompareArgs),
}

/// Options of every command that simulates: the scenario, how many paths from which seed,
/// on how many threads, and where results go.
#[derive(clap::Args)]
pub(crate) struct RunOptions {
    /// Scenario TOML file.
    scenario: PathBuf,
    /// Number of paths (default: simulation.paths from the file).
    #[arg(long)]
    paths: Option<u64>,
    /// Random seed (default: simulation.seed from the file).
    #[arg(long)]
    seed: Option<u64>,
    /// Independent draws of the synthetic populations (default:
    /// simulation.population_replicates from the file, or 32); path i uses draw i mod N, and
    /// the intervals cover both path and population noise. Needs population = "fixed".
    #[arg(long, value_name = "N")]
    replicates: Option<u32>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder; results go to a folder in it named after the scenario file's stem
    /// (`run`: <stem>/, `sweep`: <stem>-sweep/, `tune`: <stem>-tune/, `sensitivity`:
    /// <stem>-sensitivity/).
    #[arg(long, value_parser = out_folder, default_value = "results")]
    out: PathBuf,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
    /// Spread the paths over the ranks of an MPI job (`mpirun -n R cascadesim run ... --mpi`,
    /// also sweep, tune, sensitivity): every rank simulates its share of each run's paths;
    /// rank 0 writes the one result, identical to a single process's. Needs `--features mpi`.
    #[arg(long)]
    mpi: bool,
}

impl RunOptions {
    /// The worker pool for `--threads`.
    fn pool(&self) -> Result<rayon::ThreadPool> {
        thread_pool(self.threads)
    }

    /// Applies `--paths`, `--seed` and `--replicates` to a validated scenario.
    ///
    /// # Errors
    /// [`InputError`] for `--replicates` out of range or with a per-path population.
    fn apply(&self, scenario: &mut Scenario) -> Result<()> {
        if let Some(p) = self.paths {
            if p == 0 {
                anyhow::bail!(InputError(
                    "--paths must be at least 1 (nothing was run; any previous results are left as they were)".into()
                ));
            }
            scenario.simulation.paths = p;
        }
        if let Some(s) = self.seed {
            scenario.simulation.seed = s;
        }
        if let Some(r) = self.replicates {
            if !(1..=MAX_REPLICATES).contains(&u64::from(r)) {
                anyhow::bail!(InputError(format!(
                    "--replicates must be between 1 and {MAX_REPLICATES}, found {r}"
                )));
            }
            if scenario.simulation.population_mode == PopulationMode::PerPath {
                anyhow::bail!(InputError(
                    "--replicates has no effect with population = \"per_path\" (every path draws its own population)".into()
                ));
            }
            scenario.simulation.population_replicates = r;
        }
        Ok(())
    }
}

/// Bad input: reported with exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InputError(pub(crate) String);

impl From<cascadesim::output::read::FileProblems> for InputError {
    fn from(p: cascadesim::output::read::FileProblems) -> Self {
        InputError(p.to_string())
    }
}

/// Set on MPI ranks other than 0: they report nothing, so a job prints each message once.
pub(crate) static SILENT: AtomicBool = AtomicBool::new(false);

pub(crate) fn silent() -> bool {
    SILENT.load(Ordering::Relaxed)
}

/// Set by the first Ctrl-C: the run stops between chunks of paths and writes nothing.
pub(crate) static CANCEL: AtomicBool = AtomicBool::new(false);

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    // A second Ctrl-C while the first is being honoured ends the process at once; either way
    // the output folder holds the previous complete results or nothing.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let cli = match help::with_examples(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    files::ALLOW_EXTERNAL.store(cli.allow_external_files, Ordering::Relaxed);
    let result = match cli.command {
        Command::Validate { files } => validate::validate(&files),
        Command::Run(args) => run::run(&args),
        Command::Tails(args) => tails::refit_tails(&args),
        Command::Heatmap(args) => heatmap::heatmap(&args),
        Command::Report(args) => report::report(&args),
        Command::Merge(args) => merge::merge(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Tune(args) => sweep::tune(&args),
        Command::Sensitivity(args) => sweep::sensitivity(&args),
        Command::Backtest(args) => backtest::backtest(&args),
        Command::Calibrate(args) => backtest::calibrate(&args),
        Command::Population(args) => population::population(&args),
        Command::Check(args) => check::check(&args),
        Command::Compare(args) => compare::compare(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) if silent() => exit_code(&e),
        Err(e) => {
            if let Some(se) = e.downcast_ref::<ScenarioError>() {
                eprint!("error: {se}");
            } else {
                eprintln!("error: {e:#}");
            }
            exit_code(&e)
        }
    }
}

/// A Ctrl-C honoured between phases: nothing was written. Exit status 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: nothing written (the previous results, if any, are left as they were)")]
pub(crate) struct Cancelled;

/// `Err(Cancelled)` once Ctrl-C was pressed.
pub(crate) fn cancelled() -> Result<()> {
    if CANCEL.load(Ordering::SeqCst) {
        bail!(Cancelled);
    }
    Ok(())
}

/// The exit-code policy, one for every command: 130 after Ctrl-C, 2 for bad input (a scenario, a results or
/// shard file, an argument, a file in the way of the results folder), 1 for anything else.
fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<Cancelled>().is_some() {
        return 130;
    }
    let bad_input = e.downcast_ref::<ScenarioError>().is_some()
        || e.downcast_ref::<InputError>().is_some()
        || matches!(
            e.downcast_ref::<cascadesim::output::OutputError>(),
            Some(cascadesim::output::OutputError::NotAFolder(_))
        );
    if bad_input { 2 } else { 1 }
}

/// A progress bar on stderr (hidden when `quiet` or when stderr is not a terminal) counting
/// `total` items called `unit`, with their rate and the time left.
pub(crate) fn progress_bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    let show = !quiet && !silent() && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    let unit = unit.to_string();
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{rate}}, eta {{eta}}) {{msg}}"
        ))
        .expect("valid template")
        .with_key(
            "rate",
            move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} {unit}/s", s.per_sec());
            },
        ),
    );
    bar
}

/// Reads CSV files referenced by a scenario, relative to the scenario's folder and confined
/// to it ([`files::read_referenced`]).
pub(crate) struct FsFiles {
    pub(crate) base: PathBuf,
}

impl FileSource for FsFiles {
    fn read(&self, relative: &str) -> std::result::Result<String, String> {
        files::read_referenced(&self.base, relative)
    }
}

/// Parses `--out`: a folder that exists or can be made. An existing file is a usage error
/// (exit 2, like every other bad argument) before any work starts.
pub(crate) fn out_folder(arg: &str) -> std::result::Result<PathBuf, String> {
    let p = PathBuf::from(arg);
    if p.exists() && !p.is_dir() {
        return Err(format!("{arg} is a file, not a folder"));
    }
    Ok(p)
}

/// Refuses a shard file where a whole run's `results.h5` is needed, and a rare-event run's
/// file (its rows are weighted: `report` and `tails` would treat them as plain paths).
pub(crate) fn not_a_shard(f: &Path) -> Result<()> {
    if let Ok(e) = cascadesim::output::h5::read_attr_str(f, "/", "estimator") {
        return Err(anyhow::Error::new(InputError(format!(
            "{} holds a rare-event run ({e}): its rows are weighted, and `report` and `tails` work on plain runs only; its summary.json has the weighted figures",
            f.display()
        ))));
    }
    match cascadesim::output::h5::read_attr_str(f, "/", "content") {
        Ok(c) if c == cascadesim::output::SHARD_CONTENT => {
            Err(anyhow::Error::new(InputError(format!(
                "{} is one shard of a run, not a results file: join the shards first with `cascadesim merge`",
                f.display()
            ))))
        }
        _ => Ok(()),
    }
}

/// The worker pool of a command: `threads` workers, or one per core.
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        anyhow::bail!(InputError("--threads must be at least 1".into()));
    }
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        // More workers than cores only adds switching (10,000 made a 0.05 s run take 49 s);
        // results do not depend on the count, so it is capped.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if t > cores && !silent() {
            eprintln!(
                "note: --threads {t} is more than the {cores} core{} available; using {cores}",
                if cores == 1 { "" } else { "s" }
            );
        }
        b = b.num_threads(t.min(cores));
    }
    anyhow::Context::context(b.build(), "cannot start worker threads")
}

pub(crate) fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read scenario file {}: {e}", path.display())))?;
    if text
        .parse::<toml_edit::DocumentMut>()
        .is_ok_and(|d| d.contains_key("replay"))
    {
        anyhow::bail!(InputError(format!(
            "{} is a replay scenario ([replay] table): use `cascadesim backtest` or `cascadesim calibrate` on it",
            path.display()
        )));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Scenario::parse(
        &text,
        &path.display().to_string(),
        &FsFiles { base },
    )?)
}

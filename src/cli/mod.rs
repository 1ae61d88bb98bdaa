//! Command-line interface: the only module that knows about clap, anyhow, the terminal and
//! progress bars. Each subcommand is one function: options → plan → library call → print,
//! with errors mapped to exit codes ([`common::exit_code`]). The work itself (a run, its
//! folder, merging shards, rebuilding from `results.h5`) is the library's `run` module.

mod backtest;
mod check;
mod common;
mod compare;
mod heatmap;
mod help;
mod merge;
mod mpi;
mod population;
mod report;
mod run;
mod sweep;
mod table;
mod tails;
mod trades;
mod validate;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use cascadesim::diagnostics::ScenarioError;

use common::{ALLOW_EXTERNAL, exit_code, silent};

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

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    common::handle_signals();
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
    ALLOW_EXTERNAL.store(cli.allow_external_files, Ordering::Relaxed);
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
            // Written without `eprint!`, which panics when stderr is gone (a terminal that
            // closed on a hang-up): the exit status still says what happened.
            let mut err = std::io::stderr();
            let _ = if let Some(se) = e.downcast_ref::<ScenarioError>() {
                write!(err, "error: {se}")
            } else {
                writeln!(err, "error: {e:#}")
            };
            exit_code(&e)
        }
    }
}

//! `cascadesim run`: simulate a scenario and write its results folder.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cascadesim::engine::Market;
use cascadesim::output::{self, Staging};
use cascadesim::scenario::PopulationMode;
use cascadesim::summary::{self, Provenance, Summary};
use cascadesim::{mc, metrics};

use super::{CANCEL, InputError, load, report, table};

#[derive(Args)]
pub(crate) struct RunArgs {
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

pub(crate) fn run(args: &RunArgs) -> Result<i32> {
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
    // The columns hold every figure from here on: free the per-path structs (about half the
    // run's memory) before the tail analysis and the writers allocate their own buffers.
    drop(results);
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
    // Traces and sample paths: the chosen paths are replayed from their seeds (no per-step
    // data was kept during the run), then the figures and report.html join the results.
    let (trace_set, mut warnings) =
        pool.install(|| report::traces(&scenario.output, &market, &columns, 0, paths));
    output::write_run_with_traces(
        &staging,
        &summary,
        &columns,
        &asset_columns,
        &tail_reports,
        &trace_set,
    )?;
    let samples = if paths == 0 {
        Err("no paths were run".to_string())
    } else {
        pool.install(|| report::sample_paths(&market, &columns, 0, scenario.simulation.seed))
    };
    let traced: Vec<(u64, String)> = trace_set
        .traces
        .iter()
        .map(|t| (t.path, t.selected_by.clone()))
        .collect();
    warnings.extend(pool.install(|| {
        report::write_figures_and_page(
            &staging.path(""),
            &summary,
            &columns,
            &tail_reports,
            samples,
            &traced,
            &[],
        )
    })?);
    let dir = staging.commit()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }

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

//! `cascadesim run`: simulate a scenario and write its results folder.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use cascadesim::engine::Market;
use cascadesim::engine::realised::{RealisedGrid, RealisedHeatmap};
use cascadesim::metrics::{AssetColumns, Column, PopulationColumns, PopulationId};
use cascadesim::output::figures::FigureInput;
use cascadesim::output::realised::RealisedView;
use cascadesim::output::{self, Staging};
use cascadesim::rare::{self, RareEventInfo};
use cascadesim::scenario::{OutputSpec, PopulationMode, RareEventSpec, RareMethod, Scenario};
use cascadesim::shard::ShardSpec;
use cascadesim::summary::{self, Provenance, Summary};
use cascadesim::tails::TailReport;
use cascadesim::{mc, metrics};

use super::mpi::Cluster;
use super::{CANCEL, InputError, load, report, table};

/// `cascadesim run`'s options: those every simulating command shares, and shards.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    opts: super::RunOptions,
    /// Simulate only shard K of N (path ids [K·P/N, (K+1)·P/N) of the P-path run) and write
    /// <out>/<stem>-shards/shard-K-of-N.h5, for `cascadesim merge`.
    #[arg(long, value_name = "K/N", conflicts_with = "mpi")]
    shard: Option<ShardSpec>,
    /// Estimate rare events with importance sampling (`is`: tilted price moves, the tilt
    /// from the scenario's [rare_event] table or a cross-entropy pilot run) or multilevel
    /// splitting (`split`: needs [rare_event] levels); `plain` ignores a [rare_event] table.
    /// Overrides [rare_event] method.
    #[arg(long, value_name = "is|split|plain", value_parser = ["is", "split", "plain"])]
    rare_event: Option<String>,
}

/// The rare-event settings of a run: the scenario's `[rare_event]` table, its method
/// replaced by `--rare-event` when given.
fn rare_spec(args: &RunArgs, scenario: &Scenario) -> Result<Option<RareEventSpec>> {
    let method = match args.rare_event.as_deref() {
        Some("plain") => return Ok(None),
        Some("is") => Some(RareMethod::ImportanceSampling),
        Some(_) => Some(RareMethod::Splitting),
        None => None,
    };
    let spec = match (method, &scenario.rare_event) {
        (None, s) => s.clone(),
        (Some(m), Some(s)) => Some(RareEventSpec {
            method: m,
            ..s.clone()
        }),
        (Some(m), None) => Some(RareEventSpec::defaults(m)),
    };
    if let Some(s) = &spec {
        if s.method == RareMethod::Splitting && s.levels.is_empty() {
            bail!(InputError(
                "--rare-event split needs the drawdown levels at which paths are cloned: add `[rare_event]` with `levels = [0.02, 0.04, 0.06]` (and `clones`) to the scenario".into()
            ));
        }
        if args.shard.is_some() || args.opts.mpi {
            bail!(InputError(
                "rare_event: a rare-event run cannot be sharded or spread over MPI ranks (its tilt and splitting tree are chosen over the whole run); remove --shard/--mpi or [rare_event]".into()
            ));
        }
    }
    Ok(spec)
}

/// Refuses (exit 2) a command that would hold the per-path results of `paths` paths of
/// `assets` assets (`report`, `tails`, `merge`: what the file says it holds).
pub(crate) fn memory_guard(paths: u64, assets: usize) -> Result<()> {
    super::memory::guard(super::memory::Need {
        paths,
        assets,
        ..Default::default()
    })
}

pub(crate) fn run(args: &RunArgs) -> Result<i32> {
    let started = Instant::now();
    // First, so that only rank 0 of an MPI job reports a bad scenario.
    let cluster = if args.opts.mpi {
        Some(Cluster::init()?)
    } else {
        None
    };
    let mut scenario = load(&args.opts.scenario)?;
    // A [sweep] table is checked like the rest of the file, then left to `cascadesim sweep`.
    if let Some(n) = super::sweep::check_table(&args.opts.scenario)?
        && !args.opts.quiet
    {
        eprintln!(
            "note: the [sweep] table ({n} grid point{}) is not used by `run`, which runs the scenario as written; use `cascadesim sweep`",
            if n == 1 { "" } else { "s" }
        );
    }
    args.opts.apply(&mut scenario)?;
    let rare_spec = rare_spec(args, &scenario)?;
    let paths = scenario.simulation.paths;
    let in_memory = args.shard.map_or(paths, |s| s.range(paths).1);
    let out = &scenario.output;
    super::memory::guard(super::memory::Need {
        paths: in_memory,
        assets: scenario.assets.len(),
        steps: u64::from(scenario.simulation.steps),
        // Traces, plus the worst, median and random sample paths of the figures.
        traced: u64::from(out.trace_worst) + out.trace_paths.len() as u64 + 3,
        // Fixed mode: the population replicates this process's paths use (each a whole
        // population); per-path mode: one per worker and path.
        positions: scenario.position_count().saturating_mul(
            match scenario.simulation.population_mode {
                PopulationMode::Fixed => {
                    u64::from(scenario.replicates().unwrap_or(1)).min(in_memory.max(1))
                }
                PopulationMode::PerPath => {
                    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
                }
            },
        ),
    })?;
    let stem = args
        .opts
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    // The paths this process simulates: all, one shard, or its rank's share of an MPI job.
    let part = cluster.as_ref().map(Cluster::shard).or(args.shard);
    let (first, count) = part.map_or((0, paths), |s| s.range(paths));
    // Rank 0 of an MPI job (or a plain run) writes the run's folder; other ranks send theirs.
    let writes_folder = args.shard.is_none() && cluster.as_ref().is_none_or(|c| c.rank() == 0);
    // A shard is one file (written atomically) in a folder shared by the run's shards; a
    // whole run is a folder built aside and swapped in.
    let dest = match args.shard {
        Some(s) => args
            .opts
            .out
            .join(format!("{stem}-shards"))
            .join(format!("shard-{}-of-{}.h5", s.index, s.count)),
        None => args.opts.out.join(&stem),
    };
    let pool = args.opts.pool()?;
    let threads = pool.current_num_threads();

    // Fail on an unwritable output folder before spending time on the simulation.
    let staging = if writes_folder {
        Some(Staging::new(&dest)?)
    } else {
        if args.shard.is_some() {
            let dir = dest.parent().expect("a shard file has a folder");
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        None
    };

    let t_seed = Instant::now();
    let market = Market::new(&scenario);
    // The population replicates this process's paths use (a rare-event run: all of them).
    match rare_spec {
        Some(_) => pool.install(|| mc::prepare(&market, 0, paths)),
        None => pool.install(|| mc::prepare(&market, first, count)),
    }
    let seed_time = t_seed.elapsed();

    if let Some(spec) = &rare_spec {
        let staging = staging.expect("a rare-event run writes its folder");
        return run_rare(
            args, &pool, &market, &scenario, spec, staging, started, seed_time,
        );
    }
    let bar = super::progress_bar(count, "paths", args.opts.quiet);
    let t_run = Instant::now();
    // Where liquidations happened (price × time), summed over paths in integer cents.
    let grid = RealisedGrid::standard(scenario.simulation.steps);
    let make_heatmap = || RealisedHeatmap::new(&market, grid.clone());
    let run = || {
        mc::run_with(
            &market,
            first,
            count,
            &|n| bar.inc(n),
            &CANCEL,
            &make_heatmap,
        )
    };
    let (mut results, realised) = match pool.install(run) {
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
    let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
    let asset_columns = metrics::asset_columns(&results, &names, &venues);
    let population_columns = metrics::population_columns(&results, &population_ids(&scenario));
    results.assets = Vec::new();
    results.populations = Vec::new();
    // The columns hold every figure from here on: the per-path structs are given back while
    // they are turned into columns (about half the run's memory), before the tail analysis
    // and the writers allocate their own buffers.
    let columns = pool.install(|| metrics::columns(&mut results));
    drop(results);
    let first_path = if cluster.is_some() { 0 } else { first };
    let provenance = provenance(args, &scenario, &market, first_path);
    let timing = |total: Instant| table::Timing {
        ranks: cluster.as_ref().map_or(1, Cluster::size),
        threads,
        seed_seconds: seed_time.as_secs_f64(),
        sim_seconds: sim_time.as_secs_f64(),
        total_seconds: total.elapsed().as_secs_f64(),
    };
    let mut whole = Run {
        columns,
        asset_columns,
        population_columns,
        realised,
    };
    if let Some(shard) = args.shard {
        output::write_shard(
            &dest,
            &provenance,
            shard,
            output::RunColumns {
                paths: &whole.columns,
                assets: &whole.asset_columns,
                populations: &whole.population_columns,
            },
            &whole.realised,
        )?;
        if !args.opts.quiet {
            let t = timing(started);
            println!(
                "shard {shard}: paths {first}..{} of {paths} ({:.0} paths/s on {threads} thread{}, total {:.2}s)\nresults: {}",
                first + count,
                count as f64 / t.sim_seconds.max(1e-9),
                if threads == 1 { "" } else { "s" },
                t.total_seconds,
                dest.display()
            );
        }
        return Ok(0);
    }
    if let Some(c) = &cluster {
        match c.gather(whole)? {
            Some(w) => whole = w,
            None => return Ok(0),
        }
    }
    let staging = staging.expect("the process that writes the folder staged it");
    let done = finish(
        &pool,
        &market,
        &scenario.output,
        provenance,
        whole,
        staging,
        None,
    )?;
    if !args.opts.quiet {
        print!(
            "{}",
            table::render(
                &done.summary,
                &done.tail_reports,
                &timing(started),
                &done.dir
            )
        );
    }
    Ok(0)
}

/// Who each population is (name, asset, venue), in scenario order.
pub(crate) fn population_ids(scenario: &Scenario) -> Vec<PopulationId> {
    scenario
        .populations
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let asset = &scenario.assets[p.asset];
            PopulationId {
                // An unnamed population goes by its key path.
                name: if p.name.is_empty() {
                    format!("populations[{k}]")
                } else {
                    p.name.clone()
                },
                asset: asset.name.clone(),
                venue: asset
                    .venues
                    .as_ref()
                    .and_then(|v| v.list.get(p.venue))
                    .map(|v| v.name.clone()),
            }
        })
        .collect()
}

/// What produced the run (`first_path`: the first path id this process simulated).
fn provenance(args: &RunArgs, scenario: &Scenario, market: &Market, first_path: u64) -> Provenance {
    Provenance {
        cascadesim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: args.opts.scenario.display().to_string(),
        scenario_name: scenario.name.clone(),
        seed: scenario.simulation.seed,
        paths: scenario.simulation.paths,
        first_path,
        steps: scenario.simulation.steps,
        step_seconds: scenario.simulation.step_seconds,
        assets: scenario.assets.iter().map(|a| a.name.clone()).collect(),
        population_mode: match scenario.simulation.population_mode {
            PopulationMode::Fixed => "fixed".into(),
            PopulationMode::PerPath => "per_path".into(),
        },
        positions: market.fixed_position_count().map(|n| n as u64),
        population_replicates: scenario.replicates().map(u64::from),
        cascade_definition: (&scenario.simulation.cascade).into(),
        scenario: scenario.text.clone(),
    }
}

/// A rare-event run (`--rare-event` or `[rare_event]`): the weighted paths of
/// `rare::run`, their columns plus `weight`, `log_weight` (and `root_path`), and the same
/// folder as a plain run. No progress bar (the pilot and the splitting stages are not one
/// count of paths).
#[allow(clippy::too_many_arguments)]
fn run_rare(
    args: &RunArgs,
    pool: &rayon::ThreadPool,
    market: &Market,
    scenario: &Scenario,
    spec: &RareEventSpec,
    staging: Staging,
    started: Instant,
    seed_time: std::time::Duration,
) -> Result<i32> {
    let paths = scenario.simulation.paths;
    let t_run = Instant::now();
    let mut rr = pool
        .install(|| rare::run(market, spec, paths))
        .map_err(|e| InputError(format!("rare_event: {e}")))?;
    let sim_time = t_run.elapsed();
    let names: Vec<String> = scenario.assets.iter().map(|a| a.name.clone()).collect();
    let mut columns = pool.install(|| metrics::columns(&mut rr.results));
    columns.extend(metrics::weight_columns(
        &rr.log_weights,
        rr.roots.as_deref(),
    ));
    let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
    let asset_columns = metrics::asset_columns(&rr.results, &names, &venues);
    let provenance = provenance(args, scenario, market, 0);
    // Replays of a steered path are not plain replays: no realised heatmap is accumulated.
    let realised = RealisedHeatmap::new(market, RealisedGrid::standard(scenario.simulation.steps));
    let whole = Run {
        columns,
        asset_columns,
        population_columns: Vec::new(),
        realised,
    };
    let done = finish(
        pool,
        market,
        &scenario.output,
        provenance,
        whole,
        staging,
        Some(&rr.info),
    )?;
    if let Some(r) = done.summary.rare_event.as_ref().filter(|r| !r.reliable) {
        eprintln!(
            "warning: rare_event: the {} estimate is not reliable: {}. Its interval may not hold the probability; see rare_event.checks in summary.json and docs/rare_event.md",
            r.info.estimator,
            cascadesim::rare::reliability::failures(&r.checks)
        );
    }
    if !args.opts.quiet {
        let timing = table::Timing {
            ranks: 1,
            threads: pool.current_num_threads(),
            seed_seconds: seed_time.as_secs_f64(),
            sim_seconds: sim_time.as_secs_f64(),
            total_seconds: started.elapsed().as_secs_f64(),
        };
        print!(
            "{}",
            table::render(&done.summary, &done.tail_reports, &timing, &done.dir)
        );
    }
    Ok(0)
}

/// The per-path results of a whole run, in path order.
pub(crate) struct Run {
    pub(crate) columns: Vec<Column>,
    pub(crate) asset_columns: Vec<AssetColumns>,
    /// Per-population columns (empty in rare-event runs).
    pub(crate) population_columns: Vec<PopulationColumns>,
    pub(crate) realised: RealisedHeatmap,
}

/// What [`finish`] made.
pub(crate) struct Finished {
    pub(crate) summary: Summary,
    pub(crate) tail_reports: Vec<(&'static str, TailReport)>,
    pub(crate) dir: PathBuf,
}

/// Turns a whole run's per-path results into its folder: summary and tail fits, traces and
/// sample paths (replayed from their seeds; no per-step data was kept during the run),
/// `results.h5`, `summary.json`, the figures and `report.html`, all built in `staging` and
/// swapped in. Shared by `run` and `merge`, so a merged run's files are the same as a
/// single-machine run's.
pub(crate) fn finish(
    pool: &rayon::ThreadPool,
    market: &Market,
    output_spec: &OutputSpec,
    provenance: Provenance,
    run: Run,
    staging: Staging,
    rare: Option<&RareEventInfo>,
) -> Result<Finished> {
    super::cancelled()?;
    let Run {
        columns,
        asset_columns,
        population_columns,
        realised,
    } = run;
    let (paths, seed) = (provenance.paths, provenance.seed);
    let step_seconds = provenance.step_seconds;
    // Everything below runs on the run's pool (`--threads`). Each step's result depends on
    // its inputs only, never on how the work was split, so the files are the same for any
    // thread count.
    pool.install(|| {
        // Weighted runs: no tail fits (see summary::WEIGHTED_TAILS_NOTE), no replays (a
        // steered path is not its plain stream's path).
        let tail_reports = match rare {
            None => summary::analyze_tails(&columns, &summary::tail_options(seed)),
            Some(_) => Vec::new(),
        };
        let mut summary = Summary::build_with(provenance, &columns, &tail_reports, rare);
        summary.populations = summary::population_summaries(&population_columns);
        let (trace_set, mut warnings) = match rare {
            None => report::traces(output_spec, market, &columns, 0, paths),
            Some(r) => {
                let asked = !output_spec.trace_paths.is_empty() || output_spec.trace_worst > 0;
                (
                    Default::default(),
                    asked
                        .then(|| {
                            format!(
                                "output: no traces in a rare-event run ({}): its paths are not replayed",
                                r.estimator
                            )
                        })
                        .into_iter()
                        .collect(),
                )
            }
        };
        let traced: Vec<(u64, String)> = trace_set
            .traces
            .iter()
            .map(|t| (t.path, t.selected_by.clone()))
            .collect();
        // The data files and the figures share nothing but their inputs: written side by side.
        let (written, figures) = rayon::join(
            || {
                output::write_run_with_traces(
                    &staging,
                    &summary,
                    output::RunColumns {
                        paths: &columns,
                        assets: &asset_columns,
                        populations: &population_columns,
                    },
                    &tail_reports,
                    &trace_set,
                    Some(&realised),
                )
            },
            || {
                let samples = if paths == 0 {
                    Err("no paths were run".to_string())
                } else if let Some(r) = rare {
                    Err(format!(
                        "sample paths are not replayed in a rare-event run ({})",
                        r.estimator
                    ))
                } else {
                    report::sample_paths(market, &columns, 0, seed)
                };
                let input = FigureInput {
                    summary: &summary,
                    columns: &columns,
                    tail_reports: &tail_reports,
                    samples,
                    realised: RealisedView::from_heatmap(
                        &realised,
                        &summary.provenance.assets,
                        paths,
                        step_seconds,
                    ),
                };
                report::write_figures_and_page(&staging.path(""), &input, &traced, &[])
            },
        );
        written?;
        warnings.extend(figures?);
        // A Ctrl-C during the fits, replays or figures: the staging folder is dropped (and
        // removed), the previous results stay.
        super::cancelled()?;
        let dir = staging.commit()?;
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        Ok(Finished {
            summary,
            tail_reports,
            dir,
        })
    })
}

//! Doing a run: the shared market, this process's paths (plain Monte Carlo with the realised
//! heatmap, or a rare-event estimator), and their columns; then a shard file, or the folder
//! ([`super::finish()`]). [`execute`] is the whole of it for a whole run.
//!
//! A whole plain run given its staging folder streams its columns: each block of paths is
//! appended to the staged `results.h5` as it is simulated ([`output::streamed`]) and the
//! run keeps no column in memory ([`Paths::Streamed`]); a shard, an MPI rank and a
//! rare-event run hold theirs ([`Paths::Held`]).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::engine::Market;
use crate::engine::realised::{RealisedGrid, RealisedHeatmap};
use crate::mc;
use crate::metrics;
use crate::output::{self, Staging};
use crate::rare::{self, RareEventInfo};

use super::finish::{Finished, Paths, Run, finish};
use super::plan::{Part, RunPlan, population_ids};
use super::{Env, RunError};

/// This process's simulated paths.
pub struct Simulated {
    pub run: Paths,
    /// The estimator of a rare-event run (its paths are weighted).
    pub rare: Option<RareEventInfo>,
    /// Time spent simulating paths (with copying each block of paths into the columns, a
    /// small share of it).
    pub sim_time: Duration,
}

/// The run's market, with the population replicates this process's paths use drawn ahead (a
/// rare-event run: all of them).
pub fn market(plan: &RunPlan, pool: &rayon::ThreadPool) -> Market {
    let market = Market::new(plan.scenario());
    let (first, count) = match plan.rare_event() {
        Some(_) => (0, plan.paths()),
        None => plan.simulated(),
    };
    pool.install(|| mc::prepare(&market, first, count));
    market
}

/// Simulates this process's paths and turns them into columns. `progress` is called with the
/// number of paths just finished (plain runs only: a rare-event run's pilot and stages are
/// not one count of paths). With `staging` (the run's staged folder), a whole plain run
/// writes its columns into the staged `results.h5` block by block instead of holding them
/// ([`Paths::Streamed`]).
///
/// # Errors
/// [`RunError::Cancelled`] when `env.cancel` is set during the paths (a staged
/// `results.h5` is removed); [`RunError::Input`] for a splitting tree that would grow too
/// large; [`RunError::Output`] when the staged file cannot be written.
pub fn simulate(
    plan: &RunPlan,
    market: &Market,
    env: &Env<'_>,
    progress: &(dyn Fn(u64) + Sync),
    staging: Option<&Staging>,
) -> Result<Simulated, RunError> {
    simulate_in_blocks(plan, market, env, progress, staging, mc::BLOCK)
}

/// [`simulate`] with blocks of `block` paths (tests: many blocks on few paths; the results
/// do not depend on it, only the chunk order of a streamed `results.h5` does).
#[doc(hidden)]
pub fn simulate_in_blocks(
    plan: &RunPlan,
    market: &Market,
    env: &Env<'_>,
    progress: &(dyn Fn(u64) + Sync),
    staging: Option<&Staging>,
    block: u64,
) -> Result<Simulated, RunError> {
    let scenario = plan.scenario();
    let names: Vec<String> = scenario.assets.iter().map(|a| a.name.clone()).collect();
    let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
    let cross = scenario.cross_margin.is_some();
    let grid = RealisedGrid::standard(scenario.simulation.steps);
    let pool = env.pool;
    let t_run = Instant::now();
    if let Some(spec) = plan.rare_event() {
        let mut rr = pool
            .install(|| rare::run(market, spec, plan.paths()))
            .map_err(|e| RunError::Input(format!("rare_event: {e}")))?;
        let sim_time = t_run.elapsed();
        let mut columns = pool.install(|| metrics::columns(&mut rr.results));
        columns.extend(metrics::weight_columns(
            &rr.log_weights,
            rr.roots.as_deref(),
        ));
        let asset_columns = metrics::asset_columns(&rr.results, &names, &venues, cross);
        // Replays of a steered path are not plain replays: no realised heatmap is accumulated.
        let realised = RealisedHeatmap::new(market, grid);
        return Ok(Simulated {
            run: Paths::Held(Run {
                columns,
                asset_columns,
                population_columns: Vec::new(),
                realised,
                block,
            }),
            rare: Some(rr.info),
            sim_time,
        });
    }
    let (first, count) = plan.simulated();
    // Where liquidations happened (price × time), summed over paths in integer cents.
    let make_heatmap = || RealisedHeatmap::new(market, grid.clone());
    // The columns are filled block by block as the paths are simulated: the run never holds
    // every path's structs beside the columns.
    let n = usize::try_from(count).expect("path count fits in memory (checked by the plan)");
    let assets: Vec<(String, bool)> = names.into_iter().zip(venues).collect();
    let populations = population_ids(scenario);
    // Each block's columns are appended to the staged results.h5 (a whole plain run) or
    // copied into columns held in memory.
    let shape = mc::shape(market, first);
    let mut sink = match staging.filter(|_| plan.part() == Part::Whole && count > 0) {
        Some(staging) => {
            let (columns, asset_columns, population_columns) =
                metrics::block_columns(&shape, &assets, cross, &populations);
            Sink::Stream {
                writer: Box::new(output::streamed::PathsWriter::create(
                    staging,
                    first,
                    count,
                    block,
                    output::RunColumns {
                        paths: &columns,
                        assets: &asset_columns,
                        populations: &population_columns,
                    },
                )?),
                failed: None,
            }
        }
        None => Sink::Hold(metrics::Collector::new(
            &shape,
            n,
            &assets,
            cross,
            &populations,
        )),
    };
    let realised = pool
        .install(|| {
            mc::run_blocks(
                market,
                first..first + count,
                block,
                progress,
                env.cancel,
                &make_heatmap,
                &mut |block| match &mut sink {
                    // A write that fails stops the run after this block; its error is
                    // returned below.
                    Sink::Stream { writer, failed } => {
                        let (columns, asset_columns, population_columns) =
                            metrics::block_columns(block, &assets, cross, &populations);
                        *failed = writer
                            .append(output::RunColumns {
                                paths: &columns,
                                assets: &asset_columns,
                                populations: &population_columns,
                            })
                            .err();
                        if failed.is_some() {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    }
                    Sink::Hold(collector) => {
                        collector.add(block);
                        ControlFlow::Continue(())
                    }
                },
            )
        })
        .map_err(|mc::Cancelled| RunError::Cancelled)?;
    let sim_time = t_run.elapsed();
    let run = match sink {
        Sink::Stream {
            failed: Some(e), ..
        } => return Err(e.into()),
        Sink::Stream { writer, .. } => Paths::Streamed {
            columns: Box::new(writer.into_source()?),
            realised,
        },
        Sink::Hold(collector) => {
            let (columns, asset_columns, population_columns) = collector.finish();
            Paths::Held(Run {
                columns,
                asset_columns,
                population_columns,
                realised,
                block,
            })
        }
    };
    Ok(Simulated {
        run,
        rare: None,
        sim_time,
    })
}

/// Where a plain run's blocks of paths go.
enum Sink {
    /// Appended to the staged `results.h5`; the first write error stops the run.
    Stream {
        writer: Box<output::streamed::PathsWriter>,
        failed: Option<output::OutputError>,
    },
    /// Copied into columns held in memory.
    Hold(metrics::Collector),
}

/// Writes a shard's paths to the plan's shard file (written atomically; its folder is made
/// when missing).
///
/// # Errors
/// The plan is not a shard's, or its paths were not held ([`RunError::Input`]), or the file
/// cannot be written.
pub fn write_shard(plan: &RunPlan, market: &Market, run: &Paths) -> Result<(), RunError> {
    let Part::Shard(shard) = plan.part() else {
        return Err(RunError::Input("the plan is not a shard's".into()));
    };
    let Paths::Held(run) = run else {
        return Err(RunError::Input(
            "a shard's paths are held, not streamed".into(),
        ));
    };
    if let Some(dir) = plan.dest().parent() {
        std::fs::create_dir_all(dir).map_err(|source| output::OutputError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    output::write_shard(
        plan.dest(),
        &plan.provenance(market),
        shard,
        output::RunColumns {
            paths: &run.columns,
            assets: &run.asset_columns,
            populations: &run.population_columns,
        },
        &run.realised,
    )?;
    Ok(())
}

/// Writes a whole run's folder from its simulated paths ([`finish`] with the plan's
/// provenance and `[output]`).
///
/// # Errors
/// As [`finish`].
pub fn write_folder(
    plan: &RunPlan,
    market: &Market,
    simulated: Simulated,
    staging: Staging,
    env: &Env<'_>,
) -> Result<Finished, RunError> {
    finish(
        env,
        market,
        &plan.scenario().output,
        plan.provenance(market),
        simulated.run,
        staging,
        simulated.rare.as_ref(),
    )
}

/// A whole run, plan → folder: checks the plan's memory need against this process's limits
/// ([`super::memory::guard`]), stages the folder (failing early when it cannot be made),
/// builds the market, simulates every path and writes the folder. The same steps, in the
/// same order, as `cascadesim run` on one process, so the files are the same.
///
/// # Errors
/// [`RunError::Input`] for a plan that is not a whole run's, otherwise as [`simulate`] and
/// [`finish`].
pub fn execute(
    plan: &RunPlan,
    env: &Env<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Finished, RunError> {
    if plan.part() != Part::Whole {
        return Err(RunError::Input(
            "execute runs whole runs: a shard or an MPI rank writes no folder of its own".into(),
        ));
    }
    super::memory::guard(plan.memory_need())?;
    let staging = Staging::new(plan.dest())?;
    let market = market(plan, env.pool);
    let simulated = simulate(plan, &market, env, progress, Some(&staging))?;
    write_folder(plan, &market, simulated, staging, env)
}

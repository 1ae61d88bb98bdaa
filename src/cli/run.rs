//! `cascadesim run`: simulate a scenario and write its results folder (or, with `--shard`,
//! one shard file; with `--mpi`, this rank's part). The work is the library's
//! [`cascadesim::run`]; this file turns the options into a [`RunPlan`], shows progress,
//! prints the summary table and maps errors to exit codes.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use cascadesim::output::Staging;
use cascadesim::run::simulate;
use cascadesim::run::{Env, Part, Paths, RareChoice, RunError, RunPlan, RunRequest};
use cascadesim::shard::ShardSpec;

use super::common::{CANCEL, RunOptions, from_run, guard, load, progress_bar, thread_pool};
use super::mpi::Cluster;
use super::table;

/// `cascadesim run`'s options: those every simulating command shares, and shards.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    opts: RunOptions,
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

impl RunArgs {
    /// The raw request: these options and this process's place in an MPI job.
    fn request(&self, cluster: Option<&Cluster>) -> RunRequest {
        RunRequest {
            scenario_file: self.opts.scenario.clone(),
            out: self.opts.out.clone(),
            overrides: self.opts.overrides(),
            rare_event: match self.rare_event.as_deref() {
                Some("plain") => RareChoice::Plain,
                Some("is") => RareChoice::ImportanceSampling,
                Some(_) => RareChoice::Splitting,
                None => RareChoice::Scenario,
            },
            part: match (cluster, self.shard) {
                (Some(c), _) => Part::Rank(c.shard()),
                (None, Some(s)) => Part::Shard(s),
                (None, None) => Part::Whole,
            },
            threads: self.opts.threads,
        }
    }
}

pub(crate) fn run(args: &RunArgs) -> Result<i32> {
    let started = Instant::now();
    // First, so that only rank 0 of an MPI job reports a bad scenario.
    let cluster = if args.opts.mpi {
        Some(Cluster::init()?)
    } else {
        None
    };
    let scenario = load(&args.opts.scenario)?;
    // A [sweep] table is checked like the rest of the file, then left to `cascadesim sweep`.
    if let Some(n) = super::sweep::check_table(&args.opts.scenario)?
        && !args.opts.quiet
    {
        eprintln!(
            "note: the [sweep] table ({n} grid point{}) is not used by `run`, which runs the scenario as written; use `cascadesim sweep`",
            if n == 1 { "" } else { "s" }
        );
    }
    let plan =
        RunPlan::new(scenario, args.request(cluster.as_ref())).map_err(|e| from_run(e.into()))?;
    guard(plan.memory_need())?;
    let pool = thread_pool(plan.threads())?;
    let threads = pool.current_num_threads();
    super::common::honour_cancel();
    let env = Env {
        pool: &pool,
        cancel: &CANCEL,
    };

    // Fail on an unwritable output folder before spending time on the simulation.
    let staging = if plan.writes_folder() {
        Some(Staging::new(plan.dest())?)
    } else {
        None
    };

    let t_seed = Instant::now();
    let market = simulate::market(&plan, &pool);
    let seed_time = t_seed.elapsed();

    let (first, count) = plan.simulated();
    // No progress bar for a rare-event run: its pilot and stages are not one count of paths.
    let bar = progress_bar(
        count,
        "paths",
        args.opts.quiet || plan.rare_event().is_some(),
    );
    let simulated =
        match simulate::simulate(&plan, &market, &env, &|n| bar.inc(n), staging.as_ref()) {
            Ok(s) => s,
            Err(RunError::Cancelled) => {
                bar.abandon();
                eprintln!(
                    "interrupted: no results written ({} left as it was)",
                    plan.dest().display()
                );
                return Ok(super::common::interrupted_code());
            }
            Err(e) => return Err(from_run(e)),
        };
    bar.finish_and_clear();
    let timing = |sim: Duration| table::Timing {
        ranks: cluster.as_ref().map_or(1, Cluster::size),
        threads,
        seed_seconds: seed_time.as_secs_f64(),
        sim_seconds: sim.as_secs_f64(),
        total_seconds: started.elapsed().as_secs_f64(),
    };
    if let Part::Shard(shard) = plan.part() {
        simulate::write_shard(&plan, &market, &simulated.run).map_err(from_run)?;
        if !args.opts.quiet {
            let t = timing(simulated.sim_time);
            println!(
                "shard {shard}: paths {first}..{} of {} ({:.0} paths/s on {threads} thread{}, total {:.2}s)\nresults: {}",
                first + count,
                plan.paths(),
                count as f64 / t.sim_seconds.max(1e-9),
                if threads == 1 { "" } else { "s" },
                t.total_seconds,
                plan.dest().display()
            );
        }
        return Ok(0);
    }
    let mut simulated = simulated;
    if let Some(c) = &cluster {
        let Paths::Held(part) = simulated.run else {
            anyhow::bail!("an MPI rank holds its paths: only a whole run streams them");
        };
        match c.gather(part, staging.as_ref(), &pool, plan.paths())? {
            Some(whole) => simulated.run = whole,
            None => return Ok(0),
        }
    }
    let staging = staging.expect("the process that writes the folder staged it");
    let sim_time = simulated.sim_time;
    let done =
        simulate::write_folder(&plan, &market, simulated, staging, &env).map_err(from_run)?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(r) = done.summary.rare_event.as_ref().filter(|r| !r.reliable) {
        eprintln!(
            "warning: rare_event: the {} estimate is not reliable: {}. Its interval may not hold the probability; see rare_event.checks in summary.json and docs/rare_event.md",
            r.info.estimator,
            cascadesim::rare::reliability::failures(&r.checks)
        );
    }
    if !args.opts.quiet {
        print!(
            "{}",
            table::render(
                &done.summary,
                &done.tail_reports,
                &timing(sim_time),
                &done.dir
            )
        );
    }
    Ok(0)
}

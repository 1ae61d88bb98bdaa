//! `cascadesim merge`: join the shard files of one run (`run --shard K/N`) into the run's
//! folder, the same `results.h5`, `summary.json`, figures and `report.html` that a
//! single-machine run writes. Per-path columns are appended in path order to the staged
//! `results.h5`, one shard at a time; the statistics over all paths, traces and sample paths
//! are then computed from it exactly as `run` computes them from its streamed file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use cascadesim::output::Staging;
use cascadesim::run::merge::{Merged, open_shards};
use cascadesim::run::plan::stem;
use cascadesim::run::{Env, finish};

use super::common::{CANCEL, allow_external, from_run, thread_pool};
use super::table;

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Shard files written by `cascadesim run --shard K/N` (any order).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output folder; results go to <out>/<scenario file stem>/, as `run` writes them.
    #[arg(long, value_parser = super::common::out_folder, default_value = "results")]
    out: PathBuf,
    /// Worker threads for the replays and fits (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No summary table.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn merge(args: &MergeArgs) -> Result<i32> {
    let started = Instant::now();
    let shards = open_shards(&args.shards, allow_external()).map_err(from_run)?;
    let stem = stem(std::path::Path::new(&shards.provenance.scenario_file));
    let pool = thread_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let staging = Staging::new(&args.out.join(&stem))?;
    super::common::honour_cancel();
    let env = Env {
        pool: &pool,
        cancel: &CANCEL,
    };
    let Merged {
        provenance,
        scenario,
        market,
        run,
    } = shards.join(&staging, &env).map_err(from_run)?;
    let done = finish(
        &env,
        &market,
        &scenario.output,
        provenance,
        run,
        staging,
        None,
    )
    .map_err(from_run)?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    if !args.quiet {
        print!(
            "{}",
            table::render_summary(&done.summary, &done.tail_reports)
        );
        println!(
            "merged {} shard{} on {threads} thread{} in {:.2}s (no simulation)\nresults: {}",
            args.shards.len(),
            if args.shards.len() == 1 { "" } else { "s" },
            if threads == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64(),
            done.dir.display()
        );
    }
    Ok(0)
}

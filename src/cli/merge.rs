//! `cascadesim merge`: join the shard files of one run (`run --shard K/N`) into the run's
//! folder, the same `results.h5`, `summary.json`, figures and `report.html` that a
//! single-machine run writes. Per-path columns are joined in path order; the statistics over
//! all paths, traces and sample paths are recomputed afterwards exactly as `run` does.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::engine::Market;
use cascadesim::engine::realised::{RealisedGrid, RealisedHeatmap};
use cascadesim::metrics::{AssetColumns, Column, PopulationColumns};
use cascadesim::output::h5;
use cascadesim::output::{SHARD_CONTENT, Staging, read};
use cascadesim::shard::{ShardSpec, check_coverage};
use cascadesim::summary::Provenance;

use super::report::{read_columns, read_provenance, rebuild_scenario};
use super::run::{Run, finish, population_ids};
use super::{InputError, table, thread_pool};

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Shard files written by `cascadesim run --shard K/N` (any order).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output folder; results go to <out>/<scenario file stem>/, as `run` writes them.
    #[arg(long, value_parser = crate::cli::out_folder, default_value = "results")]
    out: PathBuf,
    /// Worker threads for the replays and fits (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No summary table.
    #[arg(long, short)]
    quiet: bool,
}

/// One shard file, read.
struct Shard {
    name: String,
    provenance: Provenance,
    spec: ShardSpec,
    paths: u64,
}

fn read_shard(f: &std::path::Path) -> Result<Shard> {
    let name = f.display().to_string();
    if !f.is_file() {
        bail!(InputError(format!("no such shard file: {name}")));
    }
    match h5::read_attr_str(f, "/", "content") {
        Ok(c) if c == SHARD_CONTENT => {}
        _ => bail!(InputError(format!(
            "{name} is not a shard file (write shards with `cascadesim run SCENARIO --shard K/N`)"
        ))),
    }
    let (index, count, paths) = read::read_shard_place(f).map_err(InputError::from)?;
    Ok(Shard {
        provenance: read_provenance(f)?,
        paths,
        spec: ShardSpec { index, count },
        name,
    })
}

/// The first field in which two shards' runs differ, if any.
fn differs(a: &Provenance, b: &Provenance) -> Option<&'static str> {
    let checks: [(&str, bool); 11] = [
        (
            "cascadesim version",
            a.cascadesim_version == b.cascadesim_version,
        ),
        ("scenario text", a.scenario == b.scenario),
        ("seed", a.seed == b.seed),
        ("path count", a.paths == b.paths),
        ("steps", a.steps == b.steps),
        (
            "step length",
            a.step_seconds.to_bits() == b.step_seconds.to_bits(),
        ),
        ("assets", a.assets == b.assets),
        ("population mode", a.population_mode == b.population_mode),
        ("position count", a.positions == b.positions),
        (
            "population replicates",
            a.population_replicates == b.population_replicates,
        ),
        (
            "cascade definition",
            a.cascade_definition == b.cascade_definition,
        ),
    ];
    checks
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(what, _)| what)
}

/// Appends one shard's columns to the run's (or starts them).
fn join(into: &mut Vec<Column>, part: Vec<Column>) {
    if into.is_empty() {
        *into = part;
    } else {
        for (a, b) in into.iter_mut().zip(part) {
            a.values.append(b.values);
        }
    }
}

pub(crate) fn merge(args: &MergeArgs) -> Result<i32> {
    let started = Instant::now();
    let shards: Vec<Shard> = args
        .shards
        .iter()
        .map(|f| read_shard(f))
        .collect::<Result<_>>()?;
    let first = &shards[0];
    for s in &shards[1..] {
        if let Some(what) = differs(&first.provenance, &s.provenance) {
            bail!(InputError(format!(
                "{} and {} are shards of different runs: their {what} differs",
                first.name, s.name
            )));
        }
    }
    let total = first.provenance.paths;
    let ranges: Vec<(String, u64, u64)> = shards
        .iter()
        .map(|s| (s.name.clone(), s.provenance.first_path, s.paths))
        .collect();
    let order = check_coverage(total, &ranges).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        InputError(lines.join("\n"))
    })?;
    // A shard's own claim (K of N) must match the paths it holds.
    for s in &shards {
        if s.spec.range(total) != (s.provenance.first_path, s.paths) {
            bail!(InputError(format!(
                "{} says it is shard {} of a {total}-path run but holds paths {}..{}",
                s.name,
                s.spec,
                s.provenance.first_path,
                s.provenance.first_path + s.paths
            )));
        }
    }

    let mut provenance = shards[order[0]].provenance.clone();
    provenance.first_path = 0;
    super::run::memory_guard(provenance.paths, provenance.assets.len())?;
    let scenario = rebuild_scenario(&provenance).map_err(|e| {
        InputError(format!(
            "cannot rebuild the market to replay traces and sample paths: {e}"
        ))
    })?;
    let market = Market::new(&scenario);
    let grid = RealisedGrid::standard(provenance.steps);
    let mut realised = RealisedHeatmap::new(&market, grid);
    let mut columns: Vec<Column> = Vec::new();
    let mut asset_columns: Vec<AssetColumns> = Vec::new();
    let mut population_columns: Vec<PopulationColumns> = Vec::new();
    let ids = population_ids(&scenario);
    let per = realised.grid.time_buckets * realised.grid.price_bins;
    for &i in &order {
        let s = &shards[i];
        let f = &args.shards[i];
        join(&mut columns, read_columns(f, s.paths)?);
        let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
        let assets = read::read_asset_columns(f, &provenance.assets, &venues, s.paths)
            .map_err(InputError::from)?;
        if asset_columns.is_empty() {
            asset_columns = assets;
        } else {
            for (a, b) in asset_columns.iter_mut().zip(assets) {
                join(&mut a.columns, b.columns);
            }
        }
        let pops = read::read_population_columns(f, &ids, s.paths).map_err(InputError::from)?;
        if i == order[0] {
            population_columns = pops;
        } else if pops.len() != population_columns.len() {
            // Every shard of a run comes from the same binary; one without the figures
            // drops them from the merged run rather than mixing.
            population_columns.clear();
        } else {
            for (a, b) in population_columns.iter_mut().zip(pops) {
                join(&mut a.columns, b.columns);
            }
        }
        let cents = read::read_shard_cents(f, &provenance.assets, per).map_err(InputError::from)?;
        for (k, cents) in cents.iter().enumerate() {
            for (x, &c) in realised.cents[k * per..(k + 1) * per].iter_mut().zip(cents) {
                *x = x.saturating_add(c);
            }
        }
    }

    let stem = std::path::Path::new(&provenance.scenario_file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let pool = thread_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let staging = Staging::new(&args.out.join(&stem))?;
    let done = finish(
        &pool,
        &market,
        &scenario.output,
        provenance,
        Run {
            columns,
            asset_columns,
            population_columns,
            realised,
        },
        staging,
        None,
    )?;
    if !args.quiet {
        print!(
            "{}",
            table::render_summary(&done.summary, &done.tail_reports)
        );
        println!(
            "merged {} shard{} on {threads} thread{} in {:.2}s (no simulation)\nresults: {}",
            shards.len(),
            if shards.len() == 1 { "" } else { "s" },
            if threads == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64(),
            done.dir.display()
        );
    }
    Ok(0)
}

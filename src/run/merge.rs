//! Shard files of one run (`run --shard K/N`) → the per-path results of the whole run, ready
//! for [`super::finish()`]: every shard checked (a shard file, of the same run, its claim
//! `K/N` matching the paths it holds), the set checked to cover the run exactly once, the
//! columns joined in path order and the realised heatmaps' cents summed.

use std::path::{Path, PathBuf};

use crate::engine::Market;
use crate::engine::realised::{RealisedGrid, RealisedHeatmap};
use crate::metrics::{AssetColumns, Column, PopulationColumns};
use crate::model::spec::Scenario;
use crate::output::{SHARD_CONTENT, h5, read};
use crate::shard::{ShardSpec, check_coverage};
use crate::summary::Provenance;

use super::RunError;
use super::finish::Run;
use super::memory::{self, Need};
use super::plan::population_ids;
use super::rebuild::rebuild_scenario;

/// One shard file, read.
struct Shard {
    name: String,
    provenance: Provenance,
    spec: ShardSpec,
    paths: u64,
}

fn read_shard(f: &Path) -> Result<Shard, RunError> {
    let name = f.display().to_string();
    if let Some(u) = read::not_a_file(f, "shard file") {
        return Err(u.into());
    }
    // A file cut short or not HDF5 at all is said so.
    if let Err(e) = h5::check_container(f) {
        let why = match e {
            h5::H5Error::NotHdf5 { reason, .. } => reason,
            e => e.to_string(),
        };
        return Err(RunError::Input(format!(
            "{name} is not a shard file: it {why}"
        )));
    }
    match h5::read_attr_str(f, "/", "content") {
        Ok(c) if c == SHARD_CONTENT => {}
        _ => {
            return Err(RunError::Input(format!(
                "{name} is not a shard file (write shards with `cascadesim run SCENARIO --shard K/N`)"
            )));
        }
    }
    let (index, count, paths) = read::read_shard_place(f)?;
    Ok(Shard {
        provenance: read::read_provenance(f)?,
        paths,
        spec: ShardSpec { index, count },
        name,
    })
}

/// The problems found in a set of shards, every shard's, for one message: bad input, or a
/// failure when some file could not be read at all (permission denied, a read error).
#[derive(Default)]
struct Problems {
    lines: Vec<String>,
    unreadable: bool,
}

impl Problems {
    fn input(&mut self, line: String) {
        self.lines.push(line);
    }

    fn push(&mut self, e: RunError) {
        self.unreadable |= matches!(e, RunError::Read(_));
        self.lines.push(e.to_string());
    }

    /// Every problem so far as one error: [`RunError::Read`] (exit 1) when a file could not
    /// be read, else [`RunError::Input`] (exit 2).
    fn finish(&mut self) -> Result<(), RunError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.lines).join("\n");
        Err(if self.unreadable {
            RunError::Read(text)
        } else {
            RunError::Input(text)
        })
    }
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

/// The whole run, joined from its shards.
pub struct Merged {
    /// The run's provenance (`first_path` 0).
    pub provenance: Provenance,
    /// The run's scenario, rebuilt from the text the shards store.
    pub scenario: Scenario,
    pub market: Market,
    pub run: Run,
}

/// Reads, checks and joins the shard files `files` (any order). Refuses a run whose
/// per-path results would not fit in memory before reading any columns.
///
/// # Errors
/// [`RunError::Input`] for a file that is not a shard, shards of different runs, a set that
/// does not cover the run exactly once, a shard whose `path` ids are not the paths its
/// header claims, or a scenario that cannot be rebuilt, every shard's problems at once;
/// [`RunError::Read`] when, among them, a shard could not be read at all;
/// [`RunError::Memory`] for a run too large for this process.
pub fn merge_shards(files: &[PathBuf], allow_external: bool) -> Result<Merged, RunError> {
    // Every bad shard is named, not only the first.
    let mut shards: Vec<Shard> = Vec::new();
    let mut problems = Problems::default();
    for f in files {
        match read_shard(f) {
            Ok(s) => shards.push(s),
            Err(e) => problems.push(e),
        }
    }
    problems.finish()?;
    let Some((first, rest)) = shards.split_first() else {
        return Err(RunError::Input("no shard files to merge".into()));
    };
    for s in rest {
        if let Some(what) = differs(&first.provenance, &s.provenance) {
            problems.input(format!(
                "{} and {} are shards of different runs: their {what} differs",
                first.name, s.name
            ));
        }
    }
    problems.finish()?;
    let total = first.provenance.paths;
    let ranges: Vec<(String, u64, u64)> = shards
        .iter()
        .map(|s| (s.name.clone(), s.provenance.first_path, s.paths))
        .collect();
    let order = match check_coverage(total, &ranges) {
        Ok(order) => order,
        Err(gaps) => {
            gaps.iter().for_each(|g| problems.input(g.to_string()));
            Vec::new()
        }
    };
    // A shard's own claim (K of N) must match the paths it holds.
    for s in &shards {
        let first = s.provenance.first_path;
        if s.spec.range(total) != (first, s.paths) {
            problems.input(format!(
                "{} says it is shard {} of a {total}-path run but holds paths {first}..{}",
                s.name,
                s.spec,
                first.saturating_add(s.paths)
            ));
        }
    }
    problems.finish()?;

    let mut provenance = shards[order[0]].provenance.clone();
    provenance.first_path = 0;
    memory::guard(Need::results(
        provenance.paths,
        provenance.assets.len(),
        memory::has_cross_margin(&provenance.scenario),
    ))?;
    let scenario = rebuild_scenario(&provenance, allow_external, "merge").map_err(|e| {
        RunError::Input(format!(
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
    let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
    let per = realised.grid.time_buckets * realised.grid.price_bins;
    for &i in &order {
        let s = &shards[i];
        let f = &files[i];
        let mut all = read::Gather::new(f);
        // Its rows must be the paths its header claims (their `path` ids).
        all.take(read::check_path_ids(
            f,
            &provenance.assets,
            s.provenance.first_path,
            s.paths,
        ));
        let path_columns = all.take(read::read_path_columns(f, s.paths));
        let assets = all.take(read::read_asset_columns(
            f,
            &provenance.assets,
            &venues,
            scenario.cross_margin.is_some(),
            s.paths,
        ));
        let pops = all.take(read::read_population_columns(f, &ids, s.paths));
        let cents = all.take(read::read_shard_cents(f, &provenance.assets, per));
        if let Err(e) = all.finish() {
            // Every shard's problems are named before giving up.
            problems.push(e.into());
        }
        let (Some(path_columns), Some(assets), Some(pops), Some(cents)) =
            (path_columns, assets, pops, cents)
        else {
            continue;
        };
        join(&mut columns, path_columns);
        if asset_columns.is_empty() {
            asset_columns = assets;
        } else {
            for (a, b) in asset_columns.iter_mut().zip(assets) {
                join(&mut a.columns, b.columns);
                // Row-major paths × assets: shards in path order join by appending rows.
                if let (Some(x), Some(y)) = (&mut a.by_trigger, b.by_trigger) {
                    x.extend(y);
                }
            }
        }
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
        for (k, cents) in cents.iter().enumerate() {
            for (x, &c) in realised.cents[k * per..(k + 1) * per].iter_mut().zip(cents) {
                *x = x.saturating_add(c);
            }
        }
    }
    problems.finish()?;
    Ok(Merged {
        provenance,
        scenario,
        market,
        run: Run {
            columns,
            asset_columns,
            population_columns,
            realised,
            block: crate::mc::BLOCK,
        },
    })
}

//! Shard files of one run (`run --shard K/N`) → the per-path results of the whole run, ready
//! for [`super::finish()`]: every shard checked (a shard file, of the same run, its claim
//! `K/N` matching the paths it holds), the set checked to cover the run exactly once
//! ([`open_shards`]); then the columns appended in path order, one shard at a time, to the
//! staged `results.h5` in the blocks a single run streams, and read back from it as a run
//! reads its own, and the realised heatmaps' cents summed ([`Shards::join`]).

use std::path::{Path, PathBuf};

use crate::engine::Market;
use crate::engine::realised::{RealisedGrid, RealisedHeatmap};
use crate::model::spec::Scenario;
use crate::output::streamed::PathsWriter;
use crate::output::{self, SHARD_CONTENT, Staging, h5, read};
use crate::shard::{ShardSpec, check_coverage};
use crate::summary::Provenance;

use super::finish::Paths;
use super::memory::{self, Need};
use super::plan::population_ids;
use super::rebuild::rebuild_scenario;
use super::{Env, RunError};

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

/// Shard files of one run whose headers were checked: of one run, covering it exactly
/// once, each one's claim `K/N` matching the paths its header says it holds; with the
/// run's scenario and market rebuilt. [`Shards::join`] reads and checks their columns.
pub struct Shards {
    files: Vec<PathBuf>,
    shards: Vec<Shard>,
    /// The shards in path order (indices into `files` and `shards`).
    order: Vec<usize>,
    /// The run's provenance (`first_path` 0).
    pub provenance: Provenance,
    /// The run's scenario, rebuilt from the text the shards store.
    pub scenario: Scenario,
    pub market: Market,
}

/// The whole run, joined from its shards.
pub struct Merged {
    /// The run's provenance (`first_path` 0).
    pub provenance: Provenance,
    /// The run's scenario, rebuilt from the text the shards store.
    pub scenario: Scenario,
    pub market: Market,
    /// Streamed into the staged `results.h5`.
    pub run: Paths,
}

/// Reads and checks the headers of the shard files `files` (any order) and rebuilds the
/// run's scenario. Refuses, before any column is read, a run that this process cannot
/// merge: [`Shards::join`] holds one shard's per-path results at a time and reads the
/// whole run back as a run reads its streamed file.
///
/// # Errors
/// [`RunError::Input`] for a file that is not a shard, shards of different runs, a set that
/// does not cover the run exactly once, a shard whose header claims other paths than its
/// place `K/N` gives, or a scenario that cannot be rebuilt, every shard's problems at once;
/// [`RunError::Read`] when, among them, a shard could not be read at all;
/// [`RunError::Memory`] for a run too large for this process.
pub fn open_shards(files: &[PathBuf], allow_external: bool) -> Result<Shards, RunError> {
    // Every bad shard is named, not only the first. A file given twice is said so once
    // (it read as two shards holding the same paths) and taken once, so that the coverage
    // below still names the paths missing.
    let mut shards: Vec<Shard> = Vec::new();
    let mut taken: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut twice: Vec<String> = Vec::new();
    let mut problems = Problems::default();
    for f in files {
        let same = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if seen.contains(&same) {
            twice.push(format!("{} is given twice", f.display()));
            continue;
        }
        seen.push(same);
        match read_shard(f) {
            Ok(s) => {
                shards.push(s);
                taken.push(f.clone());
            }
            Err(e) => problems.push(e),
        }
    }
    // Said with the first stage that finds a problem, or with the coverage at the latest.
    let with_twice = |problems: &mut Problems| {
        if !problems.lines.is_empty() {
            problems.lines.extend(twice.iter().cloned());
        }
    };
    with_twice(&mut problems);
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
    with_twice(&mut problems);
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
    problems.lines.extend(twice);
    problems.finish()?;

    let mut provenance = shards[order[0]].provenance.clone();
    provenance.first_path = 0;
    // One shard's columns held while they are appended, and the whole run read back.
    let largest = shards.iter().map(|s| s.paths).max().unwrap_or(0);
    memory::guard(Need {
        paths: largest,
        streamed: provenance.paths,
        ..Need::results(
            0,
            provenance.assets.len(),
            memory::has_cross_margin(&provenance.scenario),
        )
    })?;
    let scenario = rebuild_scenario(&provenance, allow_external, "merge").map_err(|e| {
        RunError::Input(format!(
            "cannot rebuild the market to replay traces and sample paths: {e}"
        ))
    })?;
    let market = Market::new(&scenario);
    Ok(Shards {
        files: taken,
        shards,
        order,
        provenance,
        scenario,
        market,
    })
}

impl Shards {
    /// Reads every shard's columns in path order, checks them (their `path` ids the paths
    /// the header claims, every column as `report` checks a results file) and appends them
    /// to `staging`'s `results.h5` in the blocks a single run streams, so that the merged
    /// file is the single run's, byte for byte; the realised heatmaps' cents are summed. One
    /// shard's columns are held at a time. After a shard with problems, the others are still
    /// read and checked, so that one message names every shard's problems, but nothing more
    /// is written (the staged file is removed with `staging`).
    ///
    /// # Errors
    /// [`RunError::Input`] for a shard's bad columns, every shard's at once;
    /// [`RunError::Output`] when the staged file cannot be written.
    pub fn join(self, staging: &Staging, env: &Env<'_>) -> Result<Merged, RunError> {
        let Shards {
            files,
            shards,
            order,
            provenance,
            scenario,
            market,
        } = self;
        let total = provenance.paths;
        let grid = RealisedGrid::standard(provenance.steps);
        let mut realised = RealisedHeatmap::new(&market, grid);
        let ids = population_ids(&scenario);
        let venues: Vec<bool> = scenario.assets.iter().map(|a| a.venues.is_some()).collect();
        let per = realised.grid.time_buckets * realised.grid.price_bins;
        // Every shard of a run comes from the same binary; should one lack the per-population
        // columns, the merged run has none rather than a mix.
        let populations = order
            .iter()
            .all(|&i| !read::first_population_datasets(&files[i]).is_empty());
        let mut problems = Problems::default();
        // Created with the first shard's columns as its template (a run has at least one
        // path: the scenario and `--paths` say so).
        let mut writer: Option<PathsWriter> = None;
        for &i in &order {
            super::finish::check(env.cancel)?;
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
            let read = || {
                let paths = read::read_path_columns(f, s.paths);
                let assets = read::read_asset_columns(
                    f,
                    &provenance.assets,
                    &venues,
                    scenario.cross_margin.is_some(),
                    s.paths,
                );
                let pops = read::read_population_columns(f, &ids, s.paths);
                (paths, assets, pops)
            };
            let (paths, assets, pops) = env.pool.install(read);
            let paths = all.take(paths);
            let assets = all.take(assets);
            let pops = all.take(pops);
            let cents = all.take(read::read_shard_cents(f, &provenance.assets, per));
            if let Err(e) = all.finish() {
                // Every shard's problems are named before giving up.
                problems.push(e.into());
            }
            let (Some(paths), Some(assets), Some(pops), Some(cents)) = (paths, assets, pops, cents)
            else {
                continue;
            };
            if !problems.lines.is_empty() {
                continue;
            }
            let pops = if populations { pops } else { Vec::new() };
            let part = output::RunColumns {
                paths: &paths,
                assets: &assets,
                populations: &pops,
            };
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(PathsWriter::create(
                    staging,
                    0,
                    total,
                    crate::mc::BLOCK,
                    part,
                )?),
            };
            // Shards of one binary and scenario have the same datasets; a crafted one that
            // lacks some or has others is refused, not joined by position.
            if let Some(group) = w.unlike(part) {
                problems.input(format!(
                    "{}: group {group} holds other per-path datasets than the shards before it",
                    s.name
                ));
                continue;
            }
            env.pool.install(|| w.push(part))?;
            for (k, cents) in cents.iter().enumerate() {
                for (x, &c) in realised.cents[k * per..(k + 1) * per].iter_mut().zip(cents) {
                    *x = x.saturating_add(c);
                }
            }
        }
        problems.finish()?;
        let Some(writer) = writer else {
            return Err(RunError::Input("no shard files to merge".into()));
        };
        let run = Paths::Streamed {
            columns: Box::new(writer.into_source()?),
            realised,
        };
        Ok(Merged {
            provenance,
            scenario,
            market,
            run,
        })
    }
}

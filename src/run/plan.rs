//! The plan of one run: a validated scenario plus what the caller asked for on top of it
//! (paths, seed, replicates, which part of the run this process simulates, the rare-event
//! choice, threads, the output folder), checked once and immutable afterwards.
//!
//! The caller's requests are [`Overrides`] and a [`RunRequest`] (raw, like ripgrep's
//! `LowArgs`); [`RunPlan::new`] checks them against the scenario and holds the effective
//! values (like `HiArgs`). [`Overrides::apply`] is the one place that gives a validated
//! [`Scenario`] other paths, seed or replicates, with the same limits the scenario's own
//! keys have: a scenario is never edited after validation anywhere else.

use std::path::{Path, PathBuf};

use crate::engine::Market;
use crate::metrics::PopulationId;
use crate::model::spec::{PopulationMode, RareEventSpec, RareMethod, Scenario};
use crate::scenario::MAX_REPLICATES;
use crate::shard::ShardSpec;
use crate::summary::Provenance;

use super::memory::Need;

/// A request that does not fit the scenario: bad input (the binary's exit status 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "--paths must be at least 1 (nothing was run; any previous results are left as they were)"
    )]
    ZeroPaths,
    #[error("--replicates must be between 1 and {MAX_REPLICATES}, found {0}")]
    ReplicatesOutOfRange(u32),
    #[error(
        "--replicates has no effect with population = \"per_path\" (every path draws its own population)"
    )]
    ReplicatesPerPath,
    #[error(
        "--rare-event split needs the drawdown levels at which paths are cloned: add `[rare_event]` with `levels = [0.02, 0.04, 0.06]` (and `clones`) to the scenario"
    )]
    SplitWithoutLevels,
    #[error(
        "rare_event: a rare-event run cannot be sharded or spread over MPI ranks (its tilt and splitting tree are chosen over the whole run); remove --shard/--mpi or [rare_event]"
    )]
    RareEventSplitUp,
    /// The run's folder (or shard file) has a name the filesystem does not take.
    #[error(transparent)]
    NameTooLong(#[from] crate::output::NameTooLong),
}

/// Values that replace the scenario's `[simulation]` ones (`None`: the file's value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `simulation.paths`; at least 1.
    pub paths: Option<u64>,
    /// `simulation.seed`.
    pub seed: Option<u64>,
    /// `simulation.population_replicates`; 1 to [`MAX_REPLICATES`], fixed mode only.
    pub replicates: Option<u32>,
}

impl Overrides {
    /// The values a saved run recorded (its seed, paths and replicates), to rebuild its
    /// market from the scenario text it stored. A zero-path run's scenario already says
    /// `paths = 0` (`--paths 0` is refused), so that count is left to the scenario.
    pub fn recorded(p: &Provenance) -> Overrides {
        Overrides {
            paths: Some(p.paths).filter(|&n| n > 0),
            seed: Some(p.seed),
            replicates: p.population_replicates.map(|r| r as u32),
        }
    }

    /// `scenario` with these values in place, each checked like the key it replaces.
    ///
    /// # Errors
    /// [`PlanError`] for paths 0, replicates out of range or with a per-path population.
    pub fn apply(&self, scenario: Scenario) -> Result<Scenario, PlanError> {
        let mut s = scenario;
        if let Some(p) = self.paths {
            if p == 0 {
                return Err(PlanError::ZeroPaths);
            }
            s.simulation.paths = p;
        }
        if let Some(seed) = self.seed {
            s.simulation.seed = seed;
        }
        if let Some(r) = self.replicates {
            if !(1..=MAX_REPLICATES).contains(&u64::from(r)) {
                return Err(PlanError::ReplicatesOutOfRange(r));
            }
            if s.simulation.population_mode == PopulationMode::PerPath {
                return Err(PlanError::ReplicatesPerPath);
            }
            s.simulation.population_replicates = r;
        }
        Ok(s)
    }
}

/// The rare-event estimator asked for (`--rare-event`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RareChoice {
    /// The scenario's `[rare_event]` table, if any.
    #[default]
    Scenario,
    /// Plain Monte Carlo, whatever the scenario says.
    Plain,
    /// Importance sampling, with the scenario's settings or the defaults.
    ImportanceSampling,
    /// Multilevel splitting (needs the scenario's levels).
    Splitting,
}

/// Which paths of the run this process simulates and what it does with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Part {
    /// All paths; this process writes the run's folder.
    #[default]
    Whole,
    /// Shard `K/N` (`run --shard`): one shard file, for `merge`.
    Shard(ShardSpec),
    /// Rank `r` of an `R`-rank MPI job (shard `r/R`); rank 0 gathers the others' paths and
    /// writes the folder.
    Rank(ShardSpec),
}

/// What the caller asks for: the raw input of [`RunPlan::new`].
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The scenario file (recorded in the results; its stem names the output).
    pub scenario_file: PathBuf,
    /// The folder the results folder (or the shards' folder) goes in.
    pub out: PathBuf,
    pub overrides: Overrides,
    pub rare_event: RareChoice,
    pub part: Part,
    /// Worker threads (`None`: one per core). Results do not depend on it.
    pub threads: Option<usize>,
}

/// One run, checked and fixed: the effective scenario and everything that decides what is
/// simulated and where it goes. Nothing changes it after [`RunPlan::new`].
#[derive(Debug, Clone)]
pub struct RunPlan {
    scenario: Scenario,
    scenario_file: PathBuf,
    dest: PathBuf,
    part: Part,
    rare: Option<RareEventSpec>,
    threads: Option<usize>,
}

/// The stem a command's output is named after (`scenario` when the path has none).
pub fn stem(scenario_file: &Path) -> String {
    scenario_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into())
}

impl RunPlan {
    /// Checks `request` against the validated `scenario`: the overrides first, then the
    /// rare-event choice (the order of the binary's messages).
    ///
    /// # Errors
    /// [`PlanError`] for an override out of range, splitting without levels, or a
    /// rare-event run that is sharded or spread over ranks.
    pub fn new(scenario: Scenario, request: RunRequest) -> Result<RunPlan, PlanError> {
        let scenario = request.overrides.apply(scenario)?;
        let rare = rare_spec(&scenario, request.rare_event, request.part)?;
        let stem = stem(&request.scenario_file);
        // A shard is one file in a folder shared by the run's shards; a whole run is a folder.
        let dest = match request.part {
            Part::Shard(s) => request
                .out
                .join(format!("{stem}-shards"))
                .join(format!("shard-{}-of-{}.h5", s.index, s.count)),
            Part::Whole | Part::Rank(_) => request.out.join(&stem),
        };
        // Before anything runs: the run's folder (for a shard, the folder its merge makes)
        // and the shard file must have names the filesystem takes.
        crate::output::check_name_lengths(&request.out.join(&stem), true)?;
        if let Part::Shard(_) = request.part {
            crate::output::check_name_lengths(&dest, false)?;
        }
        Ok(RunPlan {
            scenario,
            scenario_file: request.scenario_file,
            dest,
            part: request.part,
            rare,
            threads: request.threads,
        })
    }

    /// The scenario with the overrides in place.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn scenario_file(&self) -> &Path {
        &self.scenario_file
    }

    /// Where the results go: the run's folder, or the shard file.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    pub fn part(&self) -> Part {
        self.part
    }

    /// The rare-event estimator of the run (`None`: plain Monte Carlo).
    pub fn rare_event(&self) -> Option<&RareEventSpec> {
        self.rare.as_ref()
    }

    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// Paths of the whole run.
    pub fn paths(&self) -> u64 {
        self.scenario.simulation.paths
    }

    /// The paths this process simulates: `(first, count)`.
    pub fn simulated(&self) -> (u64, u64) {
        match self.part {
            Part::Whole => (0, self.paths()),
            Part::Shard(s) | Part::Rank(s) => s.range(self.paths()),
        }
    }

    /// Whether this process writes the run's folder (a whole run, or rank 0 of a job).
    pub fn writes_folder(&self) -> bool {
        match self.part {
            Part::Whole => true,
            Part::Shard(_) => false,
            Part::Rank(s) => s.index == 0,
        }
    }

    /// What this process will hold at once: the results of the paths it keeps (a shard or
    /// an MPI rank its own; rank 0 of a job also one other rank's part at a time while it
    /// appends them to the run's `results.h5`, then reads the whole run back as a whole plain
    /// run does, which streams its paths, holding one block and a few columns), the traces and
    /// sample paths, and the positions drawn.
    pub fn memory_need(&self) -> Need {
        let s = &self.scenario;
        let paths = self.paths();
        let own = self.simulated().1;
        let (held, streamed) = match self.part {
            Part::Shard(_) => (own, 0),
            Part::Whole if self.rare.is_none() => (0, paths),
            Part::Whole => (paths, 0),
            // Parts differ by at most one path.
            Part::Rank(k) if k.index == 0 => {
                let other = if k.count > 1 {
                    own.saturating_add(1)
                } else {
                    0
                };
                (own.saturating_add(other), paths)
            }
            Part::Rank(_) => (own, 0),
        };
        let out = &s.output;
        Need {
            paths: held,
            streamed,
            extra: 0,
            assets: s.assets.len(),
            steps: u64::from(s.simulation.steps),
            // Traces, plus the worst, median and random sample paths of the figures.
            traced: u64::from(out.trace_worst) + out.trace_paths.len() as u64 + 3,
            // Fixed mode: the population replicates this process's paths use (each a whole
            // population); per-path mode: one per worker and path.
            positions: s
                .position_count()
                .saturating_mul(match s.simulation.population_mode {
                    PopulationMode::Fixed => u64::from(s.replicates().unwrap_or(1)).min(own.max(1)),
                    PopulationMode::PerPath => {
                        std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
                    }
                }),
            cross_margin: s.cross_margin.is_some(),
        }
    }

    /// What produced the run, as recorded in its files. `first_path` is the first path id of
    /// the file: a shard's own, 0 for a whole run (also a gathered MPI run).
    pub fn provenance(&self, market: &Market) -> Provenance {
        let s = &self.scenario;
        Provenance {
            cascadesim_version: env!("CARGO_PKG_VERSION").into(),
            scenario_file: self.scenario_file.display().to_string(),
            scenario_name: s.name.clone(),
            seed: s.simulation.seed,
            paths: s.simulation.paths,
            first_path: match self.part {
                Part::Shard(_) => self.simulated().0,
                Part::Whole | Part::Rank(_) => 0,
            },
            steps: s.simulation.steps,
            step_seconds: s.simulation.step_seconds,
            assets: s.assets.iter().map(|a| a.name.clone()).collect(),
            population_mode: match s.simulation.population_mode {
                PopulationMode::Fixed => "fixed".into(),
                PopulationMode::PerPath => "per_path".into(),
            },
            positions: market.fixed_position_count().map(|n| n as u64),
            population_replicates: s.replicates().map(u64::from),
            cascade_definition: (&s.simulation.cascade).into(),
            scenario: s.text.clone(),
        }
    }
}

/// The rare-event settings of a run: the scenario's `[rare_event]` table, its method
/// replaced by the choice when one is made.
fn rare_spec(
    scenario: &Scenario,
    choice: RareChoice,
    part: Part,
) -> Result<Option<RareEventSpec>, PlanError> {
    let method = match choice {
        RareChoice::Plain => return Ok(None),
        RareChoice::ImportanceSampling => Some(RareMethod::ImportanceSampling),
        RareChoice::Splitting => Some(RareMethod::Splitting),
        RareChoice::Scenario => None,
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
            return Err(PlanError::SplitWithoutLevels);
        }
        if part != Part::Whole {
            return Err(PlanError::RareEventSplitUp);
        }
    }
    Ok(spec)
}

/// Who each population is (name, asset, venue), in scenario order.
pub fn population_ids(scenario: &Scenario) -> Vec<PopulationId> {
    scenario
        .populations
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let asset = &scenario.assets[p.asset];
            PopulationId {
                // An unnamed population goes by its key path.
                name: scenario.population_name(k),
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

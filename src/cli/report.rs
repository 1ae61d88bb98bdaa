//! `cascadesim report`: rebuild `summary.json`, the terminal summary, the figures and
//! `report.html` from a saved `results.h5`, without re-simulating. Also the figure, trace and
//! report steps that `run` shares.
//!
//! Byte identity of `summary.json`: the provenance is read back from the root attributes
//! (every field has one), the per-path columns from `/paths` (converted back to their stored
//! kinds), and the summary is recomputed with the same functions the run used
//! ([`summary::analyze_tails`] with [`summary::tail_options`] of the stored seed, then
//! [`Summary::build`]) and serialised the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use rayon::prelude::*;

use cascadesim::engine::Market;
use cascadesim::engine::trace::{self, TraceSet};
use cascadesim::metrics::Column;
use cascadesim::output::figures::{FigureFile, FigureInput, SamplePath};
use cascadesim::output::h5;
use cascadesim::output::html::{self, PageExtras};
use cascadesim::output::read;
use cascadesim::scenario::{FileSource, NoFiles, OutputSpec, Scenario};
use cascadesim::summary::{self, Provenance, Summary};

use super::run::population_ids;
use super::{FsFiles, InputError, not_a_shard, table};

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// A results.h5 written by `cascadesim run`.
    results: PathBuf,
    /// Folder for summary.json, plots/ and report.html (default: the folder of results.h5).
    #[arg(long, value_parser = crate::cli::out_folder)]
    out: Option<PathBuf>,
    /// No summary table.
    #[arg(long, short)]
    quiet: bool,
}

/// The metric that ranks the sample paths of the plots.
pub(crate) const SAMPLE_METRIC: &str = "max_drawdown";

fn column<'c>(columns: &'c [Column], name: &str) -> Option<&'c Column> {
    columns.iter().find(|c| c.name == name)
}

/// Replays the worst, a median and a random path by [`SAMPLE_METRIC`] (the random one drawn
/// from `seed`). Each replay is checked against the stored per-path values: a path that does
/// not reproduce (another program version, other input files) makes the whole set
/// unavailable, with the reason, rather than showing a path that is not the run's.
pub(crate) fn sample_paths(
    market: &Market,
    columns: &[Column],
    first_path: u64,
    seed: u64,
) -> Result<Vec<SamplePath>, String> {
    let values = column(columns, SAMPLE_METRIC)
        .map(|c| c.values.to_f64())
        .ok_or_else(|| format!("no per-path column `{SAMPLE_METRIC}`"))?;
    let picks = trace::sample_paths(&values, seed);
    let samples: Vec<SamplePath> = picks
        .par_iter()
        .map(|&(kind, i)| SamplePath {
            kind,
            metric: SAMPLE_METRIC,
            trace: trace::replay(market, first_path + i as u64, kind.name()),
        })
        .collect();
    for (s, &(_, i)) in samples.iter().zip(&picks) {
        let stored = values[i];
        if s.trace.summary.max_drawdown.to_bits() != stored.to_bits() {
            return Err(format!(
                "replaying path {} gives max_drawdown {} but the results record {}: the market cannot be rebuilt as it was for the run",
                s.trace.path, s.trace.summary.max_drawdown, stored
            ));
        }
    }
    Ok(samples)
}

/// The traces the scenario's `[output]` asks for, replayed after the run: the named path ids
/// and the `trace_worst` paths with the largest `trace_metric`. Returns them with warnings
/// (path ids outside the run).
pub(crate) fn traces(
    spec: &OutputSpec,
    market: &Market,
    columns: &[Column],
    first_path: u64,
    paths: u64,
) -> (TraceSet, Vec<String>) {
    let mut why: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for &id in &spec.trace_paths {
        if id >= first_path && id - first_path < paths {
            why.entry(id)
                .or_default()
                .push("listed in trace_paths".into());
        } else {
            warnings.push(format!(
                "output.trace_paths: path {id} is not in this run (paths {first_path}..{}); not traced",
                first_path + paths
            ));
        }
    }
    let k = spec.trace_worst as usize;
    if k > 0
        && let Some(c) = column(columns, &spec.trace_metric)
    {
        let values = c.values.to_f64();
        let worst = trace::worst_k(&values, k);
        let shown = worst.len();
        for (rank, i) in worst.into_iter().enumerate() {
            why.entry(first_path + i as u64).or_default().push(format!(
                "worst {} of {shown} by {} ({} {})",
                rank + 1,
                spec.trace_metric,
                values[i],
                c.unit
            ));
        }
    }
    let traces = why
        .into_par_iter()
        .map(|(id, reasons)| trace::replay(market, id, reasons.join("; ")))
        .collect();
    (
        TraceSet {
            traces,
            requested: spec.trace_paths.clone(),
            worst: spec.trace_worst,
            metric: spec.trace_metric.clone(),
        },
        warnings,
    )
}

/// Draws the figures into `<dir>/plots/` and writes `<dir>/report.html`. Returns warnings
/// for figures that could not be drawn (never fatal: the results are already complete).
pub(crate) fn write_figures_and_page(
    dir: &Path,
    input: &FigureInput<'_>,
    traced: &[(u64, String)],
    notes: &[String],
) -> Result<Vec<String>> {
    let mut notes = notes.to_vec();
    if let Err(reason) = &input.samples {
        notes.push(format!("Sample-path plots are missing: {reason}."));
    }
    let figures = html::write_report_files(
        dir,
        input,
        &PageExtras {
            traces: traced,
            notes: &notes,
        },
    )?;
    Ok(figures
        .iter()
        .filter_map(|f: &FigureFile| {
            f.status
                .as_ref()
                .err()
                .map(|e| format!("plots/{}: {e}", f.stem))
        })
        .collect())
}

/// Reads the provenance back from the root attributes, every attribute checked
/// ([`read::read_provenance`]).
pub(crate) fn read_provenance(f: &Path) -> Result<Provenance> {
    Ok(read::read_provenance(f).map_err(InputError::from)?)
}

/// Reads `/paths` back into the run's columns (same names, units, kinds and order), every
/// dataset checked ([`read::read_path_columns`]). The lending columns are read when the file
/// has them (a scenario with `[[lending]]`).
pub(crate) fn read_columns(f: &Path, paths: u64) -> Result<Vec<Column>> {
    Ok(read::read_path_columns(f, paths).map_err(InputError::from)?)
}

/// The traces listed in the file: (path id, why).
fn read_traces(f: &Path) -> Vec<(u64, String)> {
    let Ok(ids) = h5::read_attr_str(f, "/traces", "path_ids") else {
        return Vec::new();
    };
    ids.split(',')
        .filter_map(|id| id.parse::<u64>().ok())
        .map(|id| {
            let why =
                h5::read_attr_str(f, &format!("/traces/{id}"), "selected_by").unwrap_or_default();
            (id, why)
        })
        .collect()
}

/// Rebuilds the market from the stored scenario text, for replays. Referenced files are read
/// relative to the scenario path recorded in the file, if they are still there (the replays
/// are checked against the stored results, so changed files are detected).
pub(crate) fn rebuild_market(p: &Provenance) -> Result<Market, String> {
    rebuild_scenario(p).map(|s| Market::new(&s))
}

/// The run's scenario, re-read from its recorded text (see [`rebuild_market`]), with the
/// run's seed and path count.
pub(crate) fn rebuild_scenario(p: &Provenance) -> Result<Scenario, String> {
    let parse = |files: &dyn FileSource| Scenario::parse(&p.scenario, &p.scenario_file, files);
    let scenario = match parse(&NoFiles) {
        Ok(s) => s,
        Err(no_files) => {
            let base = super::files::recorded_base(&p.scenario_file)?;
            parse(&FsFiles { base: base.clone() }).map_err(|e| {
                let first = |e: &cascadesim::scenario::ScenarioError| {
                    e.issues
                        .first()
                        .map_or(String::new(), |i| i.message.clone())
                };
                format!(
                    "sample paths are replayed from the scenario, which reads files that results.h5 does not contain ({}); they were not found relative to {} either ({}); run `cascadesim report` from the folder the run was started in, or run the scenario again",
                    first(&no_files),
                    if base.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        base.display().to_string()
                    },
                    first(&e)
                )
            })?
        }
    };
    let names: Vec<&str> = scenario.assets.iter().map(|a| a.name.as_str()).collect();
    if names != p.assets {
        return Err(format!(
            "the scenario stored in the file (scenario_toml) defines the assets [{}] but the file's assets_json lists [{}]",
            names.join(", "),
            p.assets.join(", ")
        ));
    }
    let mut scenario = scenario;
    scenario.simulation.seed = p.seed;
    scenario.simulation.paths = p.paths;
    if let Some(r) = p.population_replicates {
        scenario.simulation.population_replicates = r as u32;
    }
    Ok(scenario)
}

pub(crate) fn report(args: &ReportArgs) -> Result<i32> {
    let f = &args.results;
    if !f.is_file() {
        bail!(InputError(format!("no such results file: {}", f.display())));
    }
    not_a_shard(f)?;
    let provenance = read_provenance(f)?;
    super::run::memory_guard(provenance.paths, provenance.assets.len())?;
    let columns = read_columns(f, provenance.paths)?;
    // Everything is read and checked before anything is written.
    let realised = read::read_realised(f, &provenance).map_err(InputError::from)?;
    // Population names come from the recorded scenario (none when it cannot be rebuilt).
    let population_columns = match rebuild_scenario(&provenance) {
        Ok(s) => read::read_population_columns(f, &population_ids(&s), provenance.paths)
            .map_err(InputError::from)?,
        Err(_) => Vec::new(),
    };
    let seed = provenance.seed;
    let first_path = provenance.first_path;
    let tail_reports = summary::analyze_tails(&columns, &summary::tail_options(seed));
    let mut summary = Summary::build(provenance, &columns, &tail_reports);
    summary.populations = summary::population_summaries(&population_columns);
    let json = html::summary_json(&summary)?;
    let mut notes = vec![format!(
        "Rebuilt by cascadesim report (version {}) from {} without re-simulating.",
        env!("CARGO_PKG_VERSION"),
        f.file_name().map_or(f.display().to_string(), |n| n
            .to_string_lossy()
            .into_owned())
    )];
    match h5::read_attr_str(f, "/", "summary_json") {
        Ok(stored) if format!("{stored}\n") == json => {}
        Ok(_) => {
            let msg = "the rebuilt summary differs from the one stored in the file (summary_json); the file may come from another cascadesim version".to_string();
            eprintln!("warning: {msg}");
            notes.push(format!("Warning: {msg}."));
        }
        Err(e) => eprintln!("warning: cannot compare with the stored summary: {e}"),
    }

    let dir = match &args.out {
        Some(d) => d.clone(),
        None => f
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| InputError(format!("cannot create {}: {e}", dir.display())))?;

    let samples = if summary.provenance.paths == 0 {
        Err("no paths were run".to_string())
    } else {
        rebuild_market(&summary.provenance)
            .and_then(|m| sample_paths(&m, &columns, first_path, seed))
    };
    let traced = read_traces(f);
    super::cancelled()?;
    html::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    let input = FigureInput {
        summary: &summary,
        columns: &columns,
        tail_reports: &tail_reports,
        samples,
        realised,
    };
    let warnings = write_figures_and_page(&dir, &input, &traced, &notes)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }

    if !args.quiet {
        print!("{}", table::render_summary(&summary, &tail_reports));
        println!(
            "rebuilt from {} (no simulation): {}",
            f.display(),
            dir.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascadesim::engine::trace::SampleKind;
    use cascadesim::metrics::PATH_METRICS;

    #[test]
    fn sample_metric_is_a_path_metric() {
        assert!(PATH_METRICS.iter().any(|d| d.name == SAMPLE_METRIC));
        assert_eq!(SampleKind::Worst.name(), "worst");
    }
}

//! A saved run's summary, figures and page rebuilt from its `results.h5` without
//! re-simulating: the whole file checked first (every problem at once), then the per-path
//! columns read back one at a time as the statistics, replays and figures ask for them
//! ([`crate::output::saved::SavedRun`]), the summary recomputed with the functions the run
//! used, the sample paths replayed on the market rebuilt from the stored scenario
//! ([`super::rebuild`]).
//!
//! Byte identity of `summary.json`: the provenance is read back from the root attributes
//! (every field has one), the per-path columns from `/paths` (converted back to their stored
//! kinds), and the summary is recomputed with the same functions a run uses on its
//! read-back columns ([`summary::analyze_tails_from`] with [`summary::tail_options`] of the
//! stored seed, then [`Summary::build_from`]) and serialised the same way.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::metrics::ColumnSource;
use crate::output::figures::FigureInput;
use crate::output::report_stage::ReportStage;
use crate::output::saved::SavedRun;
use crate::output::{OutputError, SHARD_CONTENT, h5, html, read};
use crate::summary::{self, Summary};
use crate::tails::TailReport;

use super::RunError;
use super::finish::{check, write_figures_and_page};
use super::memory::{self, Need};
use super::plan::population_ids;
use super::rebuild::{rebuild_market, rebuild_scenario};
use super::select::sample_paths;

/// Refuses a shard file where a whole run's `results.h5` is needed, and a rare-event run's
/// file (its rows are weighted: rebuilding and refitting treat them as plain paths).
///
/// # Errors
/// [`RunError::Input`] saying what the file is and what to do instead.
pub fn check_whole_run(f: &Path) -> Result<(), RunError> {
    if let Ok(e) = h5::read_attr_str(f, "/", "estimator") {
        return Err(RunError::Input(format!(
            "{} holds a rare-event run ({e}): its rows are weighted, and `report` and `tails` work on plain runs only; its summary.json has the weighted figures",
            f.display()
        )));
    }
    match h5::read_attr_str(f, "/", "content") {
        Ok(c) if c == SHARD_CONTENT => Err(RunError::Input(format!(
            "{} is one shard of a run, not a results file: join the shards first with `cascadesim merge`",
            f.display()
        ))),
        _ => Ok(()),
    }
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

/// What [`rebuild_report`] wrote.
pub struct Rebuilt {
    pub summary: Summary,
    pub tail_reports: Vec<(&'static str, TailReport)>,
    /// The folder of `summary.json`, `plots/` and `report.html`.
    pub dir: PathBuf,
}

/// Rebuilds `summary.json`, the figures and `report.html` of the run saved in `results`
/// into `out` (default: the file's folder). Everything is read and checked before anything
/// is written. Problems that do not stop it (a summary that differs from the stored one,
/// figures not drawn) go to `warn` when they are found.
///
/// # Errors
/// [`RunError::Input`] for a missing, shard, rare-event or damaged file or an output folder
/// that cannot be made; [`RunError::Memory`] for a run too large for this process;
/// [`RunError::Cancelled`] when `cancel` is set before writing; [`RunError::Output`].
pub fn rebuild_report(
    results: &Path,
    out: Option<&Path>,
    allow_external: bool,
    cancel: &AtomicBool,
    warn: &dyn Fn(&str),
) -> Result<Rebuilt, RunError> {
    let f = results;
    if let Some(u) = read::not_a_file(f, "results file") {
        return Err(u.into());
    }
    check_whole_run(f)?;
    let provenance = read::read_provenance(f)?;
    memory::guard(Need::read_back(
        provenance.paths,
        provenance.assets.len(),
        memory::has_cross_margin(&provenance.scenario),
    ))?;
    // Population names (and, with cross-margin accounts, which assets have venues) come
    // from the recorded scenario: none when it cannot be rebuilt.
    let (ids, venues) = match rebuild_scenario(&provenance, allow_external, "report") {
        Ok(s) => {
            let venues: Vec<bool> = s.assets.iter().map(|a| a.venues.is_some()).collect();
            (
                Some(population_ids(&s)),
                s.cross_margin.is_some().then_some(venues),
            )
        }
        Err(e) => {
            warn(&format!(
                "the per-population figures are left out: the scenario stored in the file cannot be rebuilt ({e})"
            ));
            (None, None)
        }
    };
    // Every problem of the file in one message, before anything is computed: the columns
    // (`/paths`, `/populations`, with cross-margin accounts `/assets`), then the path ids,
    // the other `/assets` datasets and the tail tables, then the realised heatmap. The
    // columns are then read again one at a time as the statistics, replays and figures
    // ask for them.
    let mut all = read::Gather::new(f);
    let saved = all.take(SavedRun::open(
        f,
        provenance.paths,
        &provenance.assets,
        ids.as_deref(),
        venues.as_deref(),
    ));
    if let Some(s) = &saved {
        all.take(s.check());
    }
    all.take(read::check_run_datasets(f, &provenance));
    let realised = all.take(read::read_realised(f, &provenance));
    all.finish()?;
    let (Some(saved), Some(realised)) = (saved, realised) else {
        return Err(RunError::Input(format!(
            "{}: the file is incomplete",
            f.display()
        )));
    };
    let source: &dyn ColumnSource = &saved;
    let seed = provenance.seed;
    let first_path = provenance.first_path;
    let tail_reports = summary::analyze_tails_from(source, &summary::tail_options(seed));
    let mut summary = Summary::build_from(provenance, source, &tail_reports, None);
    summary.populations = summary::population_summaries(source);
    summary.cross_margin = summary::cross_margin_summaries(source);
    // A column that could not be read again (the file changed underneath) is said as such,
    // not as a summary that differs.
    saved.finish()?;
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
        Ok(stored) => {
            // Without the scenario the per-population section is left out: the summaries
            // then differ by that alone, or by more (another version).
            let without_populations = |text: &str| {
                serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .map(|mut v| {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("populations");
                        }
                        v
                    })
            };
            let only_populations = ids.is_none()
                && without_populations(&stored)
                    .is_some_and(|a| Some(a) == without_populations(&json));
            let msg = if only_populations {
                "the rebuilt summary differs from the one stored in the file (summary_json): without the scenario (see above) its per-population section is left out"
            } else {
                "the rebuilt summary differs from the one stored in the file (summary_json); the file may come from another cascadesim version"
            };
            warn(msg);
            notes.push(format!("Warning: {msg}."));
        }
        Err(e) => warn(&format!("cannot compare with the stored summary: {e}")),
    }

    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => f
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Input(format!("cannot create {}: {e}", dir.display())))?;

    let samples = if summary.provenance.paths == 0 {
        Err("no paths were run".to_string())
    } else {
        rebuild_market(&summary.provenance, allow_external, "report")
            .and_then(|m| sample_paths(&m, source, first_path, seed))
    };
    let traced = read_traces(f);
    check(cancel)?;
    // Every file goes to a hidden folder first and replaces the old ones only when all were
    // written (a failure or Ctrl-C leaves the previous report whole).
    let stage = ReportStage::new(&dir)?;
    html::write_atomic(&stage.dir().join("summary.json"), json.as_bytes())?;
    let input = FigureInput {
        summary: &summary,
        columns: source,
        tail_reports: &tail_reports,
        samples,
        realised,
    };
    let (skipped, failed) = write_figures_and_page(stage.dir(), &input, &traced, &notes)?;
    // Nothing is put in place: the file's problem, before the figures it made fail.
    saved.finish()?;
    if !failed.is_empty() {
        return Err(OutputError::Figures(failed).into());
    }
    check(cancel)?;
    let dir = stage.commit()?;
    for w in skipped {
        warn(&w);
    }
    Ok(Rebuilt {
        summary,
        tail_reports,
        dir,
    })
}

//! A whole run's per-path results → its folder: the summary and tail fits, the traces and
//! sample paths (replayed from their seeds), `results.h5`, `summary.json`, the figures and
//! `report.html`, built in a staging folder and swapped in. One implementation for a run,
//! a gathered MPI run and merged shards, so their folders are the same files. The per-path
//! columns come through a [`ColumnSource`], one at a time: held in memory, or (a whole
//! plain run) read back from the staged `results.h5` they were streamed into.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::Market;
use crate::engine::realised::RealisedHeatmap;
use crate::metrics::{AssetColumns, Column, ColumnSource, Held, PopulationColumns};
use crate::model::spec::OutputSpec;
use crate::output::figures::{FigureFile, FigureInput};
use crate::output::html::{self, PageExtras};
use crate::output::realised::RealisedView;
use crate::output::streamed::StreamedRun;
use crate::output::{self, OutputError, Staging};
use crate::rare::RareEventInfo;
use crate::summary::{self, Provenance, Summary};
use crate::tails::TailReport;

use super::select;
use super::{Env, RunError};

/// The per-path results of a run (or of this process's part of it), in path order.
pub struct Run {
    pub columns: Vec<Column>,
    pub asset_columns: Vec<AssetColumns>,
    /// Per-population columns (empty in rare-event runs).
    pub population_columns: Vec<PopulationColumns>,
    pub realised: RealisedHeatmap,
    /// The blocks of paths the columns were simulated in (`mc::BLOCK` but in tests): a whole
    /// plain run's `results.h5` is written in blocks of it, so that its bytes are those a
    /// run streaming the same paths writes ([`finish`]).
    pub block: u64,
}

/// A run's per-path results as [`finish`] takes them.
pub enum Paths {
    /// Held in memory (shards, MPI ranks' parts, rare-event runs, a whole run simulated
    /// without its staged file).
    Held(Run),
    /// Already written into the staged `results.h5` (a whole plain run), read back one
    /// column at a time.
    Streamed {
        columns: Box<StreamedRun>,
        realised: RealisedHeatmap,
    },
}

/// What [`finish`] made.
pub struct Finished {
    pub summary: Summary,
    pub tail_reports: Vec<(&'static str, TailReport)>,
    /// The results folder, complete.
    pub dir: PathBuf,
    /// Problems that did not stop the run (paths not traced, figures not drawn), in the
    /// order they were found.
    pub warnings: Vec<String>,
}

/// `Err(Cancelled)` once `cancel` is set.
pub(crate) fn check(cancel: &AtomicBool) -> Result<(), RunError> {
    if cancel.load(Ordering::SeqCst) {
        return Err(RunError::Cancelled);
    }
    Ok(())
}

/// Turns a whole run's per-path results into its folder: summary and tail fits, traces and
/// sample paths (replayed from their seeds; no per-step data was kept during the run),
/// `results.h5`, `summary.json`, the figures and `report.html`, all built in `staging` and
/// swapped in. A plain run's columns held in memory are written in its blocks
/// ([`Run::block`], the blocks a run streams in), so that they give the `results.h5` of a
/// run that streamed them, byte for byte. Shared by a run, MPI rank 0 and a merge (which
/// stream theirs), so a merged run's files are the same as a single-machine run's.
/// Everything runs on `pool`; each step's result depends on its inputs only, never on how
/// the work was split, so the files are the same for any thread count.
///
/// # Errors
/// [`RunError::Cancelled`] when `cancel` is set before the folder is swapped in (the
/// staging folder is removed, the previous results stay); [`RunError::Output`] when a file
/// cannot be written.
pub fn finish(
    env: &Env<'_>,
    market: &Market,
    output_spec: &OutputSpec,
    provenance: Provenance,
    run: Paths,
    staging: Staging,
    rare: Option<&RareEventInfo>,
) -> Result<Finished, RunError> {
    let Env { pool, cancel } = *env;
    check(cancel)?;
    let (paths, seed, first_path) = (provenance.paths, provenance.seed, provenance.first_path);
    let step_seconds = provenance.step_seconds;
    let held;
    let (source, realised): (&dyn ColumnSource, &RealisedHeatmap) = match &run {
        Paths::Streamed { columns, realised } => (&**columns, realised),
        Paths::Held(r) => {
            held = Held {
                paths: &r.columns,
                assets: &r.asset_columns,
                populations: &r.population_columns,
            };
            (&held, &r.realised)
        }
    };
    let (summary, tail_reports, trace_set, warnings) = pool.install(|| {
        // Weighted runs: no tail fits (see summary::WEIGHTED_TAILS_NOTE), no replays (a
        // steered path is not its plain stream's path).
        let tail_reports = match rare {
            None => summary::analyze_tails_from(source, &summary::tail_options(seed)),
            Some(_) => Vec::new(),
        };
        let mut summary = Summary::build_from(provenance, source, &tail_reports, rare);
        summary.populations = summary::population_summaries(source);
        summary.cross_margin = summary::cross_margin_summaries(source);
        let (trace_set, warnings) = match rare {
            None => select::traces(output_spec, market, source, 0, paths),
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
        (summary, tail_reports, trace_set, warnings)
    });
    let mut warnings: Vec<String> = warnings;
    let traced: Vec<(u64, String)> = trace_set
        .traces
        .iter()
        .map(|t| (t.path, t.selected_by.clone()))
        .collect();
    let figures = || {
        let samples = if paths == 0 {
            Err("no paths were run".to_string())
        } else if let Some(r) = rare {
            Err(format!(
                "sample paths are not replayed in a rare-event run ({})",
                r.estimator
            ))
        } else {
            select::sample_paths(market, source, 0, seed)
        };
        let input = FigureInput {
            summary: &summary,
            columns: source,
            tail_reports: &tail_reports,
            samples,
            realised: RealisedView::from_heatmap(
                realised,
                &summary.provenance.assets,
                paths,
                step_seconds,
            ),
        };
        write_figures_and_page(&staging.path(""), &input, &traced, &[])
    };
    let figures = pool.install(|| match &run {
        // The data files and the figures share nothing but their inputs: written side by
        // side.
        Paths::Held(r) => {
            let columns = output::RunColumns {
                paths: &r.columns,
                assets: &r.asset_columns,
                populations: &r.population_columns,
            };
            let (written, figures) = rayon::join(
                || match rare {
                    // A whole plain run simulated without its staged file: the bytes a
                    // run streaming the same paths in blocks of `block` writes.
                    None if paths > 0 => output::streamed::write_held(
                        &staging,
                        columns,
                        first_path,
                        r.block,
                        &summary,
                        &tail_reports,
                        &trace_set,
                        realised,
                    ),
                    _ => output::write_run_with_traces(
                        &staging,
                        &summary,
                        columns,
                        &tail_reports,
                        &trace_set,
                        Some(realised),
                    ),
                },
                figures,
            );
            written.map(|()| figures)
        }
        // The figures read the staged file's columns: drawn before the file is finished
        // and put in place.
        Paths::Streamed { .. } => Ok(figures()),
    });
    let (skipped, failed) = figures??;
    if let Paths::Streamed { columns, realised } = run {
        pool.install(|| columns.finish(&staging, &summary, &tail_reports, &trace_set, &realised))?;
    }
    warnings.extend(skipped.into_iter().chain(failed));
    // A cancel during the fits, replays or figures: the staging folder is dropped (and
    // removed), the previous results stay.
    check(cancel)?;
    let (dir, left) = staging.commit_or_warn()?;
    warnings.extend(left);
    Ok(Finished {
        summary,
        tail_reports,
        dir,
        warnings,
    })
}

/// Draws the figures into `<dir>/plots/` and writes `<dir>/report.html`. Returns the
/// figures left out, each with its reason: `(skipped, failed)`, those not drawn on purpose
/// and those that could not be drawn or written. A run warns about both (its results are
/// already complete); `report` refuses to put a page with failed figures in place.
///
/// # Errors
/// The page or a folder cannot be written.
pub fn write_figures_and_page(
    dir: &Path,
    input: &FigureInput<'_>,
    traced: &[(u64, String)],
    notes: &[String],
) -> Result<(Vec<String>, Vec<String>), OutputError> {
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
    let text = |f: &FigureFile| {
        f.status
            .as_ref()
            .err()
            .map(|e| format!("plots/{}: {e}", f.stem))
    };
    let (failed, other): (Vec<&FigureFile>, Vec<&FigureFile>) =
        figures.iter().partition(|f| f.failed());
    Ok((
        other.into_iter().filter_map(text).collect(),
        failed.into_iter().filter_map(text).collect(),
    ))
}

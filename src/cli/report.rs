//! `cascadesim report`: rebuild `summary.json`, the terminal summary, the figures and
//! `report.html` from a saved `results.h5`, without re-simulating (the market for the sample
//! paths is rebuilt by the library's `run::rebuild`).
//!
//! Byte identity of `summary.json`: the provenance is read back from the root attributes
//! (every field has one), the per-path columns from `/paths` (converted back to their stored
//! kinds), and the summary is recomputed with the same functions the run used
//! ([`summary::analyze_tails`] with [`summary::tail_options`] of the stored seed, then
//! [`Summary::build`]) and serialised the same way.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::output::figures::FigureInput;
use cascadesim::output::h5;
use cascadesim::output::html;
use cascadesim::output::read;
use cascadesim::run::finish::write_figures_and_page;
use cascadesim::run::plan::population_ids;
use cascadesim::run::rebuild::{rebuild_market, rebuild_scenario};
use cascadesim::run::select::sample_paths;
use cascadesim::summary::{self, Summary};

use super::common::{
    InputError, allow_external, cancelled, memory_guard, not_a_shard, read_columns, read_provenance,
};
use super::table;

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// A results.h5 written by `cascadesim run`.
    results: PathBuf,
    /// Folder for summary.json, plots/ and report.html (default: the folder of results.h5).
    #[arg(long, value_parser = super::common::out_folder)]
    out: Option<PathBuf>,
    /// No summary table.
    #[arg(long, short)]
    quiet: bool,
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

pub(crate) fn report(args: &ReportArgs) -> Result<i32> {
    let f = &args.results;
    if !f.is_file() {
        bail!(InputError(format!("no such results file: {}", f.display())));
    }
    not_a_shard(f)?;
    let provenance = read_provenance(f)?;
    memory_guard(provenance.paths, provenance.assets.len())?;
    let columns = read_columns(f, provenance.paths)?;
    // Everything is read and checked before anything is written.
    let realised = read::read_realised(f, &provenance).map_err(InputError::from)?;
    // Population names come from the recorded scenario (none when it cannot be rebuilt).
    let population_columns = match rebuild_scenario(&provenance, allow_external()) {
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
        rebuild_market(&summary.provenance, allow_external())
            .and_then(|m| sample_paths(&m, &columns, first_path, seed))
    };
    let traced = read_traces(f);
    cancelled()?;
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

//! `cascadesim report`: rebuild `summary.json`, the terminal summary, the figures and
//! `report.html` from a saved `results.h5`, without re-simulating. The rebuilding is the
//! library's [`cascadesim::run::report`]; this file prints.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use cascadesim::run::report::rebuild_report;

use super::common::{CANCEL, allow_external, from_run};
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

pub(crate) fn report(args: &ReportArgs) -> Result<i32> {
    let f = &args.results;
    super::common::honour_cancel();
    let done = rebuild_report(
        f,
        args.out.as_deref(),
        allow_external(),
        &CANCEL,
        &|w: &str| eprintln!("warning: {w}"),
    )
    .map_err(from_run)?;
    if !args.quiet {
        print!(
            "{}",
            table::render_summary(&done.summary, &done.tail_reports)
        );
        println!(
            "rebuilt from {} (no simulation): {}",
            f.display(),
            done.dir.display()
        );
    }
    Ok(0)
}

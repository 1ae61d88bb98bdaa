//! `cascadesim tails`: refit the extreme-value tail of a metric from a saved run.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::metrics::ColumnSource;
use cascadesim::output::saved::SavedRun;
use cascadesim::run::memory::Need;
use cascadesim::summary;

use super::common::{InputError, not_a_shard, read_provenance};
use super::table;

#[derive(Args)]
pub(crate) struct TailsArgs {
    /// A results.h5 written by `cascadesim run`.
    results: PathBuf,
    /// Per-path metric (a dataset under /paths).
    #[arg(long, default_value = "max_drawdown")]
    metric: String,
    /// Fit above this threshold (in the metric's unit) instead of the automatic rule.
    #[arg(long)]
    threshold: Option<f64>,
    /// Print the whole report (with diagnostic curves) as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn refit_tails(args: &TailsArgs) -> Result<i32> {
    let f = &args.results;
    super::common::readable(f, "results file")?;
    if let Some(u) = args.threshold
        && !u.is_finite()
    {
        bail!(InputError("--threshold must be a finite number".into()));
    }
    not_a_shard(f)?;
    // The whole file is checked as `report` checks it: the same bad file, the same message.
    let provenance = read_provenance(f)?;
    super::common::guard(Need::read_back(
        provenance.paths,
        provenance.assets.len(),
        cascadesim::run::memory::has_cross_margin(&provenance.scenario),
    ))?;
    // Every column checked, then only the one fitted read again and held.
    let saved = SavedRun::open_checked(f, &provenance).map_err(InputError::from)?;
    let column = saved.path(&args.metric);
    saved.finish().map_err(InputError::from)?;
    let Some(column) = column else {
        let headers = saved.path_headers();
        let names = headers.iter().map(|h| h.name);
        let hint = cascadesim::diagnostics::suggest(&args.metric, names.clone())
            .map(|m| format!(" (did you mean `{m}`?)"))
            .unwrap_or_default();
        bail!(InputError(format!(
            "{} has no per-path metric `{}`{hint}; available: {}",
            f.display(),
            args.metric,
            {
                let mut sorted: Vec<&str> = names.collect();
                sorted.sort_unstable();
                sorted.join(", ")
            }
        )));
    };
    let data = column.values.to_f64();
    let mut options = summary::tail_options(provenance.seed);
    if let Some(threshold) = args.threshold {
        options.threshold = cascadesim::tails::ThresholdRule::Fixed { threshold };
    }
    let report = cascadesim::tails::analyze(&data, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::render_tail(&args.metric, column.unit, &report));
    }
    Ok(0)
}

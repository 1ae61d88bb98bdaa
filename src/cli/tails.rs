//! `cascadesim tails`: refit the extreme-value tail of a metric from a saved run.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::summary;

use super::{InputError, not_a_shard, table};

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
    use cascadesim::output::h5;
    let f = &args.results;
    if !f.exists() {
        bail!(InputError(format!("no such results file: {}", f.display())));
    }
    not_a_shard(f)?;
    let available = h5::list_datasets(f, "/paths").map_err(|e| {
        InputError(format!(
            "{} is not a cascadesim results file: {e}",
            f.display()
        ))
    })?;
    if !available.iter().any(|d| d == &args.metric) {
        let hint =
            cascadesim::scenario::suggest(&args.metric, available.iter().map(String::as_str))
                .map(|m| format!(" (did you mean `{m}`?)"))
                .unwrap_or_default();
        bail!(InputError(format!(
            "{} has no per-path metric `{}`{hint}; available: {}",
            f.display(),
            args.metric,
            available.join(", ")
        )));
    }
    if let Some(u) = args.threshold
        && !u.is_finite()
    {
        bail!(InputError("--threshold must be a finite number".into()));
    }
    let data = h5::read_f64_column(f, &format!("/paths/{}", args.metric))?;
    let seed = h5::read_attr_u64(f, "/", "seed")?;
    let unit = h5::read_attr_str(f, &format!("/paths/{}", args.metric), "unit")?;
    let mut options = summary::tail_options(seed);
    if let Some(threshold) = args.threshold {
        options.threshold = cascadesim::tails::ThresholdRule::Fixed { threshold };
    }
    let report = cascadesim::tails::analyze(&data, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::render_tail(&args.metric, &unit, &report));
    }
    Ok(0)
}

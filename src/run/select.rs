//! Which paths a run replays step by step after it is simulated: the traces its `[output]`
//! asks for and the sample paths of the figures (worst, median, random by
//! [`SAMPLE_METRIC`]). A run keeps no per-step data; these paths are replayed from their
//! random streams and checked against their stored per-path values.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::engine::Market;
use crate::engine::trace::{self, TraceSet};
use crate::metrics::ColumnSource;
use crate::model::spec::OutputSpec;
use crate::output::figures::SamplePath;

/// The metric that ranks the sample paths of the plots.
pub const SAMPLE_METRIC: &str = "max_drawdown";

/// Replays the worst, a median and a random path by [`SAMPLE_METRIC`] (the random one drawn
/// from `seed`). Each replay is checked against the stored per-path values: a path that does
/// not reproduce (another program version, other input files) makes the whole set
/// unavailable, with the reason, rather than showing a path that is not the run's.
///
/// # Errors
/// Why the sample paths are not shown (no such column, a replay that does not reproduce).
pub fn sample_paths(
    market: &Market,
    columns: &dyn ColumnSource,
    first_path: u64,
    seed: u64,
) -> Result<Vec<SamplePath>, String> {
    let values = columns
        .path(SAMPLE_METRIC)
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
pub fn traces(
    spec: &OutputSpec,
    market: &Market,
    columns: &dyn ColumnSource,
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
        && let Some(c) = columns.path(&spec.trace_metric)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::trace::SampleKind;
    use crate::metrics::PATH_METRICS;

    #[test]
    fn sample_metric_is_a_path_metric() {
        assert!(PATH_METRICS.iter().any(|d| d.name == SAMPLE_METRIC));
        assert_eq!(SampleKind::Worst.name(), "worst");
    }
}

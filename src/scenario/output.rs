//! `[output]`: what a run records beyond its standard files (traces of chosen and of the worst
//! paths).

use super::common::out_of_range;
use super::reader::{Doc, Tbl};
use crate::diagnostics::suggest;
use crate::model::spec::OutputSpec;

pub(super) const OUTPUT_KEYS: &[&str] = &["trace_paths", "trace_worst", "trace_metric"];

/// Most traces a scenario may ask for by each of `trace_paths` and `trace_worst` (a trace
/// holds one `engine::AssetStep` per step and asset, in memory until the results file is
/// written).
pub const MAX_TRACES: u64 = 100;

/// Reads the optional `[output]` table.
pub(super) fn output_section(doc: &mut Doc<'_>, top: &mut Tbl<'_, '_>) -> OutputSpec {
    const KEYS: &[&str] = OUTPUT_KEYS;
    let mut spec = OutputSpec::default();
    let Some(mut t) = doc.table(top, "output", KEYS) else {
        return spec;
    };
    let span = doc.span_of(&mut t, "trace_paths");
    if let Some(ids) = doc.array_f64(&mut t, "trace_paths") {
        let path = t.child("trace_paths");
        for (i, &x) in ids.iter().enumerate() {
            if x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0 {
                spec.trace_paths.push(x as u64);
            } else {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    span.clone(),
                    format!("must be a path id (an integer >= 0), found {x}"),
                );
            }
        }
        if ids.len() as u64 > MAX_TRACES {
            doc.invalid(
                &mut t,
                "trace_paths",
                format!(
                    "at most {MAX_TRACES} paths can be traced, found {}",
                    ids.len()
                ),
            );
        }
        spec.trace_paths.sort_unstable();
        spec.trace_paths.dedup();
    }
    if let Some(k) = doc.u64(&mut t, "trace_worst") {
        out_of_range(
            doc,
            &mut t,
            "trace_worst",
            k > MAX_TRACES,
            format_args!("at most {MAX_TRACES}"),
            k,
        );
        spec.trace_worst = k.min(MAX_TRACES) as u32;
        // `trace_metric` only applies with `trace_worst`; alone, `finish` reports it.
        if let Some(m) = doc.str(&mut t, "trace_metric") {
            let names = crate::metric_names::PATH_METRIC_NAMES.iter().copied();
            if names.clone().any(|n| n == m) {
                spec.trace_metric = m.to_string();
            } else {
                let hint = suggest(m, names.clone())
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                let known: Vec<&str> = names.collect();
                doc.invalid(
                    &mut t,
                    "trace_metric",
                    format!(
                        "unknown per-path metric \"{m}\"{hint}; expected one of {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
    doc.finish(t);
    spec
}

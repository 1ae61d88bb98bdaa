//! `[rare_event]`: the rare-event estimator of a run (importance sampling or splitting) and its
//! settings.

use super::common::{out_of_range, show};
use super::reader::{Doc, Tbl};
use crate::model::spec::{RareEventSpec, RareMethod};

/// Most clones per level (a typo must not ask for an exploding tree).
pub const MAX_CLONES: u64 = 1_000;
/// Most splitting levels.
pub const MAX_SPLIT_LEVELS: usize = 32;

/// `[rare_event]`: rare-event estimation (importance sampling or splitting).
pub(super) const RARE_KEYS: &[&str] = &[
    "method",
    "tilt",
    "jump_rate_factor",
    "pilot_paths",
    "levels",
    "clones",
];
/// Reads the optional `[rare_event]` table.
pub(super) fn rare_event_section(
    doc: &mut Doc<'_>,
    top: &mut Tbl<'_, '_>,
) -> Option<RareEventSpec> {
    let mut t = doc.table(top, "rare_event", RARE_KEYS)?;
    let n0 = doc.issues.len();
    let method = if doc.has(&mut t, "method") {
        doc.choice(&mut t, "method", &["is", "split"])
    } else {
        doc.missing(&t, "method");
        None
    };
    let mut spec = RareEventSpec::defaults(RareMethod::ImportanceSampling);
    if let Some(x) = doc.f64(&mut t, "tilt") {
        out_of_range(
            doc,
            &mut t,
            "tilt",
            !(-40.0..=40.0).contains(&x),
            "in [-40, 40] standard deviations per step",
            show(x),
        );
        spec.tilt = Some(x);
    }
    if let Some(x) = doc.f64(&mut t, "jump_rate_factor") {
        out_of_range(
            doc,
            &mut t,
            "jump_rate_factor",
            !(x > 0.0 && x <= 1000.0),
            "in (0, 1000]",
            show(x),
        );
        spec.jump_rate_factor = Some(x);
    }
    if let Some(n) = doc.u64(&mut t, "pilot_paths") {
        out_of_range(
            doc,
            &mut t,
            "pilot_paths",
            !(100..=10_000_000).contains(&n),
            "in [100, 10000000]",
            n,
        );
        spec.pilot_paths = n;
    }
    let levels_span = doc.span_of(&mut t, "levels");
    if let Some(levels) = doc.array_f64(&mut t, "levels") {
        let path = t.child("levels");
        if levels.is_empty() || levels.len() > MAX_SPLIT_LEVELS {
            doc.error_at(
                &path,
                levels_span.clone(),
                format!(
                    "needs 1 to {MAX_SPLIT_LEVELS} levels, found {}",
                    levels.len()
                ),
            );
        }
        for (i, &x) in levels.iter().enumerate() {
            if !(x > 0.0 && x < 1.0) {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    levels_span.clone(),
                    format!("a drawdown level must be in (0, 1), found {}", show(x)),
                );
            } else if i > 0 && x <= levels[i - 1] {
                doc.error_at(
                    &format!("{path}[{i}]"),
                    levels_span.clone(),
                    format!(
                        "levels must increase, found {} after {}",
                        show(x),
                        show(levels[i - 1])
                    ),
                );
            }
        }
        spec.levels = levels;
    }
    if let Some(r) = doc.u64(&mut t, "clones") {
        out_of_range(
            doc,
            &mut t,
            "clones",
            !(2..=MAX_CLONES).contains(&r),
            format_args!("in [2, {MAX_CLONES}]"),
            r,
        );
        spec.clones = r.clamp(2, MAX_CLONES) as u32;
    }
    match method {
        Some("split") => {
            spec.method = RareMethod::Splitting;
            if spec.levels.is_empty() && doc.issues.len() == n0 {
                doc.invalid_table(
                    &t,
                    "method = \"split\" needs `levels`, the drawdown levels at which paths are cloned (e.g. levels = [0.02, 0.04, 0.06])".into(),
                );
            }
        }
        Some(_) if spec.jump_rate_factor.is_some() && spec.tilt.is_none() => {
            doc.invalid(
                &mut t,
                "jump_rate_factor",
                "applies only with `tilt` (without it the pilot run chooses both)".into(),
            );
        }
        _ => {}
    }
    doc.finish(t);
    (doc.issues.len() == n0 && method.is_some()).then_some(spec)
}

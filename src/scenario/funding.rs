//! A population's `funding` table: the funding rate its positions pay or receive along the
//! path (fixed, or a schedule by step) and the interval between payments. Validation only;
//! the payment arithmetic is in `model::funding`, the per-path index in `engine::venue`.

use super::common::out_of_range;
use super::reader::{Doc, Tbl};
use crate::model::funding::{Funding, Premium};

/// Keys of a population's `funding` table.
pub(super) const FUNDING_KEYS: &[&str] = &["rate", "interval_s", "schedule", "premium"];
/// Keys of `funding.premium`.
pub(super) const PREMIUM_KEYS: &[&str] = &["interest", "band", "cap"];
/// Keys of one entry of `funding.schedule`.
pub(super) const SCHEDULE_KEYS: &[&str] = &["from_step", "rate"];
/// Largest funding rate per interval, in absolute value (venues cap far below: Binance
/// ±2–3% per 8 h on most contracts).
const MAX_RATE: f64 = 0.05;
/// Default interval between payments, seconds (8 hours, the common perpetual convention).
pub const DEFAULT_INTERVAL_S: f64 = 28_800.0;

/// Reads `funding` of population table `t`. `flat`: whether the population's maintenance
/// schedule is a single rate (funding needs it, see `model::funding`); `steps`: the
/// simulation's length when valid.
pub(super) fn funding(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    flat: Option<bool>,
    steps: Option<u32>,
) -> Option<Funding> {
    let mut f = doc.table(t, "funding", FUNDING_KEYS)?;
    let n0 = doc.issues.len();
    let rate_ok = |doc: &mut Doc<'_>, tb: &mut Tbl<'_, '_>, r: Option<f64>| {
        if let Some(r) = r {
            out_of_range(
                doc,
                tb,
                "rate",
                r.abs() > MAX_RATE,
                format_args!("a rate per interval in [-{MAX_RATE}, {MAX_RATE}]"),
                r,
            );
        }
        r
    };
    let has_rate = doc.has(&mut f, "rate");
    let rate = doc.f64(&mut f, "rate");
    let rate = rate_ok(doc, &mut f, rate);
    let interval_s = doc.f64(&mut f, "interval_s").unwrap_or(DEFAULT_INTERVAL_S);
    out_of_range(
        doc,
        &mut f,
        "interval_s",
        !(interval_s > 0.0 && interval_s <= 1e9),
        "in (0, 1e9] seconds",
        interval_s,
    );
    let has_schedule = doc.has(&mut f, "schedule");
    let mut schedule = vec![(0u32, rate.unwrap_or(0.0))];
    let mut last: Option<u64> = None;
    for mut e in doc.tables(&mut f, "schedule", SCHEDULE_KEYS) {
        let from = doc.req_u64(&mut e, "from_step");
        let r = doc.req_f64(&mut e, "rate");
        let r = rate_ok(doc, &mut e, r);
        if let Some(k) = from {
            if last.is_some_and(|l| k <= l) || (has_rate && k == 0) {
                doc.invalid(
                    &mut e,
                    "from_step",
                    format!(
                        "must be increasing (and above 0 when `rate` gives the rate from step 0), found {k}"
                    ),
                );
            } else if let Some(s) = steps
                && k >= u64::from(s)
            {
                doc.invalid(
                    &mut e,
                    "from_step",
                    format!("must be below simulation.steps = {s}, found {k}"),
                );
            }
            last = Some(last.map_or(k, |l| l.max(k)));
        }
        doc.finish(e);
        if let (Some(k), Some(r)) = (from, r) {
            let k = k.min(u64::from(u32::MAX)) as u32;
            if k == 0 {
                schedule[0].1 = r;
            } else {
                schedule.push((k, r));
            }
        }
    }
    let premium = premium(doc, &mut f);
    if premium.is_some() && (has_rate || has_schedule) {
        doc.invalid(
            &mut f,
            "premium",
            "give either `premium` or `rate`/`schedule`, not both".into(),
        );
    }
    if !has_rate && !has_schedule && !doc.has(&mut f, "premium") {
        doc.invalid_table(
            &f,
            "needs `rate` (a fixed rate per interval), `schedule` (a list of { from_step, rate }) or `premium`"
                .into(),
        );
    }
    if flat == Some(false) {
        doc.invalid_table(
            &f,
            "funding needs a single `maintenance_margin`: with `margin_tiers` a payment would move liquidation prices by different amounts per tier and un-sort the ladder (docs/model.md, \"Funding along the path\")".into(),
        );
    }
    doc.finish(f);
    (doc.issues.len() == n0).then(|| match premium {
        Some(p) => Funding::premium(interval_s, p),
        None => Funding::new(interval_s, schedule),
    })
}

/// `funding.premium`: every key has the Binance default.
fn premium(doc: &mut Doc<'_>, f: &mut Tbl<'_, '_>) -> Option<Premium> {
    let mut p = doc.table(f, "premium", PREMIUM_KEYS)?;
    let mut get = |doc: &mut Doc<'_>, key: &'static str, default: f64, lo: f64| {
        let v = doc.f64(&mut p, key).unwrap_or(default);
        if !(lo..=MAX_RATE).contains(&v) {
            doc.invalid(
                &mut p,
                key,
                format!("must be a rate per interval in [{lo}, {MAX_RATE}], found {v}"),
            );
        }
        v
    };
    let interest = get(doc, "interest", 0.0001, -MAX_RATE);
    let band = get(doc, "band", 0.0005, 0.0);
    let cap = get(doc, "cap", 0.0075, 0.0);
    doc.finish(p);
    Some(Premium {
        interest,
        band,
        cap,
    })
}

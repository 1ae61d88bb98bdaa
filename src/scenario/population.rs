//! `[[populations]]`: perpetual-futures positions on one asset: margin tiers, fees, insurance
//! fund, partial liquidation, ADL, funding, liquidation engine, venue, and the positions (a
//! CSV, or the synthetic size, leverage and entry distributions).

use super::FileSource;
use super::common::{MAX_POSITIONS, MAX_USD, asset_index, out_of_range, referenced_file, show};
use super::csv;
use super::funding;
use super::liquidation_engine;
use super::reader::{Doc, Tbl};
use super::venues;
use crate::model::margin::{MarginSchedule, PartialRule};
use crate::model::spec::{
    EntryDist, LeverageDist, Population, PositionSource, SizeDist, SyntheticSpec,
};

pub(super) const POP_KEYS: &[&str] = &[
    "name",
    "asset",
    "count",
    "open_interest_usd",
    "long_share",
    "funding_rate_8h",
    "size",
    "leverage",
    "entry",
    "maintenance_margin",
    "margin_tiers",
    "liquidation_fee",
    "insurance_fund_usd",
    "partial_liquidation",
    "auto_deleverage",
    "funding",
    "liquidation_engine",
    "positions_file",
    "venue",
    "trigger_price",
];
pub(super) const PARTIAL_KEYS: &[&str] = &["target_multiple", "min_notional_usd", "fee"];
pub(super) const SIZE_KEYS: &[&str] = &["distribution", "sigma", "alpha"];
pub(super) const LEV_KEYS: &[&str] = &[
    "values",
    "weights",
    "distribution",
    "median",
    "sigma",
    "min",
    "max",
];
pub(super) const ENTRY_KEYS: &[&str] = &["distribution", "mean", "sd", "low", "high"];
pub(super) const TIER_KEYS: &[&str] = &["from_notional_usd", "rate"];
pub(super) fn population(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    names: &[String],
    venue_names: &[Option<Vec<String>>],
    (steps, step_seconds): (Option<u32>, Option<f64>),
    prices: Option<&[f64]>,
    files: &dyn FileSource,
) -> Option<Population> {
    let n0 = doc.issues.len();
    let pname = doc.str(&mut t, "name").unwrap_or("").to_string();
    let asset = asset_index(doc, &mut t, names);

    let n_margin = doc.issues.len();
    let margin = margin_schedule(doc, &mut t);
    // What depends on the schedule (the leverage cap, the rows of a positions file) is
    // checked only against a valid one: an invalid rate would give spurious leverage errors,
    // and an empty schedule (`margin_tiers = []`) made `MarginSchedule::tier` panic on an
    // out-of-bounds index while reading the positions file.
    let margin_ok = doc.issues.len() == n_margin && !margin.tiers().is_empty();
    let max_leverage = margin
        .tiers()
        .first()
        .filter(|_| margin_ok)
        .map(|x| 1.0 / (2.0 * x.rate));
    let fee = doc.f64(&mut t, "liquidation_fee").unwrap_or(0.005);
    out_of_range(
        doc,
        &mut t,
        "liquidation_fee",
        !(0.0..=0.1).contains(&fee),
        "a rate in [0, 0.1]",
        fee,
    );
    let fund = doc.f64(&mut t, "insurance_fund_usd").unwrap_or(0.0);
    if !out_of_range(
        doc,
        &mut t,
        "insurance_fund_usd",
        fund < 0.0,
        ">= 0 USD",
        fund,
    ) {
        out_of_range(
            doc,
            &mut t,
            "insurance_fund_usd",
            fund > MAX_USD,
            format_args!("at most {MAX_USD:e} USD"),
            show(fund),
        );
    }

    let partial = partial_rule(
        doc,
        &mut t,
        margin.tiers().first().filter(|_| margin_ok).map(|x| x.rate),
    );
    let auto_deleverage = doc.bool(&mut t, "auto_deleverage").unwrap_or(false);
    let funding = funding::funding(
        doc,
        &mut t,
        margin_ok.then(|| margin.tiers().len() == 1),
        steps,
    );
    let liquidation_engine = liquidation_engine::liquidation_engine(doc, &mut t, step_seconds);
    let (venue, trigger) = venues::population_venue(
        doc,
        &mut t,
        asset.map_or("", |a| names[a].as_str()),
        asset.and_then(|a| venue_names.get(a)?.as_deref()),
    );

    let source = if doc.has(&mut t, "positions_file") {
        referenced_file(doc, &mut t, "positions_file", files, |text| {
            // Without a valid margin schedule the rows cannot be checked (its problem is
            // reported already): no problems of the file's own.
            if !margin_ok {
                return Err(Vec::new());
            }
            let start = asset.zip(prices).map(|(a, p)| p[a]);
            let asset = asset.map_or("", |a| names[a].as_str());
            csv::positions(text, &margin, asset, start).map(PositionSource::Explicit)
        })
    } else {
        synthetic(doc, &mut t, max_leverage)
    };
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    Some(Population {
        name: pname,
        asset: asset?,
        margin,
        liquidation_fee: fee,
        insurance_fund: fund,
        partial,
        auto_deleverage,
        funding,
        liquidation_engine,
        source: source?,
        venue,
        trigger,
    })
}

/// `margin_tiers` (increasing floors from 0, non-decreasing rates) or a flat
/// `maintenance_margin`, not both.
fn margin_schedule(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>) -> MarginSchedule {
    if doc.has(t, "margin_tiers") {
        if doc.has(t, "maintenance_margin") {
            doc.invalid(
                t,
                "maintenance_margin",
                "give either `maintenance_margin` or `margin_tiers`, not both".into(),
            );
        }
        let mut pairs = Vec::new();
        for mut tier in doc.tables(t, "margin_tiers", TIER_KEYS) {
            let floor = doc.req_f64(&mut tier, "from_notional_usd");
            let rate = doc.req_f64(&mut tier, "rate");
            if let Some(r) = rate {
                out_of_range(
                    doc,
                    &mut tier,
                    "rate",
                    !(r > 0.0 && r < 0.5),
                    "in (0, 0.5)",
                    r,
                );
            }
            let path = tier.path.clone();
            // Ordering errors point at the tier's line.
            let span = doc.span_of(&mut tier, "from_notional_usd");
            doc.finish(tier);
            if let (Some(f), Some(r)) = (floor, rate) {
                pairs.push((f, r, path, span));
            }
        }
        if pairs.is_empty() {
            doc.invalid(t, "margin_tiers", "needs at least one tier".into());
        } else if pairs[0].0 != 0.0 {
            doc.error_at(
                &format!("{}.from_notional_usd", pairs[0].2),
                pairs[0].3.clone(),
                "the first tier must start at 0".into(),
            );
        }
        for w in pairs.windows(2) {
            if w[1].0 <= w[0].0 || w[1].1 < w[0].1 {
                doc.error_at(
                    &w[1].2,
                    w[1].3.clone(),
                    "tiers must have increasing `from_notional_usd` and non-decreasing `rate`"
                        .into(),
                );
            }
        }
        MarginSchedule::tiered(&pairs.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>())
    } else {
        let r = doc.f64(t, "maintenance_margin").unwrap_or(0.004);
        out_of_range(
            doc,
            t,
            "maintenance_margin",
            r <= 0.0 || r >= 0.5,
            "a rate in (0, 0.5)",
            r,
        );
        MarginSchedule::flat(r)
    }
}

/// `[populations.partial_liquidation]`. `first_rate`: the first tier's maintenance rate when
/// the schedule is valid (the target must be reachable with it).
pub(super) fn partial_rule(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    first_rate: Option<f64>,
) -> Option<PartialRule> {
    let mut p = doc.table(t, "partial_liquidation", PARTIAL_KEYS)?;
    let k = doc.req_f64(&mut p, "target_multiple");
    if let Some(k) = k {
        out_of_range(
            doc,
            &mut p,
            "target_multiple",
            !(k > 1.0 && k <= 100.0),
            "in (1, 100] (equity over maintenance after the close)",
            k,
        );
    }
    let min_notional = doc.f64(&mut p, "min_notional_usd").unwrap_or(0.0);
    out_of_range(
        doc,
        &mut p,
        "min_notional_usd",
        !(0.0..=MAX_USD).contains(&min_notional),
        format_args!("between 0 and {MAX_USD:e} USD"),
        show(min_notional),
    );
    let fee = doc.f64(&mut p, "fee").unwrap_or(0.0);
    if !(0.0..=0.1).contains(&fee) {
        doc.invalid(
            &mut p,
            "fee",
            format!("must be a rate in [0, 0.1], found {fee}"),
        );
    } else if let Some(rate) = first_rate
        && fee >= rate
    {
        doc.invalid(
            &mut p,
            "fee",
            format!(
                "must be below the first maintenance rate ({rate}): at the liquidation price the equity is at most the maintenance margin, so a fee this large leaves nothing to restore and every close would be full"
            ),
        );
    }
    doc.finish(p);
    Some(PartialRule {
        target_multiple: k?,
        min_notional,
        fee,
    })
}

/// `max_leverage`: the venue cap 1/(2·first maintenance rate), `None` when the margin
/// schedule is invalid (already reported).
pub(super) fn synthetic(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    max_leverage: Option<f64>,
) -> Option<PositionSource> {
    let n0 = doc.issues.len();
    // A value of the wrong type is reported as such, not also as out of range.
    let count = doc.req_u64(t, "count");
    let bad = count.is_some_and(|n| !(1..=MAX_POSITIONS).contains(&n));
    let count = count.unwrap_or(0);
    out_of_range(
        doc,
        t,
        "count",
        bad,
        format_args!("between 1 and {MAX_POSITIONS}"),
        count,
    );
    let oi = doc.req_f64(t, "open_interest_usd").unwrap_or(f64::NAN);
    if !out_of_range(doc, t, "open_interest_usd", oi <= 0.0, "> 0 USD", oi) {
        out_of_range(
            doc,
            t,
            "open_interest_usd",
            oi > MAX_USD,
            format_args!("at most {MAX_USD:e} USD"),
            show(oi),
        );
    }
    let long_share = match (doc.has(t, "long_share"), doc.has(t, "funding_rate_8h")) {
        (true, true) => {
            doc.invalid(
                t,
                "funding_rate_8h",
                "give either `long_share` or `funding_rate_8h`, not both".into(),
            );
            None
        }
        (true, false) => {
            let s = doc.f64(t, "long_share");
            if let Some(x) = s {
                out_of_range(
                    doc,
                    t,
                    "long_share",
                    !(0.0..=1.0).contains(&x),
                    "a probability in [0, 1]",
                    x,
                );
            }
            s
        }
        (false, true) => {
            let f = doc.f64(t, "funding_rate_8h");
            if let Some(x) = f {
                out_of_range(
                    doc,
                    t,
                    "funding_rate_8h",
                    x.abs() > 0.05,
                    "a rate per 8 hours in [-0.05, 0.05]",
                    x,
                );
            }
            f.map(crate::model::population::long_share_from_funding)
        }
        (false, false) => Some(0.5),
    };

    let size = match doc.req_table(t, "size", SIZE_KEYS) {
        Some(mut s) => {
            let out = size_dist(doc, &mut s);
            doc.finish(s);
            out
        }
        None => None,
    };

    let leverage = match doc.req_table(t, "leverage", LEV_KEYS) {
        Some(mut l) => {
            let out = leverage(doc, &mut l, max_leverage);
            doc.finish(l);
            out
        }
        None => None,
    };

    let entry = match doc.table(t, "entry", ENTRY_KEYS) {
        Some(mut e) => {
            let out = entry_dist(doc, &mut e);
            doc.finish(e);
            out
        }
        None => Some(EntryDist::Normal { mean: 0.0, sd: 0.0 }),
    };
    if doc.issues.len() > n0 {
        return None;
    }
    Some(PositionSource::Synthetic(SyntheticSpec {
        count,
        open_interest: oi,
        long_share: long_share?,
        size: size?,
        leverage: leverage?,
        entry: entry?,
    }))
}

/// `[populations.size]`: the distribution of position notional.
fn size_dist(doc: &mut Doc<'_>, s: &mut Tbl<'_, '_>) -> Option<SizeDist> {
    let d = doc.choice(s, "distribution", &["lognormal", "pareto"]);
    match d {
        Some("lognormal") => {
            let sigma = doc.req_f64(s, "sigma").unwrap_or(f64::NAN);
            out_of_range(
                doc,
                s,
                "sigma",
                sigma <= 0.0 || sigma > 5.0,
                "in (0, 5]",
                sigma,
            );
            Some(SizeDist::LogNormal { sigma })
        }
        Some("pareto") => {
            let alpha = doc.req_f64(s, "alpha").unwrap_or(f64::NAN);
            if alpha <= 0.5 || alpha > 20.0 {
                doc.invalid(
                    s,
                    "alpha",
                    format!("tail index must be in (0.5, 20], found {alpha}"),
                );
            }
            Some(SizeDist::Pareto { alpha })
        }
        _ => {
            if !doc.has(s, "distribution") {
                doc.invalid(
                    s,
                    "distribution",
                    "missing required key `distribution` (lognormal or pareto)".into(),
                );
            }
            // Reported above: the parameters are not also "not applying".
            doc.skip_rest(s);
            None
        }
    }
}

/// `[populations.entry]`: the distribution of the entry price (a log offset from the start
/// price).
fn entry_dist(doc: &mut Doc<'_>, e: &mut Tbl<'_, '_>) -> Option<EntryDist> {
    let d = doc.choice(e, "distribution", &["normal", "uniform"]);
    match d {
        Some("uniform") => {
            let low = doc.req_f64(e, "low").unwrap_or(f64::NAN);
            let high = doc.req_f64(e, "high").unwrap_or(f64::NAN);
            if low <= -2.0 || high >= 2.0 || low >= high {
                doc.invalid(e, "high", format!("need -2 < low < high < 2 (log offsets from the start price), found low = {low}, high = {high}"));
            }
            Some(EntryDist::Uniform { low, high })
        }
        Some("normal") => {
            let mean = doc.f64(e, "mean").unwrap_or(0.0);
            let sd = doc.req_f64(e, "sd").unwrap_or(f64::NAN);
            out_of_range(
                doc,
                e,
                "mean",
                mean.abs() >= 2.0,
                "a log offset in (-2, 2)",
                mean,
            );
            out_of_range(doc, e, "sd", !(0.0..=1.0).contains(&sd), "in [0, 1]", sd);
            Some(EntryDist::Normal { mean, sd })
        }
        _ => {
            if !doc.has(e, "distribution") {
                doc.invalid(
                    e,
                    "distribution",
                    "missing required key `distribution` (normal or uniform)".into(),
                );
            }
            // Reported above: the parameters are not also "not applying".
            doc.skip_rest(e);
            None
        }
    }
}

pub(super) fn leverage(
    doc: &mut Doc<'_>,
    l: &mut Tbl<'_, '_>,
    max_leverage: Option<f64>,
) -> Option<LeverageDist> {
    // Venues cap leverage at 1/(2·maintenance rate) (0.4% → 125×); see model::margin.
    // Without a valid rate only the lower bound is checked.
    let max_allowed = max_leverage.unwrap_or(f64::INFINITY);
    let cap = match max_leverage {
        Some(m) => format!(" and at most the venue maximum 1/(2·maintenance_margin) = {m:.1}"),
        None => String::new(),
    };
    if doc.has(l, "values") {
        let values = doc.array_f64(l, "values");
        let weights = doc.array_f64(l, "weights");
        if !doc.has(l, "weights") {
            doc.invalid(
                l,
                "weights",
                "missing required key `weights` (one per value)".into(),
            );
        }
        let (values, weights) = (values?, weights?);
        let mut ok = true;
        if values.is_empty() || values.len() != weights.len() {
            doc.invalid(
                l,
                "weights",
                format!(
                    "needs one weight per value: {} values, {} weights",
                    values.len(),
                    weights.len()
                ),
            );
            ok = false;
        }
        if let Some(v) = values.iter().find(|v| **v <= 1.0 || **v > max_allowed) {
            doc.invalid(l, "values", format!("leverage must be > 1{cap}, found {v}"));
            ok = false;
        }
        let sum: f64 = weights.iter().sum();
        // Bounded like an index's `weight`, so that the sum cannot overflow.
        if let Some(w) = weights.iter().find(|w| !(0.0..=1e6).contains(*w)) {
            doc.invalid(
                l,
                "weights",
                format!("weights must be in [0, 1e6], found {}", show(*w)),
            );
            ok = false;
        } else if sum <= 0.0 {
            doc.invalid(
                l,
                "weights",
                "weights sum to 0 and cannot be normalised".into(),
            );
            ok = false;
        }
        ok.then(|| LeverageDist::Discrete {
            values,
            weights: weights.iter().map(|w| w / sum).collect(),
        })
    } else {
        let d = doc.choice(l, "distribution", &["lognormal", "uniform"]);
        let min = doc.req_f64(l, "min").unwrap_or(f64::NAN);
        let max = doc.req_f64(l, "max").unwrap_or(f64::NAN);
        if min <= 1.0 || min >= max || max > max_allowed {
            let cap = match max_leverage {
                Some(m) => format!(" <= 1/(2·maintenance_margin) = {m:.1}"),
                None => String::new(),
            };
            doc.invalid(
                l,
                "min",
                format!("need 1 < min < max{cap}, found min = {min}, max = {max}"),
            );
        }
        match d {
            Some("lognormal") => {
                let median = doc.req_f64(l, "median").unwrap_or(f64::NAN);
                let sigma = doc.req_f64(l, "sigma").unwrap_or(f64::NAN);
                out_of_range(doc, l, "median", median <= 1.0, "> 1", median);
                out_of_range(
                    doc,
                    l,
                    "sigma",
                    sigma <= 0.0 || sigma > 5.0,
                    "in (0, 5]",
                    sigma,
                );
                Some(LeverageDist::LogNormal {
                    median,
                    sigma,
                    min,
                    max,
                })
            }
            Some("uniform") => Some(LeverageDist::Uniform { min, max }),
            _ => {
                if !doc.has(l, "distribution") {
                    doc.invalid_table(l, "give `values` and `weights`, or `distribution` = \"lognormal\" or \"uniform\" with `min` and `max`".into());
                }
                // Reported above: the parameters are not also "not applying".
                doc.skip_rest(l);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::spec::Scenario;
    use crate::scenario::FileSource;

    #[test]
    fn an_empty_tier_list_with_a_positions_file_is_an_error_not_a_panic() {
        struct One;
        impl FileSource for One {
            fn read(&self, _: &str) -> Result<String, String> {
                Ok("side,size,entry_price,leverage\nlong,1,100,10\n".into())
            }
        }
        let text = "[simulation]\nsteps = 10\n[[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n[[populations]]\nasset = \"A\"\nmargin_tiers = []\npositions_file = \"p.csv\"\n";
        let e = Scenario::parse(text, "t.toml", &One).expect_err("no tiers");
        assert_eq!(e.issues.len(), 1, "{e}");
        assert!(
            e.issues[0].message.contains("needs at least one tier"),
            "{e}"
        );
    }
}

//! `[assets.book]`: an asset's (or a venue's) order book, from a CSV of levels or a synthetic
//! profile (the ladder itself is `model::book::synthetic_levels`), its hourly factors, refill,
//! permanent impact, price floor and `[assets.book.volatility_depth]`.

use super::FileSource;
use super::common::{MAX_PRICE, MAX_USD, MIN_PRICE, number, out_of_range, show};
use super::csv;
use super::reader::{Doc, Tbl};
use crate::model::book::{LevelShape, synthetic_levels};
use crate::model::spec::{BookSpec, Level, VolDepth};

pub(super) const VOL_DEPTH_KEYS: &[&str] =
    &["beta", "reference_volatility", "half_life_s", "min", "max"];
pub(super) const BOOK_KEYS: &[&str] = &[
    "profile",
    "spread_bp",
    "level_spacing_bp",
    "levels",
    "depth_usd",
    "depth_band_bp",
    "scale_bp",
    "power",
    "file",
    "hourly_liquidity",
    "refill_half_life_s",
    "permanent_impact",
    "volatility_depth",
    "price_floor_usd",
];
pub(super) const MAX_LEVELS: u64 = 1_000_000;
/// Farthest a synthetic book level may sit from the mid, bp (log distance 10: prices e^±10).
pub(super) const MAX_BOOK_EXTENT_BP: f64 = 100_000.0;
pub(super) const MIN_HOURLY_FACTOR: f64 = 1e-6;

/// `volatility`: the asset's, the default reference of `volatility_depth`.
pub(super) fn book(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    price: f64,
    volatility: f64,
    files: &dyn FileSource,
) -> Option<BookSpec> {
    let n0 = doc.issues.len();
    let profile = doc.choice(
        &mut t,
        "profile",
        &["flat", "linear", "exponential", "power_law", "file"],
    );
    if profile.is_none() && !doc.has(&mut t, "profile") {
        doc.invalid(
            &mut t,
            "profile",
            "missing required key `profile` (flat, linear, exponential, power_law or file)".into(),
        );
    }
    if profile.is_none() {
        // Missing or invalid profile (reported): the other keys are not "not applying".
        doc.skip_rest(&mut t);
    }
    let mut hourly = [1.0; 24];
    if let Some(h) = doc.array_f64(&mut t, "hourly_liquidity") {
        if h.len() != 24 {
            doc.invalid(
                &mut t,
                "hourly_liquidity",
                format!(
                    "needs 24 hourly factors (00:00 UTC first), found {}",
                    h.len()
                ),
            );
        } else if let Some((i, x)) = h
            .iter()
            .enumerate()
            .find(|(_, x)| **x < MIN_HOURLY_FACTOR || **x > 100.0)
        {
            doc.invalid(
                &mut t,
                "hourly_liquidity",
                format!(
                    "factor for hour {i} must be in [{MIN_HOURLY_FACTOR:e}, 100], found {}",
                    show(*x)
                ),
            );
        } else {
            hourly.copy_from_slice(&h);
        }
    }
    let refill = doc.f64(&mut t, "refill_half_life_s").unwrap_or(60.0);
    out_of_range(
        doc,
        &mut t,
        "refill_half_life_s",
        refill <= 0.0,
        "> 0 seconds",
        refill,
    );
    let permanent = doc.f64(&mut t, "permanent_impact").unwrap_or(0.5);
    out_of_range(
        doc,
        &mut t,
        "permanent_impact",
        !(0.0..=1.0).contains(&permanent),
        "a share in [0, 1]",
        permanent,
    );
    let vol_depth = doc
        .table(&mut t, "volatility_depth", VOL_DEPTH_KEYS)
        .and_then(|v| vol_depth(doc, v, volatility));
    let price_floor = doc.f64(&mut t, "price_floor_usd");
    if let Some(f) = price_floor
        && !(f >= MIN_PRICE && f < price)
    {
        doc.invalid(
            &mut t,
            "price_floor_usd",
            format!(
                "must be a price in [{MIN_PRICE:e}, price) USD (below the start price {}), found {}",
                show(price),
                show(f)
            ),
        );
    }

    let sides = profile.and_then(|p| levels(doc, &mut t, p, price, n0, files));
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    let (bid, ask) = sides?;
    Some(BookSpec {
        bid,
        ask,
        hourly,
        refill_half_life_s: refill,
        permanent_impact: permanent,
        vol_depth,
        price_floor,
    })
}

/// The bid and ask levels of a book of profile `profile`: read from its `file`, or laid out
/// by the synthetic profile's parameters (`model::book::synthetic_levels`). `None` with the
/// problems reported; `n0`: the issue count before the book (a book with any problem lays
/// out no levels).
fn levels(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    profile: &str,
    price: f64,
    n0: usize,
    files: &dyn FileSource,
) -> Option<(Vec<Level>, Vec<Level>)> {
    match profile {
        "file" => {
            let file = doc.req_str(t, "file");
            let path = t.child("file");
            file.and_then(|f| match files.read(f) {
                Ok(text) => match csv::book_levels(&text, price) {
                    Ok(s) => Some(s),
                    Err(errs) => {
                        let span = doc.span_of(t, "file");
                        for e in errs {
                            doc.error_at(&path, span.clone(), format!("{f}:{e}"));
                        }
                        None
                    }
                },
                Err(e) => {
                    doc.invalid(t, "file", e);
                    None
                }
            })
        }
        p => {
            let spread_bp = doc.f64(t, "spread_bp").unwrap_or(1.0);
            out_of_range(
                doc,
                t,
                "spread_bp",
                spread_bp <= 0.0 || spread_bp > 10_000.0,
                "in (0, 10000] basis points",
                spread_bp,
            );
            let spacing_bp = doc.f64(t, "level_spacing_bp").unwrap_or(1.0);
            out_of_range(
                doc,
                t,
                "level_spacing_bp",
                spacing_bp <= 0.0 || spacing_bp > 10_000.0,
                "in (0, 10000] basis points",
                spacing_bp,
            );
            let levels = doc.u64(t, "levels").unwrap_or(2000);
            out_of_range(
                doc,
                t,
                "levels",
                !(1..=MAX_LEVELS).contains(&levels),
                format_args!("between 1 and {MAX_LEVELS} per side"),
                levels,
            );
            // Bids at distance x trade at e^(−x) times the price, asks at e^(+x), and a sweep
            // through the whole side moves the mid by the full extent: a ladder reaching
            // thousands of log units (levels = 1000 at 10000 bp) gives prices of 0 or inf.
            let deepest_bp = spread_bp / 2.0 + (levels as f64 - 1.0) * spacing_bp;
            if deepest_bp > MAX_BOOK_EXTENT_BP {
                doc.invalid(
                    t,
                    "levels",
                    format!(
                        "the deepest level would sit {deepest_bp} bp from the mid (spread_bp / 2 + (levels − 1) × level_spacing_bp); it must be within {MAX_BOOK_EXTENT_BP} bp (a factor e^10 of the price) for prices to stay representable: use fewer levels or a smaller spacing"
                    ),
                );
            }
            let depth = doc.req_f64(t, "depth_usd").unwrap_or(f64::NAN);
            if !out_of_range(doc, t, "depth_usd", depth <= 0.0, "> 0 USD", depth) {
                out_of_range(
                    doc,
                    t,
                    "depth_usd",
                    depth > MAX_USD,
                    format_args!("at most {MAX_USD:e} USD"),
                    show(depth),
                );
            }
            let band_bp = doc.f64(t, "depth_band_bp").unwrap_or(100.0);
            if band_bp <= 0.0 {
                doc.invalid(
                    t,
                    "depth_band_bp",
                    format!("must be > 0 basis points, found {band_bp}"),
                );
            } else if band_bp < spread_bp / 2.0 {
                doc.invalid(t, "depth_band_bp", format!("band of {band_bp} bp lies inside the half-spread ({} bp): it holds no level", spread_bp / 2.0));
            }
            let shape = match p {
                "flat" => Some(LevelShape::Power(0.0)),
                "linear" => Some(LevelShape::Power(1.0)),
                "power_law" => {
                    let power = doc.req_f64(t, "power").unwrap_or(f64::NAN);
                    out_of_range(
                        doc,
                        t,
                        "power",
                        !(-3.0..=5.0).contains(&power),
                        "in [-3, 5]",
                        power,
                    );
                    Some(LevelShape::Power(power))
                }
                "exponential" => {
                    let scale = doc.req_f64(t, "scale_bp").unwrap_or(f64::NAN);
                    out_of_range(doc, t, "scale_bp", scale <= 0.0, "> 0 basis points", scale);
                    Some(LevelShape::Exponential(scale * 1e-4))
                }
                _ => None,
            };
            let sides = if doc.issues.len() > n0 {
                None
            } else {
                shape.map(|s| {
                    synthetic_levels(
                        s,
                        spread_bp * 1e-4,
                        spacing_bp * 1e-4,
                        levels as usize,
                        depth,
                        band_bp * 1e-4,
                        price,
                    )
                })
            };
            // Extreme shape parameters (scale_bp = 1e-10, or power −3 with spread_bp = 1e-300)
            // make every weight underflow to 0 or overflow to inf: a book with no depth or
            // NaN sizes, which the engine cannot walk. (An invalid price, already reported,
            // makes the sizes meaningless too: nothing more to say then.)
            match sides {
                Some(_) if !(MIN_PRICE..=MAX_PRICE).contains(&price) => None,
                Some((bid, ask))
                    if bid.iter().all(|l| l.size.is_finite() && l.size >= 0.0)
                        && bid.iter().any(|l| l.size > 0.0) =>
                {
                    Some((bid, ask))
                }
                Some(_) => {
                    doc.invalid(
                        t,
                        "profile",
                        format!("with these parameters the \"{p}\" profile gives no usable depth (level sizes underflow to 0 or overflow); check spread_bp, scale_bp and power"),
                    );
                    None
                }
                None => None,
            }
        }
    }
}

/// `[assets.book.volatility_depth]`.
pub(super) fn vol_depth(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    volatility: f64,
) -> Option<VolDepth> {
    let n0 = doc.issues.len();
    let beta = number(
        doc,
        &mut t,
        "beta",
        Some(1.0),
        |x| x > 0.0 && x <= 5.0,
        "in (0, 5]",
    );
    let default_ref = (volatility > 0.0).then_some(volatility);
    if default_ref.is_none() && !doc.has(&mut t, "reference_volatility") {
        doc.invalid(
            &mut t,
            "reference_volatility",
            "missing required key `reference_volatility` (the asset's volatility is 0)".into(),
        );
    }
    let reference = number(
        doc,
        &mut t,
        "reference_volatility",
        Some(default_ref.unwrap_or(f64::NAN)),
        |x| x > 0.0 && x <= 20.0,
        "an annualised fraction in (0, 20]",
    );
    let half_life = number(
        doc,
        &mut t,
        "half_life_s",
        Some(600.0),
        |x| x > 0.0,
        "> 0 seconds",
    );
    let min = number(
        doc,
        &mut t,
        "min",
        Some(0.1),
        |x| (MIN_HOURLY_FACTOR..=1.0).contains(&x),
        &format!("a multiplier in [{MIN_HOURLY_FACTOR:e}, 1]"),
    );
    let max = number(
        doc,
        &mut t,
        "max",
        Some(1.0),
        |x| (1.0..=100.0).contains(&x),
        "a multiplier in [1, 100]",
    );
    doc.finish(t);
    (doc.issues.len() == n0).then_some(VolDepth {
        beta,
        reference_volatility: reference,
        half_life_s: half_life,
        min,
        max,
    })
}

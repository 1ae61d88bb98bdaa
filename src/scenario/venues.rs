//! `[[assets.venues]]`: one asset traded on several books (venues), with the index (mark)
//! over them and the arbitrage that pulls their mids together; and a population's `venue`
//! and `trigger_price`. Validation only; the model is in `model::arbitrage` and
//! `engine::index`.

use super::FileSource;
use super::book::{BOOK_KEYS, book};
use super::common::out_of_range;
use super::reader::{Doc, Tbl};
use super::simulation::Clock;
use crate::diagnostics::suggest;
use crate::model::spec::{BookSpec, TriggerPrice, VenueSpec, Venues};

/// Keys of one `[[assets.venues]]` table.
pub(super) const VENUE_KEYS: &[&str] = &["name", "weight", "depth_scale", "book"];

/// Most venues per asset: each one is a book per path and O(1) work per step.
const MAX_VENUES: usize = 64;
/// Longest index lag: the ring of lagged index values is this long per asset and path.
const MAX_LAG_STEPS: u64 = 100_000;

/// Reads the asset's `venues`, `index_lag_steps` and `arbitrage_speed`. `asset_book` is the
/// asset's own validated book (the default of every venue), `None` when it is invalid.
pub(super) fn venues(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    asset_book: Option<&BookSpec>,
    price: f64,
    volatility: f64,
    clock: Clock,
    files: &dyn FileSource,
) -> Option<Venues> {
    let n0 = doc.issues.len();
    let tables = doc.tables(t, "venues", VENUE_KEYS);
    if !doc.has(t, "venues") {
        for key in ["index_lag_steps", "arbitrage_speed"] {
            if doc.has(t, key) {
                doc.invalid(
                    t,
                    key,
                    format!("`{key}` applies only to an asset with `[[assets.venues]]`"),
                );
            }
        }
        return None;
    }
    if tables.is_empty() && doc.issues.len() == n0 {
        doc.invalid(t, "venues", "needs at least one venue".into());
    } else if tables.len() > MAX_VENUES {
        doc.invalid(
            t,
            "venues",
            format!(
                "at most {MAX_VENUES} venues per asset, found {}",
                tables.len()
            ),
        );
    }
    let lag = doc.u64(t, "index_lag_steps").unwrap_or(0);
    let most = clock.steps.map_or(MAX_LAG_STEPS, |n| {
        u64::from(n).saturating_sub(1).min(MAX_LAG_STEPS)
    });
    out_of_range(
        doc,
        t,
        "index_lag_steps",
        lag > most,
        format_args!("below simulation.steps and at most {MAX_LAG_STEPS}"),
        lag,
    );
    let speed = if tables.len() > 1 {
        let s = doc.req_f64(t, "arbitrage_speed");
        if let Some(s) = s {
            out_of_range(
                doc,
                t,
                "arbitrage_speed",
                !(0.0..=1.0).contains(&s),
                "a share of the gap per step in [0, 1]",
                s,
            );
        }
        s.unwrap_or(0.0)
    } else {
        // One venue: no gap to close; a given speed is harmless but checked.
        let s = doc.f64(t, "arbitrage_speed").unwrap_or(0.0);
        out_of_range(
            doc,
            t,
            "arbitrage_speed",
            !(0.0..=1.0).contains(&s),
            "a share of the gap per step in [0, 1]",
            s,
        );
        s
    };

    let n_tables = tables.len();
    let mut list = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for mut v in tables {
        let name_span = doc.span_of(&mut v, "name");
        let name = doc.req_str(&mut v, "name").unwrap_or("").to_string();
        if doc.has(&mut v, "name") && name.trim().is_empty() {
            doc.invalid(&mut v, "name", "must not be empty".into());
        } else if names.contains(&name) {
            doc.error_at(
                &v.child("name"),
                name_span,
                format!("duplicate venue name \"{name}\""),
            );
        }
        names.push(name.clone());
        let weight = doc.f64(&mut v, "weight").unwrap_or(1.0);
        out_of_range(
            doc,
            &mut v,
            "weight",
            !(0.0..=1e6).contains(&weight),
            "an index weight in [0, 1e6]",
            weight,
        );
        let scale = doc.f64(&mut v, "depth_scale").unwrap_or(1.0);
        out_of_range(
            doc,
            &mut v,
            "depth_scale",
            !(scale > 0.0 && scale <= 1e6),
            "a depth multiple in (0, 1e6]",
            scale,
        );
        let own = doc.table(&mut v, "book", BOOK_KEYS).map(|mut b| {
            let path = b.child("volatility_depth");
            let span = doc.span_of(&mut b, "volatility_depth");
            let spec = book(doc, b, price, volatility, files);
            if spec.as_ref().is_some_and(|s| s.vol_depth.is_some()) {
                doc.error_at(
                    &path,
                    span,
                    "the volatility-dependent depth is the asset's: set it in the asset's `book`, it applies to all its venues".into(),
                );
            }
            spec
        });
        doc.finish(v);
        let spec = match own {
            Some(spec) => spec,
            None => asset_book.cloned(),
        };
        if let Some(mut spec) = spec {
            for l in spec.bid.iter_mut().chain(spec.ask.iter_mut()) {
                l.size *= scale;
            }
            // The venue's books share the asset's depth law (see above).
            spec.vol_depth = asset_book.and_then(|b| b.vol_depth);
            list.push(VenueSpec {
                name,
                weight,
                book: spec,
            });
        }
    }
    let total: f64 = list.iter().map(|v| v.weight).sum();
    if list.len() == n_tables && total <= 0.0 {
        doc.invalid(
            t,
            "venues",
            "the venues' index weights sum to 0; give at least one a weight > 0".into(),
        );
    }
    if doc.issues.len() > n0 {
        return None;
    }
    for v in &mut list {
        v.weight /= total;
    }
    Some(Venues {
        list,
        index_lag_steps: lag as u32,
        arbitrage_speed: speed,
    })
}

/// A population's `venue` (index into its asset's venues; 0 by default) and
/// `trigger_price`. `venue_names`: the asset's venue names (empty without venues), `None`
/// when the asset is unknown or invalid (nothing to check against).
pub(super) fn population_venue(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    asset_name: &str,
    venue_names: Option<&[String]>,
) -> (usize, TriggerPrice) {
    let trigger = match doc.choice(t, "trigger_price", &["mark", "venue"]) {
        Some("venue") => TriggerPrice::Venue,
        _ => TriggerPrice::Mark,
    };
    let Some(name) = doc.str(t, "venue") else {
        return (0, trigger);
    };
    let Some(names) = venue_names else {
        return (0, trigger);
    };
    if names.is_empty() {
        doc.invalid(
            t,
            "venue",
            format!(
                "asset \"{asset_name}\" has one book and no `[[assets.venues]]`; remove `venue` or give the asset venues"
            ),
        );
        return (0, trigger);
    }
    match names.iter().position(|n| n == name) {
        Some(i) => (i, trigger),
        None => {
            let hint = suggest(name, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            doc.invalid(
                t,
                "venue",
                format!(
                    "unknown venue \"{name}\"{hint}; venues of \"{asset_name}\" are: {}",
                    names.join(", ")
                ),
            );
            (0, trigger)
        }
    }
}

//! What the section parsers share: range-checked numbers ([`number`]), numbers for messages
//! ([`show`]), the bounds several sections apply (prices, USD amounts, positions, a price's
//! move over the horizon, asset names), and the reference from a table to an asset by name
//! ([`asset_index`]).

use super::FileSource;
use super::reader::{Doc, Tbl};
use crate::diagnostics::suggest;

/// Most positions of one population (a synthetic count, a positions file's rows) or lending
/// market (accounts).
pub(super) const MAX_POSITIONS: u64 = 50_000_000;
pub use crate::model::spec::{MAX_PRICE, MIN_PRICE};
/// Largest USD amount (open interest, depth, insurance fund): a quadrillion dollars.
pub const MAX_USD: f64 = 1e15;
/// Longest asset name, in bytes: a name is an HDF5 group (`/assets/<name>`) and part of figure
/// file names, and the results readers refuse a longer one (`output::read`).
pub const MAX_ASSET_NAME_BYTES: usize = 64;
/// Largest log-price move of a fundamental over a path that validation accepts (see
/// `asset::asset`; a bootstrap series' returns: `bootstrap`).
pub(super) const MAX_LOG_REACH: f64 = 200.0;
/// A number for a message: plain when moderate, in exponent form when tiny or huge (`{}` of
/// 1e-300 writes 300 digits).
pub(super) fn show(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A number under `key` that must satisfy `ok`; absent → `default` (`None`: required).
/// Out of range is reported as "must be {what}, found x". Returns NaN when missing or bad,
/// so the caller can go on (the issue is recorded).
pub(super) fn number(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    key: &'static str,
    default: Option<f64>,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> f64 {
    let x = match default {
        Some(d) => doc.f64(t, key).unwrap_or(d),
        None => doc.req_f64(t, key).unwrap_or(f64::NAN),
    };
    if x.is_nan() {
        return x;
    }
    if !ok(x) {
        doc.invalid(t, key, format!("must be {what}, found {}", show(x)));
        return f64::NAN;
    }
    x
}

/// Reports `key` as "must be {what}, found {x}" when `bad`, and returns `bad`. `x` as the
/// message shows it: the number itself, or [`show`] of it. The range check of a value read
/// some other way than [`number`] (with its own default, or kept when out of range).
pub(super) fn out_of_range(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    key: &'static str,
    bad: bool,
    what: impl std::fmt::Display,
    x: impl std::fmt::Display,
) -> bool {
    if bad {
        doc.invalid(t, key, format!("must be {what}, found {x}"));
    }
    bad
}

/// The index of the asset named under `asset` (required) in `names`; an unknown name is
/// reported with a "did you mean" and the list of assets.
pub(super) fn asset_index(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    names: &[String],
) -> Option<usize> {
    let asset_name = doc.req_str(t, "asset");
    asset_name.and_then(|a| match names.iter().position(|n| n == a) {
        Some(i) => Some(i),
        None => {
            let hint = suggest(a, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            // Assets without a valid name are listed as "" in `names`; with none left the
            // list would read "assets are: " (nothing).
            let named: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| !n.is_empty())
                .collect();
            let known = if names.is_empty() {
                "the scenario defines no asset".to_string()
            } else if named.is_empty() {
                "no asset has a valid name".to_string()
            } else {
                format!("assets are: {}", named.join(", "))
            };
            doc.invalid(t, "asset", format!("unknown asset \"{a}\"{hint}; {known}"));
            None
        }
    })
}

/// The file named under `key` of `t` (a string), read through `files` and given to `parse`;
/// its problems (`LINE: message` each) are reported under the key as `file:LINE: message`,
/// a file that cannot be read as such. `None` on any problem.
pub(super) fn referenced_file<T>(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    key: &'static str,
    files: &dyn FileSource,
    parse: impl FnOnce(&str) -> Result<T, Vec<String>>,
) -> Option<T> {
    let file = doc.str(t, key);
    let path = t.child(key);
    let span = doc.span_of(t, key);
    file.and_then(|f| match files.read(f) {
        Ok(text) => match parse(&text) {
            Ok(x) => Some(x),
            Err(errs) => {
                for e in errs {
                    doc.error_at(&path, span.clone(), format!("{f}:{e}"));
                }
                None
            }
        },
        Err(e) => {
            doc.error_at(&path, span.clone(), e);
            None
        }
    })
}

//! Scenario files: TOML text → validated, typed [`Scenario`] with explicit units.
//!
//! Nothing below this module sees TOML (sweeps edit a scenario's text and parse it again).
//! Validation walks the whole document and reports every problem at once
//! ([`ScenarioError`]), each with its key path and line. Referenced files (positions and
//! book CSVs) are fetched through a [`FileSource`], so this module does no I/O itself. The
//! schema is documented in `docs/scenario.md`.
//!
//! The types it produces are `model`'s (`model::spec`; `Scenario::parse` is implemented
//! here): this module parses and validates, the model owns the values. Each section of the
//! document has a file with its key table, its parser and its tests: `simulation`, `asset`
//! (jumps, volatility feedback, shocks), `book` (and its volatility depth), `venues`,
//! `correlation`, `population` (synthetic positions, leverage, partial liquidation),
//! `funding`, `liquidation_engine`, `lending`, `accounts` (`[cross_margin]`), `bootstrap`, `rare_event`, `output` and
//! `check`; `csv` reads
//! positions and book files, `replay` the replay documents, `reader` walks the spanned TOML
//! tree and `common` holds what the sections share (range-checked numbers, bounds). This
//! file holds the entry points: [`Scenario::parse`], the walk over the top-level tables,
//! and [`schema_keys`].

mod accounts;
mod asset;
mod book;
mod bootstrap;
mod check;
mod common;
mod correlation;
mod csv;
mod funding;
mod lending;
mod liquidation_engine;
mod output;
mod population;
mod rare_event;
mod reader;
mod replay;
mod simulation;
mod venues;

pub use csv::{ProspectiveRow, prospective_positions};

use toml::de::DeTable;

use crate::diagnostics::ScenarioError;
use crate::model::search::first_index;
pub use common::{MAX_ASSET_NAME_BYTES, MAX_PRICE, MAX_USD, MIN_PRICE};
pub use funding::DEFAULT_INTERVAL_S as DEFAULT_FUNDING_INTERVAL_S;
pub use output::MAX_TRACES;
pub use rare_event::{MAX_CLONES, MAX_SPLIT_LEVELS};
pub use replay::{ReplayMode, ReplayScenario};
pub use simulation::{DEFAULT_REPLICATES, MAX_REPLICATES, MAX_STEPS};

/// The longest scenario text accepted, in bytes (the bundled scenarios are under 6 KiB;
/// data belongs in the CSV files a scenario refers to). The TOML tree of a megabyte of
/// `1,1,1,…` takes about 140 MB, so the limit bounds the memory of reading a scenario from
/// anyone (a file of the 1 GiB that other files may have would need over 100 GB).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

// The validated types this module produces live in `model::spec` (the one-way street:
// `scenario` imports `model`, never the reverse); `Scenario::parse` is implemented here.
use crate::model::spec::{Dependence, Scenario};
use asset::{ASSET_KEYS, SHOCK_KEYS, asset};
use book::BOOK_KEYS;
use check::{CHECK_KEYS, check_section};
use correlation::{CORR_KEYS, correlation};
use lending::{COLLATERAL_KEYS, HF_KEYS, LENDING_KEYS, LIQUIDATOR_KEYS, lending_market};
use output::{OUTPUT_KEYS, output_section};
use population::{ENTRY_KEYS, LEV_KEYS, POP_KEYS, SIZE_KEYS, TIER_KEYS, population};
use rare_event::{RARE_KEYS, rare_event_section};
use reader::Doc;
use simulation::{CASCADE_KEYS, Clock, SIM_KEYS, simulation};

/// Where referenced files (CSV) come from. The CLI resolves them relative to the scenario file.
pub trait FileSource {
    /// The text of the file at `relative` path, or a message saying why it cannot be read.
    ///
    /// # Errors
    /// Any failure to read the file, as a human-readable message.
    fn read(&self, relative: &str) -> Result<String, String>;
}

/// A file source that has no files: every reference is an error. For scenarios given as text.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, relative: &str) -> Result<String, String> {
        Err(format!(
            "cannot read `{relative}`: no file access in this context"
        ))
    }
}

impl Scenario {
    /// Parses and validates a scenario.
    ///
    /// `origin` names the scenario in messages (its path); `files` provides CSV files it
    /// references.
    ///
    /// # Errors
    /// A [`ScenarioError`] listing every problem found: TOML syntax, unknown keys (with
    /// suggestions), wrong types, missing keys, out-of-range values, inconsistent references
    /// and unreadable or malformed referenced files.
    pub fn parse(
        text: &str,
        origin: &str,
        files: &dyn FileSource,
    ) -> Result<Scenario, ScenarioError> {
        let mut doc = Doc::new(text);
        if text.len() > MAX_TEXT_BYTES {
            doc.error_at("", None, too_long(text.len()));
            return Err(ScenarioError {
                origin: origin.into(),
                issues: doc.issues,
            });
        }
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            for e in syntax {
                let span = e.span().or_else(|| locate_spanless(text, e.message()));
                let mut message = format!("TOML syntax error: {}", e.message().trim());
                // The parser's name for a dotted key of 80 or more parts (its only error
                // without a position): found by the fuzzer, reported on no line at all.
                if message.ends_with("recursion limit") {
                    message.push_str(" (a dotted key has too many parts)");
                }
                // The parser says only "duplicate key" and points at the key: name it, since
                // the first definition may be far away (a table header defined twice, say).
                if message.ends_with("duplicate key")
                    && let Some(key) = span.clone().and_then(|s| text.get(s))
                    && !key.trim().is_empty()
                {
                    message.push_str(&format!(" `{}`", key.trim()));
                }
                doc.error_at("", span, message);
            }
            return Err(ScenarioError {
                origin: origin.into(),
                issues: doc.issues,
            });
        }
        let scenario = validate(&mut doc, &root, text, files);
        doc.issues
            .sort_by_key(|i| (i.line.is_none(), i.line, i.column));
        if doc.issues.is_empty() {
            Ok(scenario.expect("validation without issues yields a scenario"))
        } else {
            Err(ScenarioError {
                origin: origin.into(),
                issues: doc.issues,
            })
        }
    }
}

/// Where a syntax error that the TOML parser reports without a position (a dotted key of 80
/// or more parts) occurs: the start of the line ending the shortest prefix of whole lines
/// that yields the same error. Binary search, so O(log lines) extra parses of a broken file.
fn locate_spanless(text: &str, message: &str) -> Option<std::ops::Range<usize>> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len())
        .collect();
    // The first `n` lines of the text.
    let prefix = |n: usize| &text[..line_starts.get(n).copied().unwrap_or(text.len())];
    let fails = |n: usize| {
        DeTable::parse_recoverable(prefix(n))
            .1
            .iter()
            .any(|e| e.span().is_none() && e.message() == message)
    };
    let n = line_starts.len();
    if n == 0 || !fails(n) {
        return None;
    }
    let first = first_index(1, n, fails);
    let start = line_starts[first - 1];
    Some(start..start)
}

const ROOT_KEYS: &[&str] = &[
    "scenario",
    "simulation",
    "assets",
    "correlation",
    "populations",
    "lending",
    "cross_margin",
    "output",
    "sweep",
    "rare_event",
    "check",
];
const META_KEYS: &[&str] = &["name", "description"];
/// The keys the schema allows in a table, by the table's key path without array indices
/// (`[]` the top level, `["populations", "leverage"]`). `None` when no table of the schema
/// has that path. For tools that edit scenario documents (the `sweep` module).
pub fn schema_keys(table: &[&str]) -> Option<&'static [&'static str]> {
    Some(match table {
        [] => ROOT_KEYS,
        ["scenario"] => META_KEYS,
        ["simulation"] => SIM_KEYS,
        ["simulation", "cascade"] => CASCADE_KEYS,
        ["assets"] => ASSET_KEYS,
        ["assets", "shocks"] => SHOCK_KEYS,
        ["assets", "book"] => BOOK_KEYS,
        ["assets", "bootstrap"] => bootstrap::KEYS,
        ["assets", "venues"] => venues::VENUE_KEYS,
        ["assets", "venues", "book"] => BOOK_KEYS,
        ["correlation"] => CORR_KEYS,
        ["populations"] => POP_KEYS,
        ["populations", "size"] => SIZE_KEYS,
        ["populations", "leverage"] => LEV_KEYS,
        ["populations", "entry"] => ENTRY_KEYS,
        ["populations", "margin_tiers"] => TIER_KEYS,
        ["populations", "funding"] => funding::FUNDING_KEYS,
        ["populations", "funding", "schedule"] => funding::SCHEDULE_KEYS,
        ["populations", "funding", "premium"] => funding::PREMIUM_KEYS,
        ["populations", "liquidation_engine"] => liquidation_engine::ENGINE_KEYS,
        ["populations", "liquidation_engine", "backstop"] => liquidation_engine::BACKSTOP_KEYS,
        ["lending"] => LENDING_KEYS,
        ["lending", "health_factor"] => HF_KEYS,
        ["lending", "liquidator"] => LIQUIDATOR_KEYS,
        ["lending", "collateral"] => COLLATERAL_KEYS,
        ["cross_margin"] => accounts::CROSS_KEYS,
        ["cross_margin", "assets"] => accounts::CROSS_ASSET_KEYS,
        ["cross_margin", "leverage"] => LEV_KEYS,
        ["output"] => OUTPUT_KEYS,
        ["rare_event"] => RARE_KEYS,
        ["check"] => CHECK_KEYS,
        _ => return None,
    })
}

fn validate(
    doc: &mut Doc<'_>,
    root: &toml::Spanned<DeTable<'_>>,
    text: &str,
    files: &dyn FileSource,
) -> Option<Scenario> {
    let mut top = doc.root(root, ROOT_KEYS);

    let (name, description) = match doc.table(&mut top, "scenario", META_KEYS) {
        Some(mut t) => {
            let n = doc.str(&mut t, "name").unwrap_or("").to_string();
            let d = doc.str(&mut t, "description").unwrap_or("").to_string();
            doc.finish(t);
            (n, d)
        }
        None => (String::new(), String::new()),
    };

    let (clock, simulation) = match doc.req_table(&mut top, "simulation", SIM_KEYS) {
        Some(t) => simulation(doc, t),
        None => (Clock::default(), None),
    };
    let asset_tables = doc.tables(&mut top, "assets", ASSET_KEYS);
    if !doc.has(&mut top, "assets") {
        doc.error_at(
            "assets",
            None,
            "missing required `[[assets]]`: a scenario needs at least one asset".into(),
        );
    } else if asset_tables.is_empty() && doc.issues.iter().all(|i| i.path != "assets") {
        let span = doc.span_of(&mut top, "assets");
        doc.error_at("assets", span, "needs at least one asset".into());
    }
    let mut assets = Vec::new();
    let mut assets_ok = true;
    let mut names: Vec<String> = Vec::new();
    // Each asset's venue names (empty: one book), `None` for an invalid asset.
    let mut venue_names: Vec<Option<Vec<String>>> = Vec::new();
    for mut t in asset_tables {
        let path = t.path.clone();
        // Taken before `asset` consumes the table, so a duplicate name is reported with its line.
        let name_span = doc.span_of(&mut t, "name");
        let has_venues = doc.has(&mut t, "venues");
        let (name, parsed) = asset(doc, t, clock, files);
        if !name.is_empty() && names.contains(&name) {
            doc.error_at(
                &format!("{path}.name"),
                name_span,
                format!("duplicate asset name \"{name}\""),
            );
            assets_ok = false;
        }
        names.push(name);
        // Without venues the names are known (none) even when the asset has other problems.
        venue_names.push(match &parsed {
            Some(a) => Some(
                a.venues
                    .iter()
                    .flat_map(|v| v.list.iter().map(|x| x.name.clone()))
                    .collect(),
            ),
            None => (!has_venues).then(Vec::new),
        });
        match parsed {
            Some(a) => assets.push(a),
            None => assets_ok = false,
        }
    }

    let (cholesky, dependence) = match doc.table(&mut top, "correlation", CORR_KEYS) {
        Some(t) => correlation(doc, t, names.len(), assets_ok.then_some(&assets), clock),
        None => (None, Dependence::default()),
    };

    let prices: Option<Vec<f64>> = assets_ok.then(|| assets.iter().map(|a| a.price).collect());
    let mut populations = Vec::new();
    let pop_tables = doc.tables(&mut top, "populations", POP_KEYS);
    let mut pops_ok = true;
    for t in pop_tables {
        match population(
            doc,
            t,
            &names,
            &venue_names,
            (clock.steps, clock.step_seconds),
            prices.as_deref(),
            files,
        ) {
            Some(p) => populations.push(p),
            None => pops_ok = false,
        }
    }
    let mut lending = Vec::new();
    for t in doc.tables(&mut top, "lending", LENDING_KEYS) {
        match lending_market(doc, t, &names) {
            Some(m) => lending.push(m),
            None => pops_ok = false,
        }
    }
    let cross_margin = match doc.table(&mut top, "cross_margin", accounts::CROSS_KEYS) {
        Some(t) => {
            let c = accounts::cross_margin(doc, t, &names, prices.as_deref(), files);
            pops_ok &= c.is_some();
            c
        }
        None => None,
    };
    let output = output_section(doc, &mut top);
    let rare_event = rare_event_section(doc, &mut top);
    let check = check_section(doc, &mut top);
    // `[sweep]` belongs to `cascadesim sweep` (the `sweep` module reads and checks it); a
    // scenario is the same with or without it.
    doc.has(&mut top, "sweep");
    doc.finish(top);

    let simulation = simulation?;
    if !assets_ok || !pops_ok || !doc.issues.is_empty() {
        return None;
    }
    Some(Scenario {
        name,
        description,
        text: text.to_string(),
        simulation,
        assets,
        cholesky,
        dependence,
        populations,
        lending,
        cross_margin,
        output,
        rare_event,
        check,
    })
}

/// The message for a scenario text of `len` bytes, over [`MAX_TEXT_BYTES`].
pub fn too_long(len: usize) -> String {
    format!(
        "the scenario is {len} bytes; a scenario is at most {MAX_TEXT_BYTES} bytes (1 MiB): put data in the CSV files it refers to"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_without_position_gets_the_line_that_causes_it() {
        // The parser reports a dotted key of 80+ parts as "recursion limit" with no span.
        let key = vec!["k"; 85].join(".");
        for (text, line) in [
            (
                format!("[simulation]\nsteps = 10\n{key} = 1\nseed = 1\n"),
                3,
            ),
            (format!("[simulation]\nsteps = 10\n\n\n{key} = 1"), 5),
            (format!("{key} = 1\n[simulation]\n"), 1),
        ] {
            let e = Scenario::parse(&text, "t.toml", &NoFiles).expect_err("too deep");
            assert_eq!(e.issues.len(), 1, "{e}");
            assert_eq!(e.issues[0].line, Some(line), "{e}");
            assert!(e.issues[0].message.contains("too many parts"), "{e}");
        }
    }
}

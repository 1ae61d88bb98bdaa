//! Fuzz inputs for the files cascadesim reads from elsewhere (issue 20), and the checks every
//! input must pass. Included by path by the fuzz targets `csv_files` and `results_files` and
//! by the stable test `tests/fuzz_corpus.rs`, which replays
//! `fuzz/corpus/csv_files/` and `fuzz/corpus/results_files/`.
//!
//! - [`check_csv`]: the first byte chooses the positions file (even) or the book file (odd)
//!   of a valid scenario, the rest is that file. Parsing must not panic; every problem must
//!   name the CSV file and a line of it, and quote no more than a short piece of it.
//! - [`check_results`]: one change to a real `results.h5` (a copy of `base`): the first
//!   byte chooses the object (a dataset or root attribute of [`TARGETS`]), the second the
//!   change (a value, the element type, the shape, deletion), the next eight the value. The
//!   readers of `cascadesim::output::read` must not panic, must name the file on every
//!   problem line, and what they accept must hold the invariants they promise.

use std::path::Path;

use cascadesim::metrics::Values;
use cascadesim::model::spec::Scenario;
use cascadesim::output::h5::{AttrValue, Stored, edit};
use cascadesim::output::read;
use cascadesim::scenario::FileSource;

/// A valid one-asset scenario whose positions come from `p.csv`.
const POSITIONS_SCENARIO: &str = r#"
[simulation]
paths = 10
steps = 10
[[assets]]
name = "BTC"
price = 100000.0
volatility = 0.6
[assets.book]
profile = "linear"
spread_bp = 1.0
level_spacing_bp = 2.0
levels = 100
depth_usd = 1.0e8
refill_half_life_s = 60
[[populations]]
asset = "BTC"
positions_file = "p.csv"
"#;

/// A valid one-asset scenario whose book levels come from `b.csv`.
const BOOK_SCENARIO: &str = r#"
[simulation]
paths = 10
steps = 10
[[assets]]
name = "BTC"
price = 100000.0
volatility = 0.6
[assets.book]
profile = "file"
file = "b.csv"
refill_half_life_s = 60
[[populations]]
asset = "BTC"
count = 100
open_interest_usd = 1.0e7
long_share = 0.5
size = { distribution = "lognormal", sigma = 1.0 }
leverage = { values = [5, 10], weights = [0.5, 0.5] }
"#;

/// Longest message a CSV problem may give (it quotes at most a short piece of the file).
const MAX_MESSAGE: usize = 400;

struct OneFile<'a>(&'a str, &'a str);

impl FileSource for OneFile<'_> {
    fn read(&self, relative: &str) -> Result<String, String> {
        if relative == self.0 {
            Ok(self.1.to_owned())
        } else {
            Err(format!("cannot read `{relative}`: no such file"))
        }
    }
}

/// What became of a CSV input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvOutcome {
    Accepted,
    Rejected(usize),
}

/// Checks one CSV input (see the module doc). Panics on a broken promise.
pub fn check_csv(data: &[u8]) -> CsvOutcome {
    let Some((&which, rest)) = data.split_first() else {
        return CsvOutcome::Rejected(0);
    };
    let text = String::from_utf8_lossy(rest);
    let (scenario, name) = if which % 2 == 0 {
        (POSITIONS_SCENARIO, "p.csv")
    } else {
        (BOOK_SCENARIO, "b.csv")
    };
    let lines = text.lines().count().max(1);
    match Scenario::parse(scenario, "fuzz.toml", &OneFile(name, &text)) {
        Ok(_) => CsvOutcome::Accepted,
        Err(e) => {
            for issue in &e.issues {
                let m = &issue.message;
                let at = m
                    .strip_prefix(&format!("{name}:"))
                    .unwrap_or_else(|| panic!("a problem that does not name {name}: {m}"));
                let line: usize = at
                    .split(':')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_else(|| panic!("a problem without a line: {m}"));
                assert!(
                    (1..=lines + 1).contains(&line),
                    "line {line} of a {lines}-line file: {m}"
                );
                assert!(
                    m.len() <= MAX_MESSAGE,
                    "a message of {} bytes: {m}",
                    m.len()
                );
            }
            CsvOutcome::Rejected(e.issues.len())
        }
    }
}

/// The objects a results-file input may change: datasets, then root attributes.
pub const TARGETS: &[&str] = &[
    "paths/max_drawdown",
    "paths/liquidation_count",
    "paths/cascade",
    "paths/bad_debt",
    "realised_heatmap/BTC/notional",
    "realised_heatmap/BTC/time_edges",
    "realised_heatmap/BTC/price_edges",
    "assets/BTC/max_drawdown",
    "@paths",
    "@steps",
    "@step_seconds",
    "@first_path",
    "@seed",
    "@assets_json",
    "@cascade_rule",
    "@cascade_endogenous_move",
    "@scenario_toml",
];

/// What became of a results-file input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultsOutcome {
    Accepted,
    Rejected,
}

/// Applies the input's change to `file` (a copy of a real results file), through
/// `output::h5::edit` (the whole file read, changed, written again).
fn mutate(file: &Path, data: &[u8]) -> Result<(), String> {
    let target = TARGETS[usize::from(data.first().copied().unwrap_or(0)) % TARGETS.len()];
    let kind = data.get(1).copied().unwrap_or(0) % 6;
    let mut raw = [0u8; 8];
    for (r, b) in raw.iter_mut().zip(data.iter().skip(2)) {
        *r = *b;
    }
    let bits = u64::from_le_bytes(raw);
    let x = f64::from_bits(bits);
    if let Some(attr) = target.strip_prefix('@') {
        let value = match kind {
            0 => Some(AttrValue::U64(bits)),
            1 => Some(AttrValue::F64(x)),
            2 => Some(AttrValue::I64(bits as i64)),
            3 => Some(AttrValue::Str(
                String::from_utf8_lossy(data.get(10..).unwrap_or_default())
                    .chars()
                    .filter(|&c| c != '\0')
                    .collect(),
            )),
            4 => Some(AttrValue::F64s(vec![x, x])),
            _ => None, // deleted
        };
        return edit::rewrite(file, |m| m.set_root_attr(attr, value));
    }
    let old = cascadesim::output::h5::read_f64_column(file, target).unwrap_or_default();
    let len = old.len().max(1);
    let at = (bits as usize) % len;
    let n = old.len();
    let replaced = match kind {
        0 => {
            // One value changed, same type and length.
            let mut v = old;
            v.resize(len, 0.0);
            v[at] = x;
            Some((Stored::F64(v), vec![len]))
        }
        1 => Some((Stored::U8(old.iter().map(|&y| y as u8).collect()), vec![n])),
        2 => Some((
            Stored::U64(old.iter().map(|&y| y as u64).collect()),
            vec![n],
        )),
        3 => {
            // A different length, 1-D.
            let n = (bits % 4096) as usize;
            Some((Stored::F64(vec![x; n]), vec![n]))
        }
        4 => {
            // The same values in another 2-D shape.
            let rows = 1 + (bits % 8) as usize;
            let cols = old.len() / rows;
            Some((Stored::F64(old[..rows * cols].to_vec()), vec![rows, cols]))
        }
        _ => None, // deleted
    };
    edit::rewrite(file, |m| {
        m.remove(target);
        if let Some((values, shape)) = replaced {
            m.datasets.push(edit::Dataset {
                path: target.to_owned(),
                values,
                shape,
                attrs: Vec::new(),
            });
        }
    })
}

/// Checks one results-file input against a copy of `base` in `scratch` (see the module
/// doc). Panics on a broken promise.
pub fn check_results(base: &Path, scratch: &Path, data: &[u8]) -> ResultsOutcome {
    let file = scratch.join("results.h5");
    std::fs::copy(base, &file).expect("copies the base file");
    if mutate(&file, data).is_err() {
        // The change itself could not be made (an HDF5 limit): nothing to check.
        return ResultsOutcome::Rejected;
    }
    let named = |e: &read::FileProblems| {
        let shown = file.display().to_string();
        for line in e.to_string().lines() {
            assert!(
                line.starts_with(&shown),
                "a problem without the file: {line}"
            );
        }
    };
    let p = match read::read_provenance(&file) {
        Ok(p) => p,
        Err(e) => {
            named(&e);
            return ResultsOutcome::Rejected;
        }
    };
    assert!(p.steps >= 1 && p.step_seconds.is_finite() && p.step_seconds > 0.0);
    assert!(!p.assets.is_empty());
    let columns = match read::read_path_columns(&file, p.paths) {
        Ok(c) => c,
        Err(e) => {
            named(&e);
            return ResultsOutcome::Rejected;
        }
    };
    for c in &columns {
        assert_eq!(c.values.len() as u64, p.paths, "{}", c.name);
        match &c.values {
            Values::F64(v) => assert!(v.iter().all(|x| x.is_finite()), "{}", c.name),
            Values::Flag(v) => assert!(v.iter().all(|&x| x <= 1), "{}", c.name),
            Values::U32(_) => {}
        }
    }
    match read::read_realised(&file, &p) {
        Ok(views) => {
            for v in views {
                assert_eq!(
                    v.notional.len(),
                    (v.time_edges.len() - 1) * (v.price_edges.len() - 1)
                );
                assert!(v.notional.iter().all(|x| x.is_finite() && *x >= 0.0));
                assert!(v.price_edges.windows(2).all(|w| w[0] < w[1]));
                assert!(v.time_edges.windows(2).all(|w| w[0] < w[1]));
            }
            ResultsOutcome::Accepted
        }
        Err(e) => {
            named(&e);
            ResultsOutcome::Rejected
        }
    }
}

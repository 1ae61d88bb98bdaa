//! Validated reading of the files `report`, `tails` and `merge` take from elsewhere:
//! `results.h5` and shard files. Every attribute and dataset is checked before use (type,
//! shape, length against `paths`, finiteness, flags 0/1, edges strictly increasing) and
//! every problem of a stage is reported at once, each naming the file and the dataset or
//! attribute, so that a crafted file gives a message and never a panic or a wrong figure.

use std::fmt;
use std::path::{Path, PathBuf};

use super::h5::{self, AttrValue, H5Error, Stored};
use super::realised::RealisedView;
use crate::metrics::{
    ASSET_METRICS, AssetColumns, BY_TRIGGER, Column, FUNDING_POPULATION_METRICS, Header, Kind,
    LENDING_METRICS, PopulationColumns, PopulationId, Values, path_metrics,
};
use crate::summary::{CascadeDefinition, Provenance};

/// Steps of a run, at most (the scenario's `simulation.steps` bound).
const MAX_STEPS: u64 = 10_000_000;

/// The largest magnitude a per-path value can have (docs/output.md): prices are at most
/// 10¹² USD and a run's notionals stay far below 10¹⁸ USD (ten thousand times the world's
/// financial assets), while sums of up to 2³² values of 10¹⁸ stay finite, so a file's mean
/// cannot become infinite (it became `null` in summary.json with values of 1e308).
pub const MAX_MAGNITUDE: f64 = 1e18;

/// How many bad values of one dataset a message lists before "and N more".
const SHOWN: usize = 3;

/// Everything wrong with one file, one line per problem, each naming what it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProblems {
    /// The file read.
    pub file: PathBuf,
    /// One message per problem, naming the dataset or attribute.
    pub problems: Vec<String>,
}

impl fmt::Display for FileProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{}: {p}", self.file.display()))
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for FileProblems {}

/// Gathers the problems several readers find in one file, so that the file's message
/// lists them all (`report` once said a file's `/paths` problems and, after they were
/// fixed, its `/assets` ones).
pub struct Gather {
    file: PathBuf,
    problems: Vec<String>,
}

impl Gather {
    pub fn new(file: &Path) -> Self {
        Gather {
            file: file.to_path_buf(),
            problems: Vec::new(),
        }
    }

    /// The value read, or `None` with the reader's problems kept (a problem two readers
    /// both found, e.g. a per-asset dataset both checked, is kept once).
    pub fn take<T>(&mut self, read: Result<T, FileProblems>) -> Option<T> {
        read.map_err(|e| {
            for p in e.problems {
                if !self.problems.contains(&p) {
                    self.problems.push(p);
                }
            }
        })
        .ok()
    }

    /// # Errors
    /// Every problem gathered, when there is one.
    pub fn finish(self) -> Result<(), FileProblems> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(FileProblems {
                file: self.file,
                problems: self.problems,
            })
        }
    }
}

/// Collects the problems of one file.
pub(super) struct Check<'f> {
    file: &'f Path,
    problems: Vec<String>,
}

impl<'f> Check<'f> {
    pub(super) fn new(file: &'f Path) -> Self {
        Check {
            file,
            problems: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, p: String) {
        self.problems.push(p);
    }

    /// An error of the `h5` readers, without the file name it starts with (the message
    /// names the file once, in front).
    fn h5(&mut self, e: &H5Error) {
        let text = e.to_string();
        let prefix = format!("{}: ", e.path().display());
        self.push(text.strip_prefix(&prefix).unwrap_or(&text).to_owned());
    }

    /// `paths` as a length, or the problem that it cannot be one.
    pub(super) fn held_len(&mut self, paths: u64) -> Option<usize> {
        let len = usize::try_from(paths).ok();
        if len.is_none() {
            self.push(format!(
                "attribute \"paths\": {paths} paths cannot be held in memory"
            ));
        }
        len
    }

    /// Reads and checks the datasets of `entries` (`len` values each): the columns that
    /// pass.
    fn read_all(&mut self, entries: &[Entry], len: usize) -> Vec<Column> {
        entries.iter().filter_map(|e| e.read(self, len)).collect()
    }

    /// The problems found, each without the file's name.
    pub(super) fn into_messages(self) -> Vec<String> {
        self.problems
    }

    fn finish<T>(self, value: T) -> Result<T, FileProblems> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(FileProblems {
                file: self.file.to_path_buf(),
                problems: self.problems,
            })
        }
    }

    /// The problems found (at least one, as the caller found something missing).
    fn into_problems(mut self) -> FileProblems {
        if self.problems.is_empty() {
            self.push("the file is incomplete".into());
        }
        FileProblems {
            file: self.file.to_path_buf(),
            problems: self.problems,
        }
    }

    fn attr(&mut self, object: &str, name: &str) -> Option<AttrValue> {
        match h5::read_attr(self.file, object, name) {
            Ok(v) => Some(v),
            Err(e) => {
                self.h5(&e);
                None
            }
        }
    }

    fn str(&mut self, name: &str) -> Option<String> {
        match self.attr("/", name)? {
            AttrValue::Str(s) => Some(s),
            other => {
                self.wrong_attr(name, "a string", &other);
                None
            }
        }
    }

    fn u64(&mut self, object: &str, name: &str) -> Option<u64> {
        match self.attr(object, name)? {
            AttrValue::U64(v) => Some(v),
            other => {
                self.wrong_attr(name, "an unsigned integer", &other);
                None
            }
        }
    }

    /// A finite float attribute of `object`, or a problem.
    fn f64(&mut self, object: &str, name: &str) -> Option<f64> {
        match self.attr(object, name)? {
            AttrValue::F64(x) if x.is_finite() => Some(x),
            other => {
                self.wrong_attr(name, "a finite float", &other);
                None
            }
        }
    }

    /// An optional finite float attribute of the root in `[0, 1]`.
    fn opt_fraction(&mut self, name: &str) -> Option<f64> {
        match h5::read_attr(self.file, "/", name) {
            Err(H5Error::NotFound { .. }) => None,
            Err(e) => {
                self.h5(&e);
                None
            }
            Ok(AttrValue::F64(x)) if (0.0..=1.0).contains(&x) => Some(x),
            Ok(other) => {
                self.wrong_attr(name, "a fraction in [0, 1]", &other);
                None
            }
        }
    }

    fn wrong_attr(&mut self, name: &str, expected: &str, found: &AttrValue) {
        self.push(format!(
            "attribute {name:?}: expected {expected}, found {}",
            found.describe()
        ));
    }

    /// Reads `dataset` holding exactly `len` values (refused before reading when longer).
    fn dataset(&mut self, dataset: &str, len: usize) -> Option<(Stored, Vec<usize>)> {
        match h5::read_dataset(self.file, dataset, len) {
            Ok((v, shape)) => Some((v, shape)),
            Err(H5Error::WrongType {
                expected, found, ..
            }) if expected.starts_with("at most") => {
                self.push(format!(
                    "dataset {dataset}: {found}, but the file's `paths` and layout call for {len} values"
                ));
                None
            }
            Err(e) => {
                self.h5(&e);
                None
            }
        }
    }

    /// Reads `/assets/<asset>/cross_margin_liquidated_by_trigger`: a `paths × n` float
    /// matrix of finite values whose second axis is the `trigger_asset` scale of length `n`.
    pub(super) fn by_trigger(&mut self, asset: &str, n: usize, paths: usize) -> Option<Vec<f64>> {
        let dataset = format!("/assets/{asset}/{BY_TRIGGER}");
        let (stored, shape) = self.dataset(&dataset, paths.saturating_mul(n))?;
        if shape != [paths, n] {
            self.push(format!(
                "dataset {dataset}: shape {shape:?}, expected [{paths}, {n}] (one row per path, one column per asset)"
            ));
            return None;
        }
        let Stored::F64(v) = stored else {
            self.push(format!(
                "dataset {dataset}: holds {} values, expected float",
                stored.type_name()
            ));
            return None;
        };
        self.bad_values(&dataset, &v, |x: f64| !x.is_finite(), "finite")?;
        self.in_range(&dataset, &v, true)?;
        Some(v)
    }

    /// Reads a 1-D dataset of `len` values of the element type `kind` is stored as, every
    /// value checked: floats finite, flags 0 or 1.
    fn column(&mut self, dataset: &str, kind: Kind, len: usize, nonneg: bool) -> Option<Values> {
        let (stored, shape) = self.dataset(dataset, len)?;
        if shape.len() != 1 || shape[0] != len {
            self.push(format!(
                "dataset {dataset}: shape {shape:?}, expected [{len}] (one value per path)"
            ));
            return None;
        }
        let values = match (kind, stored) {
            (Kind::F64, Stored::F64(v)) => {
                self.bad_values(dataset, &v, |x: f64| !x.is_finite(), "finite")?;
                self.in_range(dataset, &v, nonneg)?;
                Values::F64(v)
            }
            (Kind::U32, Stored::U32(v)) => Values::U32(v),
            // Booleans; `u8` 0/1 in files written before flags were booleans.
            (Kind::Flag, Stored::Bool(v) | Stored::U8(v)) => {
                self.bad_values(dataset, &v, |x| x > 1, "0 or 1")?;
                Values::Flag(v)
            }
            (kind, stored) => {
                let expected = match kind {
                    Kind::F64 => "float",
                    Kind::U32 => "u32",
                    Kind::Flag => "bool",
                };
                self.push(format!(
                    "dataset {dataset}: holds {} values, expected {expected}",
                    stored.type_name()
                ));
                return None;
            }
        };
        Some(values)
    }

    /// Refuses values no run can produce: beyond ±[`MAX_MAGNITUDE`], or negative where the
    /// metric is a notional, a cost or a loss (`nonneg`).
    fn in_range(&mut self, dataset: &str, v: &[f64], nonneg: bool) -> Option<()> {
        if nonneg {
            self.bad_values(
                dataset,
                v,
                |x: f64| !(0.0..=MAX_MAGNITUDE).contains(&x),
                "between 0 and 1e18 (no run produces a negative notional, cost or loss, or one above 1e18 USD)",
            )
        } else {
            self.bad_values(
                dataset,
                v,
                |x: f64| x.abs() > MAX_MAGNITUDE,
                "at most 1e18 in magnitude (no run produces more)",
            )
        }
    }

    /// Names the first [`SHOWN`] values for which `bad` holds (by index); `None` if any.
    fn bad_values<T: Copy + fmt::Display>(
        &mut self,
        dataset: &str,
        v: &[T],
        bad: impl Fn(T) -> bool,
        must: &str,
    ) -> Option<()> {
        let wrong: Vec<usize> = (0..v.len()).filter(|&i| bad(v[i])).collect();
        if wrong.is_empty() {
            return Some(());
        }
        let shown: Vec<String> = wrong
            .iter()
            .take(SHOWN)
            .map(|&i| format!("[{i}] = {}", v[i]))
            .collect();
        let more = if wrong.len() > SHOWN {
            format!(" and {} more", wrong.len() - SHOWN)
        } else {
            String::new()
        };
        self.push(format!(
            "dataset {dataset}: every value must be {must}; found {}{more}",
            shown.join(", ")
        ));
        None
    }
}

/// Why an input file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// It does not exist, or it is not a regular file (a folder, a device, a FIFO): bad
    /// input, exit status 2.
    Bad(String),
    /// A regular file this process cannot read (permission denied, a read error): a failure
    /// of the machine, not of the file, exit status 1 (README, "Exit status").
    Io(String),
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Bad(m) | Unreadable::Io(m) => f.write_str(m),
        }
    }
}

/// Why `f` cannot be read as a `what` (e.g. "results file") at all: it does not exist, it
/// is not a regular file (a folder, a device, a FIFO: `/dev/zero` exists), or it cannot be
/// opened and read (its first byte is read to find out). `None` when it can be read.
pub fn not_a_file(f: &Path, what: &str) -> Option<Unreadable> {
    use std::io::Read as _;
    let io =
        |e: std::io::Error| Unreadable::Io(format!("cannot read the {what} {}: {e}", f.display()));
    match std::fs::metadata(f) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(Unreadable::Bad(format!("no such {what}: {}", f.display())))
        }
        // A path that cannot name a file (a loop of links, a file where a folder should be,
        // a name too long) is the path's fault, not the machine's.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ELOOP | libc::ENOTDIR | libc::ENAMETOOLONG)
            ) =>
        {
            Some(Unreadable::Bad(format!(
                "{} does not name a {what}: {e}",
                f.display()
            )))
        }
        Err(e) => Some(io(e)),
        Ok(m) if !m.is_file() => Some(Unreadable::Bad(format!(
            "{} is not a regular file (a folder, device or FIFO); expected a {what}",
            f.display()
        ))),
        Ok(_) => std::fs::File::open(f)
            .and_then(|mut h| h.read(&mut [0u8; 1]))
            .err()
            .map(io),
    }
}

/// Whether an asset name from a file can name a group (`/assets/<name>`) and a figure.
fn asset_name_ok(a: &str) -> bool {
    !a.is_empty()
        && a != "."
        && a != ".."
        && !a.contains(['/', '\0'])
        && a.len() <= crate::scenario::MAX_ASSET_NAME_BYTES
}

/// Reads and checks the provenance in the root attributes: every attribute present with
/// its type, `steps` in `1..=10^7`, `step_seconds` finite and `> 0`, `first_path + paths`
/// representable, the asset list a non-empty JSON list of distinct names, the cascade
/// definition's fractions in `[0, 1]` and its rule `any` or `all`.
///
/// # Errors
/// Every problem found, naming the attribute.
pub fn read_provenance(f: &Path) -> Result<Provenance, FileProblems> {
    let mut c = Check::new(f);
    // A file that is not a whole HDF5 file is one problem, said once.
    if let Err(e) = h5::check_container(f) {
        c.h5(&e);
        return Err(c.into_problems());
    }
    let cascadesim_version = c.str("cascadesim_version");
    let scenario_file = c.str("scenario_file");
    let scenario_name = c.str("scenario_name");
    let scenario = c.str("scenario_toml");
    let seed = c.u64("/", "seed");
    let paths = c.u64("/", "paths");
    let first_path = c.u64("/", "first_path");
    if let (Some(p), Some(first)) = (paths, first_path)
        && first.checked_add(p).is_none()
    {
        c.push(format!(
            "attributes \"first_path\" ({first}) and \"paths\" ({p}): their sum overflows"
        ));
    }
    let steps = c.u64("/", "steps").and_then(|s| {
        if (1..=MAX_STEPS).contains(&s) {
            u32::try_from(s).ok()
        } else {
            c.push(format!(
                "attribute \"steps\": must be between 1 and {MAX_STEPS}, found {s}"
            ));
            None
        }
    });
    let step_seconds = c.f64("/", "step_seconds").and_then(|x| {
        if x > 0.0 {
            Some(x)
        } else {
            c.push(format!(
                "attribute \"step_seconds\": must be > 0, found {x}"
            ));
            None
        }
    });
    let assets = read_assets(&mut c, f);
    let population_mode = c.str("population_mode").and_then(|m| {
        if m == "fixed" || m == "per_path" {
            Some(m)
        } else {
            c.push("attribute \"population_mode\": expected \"fixed\" or \"per_path\"".into());
            None
        }
    });
    let positions = match h5::read_attr(f, "/", "positions") {
        Err(H5Error::NotFound { .. }) => None,
        Err(e) => {
            c.h5(&e);
            None
        }
        Ok(AttrValue::U64(n)) => Some(n),
        Ok(other) => {
            c.wrong_attr("positions", "an unsigned integer", &other);
            None
        }
    };
    let population_replicates = match h5::read_attr(f, "/", "population_replicates") {
        Err(H5Error::NotFound { .. }) => None,
        Err(e) => {
            c.h5(&e);
            None
        }
        Ok(AttrValue::U64(n)) if (1..=crate::scenario::MAX_REPLICATES).contains(&n) => Some(n),
        Ok(AttrValue::U64(n)) => {
            c.push(format!(
                "attribute \"population_replicates\": {n} is outside 1..={}",
                crate::scenario::MAX_REPLICATES
            ));
            None
        }
        Ok(other) => {
            c.wrong_attr("population_replicates", "an unsigned integer", &other);
            None
        }
    };
    let endogenous_move = c.opt_fraction("cascade_endogenous_move");
    let liquidated_oi_share = c.opt_fraction("cascade_liquidated_oi_share");
    let rule = match h5::read_attr(f, "/", "cascade_rule") {
        Err(H5Error::NotFound { .. }) => {
            c.push("attribute \"cascade_rule\" not found: the file was written by a cascadesim without `report` support; run the scenario again".into());
            None
        }
        Err(e) => {
            c.h5(&e);
            None
        }
        Ok(AttrValue::Str(r)) if r == "any" => Some("any"),
        Ok(AttrValue::Str(r)) if r == "all" => Some("all"),
        Ok(_) => {
            c.push("attribute \"cascade_rule\": expected \"any\" or \"all\"".into());
            None
        }
    };
    let fields = (|| {
        Some(Provenance {
            cascadesim_version: cascadesim_version?,
            scenario_file: scenario_file?,
            scenario_name: scenario_name?,
            seed: seed?,
            paths: paths?,
            first_path: first_path?,
            steps: steps?,
            step_seconds: step_seconds?,
            assets: assets?,
            population_mode: population_mode?,
            positions,
            population_replicates,
            cascade_definition: CascadeDefinition {
                endogenous_move,
                liquidated_oi_share,
                rule: rule?,
            },
            scenario: scenario?,
        })
    })();
    match fields {
        Some(p) if c.problems.is_empty() => Ok(p),
        _ => Err(c.into_problems()),
    }
}

/// The root attribute `assets_json`: a non-empty JSON list of distinct asset names that
/// matches the file's `/assets` groups; problems go to `c`.
fn read_assets(c: &mut Check<'_>, f: &Path) -> Option<Vec<String>> {
    let assets = c.str("assets_json").and_then(|j| {
        match serde_json::from_str::<Vec<String>>(&j) {
            Err(_) => {
                c.push("attribute \"assets_json\": not a JSON list of asset names".into());
                None
            }
            Ok(a) if a.is_empty() => {
                c.push("attribute \"assets_json\": the list of assets is empty".into());
                None
            }
            Ok(a) => {
                let mut sorted = a.clone();
                sorted.sort();
                sorted.dedup();
                if sorted.len() != a.len() {
                    c.push("attribute \"assets_json\": an asset is named twice".into());
                    None
                } else if let Some(bad) = a.iter().find(|a| !asset_name_ok(a)) {
                    let shown: String = bad.chars().take(40).collect();
                    c.push(format!(
                        "attribute \"assets_json\": {shown:?} is not an asset name (1 to 64 bytes, no `/`)"
                    ));
                    None
                } else {
                    Some(a)
                }
            }
        }
    });
    if let Some(a) = &assets {
        // The per-asset groups are what the list describes: an extra or missing name would
        // index past the file's data (`merge`) or report an asset the run never had.
        let mut listed = a.clone();
        listed.sort();
        match h5::list_groups(f, "/assets") {
            Ok(groups) if groups == listed => {}
            Ok(groups) => c.push(format!(
                "attribute \"assets_json\" lists [{}] but the file holds /assets groups [{}]",
                a.join(", "),
                groups.join(", ")
            )),
            Err(e) => c.h5(&e),
        }
    }
    assets
}

/// One per-path dataset of a results file, read as a column: where it is, how it is
/// stored and checked, and the column it becomes. The readers below and
/// [`super::saved::SavedRun`] read every column through one.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// `/paths/<metric>`, `/assets/<asset>/<metric>` or `/populations/<k>/<metric>`.
    dataset: String,
    kind: Kind,
    /// Refused when negative (a notional, a cost or a loss).
    nonneg: bool,
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    summarize: bool,
}

impl Entry {
    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    pub(super) fn header(&self) -> Header {
        Header {
            name: self.name,
            unit: self.unit,
            summarize: self.summarize,
        }
    }

    /// Reads and checks the dataset (`len` values), problems to `c`.
    pub(super) fn read(&self, c: &mut Check<'_>, len: usize) -> Option<Column> {
        let values = c.column(&self.dataset, self.kind, len, self.nonneg)?;
        Some(Column {
            name: self.name,
            unit: self.unit,
            description: self.description,
            summarize: self.summarize,
            values,
        })
    }
}

/// An asset's entries: its metrics (those that apply to it) and, with cross-margin
/// accounts, the width of its by-trigger matrix (the number of assets).
#[derive(Debug, Clone)]
pub(super) struct AssetEntries {
    pub(super) asset: String,
    pub(super) columns: Vec<Entry>,
    pub(super) by_trigger: Option<usize>,
}

/// A population's entries.
#[derive(Debug, Clone)]
pub(super) struct PopulationEntries {
    pub(super) id: PopulationId,
    pub(super) columns: Vec<Entry>,
}

/// The entries of `/paths` (the lending columns when the file has them), in the table's
/// order; `None` when the group cannot be listed (the problem is in `c`).
pub(super) fn path_entries(c: &mut Check<'_>) -> Option<Vec<Entry>> {
    let lending = match h5::list_datasets(c.file, "/paths") {
        Ok(names) => names.iter().any(|n| n == LENDING_METRICS[0].name),
        Err(e) => {
            c.h5(&e);
            return None;
        }
    };
    Some(
        path_metrics(lending)
            .map(|d| Entry {
                dataset: format!("/paths/{}", d.name),
                kind: d.kind,
                nonneg: d.unit == "USD",
                name: d.name,
                unit: d.unit,
                description: d.description,
                summarize: d.summarize,
            })
            .collect(),
    )
}

/// The entries of `/assets/<asset>`: the venue-only metrics for assets with `venues`, the
/// cross-margin ones (and the by-trigger matrix, `paths × assets`) when `cross_margin`.
pub(super) fn asset_entries(
    assets: &[String],
    venues: &[bool],
    cross_margin: bool,
) -> Vec<AssetEntries> {
    assets
        .iter()
        .zip(venues)
        .map(|(a, &venues)| AssetEntries {
            asset: a.clone(),
            columns: ASSET_METRICS
                .iter()
                .filter(|d| d.applies(venues, cross_margin))
                .map(|d| Entry {
                    dataset: format!("/assets/{a}/{}", d.name),
                    kind: Kind::F64,
                    nonneg: d.unit == "USD",
                    name: d.name,
                    unit: d.unit,
                    description: d.description,
                    summarize: false,
                })
                .collect(),
            by_trigger: cross_margin.then_some(assets.len()),
        })
        .collect()
}

/// The entries of `/populations/<k>` for the populations `ids` (scenario order): none in a
/// file without `/populations` (rare-event runs, files written before the figures
/// existed). A group that is not one of the scenario's populations is a problem (in `c`).
pub(super) fn population_entries(
    c: &mut Check<'_>,
    ids: &[PopulationId],
) -> Vec<PopulationEntries> {
    let f = c.file;
    let first = first_population_datasets(f);
    if first.is_empty() {
        return Vec::new();
    }
    // One group per population of the scenario, `0` to `n - 1`, and no other.
    let groups = h5::list_groups(f, "/populations").unwrap_or_default();
    let unknown: Vec<&String> = groups
        .iter()
        .filter(|g| {
            !g.parse::<usize>()
                .is_ok_and(|k| k < ids.len() && g.as_str() == k.to_string())
        })
        .collect();
    if !unknown.is_empty() {
        c.push(format!(
            "group /populations: holds {}, but the scenario has {} population{} (groups 0 to {})",
            unknown
                .iter()
                .map(|g| format!("/populations/{g}"))
                .collect::<Vec<_>>()
                .join(", "),
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            ids.len().saturating_sub(1)
        ));
    }
    // The funding and engine columns are written for every population or for none
    // (scenarios without `funding`, `liquidation_engine`): the first population's group says
    // which.
    let has = |defs: &[crate::metrics::PopulationMetricDef]| {
        defs.iter().any(|d| first.iter().any(|n| n == d.name))
    };
    let (funding, engine) = (
        has(FUNDING_POPULATION_METRICS),
        has(crate::metrics::ENGINE_POPULATION_METRICS),
    );
    ids.iter()
        .enumerate()
        .map(|(k, id)| PopulationEntries {
            id: id.clone(),
            columns: crate::metrics::population_metrics(funding, engine)
                .map(|d| Entry {
                    dataset: format!("/populations/{k}/{}", d.name),
                    kind: d.kind,
                    // Population columns include signed ones (`backstop_pnl`): bounds only.
                    nonneg: false,
                    name: d.name,
                    unit: d.unit,
                    description: d.description,
                    summarize: false,
                })
                .collect(),
        })
        .collect()
}

/// The datasets of `/populations/0`: none when a file holds no per-population columns
/// (rare-event runs, files written before the figures existed).
pub fn first_population_datasets(f: &Path) -> Vec<String> {
    h5::list_datasets(f, "/populations/0").unwrap_or_default()
}

/// Reads and checks the per-path columns of `/paths` (the lending ones when the file has
/// them): each stored with its metric's type, one value per path, floats finite, flags 0
/// or 1. The columns come back with their names, units and kinds, in the
/// table's order.
///
/// # Errors
/// Every problem of every column at once.
pub fn read_path_columns(f: &Path, paths: u64) -> Result<Vec<Column>, FileProblems> {
    let mut c = Check::new(f);
    let Some(len) = c.held_len(paths) else {
        return c.finish(Vec::new());
    };
    let Some(entries) = path_entries(&mut c) else {
        return c.finish(Vec::new());
    };
    let columns = c.read_all(&entries, len);
    c.finish(columns)
}

/// Reads and checks the per-asset columns `/assets/<asset>/<metric>` (the venue-only ones for
/// assets with `venues`, the cross-margin ones when `cross_margin`, with the by-trigger
/// matrix, `paths × assets`), as [`read_path_columns`] does.
///
/// # Errors
/// Every problem at once.
pub fn read_asset_columns(
    f: &Path,
    assets: &[String],
    venues: &[bool],
    cross_margin: bool,
    paths: u64,
) -> Result<Vec<AssetColumns>, FileProblems> {
    let mut c = Check::new(f);
    let len = usize::try_from(paths).unwrap_or(usize::MAX);
    let out = asset_entries(assets, venues, cross_margin)
        .into_iter()
        .map(|a| AssetColumns {
            columns: c.read_all(&a.columns, len),
            by_trigger: a.by_trigger.and_then(|n| c.by_trigger(&a.asset, n, len)),
            asset: a.asset,
        })
        .collect();
    c.finish(out)
}

/// Reads and checks the per-population columns `/populations/<k>/<metric>` of the
/// populations `ids` (scenario order), as [`read_path_columns`] does. A file without
/// `/populations` (rare-event runs, files written before the figures existed) has none.
///
/// # Errors
/// Every problem at once.
pub fn read_population_columns(
    f: &Path,
    ids: &[PopulationId],
    paths: u64,
) -> Result<Vec<PopulationColumns>, FileProblems> {
    let mut c = Check::new(f);
    let len = usize::try_from(paths).unwrap_or(usize::MAX);
    let out = population_entries(&mut c, ids)
        .into_iter()
        .map(|p| PopulationColumns {
            columns: c.read_all(&p.columns, len),
            name: p.id.name,
            asset: p.id.asset,
            venue: p.id.venue,
        })
        .collect();
    c.finish(out)
}

/// Longest `/tails/<metric>` table accepted (the run's tables have a few hundred rows).
const MAX_TAIL_ROWS: usize = 1_000_000;

/// Checks what `report`, `tails` and `compare` do not otherwise read but a file
/// must hold whole: the path ids of `/paths/path` (and of every `/assets/<asset>/path`),
/// `first_path` to `first_path + paths - 1` in order; every `/assets/<asset>/<metric>` one
/// finite value per path in range, the by-trigger matrix `paths × assets`; and the
/// `/tails/<metric>` tables finite (NaN only in the columns whose description allows it).
///
/// # Errors
/// Every problem at once, each naming its dataset.
pub fn check_run_datasets(f: &Path, p: &Provenance) -> Result<(), FileProblems> {
    let mut c = Check::new(f);
    let Some(len) = c.held_len(p.paths) else {
        return c.finish(());
    };
    c.path_scales(&p.assets, p.first_path, len);
    for a in &p.assets {
        let names = h5::list_datasets(f, &format!("/assets/{a}")).unwrap_or_default();
        for d in ASSET_METRICS
            .iter()
            .filter(|d| names.iter().any(|n| n == d.name))
        {
            c.column(
                &format!("/assets/{a}/{}", d.name),
                Kind::F64,
                len,
                d.unit == "USD",
            );
        }
        if names.iter().any(|n| n == BY_TRIGGER) {
            c.by_trigger(a, p.assets.len(), len);
        }
    }
    let nan_ok = super::columns::tail_table_columns();
    for metric in h5::list_groups(f, "/tails").unwrap_or_default() {
        let names = h5::list_datasets(f, &format!("/tails/{metric}")).unwrap_or_default();
        for (name, nan) in nan_ok.iter().filter(|(n, _)| names.iter().any(|x| x == n)) {
            let dataset = format!("/tails/{metric}/{name}");
            match c.dataset(&dataset, MAX_TAIL_ROWS) {
                Some((Stored::F64(v), _)) => {
                    let must = if *nan {
                        "finite or NaN (where the fit failed)"
                    } else {
                        "finite"
                    };
                    c.bad_values(
                        &dataset,
                        &v,
                        |x: f64| x.is_infinite() || (!nan && x.is_nan()),
                        must,
                    );
                }
                Some((stored, _)) => c.push(format!(
                    "dataset {dataset}: holds {} values, expected float",
                    stored.type_name()
                )),
                None => {}
            }
        }
    }
    c.finish(())
}

/// Checks the path-id scales of a file holding paths `first .. first + len - 1` (a shard's
/// range, or a whole run's): the `path` dataset of `/paths`, of every `/assets/<asset>` and
/// of every `/populations/<k>` must hold exactly those ids in order. `merge` checks every
/// shard this way, so a shard whose rows are not the paths its header claims is refused
/// rather than joined into a run with some paths twice and others missing.
///
/// # Errors
/// Every dataset whose ids are not the range, each named.
pub fn check_path_ids(
    f: &Path,
    assets: &[String],
    first: u64,
    len: u64,
) -> Result<(), FileProblems> {
    let mut c = Check::new(f);
    match usize::try_from(len) {
        Ok(len) => c.path_scales(assets, first, len),
        Err(_) => c.push(format!("{len} paths cannot be held in memory")),
    }
    c.finish(())
}

impl Check<'_> {
    /// The `path` scales of `/paths`, `/assets/<asset>` and `/populations/<k>` (those that
    /// have one: files of the older layout have none) hold the ids `first ..`, `len` of them.
    fn path_scales(&mut self, assets: &[String], first: u64, len: usize) {
        let populations = h5::list_groups(self.file, "/populations").unwrap_or_default();
        let groups = std::iter::once("/paths".to_string())
            .chain(assets.iter().map(|a| format!("/assets/{a}")))
            .chain(populations.iter().map(|k| format!("/populations/{k}")));
        for g in groups {
            if h5::list_datasets(self.file, &g).is_ok_and(|n| n.iter().any(|n| n == "path")) {
                self.path_ids(&format!("{g}/path"), first, len);
            }
        }
    }

    /// The dimension scale `dataset` must hold the ids `first` .. `first + len - 1`.
    fn path_ids(&mut self, dataset: &str, first: u64, len: usize) {
        let Some((stored, shape)) = self.dataset(dataset, len) else {
            return;
        };
        let ids: Vec<u64> = match stored {
            Stored::U64(v) => v,
            Stored::U32(v) => v.into_iter().map(u64::from).collect(),
            other => {
                self.push(format!(
                    "dataset {dataset}: holds {} values, expected u64 path ids",
                    other.type_name()
                ));
                return;
            }
        };
        let wrong = (0..ids.len()).find(|&i| Some(ids[i]) != first.checked_add(i as u64));
        if shape != [len] || wrong.is_some() {
            let at = wrong.map_or(String::new(), |i| format!("; [{i}] = {}", ids[i]));
            self.push(format!(
                "dataset {dataset}: must hold the path ids {first} to {} in order, one per path{at}",
                (first + len as u64).saturating_sub(1)
            ));
        }
    }
}

/// Largest realised-heatmap dimension accepted (the run's grid is 48 × 200).
const MAX_GRID: usize = 10_000;

/// Reads and checks the realised heatmap of every asset, `/realised_heatmap/<asset>`: an
/// asset without the group (a file written before it was recorded) has none; a group that is
/// there must be whole: `time_edges` and `price_edges` finite and strictly increasing,
/// `notional` of shape `(time_edges - 1, price_edges - 1)` with finite values `>= 0`, and a
/// finite `start_price > 0`.
///
/// # Errors
/// Every problem at once.
pub fn read_realised(f: &Path, p: &Provenance) -> Result<Vec<RealisedView>, FileProblems> {
    let mut c = Check::new(f);
    let groups = h5::list_groups(f, "/realised_heatmap").unwrap_or_default();
    let mut out = Vec::new();
    for a in &p.assets {
        if !groups.iter().any(|g| g == a) {
            continue;
        }
        let g = format!("/realised_heatmap/{a}");
        let mut edges = |name: &str| -> Option<Vec<f64>> {
            let ds = format!("{g}/{name}");
            let (stored, shape) = c.dataset(&ds, MAX_GRID + 1)?;
            let Stored::F64(v) = stored else {
                c.push(format!(
                    "dataset {ds}: holds {} values, expected float",
                    stored.type_name()
                ));
                return None;
            };
            if shape.len() != 1 || v.len() < 2 {
                c.push(format!(
                    "dataset {ds}: shape {shape:?}, expected at least two edges"
                ));
                return None;
            }
            if v.iter().any(|x| !x.is_finite()) || v.windows(2).any(|w| w[0] >= w[1]) {
                c.push(format!(
                    "dataset {ds}: edges must be finite and strictly increasing"
                ));
                return None;
            }
            Some(v)
        };
        let time_edges = edges("time_edges");
        let price_edges = edges("price_edges");
        if let Some(pe) = &price_edges
            && pe[0] <= 0.0
        {
            c.push(format!(
                "dataset {g}/price_edges: prices must be > 0, found {}",
                pe[0]
            ));
        }
        let start_price = c.f64(&g, "start_price").filter(|&x| {
            let ok = x > 0.0;
            if !ok {
                c.push(format!(
                    "attribute \"start_price\" of {g}: must be > 0, found {x}"
                ));
            }
            ok
        });
        let ds = format!("{g}/notional");
        let notional = c.dataset(&ds, MAX_GRID * MAX_GRID).and_then(|(stored, shape)| {
            let Stored::F64(v) = stored else {
                c.push(format!("dataset {ds}: holds {} values, expected float", stored.type_name()));
                return None;
            };
            if let (Some(t), Some(pe)) = (&time_edges, &price_edges)
                && shape != [t.len() - 1, pe.len() - 1]
            {
                c.push(format!(
                    "dataset {ds}: shape {shape:?}, but time_edges and price_edges call for [{}, {}]",
                    t.len() - 1,
                    pe.len() - 1
                ));
                return None;
            }
            c.bad_values(&ds, &v, |x| !x.is_finite() || x < 0.0, "finite and >= 0")?;
            Some(v)
        });
        if let (Some(time_edges), Some(price_edges), Some(notional), Some(start_price)) =
            (time_edges, price_edges, notional, start_price)
        {
            out.push(RealisedView {
                asset: a.clone(),
                start_price,
                price_edges,
                time_edges,
                notional,
                paths: p.paths,
                step_seconds: p.step_seconds,
            });
        }
    }
    c.finish(out)
}

/// A shard's place in its run: `(index, count, paths it holds)`, with `count >= 1` and
/// `index < count`.
///
/// # Errors
/// Missing or mistyped attributes, or an index outside the count.
pub fn read_shard_place(f: &Path) -> Result<(u64, u64, u64), FileProblems> {
    let mut c = Check::new(f);
    if let Err(e) = h5::check_container(f) {
        c.h5(&e);
        return Err(c.into_problems());
    }
    let index = c.u64("/", "shard_index");
    let count = c.u64("/", "shard_count");
    let paths = c.u64("/", "shard_paths");
    if let (Some(k), Some(n)) = (index, count)
        && k >= n
    {
        c.push(format!(
            "attributes \"shard_index\" ({k}) and \"shard_count\" ({n}): a shard's index must be below the count (and the count at least 1)"
        ));
    }
    match (index, count, paths) {
        (Some(k), Some(n), Some(p)) if c.problems.is_empty() => Ok((k, n, p)),
        _ => Err(c.into_problems()),
    }
}

/// The realised-heatmap cents of each asset of a shard (`/realised_cents/<asset>/cents`,
/// the low 64 bits, and `cents_high`, the high 64 bits), `cells` per asset.
///
/// # Errors
/// Missing datasets, other types or lengths.
pub fn read_shard_cents(
    f: &Path,
    assets: &[String],
    cells: usize,
) -> Result<Vec<Vec<u128>>, FileProblems> {
    let mut c = Check::new(f);
    let mut part = |ds: String| -> Option<Vec<u64>> {
        let (stored, shape) = c.dataset(&ds, cells)?;
        match stored {
            Stored::U64(v) if shape == [cells] => Some(v),
            other => {
                c.push(format!(
                    "dataset {ds}: {} values of shape {shape:?}, expected {cells} u64 values",
                    other.type_name()
                ));
                None
            }
        }
    };
    let out: Vec<Vec<u128>> = assets
        .iter()
        .filter_map(|a| {
            let lo = part(format!("/realised_cents/{a}/cents"));
            let hi = part(format!("/realised_cents/{a}/cents_high"));
            let (lo, hi) = (lo?, hi?);
            Some(
                lo.iter()
                    .zip(&hi)
                    .map(|(&l, &h)| (u128::from(h) << 64) | u128::from(l))
                    .collect(),
            )
        })
        .collect();
    c.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_file_on_every_line() {
        let p = FileProblems {
            file: PathBuf::from("r.h5"),
            problems: vec!["a".into(), "b".into()],
        };
        assert_eq!(p.to_string(), "r.h5: a\nr.h5: b");
    }

    #[test]
    fn asset_names_that_cannot_name_a_group_are_refused() {
        assert!(asset_name_ok("BTC"));
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(!asset_name_ok(bad), "{bad:?}");
        }
        assert!(!asset_name_ok(&"x".repeat(65)));
    }
}

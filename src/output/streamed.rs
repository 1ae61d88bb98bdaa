//! A whole plain run's `results.h5`, written while the run simulates: [`PathsWriter`]
//! declares the per-path datasets (`/paths`, `/assets/<name>`, `/populations/<k>`, laid out
//! as [`super::write_run_with_traces`] lays them out) in the staged file and appends each
//! block of paths as it comes ([`super::h5::StreamWriter::append_batch`]); once every path
//! is in, [`PathsWriter::into_source`] turns it into a [`StreamedRun`], the run's
//! [`ColumnSource`]: each column read back from the temporary file when asked for, so the
//! statistics, replays and figures never hold more than the columns they work on. Then
//! [`StreamedRun::finish`] adds the rest (tail diagnostics, traces, the realised heatmap,
//! every attribute and the summary) and puts the file in place, with `summary.json` beside
//! it. Dropping either before that removes the temporary file.
//!
//! [`PathsWriter::push`] takes the paths in pieces of any size (a merge's shards one after
//! another, the parts of MPI ranks as they arrive) and appends them in the blocks a single
//! run streams, so that the bytes are the same: the chunks of several blocks interleave in
//! the file in block order. [`write_held`] writes the same file from columns held in memory
//! (a whole plain run simulated without its staged file: library callers, tests).

use std::borrow::Cow;
use std::sync::Mutex;

use crate::engine::realised::RealisedHeatmap;
use crate::engine::trace::TraceSet;
use crate::metrics::{
    AssetColumns, Column, ColumnSource, Header, PopulationColumns, PopulationId, TRIGGER_DIM,
    Values,
};
use crate::summary::Summary;
use crate::tails::TailReport;

use super::h5::{
    AttrValue, ChunkReader, ColumnData, ColumnMeta, DatasetId, H5Error, Stored, StreamWriter,
};
use super::{
    OutputError, OwnedGroup, PLAIN_PATHS_DESCRIPTION, RunColumns, Staging, extra_groups, path_dim,
    path_groups, path_ids, root_attrs, trigger_ids,
};

/// A per-path dataset as declared: its id and what it holds.
#[derive(Debug, Clone)]
struct Declared {
    id: DatasetId,
    /// The group's index in the declaration order of [`path_groups`].
    group: usize,
    role: Role,
}

#[derive(Debug, Clone)]
enum Role {
    /// The `path` scale (path ids).
    Scale,
    /// A metric column (its values empty).
    Metric(Column),
    /// `trigger_asset` (written with the first block, in its place, so that a run of one
    /// block is laid out byte for byte as a write of whole columns).
    TriggerScale,
    /// An asset's by-trigger matrix.
    ByTrigger,
}

/// The per-path datasets of a run being simulated; see the module documentation.
pub struct PathsWriter {
    writer: StreamWriter,
    first: u64,
    n: u64,
    /// Paths appended so far.
    done: u64,
    /// The blocks [`PathsWriter::push`] appends (a run's simulated blocks: `mc::BLOCK` but
    /// in tests).
    block: usize,
    /// Rows pushed but not yet appended: fewer than a block, the start of the next one.
    pending: Option<Rows>,
    /// The template's columns, which every piece pushed must have.
    shape: Vec<GroupShape>,
    declared: Vec<Declared>,
    /// Each group's path and attributes (given to the file at the end).
    groups: Vec<(String, Vec<(String, AttrValue)>)>,
    assets: Vec<String>,
    populations: Vec<(PopulationId, Vec<&'static str>)>,
    n_assets: usize,
}

impl PathsWriter {
    /// Creates the staged `results.h5` of a run of `n` paths from `first`, simulated in
    /// blocks of `block` paths, whose columns are shaped like `template` (the same columns
    /// without rows), and declares its per-path datasets.
    ///
    /// # Errors
    /// The temporary file cannot be created, or a dataset cannot be declared.
    pub fn create(
        staging: &Staging,
        first: u64,
        n: u64,
        block: u64,
        template: RunColumns<'_>,
    ) -> Result<PathsWriter, OutputError> {
        let target = staging.path("results.h5");
        let mut writer = StreamWriter::create(&target)?;
        let dim = path_dim(None);
        let triggers = trigger_ids(template.assets.len());
        let groups = path_groups(
            PLAIN_PATHS_DESCRIPTION,
            first,
            template,
            dim,
            &[],
            &triggers,
        );
        let mut declared = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for (c, column) in group.columns.iter().enumerate() {
                let trigger_scale = column.scale && column.name == TRIGGER_DIM;
                let mut meta = ColumnMeta::of(column).map_err(|reason| H5Error::Invalid {
                    path: target.clone(),
                    what: format!("dataset {}/{}", group.path, column.name),
                    reason: reason.to_owned(),
                })?;
                if !trigger_scale {
                    meta.shape[0] = n;
                }
                let id = writer.declare(&group.path, meta)?;
                let role = if trigger_scale {
                    Role::TriggerScale
                } else if c == 0 {
                    Role::Scale
                } else if column.name == crate::metrics::BY_TRIGGER {
                    Role::ByTrigger
                } else {
                    Role::Metric(metric_header(template, g, column.name))
                };
                declared.push(Declared { id, group: g, role });
            }
        }
        Ok(PathsWriter {
            writer,
            first,
            n,
            done: 0,
            block: usize::try_from(block.max(1)).unwrap_or(usize::MAX),
            pending: None,
            shape: shape_of(template),
            declared,
            groups: groups
                .iter()
                .map(|g| (g.path.clone(), g.attrs.clone()))
                .collect(),
            assets: template.assets.iter().map(|a| a.asset.clone()).collect(),
            populations: template
                .populations
                .iter()
                .map(|p| {
                    (
                        PopulationId {
                            name: p.name.clone(),
                            asset: p.asset.clone(),
                            venue: p.venue.clone(),
                        },
                        p.columns.iter().map(|c| c.name).collect(),
                    )
                })
                .collect(),
            n_assets: template.assets.len(),
        })
    }

    /// Appends the next block of paths (the columns of paths `first + done ..`, shaped like
    /// the template), its chunks compressed on the rayon pool.
    ///
    /// # Errors
    /// A block out of order or too long, or a write that fails.
    pub fn append(&mut self, block: RunColumns<'_>) -> Result<(), OutputError> {
        let len = block.paths.first().map_or(0, |c| c.values.len());
        let start = self.first + self.done;
        let ids = path_ids(start, len);
        let triggers = trigger_ids(self.n_assets);
        let groups = path_groups(
            PLAIN_PATHS_DESCRIPTION,
            self.first,
            block,
            path_dim(None),
            &ids,
            &triggers,
        );
        let columns = groups.iter().flat_map(|g| &g.columns);
        let mut pieces: Vec<(DatasetId, ColumnData<'_>)> = Vec::new();
        let mut count = 0;
        for (d, column) in self.declared.iter().zip(columns) {
            count += 1;
            if self.done == 0 || !matches!(d.role, Role::TriggerScale) {
                pieces.push((d.id, column.data));
            }
        }
        if count != self.declared.len() {
            return Err(OutputError::H5(H5Error::Invalid {
                path: staging_target(&self.writer),
                what: "a block of paths".into(),
                reason: "not shaped like the run's columns".into(),
            }));
        }
        self.writer.append_batch(&pieces)?;
        self.done += len as u64;
        Ok(())
    }

    /// Appends the next paths, any number of them (the columns of paths `first + done ..`
    /// not yet pushed, shaped like the template), in the run's blocks: the rows that do not
    /// fill a block are kept until the next push fills it or the run's last path is in. So
    /// columns pushed in any pieces (a merge's shards, a whole held run) give the file a run
    /// that appended the same paths block by block writes, byte for byte.
    ///
    /// # Errors
    /// Columns of different lengths, more paths than the run has, or a write that fails.
    pub fn push(&mut self, part: RunColumns<'_>) -> Result<(), OutputError> {
        if self.unlike(part).is_some() {
            return Err(self.invalid("not shaped like the run's columns"));
        }
        let n = self.lengths(part)?;
        let held = self.pending.as_ref().map_or(0, Rows::len);
        if self.done + (held + n) as u64 > self.n {
            return Err(self.invalid("more paths than the run has"));
        }
        let mut a = 0;
        while a < n {
            let held = self.pending.as_ref().map_or(0, Rows::len);
            let b = a + (self.block - held).min(n - a);
            let rows = Rows::of(part, a..b);
            let rows = match self.pending.take() {
                Some(mut p) => {
                    p.extend(rows);
                    p
                }
                None => rows,
            };
            if rows.len() == self.block || self.done + rows.len() as u64 == self.n {
                self.append(rows.view())?;
            } else {
                self.pending = Some(rows);
            }
            a = b;
        }
        Ok(())
    }

    /// The first group of `part` whose columns (names, kinds, a by-trigger matrix or none)
    /// are not the run's, named as in the file (`/paths`, `/assets/<name>`,
    /// `/populations/<k>`; "the groups" when their number differs); `None` when `part` is
    /// shaped like the run.
    pub fn unlike(&self, part: RunColumns<'_>) -> Option<String> {
        let theirs = shape_of(part);
        if theirs.len() != self.shape.len() {
            return Some("the groups".into());
        }
        theirs
            .iter()
            .zip(&self.shape)
            .find(|(a, b)| a != b)
            .map(|(a, _)| a.group.clone())
    }

    /// The number of paths in `part`: every column one value per path, every by-trigger
    /// matrix one row per path (columns gathered from MPI ranks are not read through the
    /// file checks): refused, not sliced out of range.
    fn lengths(&self, part: RunColumns<'_>) -> Result<usize, OutputError> {
        let n = part.paths.first().map_or(0, |c| c.values.len());
        let n_assets = part.assets.len();
        let mut all = part
            .paths
            .iter()
            .chain(part.assets.iter().flat_map(|a| &a.columns))
            .chain(part.populations.iter().flat_map(|p| &p.columns));
        let short = all.any(|c| c.values.len() != n)
            || part.assets.iter().any(|a| {
                a.by_trigger
                    .as_ref()
                    .is_some_and(|m| m.len() != n.saturating_mul(n_assets))
            });
        if short {
            return Err(self.invalid("columns of different lengths"));
        }
        Ok(n)
    }

    /// An error about the per-path datasets.
    fn invalid(&self, reason: &str) -> OutputError {
        OutputError::H5(H5Error::Invalid {
            path: staging_target(&self.writer),
            what: "the per-path datasets".into(),
            reason: reason.into(),
        })
    }

    /// Every path appended: the run's columns as a [`ColumnSource`] reading them back.
    ///
    /// # Errors
    /// Paths are missing, or the file cannot be flushed.
    pub fn into_source(mut self) -> Result<StreamedRun, OutputError> {
        if self.done != self.n {
            return Err(self.invalid("not every path was appended"));
        }
        let reader = self.writer.reader()?;
        Ok(StreamedRun {
            paths: self,
            reader,
            error: Mutex::new(None),
        })
    }
}

/// One group's columns as [`PathsWriter::push`] checks them.
#[derive(Debug, PartialEq)]
struct GroupShape {
    group: String,
    columns: Vec<(&'static str, std::mem::Discriminant<Values>)>,
    by_trigger: bool,
}

/// Every group's columns, in the order of the file's groups.
fn shape_of(part: RunColumns<'_>) -> Vec<GroupShape> {
    let columns = |cs: &[Column]| {
        cs.iter()
            .map(|c| (c.name, std::mem::discriminant(&c.values)))
            .collect()
    };
    std::iter::once(GroupShape {
        group: "/paths".into(),
        columns: columns(part.paths),
        by_trigger: false,
    })
    .chain(part.assets.iter().map(|a| GroupShape {
        group: format!("/assets/{}", a.asset),
        columns: columns(&a.columns),
        by_trigger: a.by_trigger.is_some(),
    }))
    .chain(
        part.populations
            .iter()
            .enumerate()
            .map(|(k, p)| GroupShape {
                group: format!("/populations/{k}"),
                columns: columns(&p.columns),
                by_trigger: false,
            }),
    )
    .collect()
}

/// The target of a writer, for messages.
fn staging_target(writer: &StreamWriter) -> std::path::PathBuf {
    writer.target().to_path_buf()
}

/// The header of the metric column `name` of the template's group `g` (the declaration
/// order of [`path_groups`]: paths, each asset, each population).
fn metric_header(template: RunColumns<'_>, g: usize, name: &str) -> Column {
    let columns: &[Column] = if g == 0 {
        template.paths
    } else if g <= template.assets.len() {
        &template.assets[g - 1].columns
    } else {
        &template.populations[g - 1 - template.assets.len()].columns
    };
    let c = columns
        .iter()
        .find(|c| c.name == name)
        .expect("the template's own column");
    c.with_values(c.values.rows(0..0))
}

/// A run's per-path datasets, all written, read back one column at a time
/// ([`ColumnSource`]); see the module documentation. A column that cannot be read back is
/// absent to the statistics, and [`StreamedRun::finish`] then fails with the read's error,
/// so no result built without it is kept.
pub struct StreamedRun {
    paths: PathsWriter,
    reader: ChunkReader,
    error: Mutex<Option<H5Error>>,
}

impl StreamedRun {
    /// The metric `name` of group `g`, read back.
    fn metric(&self, g: usize, name: &str) -> Option<Cow<'_, Column>> {
        let d = self
            .paths
            .declared
            .iter()
            .find(|d| d.group == g && matches!(&d.role, Role::Metric(c) if c.name == name))?;
        let Role::Metric(header) = &d.role else {
            return None;
        };
        let values = match (self.read(d.id)?, &header.values) {
            (Stored::F64(v), Values::F64(_)) => Values::F64(v),
            (Stored::U32(v), Values::U32(_)) => Values::U32(v),
            (Stored::Bool(v), Values::Flag(_)) => Values::Flag(v),
            _ => {
                self.fail(H5Error::Invalid {
                    path: self.reader.target().to_path_buf(),
                    what: format!("dataset {name}"),
                    reason: "read back in another type than it was written".into(),
                });
                return None;
            }
        };
        Some(Cow::Owned(header.with_values(values)))
    }

    fn read(&self, id: DatasetId) -> Option<Stored> {
        self.reader.read(id).map_err(|e| self.fail(e)).ok()
    }

    /// Keeps the first error.
    fn fail(&self, e: H5Error) {
        let mut slot = self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(e);
    }

    /// Adds everything after the per-path datasets — the tail diagnostics, the traces, the
    /// realised heatmap, every group's attributes and the root's (the provenance and
    /// `summary_json`) — and puts `results.h5` in place, then writes `summary.json`: the
    /// files [`super::write_run_with_traces`] writes, with the same content.
    ///
    /// # Errors
    /// A column could not be read back earlier, or a write fails (the temporary file is
    /// removed).
    pub fn finish(
        self,
        staging: &Staging,
        summary: &Summary,
        tail_reports: &[(&'static str, TailReport)],
        traces: &TraceSet,
        realised: &RealisedHeatmap,
    ) -> Result<(), OutputError> {
        let StreamedRun {
            paths,
            reader: _,
            error,
        } = self;
        if let Some(e) = error
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            return Err(e.into());
        }
        paths.finish(staging, summary, tail_reports, traces, realised)
    }
}

impl PathsWriter {
    /// Every path appended: adds everything after the per-path datasets (see
    /// [`StreamedRun::finish`]) and puts `results.h5` in place, then writes
    /// `summary.json`.
    ///
    /// # Errors
    /// Paths are missing, or a write fails (the temporary file is removed).
    fn finish(
        self,
        staging: &Staging,
        summary: &Summary,
        tail_reports: &[(&'static str, TailReport)],
        traces: &TraceSet,
        realised: &RealisedHeatmap,
    ) -> Result<(), OutputError> {
        if self.done != self.n {
            return Err(self.invalid("not every path was appended"));
        }
        let PathsWriter {
            mut writer, groups, ..
        } = self;
        let (root, json) = root_attrs(summary)?;
        let extra = extra_groups(summary, tail_reports, traces, Some(realised));
        for group in extra.iter().map(OwnedGroup::as_group) {
            // Its attributes first, as a whole write adds them: a group of attributes alone
            // (a tail without diagnostics) takes its place among the objects.
            if !group.attrs.is_empty() {
                writer.add_attrs(&group.path, &group.attrs)?;
            }
            for column in &group.columns {
                let meta = ColumnMeta::of(column).map_err(|reason| H5Error::Invalid {
                    path: writer.target().to_path_buf(),
                    what: format!("dataset {}/{}", group.path, column.name),
                    reason: reason.to_owned(),
                })?;
                let id = writer.declare(&group.path, meta)?;
                writer.append_batch(&[(id, column.data)])?;
            }
        }
        let group_attrs: Vec<(&str, &[(String, AttrValue)])> = groups
            .iter()
            .filter(|(_, a)| !a.is_empty())
            .map(|(path, a)| (path.as_str(), a.as_slice()))
            .collect();
        writer.finish(&root, &group_attrs)?;
        staging.write("summary.json", format!("{json}\n").as_bytes())?;
        Ok(())
    }
}

/// A whole plain run's `results.h5` and `summary.json` from columns held in memory (a run
/// simulated without its staged file): the file a run that streamed the same columns in
/// blocks of `block` paths writes, byte for byte ([`PathsWriter::push`]), then the rest as
/// [`StreamedRun::finish`] adds it.
///
/// # Errors
/// Columns of different lengths, or a write fails (the temporary file is removed).
#[allow(clippy::too_many_arguments)]
pub fn write_held(
    staging: &Staging,
    columns: RunColumns<'_>,
    first: u64,
    block: u64,
    summary: &Summary,
    tail_reports: &[(&'static str, TailReport)],
    traces: &TraceSet,
    realised: &RealisedHeatmap,
) -> Result<(), OutputError> {
    let n = columns.paths.first().map_or(0, |c| c.values.len());
    let mut writer = PathsWriter::create(staging, first, n as u64, block, columns)?;
    writer.push(columns)?;
    writer.finish(staging, summary, tail_reports, traces, realised)
}

/// Rows of every column of a run (the by-trigger matrices' rows too), copied: a block
/// being put together.
struct Rows {
    paths: Vec<Column>,
    assets: Vec<AssetColumns>,
    populations: Vec<PopulationColumns>,
}

impl Rows {
    /// Rows `r` of `columns`.
    fn of(columns: RunColumns<'_>, r: std::ops::Range<usize>) -> Rows {
        let cut = |cs: &[Column]| -> Vec<Column> {
            cs.iter()
                .map(|c| c.with_values(c.values.rows(r.clone())))
                .collect()
        };
        let n_assets = columns.assets.len();
        Rows {
            paths: cut(columns.paths),
            assets: columns
                .assets
                .iter()
                .map(|a| AssetColumns {
                    asset: a.asset.clone(),
                    columns: cut(&a.columns),
                    by_trigger: a
                        .by_trigger
                        .as_ref()
                        .map(|m| m[r.start * n_assets..r.end * n_assets].to_vec()),
                })
                .collect(),
            populations: columns
                .populations
                .iter()
                .map(|p| PopulationColumns {
                    name: p.name.clone(),
                    asset: p.asset.clone(),
                    venue: p.venue.clone(),
                    columns: cut(&p.columns),
                })
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.paths.first().map_or(0, |c| c.values.len())
    }

    /// `more`'s rows after these (both cut from columns of one shape).
    fn extend(&mut self, more: Rows) {
        let join = |a: &mut Vec<Column>, b: Vec<Column>| {
            for (x, y) in a.iter_mut().zip(b) {
                x.values.append(y.values);
            }
        };
        join(&mut self.paths, more.paths);
        for (x, y) in self.assets.iter_mut().zip(more.assets) {
            join(&mut x.columns, y.columns);
            // Row-major paths × assets: later paths are later rows.
            if let (Some(m), Some(n)) = (&mut x.by_trigger, y.by_trigger) {
                m.extend(n);
            }
        }
        for (x, y) in self.populations.iter_mut().zip(more.populations) {
            join(&mut x.columns, y.columns);
        }
    }

    fn view(&self) -> RunColumns<'_> {
        RunColumns {
            paths: &self.paths,
            assets: &self.assets,
            populations: &self.populations,
        }
    }
}

impl ColumnSource for StreamedRun {
    fn path_headers(&self) -> Vec<Header> {
        self.paths
            .declared
            .iter()
            .filter(|d| d.group == 0)
            .filter_map(|d| match &d.role {
                Role::Metric(c) => Some(Header::of(c)),
                _ => None,
            })
            .collect()
    }

    fn path(&self, name: &str) -> Option<Cow<'_, Column>> {
        self.metric(0, name)
    }

    fn asset_names(&self) -> Vec<String> {
        self.paths.assets.clone()
    }

    fn asset(&self, a: usize, name: &str) -> Option<Cow<'_, Column>> {
        (a < self.paths.assets.len())
            .then(|| self.metric(1 + a, name))
            .flatten()
    }

    fn by_trigger(&self, a: usize) -> Option<Cow<'_, [f64]>> {
        let d = self
            .paths
            .declared
            .iter()
            .find(|d| d.group == 1 + a && matches!(d.role, Role::ByTrigger))?;
        match self.read(d.id)? {
            Stored::F64(v) => Some(Cow::Owned(v)),
            _ => None,
        }
    }

    fn population_ids(&self) -> Vec<PopulationId> {
        self.paths
            .populations
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn population_names(&self, k: usize) -> Vec<&'static str> {
        self.paths
            .populations
            .get(k)
            .map_or_else(Vec::new, |(_, names)| names.clone())
    }

    fn population(&self, k: usize, name: &str) -> Option<Cow<'_, Column>> {
        (k < self.paths.populations.len())
            .then(|| self.metric(1 + self.paths.assets.len() + k, name))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `n` paths of two assets (with by-trigger matrices) and one population.
    fn columns(n: usize) -> Rows {
        let column = |name: &'static str, values: Values| Column {
            name,
            unit: "USD",
            description: "a test column",
            summarize: true,
            values,
        };
        let f = |k: f64| Values::F64((0..n).map(|i| (i as f64 * k).sin() * 1e6).collect());
        let paths = vec![
            column("loss", f(1.0)),
            column(
                "rounds",
                Values::U32((0..n as u32).map(|i| i % 7).collect()),
            ),
            column(
                "hit",
                Values::Flag((0..n).map(|i| u8::from(i % 3 == 0)).collect()),
            ),
        ];
        let assets = ["BTC", "ETH"]
            .iter()
            .enumerate()
            .map(|(a, name)| AssetColumns {
                asset: (*name).to_owned(),
                columns: vec![column("closed", f(2.0 + a as f64))],
                by_trigger: Some((0..2 * n).map(|i| i as f64 + a as f64).collect()),
            })
            .collect();
        let populations = vec![PopulationColumns {
            name: "longs".into(),
            asset: "BTC".into(),
            venue: None,
            columns: vec![column("liquidated", f(5.0))],
        }];
        Rows {
            paths,
            assets,
            populations,
        }
    }

    /// The staged file's bytes once every path is in, with the paths pushed in `pieces`
    /// (row counts) into blocks of `block`.
    fn staged(n: usize, block: u64, pieces: &[usize]) -> Vec<u8> {
        let run = columns(n);
        let all = run.view();
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::new(&dir.path().join("run")).unwrap();
        let mut w = PathsWriter::create(&staging, 0, n as u64, block, all).unwrap();
        let mut a = 0;
        for &k in pieces {
            let piece = Rows::of(all, a..a + k);
            w.push(piece.view()).unwrap();
            a += k;
        }
        assert_eq!(a, n);
        let source = w.into_source().unwrap();
        let tmp = std::fs::read_dir(staging.path(""))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(".tmp-"))
            .unwrap();
        let bytes = std::fs::read(tmp).unwrap();
        drop(source);
        bytes
    }

    /// Paths pushed in pieces of any sizes (empty ones, pieces across block boundaries,
    /// pieces longer than a block) are appended in the run's blocks: the file is the one
    /// a run appending each block whole writes, byte for byte, and differs from one with
    /// other blocks (so the comparison can fail).
    #[test]
    fn pieces_of_any_size_are_appended_in_the_runs_blocks() {
        // Past a chunk of f64 rows (the chunks of different datasets, completed in different
        // blocks, interleave in block order).
        let n = 70_001;
        let b = 9_000;
        let whole: Vec<usize> = (0..n).step_by(b).map(|a| b.min(n - a)).collect();
        let blocks = staged(n, b as u64, &whole);
        for pieces in [
            vec![n],
            vec![0, 3, 8_999, 1, 0, 40_000, 20_998],
            vec![4_500; 15].into_iter().chain([2_501]).collect(),
        ] {
            assert!(staged(n, b as u64, &pieces) == blocks, "{pieces:?}");
        }
        assert!(staged(n, 40_000, &[n]) != blocks);
    }

    /// More paths than the run has, or columns of different lengths, are refused.
    #[test]
    fn too_many_paths_or_uneven_columns_are_refused() {
        let run = columns(4);
        let all = run.view();
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::new(&dir.path().join("run")).unwrap();
        let mut w = PathsWriter::create(&staging, 0, 3, 2, all).unwrap();
        let e = w.push(all).unwrap_err().to_string();
        assert!(e.contains("more paths than the run has"), "{e}");
        let mut uneven = run.paths.clone();
        uneven[1].values = uneven[1].values.rows(0..3);
        let e = w
            .push(RunColumns {
                paths: &uneven,
                ..all
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("columns of different lengths"), "{e}");
    }
}

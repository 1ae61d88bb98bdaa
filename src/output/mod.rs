//! Result files: the only module that knows about HDF5 and JSON on disk.
//!
//! A run's folder is built in a hidden staging folder next to it and swapped into place
//! only when every file is complete ([`Staging`]), so an interrupted or failed run leaves
//! either the previous complete results or none, never a truncated file.

pub mod backtest;
mod columns;
pub mod compare;
pub mod cross_margin;
pub mod engine_figures;
pub mod figures;
pub mod format;
pub mod h5;
pub mod heatmap;
pub mod html;
mod metric_table;
pub mod page;
pub mod plot;
pub mod population;
pub mod read;
pub mod realised;
pub mod report_stage;
pub mod saved;
pub mod streamed;
pub mod style;
pub mod sweep;
pub mod sweep_page;
pub mod sweep_plot;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::engine::realised::RealisedHeatmap;
use crate::engine::trace::TraceSet;
use crate::metrics::{
    AssetColumns, BY_TRIGGER, BY_TRIGGER_DESCRIPTION, BY_TRIGGER_UNIT, Column, PopulationColumns,
    TRIGGER_DIM, Values,
};
use crate::shard::ShardSpec;
use crate::summary::{Provenance, Summary};
use crate::tails::TailReport;
use h5::{AttrValue, ColumnData, Group};

/// Errors while writing results.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    H5(#[from] h5::H5Error),
    #[error("cannot serialise the summary: {0}")]
    Json(#[from] serde_json::Error),
    /// The destination of a results folder is a file (or a link): it is not replaced.
    #[error("{} is in the way: it is not a folder (move or remove it; nothing was run)", .0.display())]
    NotAFolder(PathBuf),
    /// The destination of an output file exists and is not a regular file (a folder, a device,
    /// a FIFO, a socket): it is not replaced.
    #[error("{} is in the way: it exists and is not a regular file (a folder, device or FIFO is never replaced; nothing was written)", .0.display())]
    NotAFile(PathBuf),
    /// The new results are in place but the previous folder, set aside, could not be removed
    /// (a subfolder without write permission): not a failure of the run, a leftover to name.
    /// The reason is said in the message, not kept as a source (a chain of sources would say
    /// it twice).
    #[error("the new results are in place in {}, but the previous results folder could not be removed and is left at {} ({reason}); remove it by hand", .dest.display(), .old.display())]
    OldLeft {
        dest: PathBuf,
        old: PathBuf,
        reason: io::Error,
    },
    /// Figures that could not be written: the report is not put in place.
    #[error("cannot write {}: {}; nothing was replaced", if .0.len() == 1 { "a figure".to_string() } else { format!("{} figures", .0.len()) }, .0.join("; "))]
    Figures(Vec<String>),
    /// A name in the destination is longer than the filesystem takes (bad input, found
    /// before anything is written).
    #[error(transparent)]
    NameTooLong(#[from] NameTooLong),
}

/// The longest name of a file or folder, in bytes, on the filesystems written to (Linux's
/// `NAME_MAX`: ext4, XFS, Btrfs, tmpfs).
pub const NAME_MAX: usize = 255;
/// Bytes of the longest process id (a `u32`) in a staging or temporary name.
const PID_BYTES: usize = 10;
/// The longest name of a results folder: its staging folder `.<name>.partial-<pid>` must
/// be a name too (235 bytes).
pub const MAX_FOLDER_NAME: usize = NAME_MAX - ".".len() - ".partial-".len() - PID_BYTES;
/// The longest name of an output file: its temporary file `.<name>.tmp-<pid>` must be a name
/// too (239 bytes).
pub const MAX_FILE_NAME: usize = NAME_MAX - ".".len() - ".tmp-".len() - PID_BYTES;

/// A destination with a name longer than the filesystem takes: the command would fail with
/// "File name too long" after its work. Refused before any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {what} is {bytes} bytes; {rule}; nothing was written", .path.display())]
pub struct NameTooLong {
    pub path: PathBuf,
    /// Which name: its own, or a folder's on the way to it (quoted, cut).
    pub what: String,
    pub bytes: usize,
    /// The limit it breaks, in words.
    pub rule: String,
}

/// Refuses `dest`, a results folder (`folder`) or an output file, when one of its names is
/// longer than [`NAME_MAX`] or its own name longer than [`MAX_FOLDER_NAME`] (a folder) or
/// [`MAX_FILE_NAME`] (a file): its staging folder or temporary file could not be made.
///
/// # Errors
/// [`NameTooLong`], naming the name and the rule.
pub fn check_name_lengths(dest: &Path, folder: bool) -> Result<(), NameTooLong> {
    let too_long = |what: String, bytes: usize, rule: String| NameTooLong {
        path: dest.to_path_buf(),
        what,
        bytes,
        rule,
    };
    for c in dest.parent().into_iter().flat_map(Path::components) {
        if let std::path::Component::Normal(name) = c
            && name.len() > NAME_MAX
        {
            return Err(too_long(
                format!(
                    "the folder name {}",
                    crate::text::cut(&name.to_string_lossy())
                ),
                name.len(),
                format!("a name is at most {NAME_MAX} bytes"),
            ));
        }
    }
    let Some(name) = dest.file_name() else {
        return Ok(());
    };
    let (max, rule) = if folder {
        (
            MAX_FOLDER_NAME,
            format!(
                "a results folder's name is at most {MAX_FOLDER_NAME} bytes, so that its staging folder `.<name>.partial-<pid>` fits the filesystem's limit of {NAME_MAX} (results folders are named after the scenario file: give it a shorter name)"
            ),
        )
    } else {
        (
            MAX_FILE_NAME,
            format!(
                "an output file's name is at most {MAX_FILE_NAME} bytes, so that its temporary file `.<name>.tmp-<pid>` fits the filesystem's limit of {NAME_MAX}"
            ),
        )
    };
    if name.len() > max {
        return Err(too_long("its name".into(), name.len(), rule));
    }
    Ok(())
}

/// Refuses an output file's destination that exists and is not a regular file (after
/// following links): renaming the temporary file over it would replace a device, a FIFO or
/// a folder. Nothing there, or a regular file, is fine.
///
/// # Errors
/// [`OutputError::NotAFile`].
pub fn check_file_dest(path: &Path) -> Result<(), OutputError> {
    check_name_lengths(path, false)?;
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(OutputError::NotAFile(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// Whether the process that named a staging folder after its id is gone (not this one,
/// and no `/proc/<pid>`): its folder can be cleaned up.
fn process_gone(pid: u32) -> bool {
    pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Creates the empty folder `tmp`, first removing one left there by an earlier process of
/// the same id.
fn fresh_dir(tmp: &Path) -> Result<(), OutputError> {
    if tmp.exists() {
        fs::remove_dir_all(tmp).map_err(io_err(tmp))?;
    }
    fs::create_dir(tmp).map_err(io_err(tmp))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A results folder under construction. Dropping it without [`Staging::commit`] removes the
/// staging folder, and the parent folders it created when they are still empty, and leaves
/// the destination untouched.
pub struct Staging {
    dest: PathBuf,
    tmp: PathBuf,
    /// The parent folders [`Staging::new`] created, deepest first.
    created: Vec<PathBuf>,
    committed: bool,
}

/// Test hook: milliseconds [`Staging::commit`] sleeps inside its commit window (after the
/// swap, before the old folder is removed; or, without the swap, between the two renames),
/// so that a test can kill the process there.
pub const PAUSE_ENV: &str = "CASCADESIM_TEST_COMMIT_PAUSE_MS";

/// Test hook: when set, [`Staging::commit`] does not use `renameat2(RENAME_EXCHANGE)` (as on a
/// filesystem or kernel without it), so that the rename fallback and its recovery are tested.
pub const NO_EXCHANGE_ENV: &str = "CASCADESIM_TEST_NO_EXCHANGE";

impl Staging {
    /// Starts building `dest` (its parent is created if needed). Folders left by killed
    /// runs are cleaned up first, and a previous results folder a killed commit had set
    /// aside (`.<name>.old-<pid>` with no `<name>`) is put back.
    ///
    /// # Errors
    /// When a name of `dest` is too long ([`OutputError::NameTooLong`], see
    /// [`check_name_lengths`]) or `dest` exists and is not a folder
    /// ([`OutputError::NotAFolder`]), both before anything is made; when the parent folder
    /// cannot be created or written (the folders it made are removed).
    pub fn new(dest: &Path) -> Result<Staging, OutputError> {
        check_name_lengths(dest, true)?;
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // The missing folders made one at a time, from the top, so that only those this
        // process made are recorded (not one another process made meanwhile, nor one a
        // `..` in the path names that already exists).
        let missing: Vec<&Path> = parent
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err())
            .collect();
        // A file where a folder of the path should be is in the way (bad input, exit 2),
        // not an I/O failure.
        if let Some(d) = parent.ancestors().nth(missing.len())
            && !d.as_os_str().is_empty()
            && fs::metadata(d).is_ok_and(|m| !m.is_dir())
        {
            return Err(OutputError::NotAFolder(d.to_path_buf()));
        }
        let mut created = Vec::new();
        for d in missing.into_iter().rev() {
            match fs::create_dir(d) {
                Ok(()) => created.insert(0, d.to_path_buf()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err(d)(e)),
            }
        }
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "results".into());
        recover_abandoned(parent, &name, dest);
        if fs::symlink_metadata(dest).is_ok_and(|m| !m.is_dir()) {
            return Err(OutputError::NotAFolder(dest.to_path_buf()));
        }
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if let Err(e) = fresh_dir(&tmp) {
            // No folder of this process left behind (the parents it made, while empty).
            for d in &created {
                if fs::remove_dir(d).is_err() {
                    break;
                }
            }
            return Err(e);
        }
        Ok(Staging {
            dest: dest.to_path_buf(),
            tmp,
            created,
            committed: false,
        })
    }

    /// Path of a file inside the staging folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.tmp.join(file)
    }

    /// Writes a file into the staging folder and syncs it.
    ///
    /// # Errors
    /// On any I/O failure.
    pub fn write(&self, file: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let p = self.path(file);
        let mut f = fs::File::create(&p).map_err(io_err(&p))?;
        f.write_all(bytes).map_err(io_err(&p))?;
        f.sync_all().map_err(io_err(&p))?;
        Ok(())
    }

    /// Moves the finished folder into place. When a previous folder is there, the two are
    /// swapped in one step (`renameat2(RENAME_EXCHANGE)`) and the old one, now at the
    /// staging name, removed: at every instant the destination is the complete old folder
    /// or the complete new one. Where the swap is not available, the old folder is renamed
    /// aside (`.<name>.old-<pid>`), the new one renamed in, and the old one removed; a run
    /// killed between the two renames leaves the old folder aside, and the next
    /// [`Staging::new`] puts it back.
    ///
    /// # Errors
    /// On any I/O failure; the staging folder is then removed.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let parent = self.tmp.parent().unwrap_or(Path::new(".")).to_path_buf();
        if let Ok(d) = fs::File::open(&self.tmp) {
            let _ = d.sync_all();
        }
        let pause = || {
            if let Some(ms) = std::env::var(PAUSE_ENV)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
            {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        };
        let sync_parent = || {
            if let Ok(d) = fs::File::open(&parent) {
                let _ = d.sync_all();
            }
        };
        let had_old = fs::symlink_metadata(&self.dest).is_ok();
        if !had_old {
            fs::rename(&self.tmp, &self.dest).map_err(io_err(&self.dest))?;
            self.committed = true;
            sync_parent();
            return Ok(self.dest.clone());
        }
        if std::env::var_os(NO_EXCHANGE_ENV).is_none() && exchange(&self.tmp, &self.dest).is_ok() {
            // The staging name now holds the old folder; `Drop` would remove it too, but an
            // error must not be hidden.
            self.committed = true;
            sync_parent();
            pause();
            return self.remove_old(&self.tmp);
        }
        let old = parent.join(format!(
            ".{}.old-{}",
            self.dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        fs::rename(&self.dest, &old).map_err(io_err(&self.dest))?;
        pause();
        if let Err(e) = fs::rename(&self.tmp, &self.dest) {
            // Put the previous results back rather than leave nothing.
            let _ = fs::rename(&old, &self.dest);
            return Err(io_err(&self.dest)(e));
        }
        self.committed = true;
        sync_parent();
        self.remove_old(&old)
    }

    /// [`Staging::commit`] for a command that carries on once its new folder is in place:
    /// a previous folder that could not be removed ([`OutputError::OldLeft`]) is not a
    /// failure but a warning, returned with the folder (every command that writes a folder
    /// warns, prints its summary and exits 0).
    ///
    /// # Errors
    /// Every other error of [`Staging::commit`].
    pub fn commit_or_warn(self) -> Result<(PathBuf, Option<String>), OutputError> {
        match self.commit() {
            Ok(dir) => Ok((dir, None)),
            Err(OutputError::OldLeft { dest, old, reason }) => {
                let warning = OutputError::OldLeft {
                    dest: dest.clone(),
                    old,
                    reason,
                };
                Ok((dest, Some(warning.to_string())))
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the previous folder once the new one is in place.
    ///
    /// # Errors
    /// [`OutputError::OldLeft`] naming both folders when it cannot be removed.
    fn remove_old(&self, old: &Path) -> Result<PathBuf, OutputError> {
        match fs::remove_dir_all(old) {
            Ok(()) => Ok(self.dest.clone()),
            Err(reason) => Err(OutputError::OldLeft {
                dest: self.dest.clone(),
                old: old.to_path_buf(),
                reason,
            }),
        }
    }
}

/// Swaps two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the current directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange",
    ))
}

/// Cleans up after runs that were killed (whose process no longer exists; a live run's
/// folders are kept): a staging folder (`.<name>.partial-<pid>`) is removed; a folder set
/// aside by a commit (`.<name>.old-<pid>`) is the previous complete results, put back at
/// `dest` when nothing is there, removed when the new results made it into place.
fn recover_abandoned(parent: &Path, name: &str, dest: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let mut found: Vec<(bool, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let (old, pid) =
                [(false, ".partial-"), (true, ".old-")]
                    .iter()
                    .find_map(|&(old, tag)| {
                        file.strip_prefix(&format!(".{name}{tag}"))
                            .and_then(|p| p.parse::<u32>().ok())
                            .map(|pid| (old, pid))
                    })?;
            process_gone(pid).then(|| (old, e.path()))
        })
        .collect();
    found.sort();
    for (old, p) in found {
        if old && fs::symlink_metadata(dest).is_err() && fs::rename(&p, dest).is_ok() {
            continue;
        }
        let _ = fs::remove_dir_all(&p);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            // A command that failed leaves no empty folders behind; one another process has
            // put something in meanwhile is not empty and stays.
            for d in &self.created {
                if fs::remove_dir(d).is_err() {
                    break;
                }
            }
        }
    }
}

fn column_data(c: &Column) -> ColumnData<'_> {
    match &c.values {
        Values::F64(v) => ColumnData::F64(v),
        Values::U32(v) => ColumnData::U32(v),
        Values::Flag(v) => ColumnData::Bool(v),
    }
}

/// Per-path columns in which one stored value means "never" (a step counted from 1, 0 when
/// the event did not happen): the value is the column's `missing_value` attribute.
pub const NEVER: &[(&str, u64)] = &[("fund_exhausted_at", 0)];

/// The name of the dimension of per-path columns, and of the scale dataset holding its ids:
/// `path`, or `row` for a splitting run (whose rows are leaves of the splitting tree).
fn path_dim(estimator: Option<&str>) -> &'static [&'static str] {
    if estimator == Some("splitting") {
        &["row"]
    } else {
        &["path"]
    }
}

/// Per-path columns as datasets, preceded by the dimension scale `dim[0]` holding `ids`,
/// each attached to it, with the "never" value of [`NEVER`] as `missing_value`.
fn h5_columns<'a>(
    columns: &'a [Column],
    dim: &'static [&'static str],
    ids: &'a [u64],
) -> Vec<h5::Column<'a>> {
    let scale_description = if dim[0] == "row" {
        "row id (first_path + row index) of each row: the dimension of every dataset of this group"
    } else {
        "path id of each path: the dimension of every dataset of this group"
    };
    let scale = h5::Column::new(dim[0], "", scale_description, ColumnData::U64(ids)).as_scale();
    std::iter::once(scale)
        .chain(columns.iter().map(|c| {
            let column =
                h5::Column::new(c.name, c.unit, c.description, column_data(c)).with_dims(dim);
            match NEVER.iter().find(|(name, _)| *name == c.name) {
                Some(&(_, never)) => column.with_missing_value(never),
                None => column,
            }
        }))
        .collect()
}

/// An asset's by-trigger matrix (`[cross_margin]` only) as a 2-D dataset
/// `dim[0] × trigger_asset`, preceded by the scale `trigger_asset` holding `trigger_ids`
/// (each asset's index in scenario order, 0..n); nothing without the matrix.
fn by_trigger_columns<'a>(
    a: &'a AssetColumns,
    dim: &'static [&'static str],
    trigger_ids: &'a [u32],
) -> Vec<h5::Column<'a>> {
    let Some(m) = &a.by_trigger else {
        return Vec::new();
    };
    let dims: &'static [&'static str] = if dim[0] == "row" {
        &["row", TRIGGER_DIM]
    } else {
        &["path", TRIGGER_DIM]
    };
    vec![
        h5::Column::new(
            TRIGGER_DIM,
            "",
            "index of the trigger asset in the scenario's order of assets (the order of /assets and of summary.json's assets)",
            ColumnData::U32(trigger_ids),
        )
        .as_scale(),
        h5::Column::new(
            BY_TRIGGER,
            BY_TRIGGER_UNIT,
            BY_TRIGGER_DESCRIPTION,
            ColumnData::F64Matrix {
                data: m,
                cols: trigger_ids.len(),
            },
        )
        .with_dims(dims),
    ]
}

/// The ids of `n` paths from `first`, the values of the per-path dimension scale.
fn path_ids(first: u64, n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| first + i).collect()
}

/// A run's per-path columns: the path metrics, each asset's and each population's.
#[derive(Debug, Clone, Copy)]
pub struct RunColumns<'a> {
    pub paths: &'a [Column],
    pub assets: &'a [AssetColumns],
    /// Empty for runs without per-population figures (rare-event runs).
    pub populations: &'a [PopulationColumns],
}

/// Writes `summary.json` and `results.h5` into `staging`.
///
/// `results.h5` layout: root attributes record the provenance (version, scenario text, seed,
/// path count, …) and the summary JSON; `/paths` holds one dataset per per-path metric in
/// path order; `/assets/<name>` the per-asset metrics (with `[cross_margin]` also the 2-D
/// `cross_margin_liquidated_by_trigger`, path × `trigger_asset`); `/tails/<metric>` the tail
/// diagnostics (Hill, mean excess, parameter stability). See `docs/output.md`.
///
/// # Errors
/// On any failure to serialise or write.
pub fn write_run(
    staging: &Staging,
    summary: &Summary,
    columns: &[Column],
    assets: &[AssetColumns],
    tail_reports: &[(&'static str, TailReport)],
) -> Result<(), OutputError> {
    write_run_with_traces(
        staging,
        summary,
        RunColumns {
            paths: columns,
            assets,
            populations: &[],
        },
        tail_reports,
        &TraceSet::default(),
        None,
    )
}

/// [`write_run`] plus the step-by-step traces of chosen paths under `/traces/<path id>`
/// (nothing is written under `/traces` when `traces` holds none) and, when given, the
/// realised liquidation heatmap under `/realised_heatmap/<asset>`.
///
/// # Errors
/// On any failure to serialise or write.
pub fn write_run_with_traces(
    staging: &Staging,
    summary: &Summary,
    columns: RunColumns<'_>,
    tail_reports: &[(&'static str, TailReport)],
    traces: &TraceSet,
    realised: Option<&RealisedHeatmap>,
) -> Result<(), OutputError> {
    let (root, json) = root_attrs(summary)?;
    let p = &summary.provenance;
    let dim = path_dim(summary.rare_event.as_ref().map(|r| r.info.estimator));
    let ids = path_ids(
        p.first_path,
        columns.paths.first().map_or(0, |c| c.values.len()),
    );
    let trigger_ids = trigger_ids(columns.assets.len());
    let mut groups = path_groups(
        paths_description(summary),
        p.first_path,
        columns,
        dim,
        &ids,
        &trigger_ids,
    );
    let extra = extra_groups(summary, tail_reports, traces, realised);
    groups.extend(extra.iter().map(OwnedGroup::as_group));
    h5::write_h5_atomic(&staging.path("results.h5"), &root, &groups)?;
    staging.write("summary.json", format!("{json}\n").as_bytes())?;
    Ok(())
}

/// The root attributes of `results.h5` (the provenance, the summary's JSON and, in a
/// rare-event run, its estimator) and the summary's JSON.
fn root_attrs(summary: &Summary) -> Result<(Vec<(String, AttrValue)>, String), OutputError> {
    let json = serde_json::to_string_pretty(summary)?;
    let mut root = provenance_attrs(&summary.provenance);
    root.push(("summary_json".into(), AttrValue::Str(json.clone())));
    if let Some(r) = &summary.rare_event {
        root.push(("estimator".into(), AttrValue::Str(r.info.estimator.into())));
        root.push((
            "rare_event_json".into(),
            AttrValue::Str(serde_json::to_string(r)?),
        ));
    }
    Ok((root, json))
}

/// The `description` of `/paths`.
fn paths_description(summary: &Summary) -> &'static str {
    match &summary.rare_event {
        None => PLAIN_PATHS_DESCRIPTION,
        Some(r) if r.info.estimator == "splitting" => {
            "one dataset per per-path metric, one row per leaf of the splitting tree (grouped by root_path), with its weight"
        }
        Some(_) => {
            "one dataset per per-path metric, each of length `paths`, in path order, with each path's likelihood-ratio weight"
        }
    }
}

/// The `description` of `/paths` in a plain run.
const PLAIN_PATHS_DESCRIPTION: &str =
    "one dataset per per-path metric, each of length `paths`, in path order";

/// The indexes of `n` assets, the values of the `trigger_asset` scale.
fn trigger_ids(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

/// `/paths`, `/assets/<name>` and `/populations/<k>` of `results.h5`: the per-path
/// datasets with their scales (`ids`, the path ids of the columns' rows) and attributes.
fn path_groups<'a>(
    paths_description: &str,
    first_path: u64,
    columns: RunColumns<'a>,
    dim: &'static [&'static str],
    ids: &'a [u64],
    trigger_ids: &'a [u32],
) -> Vec<Group<'a>> {
    let RunColumns {
        paths: columns,
        assets,
        populations,
    } = columns;
    let mut groups = vec![Group {
        path: "paths".into(),
        attrs: vec![
            (
                "description".into(),
                AttrValue::Str(paths_description.into()),
            ),
            ("first_path".into(), AttrValue::U64(first_path)),
        ],
        columns: h5_columns(columns, dim, ids),
    }];
    for a in assets {
        let mut columns = h5_columns(&a.columns, dim, ids);
        columns.extend(by_trigger_columns(a, dim, trigger_ids));
        groups.push(Group {
            path: format!("assets/{}", a.asset),
            attrs: vec![(
                "description".into(),
                AttrValue::Str(format!("per-path metrics of asset {}", a.asset)),
            )],
            columns,
        });
    }
    groups.extend(population_groups(populations, true, dim, ids));
    groups
}

/// The groups of `results.h5` after the per-path ones: the tail diagnostics, the traces and
/// the realised heatmap.
fn extra_groups(
    summary: &Summary,
    tail_reports: &[(&'static str, TailReport)],
    traces: &TraceSet,
    realised: Option<&RealisedHeatmap>,
) -> Vec<OwnedGroup> {
    let assets = &summary.provenance.assets;
    let mut groups: Vec<OwnedGroup> = tail_reports
        .iter()
        .map(|(name, r)| tail_group(name, r))
        .collect();
    groups.extend(trace_groups(traces, assets));
    if let Some(r) = realised {
        groups.extend(realised_groups(r, assets));
    }
    groups
}

/// `/populations/<index>`: one group per population (scenario order), its name, asset and
/// venue as attributes (`describe`: with a description, as in `results.h5`).
fn population_groups<'a>(
    populations: &'a [PopulationColumns],
    describe: bool,
    dim: &'static [&'static str],
    ids: &'a [u64],
) -> Vec<Group<'a>> {
    populations
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mut attrs = vec![
                ("name".into(), AttrValue::Str(p.name.clone())),
                ("asset".into(), AttrValue::Str(p.asset.clone())),
                (
                    "venue".into(),
                    AttrValue::Str(p.venue.clone().unwrap_or_default()),
                ),
            ];
            if describe {
                attrs.push((
                    "description".into(),
                    AttrValue::Str(format!(
                        "per-path figures of population {} (`name`); venue empty: the asset's only book",
                        p.name
                    )),
                ));
            }
            Group {
                path: format!("populations/{k}"),
                attrs,
                columns: h5_columns(&p.columns, dim, ids),
            }
        })
        .collect()
}

/// The root attributes that record what produced a run (every field of the provenance), in
/// a fixed order. `cascadesim report` and `merge` read them back.
fn provenance_attrs(p: &Provenance) -> Vec<(String, AttrValue)> {
    let mut root: Vec<(String, AttrValue)> = vec![
        (
            "cascadesim_version".into(),
            AttrValue::Str(p.cascadesim_version.clone()),
        ),
        (
            "scenario_file".into(),
            AttrValue::Str(p.scenario_file.clone()),
        ),
        (
            "scenario_name".into(),
            AttrValue::Str(p.scenario_name.clone()),
        ),
        ("scenario_toml".into(), AttrValue::Str(p.scenario.clone())),
        ("seed".into(), AttrValue::U64(p.seed)),
        ("paths".into(), AttrValue::U64(p.paths)),
        ("first_path".into(), AttrValue::U64(p.first_path)),
        ("steps".into(), AttrValue::U64(u64::from(p.steps))),
        ("step_seconds".into(), AttrValue::F64(p.step_seconds)),
        ("assets".into(), AttrValue::Str(p.assets.join(","))),
        (
            "population_mode".into(),
            AttrValue::Str(p.population_mode.clone()),
        ),
    ];
    // What `cascadesim report` needs, beyond the above, to rebuild the provenance exactly.
    root.push((
        "assets_json".into(),
        AttrValue::Str(serde_json::to_string(&p.assets).expect("strings serialise")),
    ));
    if let Some(n) = p.positions {
        root.push(("positions".into(), AttrValue::U64(n)));
    }
    if let Some(n) = p.population_replicates {
        root.push(("population_replicates".into(), AttrValue::U64(n)));
    }
    let cd = &p.cascade_definition;
    if let Some(x) = cd.endogenous_move {
        root.push(("cascade_endogenous_move".into(), AttrValue::F64(x)));
    }
    if let Some(x) = cd.liquidated_oi_share {
        root.push(("cascade_liquidated_oi_share".into(), AttrValue::F64(x)));
    }
    root.push(("cascade_rule".into(), AttrValue::Str(cd.rule.into())));
    root
}

/// Writes shard `shard` of a run (`first .. first + columns' length` of `p.paths` paths) to
/// `path`, atomically: the run's provenance (with `first_path` = the shard's first path),
/// the shard's place in the run (`shard_index`, `shard_count`, `shard_paths`), its per-path
/// columns under `/paths` and `/assets/<name>`, and its realised heatmap in exact cents
/// under `/realised_cents/<name>`, so that `cascadesim merge` can rebuild the whole run's
/// files bit for bit. See `docs/output.md`.
///
/// # Errors
/// On any failure to write.
pub fn write_shard(
    path: &Path,
    p: &Provenance,
    shard: ShardSpec,
    columns: RunColumns<'_>,
    realised: &RealisedHeatmap,
) -> Result<(), OutputError> {
    let RunColumns {
        paths: columns,
        assets,
        populations,
    } = columns;
    let count = columns.first().map_or(0, |c| c.values.len()) as u64;
    let mut root = provenance_attrs(p);
    root.extend([
        (
            "content".to_string(),
            AttrValue::Str(SHARD_CONTENT.to_string()),
        ),
        ("shard_index".to_string(), AttrValue::U64(shard.index)),
        ("shard_count".to_string(), AttrValue::U64(shard.count)),
        ("shard_paths".to_string(), AttrValue::U64(count)),
    ]);
    let dim = path_dim(None);
    let ids = path_ids(p.first_path, columns.first().map_or(0, |c| c.values.len()));
    let mut groups = vec![Group {
        path: "paths".into(),
        attrs: vec![("first_path".into(), AttrValue::U64(p.first_path))],
        columns: h5_columns(columns, dim, &ids),
    }];
    let trigger_ids: Vec<u32> = (0..assets.len() as u32).collect();
    for a in assets {
        let mut columns = h5_columns(&a.columns, dim, &ids);
        columns.extend(by_trigger_columns(a, dim, &trigger_ids));
        groups.push(Group {
            path: format!("assets/{}", a.asset),
            attrs: Vec::new(),
            columns,
        });
    }
    groups.extend(population_groups(populations, false, dim, &ids));
    let per = realised.grid.time_buckets * realised.grid.price_bins;
    let (lo, hi) = split_cents(&realised.cents);
    for (k, a) in assets.iter().enumerate() {
        groups.push(Group {
            path: format!("realised_cents/{}", a.asset),
            attrs: vec![(
                "start_price".into(),
                AttrValue::F64(realised.start_prices[k]),
            )],
            columns: vec![
                h5::Column::new(
                    "cents",
                    "US cents",
                    "liquidated notional of the shard's paths in whole cents, low 64 bits, row-major time bucket x price bin",
                    ColumnData::U64(&lo[k * per..(k + 1) * per]),
                ),
                h5::Column::new(
                    "cents_high",
                    "2^64 US cents",
                    "high 64 bits of the same sums (cents + 2^64 x cents_high)",
                    ColumnData::U64(&hi[k * per..(k + 1) * per]),
                ),
            ],
        });
    }
    h5::write_h5_atomic(path, &root, &groups)?;
    Ok(())
}

/// Exact `u128` cents as their low and high 64 bits (HDF5 has no 128-bit integers).
pub fn split_cents(cents: &[u128]) -> (Vec<u64>, Vec<u64>) {
    cents.iter().map(|&c| (c as u64, (c >> 64) as u64)).unzip()
}

/// The `content` root attribute of a shard file.
pub const SHARD_CONTENT: &str = "cascadesim shard";

/// `/traces` (when any path is traced) and, per traced path, `/traces/<id>` with one
/// subgroup per asset holding its per-step series. See `docs/output.md`.
fn trace_groups(set: &TraceSet, assets: &[String]) -> Vec<OwnedGroup> {
    if set.traces.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = set.traces.iter().map(|t| t.path.to_string()).collect();
    let requested: Vec<String> = set.requested.iter().map(u64::to_string).collect();
    let mut out = vec![OwnedGroup {
        path: "traces".into(),
        attrs: vec![
            (
                "description".into(),
                AttrValue::Str(
                    "step-by-step traces of chosen paths, replayed from their random streams after the run; one group per path id"
                        .into(),
                ),
            ),
            ("path_ids".into(), AttrValue::Str(ids.join(","))),
            ("requested_paths".into(), AttrValue::Str(requested.join(","))),
            ("trace_worst".into(), AttrValue::U64(u64::from(set.worst))),
            ("trace_metric".into(), AttrValue::Str(set.metric.clone())),
        ],
        columns: Vec::new(),
    }];
    for t in &set.traces {
        out.push(OwnedGroup {
            path: format!("traces/{}", t.path),
            attrs: vec![
                ("path".into(), AttrValue::U64(t.path)),
                ("selected_by".into(), AttrValue::Str(t.selected_by.clone())),
                ("steps".into(), AttrValue::U64(t.len() as u64)),
                (
                    "max_drawdown".into(),
                    AttrValue::F64(t.summary.max_drawdown),
                ),
                (
                    "liquidated_notional".into(),
                    AttrValue::F64(t.summary.liquidated_notional),
                ),
            ],
            columns: Vec::new(),
        });
        for (a, name) in assets.iter().enumerate().take(t.n_assets) {
            out.push(OwnedGroup {
                path: format!("traces/{}/{name}", t.path),
                attrs: vec![
                    ("asset".into(), AttrValue::Str(name.clone())),
                    (
                        "start_price".into(),
                        AttrValue::F64(t.start_prices.get(a).copied().unwrap_or(f64::NAN)),
                    ),
                    (
                        "max_drawdown".into(),
                        AttrValue::F64(t.per_asset.get(a).map_or(f64::NAN, |m| m.max_drawdown)),
                    ),
                ],
                columns: std::iter::once(
                    scale(
                        "step",
                        "step",
                        "position in the trace (0 = the first step): the dimension of every series of this group",
                        (0..t.len()).map(|i| i as f64).collect(),
                    ),
                )
                .chain(columns::TRACE.iter().map(|c| {
                    col(c.name, c.unit, c.description, t.series(a, c.get)).on(&["step"], false)
                }))
                .collect(),
            });
        }
    }
    out
}

/// The columns of `table` over `rows`, in table order: the first is the dimension scale of
/// them all (a table's rows are indexed by its first column).
fn table_columns<'t, R>(
    table: &'t [columns::Spec<R>],
    rows: &'t [R],
) -> impl Iterator<Item = OwnedColumn> + 't {
    let dim = table.first().map_or("", |c| c.name);
    table.iter().enumerate().map(move |(i, c)| {
        col(
            c.name,
            c.unit,
            c.description,
            rows.iter().map(c.get).collect(),
        )
        .on(&[dim], i == 0)
    })
}

/// A group of diagnostic columns: path, attributes, columns.
struct OwnedGroup {
    path: String,
    attrs: Vec<(String, AttrValue)>,
    columns: Vec<OwnedColumn>,
}

impl OwnedGroup {
    fn as_group(&self) -> Group<'_> {
        Group {
            path: self.path.clone(),
            attrs: self.attrs.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| {
                    let data = match c.matrix_cols {
                        0 => ColumnData::F64(&c.values),
                        cols => ColumnData::F64Matrix {
                            data: &c.values,
                            cols,
                        },
                    };
                    let column =
                        h5::Column::new(c.name, c.unit, c.description, data).with_dims(&c.dims);
                    if c.scale { column.as_scale() } else { column }
                })
                .collect(),
        }
    }
}

/// A diagnostic column owned by the writer.
struct OwnedColumn {
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    values: Vec<f64>,
    /// 0 for a 1-D dataset, else the column count of a row-major matrix.
    matrix_cols: usize,
    /// The dimension scales of its dimensions (columns of the same group); empty: none.
    dims: Vec<&'static str>,
    /// Whether it is itself a dimension scale.
    scale: bool,
}

impl OwnedColumn {
    /// The same column on the dimension scales `dims`, and a scale itself when `scale`.
    fn on(mut self, dims: &[&'static str], scale: bool) -> Self {
        self.dims = dims.to_vec();
        self.scale = scale;
        self
    }
}

/// A dimension scale: a column that is the dimension of itself (and of the columns that
/// name it in their `dims`).
fn scale(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    values: Vec<f64>,
) -> OwnedColumn {
    col(name, unit, description, values).on(&[], true)
}

fn col(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    values: Vec<f64>,
) -> OwnedColumn {
    OwnedColumn {
        name,
        unit,
        description,
        values,
        matrix_cols: 0,
        dims: Vec::new(),
        scale: false,
    }
}

/// `/realised_heatmap/<asset>`: where liquidations happened over all paths, as notional by
/// time bucket × price bin, with the bin edges. See `docs/output.md`.
fn realised_groups(r: &RealisedHeatmap, assets: &[String]) -> Vec<OwnedGroup> {
    let g = &r.grid;
    let edges = g.price_edges();
    let mut out = vec![OwnedGroup {
        path: "realised_heatmap".into(),
        attrs: vec![
            (
                "description".into(),
                AttrValue::Str(
                    "liquidated notional by time bucket and price bin, summed over all paths; each step's liquidations sit at that step's average fill price".into(),
                ),
            ),
            ("price_bins".into(), AttrValue::U64(g.price_bins as u64)),
            ("time_buckets".into(), AttrValue::U64(g.time_buckets as u64)),
            ("log_price_low".into(), AttrValue::F64(g.log_lo)),
            ("log_price_high".into(), AttrValue::F64(g.log_hi)),
        ],
        columns: Vec::new(),
    }];
    for (a, name) in assets.iter().enumerate() {
        let start = r.start_prices[a];
        let mut notional = col(
            "notional",
            "USD",
            "liquidated notional summed over paths (exact cent sums), rows = time buckets, columns = price bins",
            r.asset_usd(a),
        );
        notional.matrix_cols = g.price_bins;
        let price_edges: Vec<f64> = edges.iter().map(|e| e * start).collect();
        let time_edges: Vec<f64> = g.time_edges().iter().map(|&t| f64::from(t)).collect();
        out.push(OwnedGroup {
            path: format!("realised_heatmap/{name}"),
            attrs: vec![("start_price".into(), AttrValue::F64(start))],
            columns: vec![
                notional.on(&["time_bucket", "price_bin"], false),
                scale(
                    "time_bucket",
                    "step",
                    "first step of each time bucket (time_edges without its last value): the first dimension of notional",
                    time_edges[..time_edges.len() - 1].to_vec(),
                ),
                scale(
                    "price_bin",
                    "USD",
                    "lower edge of each price bin (price_edges without its last value): the second dimension of notional",
                    price_edges[..price_edges.len() - 1].to_vec(),
                ),
                scale(
                    "price_edges",
                    "USD",
                    "edges of the price bins (price_bins + 1 values, evenly spaced in log price; fills beyond them are counted in the edge bins)",
                    price_edges,
                ),
                scale(
                    "time_edges",
                    "step",
                    "first step of each time bucket, then the step count (time_buckets + 1 values)",
                    time_edges,
                ),
            ],
        });
    }
    out
}

/// `/tails/<metric>`: the tail report as JSON (attribute `report_json`) and its diagnostic
/// curves as columns. Points where no value exists (a failed fit at one threshold) are NaN,
/// as each column's description says.
fn tail_group(metric: &str, r: &TailReport) -> OwnedGroup {
    let unit = crate::metrics::PATH_METRICS
        .iter()
        .find(|d| d.name == metric)
        .map_or("", |d| d.unit);
    let json = serde_json::to_string(r).expect("tail reports serialise");
    let mut attrs = vec![
        ("metric".to_string(), AttrValue::Str(metric.to_string())),
        ("unit".to_string(), AttrValue::Str(unit.to_string())),
        ("report_json".to_string(), AttrValue::Str(json)),
    ];
    if let Some(t) = r.threshold.value() {
        attrs.push(("threshold".into(), AttrValue::F64(t.threshold)));
        attrs.push((
            "threshold_rule".into(),
            AttrValue::Str(t.description.clone()),
        ));
    }
    let mut cols = Vec::new();
    if let Some(h) = r.hill.value() {
        cols.extend(table_columns(columns::HILL, &h.points));
    }
    if let Some(m) = r.mean_excess.value() {
        cols.extend(table_columns(columns::MEAN_EXCESS, m));
    }
    if let Some(st) = r.stability.value() {
        cols.extend(table_columns(columns::STABILITY, st));
    }
    OwnedGroup {
        path: format!("tails/{metric}"),
        attrs,
        columns: cols,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every "never" column is a step count of the metric tables (steps count from 1, so the
    /// stored 0 is never a real step), and every step metric whose description promises a
    /// value for "none" is listed.
    #[test]
    fn never_lists_the_step_metrics_that_store_none() {
        use crate::metrics::{Kind, LENDING_METRICS, PATH_METRICS};
        let all: Vec<_> = PATH_METRICS.iter().chain(LENDING_METRICS).collect();
        for (name, value) in NEVER {
            let d = all.iter().find(|d| d.name == *name).expect("a metric");
            assert!(matches!(d.kind, Kind::U32) && d.unit == "step", "{name}");
            assert_eq!(*value, 0, "{name}");
        }
        for d in all.iter().filter(|d| d.description.contains("if none")) {
            assert!(
                NEVER.iter().any(|(n, _)| *n == d.name),
                "{} is not in NEVER",
                d.name
            );
        }
    }

    /// A process id no process has (Linux pids stay below 2^22).
    const DEAD: u32 = u32::MAX - 1;

    #[test]
    fn a_set_aside_folder_is_put_back_when_nothing_is_in_its_place() {
        let d = tempfile::tempdir().unwrap();
        let old = d.path().join(format!(".r.old-{DEAD}"));
        fs::create_dir(&old).unwrap();
        fs::write(old.join("summary.json"), "previous").unwrap();
        let dest = d.path().join("r");
        drop(Staging::new(&dest).unwrap());
        assert_eq!(
            fs::read_to_string(dest.join("summary.json")).unwrap(),
            "previous"
        );
        assert!(!old.exists());
    }

    #[test]
    fn a_set_aside_folder_is_removed_once_the_new_one_is_in_place() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("r");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("summary.json"), "new").unwrap();
        let old = d.path().join(format!(".r.old-{DEAD}"));
        let partial = d.path().join(format!(".r.partial-{DEAD}"));
        fs::create_dir(&old).unwrap();
        fs::create_dir(&partial).unwrap();
        drop(Staging::new(&dest).unwrap());
        assert_eq!(
            fs::read_to_string(dest.join("summary.json")).unwrap(),
            "new"
        );
        assert!(!old.exists() && !partial.exists());
    }

    /// A staging dropped without commit (a command that failed) removes the parent folders
    /// it created, and only those, and only while empty: `merge --out new/deep` refused for a
    /// bad shard leaves no `new/`.
    #[test]
    fn a_failed_command_leaves_no_folders_it_created() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("new");
        drop(Staging::new(&top.join("deep/run")).unwrap());
        assert!(!top.exists());
        // A `..` naming a folder that exists: only the folder made is removed.
        let existing = d.path().join("existing");
        fs::create_dir(&existing).unwrap();
        drop(Staging::new(&d.path().join("made/../existing/run")).unwrap());
        assert!(existing.is_dir() && !d.path().join("made").exists());
        // A parent that was there stays, and so does one that is no longer empty.
        fs::create_dir(&top).unwrap();
        let s = Staging::new(&top.join("deep/run")).unwrap();
        fs::write(top.join("deep/other"), "x").unwrap();
        drop(s);
        assert!(top.join("deep/other").exists());
        assert_eq!(fs::read_dir(top.join("deep")).unwrap().count(), 1);
        // A committed one keeps its folders.
        let s = Staging::new(&d.path().join("kept/run")).unwrap();
        s.commit().unwrap();
        assert!(d.path().join("kept/run").is_dir());
    }

    /// Names the filesystem does not take are refused before anything is made: a results
    /// folder's own name past 235 bytes (its staging folder `.<name>.partial-<pid>` would
    /// pass 255), an output file's past 239 (`.<name>.tmp-<pid>`), any folder's past 255.
    #[test]
    fn names_too_long_for_the_filesystem_are_refused_before_anything_is_made() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("new");
        let folder = |n: usize| top.join("deep").join("r".repeat(n));
        assert!(check_name_lengths(&folder(MAX_FOLDER_NAME), true).is_ok());
        let e = Staging::new(&folder(MAX_FOLDER_NAME + 1)).err().unwrap();
        assert!(
            e.to_string().ends_with(": its name is 236 bytes; a results folder's name is at most 235 bytes, so that its staging folder `.<name>.partial-<pid>` fits the filesystem's limit of 255 (results folders are named after the scenario file: give it a shorter name); nothing was written"),
            "{e}"
        );
        assert!(!top.exists());
        // The longest staging name a process id of 10 digits gives fits.
        let longest = format!(".{}.partial-{}", "r".repeat(MAX_FOLDER_NAME), u32::MAX);
        assert_eq!(longest.len(), NAME_MAX);
        let file = |n: usize| top.join("f".repeat(n));
        assert!(check_file_dest(&file(MAX_FILE_NAME)).is_ok());
        let e = check_file_dest(&file(MAX_FILE_NAME + 1)).err().unwrap();
        assert!(
            e.to_string()
                .contains("its name is 240 bytes; an output file's name is at most 239 bytes"),
            "{e}"
        );
        let e = Staging::new(&top.join("x".repeat(NAME_MAX + 1)).join("r"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("the folder name \"xxxxxxxxxxxxxxxxxxxxxxxx\"… (256 characters) is 256 bytes; a name is at most 255 bytes"), "{e}");
        assert!(!top.exists());
    }

    /// When the previous folder cannot be removed after the swap (a subfolder without write
    /// permission; here: already gone, which root cannot be stopped from doing otherwise),
    /// the error says the new results are in place and where the old folder is (it was a
    /// bare "cannot write .r.partial-PID").
    #[test]
    fn an_old_folder_left_behind_is_named_with_the_new_results_in_place() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("r");
        let s = Staging::new(&dest).unwrap();
        let old = d.path().join(".r.partial-gone");
        let e = s.remove_old(&old).unwrap_err();
        assert!(matches!(e, OutputError::OldLeft { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("new results are in place")
                && msg.contains(&dest.display().to_string())
                && msg.contains(&old.display().to_string()),
            "{msg}"
        );
        // The reason is said once: in the message, not again as a source.
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn commit_swaps_the_folders_and_a_file_in_the_way_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("r");
        for content in ["first", "second"] {
            let s = Staging::new(&dest).unwrap();
            s.write("summary.json", content.as_bytes()).unwrap();
            s.commit().unwrap();
            assert_eq!(
                fs::read_to_string(dest.join("summary.json")).unwrap(),
                content
            );
        }
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the results folder is left");
        let file = d.path().join("f");
        fs::write(&file, "mine").unwrap();
        assert!(matches!(
            Staging::new(&file),
            Err(OutputError::NotAFolder(_))
        ));
        // A file where a folder of the path should be: in the way too, named (it was an
        // I/O error, exit 1), and nothing is made.
        for dest in [file.join("r"), file.join("a/b/r")] {
            match Staging::new(&dest) {
                Err(OutputError::NotAFolder(p)) => assert_eq!(p, file),
                Err(e) => panic!("{dest:?}: {e}"),
                Ok(_) => panic!("{dest:?}: staged"),
            }
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
    }
}

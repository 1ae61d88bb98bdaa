//! The files `cascadesim report` rebuilds inside an existing folder (`summary.json`,
//! `plots/*.{png,svg}`, `report.html`), staged so that a failure loses nothing: every file is
//! first written into a hidden folder beside them (`<dir>/.report.partial-<pid>`, the same
//! filesystem), and only when all of them were written are they renamed over the old ones
//! (`report.html` last) and the stale figures of an earlier report removed. A failure before
//! that (a figure that cannot be written, a full disk, Ctrl-C) removes the hidden folder and
//! leaves every previous file as it was (a report killed outright leaves its hidden folder,
//! which the next report removes). The folder itself is not swapped: it also holds
//! `results.h5` and whatever else the user keeps there.

use std::fs;
use std::path::{Path, PathBuf};

use super::html::remove_stale_figures;
use super::{OutputError, fresh_dir, io_err, process_gone};

/// The hidden folder a report is written into. Dropping it without [`ReportStage::commit`]
/// removes it and leaves the destination untouched.
pub struct ReportStage {
    dest: PathBuf,
    tmp: PathBuf,
}

impl ReportStage {
    /// Starts staging the report files of `dest` (which must exist), first removing the
    /// hidden folders of killed reports.
    ///
    /// # Errors
    /// When the hidden folder cannot be created.
    pub fn new(dest: &Path) -> Result<ReportStage, OutputError> {
        // Hidden folders of reports that were killed (their process is gone) are removed.
        for e in fs::read_dir(dest).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let dead = name
                .strip_prefix(".report.partial-")
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(process_gone);
            if dead {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        let tmp = dest.join(format!(".report.partial-{}", std::process::id()));
        fresh_dir(&tmp)?;
        Ok(ReportStage {
            dest: dest.to_path_buf(),
            tmp,
        })
    }

    /// The hidden folder the files are written into.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Renames every staged file over its destination: the figures, then `summary.json`,
    /// then `report.html`; then removes the figures of an earlier report that this one did not
    /// draw (only file names the report makes, nothing else).
    ///
    /// # Errors
    /// On any I/O failure (the staged files not yet moved are removed).
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let staged_plots = self.tmp.join("plots");
        let plots = self.dest.join("plots");
        let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
        if staged_plots.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(&staged_plots)
                .map_err(io_err(&staged_plots))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io_err(&staged_plots))?;
            entries.sort();
            for p in entries {
                let to = plots.join(p.file_name().unwrap_or_default());
                moves.push((p, to));
            }
        }
        for file in ["summary.json", "report.html"] {
            let from = self.tmp.join(file);
            if from.exists() {
                moves.push((from, self.dest.join(file)));
            }
        }
        // Every destination checked before the first rename: a folder or device in the way
        // of one file leaves all the old files as they were.
        if fs::symlink_metadata(&plots).is_ok_and(|m| !m.is_dir()) {
            return Err(OutputError::NotAFolder(plots));
        }
        for (_, to) in &moves {
            super::check_file_dest(to)?;
        }
        if staged_plots.is_dir() {
            fs::create_dir_all(&plots).map_err(io_err(&plots))?;
        }
        for (from, to) in &moves {
            fs::rename(from, to).map_err(io_err(to))?;
        }
        let drawn: Vec<&std::ffi::OsStr> =
            moves.iter().filter_map(|(_, to)| to.file_name()).collect();
        remove_stale_figures(&plots, |name, _| drawn.contains(&name));
        if let Ok(d) = fs::File::open(&self.dest) {
            let _ = d.sync_all();
        }
        Ok(self.dest.clone())
    }
}

impl Drop for ReportStage {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

//! A finished `results.h5` as a [`ColumnSource`]: the per-path columns `report`, `tails`
//! and `compare` work on, each read back from the file and checked (as [`super::read`] checks
//! every column) when a statistic asks for it, so a saved run is rebuilt holding a few
//! columns at a time, as the run itself was finished from its staged file
//! ([`super::streamed`]). A 10⁷-path file is about 2 GB of columns; held whole, `report`
//! needed 3.2 GB.
//!
//! [`SavedRun::check`] reads every column once, two at a time, before anything is computed,
//! so a damaged file still gives every problem at once and nothing is written. The file's
//! identity (device, inode, size, modification time) is recorded when it is opened and
//! compared around every later read: a file replaced or rewritten underneath (another
//! `run` swapping the folder in) is a problem, and so is a column that cannot be read
//! again; such a column is absent to the statistics, and [`SavedRun::finish`] fails
//! before anything is put in place.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::read::{
    AssetEntries, Check, Entry, FileProblems, Gather, PopulationEntries, asset_entries,
    check_run_datasets, path_entries, population_entries,
};
use crate::metrics::{Column, ColumnSource, Header, PopulationId};
use crate::summary::Provenance;

/// The columns of a finished results file, read when asked for; see the module
/// documentation.
pub struct SavedRun {
    file: PathBuf,
    /// Values per column (the run's `paths`).
    len: usize,
    paths: Vec<Entry>,
    /// Asset columns: only with cross-margin accounts (the figures and summaries that read
    /// per-asset columns are the cross-margin ones).
    assets: Vec<AssetEntries>,
    populations: Vec<PopulationEntries>,
    /// Problems of the groups' listings (a population group the scenario does not have),
    /// given by [`SavedRun::check`] with those of the columns.
    listed: Vec<String>,
    /// Problems of reads after [`SavedRun::check`], each without the file's name.
    problems: Mutex<Vec<String>>,
    /// The file as it was opened (`None` when its metadata cannot be read).
    identity: Option<Identity>,
}

/// What tells one file's content from another's at the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Identity {
    fn of(f: &Path) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(f).ok()?;
        Some(Identity {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// How many columns [`SavedRun::check`] holds at once, whatever the number of threads
/// (what the memory guard counts, `run::memory::Need::read_back`).
pub const CHECKED_AT_ONCE: usize = 2;

/// One dataset [`SavedRun::check`] reads.
enum Part<'a> {
    Column(&'a Entry),
    ByTrigger(&'a str, usize),
}

impl SavedRun {
    /// The columns of `/paths`, of the populations `ids` when given (scenario order; none
    /// when the file has no `/populations`) and, when `cross_margin` gives each asset's `venues` flag (scenario order, the
    /// file's `assets`), of `/assets`. Nothing is read but the groups' listings.
    ///
    /// # Errors
    /// `paths` values cannot be held. (`/paths` that cannot be listed, or a group of
    /// `/populations` that is not one of `ids`, is a problem [`SavedRun::check`] gives with
    /// those of the columns.)
    pub fn open(
        f: &Path,
        paths: u64,
        assets: &[String],
        ids: Option<&[PopulationId]>,
        cross_margin: Option<&[bool]>,
    ) -> Result<SavedRun, FileProblems> {
        let mut c = Check::new(f);
        let Some(len) = c.held_len(paths) else {
            return Err(problems(f, c.into_messages()));
        };
        let identity = Identity::of(f);
        let paths = path_entries(&mut c).unwrap_or_default();
        let populations = ids.map_or_else(Vec::new, |ids| population_entries(&mut c, ids));
        let assets =
            cross_margin.map_or_else(Vec::new, |venues| asset_entries(assets, venues, true));
        Ok(SavedRun {
            file: f.to_path_buf(),
            len,
            paths,
            assets,
            populations,
            listed: c.into_messages(),
            problems: Mutex::new(Vec::new()),
            identity,
        })
    }

    /// The per-path columns of `/paths` of a whole run's file, every one checked, with the
    /// rest of the file ([`check_run_datasets`]), but not held (`tails`, `compare`).
    ///
    /// # Errors
    /// Every problem of the file at once.
    pub fn open_checked(f: &Path, p: &Provenance) -> Result<SavedRun, FileProblems> {
        let mut all = Gather::new(f);
        let saved = all.take(SavedRun::open(f, p.paths, &p.assets, None, None));
        if let Some(s) = &saved {
            all.take(s.check());
        }
        all.take(check_run_datasets(f, p));
        all.finish()?;
        saved.ok_or_else(|| problems(f, vec!["the file is incomplete".into()]))
    }

    /// Reads and checks every column this source serves, once, [`CHECKED_AT_ONCE`] at a
    /// time (on the current rayon pool), each dropped when checked.
    ///
    /// # Errors
    /// Every problem: the groups' listings', then the columns' in their order (`/paths`,
    /// the populations, the assets).
    pub fn check(&self) -> Result<(), FileProblems> {
        let parts: Vec<Part<'_>> = self
            .paths
            .iter()
            .chain(self.populations.iter().flat_map(|p| &p.columns))
            .map(Part::Column)
            .chain(self.assets.iter().flat_map(|a| {
                a.columns
                    .iter()
                    .map(Part::Column)
                    .chain(a.by_trigger.map(|n| Part::ByTrigger(a.asset.as_str(), n)))
            }))
            .collect();
        let found: Vec<Vec<String>> = parts
            .chunks(CHECKED_AT_ONCE)
            .flat_map(|few| {
                few.par_iter()
                    .map(|part| {
                        let mut c = Check::new(&self.file);
                        match part {
                            Part::Column(e) => drop(e.read(&mut c, self.len)),
                            Part::ByTrigger(a, n) => drop(c.by_trigger(a, *n, self.len)),
                        }
                        c.into_messages()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let all: Vec<String> = self
            .listed
            .iter()
            .cloned()
            .chain(found.into_iter().flatten())
            .collect();
        if all.is_empty() {
            Ok(())
        } else {
            Err(problems(&self.file, all))
        }
    }

    /// # Errors
    /// The problems of reads after [`SavedRun::check`] (the file changed underneath), each
    /// once, in a fixed order (columns are read from several threads, some several times).
    pub fn finish(&self) -> Result<(), FileProblems> {
        let found: std::collections::BTreeSet<String> = self
            .problems
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let found: Vec<String> = found.into_iter().collect();
        if found.is_empty() {
            Ok(())
        } else {
            Err(problems(&self.file, found))
        }
    }

    /// Reads `e`, keeping its problems.
    fn read(&self, e: &Entry) -> Option<Cow<'_, Column>> {
        self.reading(|c| e.read(c, self.len)).map(Cow::Owned)
    }

    /// What `read` gets from the file, if the file is still the one opened before and
    /// after it; its problems (and a change of file) kept for [`SavedRun::finish`].
    fn reading<T>(&self, read: impl FnOnce(&mut Check<'_>) -> Option<T>) -> Option<T> {
        self.same_file()?;
        let mut c = Check::new(&self.file);
        let value = read(&mut c);
        self.keep_all(c.into_messages());
        self.same_file()?;
        value
    }

    /// `Some` while the file is the one opened; a problem (kept) otherwise.
    fn same_file(&self) -> Option<()> {
        if self.identity.is_some() && Identity::of(&self.file) == self.identity {
            return Some(());
        }
        self.keep_all(vec![
            "the file was replaced or changed while it was being read; run the command again"
                .into(),
        ]);
        None
    }

    fn keep_all(&self, found: Vec<String>) {
        if !found.is_empty() {
            self.problems
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(found);
        }
    }
}

fn problems(f: &Path, problems: Vec<String>) -> FileProblems {
    FileProblems {
        file: f.to_path_buf(),
        problems,
    }
}

fn named<'e>(entries: &'e [Entry], name: &str) -> Option<&'e Entry> {
    entries.iter().find(|e| e.name() == name)
}

impl ColumnSource for SavedRun {
    fn path_headers(&self) -> Vec<Header> {
        self.paths.iter().map(Entry::header).collect()
    }

    fn path(&self, name: &str) -> Option<Cow<'_, Column>> {
        self.read(named(&self.paths, name)?)
    }

    fn asset_names(&self) -> Vec<String> {
        self.assets.iter().map(|a| a.asset.clone()).collect()
    }

    fn asset(&self, a: usize, name: &str) -> Option<Cow<'_, Column>> {
        self.read(named(&self.assets.get(a)?.columns, name)?)
    }

    fn by_trigger(&self, a: usize) -> Option<Cow<'_, [f64]>> {
        let asset = self.assets.get(a)?;
        let n = asset.by_trigger?;
        self.reading(|c| c.by_trigger(&asset.asset, n, self.len))
            .map(Cow::Owned)
    }

    fn population_ids(&self) -> Vec<PopulationId> {
        self.populations.iter().map(|p| p.id.clone()).collect()
    }

    fn population_names(&self, k: usize) -> Vec<&'static str> {
        self.populations
            .get(k)
            .map_or_else(Vec::new, |p| p.columns.iter().map(Entry::name).collect())
    }

    fn population(&self, k: usize, name: &str) -> Option<Cow<'_, Column>> {
        self.read(named(&self.populations.get(k)?.columns, name)?)
    }
}

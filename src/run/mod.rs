//! The run pipeline, as a library: everything between a validated scenario and a results
//! folder, so that the binary, tests and other callers do a run the same way.
//!
//! - [`plan`]: a [`RunPlan`], the scenario plus the caller's overrides (paths, seed,
//!   replicates, shard or MPI rank, rare-event choice, threads, output folder), checked once
//!   and immutable afterwards; the one place a validated scenario gets other values.
//! - [`simulate`]: the market, the paths (plain or rare-event), their columns; a shard file.
//! - [`mod@finish`]: a whole run's per-path results → its folder (shared by run, MPI and merge).
//! - [`merge`]: shard files → the per-path results of the whole run.
//! - [`rebuild`]: a saved run's scenario and market, from the text its `results.h5` stores.
//! - [`report`]: a saved run's summary, figures and page rebuilt from its `results.h5`.
//! - [`select`]: the traces and sample paths replayed after a run.
//! - [`memory`]: what a command will hold, and the guard against this process's limits.
//! - [`files`]: the files a scenario refers to, confined to its folder tree.
//!
//! No terminal here: progress is a callback, cancellation an `AtomicBool`, problems that do
//! not stop a run are returned as warnings, and errors are [`RunError`] values.

pub mod files;
pub mod finish;
pub mod memory;
pub mod merge;
pub mod plan;
pub mod rebuild;
pub mod report;
pub mod select;
pub mod simulate;

use std::sync::atomic::AtomicBool;

pub use finish::{Finished, Paths, Run, finish};
pub use plan::{Overrides, Part, PlanError, RareChoice, RunPlan, RunRequest};

use crate::output::OutputError;
use crate::output::read::FileProblems;

/// Where a pipeline step runs: the worker pool (`--threads`) and the flag that cancels it
/// (Ctrl-C), polled between chunks of paths and between phases.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub pool: &'a rayon::ThreadPool,
    pub cancel: &'a AtomicBool,
}

/// Why a pipeline step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan does not fit the scenario (bad input).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The command would need more memory than the process may use (bad input).
    #[error(transparent)]
    Memory(#[from] memory::MemoryError),
    /// Bad input found while running: a shard or results file, a rare-event setting.
    #[error("{0}")]
    Input(String),
    /// An input file that exists could not be read (permission denied, a read error): a
    /// failure, not bad input.
    #[error("{0}")]
    Read(String),
    /// A file could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Cancelled: nothing was written (the previous results, if any, are left as they were).
    #[error("interrupted: nothing written (the previous results, if any, are left as they were)")]
    Cancelled,
}

impl From<crate::output::read::Unreadable> for RunError {
    fn from(u: crate::output::read::Unreadable) -> Self {
        match u {
            crate::output::read::Unreadable::Bad(m) => RunError::Input(m),
            crate::output::read::Unreadable::Io(m) => RunError::Read(m),
        }
    }
}

impl From<FileProblems> for RunError {
    fn from(p: FileProblems) -> Self {
        RunError::Input(p.to_string())
    }
}

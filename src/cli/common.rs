//! What the subcommands share: the options of every simulating command ([`RunOptions`]),
//! the exit-code policy and the errors it maps ([`InputError`], [`Cancelled`], the library's
//! [`RunError`]), Ctrl-C, the progress bar, the worker pool, `--out` and
//! `--allow-external-files`, and loading a scenario file. Every subcommand imports this
//! module; it imports none of them.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cascadesim::diagnostics::ScenarioError;
use cascadesim::model::spec::Scenario;
use cascadesim::run::files::FsFiles;
use cascadesim::run::memory::{self, Need};
use cascadesim::run::{Overrides, RunError};
use cascadesim::summary::Provenance;

/// Options of every command that simulates: the scenario, how many paths from which seed,
/// on how many threads, and where results go.
#[derive(clap::Args)]
pub(crate) struct RunOptions {
    /// Scenario TOML file.
    pub(crate) scenario: PathBuf,
    /// Number of paths (default: simulation.paths from the file).
    #[arg(long)]
    pub(crate) paths: Option<u64>,
    /// Random seed (default: simulation.seed from the file).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Independent draws of the synthetic populations (default:
    /// simulation.population_replicates from the file, or 32); path i uses draw i mod N, and
    /// the intervals cover both path and population noise. Needs population = "fixed".
    #[arg(long, value_name = "N")]
    pub(crate) replicates: Option<u32>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Output folder; results go to a folder in it named after the scenario file's stem
    /// (`run`: <stem>/, `sweep`: <stem>-sweep/, `tune`: <stem>-tune/, `sensitivity`:
    /// <stem>-sensitivity/).
    #[arg(long, value_parser = out_folder, default_value = "results")]
    pub(crate) out: PathBuf,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Spread the paths over the ranks of an MPI job (`mpirun -n R cascadesim run ... --mpi`,
    /// also sweep, tune, sensitivity): every rank simulates its share of each run's paths;
    /// rank 0 writes the one result, identical to a single process's. Needs `--features mpi`.
    #[arg(long)]
    pub(crate) mpi: bool,
}

impl RunOptions {
    /// The worker pool for `--threads`.
    pub(crate) fn pool(&self) -> Result<rayon::ThreadPool> {
        thread_pool(self.threads)
    }

    /// `--paths`, `--seed` and `--replicates`, applied to a validated scenario by
    /// [`Overrides::apply`].
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            paths: self.paths,
            seed: self.seed,
            replicates: self.replicates,
        }
    }
}

/// Bad input: reported with exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InputError(pub(crate) String);

impl From<cascadesim::output::read::FileProblems> for InputError {
    fn from(p: cascadesim::output::read::FileProblems) -> Self {
        InputError(p.to_string())
    }
}

/// A library error as the exit-code policy sees it: bad input is an [`InputError`], a
/// cancel is [`Cancelled`], an output error stays itself (a file in the way of the results
/// folder is bad input, other write failures are not).
pub(crate) fn from_run(e: RunError) -> anyhow::Error {
    match e {
        RunError::Plan(e) => InputError(e.to_string()).into(),
        RunError::Memory(e) => InputError(e.to_string()).into(),
        RunError::Input(m) => InputError(m).into(),
        RunError::Read(m) => anyhow::anyhow!(m),
        RunError::Output(e) => e.into(),
        RunError::Cancelled => Cancelled.into(),
    }
}

/// Refuses (exit 2) a command that would hold the per-path results of `paths` paths of
/// `assets` assets (a sweep's grid point: what the scenario says), with the cross-margin matrix by trigger asset when `cross_margin`.
pub(crate) fn memory_guard(paths: u64, assets: usize, cross_margin: bool) -> Result<()> {
    guard(Need::results(paths, assets, cross_margin))
}

/// Refuses (exit 2) a command that would need more memory than this process may use.
pub(crate) fn guard(need: Need) -> Result<()> {
    memory::guard(need).map_err(|e| InputError(e.0).into())
}

/// A results file that cannot be read at all: bad input when missing or not a regular file
/// (exit 2), an I/O failure when it cannot be opened or read (exit 1).
pub(crate) fn readable(f: &Path, what: &str) -> Result<()> {
    match cascadesim::output::read::not_a_file(f, what) {
        None => Ok(()),
        Some(u) => Err(from_run(u.into())),
    }
}

/// Reads the provenance back from the root attributes, every attribute checked.
pub(crate) fn read_provenance(f: &Path) -> Result<Provenance> {
    Ok(cascadesim::output::read::read_provenance(f).map_err(InputError::from)?)
}

/// Set on MPI ranks other than 0: they report nothing, so a job prints each message once.
pub(crate) static SILENT: AtomicBool = AtomicBool::new(false);

pub(crate) fn silent() -> bool {
    SILENT.load(Ordering::Relaxed)
}

/// Set by the first Ctrl-C: the run stops between chunks of paths and writes nothing.
pub(crate) static CANCEL: AtomicBool = AtomicBool::new(false);

/// The exit status of an interrupted command: 130 after SIGINT (Ctrl-C), 143 after SIGTERM
/// (Slurm's `scancel`, a time limit), 129 after SIGHUP (the terminal closed). Set by the
/// signal handlers before [`CANCEL`].
static INTERRUPT_CODE: AtomicI32 = AtomicI32::new(130);

/// The exit status of a command that was interrupted: 130 (SIGINT), 143 (SIGTERM) or 129
/// (SIGHUP).
pub(crate) fn interrupted_code() -> i32 {
    INTERRUPT_CODE.load(Ordering::SeqCst)
}

/// Set by a command while it checks [`CANCEL`] (between chunks of paths, phases): only then
/// does a first signal wait for that check. A command that never checks (`calibrate`,
/// `backtest`, `population`, `tails`, `validate`, ...) ends at the first signal, as it did
/// before signals were handled: a scheduler sends SIGTERM once.
static HONOURS_CANCEL: AtomicBool = AtomicBool::new(false);

/// Called by a command before the work during which it checks [`CANCEL`].
pub(crate) fn honour_cancel() {
    HONOURS_CANCEL.store(true, Ordering::SeqCst);
}

/// Installs the handlers of SIGINT, SIGTERM and SIGHUP: the first signal sets [`CANCEL`]
/// (commands that check it stop at their next check and write nothing, exit 130, 143 or 129:
/// 128 + the signal); a second one
/// while the first is being honoured, or the first in a command that does not check
/// ([`honour_cancel`] not called), ends the process at once with the same status. Either way
/// the output folder holds the previous complete results or nothing (writes are atomic).
pub(crate) fn handle_signals() {
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) || !HONOURS_CANCEL.load(Ordering::SeqCst) {
            std::process::exit(interrupted_code());
        }
    });
    extern "C" fn on_term(signal: libc::c_int) {
        // Only atomics and `_exit`: async-signal-safe.
        let code = 128 + signal;
        INTERRUPT_CODE.store(code, Ordering::SeqCst);
        if CANCEL.swap(true, Ordering::SeqCst) || !HONOURS_CANCEL.load(Ordering::SeqCst) {
            // SAFETY: `_exit` is async-signal-safe.
            unsafe { libc::_exit(code) };
        }
    }
    // SAFETY: a zeroed `sigaction` with a plain handler and an empty mask is valid; the
    // handler only touches atomics and calls `_exit`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_term as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
        // A hang-up (the terminal of a run started without nohup closed) ends it the same
        // way: it used to kill the process mid-write and leave its staged file behind. A
        // process started under `nohup` ignores SIGHUP, and keeps ignoring it.
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old);
        if old.sa_sigaction != libc::SIG_IGN {
            libc::sigaction(libc::SIGHUP, &action, std::ptr::null_mut());
        }
    }
}

/// A Ctrl-C or SIGTERM honoured between phases: nothing was written. Exit status 130 or 143.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: nothing written (the previous results, if any, are left as they were)")]
pub(crate) struct Cancelled;

/// `Err(Cancelled)` once Ctrl-C was pressed.
pub(crate) fn cancelled() -> Result<()> {
    if CANCEL.load(Ordering::SeqCst) {
        bail!(Cancelled);
    }
    Ok(())
}

/// The exit-code policy, one for every command: 130 after Ctrl-C (143 after SIGTERM), 2 for bad input (a scenario, a results or
/// shard file, an argument, a file in the way of the results folder, a name too long for the
/// filesystem), 1 for anything else.
pub(crate) fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<Cancelled>().is_some() {
        return interrupted_code();
    }
    let bad_input = e.downcast_ref::<ScenarioError>().is_some()
        || e.downcast_ref::<InputError>().is_some()
        || matches!(
            e.downcast_ref::<cascadesim::output::OutputError>(),
            Some(
                cascadesim::output::OutputError::NotAFolder(_)
                    | cascadesim::output::OutputError::NotAFile(_)
                    | cascadesim::output::OutputError::NameTooLong(_)
            )
        );
    if bad_input { 2 } else { 1 }
}

/// An output file's destination, checked before any work: refused (exit 2) when it exists
/// and is not a regular file, or when a folder it needs exists as something else (a file
/// where a parent folder should be: found here, not when the work is done).
pub(crate) fn check_file_out(path: &Path) -> Result<()> {
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        if let Ok(m) = std::fs::metadata(dir) {
            if !m.is_dir() {
                bail!(cascadesim::output::OutputError::NotAFolder(
                    dir.to_path_buf()
                ));
            }
            break;
        }
    }
    Ok(cascadesim::output::check_file_dest(path)?)
}

/// Puts a command's finished folder in place ([`cascadesim::output::Staging::commit_or_warn`]): a previous
/// folder that could not be removed is a warning, and the command carries on to its summary
/// (exit 0), as `run` and `merge` do.
pub(crate) fn commit(staging: cascadesim::output::Staging) -> Result<PathBuf> {
    let (dir, left) = staging.commit_or_warn()?;
    if let Some(w) = left
        && !silent()
    {
        eprintln!("warning: {w}");
    }
    Ok(dir)
}

/// Creates an output file's missing parent folders once the work is done, as `run` does for
/// its results folder.
pub(crate) fn create_parents(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    Ok(())
}

/// A progress bar on stderr (hidden when `quiet` or when stderr is not a terminal) counting
/// `total` items called `unit`, with their rate and the time left.
pub(crate) fn progress_bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    let show = !quiet && !silent() && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    let unit = unit.to_string();
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{rate}}, eta {{eta}}) {{msg}}"
        ))
        .expect("valid template")
        .with_key(
            "rate",
            move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} {unit}/s", s.per_sec());
            },
        ),
    );
    bar
}

/// Set by `--allow-external-files`: files referenced inside a scenario or results file may
/// lie outside the scenario's folder.
pub(crate) static ALLOW_EXTERNAL: AtomicBool = AtomicBool::new(false);

pub(crate) fn allow_external() -> bool {
    ALLOW_EXTERNAL.load(Ordering::Relaxed)
}

/// The files a scenario in `base` refers to, under `--allow-external-files`.
pub(crate) fn fs_files(base: PathBuf) -> FsFiles {
    FsFiles {
        base,
        allow_external: allow_external(),
    }
}

/// Parses `--out`: a folder that exists or can be made. An existing file is a usage error
/// (exit 2, like every other bad argument) before any work starts.
pub(crate) fn out_folder(arg: &str) -> std::result::Result<PathBuf, String> {
    let p = PathBuf::from(arg);
    if p.exists() && !p.is_dir() {
        return Err(format!("{arg} is a file, not a folder"));
    }
    Ok(p)
}

/// Refuses a shard file where a whole run's `results.h5` is needed, and a rare-event run's
/// file (its rows are weighted: `report` and `tails` would treat them as plain paths).
pub(crate) fn not_a_shard(f: &Path) -> Result<()> {
    cascadesim::run::report::check_whole_run(f).map_err(from_run)
}

/// The worker pool of a command: `threads` workers, or one per core.
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        anyhow::bail!(InputError("--threads must be at least 1".into()));
    }
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        // More workers than cores only adds switching (10,000 made a 0.05 s run take 49 s);
        // results do not depend on the count, so it is capped.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if t > cores && !silent() {
            eprintln!(
                "note: --threads {t} is more than the {cores} core{} available; using {cores}",
                if cores == 1 { "" } else { "s" }
            );
        }
        b = b.num_threads(t.min(cores));
    }
    anyhow::Context::context(b.build(), "cannot start worker threads")
}

/// The text of the scenario file at `path` (a regular file of at most
/// [`cascadesim::scenario::MAX_TEXT_BYTES`], see [`cascadesim::run::files::read_scenario`]).
/// A file whose stem is `.` or `..` (`..toml`, `...toml`) is refused first: its results
/// folder would be named after the stem, i.e. the current or the parent folder.
pub(crate) fn read_scenario(path: &Path) -> Result<String> {
    let stem = cascadesim::run::plan::stem(path);
    if stem == "." || stem == ".." {
        bail!(InputError(format!(
            "{}: a scenario file's name (without .toml) names its results folder, and `{stem}` cannot name one; rename the file",
            path.display()
        )));
    }
    Ok(cascadesim::run::files::read_scenario(path).map_err(InputError)?)
}

pub(crate) fn load(path: &Path) -> Result<Scenario> {
    let text = read_scenario(path)?;
    if text
        .parse::<toml_edit::DocumentMut>()
        .is_ok_and(|d| d.contains_key("replay"))
    {
        anyhow::bail!(InputError(format!(
            "{} is a replay scenario ([replay] table): use `cascadesim backtest` or `cascadesim calibrate` on it",
            path.display()
        )));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Scenario::parse(
        &text,
        &path.display().to_string(),
        &fs_files(base),
    )?)
}

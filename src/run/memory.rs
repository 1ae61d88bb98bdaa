//! The memory guard: how much memory this process may still use (the smallest of the
//! cgroup v2 / v1 limit less what the cgroup already uses, `RLIMIT_AS` and `RLIMIT_DATA` less
//! what the process already maps, and `MemAvailable`), and the check that refuses a command
//! with exit 2 before it allocates more than that. A container or Slurm job limits memory by
//! cgroup and `ulimit -v` by `RLIMIT_AS`; reading only `MemAvailable` let such runs pass the
//! guard and abort mid-run.
//!
//! Library code, not the CLI's: what a run will hold comes from its plan
//! ([`super::RunPlan::memory_need`]), and any caller of the pipeline (the binary, a test, a
//! program using the library) is a process that must not start a run its limits cannot hold.
//! Linux only; elsewhere nothing is known and [`guard`] accepts.

/// A command that would need more memory than this process may still use.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct MemoryError(pub String);

/// Bytes kept per path while a run is in memory: its columns (at most the size of its
/// per-path structs, which a run holds for one block of paths only: `mc::run_blocks`) and
/// the sort and selection buffers of the statistics; `results.h5` is streamed, never held
/// (`output::h5::stream`). With cross-margin accounts each asset also holds its closed
/// notional by trigger asset (`n_assets` values per path).
pub fn bytes_per_path(n_assets: usize, cross_margin: bool) -> u64 {
    let summary = std::mem::size_of::<crate::engine::PathSummary>();
    let asset = std::mem::size_of::<crate::engine::AssetPathMetrics>();
    let matrix = if cross_margin {
        n_assets * n_assets * std::mem::size_of::<f64>()
    } else {
        0
    };
    (summary + n_assets * asset + matrix + 64) as u64
}

/// Bytes of one traced step of one asset (about twenty `f64` series per asset and step,
/// rounded up).
const TRACE_BYTES_PER_ASSET_STEP: u64 = 256;

/// Bytes of one position in the shared market: its ladder entry (trigger, size, entry,
/// margin: 32), its entry of the ladder's prefix sums (`model::ddsum`, two double-doubles:
/// 32), its share of the ladder's sample (`Ladder::sample`: a 32-byte row and an 8-byte
/// liquidation price every 64th position, an 8-byte price every 8th: 1.625, counted as 2),
/// the sort buffer while the ladder is built (32), and 64 for the vectors' spare capacity
/// and the per-path ADL queue when ADL ranks a side.
const BYTES_PER_POSITION: u64 = 162;

/// Bytes per path of a run that streams its columns, beyond its one block: the columns its
/// statistics, replays and figures read back at once, with their sort buffers (about 70
/// measured at 10⁶ paths of `btc_flash_crash`, BENCHMARKS.md; rounded up).
const STREAMED_BYTES_PER_PATH: u64 = 128;

/// What a command will hold at once, as the guard counts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Need {
    /// Paths whose per-path results are held.
    pub paths: u64,
    /// Assets of the run.
    pub assets: usize,
    /// Steps per path.
    pub steps: u64,
    /// Paths replayed step by step (traces and sample paths).
    pub traced: u64,
    /// Positions held at once (the population, once per worker when drawn per path).
    pub positions: u64,
    /// Whether each path's results hold the cross-margin matrix by trigger asset.
    pub cross_margin: bool,
    /// Paths whose results are streamed into `results.h5` as they are simulated (a whole
    /// plain run): held one block at a time, then read back a few columns at once.
    pub streamed: u64,
    /// Bytes held beyond what the counts above give (a saved run's largest datasets read
    /// at once, a bootstrap's buffers).
    pub extra: u64,
}

impl Need {
    /// The per-path results of `paths` paths of `assets` assets and nothing else (one grid
    /// point of a sweep); `cross_margin` when the run
    /// had cross-margin accounts (see [`has_cross_margin`]).
    pub fn results(paths: u64, assets: usize, cross_margin: bool) -> Need {
        Need {
            paths,
            assets,
            cross_margin,
            ..Need::default()
        }
    }

    /// A saved run's per-path results read back a few columns at a time (`report`, `tails`,
    /// each run of `compare`: `output::saved`), as a streamed run reads its own (its one
    /// block of simulated paths is counted too, a small over-count), and, with cross-margin
    /// accounts, the by-trigger matrices (`paths × assets`) its check reads at once.
    pub fn read_back(paths: u64, assets: usize, cross_margin: bool) -> Need {
        let matrix = if cross_margin {
            paths
                .saturating_mul(assets as u64)
                .saturating_mul(8)
                .saturating_mul(crate::output::saved::CHECKED_AT_ONCE as u64)
        } else {
            0
        };
        Need {
            streamed: paths,
            assets,
            cross_margin,
            extra: matrix,
            ..Need::default()
        }
    }

    /// Bytes, saturating.
    pub fn bytes(&self) -> u64 {
        let per_path = bytes_per_path(self.assets, self.cross_margin);
        let streamed = self
            .streamed
            .min(crate::mc::BLOCK)
            .saturating_mul(per_path)
            .saturating_add(self.streamed.saturating_mul(STREAMED_BYTES_PER_PATH));
        let results = self.paths.saturating_mul(per_path).saturating_add(streamed);
        let traces = self
            .traced
            .saturating_mul(self.steps)
            .saturating_mul(self.assets as u64)
            .saturating_mul(TRACE_BYTES_PER_ASSET_STEP);
        let population = self.positions.saturating_mul(BYTES_PER_POSITION);
        results
            .saturating_add(traces)
            .saturating_add(population)
            .saturating_add(self.extra)
    }
}

/// Whether a scenario text (as recorded in a results file's provenance) has cross-margin
/// accounts, whose per-path results hold the matrix by trigger asset. Text that does not
/// parse counts as having them (an upper bound: the readers refuse such a file later).
pub fn has_cross_margin(scenario_text: &str) -> bool {
    scenario_text
        .parse::<toml::Table>()
        .map_or(true, |t| t.contains_key("cross_margin"))
}

/// Refuses when `need` exceeds the memory this process may still use.
///
/// # Errors
/// [`MemoryError`] saying what was counted and what limits this process.
pub fn guard(need: Need) -> Result<(), MemoryError> {
    let bytes = need.bytes();
    if let Some((avail, source)) = available()
        && bytes > avail
    {
        // GiB with one decimal, MiB below 1 GiB ("0.1 GiB … 0.0 GiB" said nothing).
        let gib = |b: u64| {
            if b >= 1 << 30 {
                format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
            } else {
                format!("{} MiB", b.div_ceil(1 << 20))
            }
        };
        let s = |n: usize| if n == 1 { "" } else { "s" };
        // A merge or MPI rank 0 holds a part beside the whole run it streams.
        let paths = need.paths.max(need.streamed);
        // A simulation says what it holds and can run fewer paths; a command over saved
        // results (merge, report) can only be given more memory.
        let (what, advice) = if need.steps > 0 {
            (
                format!(
                    "{paths} paths of {} asset{} over {} steps ({} replayed step by step, {} positions held)",
                    need.assets,
                    s(need.assets),
                    need.steps,
                    need.traced,
                    need.positions
                ),
                "run fewer paths",
            )
        } else {
            (
                format!(
                    "the results of {paths} paths of {} asset{}",
                    need.assets,
                    s(need.assets)
                ),
                "raise the limit or run it where more memory is free",
            )
        };
        return Err(MemoryError(format!(
            "{what} need about {} of memory, but only {} is available ({source}); {advice}",
            gib(bytes),
            gib(avail)
        )));
    }
    Ok(())
}

/// The memory this process may still use and what limits it, or `None` when nothing can be
/// read (not Linux).
pub fn available() -> Option<(u64, &'static str)> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let candidates = [
        (meminfo_available(), "MemAvailable"),
        (cgroup_available(), "cgroup memory limit"),
        (
            rlimit(libc::RLIMIT_AS)
                .map(|l| address_space_left(l, status_kb(&status, "VmSize:"), worker_threads())),
            "ulimit -v (RLIMIT_AS)",
        ),
        (
            rlimit(libc::RLIMIT_DATA).map(|l| l.saturating_sub(status_kb(&status, "VmData:"))),
            "RLIMIT_DATA",
        ),
    ];
    candidates
        .into_iter()
        .filter_map(|(v, why)| v.map(|v| (v, why)))
        .min_by_key(|&(v, _)| v)
}

/// Address space glibc's `malloc` reserves for each thread's own arena (`HEAP_MAX_SIZE` on
/// 64-bit: twice the largest mmap threshold, 32 MiB). It counts against `ulimit -v` as soon
/// as a thread allocates, before anything is used: a merge of 150,000 paths that needs
/// 0.1 GiB aborted on a failed allocation under a 195 MiB limit the guard had accepted.
const ARENA_RESERVE: u64 = 64 << 20;

/// The threads that may allocate beside the main one: the worker pool's default size (the
/// most a command starts; `--threads` can only lower it).
fn worker_threads() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// What is left of an address-space limit `limit` for a process that maps `mapped` bytes
/// now and will run `threads` threads that allocate, each with its own malloc arena.
fn address_space_left(limit: u64, mapped: u64, threads: u64) -> u64 {
    limit
        .saturating_sub(mapped)
        .saturating_sub(threads.saturating_mul(ARENA_RESERVE))
}

fn meminfo_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(status_kb(
        info.lines().find(|l| l.starts_with("MemAvailable:"))?,
        "MemAvailable:",
    ))
    .filter(|&b| b > 0)
}

/// A `Key:   123 kB` line of `/proc/self/status` or `/proc/meminfo`, in bytes (0 if absent).
fn status_kb(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// A finite soft limit of `resource`, in bytes.
fn rlimit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(resource, &mut l) } == 0;
    (ok && l.rlim_cur != libc::RLIM_INFINITY).then_some(l.rlim_cur)
}

/// The cgroup's limit less its usage: v2 (`memory.max`, `memory.current`) or v1
/// (`memory.limit_in_bytes`, `memory.usage_in_bytes`), at this process's cgroup and its
/// ancestors (the tightest).
fn cgroup_available() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut best: Option<u64> = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (root, limit, usage) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = std::path::PathBuf::from(root);
        dir.push(path.trim_start_matches('/'));
        // From the process's cgroup up to the root: any ancestor's limit applies too.
        for d in dir.ancestors().take_while(|d| d.starts_with(root)) {
            let read = |f: &str| std::fs::read_to_string(d.join(f)).ok();
            let Some(max) = read(limit).and_then(|t| t.trim().parse::<u64>().ok()) else {
                continue;
            };
            let used = read(usage)
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let avail = max.saturating_sub(used);
            best = Some(best.map_or(avail, |b| b.min(avail)));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under `ulimit -v` each allocating thread's arena reservation is taken off what is
    /// left: 195 MiB less 30 MiB mapped leaves 37 MiB with two threads, too little for the
    /// 0.1 GiB a 150,000-path merge needs (it aborted mid-merge when the guard took the
    /// whole 165 MiB as free).
    #[test]
    fn an_address_space_limit_leaves_room_for_each_threads_arena() {
        let mib = 1u64 << 20;
        assert_eq!(address_space_left(195 * mib, 30 * mib, 2), 37 * mib);
        assert_eq!(address_space_left(100 * mib, 30 * mib, 2), 0);
        assert_eq!(address_space_left(u64::MAX, 0, u64::MAX), 0);
    }

    #[test]
    fn status_lines_are_read_in_bytes() {
        let text = "Name:\tx\nVmSize:\t  2048 kB\nVmData:\t 10 kB\n";
        assert_eq!(status_kb(text, "VmSize:"), 2048 * 1024);
        assert_eq!(status_kb(text, "VmPeak:"), 0);
    }

    #[test]
    fn need_counts_results_and_traces_and_saturates() {
        let n = Need {
            paths: 10,
            assets: 1,
            steps: 1000,
            traced: 2,
            positions: 5,
            cross_margin: false,
            streamed: 0,
            extra: 0,
        };
        assert_eq!(
            n.bytes(),
            10 * bytes_per_path(1, false)
                + 2 * 1000 * TRACE_BYTES_PER_ASSET_STEP
                + 5 * BYTES_PER_POSITION
        );
        // Three assets with cross-margin accounts: each asset's closed notional by trigger
        // asset, 3 × 8 bytes, in its column.
        let cross = Need {
            assets: 3,
            cross_margin: true,
            ..n
        };
        let plain = Need {
            cross_margin: false,
            ..cross
        };
        assert_eq!(cross.bytes() - plain.bytes(), 10 * 3 * 3 * 8);
        assert!(has_cross_margin(
            "[cross_margin]\nliquidation = \"close_all\"\n"
        ));
        assert!(has_cross_margin("cross_margin = { accounts = 10 }\n"));
        assert!(!has_cross_margin("[simulation]\npaths = 10\n"));
        assert!(has_cross_margin("not toml ["));
        let huge = Need {
            paths: u64::MAX,
            ..n
        };
        assert_eq!(huge.bytes(), u64::MAX);
        // A saved run read back with cross-margin accounts: two by-trigger matrices at once.
        assert_eq!(Need::read_back(1_000, 3, true).extra, 1_000 * 3 * 8 * 2);
        assert_eq!(Need::read_back(1_000, 3, false).extra, 0);
        // A streamed run holds one block of paths and a few columns: 10⁷ paths need less
        // than 2 GB, a tenth of what holding them would.
        let held = Need {
            paths: 10_000_000,
            ..n
        };
        let streamed = Need {
            paths: 0,
            streamed: 10_000_000,
            ..n
        };
        assert!(streamed.bytes() < 2_000_000_000, "{}", streamed.bytes());
        assert!(streamed.bytes() * 2 < held.bytes());
        assert_eq!(
            streamed.bytes() - n.bytes() + 10 * bytes_per_path(1, false),
            crate::mc::BLOCK * bytes_per_path(1, false) + 10_000_000 * STREAMED_BYTES_PER_PATH
        );
    }
}

//! A results folder is never lost (issue 20): runs are killed (SIGKILL) inside the commit
//! window, held open by the test hook `CASCADESIM_TEST_COMMIT_PAUSE_MS`, and the folder and
//! the next run are checked, with the atomic swap and with the rename fallback
//! (`CASCADESIM_TEST_NO_EXCHANGE`); and a Ctrl-C or SIGTERM after the simulation keeps the
//! previous folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::cli::{bin, folder_with, tiny};

fn setup() -> tempfile::TempDir {
    folder_with(&[("tiny.toml", &std::fs::read_to_string(tiny()).unwrap())])
}

fn args(paths: u32) -> Vec<String> {
    ["run", "tiny.toml", "--paths", &paths.to_string(), "-q"]
        .map(String::from)
        .to_vec()
}

fn run_ok(dir: &Path, paths: u32) {
    let out = bin().args(args(paths)).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The path count recorded in a results folder's summary.json.
fn paths_of(folder: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(folder.join("summary.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["paths"].as_u64()
}

/// Starts a run that pauses for a minute inside its commit window.
fn start_paused(dir: &Path, paths: u32, no_exchange: bool) -> Child {
    let mut c = bin();
    c.args(args(paths))
        .current_dir(dir)
        .env("CASCADESIM_TEST_COMMIT_PAUSE_MS", "60000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if no_exchange {
        c.env("CASCADESIM_TEST_NO_EXCHANGE", "1");
    }
    c.spawn().unwrap()
}

/// Waits until `ready` holds (the process is inside its window), then kills it.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its commit window"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no commit window"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A run of 2,000 paths in `dir`, its stderr piped, started with SIGHUP set to `hup`
/// (`SIG_DFL` as from a terminal, `SIG_IGN` as under `nohup`).
fn spawn_run(dir: &Path, hup: libc::sighandler_t) -> Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = bin();
    cmd.args(args(2000))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only `signal`, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGHUP, hup);
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

/// Hidden entries of the results folder (staging and set-aside folders).
fn hidden(results: &Path) -> Vec<String> {
    std::fs::read_dir(results)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn set_aside(results: &Path) -> Option<PathBuf> {
    hidden(results)
        .into_iter()
        .find(|n| n.starts_with(".tiny.old-"))
        .map(|n| results.join(n))
}

#[test]
fn a_kill_after_the_swap_leaves_the_new_folder_and_the_next_run_cleans_up() {
    let d = setup();
    let results = d.path().join("results");
    let dest = results.join("tiny");
    run_ok(d.path(), 40);
    let child = start_paused(d.path(), 60, false);
    kill_when(child, || paths_of(&dest) == Some(60));
    // Killed inside the window: the new complete folder is in place and readable.
    let out = bin()
        .args(["tails", "results/tiny/results.h5"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !hidden(&results).is_empty(),
        "the old folder is still aside"
    );
    run_ok(d.path(), 80);
    assert_eq!(paths_of(&dest), Some(80));
    assert!(hidden(&results).is_empty(), "{:?}", hidden(&results));
}

#[test]
fn a_kill_between_the_renames_keeps_the_old_folder_and_the_next_run_puts_it_back() {
    let d = setup();
    let results = d.path().join("results");
    let dest = results.join("tiny");
    run_ok(d.path(), 40);
    let child = start_paused(d.path(), 60, true);
    kill_when(child, || set_aside(&results).is_some());
    // The case: the previous results are only aside; the next run must not delete them.
    assert!(!dest.exists());
    let aside = set_aside(&results).unwrap();
    assert_eq!(paths_of(&aside), Some(40));
    // The next run puts them back at its start: when it reaches its own commit window
    // (also killed there), what it set aside is the first run's folder.
    let child = start_paused(d.path(), 60, true);
    let first = std::cell::Cell::new(None);
    kill_when(child, || {
        let now = set_aside(&results).filter(|p| *p != aside);
        first.set(now.as_deref().and_then(paths_of));
        first.get().is_some()
    });
    assert_eq!(
        first.get(),
        Some(40),
        "the recovered folder was set aside again"
    );
    run_ok(d.path(), 80);
    assert_eq!(paths_of(&dest), Some(80));
    assert!(hidden(&results).is_empty(), "{:?}", hidden(&results));
}

#[test]
fn a_file_in_the_way_is_an_error_before_anything_runs() {
    let d = setup();
    std::fs::create_dir(d.path().join("results")).unwrap();
    std::fs::write(d.path().join("results/tiny"), "mine").unwrap();
    let out = bin().args(args(40)).current_dir(d.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("results/tiny is in the way: it is not a folder"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("results/tiny")).unwrap(),
        "mine"
    );
    assert!(hidden(&d.path().join("results")).is_empty());
}

/// A signal after the simulation, while the figures are made (the staging folder already
/// holds `plots/`; a whole run's `results.h5` is streamed into a temporary file there from
/// the start and put in place just before the commit): the run stops with `code` before
/// its commit, the previous results stay, nothing is left behind (no temporary file).
fn interrupted_during_post_processing(signal: libc::c_int, code: i32) {
    let d = setup();
    let results = d.path().join("results");
    run_ok(d.path(), 40);
    // The tests may run under `nohup` (SIGHUP ignored, which the binary keeps): the child
    // starts with SIGHUP at its default, as from a terminal.
    let mut child = spawn_run(d.path(), libc::SIG_DFL);
    let start = Instant::now();
    let staged = || {
        hidden(&results)
            .iter()
            .any(|n| n.starts_with(".tiny.partial-") && results.join(n).join("plots").exists())
    };
    while !staged() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its post-processing"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no post-processing phase"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains("interrupted: nothing written"), "{err}");
    assert_eq!(paths_of(&results.join("tiny")), Some(40));
    assert!(hidden(&results).is_empty(), "{:?}", hidden(&results));
}

/// Ctrl-C after the simulation keeps the previous folder (it used to be ignored in this
/// phase).
#[test]
fn ctrl_c_during_post_processing_keeps_the_previous_folder() {
    interrupted_during_post_processing(libc::SIGINT, 130);
}

/// SIGTERM (Slurm's scancel or time limit) behaves like Ctrl-C, with exit 143 (it used to
/// kill the process and leave an empty `.tiny.partial-PID` folder).
#[test]
fn sigterm_during_post_processing_keeps_the_previous_folder() {
    interrupted_during_post_processing(libc::SIGTERM, 143);
}

/// SIGHUP (the terminal of a run started without nohup closed) behaves the same, with exit
/// 129 (it killed the process and left the staged `results.h5` behind).
#[test]
fn sighup_during_post_processing_keeps_the_previous_folder() {
    interrupted_during_post_processing(libc::SIGHUP, 129);
}

/// A run started under `nohup` (SIGHUP ignored) keeps ignoring it: a hang-up does not stop
/// it, and it writes its results (handling SIGHUP first ended such runs with exit 129).
#[test]
fn a_run_that_ignores_sighup_keeps_ignoring_it() {
    let d = setup();
    let results = d.path().join("results");
    let mut child = spawn_run(d.path(), libc::SIG_IGN);
    let start = Instant::now();
    while !results.is_dir() || hidden(&results).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no staging folder"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(paths_of(&results.join("tiny")), Some(2000));
}

/// Every file under `dir` (relative name → bytes), for a before/after comparison.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                files.insert(p.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// `report` into an existing run folder loses nothing when it cannot finish: with a folder
/// where one figure file should go (exit 2), and with every write past 60 kB failing as on
/// a full disk (exit 1), every previous file is left byte for byte and no hidden folder
/// stays. (It used to exit 0 with warnings, having replaced summary.json and report.html and
/// removed or truncated figures.)
#[test]
fn a_report_that_cannot_write_a_file_leaves_the_folder_as_it_was() {
    use std::os::unix::process::CommandExt;
    let d = setup();
    run_ok(d.path(), 20);
    let tiny = d.path().join("results/tiny");
    // Old files that a rebuilt report would change, so that a replacement shows.
    std::fs::write(tiny.join("summary.json"), "old summary").unwrap();
    std::fs::write(tiny.join("report.html"), "old page").unwrap();
    std::fs::remove_file(tiny.join("plots/drawdown.png")).unwrap();
    std::fs::create_dir(tiny.join("plots/drawdown.png")).unwrap();
    let before = snapshot(&tiny);
    let report = || {
        let mut c = bin();
        c.args(["report", "results/tiny/results.h5", "-q"])
            .current_dir(d.path());
        c
    };
    let out = report().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("drawdown.png"), "{err}");
    assert_eq!(snapshot(&tiny), before);
    std::fs::remove_dir(tiny.join("plots/drawdown.png")).unwrap();
    let before = snapshot(&tiny);
    let mut full = report();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        full.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 60_000,
                rlim_max: 60_000,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            Ok(())
        });
    }
    let out = full.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(snapshot(&tiny), before);
    assert!(
        !std::fs::read_dir(&tiny)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".report")),
        "a hidden folder is left"
    );
}

/// A report killed outright leaves its hidden folder; the next report removes it (and the
/// rebuilt files are in place).
#[test]
fn the_next_report_removes_the_hidden_folder_of_a_killed_one() {
    let d = setup();
    run_ok(d.path(), 20);
    let tiny = d.path().join("results/tiny");
    // A process id no process has (Linux pids stay below 2^22).
    let left = tiny.join(format!(".report.partial-{}", u32::MAX - 1));
    std::fs::create_dir_all(left.join("plots")).unwrap();
    std::fs::write(left.join("summary.json"), "half").unwrap();
    let out = common::cli::run_in(d.path(), &["report", "results/tiny/results.h5", "-q"]);
    assert!(out.status.success(), "{}", common::cli::text(&out.stderr));
    assert!(!left.exists());
    assert_eq!(paths_of(&tiny), Some(20));
}

/// A command that never checks for cancellation (`calibrate` here) ends at the first SIGTERM
/// with exit 143 and writes nothing; it used to ignore the signal and run to the end once
/// SIGTERM was handled (a scheduler sends it once, then SIGKILL).
#[test]
fn sigterm_ends_a_command_that_never_checks_at_once() {
    let d = tempfile::tempdir().unwrap();
    let scenario = common::cli::root().join("scenarios/eth_jan2021_replay.toml");
    let out = d.path().join("fit.toml");
    let mut child = bin()
        .args([
            "calibrate",
            scenario.to_str().unwrap(),
            "--to",
            "2021-01-08T00:00:00Z",
        ])
        .args(["--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "calibrate still running 30 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143));
    assert!(!out.exists(), "a calibrated scenario was written");
}

/// When the previous folder cannot be removed after the swap (here: the test moves it away
/// inside the commit window, which root cannot be stopped from doing otherwise), every
/// command that writes a folder warns, still prints its summary and exits 0; `heatmap`,
/// `compare` and `sweep` skipped their summary (only `run` and `merge` carried on).
#[test]
fn an_old_folder_left_behind_is_a_warning_and_every_command_prints_its_summary() {
    use std::os::unix::fs::MetadataExt as _;
    let d = setup();
    run_ok(d.path(), 40);
    let commands: [(&[&str], &str, &str); 3] = [
        (&["heatmap", "tiny.toml"], "tiny-heatmap", "wrote "),
        (
            &["compare", "results/tiny", "results/tiny"],
            "tiny-vs-tiny-compare",
            "comparison: ",
        ),
        (
            &[
                "sweep",
                "tiny.toml",
                "--paths",
                "20",
                "--set",
                "assets[0].book.depth_usd=100e6,150e6",
            ],
            "tiny-sweep",
            "tiny-sweep",
        ),
    ];
    for (args, name, printed) in commands {
        let out_dir = d.path().join("out");
        let dest = out_dir.join(name);
        let first = bin()
            .args(args)
            .args(["--out", "out"])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(
            first.status.success(),
            "{}",
            common::cli::text(&first.stderr)
        );
        let before = std::fs::metadata(&dest).unwrap().ino();
        let child = bin()
            .args(args)
            .args(["--out", "out"])
            .current_dir(d.path())
            .env("CASCADESIM_TEST_COMMIT_PAUSE_MS", "5000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Once the new folder is in place, the old one (at the staging name) is taken away.
        let start = Instant::now();
        let aside = loop {
            let swapped = std::fs::metadata(&dest).is_ok_and(|m| m.ino() != before);
            let aside = hidden(&out_dir)
                .into_iter()
                .find(|n| n.starts_with(&format!(".{name}.partial-")));
            if let (true, Some(aside)) = (swapped, aside) {
                break out_dir.join(aside);
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "{name}: no swap"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        std::fs::rename(&aside, d.path().join(format!("gone-{name}"))).unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            common::cli::text(&out.stdout),
            common::cli::text(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(
            stderr.contains("warning: the new results are in place")
                && stderr.contains("could not be removed"),
            "{name}: {stderr}"
        );
        assert!(
            stdout.contains(printed),
            "{name}: no summary printed:\n{stdout}"
        );
    }
}

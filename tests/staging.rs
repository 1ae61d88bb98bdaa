//! A results folder is never lost (issue 20): runs are killed (SIGKILL) inside the commit
//! window, held open by the test hook `CASCADESIM_TEST_COMMIT_PAUSE_MS`, and the folder and
//! the next run are checked, with the atomic swap and with the rename fallback
//! (`CASCADESIM_TEST_NO_EXCHANGE`); and a Ctrl-C after the simulation keeps the previous
//! folder.

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

/// Ctrl-C after the simulation, while the fits, replays and figures are made (the staging
/// folder already holds results.h5): the run stops with 130 before its commit, the previous
/// results stay, nothing is left behind. (It used to be ignored in this phase.)
#[test]
fn ctrl_c_during_post_processing_keeps_the_previous_folder() {
    let d = setup();
    let results = d.path().join("results");
    run_ok(d.path(), 40);
    let mut child = bin()
        .args(args(2000))
        .current_dir(d.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let staged = || {
        hidden(&results)
            .iter()
            .any(|n| n.starts_with(".tiny.partial-") && results.join(n).join("results.h5").exists())
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
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: nothing written"), "{err}");
    assert_eq!(paths_of(&results.join("tiny")), Some(40));
    assert!(hidden(&results).is_empty(), "{:?}", hidden(&results));
}

//! Running the real binary and reading what it wrote: the harness of the tests that drive
//! `cascadesim` the way a user would. Each test binary uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary, as a command to add arguments to.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cascadesim"))
}

/// The crate's folder (bundled scenarios, `tests/data`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary with `args` in `dir`, its output captured.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    run_env(dir, args, &[])
}

/// [`run_in`] with extra environment variables.
pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

/// Runs the binary with `args` in the crate's folder.
pub fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

/// `tests/data/tiny.toml`, the small scenario most command tests run.
pub fn tiny() -> String {
    root().join("tests/data/tiny.toml").display().to_string()
}

/// Writes `<dir>/engine.toml`: `tests/data/tiny.toml` with a liquidation engine (a queue and
/// a backstop), whose populations have the engine's columns. Returns its path.
pub fn write_engine_scenario(dir: &Path) -> PathBuf {
    let base = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    let path = dir.join("engine.toml");
    std::fs::write(
        &path,
        format!(
            "{base}liquidation_engine = {{ capacity_usd_per_step = 2.0e6, delay_steps = 1, \
             backstop = {{ margin_fraction = 0.5, capital_usd = 5.0e6 }} }}\n"
        ),
    )
    .unwrap();
    path
}

/// A temporary folder holding `files` (name, text): a scenario and the files it refers
/// to, for commands run in that folder.
pub fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

/// Captured output as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The lines of a command's terminal output, less those that print a results folder (as
/// long as the temporary folder makes them).
pub fn printed_lines(out: &str) -> impl Iterator<Item = &str> {
    out.lines()
        .filter(|l| !l.starts_with("results: ") && !l.starts_with("comparison: "))
}

/// Asserts that every line fits an 80-column terminal, naming `what` and the line that
/// does not.
pub fn assert_fits_80<'a>(what: &str, lines: impl IntoIterator<Item = &'a str>) {
    for l in lines {
        let n = l.chars().count();
        assert!(n <= 80, "{what}: a line of {n} columns:\n{l}");
    }
}

/// A JSON file (a `summary.json`), parsed.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary exists"))
        .expect("valid JSON")
}

/// Runs `run <scenario> <args…> --quiet` in `dir` once whole (into `dir/single`) and as two
/// shards (into `dir/shards`) merged into `dir/merged`, asserts that the merge gives the
/// single run's files byte for byte, and returns the single run's folder,
/// `dir/single/<scenario's stem>`. Every command must succeed.
pub fn assert_two_shards_merge_to_the_single_run(
    dir: &Path,
    scenario: &str,
    args: &[&str],
) -> PathBuf {
    let ok = |o: Output| assert!(o.status.success(), "{}", text(&o.stderr));
    let with = |extra: &[&str], out: &str| {
        let mut a = vec!["run", scenario];
        a.extend_from_slice(args);
        a.extend_from_slice(extra);
        a.extend(["--quiet", "--out", out]);
        ok(run_in(dir, &a));
    };
    let stem = Path::new(scenario).file_stem().unwrap().to_str().unwrap();
    with(&[], "single");
    for k in 0..2 {
        with(&["--shard", &format!("{k}/2")], "shards");
    }
    let shard = |k: u32| {
        dir.join(format!("shards/{stem}-shards/shard-{k}-of-2.h5"))
            .display()
            .to_string()
    };
    let (s0, s1) = (shard(0), shard(1));
    ok(run_in(
        dir,
        &["merge", &s0, &s1, "--out", "merged", "--quiet"],
    ));
    let single = dir.join("single").join(stem);
    super::assert_same_tree(&single, &dir.join("merged").join(stem), "results.h5");
    single
}

/// In `dir`: a FIFO `fifo.<ext>` and a sparse file `big.<ext>` of 1 GiB + 1 byte (no disk
/// used), the inputs a reader must refuse before reading (it would block, or fill memory).
pub fn fifo_and_big_file(dir: &Path, ext: &str) -> (PathBuf, PathBuf) {
    let fifo = dir.join(format!("fifo.{ext}"));
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let big = dir.join(format!("big.{ext}"));
    std::fs::File::create(&big)
        .unwrap()
        .set_len((1 << 30) + 1)
        .unwrap();
    (fifo, big)
}

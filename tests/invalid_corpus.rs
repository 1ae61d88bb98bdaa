//! The bad-input corpus: every `tests/invalid/*.toml` is an invalid scenario whose first
//! comment lines say what the error output must contain:
//!
//! ```text
//! # what is broken, in words
//! # expect: populations[0].leverage.values: leverage must be > 1
//! # expect: line 23
//! ```
//!
//! `# expect: line N` means `<file name>:N:` (the problem is reported on line N); any other
//! expectation is a substring of stderr. Referenced CSV files live in `tests/invalid/data/`.
//!
//! Each case runs through the real binary twice, as `validate FILE` and as
//! `run FILE --out DIR`: both must exit with status 2, print every expectation, never panic,
//! and `run` must write nothing. Every broken case is listed, not only the first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::cli::{root, run as cascadesim, text};

/// Fewer cases than this means files went missing.
const MIN_CASES: usize = 40;

/// One corpus file and what its error output must contain.
struct Case {
    /// Path relative to the crate root, as passed to the binary.
    path: String,
    /// File name, which the error output uses in `name:LINE:COL`.
    file_name: String,
    expect: Vec<Expect>,
}

enum Expect {
    /// `<file name>:N:` must appear.
    Line(usize),
    /// This text must appear.
    Text(String),
}

impl Expect {
    fn needle(&self, file_name: &str) -> String {
        match self {
            Expect::Line(n) => format!("{file_name}:{n}:"),
            Expect::Text(t) => t.clone(),
        }
    }
}

/// Every `tests/invalid/*.toml`, sorted by name.
fn corpus() -> Vec<Case> {
    let dir = root().join("tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files.iter().map(|p| case(p)).collect()
}

/// Reads the `# expect:` lines from the leading comment block of a corpus file.
fn case(path: &Path) -> Case {
    let source =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expect = source
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# expect:"))
        .map(|e| {
            let e = e.trim();
            match e.strip_prefix("line ").map(str::parse::<usize>) {
                Some(Ok(n)) => Expect::Line(n),
                _ => Expect::Text(e.to_string()),
            }
        })
        .collect();
    let file_name = path
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    Case {
        path: format!("tests/invalid/{file_name}"),
        file_name,
        expect,
    }
}

/// Problems with one invocation: exit status, missing expectations, a panic.
fn check_output(case: &Case, what: &str, out: &Output, problems: &mut Vec<String>) {
    let stderr = text(&out.stderr);
    let mut wrong = Vec::new();
    if out.status.code() != Some(2) {
        wrong.push(format!("exit status {:?}, expected 2", out.status.code()));
    }
    if stderr.contains("panicked") || text(&out.stdout).contains("panicked") {
        wrong.push("panicked".to_string());
    }
    for e in &case.expect {
        let needle = e.needle(&case.file_name);
        if !stderr.contains(&needle) {
            wrong.push(format!("missing {needle:?}"));
        }
    }
    if !wrong.is_empty() {
        let mut msg = format!("{} [{what}]: {}", case.path, wrong.join("; "));
        let _ = write!(msg, "\n    stderr:\n{}", indent(&stderr));
        problems.push(msg);
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("      {l}\n"))
        .collect::<String>()
}

/// Whether `dir` is absent or an empty folder.
fn absent_or_empty(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => !dir.exists(),
    }
}

#[test]
fn corpus_has_enough_cases_each_with_an_expectation() {
    let cases = corpus();
    assert!(
        cases.len() >= MIN_CASES,
        "expected at least {MIN_CASES} invalid scenarios in tests/invalid, found {}",
        cases.len()
    );
    let without: Vec<&str> = cases
        .iter()
        .filter(|c| !c.expect.iter().any(|e| matches!(e, Expect::Text(_))))
        .map(|c| c.path.as_str())
        .collect();
    assert!(
        without.is_empty(),
        "cases without an `# expect:` message line: {without:?}"
    );
}

#[test]
fn every_invalid_scenario_is_rejected_with_its_messages_and_writes_nothing() {
    let cases = corpus();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let mut problems = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let out = cascadesim(&["validate", &case.path]);
        check_output(case, "validate", &out, &mut problems);

        let out_dir = tmp.path().join(format!("out{i}"));
        let out_arg = out_dir.display().to_string();
        let out = cascadesim(&["run", &case.path, "--quiet", "--out", &out_arg]);
        check_output(case, "run", &out, &mut problems);
        if !absent_or_empty(&out_dir) {
            problems.push(format!(
                "{} [run]: wrote into {} although the scenario is invalid",
                case.path, out_arg
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} corpus checks failed:\n\n{}",
        problems.len(),
        cases.len() * 2,
        problems.join("\n")
    );
}

/// A valid scenario with an absurd path count passes `validate` (it is a well-formed
/// request) but `run` refuses it before simulating or writing anything.
#[test]
fn run_refuses_a_path_count_that_cannot_fit_in_memory() {
    let tiny = std::fs::read_to_string(root().join("tests/data/tiny.toml")).expect("tiny.toml");
    let absurd = tiny.replacen("paths = 300", "paths = 10_000_000_000_000", 1);
    assert_ne!(absurd, tiny, "tiny.toml no longer has `paths = 300`");
    let tmp = tempfile::tempdir().expect("temporary folder");
    let scenario = tmp.path().join("absurd_paths.toml");
    std::fs::write(&scenario, absurd).expect("write scenario");
    let out_dir = tmp.path().join("out");
    let (scenario, out_arg) = (
        scenario.display().to_string(),
        out_dir.display().to_string(),
    );

    let out = cascadesim(&["run", &scenario, "--quiet", "--out", &out_arg]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("memory"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(absent_or_empty(&out_dir), "run wrote into {out_arg}");

    // The same count from the command line is refused the same way.
    let out = cascadesim(&[
        "run",
        "tests/data/tiny.toml",
        "--quiet",
        "--paths",
        "10000000000000",
        "--out",
        &out_arg,
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("memory"), "{stderr}");
    assert!(absent_or_empty(&out_dir), "run wrote into {out_arg}");
}

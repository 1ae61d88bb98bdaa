//! Replays the committed fuzz corpora on stable. Every file of `fuzz/corpus/scenario_bytes/`
//! and `fuzz/corpus/scenario_structured/` goes through `Scenario::parse` (and, when valid
//! and small, one simulated path) with the fuzz targets' own decoding and checks
//! (`fuzz/src/lib.rs`, included here by path): no panic, every issue names a key path or a
//! line inside the text, accepted scenarios simulate to finite figures. Crashes the fuzzer
//! finds are added to the corpus, so this keeps them fixed without nightly or cargo-fuzz.
//! The same for `fuzz/corpus/csv_files/` and `fuzz/corpus/results_files/` with the checks of
//! `fuzz/src/files.rs` (CSVs and results files: no panic, every problem names its file).

#[path = "../fuzz/src/lib.rs"]
mod fuzz_input;

#[path = "../fuzz/src/files.rs"]
mod files;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Command;

use files::{CsvOutcome, ResultsOutcome};
use fuzz_input::{Input, Outcome, Structured, check};

/// Every file of one target's corpus, sorted by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("corpus file is readable"))
        })
        .collect()
}

/// Runs `f` on every corpus file of `target` that decodes (`Some`); returns the results,
/// failing with every file that panics.
fn run_all<T>(target: &str, f: impl Fn(&[u8]) -> Option<T>) -> Vec<T> {
    let files = corpus(target);
    assert!(
        files.len() >= 20,
        "{target}: only {} corpus files; files went missing",
        files.len()
    );
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for (name, bytes) in &files {
        match catch_unwind(AssertUnwindSafe(|| f(bytes))) {
            Ok(o) => outcomes.extend(o),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{target}/{name}: {msg}"));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "corpus inputs that fail:\n{}",
        failed.join("\n")
    );
    outcomes
}

/// Runs `check` on each input; returns the outcomes, failing with every panicking file.
fn replay(target: &str, decode: impl Fn(&[u8]) -> Option<Input>) -> Vec<Outcome> {
    let files = corpus(target).len();
    let outcomes = run_all(target, |b| decode(b).map(|input| check(&input)));
    let invalid = count(&outcomes, |o| matches!(o, Outcome::Invalid(_)));
    let simulated = count(&outcomes, |o| *o == Outcome::Simulated);
    eprintln!(
        "{target}: {files} files, {} decoded: {invalid} rejected, {simulated} simulated, {} valid but large",
        outcomes.len(),
        outcomes.len() - invalid - simulated
    );
    outcomes
}

fn count(outcomes: &[Outcome], f: impl Fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| f(o)).count()
}

#[test]
fn byte_corpus_never_panics_and_every_issue_is_located() {
    let o = replay("scenario_bytes", |b| Some(Input::from_bytes(b)));
    // The corpus holds both rejected and accepted scenarios (the bundled ones are seeds).
    let invalid = count(&o, |o| matches!(o, Outcome::Invalid(n) if *n > 0));
    assert!(invalid >= 10, "only {invalid} rejected inputs in {o:?}");
    assert!(
        count(&o, |o| !matches!(o, Outcome::Invalid(_))) >= 1,
        "no accepted input"
    );
}

#[test]
fn structured_corpus_never_panics_and_reaches_validation_and_simulation() {
    let o = replay("scenario_structured", |b| {
        Structured::from_bytes(b).map(|s| s.render())
    });
    let invalid = count(&o, |o| matches!(o, Outcome::Invalid(n) if *n > 0));
    let simulated = count(&o, |o| *o == Outcome::Simulated);
    assert!(invalid >= 10, "only {invalid} rejected inputs");
    assert!(simulated >= 5, "only {simulated} simulated inputs");
    // Valid-but-large scenarios are parsed, not simulated: counted so the variant is used.
    let large = count(&o, |o| *o == Outcome::Valid);
    assert!(invalid + simulated + large == o.len());
}

#[test]
fn the_bundled_scenario_text_is_accepted_by_the_byte_decoding() {
    // The byte format is the scenario text itself when there is no NUL byte.
    let text = std::fs::read("tests/data/tiny.toml").expect("tests/data/tiny.toml");
    let input = Input::from_bytes(&text);
    assert_eq!(input.toml.as_bytes(), &text[..]);
    assert_eq!(check(&input), Outcome::Simulated);
}

// Issue 20: the files read from elsewhere. `fuzz/src/files.rs` says what is checked; the
// results corpus is applied to a fresh run of `tests/data/tiny.toml`, so it follows the file
// layout of the code under test.

#[test]
fn csv_corpus_never_panics_and_names_file_and_line() {
    let outcomes = run_all("csv_files", |b| Some(files::check_csv(b)));
    let accepted = outcomes
        .iter()
        .filter(|o| **o == CsvOutcome::Accepted)
        .count();
    eprintln!("csv_files: {} inputs, {accepted} accepted", outcomes.len());
    // The corpus reaches both the accepting and the rejecting paths.
    assert!(accepted >= 2 && accepted < outcomes.len(), "{accepted}");
}

#[test]
fn results_corpus_never_panics_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny.toml"),
        dir.path().join("tiny.toml"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cascadesim"))
        .args(["run", "tiny.toml", "--paths", "20", "-q"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = dir.path().join("results/tiny/results.h5");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    // A missing attribute is a problem the checks see.
    assert_eq!(
        files::check_results(&base, &scratch, &[8, 5, 0]),
        ResultsOutcome::Rejected,
        "deleting the `paths` attribute is a problem"
    );
    let outcomes = run_all("results_files", |d| {
        Some(files::check_results(&base, &scratch, d))
    });
    let accepted = outcomes
        .iter()
        .filter(|o| **o == ResultsOutcome::Accepted)
        .count();
    eprintln!(
        "results_files: {} inputs, {accepted} accepted",
        outcomes.len()
    );
    assert!(accepted >= 2 && accepted < outcomes.len(), "{accepted}");
}

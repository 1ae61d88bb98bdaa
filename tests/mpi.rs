//! `cascadesim run --mpi` under `mpirun` on localhost: two ranks must write the very files
//! of a one-process run. Built and run only with `--features mpi` (CI installs OpenMPI and
//! runs `cargo test --features mpi --test mpi`).
#![cfg(feature = "mpi")]

use std::process::Command;

mod common;
use common::assert_same_tree;
use common::cli::root;

/// Runs the traced tiny scenario with `args` under two MPI ranks and in one process, and
/// compares the folders.
fn two_ranks_match(args: &[&str]) {
    let base = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    let text = format!("{base}\n[output]\ntrace_paths = [1, 25]\ntrace_worst = 2\n");
    two_ranks_match_text(&text, args);
}

/// Runs the scenario `text` with `args` under two MPI ranks and in one process, and compares
/// the folders.
fn two_ranks_match_text(text: &str, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("ranked.toml");
    std::fs::write(&scenario, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_cascadesim");
    let mpi = dir.path().join("mpi");
    let o = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            "2",
            bin,
            "run",
        ])
        .arg(&scenario)
        .args(args)
        .args(["--mpi", "--quiet", "--out"])
        .arg(&mpi)
        .current_dir(root())
        .output()
        .expect("mpirun is installed (openmpi-bin)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let single = dir.path().join("single");
    let o = Command::new(bin)
        .arg("run")
        .arg(&scenario)
        .args(args)
        .args(["--quiet", "--out"])
        .arg(&single)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_tree(&single.join("ranked"), &mpi.join("ranked"), "results.h5");
}

#[test]
fn two_ranks_write_the_one_process_files() {
    two_ranks_match(&["--paths", "300"]);
}

/// Cross-margin accounts add per-asset columns and each asset's paths × trigger-asset
/// matrix, which the ranks send by position: the files are still the one process's.
#[test]
fn two_ranks_write_the_one_process_files_with_cross_margin_accounts() {
    let text =
        std::fs::read_to_string(root().join("scenarios/cross_margin_contagion.toml")).unwrap();
    two_ranks_match_text(&text, &["--paths", "40"]);
}

/// Each rank has fewer paths than there are replicates, so each draws only its own (path
/// `i` on replicate `i mod R`); the files are still the one process's.
#[test]
fn ranks_with_fewer_paths_than_replicates_write_the_one_process_files() {
    two_ranks_match(&["--paths", "40", "--replicates", "64"]);
}

/// A run of several blocks (`mc::BLOCK` is 65,536 paths): rank 0 appends its part and rank
/// 1's to the staged `results.h5` in the single process's blocks, one of which holds paths of
/// both ranks, so the file is the one process's, byte for byte. 140,000 paths: run in release
/// by name in `.ci/run`.
#[test]
#[ignore = "140,000 paths: run in release by .ci/run"]
fn two_ranks_of_several_blocks_write_the_one_process_files() {
    let text = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    two_ranks_match_text(&text, &["--paths", "140000"]);
}

#[test]
fn a_sweep_over_two_ranks_writes_the_one_process_files() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_cascadesim");
    let args = [
        "sweep",
        "tests/data/tiny.toml",
        "--paths",
        "200",
        "--set",
        "assets[0].book.depth_usd=100e6,200e6,300e6",
        "--quiet",
        "--out",
    ];
    let mpi = dir.path().join("mpi");
    let o = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "2", bin])
        .args(args)
        .arg(&mpi)
        .arg("--mpi")
        .current_dir(root())
        .output()
        .expect("mpirun is installed (openmpi-bin)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let single = dir.path().join("single");
    let o = Command::new(bin)
        .args(args)
        .arg(&single)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_tree(
        &single.join("tiny-sweep"),
        &mpi.join("tiny-sweep"),
        "sweep.h5",
    );
}

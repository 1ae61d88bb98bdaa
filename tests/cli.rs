//! Runs the real `cascadesim` binary the way a user would: validation, runs, files written,
//! thread-count independence, and that `results.h5` agrees with `summary.json`.

use std::path::Path;
use std::process::Command;

use cascadesim::output::h5;

mod common;
use common::cli::{bin, json, root, run, text, tiny};

#[test]
fn bundled_scenarios_all_validate() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected at least three bundled scenarios, found {files:?}"
    );
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("ok: "))
            .count(),
        files.len()
    );
}

#[test]
fn invalid_scenario_lists_every_problem_with_path_and_line() {
    let out = run(&["validate", "tests/data/invalid_many.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for expected in [
        "invalid_many.toml:5:18: simulation.start_hour_utc: must be in [0, 24)",
        "assets[0].volatility: missing required key `volatility`",
        "invalid_many.toml:10:1: assets[0].volatilty: unknown key `volatilty` (did you mean `volatility`?)",
        "invalid_many.toml:11:20: assets[0].shocks[0].step: must be below simulation.steps = 10",
        "invalid_many.toml:15:13: assets[0].book.depth_usd: must be > 0 USD",
        "populations[0].asset: unknown asset \"BTCC\" (did you mean \"BTC\"?)",
        "invalid_many.toml:21:14: populations[0].long_share: must be a probability in [0, 1]",
        "populations[0].leverage.values: leverage must be > 1",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("8 problems found"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn invalid_run_writes_nothing_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "run",
        "tests/data/invalid_many.toml",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        !out_dir.exists(),
        "no output folder for an invalid scenario"
    );
}

#[test]
fn toml_syntax_error_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.toml");
    std::fs::write(&f, "[simulation]\nsteps = 10\npaths = = 3\n").unwrap();
    let out = run(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("broken.toml:3:"), "{err}");
    assert!(err.contains("TOML syntax error"), "{err}");
}

#[test]
fn missing_scenario_file_is_an_input_error() {
    let out = run(&["run", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read scenario file no/such/file.toml"));
}

#[test]
fn an_output_folder_that_is_a_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "keep me").unwrap();
    for cmd in [
        vec!["run", "tests/data/tiny.toml"],
        vec!["heatmap", "tests/data/tiny.toml"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--out", file.to_str().unwrap()]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(
            text(&out.stderr).contains("is a file, not a folder"),
            "{cmd:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    }
}

/// A FIFO at `path` (a file that is not a regular file, made without privileges).
fn fifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_fifo()
}

/// `population --out` and `calibrate --out` at something that is not a regular file are
/// refused with exit 2 before any work, and the thing is left in place (a device used to be
/// replaced by a regular file); `calibrate --out <folder>` is exit 2 (it was 1).
#[test]
fn a_file_output_that_is_not_a_regular_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("pipe.csv");
    fifo(&pipe);
    let out = run(&["population", &tiny(), "--out", pipe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not a regular file"),
        "{}",
        text(&out.stderr)
    );
    assert!(is_fifo(&pipe));
    // Calibrate's --to exactly 24 hours after the warm-up (2021-01-02T01:00:00Z) is accepted
    // (it was refused with "must leave at least 24 hours"): the only problem left is --out.
    let scenario = "scenarios/eth_jan2021_replay.toml";
    for dest in [pipe.to_str().unwrap(), dir.path().to_str().unwrap()] {
        let out = run(&[
            "calibrate",
            scenario,
            "--to",
            "2021-01-03T01:00:00Z",
            "--out",
            dest,
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dest}: {err}");
        assert!(err.contains("is not a regular file"), "{dest}: {err}");
        assert!(!err.contains("must leave"), "{err}");
    }
    assert!(is_fifo(&pipe));
    // A regular file where a parent folder of the output should be: exit 2 before the work
    // (it used to fail with exit 1 after the whole calibration or population).
    let file = dir.path().join("a");
    std::fs::write(&file, "a file").unwrap();
    let inside = file.join("b.csv");
    let out = run(&["population", &tiny(), "--out", inside.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a file");
}

/// `population --out` into folders that do not exist yet creates them, as `run` does (it was
/// exit 1).
#[test]
fn population_creates_the_missing_folders_of_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("no/such/x.csv");
    let out = run(&["population", &tiny(), "--out", dest.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&dest)
            .unwrap()
            .starts_with("population,asset")
    );
}

#[test]
fn run_writes_summary_and_results_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        &tiny(),
        "--paths",
        "250",
        "--seed",
        "9",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cascade probability"), "{stdout}");
    assert!(stdout.contains("paths/s"), "{stdout}");

    let res = dir.path().join("tiny");
    let s = json(&res.join("summary.json"));
    let h5f = res.join("results.h5");
    assert_eq!(s["paths"], 250);
    assert_eq!(s["seed"], 9);
    assert!(s["scenario"].as_str().unwrap().contains("[simulation]"));
    assert_eq!(s["cascadesim_version"], env!("CARGO_PKG_VERSION"));

    // Attributes record what produced the file.
    assert_eq!(h5::read_attr_u64(&h5f, "/", "paths").unwrap(), 250);
    assert_eq!(h5::read_attr_u64(&h5f, "/", "seed").unwrap(), 9);
    let toml = h5::read_attr_str(&h5f, "/", "scenario_toml").unwrap();
    assert_eq!(
        toml,
        std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap()
    );
    assert_eq!(
        h5::read_attr_str(&h5f, "/", "cascadesim_version").unwrap(),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        h5::read_attr_str(&h5f, "/paths/max_drawdown", "unit").unwrap(),
        "fraction"
    );

    let names = h5::list_datasets(&h5f, "/paths").unwrap();
    for required in [
        "max_drawdown",
        "exogenous_drawdown",
        "amplification",
        "liquidated_notional",
        "liquidation_count",
        "cascade_rounds",
        "bad_debt",
        "cascade",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "missing /paths/{required}: {names:?}"
        );
    }

    // Cascade count and probability agree with the per-path flags.
    let flags = h5::read_f64_column(&h5f, "/paths/cascade").unwrap();
    assert_eq!(flags.len(), 250);
    let k = flags.iter().sum::<f64>() as u64;
    assert_eq!(s["cascades"].as_u64().unwrap(), k);
    let p = &s["cascade_probability"];
    assert!((p["estimate"].as_f64().unwrap() - k as f64 / 250.0).abs() < 1e-15);
    assert!(p["ci_low"].as_f64().unwrap() <= p["estimate"].as_f64().unwrap());
    assert!(p["ci_high"].as_f64().unwrap() >= p["estimate"].as_f64().unwrap());
    assert!(
        k > 0 && k < 250,
        "the tiny scenario should be uncertain, got {k} cascades"
    );

    // Every summarised metric's mean and quantiles are those of its column.
    for metric in [
        "max_drawdown",
        "amplification",
        "liquidated_notional",
        "bad_debt",
    ] {
        let v = h5::read_f64_column(&h5f, &format!("/paths/{metric}")).unwrap();
        let m = &s["metrics"][metric];
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert_eq!(m["mean"].as_f64().unwrap(), mean, "{metric} mean");
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let q99 = m["quantiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["p"] == 0.99)
            .unwrap()["value"]
            .as_f64()
            .unwrap();
        let h = 249.0 * 0.99;
        let lo = h as usize;
        let expected = sorted[lo] + (h - lo as f64) * (sorted[lo + 1] - sorted[lo]);
        assert!(
            (q99 - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{metric} q99 {q99} vs {expected}"
        );
        let max = m["max"].as_f64().unwrap();
        assert_eq!(max, *sorted.last().unwrap());
    }
    // amplification = max_drawdown - exogenous_drawdown, path by path (one asset).
    let dd = h5::read_f64_column(&h5f, "/paths/max_drawdown").unwrap();
    let exo = h5::read_f64_column(&h5f, "/paths/exogenous_drawdown").unwrap();
    let amp = h5::read_f64_column(&h5f, "/paths/amplification").unwrap();
    for i in 0..250 {
        assert!((amp[i] - (dd[i] - exo[i])).abs() < 1e-15);
    }
    // No staging folders left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn one_and_two_threads_give_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["1", "2"] {
        let out_dir = dir.path().join(format!("t{t}"));
        let out = run(&[
            "run",
            &tiny(),
            "--paths",
            "300",
            "--threads",
            t,
            "--quiet",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "--quiet prints nothing");
    }
    for f in ["summary.json", "results.h5"] {
        let a = std::fs::read(dir.path().join("t1/tiny").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("t2/tiny").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn a_path_replayed_alone_equals_the_same_path_in_a_run() {
    // Path ids are streams: the first 10 paths of a 300-path run are the 10-path run.
    let dir = tempfile::tempdir().unwrap();
    for n in ["10", "300"] {
        let out = run(&[
            "run",
            &tiny(),
            "--paths",
            n,
            "--quiet",
            "--out",
            dir.path().join(n).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let a = h5::read_f64_column(
        &dir.path().join("10/tiny/results.h5"),
        "/paths/max_drawdown",
    )
    .unwrap();
    let b = h5::read_f64_column(
        &dir.path().join("300/tiny/results.h5"),
        "/paths/max_drawdown",
    )
    .unwrap();
    assert_eq!(a[..], b[..10]);
}

/// `--paths 0` is refused (issue 25: it used to write, and replace, a results folder of
/// nothing); one path works.
#[test]
fn zero_and_one_path_runs_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        &tiny(),
        "--paths",
        "0",
        "--out",
        dir.path().join("z").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--paths must be at least 1"));
    assert!(!dir.path().join("z/tiny").exists(), "nothing written");

    let out = run(&[
        "run",
        &tiny(),
        "--paths",
        "1",
        "--quiet",
        "--out",
        dir.path().join("one").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = json(&dir.path().join("one/tiny/summary.json"));
    assert_eq!(s["paths"], 1);
    assert_eq!(
        s["metrics"]["max_drawdown"]["min"],
        s["metrics"]["max_drawdown"]["max"]
    );
}

#[test]
fn rerunning_replaces_previous_results_whole() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    assert!(
        run(&["run", &tiny(), "--paths", "20", "--quiet", "--out", o])
            .status
            .success()
    );
    std::fs::write(dir.path().join("tiny/stale.txt"), "from an older run").unwrap();
    assert!(
        run(&["run", &tiny(), "--paths", "30", "--quiet", "--out", o])
            .status
            .success()
    );
    assert_eq!(json(&dir.path().join("tiny/summary.json"))["paths"], 30);
    assert!(
        !dir.path().join("tiny/stale.txt").exists(),
        "the folder is replaced as a whole"
    );
}

#[test]
fn bad_replicate_counts_are_input_errors() {
    let out = run(&["run", &tiny(), "--replicates", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--replicates must be between 1 and 4096, found 0"),
        "{}",
        text(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let per_path = dir.path().join("per_path.toml");
    let base = std::fs::read_to_string(tiny()).unwrap();
    std::fs::write(
        &per_path,
        base.replace(
            "max_rounds = 4",
            "max_rounds = 4\npopulation = \"per_path\"",
        ),
    )
    .unwrap();
    let out = run(&["run", per_path.to_str().unwrap(), "--replicates", "4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--replicates has no effect with population = \"per_path\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn zero_threads_is_rejected() {
    let out = run(&["run", &tiny(), "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--threads must be at least 1"));
}

/// Starts a long run into `out` (which already holds complete results of a short run),
/// waits until it is simulating, then sends `signal`.
fn interrupt_long_run(out: &Path, signal: &str) -> std::process::ExitStatus {
    let scenario = root().join("scenarios/btc_flash_crash.toml");
    let mut child = bin()
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--paths",
            "1000000",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Wait for the staging folder: the run has validated and started (no timing assertion;
    // this only waits for a state).
    let staging = format!(".btc_flash_crash.partial-{}", child.id());
    for _ in 0..600 {
        if out.join(&staging).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let started = out.join(&staging).exists();
    if !started {
        let _ = child.kill();
        let _ = child.wait();
        panic!("run never started staging");
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

fn short_run(out: &Path) -> Vec<u8> {
    let scenario = root().join("scenarios/btc_flash_crash.toml");
    let o = run(&[
        "run",
        scenario.to_str().unwrap(),
        "--paths",
        "20",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read(out.join("btc_flash_crash/results.h5")).unwrap()
}

#[test]
fn sigint_keeps_previous_results_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let before = short_run(dir.path());
    let status = interrupt_long_run(dir.path(), "-INT");
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        std::fs::read(dir.path().join("btc_flash_crash/results.h5")).unwrap(),
        before
    );
    assert_eq!(
        json(&dir.path().join("btc_flash_crash/summary.json"))["paths"],
        20
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["btc_flash_crash"],
        "the staging folder is removed on Ctrl-C"
    );
}

#[test]
fn sigkill_keeps_previous_results_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let before = short_run(dir.path());
    let status = interrupt_long_run(dir.path(), "-KILL");
    assert!(!status.success());
    assert_eq!(
        std::fs::read(dir.path().join("btc_flash_crash/results.h5")).unwrap(),
        before
    );
    // The killed run's staging folder is still there (nothing could remove it) ...
    let count = || std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(count(), 2);
    // ... and the next run removes it.
    short_run(dir.path());
    assert_eq!(count(), 1);
}

#[test]
fn tail_analysis_is_in_both_files_and_refits_identically_from_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    let out = run(&["run", &tiny(), "--paths", "400", "--quiet", "--out", o]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let res = dir.path().join("tiny");
    let s = json(&res.join("summary.json"));
    for m in [
        "max_drawdown",
        "amplification",
        "liquidated_notional",
        "bad_debt",
    ] {
        assert!(s["tails"][m].is_object(), "summary.tails.{m}");
        assert!(s["tails"][m]["hill"].is_null(), "curves stay in HDF5");
    }
    let fit = &s["tails"]["max_drawdown"]["ml_fit"];
    assert_eq!(fit["status"], "available", "{fit}");
    let h5f = res.join("results.h5");
    let hill = h5::read_f64_column(&h5f, "/tails/max_drawdown/hill_xi").unwrap();
    assert!(!hill.is_empty() && hill.iter().all(|x| x.is_finite()));
    assert!(
        !h5::read_f64_column(&h5f, "/tails/max_drawdown/mean_excess")
            .unwrap()
            .is_empty()
    );

    // Refit from the file alone: the same fit, bit for bit (same data, same seed).
    let refit = run(&[
        "tails",
        h5f.to_str().unwrap(),
        "--metric",
        "max_drawdown",
        "--json",
    ]);
    assert!(refit.status.success(), "{}", text(&refit.stderr));
    let r: serde_json::Value = serde_json::from_slice(&refit.stdout).unwrap();
    assert_eq!(r["ml_fit"], *fit);
    assert_eq!(r["empirical"], s["tails"]["max_drawdown"]["empirical"]);

    // A fixed threshold is honoured and reported.
    let u = 0.05;
    let fixed = run(&[
        "tails",
        h5f.to_str().unwrap(),
        "--metric",
        "max_drawdown",
        "--threshold",
        "0.05",
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_slice(&fixed.stdout).unwrap();
    assert_eq!(r["threshold"]["value"]["threshold"], u);
    let table = run(&["tails", h5f.to_str().unwrap(), "--metric", "amplification"]);
    assert!(
        text(&table.stdout).contains("1 in 10,000 paths"),
        "{}",
        text(&table.stdout)
    );

    // Unknown metric: input error listing what exists.
    let bad = run(&["tails", h5f.to_str().unwrap(), "--metric", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("available: adl_count, adl_notional, amplification"),
        "{}",
        text(&bad.stderr)
    );
    // A misspelling gets the closest name.
    let typo = run(&["tails", h5f.to_str().unwrap(), "--metric", "amplificaton"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("(did you mean `amplification`?)"),
        "{}",
        text(&typo.stderr)
    );
}

#[test]
fn summary_reports_both_intervals_and_the_paths_a_precise_estimate_needs() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        &tiny(),
        "--paths",
        "200",
        "--replicates",
        "1",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let s = json(&dir.path().join("tiny/summary.json"));
    // One population replicate: the headline is the path-only Wilson interval, and says so.
    assert_eq!(s["cascade_probability"], s["cascade_probability_path_only"]);
    assert!(s.get("cascade_probability_noise").is_none());
    assert!(
        s["precision"]["note"]
            .as_str()
            .unwrap()
            .contains("one population replicate: the interval covers path noise only"),
        "{}",
        s["precision"]["note"]
    );
    let (w, e) = (&s["cascade_probability"], &s["cascade_probability_exact"]);
    assert_eq!(w["method"], "wilson");
    assert_eq!(e["method"], "clopper-pearson");
    assert_eq!(w["estimate"], e["estimate"]);
    // Clopper–Pearson is the more conservative of the two.
    assert!(e["ci_low"].as_f64().unwrap() <= w["ci_low"].as_f64().unwrap());
    assert!(e["ci_high"].as_f64().unwrap() >= w["ci_high"].as_f64().unwrap());
    let need = s["precision"]["paths_for_10pct_relative_error"]
        .as_u64()
        .unwrap();
    let p = w["estimate"].as_f64().unwrap();
    let expected = (1.959963984540054f64.powi(2) * (1.0 - p) / (p * 0.01)).ceil() as u64;
    assert_eq!(need, expected);
    // The default 32 replicates: the headline covers path and population noise, wider than
    // the path-only interval, and its parts add up in quadrature.
    let out = run(&[
        "run",
        &tiny(),
        "--paths",
        "200",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let s = json(&dir.path().join("tiny/summary.json"));
    let (kg, w) = (
        &s["cascade_probability"],
        &s["cascade_probability_path_only"],
    );
    assert_eq!(
        kg["method"],
        "korn-graubard (paths and population replicates)"
    );
    assert_eq!(w["method"], "wilson");
    assert_eq!(s["population_replicates"], 32);
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!(f(&kg["ci_high"]) - f(&kg["ci_low"]) > f(&w["ci_high"]) - f(&w["ci_low"]));
    let n = &s["cascade_probability_noise"];
    assert_eq!(n["replicates"], 32);
    let (t, a, b) = (
        f(&n["total_se"]),
        f(&n["path_noise_se"]),
        f(&n["population_noise_se"]),
    );
    assert!((t * t - a * a - b * b).abs() < 1e-12, "{n}");
}

#[test]
fn terminal_summary_fits_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in [
        tiny(),
        root()
            .join("scenarios/calm_market.toml")
            .display()
            .to_string(),
    ] {
        let out = run(&[
            "run",
            &scenario,
            "--paths",
            "200",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        for line in text(&out.stdout).lines() {
            // The results path line depends on where the temporary folder is.
            if line.starts_with("results: ") {
                continue;
            }
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn failures_and_populations_are_reported_and_warned_about() {
    // tiny.toml with a $1 insurance fund: the fund runs dry and bad debt is left on some
    // paths. The terminal warns, summary.json has the failure shares and the population's
    // figures, and results.h5 has them per path under /populations/0.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("dry.toml");
    let text_in = std::fs::read_to_string(root().join("tests/data/tiny.toml"))
        .unwrap()
        .replace("insurance_fund_usd = 1.0e6", "insurance_fund_usd = 1.0");
    std::fs::write(&scenario, text_in).unwrap();
    let out = run(&[
        "run",
        scenario.to_str().unwrap(),
        "--paths",
        "60",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("WARNING insurance fund ran dry on"),
        "{shown}"
    );
    assert!(shown.contains("WARNING bad debt on"), "{shown}");
    let s = json(&dir.path().join("dry/summary.json"));
    let f = &s["failures"];
    assert!(f["fund_exhausted_share"].as_f64().unwrap() > 0.0, "{f}");
    assert!(f["bad_debt_mean"].as_f64().unwrap() > 0.0, "{f}");
    let pops = s["populations"].as_array().unwrap();
    assert_eq!(pops.len(), 1);
    assert_eq!(pops[0]["asset"], "BTC");
    assert_eq!(
        pops[0]["fund_exhausted_share"], f["fund_exhausted_share"],
        "one population: its share is the run's"
    );
    let h5f = dir.path().join("dry/results.h5");
    let bad = h5::read_f64_column(&h5f, "/populations/0/bad_debt").unwrap();
    let total = h5::read_f64_column(&h5f, "/paths/bad_debt").unwrap();
    assert_eq!(bad.len(), 60);
    for (a, b) in bad.iter().zip(&total) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
    assert_eq!(pops[0]["name"], "populations[0]", "an unnamed population");
    // The same run with a deep fund: no failure, one quiet line.
    let deep = dir.path().join("deep.toml");
    std::fs::write(
        &deep,
        std::fs::read_to_string(root().join("tests/data/tiny.toml"))
            .unwrap()
            .replace("insurance_fund_usd = 1.0e6", "insurance_fund_usd = 1.0e12"),
    )
    .unwrap();
    let out = run(&[
        "run",
        deep.to_str().unwrap(),
        "--paths",
        "20",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(!shown.contains("WARNING"), "{shown}");
    assert!(shown.contains("failures             none"), "{shown}");
}

/// Review A2: the scenario file and `--trades` are held to the rules of referenced files
/// (a regular file of at most 1 GiB): a FIFO blocked forever, a device or a sparse file
/// filled memory. The device is made with mknod in a temp folder (skipped when not
/// permitted); nothing is ever written to it.
#[test]
fn named_input_files_must_be_regular_files_of_at_most_1_gib() {
    let d = tempfile::tempdir().unwrap();
    let (fifo, big) = common::cli::fifo_and_big_file(d.path(), "toml");
    let mut files = vec![
        (fifo, "not a regular file"),
        (
            big,
            "1073741825 bytes; files read are at most 1073741824 bytes",
        ),
    ];
    // As a scenario, the big file is refused by the scenario's own limit, before it is read.
    let as_scenario = |want: &str| match want {
        "not a regular file" => want.to_string(),
        _ => "the scenario is 1073741825 bytes; a scenario is at most 1048576 bytes".into(),
    };
    let dev = d.path().join("dev.toml");
    match Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .output()
    {
        Ok(o) if o.status.success() => files.push((dev, "not a regular file")),
        _ => eprintln!("skipping the device case: mknod is not permitted here"),
    }
    let replay = root().join("scenarios/eth_jan2021_replay.toml");
    for (file, want) in &files {
        let f = file.to_str().unwrap();
        for (args, want) in [
            (vec!["validate", f], as_scenario(want)),
            (
                vec!["run", f, "--out", d.path().join("out").to_str().unwrap()],
                as_scenario(want),
            ),
            (
                vec!["check", replay.to_str().unwrap(), "--trades", f],
                want.to_string(),
            ),
        ] {
            let out = run(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(&format!("{f}: {want}")), "{args:?}: {err}");
        }
    }
    assert!(!d.path().join("out").exists());
}

/// A scenario over 1 MiB is refused before it is parsed: the TOML tree of 4 MB of
/// `1,1,1,…` took 550 MB, so a scenario from anyone could take all the memory (1 GiB of it,
/// over 100 GB). Also through `sweep`, `backtest` and `validate`'s replay check, which
/// read the text first, and through a results file's stored scenario (the library's
/// `Scenario::parse` holds the same limit).
#[test]
fn a_scenario_over_1_mib_is_refused_before_it_is_parsed() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("long.toml");
    let tiny = std::fs::read_to_string(tiny()).unwrap();
    let values = vec!["1"; 600_000].join(",");
    std::fs::write(
        &f,
        format!(
            "{tiny}
extra = [{values}]
"
        ),
    )
    .unwrap();
    let len = std::fs::metadata(&f).unwrap().len();
    let name = f.to_str().unwrap();
    for args in [
        vec!["validate", name],
        vec!["run", name, "--out", d.path().join("out").to_str().unwrap()],
        vec!["backtest", name],
    ] {
        let out = run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "{name}: the scenario is {len} bytes; a scenario is at most 1048576 bytes"
            )),
            "{args:?}: {err}"
        );
    }
    let text = std::fs::read_to_string(&f).unwrap();
    let e = cascadesim::model::spec::Scenario::parse(
        &text,
        "long.toml",
        &cascadesim::run::files::FsFiles {
            base: d.path().to_path_buf(),
            allow_external: false,
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("a scenario is at most 1048576 bytes"),
        "{e}"
    );
    assert!(!d.path().join("out").exists());
}

/// Review D14: a scenario with a byte that is not UTF-8 reports its line, and every other
/// problem is still found.
#[test]
fn a_scenario_that_is_not_utf8_reports_the_line_and_every_other_problem() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bytes.toml");
    let tiny = std::fs::read_to_string(tiny()).unwrap();
    let mut bytes = b"# caf\xe9\n".to_vec();
    bytes.extend(tiny.replace("paths = 300", "paths = -3").bytes());
    std::fs::write(&f, bytes).unwrap();
    let out = run(&["validate", f.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bytes.toml:1:6: not valid UTF-8"), "{err}");
    assert!(
        err.contains("simulation.paths: must be a non-negative integer, found -3"),
        "{err}"
    );
}

/// Review C10: a scenario named `..toml` or `...toml` would name its results folder `.` or
/// `..`: refused up front (it ran the whole simulation, then failed with exit 1).
#[test]
fn a_scenario_whose_stem_is_dot_or_dot_dot_is_refused_up_front() {
    let d = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(tiny()).unwrap();
    for (n, name) in ["..toml", "...toml"].into_iter().enumerate() {
        let f = d.path().join("s").join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, &tiny).unwrap();
        let out = run(&[
            "run",
            f.to_str().unwrap(),
            "--out",
            d.path().join("s").to_str().unwrap(),
            "-q",
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("cannot name one; rename the file"),
            "{name}: {err}"
        );
        // Only the scenarios themselves: no results folder, no staging folder.
        let files = std::fs::read_dir(d.path().join("s")).unwrap().count();
        assert_eq!(files, n + 1, "{name}");
    }
}

/// Names the filesystem does not take (255 bytes): a scenario of a 245-byte stem made `run`
/// fail with exit 1 ("File name too long": its staging folder `.<stem>.partial-<pid>`), one
/// of 235 bytes `heatmap` and `sweep` (`<stem>-heatmap`), after their work. Refused up front
/// (exit 2), leaving no folder; at 235 bytes `run` works.
#[test]
fn names_too_long_for_the_filesystem_are_refused_up_front_and_leave_nothing() {
    let d = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(tiny()).unwrap();
    let scenario = |stem: &str| {
        let f = d.path().join(format!("{stem}.toml"));
        std::fs::write(&f, &tiny).unwrap();
        f.display().to_string()
    };
    let (s245, s235) = (scenario(&"s".repeat(245)), scenario(&"t".repeat(235)));
    let out = d.path().join("out");
    let o = out.to_str().unwrap();
    for args in [
        vec!["run", &s245, "--paths", "20", "--out", o, "-q"],
        vec![
            "run", &s245, "--paths", "20", "--shard", "1/2", "--out", o, "-q",
        ],
        vec!["heatmap", &s235, "--out", o, "-q"],
        vec![
            "sweep",
            &s235,
            "--set",
            "assets[0].volatility=0.5,0.6",
            "--paths",
            "20",
            "--out",
            o,
            "-q",
        ],
    ] {
        let r = run(&args);
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("a results folder's name is at most 235 bytes, so that its staging folder `.<name>.partial-<pid>` fits the filesystem's limit of 255 (results folders are named after the scenario file: give it a shorter name); nothing was written"),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
    // A folder name of 300 bytes in --out.
    let long_out = out.join("x".repeat(300));
    let r = run(&["run", &s235, "--out", long_out.to_str().unwrap(), "-q"]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("(300 characters) is 300 bytes; a name is at most 255 bytes"),
        "{err}"
    );
    assert!(!out.exists());
    let r = run(&["run", &s235, "--paths", "20", "--out", o, "-q"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
}

/// Review D16: `price = nan` is reported once; an integer beyond i64 says the range.
#[test]
fn nan_price_once_and_integer_range_stated() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("t.toml");
    let tiny = std::fs::read_to_string(tiny()).unwrap();
    std::fs::write(
        &f,
        tiny.replace("price = 100000.0", "price = nan")
            .replace("paths = 300", "paths = 99999999999999999999"),
    )
    .unwrap();
    let out = run(&["validate", f.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("assets[0].price").count(), 1, "{err}");
    assert!(
        err.contains("integers are at most 9223372036854775807"),
        "{err}"
    );
}

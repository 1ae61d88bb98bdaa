//! What the terminal shows (issue 25), through the binary: `--help` of every subcommand
//! wrapped to the terminal and ending with examples and the exit codes; `--paths 0` refused.

use std::path::Path;
use std::process::Output;

mod common;
use common::cli::{assert_fits_80, printed_lines, root, run_env, text};

/// The binary in `cwd`, on an 80-column terminal.
fn run(args: &[&str], cwd: &Path) -> Output {
    run_env(cwd, args, &[("COLUMNS", "80")])
}

#[test]
fn every_subcommand_help_is_wrapped_and_ends_with_examples_and_exit_codes() {
    let top = text(&run(&["--help"], &root()).stdout);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    for c in &commands {
        let o = run(&[c, "--help"], &root());
        assert!(o.status.success(), "{c}");
        let help = text(&o.stdout);
        assert_fits_80(c, help.lines().filter(|l| !l.starts_with("Usage:")));
        let examples = help
            .find("\nExamples:\n")
            .unwrap_or_else(|| panic!("{c}: {help}"));
        let codes = help.find("\nExit codes:\n").expect("exit codes");
        assert!(examples < codes, "{c}: examples, then exit codes");
        let shown = help[examples..codes]
            .lines()
            .filter(|l| l.starts_with(&format!("  cascadesim {c} ")))
            .count();
        assert!((2..=3).contains(&shown), "{c}: {shown} examples");
        assert!(help.contains("130  interrupted (Ctrl-C): nothing written"));
        assert!(
            help.trim_end()
                .ends_with("143  terminated (SIGTERM, e.g. scancel): nothing written")
        );
    }
}

#[test]
fn paths_zero_is_refused_and_leaves_previous_results() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/data/tiny.toml"),
        d.path().join("tiny.toml"),
    )
    .unwrap();
    let o = run(&["run", "tiny.toml", "--paths", "50", "-q"], d.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let before = std::fs::read(d.path().join("results/tiny/results.h5")).unwrap();
    let o = run(&["run", "tiny.toml", "--paths", "0", "-q"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--paths must be at least 1"));
    let after = std::fs::read(d.path().join("results/tiny/results.h5")).unwrap();
    assert!(before == after, "the previous results are untouched");
    let o = run(
        &[
            "sweep",
            "tiny.toml",
            "--paths",
            "0",
            "--set",
            "simulation.max_rounds=2:3:2",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(!d.path().join("results/tiny-sweep").exists());
}

/// Every line of a run's summary fits 80 columns (the `results:` path aside): a run with
/// population replicates (the noise notes, long metric names), an importance-sampling run
/// (the estimator line) and a lending scenario (its own metric names).
#[test]
fn the_run_summary_fits_80_columns() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &["run", "scenarios/btc_flash_crash.toml", "--paths", "200"],
        &[
            "run",
            "scenarios/btc_flash_crash.toml",
            "--paths",
            "200",
            "--rare-event",
            "is",
        ],
        &[
            "run",
            "scenarios/aave_collateral_contagion.toml",
            "--paths",
            "100",
        ],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().copied().chain(["--out", out]).collect();
        let o = run(&args, &root());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        let stdout = text(&o.stdout);
        assert!(stdout.contains("metric "), "{stdout}");
        assert_fits_80(&format!("{args:?}"), printed_lines(&stdout));
    }
}

/// A population with a liquidation engine gets its queue and backstop figures in the run
/// summary (80 columns) and in the report's engine table, the zero ones named in one line;
/// the same scenario without the table shows neither.
#[test]
fn the_engine_figures_show_in_the_run_summary_and_the_report() {
    let d = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    let engine = "liquidation_engine = { capacity_usd_per_step = 2.0e6, delay_steps = 1 }\n";
    for (stem, table) in [("engine", engine), ("plain", "")] {
        let scenario = d.path().join(format!("{stem}.toml"));
        std::fs::write(&scenario, format!("{base}{table}")).unwrap();
        let out = d.path().join("out");
        let args = [
            "run",
            scenario.to_str().unwrap(),
            "--paths",
            "40",
            "--out",
            out.to_str().unwrap(),
        ];
        let o = run(&args, &root());
        assert!(o.status.success(), "{}", text(&o.stderr));
        let stdout = text(&o.stdout);
        let report = std::fs::read_to_string(out.join(stem).join("report.html")).unwrap();
        if table.is_empty() {
            assert!(!stdout.contains("liquidation engine"), "{stdout}");
            assert!(!report.contains("Liquidation queue"));
            continue;
        }
        for want in [
            "liquidation engine",
            "peak queue $",
            "longest wait",
            "zero: ",
        ] {
            assert!(stdout.contains(want), "{want} missing:\n{stdout}");
        }
        assert_fits_80(stem, printed_lines(&stdout));
        for want in [
            "<th>liquidation engine</th>",
            "Liquidation queue",
            "<code>queue_peak_notional_mean</code></small></td><td>$",
            "Zero in every population with an engine: ",
            "(<code>backstop_count_mean</code>)",
        ] {
            assert!(report.contains(want), "{want} missing from the report");
        }
    }
}

/// The heatmap's terminal summary fits 80 columns (two assets with clusters, critical shocks
/// both ways), as the run summary does.
#[test]
fn the_heatmap_summary_fits_80_columns() {
    let d = tempfile::tempdir().unwrap();
    let args = [
        "heatmap",
        "scenarios/eth_high_leverage.toml",
        "--out",
        d.path().to_str().unwrap(),
    ];
    let o = run(&args, &root());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("critical shock"), "{stdout}");
    // Two assets: the cross-asset groups and the pair map have lines of their own.
    assert!(
        stdout.contains("\ngroups ") && stdout.contains("\npair map "),
        "{stdout}"
    );
    assert_fits_80("heatmap", stdout.lines());
}

/// The sweep's and the sensitivity's terminal summaries fit 80 columns.
#[test]
fn the_sweep_and_sensitivity_summaries_fit_80_columns() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().to_str().unwrap();
    let cases: [&[&str]; 2] = [
        &["sweep", "tests/data/sweep/depth.toml", "--paths", "100"],
        &[
            "sensitivity",
            "tests/data/sweep/depth.toml",
            "--paths",
            "100",
            "--param",
            "assets[0].book.depth_usd",
        ],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().copied().chain(["--out", out]).collect();
        let o = run(&args, &root());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        let stdout = text(&o.stdout);
        assert!(stdout.contains("cascade"), "{stdout}");
        assert_fits_80(&format!("{args:?}"), printed_lines(&stdout));
    }
}

/// The summaries of `tune`, `backtest` and `compare` fit 80 columns.
#[test]
fn the_tune_backtest_and_compare_summaries_fit_80_columns() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().to_str().unwrap();
    let a = d.path().join("a");
    let b = d.path().join("b");
    let mut cases: Vec<Vec<&str>> = vec![
        vec![
            "tune",
            "tests/data/sweep/depth.toml",
            "--paths",
            "100",
            "--param",
            "assets[0].book.depth_usd",
            "--target",
            "cascade_probability<=0.1",
            "--range",
            "60e6:200e6",
            "--out",
            out,
        ],
        vec![
            "backtest",
            "scenarios/eth_jan2021_replay.toml",
            "--paths",
            "2",
            "--out",
            out,
        ],
    ];
    for folder in [&a, &b] {
        let tiny = [
            "run",
            "tests/data/tiny.toml",
            "--paths",
            "100",
            "-q",
            "--out",
        ];
        cases.push(tiny.into_iter().chain([folder.to_str().unwrap()]).collect());
    }
    let mut outputs: Vec<String> = Vec::new();
    for args in &cases {
        let o = run(args, &root());
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        outputs.push(text(&o.stdout));
    }
    let o = run(
        &[
            "compare",
            a.join("tiny").to_str().unwrap(),
            b.join("tiny").to_str().unwrap(),
            "--out",
            out,
        ],
        &root(),
    );
    assert!(o.status.success(), "compare: {}", text(&o.stderr));
    outputs.push(text(&o.stdout));
    for (stdout, what) in outputs
        .iter()
        .zip(["tune", "backtest", "run", "run", "compare"])
    {
        assert_fits_80(what, printed_lines(stdout));
    }
    assert!(outputs[0].contains("meets"), "{}", outputs[0]);
    assert!(outputs[1].contains("Pearson"), "{}", outputs[1]);
    assert!(outputs[4].contains("paired"), "{}", outputs[4]);
}

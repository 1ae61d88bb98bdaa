//! `cascadesim sweep`, `tune` and `sensitivity` through the real binary, on the scenarios of
//! `tests/data/sweep/`: a depth sweep whose direction is known on every path, a deterministic
//! path whose threshold is computed by hand, and bad input.

use std::path::Path;
use std::process::Output;

use cascadesim::output::h5;

mod common;
use common::cli::run;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A CSV as a header and rows of fields.
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let t = std::fs::read_to_string(path).unwrap();
    let mut lines = t.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(table: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<String> {
    let i = table
        .0
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} in {:?}", table.0));
    table.1.iter().map(|r| r[i].clone()).collect()
}

fn numbers(table: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<f64> {
    column(table, name)
        .iter()
        .map(|x| x.parse().unwrap())
        .collect()
}

const DEPTH: &str = "tests/data/sweep/depth.toml";
const DETERMINISTIC: &str = "tests/data/sweep/deterministic.toml";
/// The maintenance rate at and above which the deterministic path liquidates its position:
/// 80 / (1 − m) ≥ 85 (see the comment in deterministic.toml).
const M_STAR: f64 = 1.0 - 80.0 / 85.0;

#[test]
fn more_depth_never_turns_a_path_into_a_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    // The [sweep] table: depth 60, 80, ..., 160 M USD.
    ok(&["sweep", DEPTH, "--out", out, "--threads", "2", "-q"]);
    let folder = dir.path().join("depth-sweep");
    let points = csv(&folder.join("sweep.csv"));
    let depth = numbers(&points, "assets[0].book.depth_usd");
    assert_eq!(depth, [60e6, 80e6, 100e6, 120e6, 140e6, 160e6]);
    let p = numbers(&points, "cascade_probability");
    assert!(p.windows(2).all(|w| w[1] <= w[0]), "{p:?}");
    assert!(p[0] - p[5] > 0.3, "the sweep covers a real change: {p:?}");

    // Under common random numbers the paths are the same at every point, so the direction
    // holds path by path: no path becomes a cascade when depth grows.
    let diffs = csv(&folder.join("differences.csv"));
    assert_eq!(diffs.1.len(), 5);
    let became = numbers(&diffs, "became_cascade");
    let stopped = numbers(&diffs, "stopped_cascade");
    assert!(became.iter().all(|&b| b == 0.0), "{became:?}");
    assert!(stopped.iter().sum::<f64>() > 40.0, "{stopped:?}");
    // The paired difference is (became − stopped)/paths, and where paths changed its
    // interval is narrower than that of two independent runs: here the cascade sets are
    // nested (p₂ ≤ p₁), and then p₁(1 − p₁) + p₂(1 − p₂) − Δ(1 − Δ) = 2·p₂·(1 − p₁) > 0 when
    // 0 < p₂ and p₁ < 1 (the sample variance's n/(n − 1) is far smaller than that margin here).
    let est = numbers(&diffs, "difference");
    let (lo, hi) = (numbers(&diffs, "ci_low"), numbers(&diffs, "ci_high"));
    let unpaired = numbers(&diffs, "unpaired_half_width");
    let methods = column(&diffs, "method");
    for k in 0..5 {
        assert!((est[k] - (became[k] - stopped[k]) / 160.0).abs() < 1e-12);
        assert!((p[k + 1] - p[k] - est[k]).abs() < 1e-12);
        if methods[k] == "paired-normal" && p[k + 1] > 0.0 && p[k] < 1.0 {
            assert!((hi[k] - lo[k]) / 2.0 < unpaired[k], "row {k}");
            assert!(hi[k] < 0.0, "a significant decrease at row {k}: {}", est[k]);
        }
    }

    // The same grid from --set on another thread count: identical files.
    let dir2 = tempfile::tempdir().unwrap();
    ok(&[
        "sweep",
        DEPTH,
        "--set",
        "assets[0].book.depth_usd=60e6:160e6:6",
        "--out",
        dir2.path().to_str().unwrap(),
        "--threads",
        "1",
        "-q",
    ]);
    for f in ["sweep.csv", "differences.csv", "sweep.h5"] {
        assert_eq!(
            std::fs::read(folder.join(f)).unwrap(),
            std::fs::read(dir2.path().join("depth-sweep").join(f)).unwrap(),
            "{f}"
        );
    }

    // HDF5: the same numbers under /sweep, and each point's scenario text.
    let h5f = folder.join("sweep.h5");
    assert_eq!(
        h5::read_f64_column(&h5f, "/sweep/points/cascade_probability").unwrap(),
        p
    );
    assert_eq!(
        h5::read_f64_column(&h5f, "/sweep/axes/axis_0").unwrap(),
        depth
    );
    let t = h5::read_attr_str(&h5f, "/sweep/scenarios/point_5", "scenario_toml").unwrap();
    assert!(t.contains("depth_usd = 160000000"), "{t}");
    assert!(!t.contains("[sweep]"), "{t}");
    assert!(t.contains("# A small stressed market"), "comments are kept");
    assert_eq!(h5::read_attr_u64(&h5f, "/", "paths").unwrap(), 160);
    // The page lists every point and holds the figures inline, and fits 1280 px.
    let page = std::fs::read_to_string(folder.join("sweep.html")).unwrap();
    assert_eq!(page.matches("<tr><td>").count(), 6, "one row per point");
    assert!(page.contains("<svg"));
    common::browser::assert_fits_1280(&folder.join("sweep.html"));
    // One-parameter sweeps draw lines with bands.
    for ext in ["png", "svg"] {
        assert!(
            folder
                .join(format!("plots/sweep_cascade_probability.{ext}"))
                .exists()
        );
    }
}

#[test]
fn a_deterministic_threshold_shows_in_a_sweep_and_is_found_by_tune() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    // Two-parameter grid: the margin decides; the insurance fund does not.
    let grid = [
        "sweep",
        DETERMINISTIC,
        "--set",
        "populations[0].maintenance_margin=0.05,0.058,0.059,0.07",
        "--set",
        "populations[0].insurance_fund_usd=0,1000",
        "-q",
    ];
    let with = |extra: &[&str]| ok(&[&grid[..], extra].concat());
    with(&["--out", out]);
    let folder = dir.path().join("deterministic-sweep");
    let points = csv(&folder.join("sweep.csv"));
    let m = numbers(&points, "populations[0].maintenance_margin");
    let p = numbers(&points, "cascade_probability");
    assert_eq!(m, [0.05, 0.05, 0.058, 0.058, 0.059, 0.059, 0.07, 0.07]);
    for (mi, pi) in m.iter().zip(&p) {
        assert_eq!(*pi, if *mi >= M_STAR { 1.0 } else { 0.0 }, "m = {mi}");
    }
    let diffs = csv(&folder.join("differences.csv"));
    // 3 steps along the margin for each of 2 funds, 1 step along the fund for each of 4.
    assert_eq!(diffs.1.len(), 3 * 2 + 4);
    let axis = numbers(&diffs, "axis");
    let became = numbers(&diffs, "became_cascade");
    let methods = column(&diffs, "method");
    for k in 0..diffs.1.len() {
        if axis[k] == 1.0 {
            assert_eq!(became[k], 0.0);
            assert_eq!(methods[k], "no-discordant-path");
        }
    }
    assert_eq!(
        became.iter().filter(|&&b| b == 16.0).count(),
        2,
        "0.058 → 0.059, twice"
    );
    for ext in ["png", "svg"] {
        assert!(
            folder
                .join(format!("plots/sweep_heatmap_cascade_probability.{ext}"))
                .exists()
        );
    }
    // --target draws the contour between the cells that meet it and those that do not: here
    // between margins 0.058 and 0.059, one edge for each of the two funds. No number changes.
    let targeted = dir.path().join("targeted");
    with(&[
        "--target",
        "cascade_probability<=0.5",
        "--out",
        targeted.to_str().unwrap(),
    ]);
    let t = targeted.join("deterministic-sweep");
    for f in ["sweep.csv", "differences.csv", "sweep.h5"] {
        assert!(std::fs::read(folder.join(f)).unwrap() == std::fs::read(t.join(f)).unwrap());
    }
    let lines = |d: &Path, stem: &str| {
        std::fs::read_to_string(d.join(format!("plots/{stem}.svg")))
            .unwrap()
            .matches("<polyline")
            .count()
    };
    let stem = "sweep_heatmap_cascade_probability";
    assert_eq!(lines(&t, stem), lines(&folder, stem) + 2);
    // Only the target's own metric gets it.
    let other = "sweep_heatmap_bad_debt_probability";
    assert_eq!(lines(&t, other), lines(&folder, other));
    // A target that does not parse is bad input.
    let o = run(&["sweep", DETERMINISTIC, "--target", "cascade<=x", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--target"), "{}", text(&o.stderr));

    let tol = 1e-4;
    let o = ok(&[
        "tune",
        DETERMINISTIC,
        "--param",
        "populations[0].maintenance_margin",
        "--target",
        "cascade_probability<=0.01",
        "--range",
        "0.01:0.1",
        "--tolerance",
        &tol.to_string(),
        "--out",
        out,
        "-q",
    ]);
    // Wrapped to 80 columns: compare with the line breaks taken out.
    let stdout = text(&o.stdout);
    let words = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("meets cascade_probability<=0.01"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("deterministic-tune/tune.json")).unwrap(),
    )
    .unwrap();
    let answer = v["result"]["answer"].as_f64().unwrap();
    let fails = v["result"]["fails_at"].as_f64().unwrap();
    assert!(
        answer < M_STAR && M_STAR <= fails,
        "{answer} {fails} vs {M_STAR}"
    );
    assert!(fails - answer <= tol, "{answer} {fails}");
    assert!(M_STAR - answer <= tol);
    assert_eq!(v["result"]["monotone"], true);
    // 0/16 and 16/16: the Wilson intervals [0, 19%] and [81%, 100%]; 0.01 lies in the first,
    // so every meeting value is within sampling error of the target.
    let (a, b) = (
        v["result"]["indistinguishable"][0].as_f64().unwrap(),
        v["result"]["indistinguishable"][1].as_f64().unwrap(),
    );
    assert_eq!((a, b), (0.01, answer));

    // A bracket that does not straddle the threshold is reported, not solved.
    let o = run(&[
        "tune",
        DETERMINISTIC,
        "--param",
        "populations[0].maintenance_margin",
        "--target",
        "cascade_probability<=0.01",
        "--range",
        "0.06:0.1",
        "--out",
        out,
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("both ends fail it"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn sensitivity_ranks_the_parameter_that_moves_the_cascade_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    ok(&[
        "sensitivity",
        DETERMINISTIC,
        "--param",
        "assets[0].book.depth_usd",
        "--param",
        "populations[0].maintenance_margin=0.02",
        "--out",
        out,
        "-q",
    ]);
    let folder = dir.path().join("deterministic-sensitivity");
    let t = csv(&folder.join("tornado.csv"));
    assert_eq!(
        column(&t, "parameter"),
        [
            "populations[0].maintenance_margin",
            "assets[0].book.depth_usd"
        ]
    );
    // 0.03 < m* < 0.07: no cascade moved down, every path a cascade moved up.
    assert_eq!(numbers(&t, "low")[0], 0.03);
    assert_eq!(numbers(&t, "cascade_low")[0], 0.0);
    assert_eq!(numbers(&t, "cascade_high")[0], 1.0);
    // Depth ±10% around 1 M USD does not matter for one coin.
    assert_eq!(numbers(&t, "low")[1], 0.9e6);
    assert_eq!(numbers(&t, "cascade_swing")[1], 0.0);
    assert!(folder.join("plots/tornado.png").exists());
}

/// Whether a key takes only whole values is the validator's rule, not how the file writes
/// the number: `volatility = 1` moves by ±10% (it moved to 0 and 2, rounded as a count),
/// and `max_rounds = 4` by ±1 (±10% was 3.6, which the validator refuses).
#[test]
fn sensitivity_rounds_the_steps_of_integer_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(common::cli::root().join("tests/data/tiny.toml")).unwrap();
    let scenario = dir.path().join("t.toml");
    std::fs::write(
        &scenario,
        tiny.replace("volatility = 0.6", "volatility = 1"),
    )
    .unwrap();
    ok(&[
        "sensitivity",
        scenario.to_str().unwrap(),
        "--param",
        "assets[0].volatility",
        "--param",
        "simulation.max_rounds",
        "--paths",
        "20",
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
    ]);
    let t = csv(&dir.path().join("t-sensitivity/tornado.csv"));
    let params = column(&t, "parameter");
    let row = |name: &str| params.iter().position(|p| p == name).unwrap();
    let (low, high) = (numbers(&t, "low"), numbers(&t, "high"));
    let v = row("assets[0].volatility");
    assert_eq!((low[v], high[v]), (0.9, 1.1));
    let m = row("simulation.max_rounds");
    assert_eq!((low[m], high[m]), (3.0, 5.0));
}

#[test]
fn bad_sweeps_are_input_errors_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run(&[
        "sweep",
        DETERMINISTIC,
        "--set",
        "populations[0].maintenance_margn=0.01,0.02",
        "--set",
        "assets[0].bok.depth_usd=1e6,2e6",
        "--out",
        out,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("2 problems with the sweep"), "{err}");
    assert!(
        err.contains("unknown key `maintenance_margn` in `populations[0]` (did you mean `maintenance_margin`?)"),
        "{err}"
    );
    assert!(
        err.contains("in the file: asset, maintenance_margin, insurance_fund_usd, positions_file"),
        "{err}"
    );
    assert!(
        err.contains("unknown key `bok` in `assets[0]` (did you mean `book`?)"),
        "{err}"
    );

    // Values are validated like a scenario file, every grid point before the first runs.
    let o = run(&[
        "sweep",
        DETERMINISTIC,
        "--set",
        "populations[0].maintenance_margin=0.05,0.6,0.7",
        "--out",
        out,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("grid point 1 (populations[0].maintenance_margin = 0.6): populations[0].maintenance_margin: must be a rate in (0, 0.5), found 0.6"),
        "{err}"
    );
    assert!(
        err.contains("grid point 2 (populations[0].maintenance_margin = 0.7)"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );

    // A malformed --set and an unknown key in another are reported together.
    let o = run(&[
        "sweep",
        DETERMINISTIC,
        "--set",
        "populations[0].maintenance_margin=0.05;0.06",
        "--set",
        "assets[0].book.depht_usd=1e6,2e6",
        "--out",
        out,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`0.05;0.06` is not a number"), "{err}");
    assert!(err.contains("(did you mean `depth_usd`?)"), "{err}");

    for (args, needle) in [
        (vec!["--set", "simulation.seed=1,2"], "cannot be swept"),
        (
            vec!["--set", "assets[0].name=1,2"],
            "is a string in the file",
        ),
        (
            vec!["--set", "populations[0].maintenance_margin=0.05,0.05"],
            "strictly increasing",
        ),
        (vec![], "no parameter to sweep"),
    ] {
        let mut a = vec!["sweep", DETERMINISTIC, "--out", out];
        a.extend(args);
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(
            text(&o.stderr).contains(needle),
            "{a:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn run_and_validate_accept_a_sweep_table_and_run_ignores_it() {
    let o = ok(&["validate", DEPTH]);
    assert!(
        text(&o.stdout).contains("[sweep]: 6 grid points"),
        "{}",
        text(&o.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let o = ok(&[
        "run",
        DEPTH,
        "--paths",
        "16",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        text(&o.stderr).contains("the [sweep] table (6 grid points) is not used by `run`"),
        "{}",
        text(&o.stderr)
    );
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("depth/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(s["paths"], 16);
}

#[test]
fn a_grid_point_at_the_files_value_reproduces_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    ok(&["run", DEPTH, "--paths", "48", "--out", out, "-q"]);
    ok(&[
        "sweep",
        DEPTH,
        "--paths",
        "48",
        "--set",
        "assets[0].book.depth_usd=20e6,40e6",
        "--out",
        out,
        "-q",
    ]);
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("depth/summary.json")).unwrap(),
    )
    .unwrap();
    let points = csv(&dir.path().join("depth-sweep/sweep.csv"));
    // Point 1 is the file's own depth (40 M USD): the same paths, so the same numbers.
    assert_eq!(
        numbers(&points, "cascade_probability")[1],
        s["cascade_probability"]["estimate"].as_f64().unwrap()
    );
    let es = s["metrics"]["max_drawdown"]["es"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["p"] == 0.99)
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(numbers(&points, "max_drawdown_es99")[1], es);
    let bad = s["metrics"]["bad_debt"]["mean"].as_f64().unwrap();
    assert_eq!(numbers(&points, "bad_debt_mean")[1], bad);
}

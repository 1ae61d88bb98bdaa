//! The bad-input corpus for results and shard files (issue 20): each case is a real small
//! run's `results.h5` (or shard) with one field changed (a type, a shape, a value, an
//! attribute), run through the binary. Every case must exit 2 with its expected message
//! naming the file and the dataset or attribute, and change nothing on disk.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use cascadesim::output::h5::{AttrValue, Stored};

mod common;
use cascadesim::output::h5::edit as h5edit;
use common::cli::{root, run_in};

/// The binary in `cwd`.
fn run(args: &[&str], cwd: &Path) -> Output {
    run_in(cwd, args)
}

/// The binary in `cwd`, which must succeed.
fn ok(args: &[&str], cwd: &Path) {
    let out = run(args, cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One real run of `tests/data/tiny.toml` (120 paths) and its two shards, made once.
fn originals() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("tests/data/tiny.toml"),
            d.path().join("tiny.toml"),
        )
        .unwrap();
        ok(&["run", "tiny.toml", "--paths", "120", "-q"], d.path());
        for k in ["0/2", "1/2"] {
            ok(
                &["run", "tiny.toml", "--paths", "120", "--shard", k, "-q"],
                d.path(),
            );
        }
        d
    })
    .path()
}

/// The one change a case makes to its copy of the file.
enum Change {
    /// Replace a dataset by `f64` values of the given shape.
    F64s(&'static str, Vec<f64>, Vec<usize>),
    /// Replace a dataset by `u8` values.
    U8s(&'static str, Vec<u8>),
    /// Replace a dataset by `u64` values.
    U64s(&'static str, Vec<u64>),
    /// Add a dataset (in a group that may not exist) of `f64` values.
    AddF64s(&'static str, Vec<f64>),
    /// Replace a dataset by booleans (h5py's enum) holding these raw bytes.
    Bools(&'static str, Vec<u8>),
    /// Replace a root attribute by an unsigned integer.
    AttrU64(&'static str, u64),
    /// Replace a root attribute by a string.
    AttrStr(&'static str, &'static str),
    /// Delete a root attribute.
    NoAttr(&'static str),
    /// Replace the whole file by some text.
    NotHdf5,
    /// Cut the file to half its size (a copy that stopped, a full disk).
    Truncated,
    /// Make the file empty.
    Empty,
}

fn apply(file: &Path, change: &Change) {
    apply_all(file, std::slice::from_ref(change));
}

/// Makes `changes` to `file`: the whole file is read, changed and written again
/// (`cascadesim::output::h5::edit`).
fn apply_all(file: &Path, changes: &[Change]) {
    match changes {
        [Change::NotHdf5] => return std::fs::write(file, "side,size\nlong,1\n").unwrap(),
        [Change::Truncated] => {
            let bytes = std::fs::read(file).unwrap();
            return std::fs::write(file, &bytes[..bytes.len() / 2]).unwrap();
        }
        [Change::Empty] => return std::fs::write(file, "").unwrap(),
        _ => {}
    }
    h5edit::rewrite(file, |model| {
        for change in changes {
            apply_one(model, change);
        }
    })
    .unwrap();
}

fn apply_one(model: &mut h5edit::Model, change: &Change) {
    let mut replace = |path: &str, values: Stored, shape: Vec<usize>| {
        assert!(model.remove(path), "no dataset {path}");
        model.datasets.push(h5edit::Dataset {
            path: path.to_owned(),
            values,
            shape,
            attrs: Vec::new(),
        });
    };
    match change {
        Change::F64s(ds, v, shape) => replace(ds, Stored::F64(v.clone()), shape.clone()),
        Change::U8s(ds, v) => replace(ds, Stored::U8(v.clone()), vec![v.len()]),
        Change::U64s(ds, v) => replace(ds, Stored::U64(v.clone()), vec![v.len()]),
        Change::AddF64s(ds, v) => model.datasets.push(h5edit::Dataset {
            path: (*ds).to_owned(),
            values: Stored::F64(v.clone()),
            shape: vec![v.len()],
            attrs: Vec::new(),
        }),
        Change::Bools(ds, v) => replace(ds, Stored::Bool(v.clone()), vec![v.len()]),
        Change::AttrU64(name, v) => model.set_root_attr(name, Some(AttrValue::U64(*v))),
        Change::AttrStr(name, v) => {
            model.set_root_attr(name, Some(AttrValue::Str((*v).to_owned())))
        }
        Change::NoAttr(name) => {
            let attrs = model.root_attrs();
            assert!(attrs.iter().any(|(n, _)| n == name), "no attribute {name}");
            model.set_root_attr(name, None);
        }
        Change::NotHdf5 | Change::Truncated | Change::Empty => {
            unreachable!("a file that is not HDF5 is written whole")
        }
    }
}

const PATHS: usize = 120;

fn all(x: f64) -> Vec<f64> {
    vec![x; PATHS]
}

/// (case name, change, expected message fragments).
fn results_cases() -> Vec<(&'static str, Change, Vec<&'static str>)> {
    let mut one_inf = vec![0.0; 48 * 200];
    one_inf[7] = f64::INFINITY;
    let mut one_nan = all(0.01);
    one_nan[17] = f64::NAN;
    vec![
        (
            "max_drawdown_all_nan",
            Change::F64s("paths/max_drawdown", all(f64::NAN), vec![PATHS]),
            vec![
                "dataset /paths/max_drawdown: every value must be finite; found [0] = NaN, [1] = NaN, [2] = NaN and 117 more",
            ],
        ),
        (
            "max_drawdown_all_inf",
            Change::F64s("paths/max_drawdown", all(f64::INFINITY), vec![PATHS]),
            vec!["dataset /paths/max_drawdown: every value must be finite; found [0] = inf"],
        ),
        (
            "one_nan",
            Change::F64s("paths/max_drawdown", one_nan, vec![PATHS]),
            vec!["dataset /paths/max_drawdown: every value must be finite; found [17] = NaN"],
        ),
        (
            "short_column",
            Change::F64s("paths/max_drawdown", vec![0.0; PATHS - 1], vec![PATHS - 1]),
            vec!["dataset /paths/max_drawdown: shape [119], expected [120] (one value per path)"],
        ),
        (
            "long_column",
            Change::F64s("paths/max_drawdown", vec![0.0; PATHS + 1], vec![PATHS + 1]),
            vec![
                "dataset /paths/max_drawdown: shape [121] of float64, but the file's `paths` and layout call for 120 values",
            ],
        ),
        (
            "count_as_float",
            Change::F64s("paths/liquidation_count", all(4294967295.0), vec![PATHS]),
            vec!["dataset /paths/liquidation_count: holds float values, expected u32"],
        ),
        (
            "flag_of_2",
            Change::U8s("paths/cascade", vec![2; PATHS]),
            vec!["dataset /paths/cascade: every value must be 0 or 1; found [0] = 2"],
        ),
        (
            "bool_byte_of_2",
            Change::Bools("paths/cascade", vec![2; PATHS]),
            vec!["dataset /paths/cascade: every value must be 0 or 1; found [0] = 2"],
        ),
        (
            "two_columns_at_once",
            Change::F64s("paths/fees", all(f64::NEG_INFINITY), vec![PATHS]),
            vec!["dataset /paths/fees: every value must be finite; found [0] = -inf"],
        ),
        (
            "heatmap_inf_cell",
            Change::F64s("realised_heatmap/BTC/notional", one_inf, vec![48, 200]),
            vec![
                "dataset /realised_heatmap/BTC/notional: every value must be finite and >= 0; found [7] = inf",
            ],
        ),
        (
            "heatmap_shape",
            Change::F64s(
                "realised_heatmap/BTC/notional",
                vec![0.0; 200 * 48],
                vec![200, 48],
            ),
            vec![
                "dataset /realised_heatmap/BTC/notional: shape [200, 48], but time_edges and price_edges call for [48, 200]",
            ],
        ),
        (
            "heatmap_edges_not_increasing",
            Change::F64s("realised_heatmap/BTC/time_edges", vec![0.0; 49], vec![49]),
            vec![
                "dataset /realised_heatmap/BTC/time_edges: edges must be finite and strictly increasing",
            ],
        ),
        (
            "steps_out_of_range",
            Change::AttrU64("steps", 1 << 40),
            vec!["attribute \"steps\": must be between 1 and 10000000, found 1099511627776"],
        ),
        (
            "paths_as_string",
            Change::AttrStr("paths", "120"),
            vec!["attribute \"paths\": expected an unsigned integer, found a string"],
        ),
        (
            "no_seed",
            Change::NoAttr("seed"),
            vec!["attribute \"seed\" of \"/\" not found"],
        ),
        (
            "extra_asset",
            Change::AttrStr("assets_json", "[\"BTC\",\"ETH\"]"),
            vec![
                "attribute \"assets_json\" lists [BTC, ETH] but the file holds /assets groups [BTC]",
            ],
        ),
        (
            "bad_rule",
            Change::AttrStr("cascade_rule", "most"),
            vec!["attribute \"cascade_rule\": expected \"any\" or \"all\""],
        ),
        // Values no run can produce (they were accepted: the mean of 1e308s became null).
        (
            "negative_notional",
            Change::F64s("paths/liquidated_notional", all(-1e9), vec![PATHS]),
            vec![
                "dataset /paths/liquidated_notional: every value must be between 0 and 1e18 (no run produces a negative notional, cost or loss, or one above 1e18 USD); found [0] = -1000000000",
            ],
        ),
        (
            "huge_notional",
            Change::F64s("paths/liquidated_notional", all(1e308), vec![PATHS]),
            vec!["dataset /paths/liquidated_notional: every value must be between 0 and 1e18"],
        ),
        (
            "huge_fraction",
            Change::F64s("paths/max_drawdown", all(-1e300), vec![PATHS]),
            vec!["dataset /paths/max_drawdown: every value must be at most 1e18 in magnitude"],
        ),
        (
            "path_ids_all_zero",
            Change::U64s("paths/path", vec![0; PATHS]),
            vec![
                "dataset /paths/path: must hold the path ids 0 to 119 in order, one per path; [1] = 0",
            ],
        ),
        (
            "path_id_max",
            Change::U64s(
                "paths/path",
                (0..PATHS as u64 - 1).chain([u64::MAX]).collect(),
            ),
            vec![
                "dataset /paths/path: must hold the path ids 0 to 119 in order, one per path; [119] = 18446744073709551615",
            ],
        ),
        // /assets columns are checked as /paths ones are (they were not read at all).
        (
            "asset_column_short",
            Change::F64s("assets/BTC/max_drawdown", vec![0.0; 5], vec![5]),
            vec![
                "dataset /assets/BTC/max_drawdown: shape [5], expected [120] (one value per path)",
            ],
        ),
        (
            "asset_notional_negative",
            Change::F64s("assets/BTC/liquidated_notional", all(-5.0), vec![PATHS]),
            vec!["dataset /assets/BTC/liquidated_notional: every value must be between 0 and 1e18"],
        ),
        (
            "tails_nan",
            Change::F64s("tails/max_drawdown/hill_xi", vec![f64::NAN; 10], vec![10]),
            vec![
                "dataset /tails/max_drawdown/hill_xi: every value must be finite; found [0] = NaN",
            ],
        ),
        (
            "population_extra_group",
            Change::AddF64s("populations/7/bad_debt", vec![0.0; PATHS]),
            vec![
                "group /populations: holds /populations/7, but the scenario has 1 population (groups 0 to 0)",
            ],
        ),
        (
            "not_hdf5",
            Change::NotHdf5,
            vec!["is not an HDF5 file (no HDF5 signature; the file has 17 bytes)"],
        ),
        // Cut short: said so (it was three complaints about attributes that no longer read).
        ("truncated", Change::Truncated, vec!["is truncated: "]),
        ("empty", Change::Empty, vec!["is not an HDF5 file"]),
    ]
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn check(case: &str, out: &Output, expected: &[&str], file: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{case}: {err}");
    assert!(!err.contains("panicked"), "{case}: {err}");
    for e in expected {
        assert!(
            err.contains(&format!("{file}: {e}")),
            "{case}: expected `{file}: {e}` in:\n{err}"
        );
    }
}

#[test]
fn report_and_tails_refuse_every_crafted_results_file_and_change_nothing() {
    let orig = originals().join("results/tiny");
    for (case, change, expected) in results_cases() {
        let dir = tempfile::tempdir().unwrap();
        // The whole results folder, so `report` run in place could overwrite its files.
        for name in ["results.h5", "summary.json", "report.html"] {
            std::fs::copy(orig.join(name), dir.path().join(name)).unwrap();
        }
        apply(&dir.path().join("results.h5"), &change);
        let before = snapshot(dir.path());
        let out = run(&["report", "results.h5", "-q"], dir.path());
        check(case, &out, &expected, "results.h5");
        // Only the messages about /paths, /assets and /tails are `tails`' business: it does
        // not read the heatmap or the populations.
        if !case.starts_with("heatmap") && !case.starts_with("population") {
            let out = run(&["tails", "results.h5"], dir.path());
            check(case, &out, &expected, "results.h5");
        }
        assert_eq!(before, snapshot(dir.path()), "{case}: the folder changed");
    }
}

/// Every problem of a file at once, `/paths` with `/assets` (report said the `/paths` ones
/// first and the `/assets` ones only once those were fixed), in `report` and `tails`.
#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let (dir, f) = results_copy();
    apply_all(
        &f,
        &[
            Change::F64s("paths/fees", all(f64::NAN), vec![PATHS]),
            Change::U8s("paths/cascade", vec![3; PATHS]),
            Change::F64s("assets/BTC/max_drawdown", all(f64::INFINITY), vec![PATHS]),
        ],
    );
    for cmd in [
        &["report", "results.h5", "-q"][..],
        &["tails", "results.h5"],
    ] {
        check(
            &format!("{cmd:?}"),
            &run(cmd, dir.path()),
            &[
                "dataset /paths/fees: every value must be finite",
                "dataset /paths/cascade: every value must be 0 or 1",
                "dataset /assets/BTC/max_drawdown: every value must be finite",
            ],
            "results.h5",
        );
    }
    // A population group the scenario does not have, with bad columns: `report` names both
    // (the group once stopped the columns from being checked).
    let (dir, f) = results_copy();
    apply_all(
        &f,
        &[
            Change::F64s("paths/fees", all(f64::NAN), vec![PATHS]),
            Change::AddF64s("populations/7/bad_debt", vec![0.0; PATHS]),
            Change::F64s("populations/0/fees", all(f64::INFINITY), vec![PATHS]),
        ],
    );
    check(
        "report with a foreign population group",
        &run(&["report", "results.h5", "-q"], dir.path()),
        &[
            "group /populations: holds /populations/7, but the scenario has 1 population (groups 0 to 0)",
            "dataset /paths/fees: every value must be finite",
            "dataset /populations/0/fees: every value must be finite",
        ],
        "results.h5",
    );
}

/// A file that is not HDF5 at all, or cut short, is one line (an empty file printed the same
/// line 16 times); a folder or a device given as the results file "is not a regular file"
/// (it was "no such results file" although it exists).
#[test]
fn a_file_that_is_not_whole_is_one_message_and_a_folder_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for change in [Change::Empty, Change::Truncated] {
        let f = dir.path().join("results.h5");
        std::fs::copy(originals().join("results/tiny/results.h5"), &f).unwrap();
        apply(&f, &change);
        for cmd in [
            &["report", "results.h5", "-q"][..],
            &["tails", "results.h5"],
        ] {
            let out = run(cmd, dir.path());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.lines().count(), 1, "{cmd:?}: {err}");
        }
    }
    std::fs::create_dir(dir.path().join("folder.h5")).unwrap();
    for cmd in [
        &["report", "folder.h5", "-q"][..],
        &["tails", "folder.h5"],
        &["compare", "results.h5", "/dev/zero"],
    ] {
        let out = run(cmd, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("is not a regular file"), "{cmd:?}: {err}");
        assert!(!err.contains("no such"), "{cmd:?}: {err}");
    }
}

#[test]
fn merge_refuses_crafted_shards_and_writes_nothing() {
    let shards = originals().join("results/tiny-shards");
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "shard_count_0",
            Change::AttrU64("shard_count", 0),
            "attributes \"shard_index\" (0) and \"shard_count\" (0): a shard's index must be below the count",
        ),
        (
            "extra_asset",
            Change::AttrStr("assets_json", "[\"BTC\",\"ETH\"]"),
            "attribute \"assets_json\" lists [BTC, ETH] but the file holds /assets groups [BTC]",
        ),
        (
            "short_cents",
            Change::F64s("realised_cents/BTC/cents", vec![0.0; 10], vec![10]),
            "dataset /realised_cents/BTC/cents: float values of shape [10], expected 9600 u64 values",
        ),
        (
            "nan_drawdown",
            Change::F64s(
                "paths/max_drawdown",
                vec![f64::NAN; PATHS / 2],
                vec![PATHS / 2],
            ),
            "dataset /paths/max_drawdown: every value must be finite",
        ),
    ];
    for (case, change, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        for k in 0..2 {
            let name = format!("shard-{k}-of-2.h5");
            std::fs::copy(shards.join(&name), dir.path().join(&name)).unwrap();
        }
        apply(&dir.path().join("shard-0-of-2.h5"), &change);
        let out = run(
            &[
                "merge",
                "shard-0-of-2.h5",
                "shard-1-of-2.h5",
                "--out",
                "merged",
                "-q",
            ],
            dir.path(),
        );
        check(case, &out, &[expected], "shard-0-of-2.h5");
        assert!(!dir.path().join("merged").exists(), "{case}: merge wrote");
    }
    // Two bad shards: both are named (only the first was), the cut one as truncated; a
    // folder is not a regular file (it was "no such shard file").
    let dir = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let name = format!("shard-{k}-of-2.h5");
        std::fs::copy(shards.join(&name), dir.path().join(&name)).unwrap();
    }
    apply(&dir.path().join("shard-0-of-2.h5"), &Change::Empty);
    apply(&dir.path().join("shard-1-of-2.h5"), &Change::Truncated);
    std::fs::create_dir(dir.path().join("sh")).unwrap();
    let out = run(
        &[
            "merge",
            "shard-0-of-2.h5",
            "shard-1-of-2.h5",
            "sh",
            "--out",
            "merged",
            "-q",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shard-0-of-2.h5 is not a shard file: it is not an HDF5 file"),
        "{err}"
    );
    assert!(
        err.contains("shard-1-of-2.h5 is not a shard file: it is truncated"),
        "{err}"
    );
    assert!(err.contains("sh is not a regular file"), "{err}");
    assert!(!dir.path().join("merged").exists(), "merge wrote");
}

/// A results file whose stored scenario names `/etc/passwd` (or `/dev/zero`) as its positions
/// file: `report` does not read it (the replays are then missing, with the reason) and no
/// byte of it reaches the report; `merge`, which needs the market, exits 2.
#[test]
fn a_crafted_scenario_cannot_make_report_read_files_outside_its_folder() {
    let template =
        std::fs::read_to_string(root().join("tests/invalid/csv_positions_bad_header.toml"))
            .unwrap();
    for target in ["/etc/passwd", "/dev/zero", "../../../../../../etc/passwd"] {
        let text = template.replace("data/csv_positions_bad_header.csv", target);
        let text: &'static str = Box::leak(text.into_boxed_str());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("results.h5");
        std::fs::copy(originals().join("results/tiny/results.h5"), &f).unwrap();
        apply(&f, &Change::AttrStr("scenario_toml", text));
        let out = run(&["report", "results.h5", "--out", "rep", "-q"], dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{target}: {err}");
        let html = std::fs::read_to_string(dir.path().join("rep/report.html")).unwrap();
        assert!(html.contains("Sample-path plots are missing"), "{target}");
        assert!(
            html.contains("is an absolute path") || html.contains("leaves the scenario"),
            "{target}"
        );
        assert!(
            !html.contains("root:x"),
            "{target}: the target's content is in the report"
        );

        let shards = shard_copies();
        for k in 0..2 {
            let name = format!("shard-{k}-of-2.h5");
            apply(
                &shards.path().join(&name),
                &Change::AttrStr("scenario_toml", text),
            );
        }
        let err = merge_is_refused(shards.path(), &["pass --allow-external-files"]);
        assert!(!err.contains("root:x"), "{target}: {err}");
    }
}

/// A fresh folder holding a copy of the original `results.h5`, and that copy.
fn results_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("results.h5");
    std::fs::copy(originals().join("results/tiny/results.h5"), &f).unwrap();
    (dir, f)
}

/// Copies both shards of the originals into a fresh folder.
fn shard_copies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let name = format!("shard-{k}-of-2.h5");
        std::fs::copy(
            originals().join("results/tiny-shards").join(&name),
            dir.path().join(&name),
        )
        .unwrap();
    }
    dir
}

/// Merges both shards in `dir`: refused (exit 2) with every line of `expected`, nothing
/// written; the message.
fn merge_is_refused(dir: &Path, expected: &[&str]) -> String {
    let args = [
        "merge",
        "shard-0-of-2.h5",
        "shard-1-of-2.h5",
        "--out",
        "merged",
        "-q",
    ];
    let out = run(&args, dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for line in expected {
        assert!(err.contains(line), "expected `{line}` in:\n{err}");
    }
    assert!(!dir.join("merged").exists(), "merge wrote");
    err.into_owned()
}

/// A shard whose rows are not the paths its header claims (here: shard 1 holding shard 0's
/// path ids, as a hand-edited or mislabelled copy would) was merged into a run with paths
/// 0..59 twice and 60..119 missing. Every shard's problems come at once, each naming the file
/// and the dataset.
#[test]
fn merge_refuses_shards_whose_path_ids_are_not_their_range() {
    let dir = shard_copies();
    let half: Vec<u64> = (0..PATHS as u64 / 2).collect();
    apply_all(
        &dir.path().join("shard-1-of-2.h5"),
        &[
            Change::U64s("paths/path", half.clone()),
            Change::U64s("assets/BTC/path", half),
        ],
    );
    let shifted: Vec<u64> = (1..=PATHS as u64 / 2).collect();
    apply(
        &dir.path().join("shard-0-of-2.h5"),
        &Change::U64s("populations/0/path", shifted),
    );
    merge_is_refused(
        dir.path(),
        &[
            "shard-1-of-2.h5: dataset /paths/path: must hold the path ids 60 to 119 in order, one per path; [0] = 0",
            "shard-1-of-2.h5: dataset /assets/BTC/path: must hold the path ids 60 to 119",
            "shard-0-of-2.h5: dataset /populations/0/path: must hold the path ids 0 to 59 in order, one per path; [0] = 1",
        ],
    );
}

/// Overlapping shards, a gap and a shard whose header contradicts its place are named
/// together (the claim was checked only after the coverage, and only the first).
#[test]
fn merge_names_overlaps_gaps_and_false_claims_at_once() {
    let dir = shard_copies();
    apply(
        &dir.path().join("shard-1-of-2.h5"),
        &Change::AttrU64("first_path", 30),
    );
    merge_is_refused(
        dir.path(),
        &[
            "shard-0-of-2.h5 and shard-1-of-2.h5 overlap: both hold paths 30..60",
            "paths 90..120 of the 120-path run are in no shard",
            "shard-1-of-2.h5 says it is shard 1/2 of a 120-path run but holds paths 30..90",
        ],
    );
}

/// A results or shard file that exists but cannot be read (permission denied) is a failure
/// of the machine, exit 1, in `merge`, `report`, `tails` and `compare` alike, each naming the
/// file; a file that is missing or not a regular file stays bad input (exit 2). As root the
/// commands run as `nobody`, whom a mode-000 file stops.
#[test]
fn an_unreadable_input_file_is_exit_1_in_every_reader() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let dir = shard_copies();
    let p = dir.path();
    std::fs::copy(originals().join("results/tiny/results.h5"), p.join("ok.h5")).unwrap();
    std::fs::copy(
        originals().join("results/tiny/results.h5"),
        p.join("locked.h5"),
    )
    .unwrap();
    std::fs::copy(p.join("shard-1-of-2.h5"), p.join("locked-shard.h5")).unwrap();
    for f in ["locked.h5", "locked-shard.h5"] {
        std::fs::set_permissions(p.join(f), std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    for f in ["shard-0-of-2.h5", "shard-1-of-2.h5", "ok.h5"] {
        std::fs::set_permissions(p.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "merge",
                "shard-0-of-2.h5",
                "locked-shard.h5",
                "--out",
                "m",
                "-q",
            ],
            "cannot read the shard file locked-shard.h5: Permission denied",
        ),
        (
            &["report", "locked.h5", "--out", "r", "-q"],
            "cannot read the results file locked.h5: Permission denied",
        ),
        (
            &["tails", "locked.h5"],
            "cannot read the results file locked.h5: Permission denied",
        ),
        (
            &["compare", "ok.h5", "locked.h5", "--out", "c", "-q"],
            "cannot read the results file locked.h5: Permission denied",
        ),
        // With a bad shard besides: every problem is named, and the status is the failure's.
        (
            &["merge", "locked-shard.h5", "nowhere.h5", "--out", "m", "-q"],
            "no such shard file: nowhere.h5",
        ),
    ];
    for (args, expected) in cases {
        let mut c = common::cli::bin();
        c.args(args).current_dir(p);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            c.uid(65534).gid(65534);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected `{expected}` in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    for out in ["m", "r", "c"] {
        assert!(!p.join(out).exists(), "{out} was written");
    }
}

/// A path that cannot name a file, a loop of symbolic links, is bad input (exit 2) in every
/// reader, not a read failure.
#[test]
fn a_symlink_loop_is_bad_input_in_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::copy(originals().join("results/tiny/results.h5"), p.join("ok.h5")).unwrap();
    std::os::unix::fs::symlink("b.h5", p.join("a.h5")).unwrap();
    std::os::unix::fs::symlink("a.h5", p.join("b.h5")).unwrap();
    for args in [
        &["merge", "a.h5", "--out", "m", "-q"][..],
        &["report", "a.h5", "--out", "r", "-q"],
        &["tails", "a.h5"],
        &["compare", "ok.h5", "a.h5", "--out", "c", "-q"],
    ] {
        let out = run(args, p);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("a.h5 does not name a"), "{args:?}: {err}");
    }
}

/// A results file whose stored scenario is not valid TOML says so: the figures that need the
/// scenario are left out with that reason (it said the scenario "reads files that results.h5
/// does not contain" and that they "were not found").
#[test]
fn a_stored_scenario_that_is_not_valid_is_named_as_such() {
    let (dir, f) = results_copy();
    apply(
        &f,
        &Change::AttrStr("scenario_toml", "[simulation]\npaths = nan\n"),
    );
    let out = run(&["report", "results.h5", "--out", "rep", "-q"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("the scenario stored in the file (scenario_toml) is not valid: "),
        "{err}"
    );
    assert!(!err.contains("not found relative to"), "{err}");
}

/// Each shard alone is whole (a population's engine columns are there for every population
/// or for none), but one lacks the engine columns the other has. Its columns were joined
/// with the other's by position (a panic, or a silent mix); it is refused, exit 2, naming
/// the shard and the group, and nothing is written.
#[test]
fn merge_refuses_a_shard_with_other_datasets_than_the_others() {
    let dir = tempfile::tempdir().unwrap();
    common::cli::write_engine_scenario(dir.path());
    for k in ["0/2", "1/2"] {
        ok(
            &["run", "engine.toml", "--paths", "60", "--shard", k, "-q"],
            dir.path(),
        );
    }
    let shards = dir.path().join("results/engine-shards");
    let engine: Vec<&str> = cascadesim::metrics::ENGINE_POPULATION_METRICS
        .iter()
        .map(|d| d.name)
        .collect();
    h5edit::rewrite(&shards.join("shard-1-of-2.h5"), |model| {
        let before = model.datasets.len();
        model.datasets.retain(|d| {
            !(d.path.contains("populations/")
                && engine.iter().any(|n| d.path.ends_with(&format!("/{n}"))))
        });
        assert!(
            model.datasets.len() < before,
            "the shard had engine columns"
        );
    })
    .unwrap();
    merge_is_refused(
        &shards,
        &[
            "shard-1-of-2.h5: group /populations/0 holds other per-path datasets than the shards before it",
        ],
    );
}

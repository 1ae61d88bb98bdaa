//! `cascadesim compare` through the binary, on small runs of `tests/data/tiny.toml`: paired
//! and unpaired comparisons, the files it writes, the 80-column table and bad input.

use std::path::Path;
use std::process::Output;

mod common;
use common::cli::{assert_fits_80, root, run_in, text};

/// The binary in `cwd`.
fn run(args: &[&str], cwd: &Path) -> Output {
    run_in(cwd, args)
}

/// A folder holding `tiny.toml` and `changed.toml` (the same with a larger shock and the file
/// seed changed, which `--seed` overrides).
fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    std::fs::write(d.path().join("tiny.toml"), &tiny).unwrap();
    let reseeded = tiny.replace("seed = 42", "seed = 7");
    assert_ne!(reseeded, tiny);
    std::fs::write(d.path().join("reseeded.toml"), &reseeded).unwrap();
    let changed = tiny.replace("return = -0.05", "return = -0.08");
    assert_ne!(changed, tiny);
    std::fs::write(d.path().join("changed.toml"), changed).unwrap();
    d
}

fn simulate(dir: &Path, scenario: &str, extra: &[&str]) {
    let mut args = vec!["run", scenario, "--paths", "200", "-q"];
    args.extend_from_slice(extra);
    let o = run(&args, dir);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn row<'a>(j: &'a serde_json::Value, figure: &str, metric: &str) -> &'a serde_json::Value {
    j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["figure"] == figure && r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row {figure} {metric}"))
}

#[test]
fn same_scenario_and_seed_is_paired_with_zero_differences() {
    let d = setup();
    simulate(d.path(), "tiny.toml", &[]);
    // The file says seed = 7; `--seed 42` makes it the same run: only an overridden key
    // differs, so the runs are paired (and, being the same run, identical).
    simulate(d.path(), "reseeded.toml", &["--seed", "42"]);
    let o = run(
        &["compare", "results/tiny", "results/reseeded/results.h5"],
        d.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("paired: same scenario"), "{table}");
    assert_fits_80("compare", table.lines());
    let dir = d.path().join("results/tiny-vs-reseeded-compare");
    let j = json(&dir.join("compare.json"));
    assert_eq!(j["pairing"]["paired"], true);
    let p = row(&j, "cascade_probability", "cascade");
    assert_eq!(p["difference"], 0.0);
    assert_eq!(p["method"], "no-discordant-path");
    // Identical paths: every paired difference and interval is exactly 0.
    for r in j["rows"].as_array().unwrap() {
        if r["figure"] != "cascade_probability" {
            assert_eq!(r["difference"], 0.0, "{r}");
            assert_eq!(r["ci_low"], 0.0, "{r}");
            assert_eq!(r["ci_high"], 0.0, "{r}");
        }
    }
    let page = std::fs::read_to_string(dir.join("compare.html")).unwrap();
    assert!(page.contains("Paired comparison") && page.contains("<svg"));
    common::browser::assert_fits_1280(&dir.join("compare.html"));
    assert!(dir.join("plots/tail_max_drawdown.svg").is_file());
    assert!(dir.join("plots/tail_max_drawdown.png").is_file());
}

#[test]
fn a_changed_scenario_on_the_same_seed_is_compared_unpaired_and_sees_the_larger_shock() {
    let d = setup();
    simulate(d.path(), "tiny.toml", &[]);
    simulate(d.path(), "changed.toml", &[]);
    let o = run(&["compare", "results/tiny", "results/changed"], d.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("unpaired: the scenario texts differ"));
    let j = json(
        &d.path()
            .join("results/tiny-vs-changed-compare/compare.json"),
    );
    assert_eq!(j["pairing"]["paired"], false);
    assert_eq!(
        row(&j, "cascade_probability", "cascade")["method"],
        "newcombe-wilson"
    );
    let dd = row(&j, "mean", "max_drawdown");
    assert_eq!(dd["method"], "unpaired-normal");
    // A 3-point larger shock at step 5 deepens every path's drawdown by about that much; the
    // paths' own spread is far smaller than 3 points at 200 paths, so the interval lies above 0.
    assert!(dd["ci_low"].as_f64().unwrap() > 0.0, "{dd}");
    let var = row(&j, "VaR", "max_drawdown");
    assert_eq!(var["method"], "unpaired-bootstrap");
    assert!(var["ci_low"].as_f64().unwrap() <= var["difference"].as_f64().unwrap());
}

#[test]
fn another_seed_is_unpaired_and_says_why() {
    let d = setup();
    simulate(d.path(), "tiny.toml", &[]);
    simulate(d.path(), "reseeded.toml", &[]);
    let o = run(
        &[
            "compare",
            "results/tiny",
            "results/reseeded",
            "--out",
            "cmp",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let j = json(&d.path().join("cmp/tiny-vs-reseeded-compare/compare.json"));
    let why = j["pairing"]["reason"].as_str().unwrap();
    assert!(why.contains("seeds differ (42 and 7)"), "{why}");
}

#[test]
fn a_bad_results_file_exits_2_naming_file_and_dataset_and_writes_nothing() {
    let d = setup();
    simulate(d.path(), "tiny.toml", &[]);
    std::fs::create_dir(d.path().join("bad")).unwrap();
    std::fs::copy(
        d.path().join("results/tiny/results.h5"),
        d.path().join("bad/results.h5"),
    )
    .unwrap();
    cascadesim::output::h5::edit::rewrite(&d.path().join("bad/results.h5"), |model| {
        assert!(model.remove("paths/max_drawdown"));
        model.datasets.push(cascadesim::output::h5::edit::Dataset {
            path: "paths/max_drawdown".to_owned(),
            values: cascadesim::output::h5::Stored::F64(vec![1.0, 2.0]),
            shape: vec![2],
            attrs: Vec::new(),
        });
    })
    .unwrap();
    let o = run(
        &["compare", "results/tiny", "bad", "--out", "cmp"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad/results.h5") && err.contains("max_drawdown"),
        "{err}"
    );
    assert!(!d.path().join("cmp").exists(), "nothing written");
    let o = run(&["compare", "results/tiny", "nowhere"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("nowhere"));
}

/// Two results folders of 115-byte names: `<A>-vs-<B>-compare` is 242 bytes and its staging
/// folder beyond the filesystem's 255 (exit 1, "File name too long", leaving an empty `--out`
/// folder). The name is cut to a results folder's 235 bytes with a hash of the whole names.
#[test]
fn runs_with_long_names_are_compared_into_a_cut_folder_name() {
    let d = setup();
    let tiny = std::fs::read_to_string(d.path().join("tiny.toml")).unwrap();
    let (a, b) = ("a".repeat(115), "b".repeat(115));
    std::fs::write(d.path().join(format!("{a}.toml")), &tiny).unwrap();
    std::fs::write(d.path().join(format!("{b}.toml")), &tiny).unwrap();
    simulate(d.path(), &format!("{a}.toml"), &[]);
    simulate(d.path(), &format!("{b}.toml"), &["--seed", "7"]);
    let (ra, rb) = (format!("results/{a}"), format!("results/{b}"));
    let o = run(&["compare", &ra, &rb, "--out", "c", "-q"], d.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let names: Vec<String> = std::fs::read_dir(d.path().join("c"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert_eq!(name.len(), 235, "{name}");
    assert!(
        name.starts_with(&format!("{}-vs-{}-", &a[..107], &b[..107])) && name.ends_with("-compare"),
        "{name}"
    );
    assert!(d.path().join("c").join(name).join("compare.json").is_file());
}

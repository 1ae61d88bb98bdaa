//! The run pipeline as a library: a whole run done without the binary (scenario → plan →
//! folder) writes byte for byte the folder `cascadesim run` writes for the same scenario,
//! seed and paths, for a plain and a rare-event run.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use cascadesim::model::spec::Scenario;
use cascadesim::run::files::FsFiles;
use cascadesim::run::simulate::execute;
use cascadesim::run::{Env, Overrides, Part, PlanError, RareChoice, RunPlan, RunRequest};

use common::cli::{root, run_in, text};

fn scenario(file: &Path) -> Scenario {
    let text = std::fs::read_to_string(file).unwrap();
    let files = FsFiles {
        base: file.parent().unwrap().to_path_buf(),
        allow_external: false,
    };
    Scenario::parse(&text, &file.display().to_string(), &files).unwrap()
}

/// The library's folder for `request` and the binary's for `args`, side by side.
fn library_and_binary(file: &Path, rare: RareChoice, args: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let (lib_out, bin_out) = (d.path().join("lib"), d.path().join("bin"));
    let request = RunRequest {
        scenario_file: file.to_path_buf(),
        out: lib_out.clone(),
        overrides: Overrides {
            paths: Some(240),
            seed: Some(9),
            replicates: None,
        },
        rare_event: rare,
        part: Part::Whole,
        threads: Some(2),
    };
    let plan = RunPlan::new(scenario(file), request).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let cancel = AtomicBool::new(false);
    let env = Env {
        pool: &pool,
        cancel: &cancel,
    };
    let done = execute(&plan, &env, &|_| {}).unwrap();
    let stem = file.file_stem().unwrap().to_str().unwrap();
    assert_eq!(done.dir, lib_out.join(stem));
    assert_eq!(done.summary.provenance.paths, 240);

    let file_arg = file.display().to_string();
    let out_arg = bin_out.display().to_string();
    let mut argv = vec![
        "run",
        &file_arg,
        "--paths",
        "240",
        "--seed",
        "9",
        "--threads",
        "2",
        "--quiet",
        "--out",
        &out_arg,
    ];
    argv.extend(args);
    let out = run_in(&root(), &argv);
    assert!(out.status.success(), "{}", text(&out.stderr));
    common::assert_same_tree(&lib_out.join(stem), &bin_out.join(stem), "results.h5");
}

#[test]
fn a_library_run_writes_the_binarys_folder() {
    library_and_binary(
        &root().join("tests/data/tiny.toml"),
        RareChoice::Scenario,
        &[],
    );
}

#[test]
fn a_library_rare_event_run_writes_the_binarys_folder() {
    library_and_binary(
        &root().join("tests/data/tiny.toml"),
        RareChoice::ImportanceSampling,
        &["--rare-event", "is"],
    );
}

#[test]
fn a_plan_checks_its_overrides_once() {
    let file = root().join("tests/data/tiny.toml");
    let plan = |overrides: Overrides, rare_event, part| {
        RunPlan::new(
            scenario(&file),
            RunRequest {
                scenario_file: file.clone(),
                out: "out".into(),
                overrides,
                rare_event,
                part,
                threads: None,
            },
        )
    };
    let zero = Overrides {
        paths: Some(0),
        ..Overrides::default()
    };
    assert_eq!(
        plan(zero, RareChoice::Scenario, Part::Whole).unwrap_err(),
        PlanError::ZeroPaths
    );
    let many = Overrides {
        replicates: Some(100_000),
        ..Overrides::default()
    };
    assert_eq!(
        plan(many, RareChoice::Scenario, Part::Whole).unwrap_err(),
        PlanError::ReplicatesOutOfRange(100_000)
    );
    assert_eq!(
        plan(Overrides::default(), RareChoice::Splitting, Part::Whole).unwrap_err(),
        PlanError::SplitWithoutLevels
    );
    let shard = cascadesim::shard::ShardSpec { index: 1, count: 3 };
    assert_eq!(
        plan(
            Overrides::default(),
            RareChoice::ImportanceSampling,
            Part::Shard(shard)
        )
        .unwrap_err(),
        PlanError::RareEventSplitUp
    );
    // A shard: its paths, its file, its provenance's first path; it writes no folder.
    let p = plan(
        Overrides::default(),
        RareChoice::Scenario,
        Part::Shard(shard),
    )
    .unwrap();
    assert_eq!(p.simulated(), (100, 100));
    assert!(!p.writes_folder());
    assert_eq!(p.dest(), Path::new("out/tiny-shards/shard-1-of-3.h5"));
    let seeded = Overrides {
        seed: Some(5),
        paths: Some(7),
        replicates: Some(3),
    };
    let p = plan(seeded, RareChoice::Plain, Part::Whole).unwrap();
    let s = &p.scenario().simulation;
    assert_eq!((s.seed, s.paths, s.population_replicates), (5, 7, 3));
    assert!(p.rare_event().is_none());
    assert_eq!(p.simulated(), (0, 7));
    assert!(p.writes_folder());
}

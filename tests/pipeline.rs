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

/// Every attribute and dataset of an HDF5 file, as text (dimension-list and reference-list
/// attributes, which our reader does not decode, as whether they read).
fn h5_content(f: &Path) -> Vec<String> {
    use cascadesim::output::h5::{list_attrs, list_datasets, list_groups, read_attr, read_dataset};
    let join = |g: &str, n: &str| {
        if g == "/" {
            n.to_owned()
        } else {
            format!("{g}/{n}")
        }
    };
    let attrs = |object: &str, out: &mut Vec<String>| {
        for a in list_attrs(f, object).unwrap() {
            out.push(format!(
                "{object} @{a} = {:?}",
                read_attr(f, object, &a).ok()
            ));
        }
    };
    let mut out = Vec::new();
    let mut groups = vec!["/".to_owned()];
    while let Some(g) = groups.pop() {
        attrs(&g, &mut out);
        for d in list_datasets(f, &g).unwrap() {
            let p = join(&g, &d);
            out.push(format!(
                "{p} = {:?}",
                read_dataset(f, &p, usize::MAX).unwrap()
            ));
            attrs(&p, &mut out);
        }
        groups.extend(list_groups(f, &g).unwrap().iter().map(|s| join(&g, s)));
    }
    out.sort();
    out
}

/// A whole run's folder, simulated in blocks of `block` paths, its columns streamed into its
/// `results.h5` block by block (`stream`) or held in memory.
fn whole_run(
    file: &Path,
    out: &Path,
    block: u64,
    stream: bool,
    threads: usize,
) -> std::path::PathBuf {
    use cascadesim::output::Staging;
    use cascadesim::run::simulate::{market, simulate_in_blocks, write_folder};
    let request = RunRequest {
        scenario_file: file.to_path_buf(),
        out: out.to_path_buf(),
        overrides: Overrides {
            paths: Some(100),
            seed: Some(4),
            replicates: None,
        },
        rare_event: RareChoice::Plain,
        part: Part::Whole,
        threads: Some(threads),
    };
    let plan = RunPlan::new(scenario(file), request).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let cancel = AtomicBool::new(false);
    let env = Env {
        pool: &pool,
        cancel: &cancel,
    };
    let staging = Staging::new(plan.dest()).unwrap();
    let market = market(&plan, &pool);
    let streamed = stream.then_some(&staging);
    let simulated = simulate_in_blocks(&plan, &market, &env, &|_| {}, streamed, block).unwrap();
    assert_eq!(
        matches!(simulated.run, cascadesim::run::Paths::Streamed { .. }),
        stream
    );
    write_folder(&plan, &market, simulated, staging, &env)
        .unwrap()
        .dir
}

/// A whole plain run that streams its columns into `results.h5` block by block and reads
/// them back one at a time writes the files of a run that holds them, byte for byte, when
/// both take the same blocks (the chunks of several blocks interleave in the file, and a
/// held run writes its columns in the blocks it was simulated in, as merged shards and
/// gathered MPI ranks write theirs in `mc::BLOCK`); at one and two threads, with
/// populations, an engine, cross-margin accounts (the by-trigger matrix) and traces. Other
/// blocks give the same content.
#[test]
fn a_streamed_run_writes_the_files_of_a_held_one() {
    for name in [
        "btc_flash_crash.toml",
        "cross_margin_contagion.toml",
        "slow_liquidation_engine.toml",
    ] {
        let file = root().join("scenarios").join(name);
        let d = tempfile::tempdir().unwrap();
        let held = whole_run(&file, &d.path().join("held"), 100, false, 2);
        let want = h5_content(&held.join("results.h5"));
        let one_block = whole_run(&file, &d.path().join("one"), 100, true, 2);
        common::assert_same_tree(&held, &one_block, "results.h5");
        for (block, threads) in [(40, 1), (7, 2)] {
            let out = d.path().join(format!("b{block}-t{threads}"));
            let streamed = whole_run(&file, &out.join("streamed"), block, true, threads);
            let held_b = whole_run(&file, &out.join("held"), block, false, 3 - threads);
            common::assert_same_tree(&held_b, &streamed, "results.h5");
            assert_eq!(h5_content(&streamed.join("results.h5")), want, "{name}");
            std::fs::remove_file(streamed.join("results.h5")).unwrap();
            std::fs::copy(held.join("results.h5"), streamed.join("results.h5")).unwrap();
            common::assert_same_tree(&held, &streamed, "summary.json");
        }
    }
}

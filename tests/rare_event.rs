//! Rare-event estimators against known answers: importance sampling on a scenario whose
//! cascade probability is Φ(−z*) in closed form (at p ≈ 1e-3 and p ≈ 1e-6), importance
//! sampling and splitting against plain Monte Carlo where plain Monte Carlo still sees the
//! event (p ≈ 1e-3), the likelihood ratio's mean, and reproducibility.

use std::path::PathBuf;

use cascadesim::engine::Market;
use cascadesim::metrics;
use cascadesim::model::spec::{RareEventSpec, RareMethod, Scenario};
use cascadesim::rare::{self, Tilt};
use cascadesim::scenario::FileSource;
use cascadesim::stats::Proportion;
use cascadesim::summary::Summary;

mod common;
use common::cli::run as cascadesim;

#[path = "common/provenance.rs"]
mod provenance;
use cascadesim::tails::normal_cdf;
use provenance::provenance;

struct Dir(PathBuf);

impl FileSource for Dir {
    fn read(&self, relative: &str) -> Result<String, String> {
        std::fs::read_to_string(self.0.join(relative)).map_err(|e| e.to_string())
    }
}

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rare")
}

/// `tests/data/rare/<name>` with `volatility = 0.4074` replaced by `vol` (when given).
fn scenario(name: &str, vol: Option<f64>) -> Scenario {
    let mut text = std::fs::read_to_string(data().join(name)).expect("test scenario");
    if let Some(v) = vol {
        text = text.replace("volatility = 0.4074", &format!("volatility = {v}"));
    }
    Scenario::parse(&text, name, &Dir(data())).unwrap_or_else(|e| panic!("{e}"))
}

/// The closed-form probability of `one_shock.toml` at volatility `vol` (no drift, daily
/// step): `Φ(−z*)`, `z* = (−ln(0.9/0.996) − σ²dt/2)/(σ√dt)`.
fn one_shock_truth(vol: f64) -> f64 {
    let dt = 1.0 / 365.0;
    let z = (-(0.9f64 / 0.996).ln() - 0.5 * vol * vol * dt) / (vol * dt.sqrt());
    normal_cdf(-z)
}

/// A rare-event run's summary, as `cascadesim run` builds it.
fn rare_summary(s: &Scenario, spec: &RareEventSpec, paths: u64) -> Summary {
    let market = Market::new(s);
    let mut rr = rare::run(&market, spec, paths).expect("tree stays small");
    let mut columns = metrics::columns(&mut rr.results);
    columns.extend(metrics::weight_columns(
        &rr.log_weights,
        rr.roots.as_deref(),
    ));
    Summary::build_with(provenance(s, paths), &columns, &[], Some(&rr.info))
}

/// A plain run's summary.
fn plain_summary(s: &Scenario, paths: u64) -> Summary {
    let market = Market::new(s);
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut r = cascadesim::mc::run(&market, 0, paths, &|_| {}, &never).expect("not cancelled");
    Summary::build(provenance(s, paths), &metrics::columns(&mut r), &[])
}

fn is_spec(pilot: u64) -> RareEventSpec {
    RareEventSpec {
        pilot_paths: pilot,
        ..RareEventSpec::defaults(RareMethod::ImportanceSampling)
    }
}

/// Standard error of an estimate from its 95% interval's upper half.
fn se(p: &Proportion) -> f64 {
    (p.ci_high - p.estimate) / 1.959_963_984_540_054
}

#[test]
fn importance_sampling_hits_a_one_in_a_million_closed_form_probability_within_10_percent() {
    // σ = 0.4074: z* = 4.742, p = Φ(−z*) ≈ 1.06e-6. 20 000 paths plus at most 10 pilot
    // iterations of 2 000 (cross-entropy stops at the first whose elite is all cascades),
    // so at most 40 000 ≤ 1e5 paths in all. The mean-shifted normal's estimator has relative
    // standard error ≈ 1.6% here (measured: the interval is ±3.2%), so 10% is over 6 sd.
    let s = scenario("one_shock.toml", None);
    let truth = one_shock_truth(0.4074);
    assert!((0.9e-6..1.2e-6).contains(&truth), "{truth}");
    let sum = rare_summary(&s, &is_spec(2_000), 20_000);
    let r = sum.rare_event.as_ref().expect("rare-event summary");
    assert!(
        r.info.path_equivalents <= 1e5,
        "{}",
        r.info.path_equivalents
    );
    let p = &sum.cascade_probability;
    assert!(
        (p.estimate / truth - 1.0).abs() < 0.10,
        "IS {} vs Φ(−z*) = {truth}",
        p.estimate
    );
    // Its interval is honest: it holds the truth (a 95% interval, checked at one seed).
    assert!(p.ci_low <= truth && truth <= p.ci_high, "{p:?} vs {truth}");
    assert_eq!(r.info.estimator, "importance_sampling");
    let t = r.info.tilt.as_ref().expect("tilt recorded");
    // The optimal shift for a threshold at −4.742 sits just beyond it (the conditional mean
    // of z given z < −4.742 is −4.94); cross-entropy must land near there.
    assert!(
        (-5.5..-4.3).contains(&t.diffusion_shift[0][0]),
        "{:?}",
        t.diffusion_shift
    );
    assert!(r.variance_reduction.expect("cascades seen") > 1e3);
}

#[test]
fn closed_form_at_one_in_a_thousand_plain_mc_and_importance_sampling_agree() {
    // σ = 0.7: z* = 2.765, p ≈ 2.85e-3 — plain Monte Carlo sees it. Plain MC on 100 000
    // paths has relative sd ≈ 6%; IS on 5 000 paths ≈ 1.5%. Each must be within 4 of its
    // own standard errors of the truth (a fixed seed, so this either always holds or not;
    // 4 sd leaves room for the normal approximation of the plain count).
    let vol = 0.7;
    let s = scenario("one_shock.toml", Some(vol));
    let truth = one_shock_truth(vol);
    assert!((1e-3..5e-3).contains(&truth), "{truth}");
    let plain = plain_summary(&s, 100_000);
    let is = rare_summary(&s, &is_spec(1_000), 5_000);
    for (name, p) in [
        ("plain", &plain.cascade_probability),
        ("is", &is.cascade_probability),
    ] {
        let sd = se(p);
        assert!(
            (p.estimate - truth).abs() < 4.0 * sd,
            "{name}: {} ± {sd} vs {truth}",
            p.estimate
        );
    }
}

#[test]
fn importance_sampling_and_splitting_agree_with_plain_mc_on_a_twenty_step_fall() {
    // No closed form (discretely monitored minimum): plain MC on 100 000 paths sees ≈ 150
    // cascades (relative sd ≈ 8%). IS (4 000 paths) and splitting (4 000 roots, 4 clones at
    // drawdowns 3%, 5%, 7%, 8.5%) must each agree with it within 3.5 combined standard
    // errors, sqrt(se_a² + se_b²): the estimators are independent.
    let s = scenario("drawdown.toml", None);
    let plain = plain_summary(&s, 100_000);
    let p0 = &plain.cascade_probability;
    assert!((5e-4..3e-3).contains(&p0.estimate), "{p0:?}");
    let is = rare_summary(&s, &is_spec(1_000), 4_000);
    let split_spec = s.rare_event.clone().expect("the file sets splitting");
    assert_eq!(split_spec.method, RareMethod::Splitting);
    let split = rare_summary(&s, &split_spec, 4_000);
    for (name, sum) in [("is", &is), ("split", &split)] {
        let p = &sum.cascade_probability;
        let tol = 3.5 * (se(p).powi(2) + se(p0).powi(2)).sqrt();
        assert!(
            (p.estimate - p0.estimate).abs() < tol,
            "{name}: {} vs plain {} (tolerance {tol})",
            p.estimate,
            p0.estimate
        );
        // Both intervals must be narrower than plain MC's per unit of cost.
        let r = sum.rare_event.as_ref().expect("rare summary");
        assert!(
            r.variance_reduction.expect("cascades seen") > 1.0,
            "{name}: {r:?}"
        );
    }
    let r = split.rare_event.as_ref().expect("rare summary");
    assert_eq!(r.info.particles_per_stage[0], 4_000);
    assert_eq!(r.info.particles_per_stage.len(), 5);
}

#[test]
fn the_likelihood_ratio_has_mean_one_under_the_tilted_law() {
    // E_q[dP/dQ] = 1 for any tilt. Diffusion shift θ = −0.2 per step, jump rate ×κ = 2 and
    // jump-size shift δ = −0.5, on 20 daily steps with 0.05 jumps/day. E_q[w²] per step is
    // e^{θ²}·e^{λ(κ−1)²/κ}·(1 + P_q(jump)(e^{δ²} − 1)) = e^{0.04 + 0.025 + 0.039}, so
    // Var(w) = e^{20·0.104} − 1 ≈ 7 and the mean of 20 000 weights has sd ≈ 0.019;
    // tolerance 0.1 (over 5 sd).
    let text = std::fs::read_to_string(data().join("drawdown.toml"))
        .expect("test scenario")
        .replace(
            "volatility = 0.14",
            "volatility = 0.14\njumps = { rate_per_day = 0.05, mean = -0.05, sd = 0.05 }",
        );
    let s = Scenario::parse(&text, "jumps", &Dir(data())).unwrap_or_else(|e| panic!("{e}"));
    let market = Market::new(&s);
    let mut tilt = Tilt::uniform(&market, -0.2, 2.0);
    tilt.jump_size_shift[0] = -0.5;
    let sampling = tilt.sampling_market(&market);
    let n = 20_000;
    let mut sum = 0.0;
    let mut per = vec![cascadesim::engine::AssetPathMetrics::default(); 1];
    for i in 0..n {
        let (_, c) = rare::is::simulate_tilted(&market, &sampling, &tilt, i, &mut per);
        sum += c.weight();
    }
    let mean = sum / n as f64;
    assert!((mean - 1.0).abs() < 0.1, "mean weight {mean}");
}

#[test]
fn a_zero_tilt_leaves_paths_and_weights_as_plain_ones() {
    // Tilt 0: every draw is the plain draw, every weight exactly 1.
    let s = scenario("drawdown.toml", None);
    let market = Market::new(&s);
    let tilt = Tilt::uniform(&market, 0.0, 1.0);
    let sampling = tilt.sampling_market(&market);
    let mut per = vec![cascadesim::engine::AssetPathMetrics::default(); 1];
    for i in 0..200 {
        let (a, c) = rare::is::simulate_tilted(&market, &sampling, &tilt, i, &mut per);
        let b = cascadesim::engine::simulate_path(
            &market,
            i,
            &mut per,
            &mut cascadesim::engine::NoObserver,
        );
        assert_eq!(a, b, "path {i}");
        assert_eq!(c.log_weight, 0.0);
    }
}

#[test]
fn rare_event_runs_are_identical_on_one_and_two_threads() {
    let s = scenario("drawdown.toml", None);
    let market = Market::new(&s);
    let split_spec = s.rare_event.clone().expect("splitting");
    for spec in [is_spec(500), split_spec] {
        let run_on = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| rare::run(&market, &spec, 2_000).expect("small tree"))
        };
        let (a, b) = (run_on(1), run_on(2));
        assert_eq!(a.results.paths, b.results.paths);
        assert_eq!(a.roots, b.roots);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.log_weights), bits(&b.log_weights));
        assert_eq!(a.info, b.info);
    }
}

#[test]
fn splitting_weights_of_each_root_sum_to_one_and_leaves_are_grouped() {
    // A split replaces a weight w by R clones of w/R, so each root's leaves sum to exactly
    // 1 (up to rounding, 1e-9): the estimator's expectation bookkeeping. Rows of one root
    // are contiguous, and some root did split (so the check is not vacuous).
    let s = scenario("drawdown.toml", None);
    let market = Market::new(&s);
    let spec = s.rare_event.clone().expect("splitting");
    let r = rare::run(&market, &spec, 2_000).expect("small tree");
    let roots = r.roots.as_ref().expect("roots");
    assert!(roots.windows(2).all(|w| w[0] <= w[1]));
    let mut per_root = vec![0.0; 2_000];
    for (&root, l) in roots.iter().zip(&r.log_weights) {
        per_root[root as usize] += l.exp();
    }
    assert!(
        per_root.iter().all(|t| (t - 1.0).abs() < 1e-9),
        "{per_root:?}"
    );
    assert!(roots.len() > 2_000, "no path split");
}

/// `cascadesim run <scenario> <extra…> --out <a temporary folder>`.
fn run_into_temp(scenario: &str, extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().display().to_string();
    let mut args = vec!["run", scenario];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", &dir]);
    let r = cascadesim(&args);
    (out, r)
}

#[test]
fn run_rare_event_is_writes_weights_and_says_which_estimator() {
    let (out, r) = run_into_temp(
        "tests/data/rare/one_shock.toml",
        &["--rare-event", "is", "--paths", "3000"],
    );
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        stdout.contains("estimator importance_sampling (reliable)"),
        "{stdout}"
    );
    assert!(stdout.contains("effective sample size"), "{stdout}");
    assert!(stdout.contains("variance reduction"), "{stdout}");
    let folder = out.path().join("one_shock");
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(s["rare_event"]["estimator"], "importance_sampling");
    assert_eq!(s["rare_event"]["reliable"], true);
    assert_eq!(s["cascade_probability"]["method"], "normal (weighted)");
    assert!(s.get("cascade_probability_exact").is_none());
    assert!(
        s["rare_event"]["effective_sample_size"]
            .as_f64()
            .expect("ess")
            > 0.0
    );
    assert!(
        s["rare_event"]["tilt"]["diffusion_shift"][0][0]
            .as_f64()
            .expect("tilt")
            < -3.0
    );
    let h5 = folder.join("results.h5");
    let w = cascadesim::output::h5::read_f64_column(&h5, "paths/weight").expect("weights");
    assert_eq!(w.len(), 3000);
    // The stored weights reproduce the summary's estimate: Σ w·1{cascade} / n.
    let c = cascadesim::output::h5::read_f64_column(&h5, "paths/cascade").expect("flags");
    let p: f64 = w.iter().zip(&c).map(|(w, c)| w * c).sum::<f64>() / 3000.0;
    let est = s["cascade_probability"]["estimate"]
        .as_f64()
        .expect("estimate");
    assert!((p / est - 1.0).abs() < 1e-12, "{p} vs {est}");
    assert_eq!(
        cascadesim::output::h5::read_attr_str(&h5, "/", "estimator").expect("attr"),
        "importance_sampling"
    );
    // `report` would rebuild it as a plain run: refused, exit 2.
    let r = cascadesim(&["report", &h5.display().to_string()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("rare-event run"));
}

#[test]
fn bad_rare_event_combinations_are_input_errors() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().display().to_string();
    // Splitting needs levels; a rare-event run cannot be sharded.
    for (args, needle) in [
        (
            vec!["tests/data/rare/one_shock.toml", "--rare-event", "split"],
            "needs the drawdown levels",
        ),
        (
            vec!["tests/data/rare/drawdown.toml", "--shard", "0/2"],
            "cannot be sharded",
        ),
    ] {
        let mut a = vec!["run"];
        a.extend(args);
        a.extend(["--out", &dir]);
        let r = cascadesim(&a);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
#[ignore = "slow in debug (14 000 paths of 1 440 steps and a 2 000-path pilot): run by name in release from .ci/run"]
fn importance_sampling_on_a_scheduled_shock_agrees_with_plain_mc_or_says_it_cannot() {
    // Issue 19: btc_flash_crash with 580M of depth. Its risk comes from the scheduled −5%
    // shock, not from the diffusion, so a constant tilt of the normals is the wrong change
    // of measure; before the defensive mixture and the checks, 4 000 IS paths printed
    // 0.057% [0.046, 0.068] with "variance reduction ×15.7" while plain Monte Carlo gave
    // 0.34% [0.24, 0.47]. Now the run must either agree with plain Monte Carlo (10 000
    // paths) within 3 standard errors of the difference (a 0.3% false-alarm rate for an
    // honest pair of normal estimates), or say that it is not reliable, and a variance
    // reduction is reported only for a reliable run.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/btc_flash_crash.toml"),
    )
    .expect("bundled scenario");
    let text = text.replace("depth_usd = 500.0e6", "depth_usd = 580.0e6");
    assert!(text.contains("depth_usd = 580.0e6"));
    let s = Scenario::parse(&text, "btc580", &Dir(data())).unwrap_or_else(|e| panic!("{e}"));
    let plain = plain_summary(&s, 10_000);
    let is = rare_summary(&s, &is_spec(2_000), 4_000);
    let r = is.rare_event.as_ref().expect("rare-event summary");
    let (p, q) = (&plain.cascade_probability, &is.cascade_probability);
    assert!(p.successes > 0, "plain Monte Carlo sees the event: {p:?}");
    let se_plain = (p.estimate * (1.0 - p.estimate) / p.trials as f64).sqrt();
    let gap = (q.estimate - p.estimate).abs() / (se(q).powi(2) + se_plain.powi(2)).sqrt();
    eprintln!(
        "plain {:.4e} [{:.4e}, {:.4e}]; IS {:.4e} [{:.4e}, {:.4e}], {gap:.2} se apart; reliable {}; checks {:#?}",
        p.estimate, p.ci_low, p.ci_high, q.estimate, q.ci_low, q.ci_high, r.reliable, r.checks
    );
    assert!(
        gap <= 3.0 || !r.reliable,
        "IS {q:?} disagrees with plain {p:?} ({gap:.1} se) and calls itself reliable"
    );
    assert_eq!(r.variance_reduction.is_some(), r.reliable);
    assert!(r.checks.iter().any(|c| c.name == "defensive_agreement"));
}

#[test]
fn defensive_mixture_weights_are_bounded_and_average_one() {
    // Every fifth path from the stated law, the rest under a strong tilt (−0.5 per step
    // over 20 steps, far more than the event needs): every weight is at most 1/α = 5, and
    // their mean is E[dP/d(αP + (1 − α)Q)] = 1. With w ≤ 5, Var(w) ≤ E[w²] ≤ 5, so the mean
    // of 4 000 weights has sd ≤ 0.035; tolerance 0.15 (over 4 sd).
    let s = scenario("drawdown.toml", None);
    let market = Market::new(&s);
    let spec = RareEventSpec {
        tilt: Some(-0.5),
        ..RareEventSpec::defaults(RareMethod::ImportanceSampling)
    };
    let r = rare::run(&market, &spec, 4_000).expect("no tree");
    let d = r.info.defensive.expect("defensive stratum");
    assert_eq!((d.paths, d.share), (800, 0.2));
    let w: Vec<f64> = r.log_weights.iter().map(|l| l.exp()).collect();
    assert!(w.iter().all(|&x| x <= 5.0 + 1e-12), "a weight above 1/α");
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    assert!((mean - 1.0).abs() < 0.15, "mean weight {mean}");
    // The defensive paths are the plain paths: path 5 is the plain path 5.
    let mut per = vec![cascadesim::engine::AssetPathMetrics::default(); 1];
    let plain = cascadesim::engine::simulate_path(
        &market,
        5,
        &mut per,
        &mut cascadesim::engine::NoObserver,
    );
    assert_eq!(r.results.paths[5], plain);
}

#[test]
fn an_unreliable_run_warns_and_reports_no_variance_reduction() {
    // The file's splitting table on only 40 roots: at p ≈ 1.5e-3, `drawdown.toml` leaves a
    // handful of cascading roots at best, far below the 30 effective units the normal
    // interval needs (`rare::reliability`).
    let (out, r) = run_into_temp("tests/data/rare/drawdown.toml", &["--paths", "40"]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{stderr}");
    assert!(
        stderr.contains("estimate is not reliable") && stderr.contains("effective cascading"),
        "{stderr}"
    );
    assert!(stdout.contains("NOT reliable"), "{stdout}");
    assert!(!stdout.contains("variance reduction"), "{stdout}");
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("drawdown/summary.json")).expect("summary"),
    )
    .expect("json");
    let re = &s["rare_event"];
    assert_eq!(re["reliable"], false);
    assert!(re.get("variance_reduction").is_none_or(|v| v.is_null()));
    let failed: Vec<&str> = re["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(failed.contains(&"effective_cascades"), "{failed:?}");
}

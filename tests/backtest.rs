//! `cascadesim backtest` and `calibrate` through the real binary, on a small synthetic
//! series: the files and dataset names, thread-count independence, every bad row reported
//! at once with exit 2 and no folder, and a calibration that provably reads nothing after
//! its training cut.

use std::fmt::Write as _;

use cascadesim::output::h5;

mod common;
use common::cli::{folder_with, run_in as run};

/// Three days of 5-minute rows from 2021-01-01T00:02:00Z (off the step grid on purpose):
/// a slow wave with a 10% crash on day 2 and a squeeze on day 3; observed liquidations
/// follow the falls (longs) and rises (shorts). `scale_after` multiplies the observed
/// liquidations from `cut` on.
fn series(cut: i64, scale_after: f64) -> String {
    let mut o = String::from("time,price,long_liquidated,short_liquidated\n");
    let t0 = 1_609_459_320_i64;
    let mut prev = 1000.0_f64;
    for i in 0..864 {
        let t = t0 + 300 * i;
        let h = (t - t0) as f64 / 3600.0;
        let mut p = 1000.0 * (1.0 + 0.03 * (h / 5.0).sin());
        if (30.0..31.0).contains(&h) {
            p *= 1.0 - 0.10 * (h - 30.0);
        } else if h >= 31.0 {
            p *= 0.9;
        }
        if h >= 55.0 {
            p *= 1.0 + 0.08 * ((h - 55.0).min(1.0));
        }
        let k = if t >= cut { scale_after } else { 1.0 };
        let long = k * 50.0 * (1.0 - p / prev).max(0.0) * 100.0;
        let short = k * 30.0 * (p / prev - 1.0).max(0.0) * 100.0;
        let _ = writeln!(o, "{t},{p:.4},{long:.4},{short:.4}");
        prev = p;
    }
    o
}

const SCENARIO: &str = r#"
[replay]
prices = "s.csv"
step_seconds = 300
warmup_hours = 6

[living]
inflow_usd_per_hour = 2.0e6
positions_per_hour = 120
long_share = 0.5
leverage_median = 12
leverage_sigma = 0.5
holding_hours = 12

[simulation]
paths = 4
seed = 7

[calibration]
paths = 2
max_iterations = 4
"#;

fn setup(csv: &str) -> tempfile::TempDir {
    folder_with(&[("s.csv", csv), ("s.toml", SCENARIO)])
}

/// Also: the page fits 1280 px in Chromium.
#[test]
fn backtest_writes_its_files_identically_on_one_and_two_threads() {
    let d = setup(&series(i64::MAX, 1.0));
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = format!("out{threads}");
        let o = run(
            d.path(),
            &[
                "backtest",
                "s.toml",
                "--from",
                "2021-01-02T00:00:00Z",
                "--threads",
                threads,
                "--out",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dir = d.path().join(&out).join("s-backtest");
        for f in [
            "backtest.h5",
            "backtest.json",
            "backtest.png",
            "backtest.svg",
            "backtest.html",
        ] {
            assert!(dir.join(f).is_file(), "{f} missing");
        }
        files.push((
            std::fs::read(dir.join("backtest.h5")).unwrap(),
            std::fs::read_to_string(dir.join("backtest.json")).unwrap(),
        ));
    }
    assert!(files[0] == files[1], "results depend on the thread count");
    let dir = d.path().join("out1/s-backtest");
    common::browser::assert_fits_1280(&dir.join("backtest.html"));
    let h5f = dir.join("backtest.h5");
    let names = h5::list_datasets(&h5f, "backtest").unwrap();
    for n in [
        "time",
        "price",
        "simulated_long",
        "simulated_short",
        "observed_long",
        "observed_short",
    ] {
        assert!(
            names.iter().any(|x| x == n),
            "/backtest/{n} missing: {names:?}"
        );
    }
    // Steps of 300 s from 00:05 (00:02 rounded up) to the last row's time rounded up.
    let time = h5::read_u64_column(&h5f, "backtest/time").unwrap();
    assert_eq!(time[0], 1_609_459_500);
    assert!(time.windows(2).all(|w| w[1] - w[0] == 300));
    // The observed quantities are the rows' sums: nothing lost or double counted.
    let obs = h5::read_f64_column(&h5f, "backtest/observed_long").unwrap();
    let csv_total: f64 = series(i64::MAX, 1.0)
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((obs.iter().sum::<f64>() - csv_total).abs() < 1e-6 * csv_total);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("backtest.json")).unwrap()).unwrap();
    let long = &json["scores"]["model"]["long"];
    assert!(long["pearson"].is_number(), "{json}");
    assert_eq!(json["scores"]["from"], 1_609_545_600);
    // The crash on day 2 liquidates simulated longs.
    let sim = h5::read_f64_column(&h5f, "backtest/simulated_long").unwrap();
    assert!(sim.iter().sum::<f64>() > 0.0);
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_nothing_is_written() {
    let mut csv = series(i64::MAX, 1.0);
    csv = csv.replacen("1609459620,", "1609459620x,", 1); // line 3
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[10] = "1609462200,-3,0,0".into(); // line 11: price
    lines[20] = "1609462000,1000,0,0".into(); // line 21: time not after the previous
    let d = setup(&(lines.join("\n") + "\n"));
    let o = run(d.path(), &["backtest", "s.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in ["s.csv:3: time", "s.csv:11: price", "s.csv:21: time"] {
        assert!(err.contains(want), "{want} not in {err}");
    }
    assert!(!d.path().join("out/s-backtest").exists());
}

#[test]
fn a_bad_scenario_and_a_bad_window_exit_2() {
    let d = setup(&series(i64::MAX, 1.0));
    std::fs::write(
        d.path().join("bad.toml"),
        SCENARIO.replace("holding_hours = 12", "holding_hour = 12"),
    )
    .unwrap();
    let o = run(d.path(), &["backtest", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("living.holding_hours: missing required key"),
        "{err}"
    );
    assert!(err.contains("did you mean `holding_hours`"), "{err}");
    let o = run(d.path(), &["run", "s.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a replay scenario"));
    let o = run(d.path(), &["validate", "s.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: s.toml (replay scenario"));
    let o = run(
        d.path(),
        &["backtest", "s.toml", "--from", "2021-01-02T00:30:00Z"],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(
        d.path(),
        &["backtest", "s.toml", "--from", "2020-12-01T00:00:00Z"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warm-up"));
}

/// With no warm-up, a series whose first step starts on the hour has a default scored
/// window from the next hour (it started on the series' start, which the window check then
/// refused: a scenario that `validate` passed could not be backtested).
#[test]
fn no_warm_up_on_the_hour_backtests_from_the_next_hour() {
    // Rows every 5 minutes from 00:05: the first step's interval starts at 00:00.
    let text = series(i64::MAX, 1.0).replacen("1609459320,", "1609459500,", 1);
    let d = setup(&text);
    std::fs::write(
        d.path().join("s.toml"),
        SCENARIO.replace("warmup_hours = 6", "warmup_hours = 0"),
    )
    .unwrap();
    let o = run(d.path(), &["backtest", "s.toml", "--out", "out"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2021-01-01T01:00:00Z .."),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Calibrates `scenario` up to `cut` on each of two series (the second changed after the
/// cut), checks that each written scenario backtests and passes `check(folder, written text,
/// stdout)`, and that the fitted `[living]` values are the same while the printed
/// out-of-sample scores differ (the later data was read for scoring only).
fn fit_ignores_data_after(
    cut: &str,
    scenario: &str,
    series: [String; 2],
    check: impl Fn(&std::path::Path, &str, &str),
) {
    let mut fitted = Vec::new();
    for csv in series {
        let d = setup(&csv);
        std::fs::write(d.path().join("s.toml"), scenario).unwrap();
        let o = run(
            d.path(),
            &["calibrate", "s.toml", "--to", cut, "--out", "c.toml"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(stdout.contains("out-of-sample"), "{stdout}");
        let text = std::fs::read_to_string(d.path().join("c.toml")).unwrap();
        // The written scenario is valid and backtests.
        let o = run(d.path(), &["backtest", "c.toml", "--out", "out"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        check(d.path(), &text, &stdout);
        let living: String = text
            .lines()
            .skip_while(|l| *l != "[living]")
            .take_while(|l| !l.starts_with("[simulation]"))
            .collect::<Vec<_>>()
            .join("\n");
        fitted.push((living, stdout));
    }
    assert_eq!(
        fitted[0].0, fitted[1].0,
        "the fit depends on data after the cut"
    );
    assert_ne!(
        fitted[0].1, fitted[1].1,
        "out-of-sample scores should see the change"
    );
}

/// Calibrates on the first two days; a copy of the series whose observed liquidations after
/// the cut are multiplied by 10 must give the same fitted values.
#[test]
fn calibration_reads_nothing_after_its_cut() {
    let cut_s = 1_609_632_000;
    let series = [series(cut_s, 1.0), series(cut_s, 10.0)];
    fit_ignores_data_after("2021-01-03T00:00:00Z", SCENARIO, series, |_, text, _| {
        assert!(text.starts_with("# calibrated by `cascadesim calibrate` on 2021-01-01T06:00:00Z .. 2021-01-03T00:00:00Z"), "{text}");
        assert!(text.contains("from = \"2021-01-03T00:00:00Z\""), "{text}");
    });
}

fn bootstrap_scenario(extra_asset_keys: &str) -> String {
    format!(
        r#"
[simulation]
paths = 40
steps = 120
step_seconds = 300
seed = 3

[[assets]]
name = "ETH"
price = 1000.0
volatility = 0.8
innovations = "bootstrap"
{extra_asset_keys}

[assets.bootstrap]
prices = "s.csv"
mean_block_steps = 12

[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 5.0
levels = 400
depth_usd = 2.0e6
refill_half_life_s = 60

[[populations]]
name = "perp"
asset = "ETH"
count = 2000
open_interest_usd = 5.0e7
long_share = 0.6
maintenance_margin = 0.005
size = {{ distribution = "lognormal", sigma = 1.0 }}
leverage = {{ distribution = "lognormal", median = 10, sigma = 0.5, min = 1.5, max = 50 }}
"#
    )
}

#[test]
fn bootstrap_runs_are_reproducible_and_thread_independent() {
    let d = setup(&series(i64::MAX, 1.0));
    std::fs::write(d.path().join("b.toml"), bootstrap_scenario("")).unwrap();
    let mut h5s = Vec::new();
    for threads in ["1", "2"] {
        let out = format!("r{threads}");
        let o = run(
            d.path(),
            &["run", "b.toml", "-q", "--threads", threads, "--out", &out],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        h5s.push(std::fs::read(d.path().join(&out).join("b/results.h5")).unwrap());
    }
    assert!(h5s[0] == h5s[1], "results depend on the thread count");
    // The resampled moves are the series' (within ±12% here, where a 10% crash is the
    // largest 5-minute move): the drawdown column is positive and bounded by the series'.
    let dd = h5::read_f64_column(
        &d.path().join("r1/b/results.h5"),
        "paths/exogenous_drawdown",
    )
    .unwrap();
    assert!(
        dd.iter().any(|x| *x > 0.0) && dd.iter().all(|x| *x < 0.9),
        "{dd:?}"
    );
}

#[test]
fn bad_bootstrap_inputs_are_reported_together() {
    let mut csv = series(i64::MAX, 1.0);
    csv = csv.replacen("1609459620,", "1609459620x,", 1); // line 3 of s.csv
    let d = setup(&csv);
    std::fs::write(
        d.path().join("b.toml"),
        bootstrap_scenario("jumps = { rate_per_day = 1, mean = 0, sd = 0.01 }")
            .replace("mean_block_steps = 12", "mean_block_steps = 0.5"),
    )
    .unwrap();
    let o = run(d.path(), &["validate", "b.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "assets[0].jumps: `jumps` does not apply with innovations = \"bootstrap\"",
        "assets[0].bootstrap.mean_block_steps: must be at least 1",
        "s.csv:3: time:",
    ] {
        assert!(err.contains(want), "{want} not in {err}");
    }
}

/// The second mode: the observed price as the fundamental, the simulated liquidations
/// walking a thin book on top. The population draws the same numbers as in the mark mode
/// (positions open at the moved mark, so their liquidation prices differ a little): on a
/// thin book the crash liquidates clearly more (the mark falls further than the price) and
/// the recorded mark leaves the price; a deep book gives back the mark mode's numbers.
#[test]
fn fundamental_mode_moves_a_book_on_top_of_the_price() {
    let d = setup(&series(i64::MAX, 1.0));
    let book = |depth: &str| {
        SCENARIO.replace(
            "warmup_hours = 6",
            &format!(
                "warmup_hours = 6\nmode = \"fundamental\"\nreference_price = 1000\n\n[replay.book]\nprofile = \"flat\"\nspread_bp = 1.0\nlevel_spacing_bp = 5.0\nlevels = 400\ndepth_usd = {depth}\nrefill_half_life_s = 600\n"
            ),
        )
    };
    std::fs::write(d.path().join("thin.toml"), book("2.0e5")).unwrap();
    std::fs::write(d.path().join("deep.toml"), book("1.0e15")).unwrap();
    let total = |stem: &str, side: &str| {
        let o = run(
            d.path(),
            &["backtest", &format!("{stem}.toml"), "--out", "out"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let j: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.path().join(format!("out/{stem}-backtest/backtest.json")))
                .unwrap(),
        )
        .unwrap();
        j["scores"]["model"][side]["simulated_total"]
            .as_f64()
            .unwrap()
    };
    let (mark_l, thin_l, deep_l) = (
        total("s", "long"),
        total("thin", "long"),
        total("deep", "long"),
    );
    assert!(thin_l > mark_l * 1.05, "thin {thin_l} vs mark {mark_l}");
    assert!(
        (deep_l - mark_l).abs() <= 1e-6 * mark_l,
        "deep {deep_l} vs mark {mark_l}"
    );
    let h5f = d.path().join("out/thin-backtest/backtest.h5");
    let mark = h5::read_f64_column(&h5f, "backtest/simulated_mark").unwrap();
    let price = h5::read_f64_column(&h5f, "backtest/price").unwrap();
    assert!(
        mark.iter().zip(&price).any(|(m, p)| m < &(p * 0.99)),
        "the mark never left the price"
    );
}

/// The same with `start = "stationary"` (the seeded positions read only the first price):
/// the fit still reads nothing after its cut, the key is kept in the written scenario and
/// `backtest.json` records it.
#[test]
fn stationary_calibration_reads_nothing_after_its_cut() {
    let cut_s = 1_609_632_000;
    let series = [series(cut_s, 1.0), series(cut_s, 10.0)];
    let scenario = SCENARIO.replace(
        "inflow_usd_per_hour = 2.0e6\n",
        "inflow_usd_per_hour = 2.0e6\nstart = \"stationary\"\n",
    );
    assert_ne!(scenario, SCENARIO);
    fit_ignores_data_after("2021-01-03T00:00:00Z", &scenario, series, |dir, text, _| {
        assert!(text.contains("start = \"stationary\""), "{text}");
        let json = std::fs::read_to_string(dir.join("out/c-backtest/backtest.json")).unwrap();
        assert!(json.contains("\"start\": \"stationary\""), "{json}");
    });
}

const ACTIVITY: &str = "inflow_activity = { halflife_hours = 4, elasticity = 0.8 }\n";

/// The scenario with `inflow_activity` after its inflow line.
fn activity_scenario(activity: &str) -> String {
    SCENARIO.replace(
        "inflow_usd_per_hour = 2.0e6\n",
        &format!("inflow_usd_per_hour = 2.0e6\n{activity}"),
    )
}

#[test]
fn a_bad_inflow_activity_exits_2_with_its_key_path() {
    let d = setup(&series(i64::MAX, 1.0));
    let bad = activity_scenario("inflow_activity = { halflife_hours = -4, elasticity = 9 }\n");
    std::fs::write(d.path().join("bad.toml"), bad).unwrap();
    let o = run(d.path(), &["backtest", "bad.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "bad.toml:9:38: living.inflow_activity.halflife_hours: must be in (0, 10000] hours, got -4",
        "living.inflow_activity.elasticity: must be in [0, 5], got 9",
    ] {
        assert!(err.contains(want), "{want} not in {err}");
    }
    assert!(!d.path().join("out").exists());
    let bad = activity_scenario(
        "inflow_activity = { halflife_hours = 4, elasticity = 0.8, baseline_hours = 2 }\n",
    );
    std::fs::write(d.path().join("bad.toml"), bad).unwrap();
    let o = run(d.path(), &["backtest", "bad.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let want = "bad.toml:9:76: living.inflow_activity.baseline_hours: must be at least `halflife_hours` (4), got 2";
    assert!(err.contains(want), "{want} not in {err}");
    assert!(!d.path().join("out").exists());
}

/// With `inflow_activity`, a series whose prices and observed liquidations after the cut
/// are changed gives the same fitted values (the activity and its reference read no later
/// price); the fitted elasticity and half-life are written into the inline table.
#[test]
fn calibration_with_inflow_activity_reads_no_price_after_its_cut() {
    calibration_reads_no_price_after_its_cut_with(ACTIVITY, "\"reference_hours\": 6.0");
}

/// The same with a trailing baseline: the baseline reads no later price either, and it is
/// kept (not fitted) in the written inline table.
#[test]
fn calibration_with_an_activity_baseline_reads_no_price_after_its_cut() {
    calibration_reads_no_price_after_its_cut_with(
        "inflow_activity = { halflife_hours = 4, elasticity = 0.8, baseline_hours = 12 }\n",
        "\"baseline_hours\": 12.0",
    );
}

fn calibration_reads_no_price_after_its_cut_with(activity: &str, in_json: &str) {
    let cut_s = 1_609_632_000;
    // Every price after the cut moves by ±3% alternately: far more activity.
    let changed: String = series(cut_s, 10.0)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            match f[0].parse::<i64>() {
                Ok(t) if t >= cut_s => {
                    let p: f64 = f[1].parse().unwrap();
                    let k = if i % 2 == 0 { 1.03 } else { 0.97 };
                    format!("{},{:.4},{},{}\n", f[0], p * k, f[2], f[3])
                }
                _ => format!("{l}\n"),
            }
        })
        .collect();
    let series = [series(cut_s, 1.0), changed];
    let scenario = activity_scenario(activity);
    fit_ignores_data_after(
        "2021-01-03T00:00:00Z",
        &scenario,
        series,
        |dir, text, stdout| {
            assert!(
                stdout.contains("inflow_activity.elasticity, inflow_activity.halflife_hours"),
                "{stdout}"
            );
            let line = text
                .lines()
                .find(|l| l.starts_with("inflow_activity = {"))
                .expect("the inline table is kept");
            assert_ne!(line, activity.trim_end(), "the fitted values are written");
            if activity.contains("baseline_hours = 12") {
                assert!(line.contains("baseline_hours = 12"), "{line}");
            }
            let json = std::fs::read_to_string(dir.join("out/c-backtest/backtest.json")).unwrap();
            assert!(json.contains(in_json), "{json}");
        },
    );
}

/// Runs `args` in `dir`: exit 2 with each of `wants` in stderr.
fn refused(dir: &std::path::Path, args: &[&str], wants: &[&str]) {
    let o = run(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for want in wants {
        assert!(err.contains(want), "{args:?}: {want} not in {err}");
    }
}

/// `series` with row `i` (0-based data row, at line `i + 2`) replaced by `row`.
fn with_row(i: usize, row: &str) -> String {
    let csv = series(i64::MAX, 1.0);
    let mut lines: Vec<&str> = csv.lines().collect();
    lines[i + 1] = row;
    lines.join("\n") + "\n"
}

/// Review A1 and D16: a far-off or millisecond time, a first row at time 0 and a series
/// spanning more steps than `simulation.steps` allows are refused with exit 2 and the row's
/// line before the step grid is allocated (they aborted, panicked or took gigabytes).
#[test]
fn far_off_times_and_spans_are_refused_with_their_row() {
    let last = 864; // data rows; the last is on line 865
    for (csv, want) in [
        (
            with_row(last - 1, "99999999999999999999,1000,0,0"),
            "s.csv:865: time: \"99999999999999999999\" is after 2200-01-01",
        ),
        (
            with_row(last - 1, "18446744073709551615,1000,0,0"),
            "unix times in milliseconds?",
        ),
        (
            with_row(last - 1, "9999-12-31T23:59:59Z,1000,0,0"),
            "s.csv:865: time: \"9999-12-31T23:59:59Z\" is after 2200-01-01",
        ),
        (
            with_row(0, "0,1000,0,0"),
            "s.csv:3: time: \"1609459620\" is 51.0 years after the previous row's time (line 2)",
        ),
        (
            with_row(0, "0000-01-01T00:00:00Z,1000,0,0"),
            "s.csv:2: time: \"0000-01-01T00:00:00Z\" is before 1970-01-01",
        ),
        (
            (0..120_i64)
                .map(|i| format!("{},1000,0,0\n", 1_000_000_000 + i * 300 * 86_400))
                .fold(
                    String::from("time,price,long_liquidated,short_liquidated\n"),
                    |a, r| a + &r,
                ),
            "s.csv:121: time: the series would span 97.7 years / 10281601 steps of 300 s; at most 10000000 steps (the limit of simulation.steps)",
        ),
    ] {
        let d = setup(&csv);
        for args in [
            &["validate", "s.toml"][..],
            &["backtest", "s.toml", "--out", "out"],
        ] {
            refused(d.path(), args, &[want]);
        }
        assert!(!d.path().join("out").exists());
    }
}

/// Review D16: a gap far longer than the series' spacing (but under a year) is accepted
/// with a warning naming its line.
#[test]
fn a_long_gap_is_warned_about_with_its_line() {
    let csv = with_row(863, "1614643200,1000,0,0"); // 2021-03-02, two months on
    let o = run(setup(&csv).path(), &["validate", "s.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: s.csv: line 865: 57.0 days after the previous row (line 864)"),
        "{err}"
    );
    let o = run(
        setup(&series(i64::MAX, 1.0)).path(),
        &["validate", "s.toml"],
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
}

/// Review B7, D13, D14: series prices outside the range of `assets.price`, blank and comment
/// lines after the header, and a byte that is not UTF-8 are reported together by file line.
#[test]
fn series_lines_survive_blank_lines_and_bad_bytes() {
    let csv = series(i64::MAX, 1.0);
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[5] = "1609460820,1e300,0,0".into(); // line 6 of the original
    lines[6] = "1609461120,1e-300,0,0".into(); // line 7
    lines.insert(1, String::new());
    lines.insert(2, "# a comment".into());
    lines.insert(3, String::new());
    // Original line 9 is now line 12; its price field gets a byte that is not UTF-8.
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        bytes.extend_from_slice(l.as_bytes());
        if i == 11 {
            bytes.extend_from_slice(b"\xff");
        }
        bytes.push(b'\n');
    }
    let d = setup("");
    std::fs::write(d.path().join("s.csv"), bytes).unwrap();
    refused(
        d.path(),
        &["validate", "s.toml"],
        &[
            "s.csv:9: price: \"1e300\" is not a number between 1e-12 and 1e12 USD",
            "s.csv:10: price: \"1e-300\"",
            "s.csv:12: not valid UTF-8",
        ],
    );
}

/// Review A3: `positions_per_hour` is held to the limit of positions, alone and as the
/// average number alive (`× holding_hours`); 1e12 hung the backtest.
#[test]
fn positions_per_hour_is_bounded_by_the_limit_of_positions() {
    let d = setup(&series(i64::MAX, 1.0));
    for (rate, want) in [
        (
            "1e12",
            "living.positions_per_hour: must be at most 50000000 (the limit of positions), found 1000000000000",
        ),
        (
            "1e7",
            "living.positions_per_hour: positions_per_hour × holding_hours = 120000000 positions alive on average; must be at most 50000000",
        ),
    ] {
        let bad = SCENARIO.replace(
            "positions_per_hour = 120",
            &format!("positions_per_hour = {rate}"),
        );
        std::fs::write(d.path().join("bad.toml"), bad).unwrap();
        refused(d.path(), &["validate", "bad.toml"], &[want]);
    }
}

/// Review A2: `--prices` is held to the rules of referenced files: a FIFO is refused at
/// once (it blocked forever), as is a file over 1 GiB (sparse here: no disk used).
#[test]
fn prices_must_be_a_regular_file_of_at_most_1_gib() {
    let d = setup(&series(i64::MAX, 1.0));
    common::cli::fifo_and_big_file(d.path(), "csv");
    for (file, want) in [
        (
            "fifo.csv",
            "cannot read price series fifo.csv: not a regular file",
        ),
        (
            "big.csv",
            "cannot read price series big.csv: 1073741825 bytes; files read are at most 1073741824 bytes",
        ),
    ] {
        for args in [
            &["backtest", "s.toml", "--out", "out"][..],
            &[
                "calibrate",
                "s.toml",
                "--to",
                "2021-01-02T00:00:00Z",
                "--out",
                "c.toml",
            ],
        ] {
            refused(d.path(), &[args, &["--prices", file]].concat(), &[want]);
        }
    }
    assert!(!d.path().join("out").exists() && !d.path().join("c.toml").exists());
}

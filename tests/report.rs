//! Figures, traces, `report.html` and the `report` command, through the real binary on small
//! runs of `tests/data/tiny.toml`.

use std::path::{Path, PathBuf};

use cascadesim::output::h5::{self, AttrValue};

mod common;
use common::browser;
use common::cli::{root, run, run_in, text, tiny};

/// Runs `scenario` with 200 paths into `out` and returns the results folder.
fn run_200(scenario: &str, out: &Path) -> PathBuf {
    let o = run(&[
        "run",
        scenario,
        "--paths",
        "200",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stem = Path::new(scenario).file_stem().unwrap();
    out.join(stem)
}

const FIGURES: [&str; 9] = [
    "tail_max_drawdown",
    "tail_amplification",
    "tail_liquidated_notional",
    "tail_bad_debt",
    "drawdown",
    "path_worst",
    "path_median",
    "realised_BTC",
    "convergence",
];

fn assert_valid_figures(plots: &Path) {
    for stem in FIGURES.iter().chain(&["path_random"]) {
        let png = std::fs::read(plots.join(format!("{stem}.png")))
            .unwrap_or_else(|e| panic!("{stem}.png: {e}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is a PNG");
        let svg = std::fs::read_to_string(plots.join(format!("{stem}.svg")))
            .unwrap_or_else(|e| panic!("{stem}.svg: {e}"));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}.svg is an SVG document"
        );
        assert!(svg.contains("<text"), "{stem}.svg has text (titles, axes)");
    }
}

/// HTML escaping as `report.html` applies it to the scenario text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn assert_self_contained_report(dir: &Path, scenario_text: &str) {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html exists");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(
        html.matches("<svg").count() >= FIGURES.len(),
        "every figure is inline"
    );
    assert!(
        html.contains(&escape(scenario_text)),
        "the scenario text is in the page"
    );
    assert!(html.contains("cascade probability"));
    let lower = html.to_lowercase();
    for external in ["src=", "href=", "url(", "<link", "@import", "<img"] {
        assert!(
            !lower.contains(external),
            "report.html refers to something outside itself: {external}"
        );
    }
}

#[test]
fn a_run_writes_valid_plots_and_a_self_contained_report() {
    let dir = tempfile::tempdir().unwrap();
    let res = run_200(&tiny(), dir.path());
    assert_valid_figures(&res.join("plots"));
    let toml = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    assert_self_contained_report(&res, &toml);
}

#[test]
fn report_rebuilds_summary_json_byte_for_byte_without_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let res = run_200(&tiny(), &dir.path().join("runs"));
    let original = std::fs::read(res.join("summary.json")).unwrap();
    let h5f = res.join("results.h5");
    let h5_before = std::fs::read(&h5f).unwrap();

    // Into another folder: summary.json, the figures and the page, from the file alone.
    let other = dir.path().join("rebuilt");
    let o = run(&[
        "report",
        h5f.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        o.stderr.is_empty(),
        "no warning on a fresh file: {}",
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("cascade probability"), "{stdout}");
    assert!(stdout.contains("no simulation"), "{stdout}");
    let rebuilt = std::fs::read(other.join("summary.json")).unwrap();
    assert!(rebuilt == original, "summary.json differs after `report`");
    assert_valid_figures(&other.join("plots"));
    let toml = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    assert_self_contained_report(&other, &toml);
    // The figures are redrawn identically (sample paths are replayed from their seeds).
    for stem in FIGURES {
        let a = std::fs::read(res.join("plots").join(format!("{stem}.svg"))).unwrap();
        let b = std::fs::read(other.join("plots").join(format!("{stem}.svg"))).unwrap();
        assert!(a == b, "{stem}.svg differs between run and report");
    }

    // In place (the default --out): the same bytes again, results.h5 untouched.
    let o = run(&["report", h5f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "--quiet prints nothing");
    assert!(std::fs::read(res.join("summary.json")).unwrap() == original);
    assert!(std::fs::read(&h5f).unwrap() == h5_before);

    // Not a results file: an input error.
    let o = run(&["report", tiny().as_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = run(&["report", "no/such/results.h5"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `report` run from another folder than the run's cannot read the files the scenario refers
/// to: it says so, leaves out what needs them, and says why its summary differs (it used to
/// suggest the file came from another cascadesim version).
#[test]
fn report_away_from_the_scenarios_files_says_what_it_leaves_out() {
    let d = tempfile::tempdir().unwrap();
    let (scen, away) = (d.path().join("scen"), d.path().join("away"));
    std::fs::create_dir_all(&scen).unwrap();
    std::fs::create_dir_all(&away).unwrap();
    for f in ["positions.csv", "book.csv"] {
        std::fs::copy(root().join("tests/data/rare").join(f), scen.join(f)).unwrap();
    }
    // The rare-event scenario as a plain run (`report` reads plain runs).
    let toml = std::fs::read_to_string(root().join("tests/data/rare/one_shock.toml")).unwrap();
    let plain = &toml[..toml.find("[rare_event]").unwrap()];
    std::fs::write(scen.join("one_shock.toml"), plain).unwrap();
    let o = run_in(
        &scen,
        &[
            "run",
            "one_shock.toml",
            "--paths",
            "50",
            "--quiet",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let h5 = scen.join("out/one_shock/results.h5");
    let o = run_in(&away, &["report", h5.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("the per-population figures are left out"),
        "{err}"
    );
    assert!(
        err.contains("its per-population section is left out"),
        "{err}"
    );
    assert!(!err.contains("another cascadesim version"), "{err}");
    // From the run's folder, nothing is left out and nothing differs.
    let o = run_in(&scen, &["report", "out/one_shock/results.h5"]);
    assert!(
        o.status.success() && !text(&o.stderr).contains("warning"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_realised_heatmap_holds_every_liquidated_dollar_where_it_was_filled() {
    let dir = tempfile::tempdir().unwrap();
    let res = run_200(&tiny(), dir.path());
    let f = res.join("results.h5");
    let (cells, rows, cols) = h5::read_f64_matrix(&f, "/realised_heatmap/BTC/notional").unwrap();
    // tiny.toml has 60 steps: 48 time buckets (the cap), 200 price bins.
    assert_eq!((rows, cols), (48, 200));
    let edges = h5::read_f64_column(&f, "/realised_heatmap/BTC/price_edges").unwrap();
    assert_eq!(edges.len(), 201);
    assert!(
        (edges[100] - 100_000.0).abs() < 1e-6,
        "start price at the middle edge"
    );
    let time = h5::read_f64_column(&f, "/realised_heatmap/BTC/time_edges").unwrap();
    assert_eq!((time[0], time[48]), (0.0, 60.0));
    // Every liquidated dollar is in the map, up to half a cent per recorded step.
    let liquidated: f64 = h5::read_f64_column(&f, "/paths/liquidated_notional")
        .unwrap()
        .iter()
        .sum();
    let total: f64 = cells.iter().sum();
    assert!(liquidated > 1e6, "tiny.toml liquidates: {liquidated}");
    assert!(
        (total - liquidated).abs() <= 0.005 * 200.0 * 60.0 + 1e-9 * liquidated,
        "map {total} vs paths {liquidated}"
    );
    // The shock is at step 5 (bucket 4): the crash's liquidations sit below the start price.
    let below: f64 = (0..rows)
        .flat_map(|r| (0..100).map(move |c| r * 200 + c))
        .map(|i| cells[i])
        .sum();
    assert!(
        below > 0.5 * total,
        "{below} of {total} below the start price"
    );
    // The shock's bucket (step 5 of 60 is bucket 4) holds more than any other.
    let row = |r: usize| cells[r * 200..(r + 1) * 200].iter().sum::<f64>();
    let busiest = (0..rows)
        .max_by(|&a, &b| row(a).total_cmp(&row(b)))
        .unwrap();
    assert_eq!(busiest, 4, "the shock's time bucket is the busiest");
}

/// `--paths 0` is refused (issue 25), and so is a scenario file that says `paths = 0`
/// (review B6: it replaced earlier results with an empty run and exit 0), so a zero-path
/// results folder cannot be made any more.
#[test]
fn a_run_of_zero_paths_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let toml = std::fs::read_to_string(root().join("tests/data/tiny.toml"))
        .unwrap()
        .replace("paths = 300", "paths = 0");
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, toml).unwrap();
    let o = run(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("simulation.paths: must be at least 1, found 0"));
    assert!(!dir.path().join("tiny").exists());
}

/// Largest peak-to-trough fall with the running peak starting at `start` (as documented for
/// `max_drawdown`).
fn drawdown(start: f64, prices: &[f64]) -> f64 {
    let mut peak = start;
    let mut dd: f64 = 0.0;
    for &p in prices {
        if p > peak {
            peak = p;
        } else {
            dd = dd.max(1.0 - p / peak);
        }
    }
    dd
}

#[test]
fn traces_hold_the_requested_and_the_worst_paths_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    let scenario = dir.path().join("traced.toml");
    std::fs::write(
        &scenario,
        format!(
            "{base}\n[output]\ntrace_paths = [17, 0, 17]\ntrace_worst = 3\ntrace_metric = \"liquidated_notional\"\n"
        ),
    )
    .unwrap();
    let res = run_200(scenario.to_str().unwrap(), &dir.path().join("out"));
    let h5f = res.join("results.h5");

    let liq = h5::read_f64_column(&h5f, "/paths/liquidated_notional").unwrap();
    let dd = h5::read_f64_column(&h5f, "/paths/max_drawdown").unwrap();
    let mut order: Vec<usize> = (0..liq.len()).collect();
    order.sort_by(|&a, &b| liq[b].total_cmp(&liq[a]).then(a.cmp(&b)));
    let mut expected: Vec<u64> = vec![0, 17];
    expected.extend(order[..3].iter().map(|&i| i as u64));
    expected.sort_unstable();
    expected.dedup();

    let ids = h5::read_attr_str(&h5f, "/traces", "path_ids").unwrap();
    let ids: Vec<u64> = ids.split(',').map(|s| s.parse().unwrap()).collect();
    assert_eq!(ids, expected);
    assert_eq!(
        h5::read_attr_str(&h5f, "/traces", "trace_metric").unwrap(),
        "liquidated_notional"
    );
    let steps = h5::read_attr_u64(&h5f, "/", "steps").unwrap() as usize;
    assert_eq!(steps, 60);
    for id in &ids {
        let g = format!("/traces/{id}/BTC");
        let mut names = h5::list_datasets(&h5f, &g).unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "depth_multiplier",
                "fundamental_price",
                "insurance_fund",
                "liquidated_notional",
                "liquidated_quantity",
                "mark_price",
                "step"
            ]
        );
        for n in &names {
            let v = h5::read_f64_column(&h5f, &format!("{g}/{n}")).unwrap();
            assert_eq!(v.len(), steps, "{g}/{n} has one value per step");
            assert!(v.iter().all(|x| x.is_finite()), "{g}/{n}");
            assert!(
                !h5::read_attr_str(&h5f, &format!("{g}/{n}"), "unit")
                    .unwrap()
                    .is_empty()
            );
        }
        let mark = h5::read_f64_column(&h5f, &format!("{g}/mark_price")).unwrap();
        let start = match h5::read_attr(&h5f, &g, "start_price").unwrap() {
            AttrValue::F64(x) => x,
            other => panic!("start_price: {other:?}"),
        };
        assert_eq!(
            drawdown(start, &mark),
            dd[*id as usize],
            "path {id}: drawdown of the traced mark series vs /paths/max_drawdown"
        );
        let step_liq = h5::read_f64_column(&h5f, &format!("{g}/liquidated_notional")).unwrap();
        let total: f64 = step_liq.iter().sum();
        let rel = (total - liq[*id as usize]).abs() / liq[*id as usize].max(1.0);
        assert!(rel < 1e-9, "path {id}: {total} vs {}", liq[*id as usize]);
        // The fund ends where its start (tiny.toml: $1M) plus fees minus draws puts it.
        let fund = h5::read_f64_column(&h5f, &format!("{g}/insurance_fund")).unwrap();
        let fees = h5::read_f64_column(&h5f, "/paths/fees").unwrap()[*id as usize];
        let draw = h5::read_f64_column(&h5f, "/paths/insurance_fund_draw").unwrap()[*id as usize];
        let end = fund[steps - 1];
        assert!(
            (end - (1.0e6 + fees - draw)).abs() < 1e-6 * (1.0e6 + fees),
            "path {id}: fund ends at {end}, start + fees - draws = {}",
            1.0e6 + fees - draw
        );
        assert!(
            fund.iter().all(|&x| x >= 0.0),
            "path {id}: the fund never goes negative"
        );
        let why = h5::read_attr_str(&h5f, &format!("/traces/{id}"), "selected_by").unwrap();
        if *id == 0 || *id == 17 {
            assert!(why.contains("trace_paths"), "{why}");
        }
        if order[..3].contains(&(*id as usize)) {
            assert!(why.contains("worst"), "{why}");
        }
    }
    // The page lists the traces.
    let html = std::fs::read_to_string(res.join("report.html")).unwrap();
    assert!(html.contains("/traces/17"));

    // Path ids beyond the run are skipped with a warning, not an error.
    std::fs::write(
        &scenario,
        format!("{base}\n[output]\ntrace_paths = [5000]\n"),
    )
    .unwrap();
    let o = run(&[
        "run",
        scenario.to_str().unwrap(),
        "--paths",
        "50",
        "--quiet",
        "--out",
        dir.path().join("out2").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("path 5000 is not in this run"));
}

#[test]
fn the_output_table_is_validated_with_key_paths_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("tests/data/tiny.toml")).unwrap();
    let lines = base.lines().count();
    let scenario = dir.path().join("bad_output.toml");
    std::fs::write(
        &scenario,
        format!(
            "{base}\n[output]\ntrace_paths = [1, 2.5, -3]\ntrace_worst = 2\ntrace_metric = \"max_drawdwn\"\ntrace_best = 1\n"
        ),
    )
    .unwrap();
    let o = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    for expected in [
        format!(
            "bad_output.toml:{}:15: output.trace_paths[1]: must be a path id",
            lines + 3
        ),
        "output.trace_paths[2]: must be a path id".to_string(),
        format!(
            "bad_output.toml:{}:16: output.trace_metric: unknown per-path metric \"max_drawdwn\" (did you mean \"max_drawdown\"?)",
            lines + 5
        ),
        format!(
            "bad_output.toml:{}:1: output.trace_best: unknown key",
            lines + 6
        ),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }

    // trace_metric without trace_worst does not apply.
    std::fs::write(
        &scenario,
        format!("{base}\n[output]\ntrace_metric = \"bad_debt\"\n"),
    )
    .unwrap();
    let o = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("output.trace_metric: key `trace_metric` does not apply here"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_python_snippet_in_the_docs_is_the_one_ci_runs() {
    let docs = std::fs::read_to_string(root().join("docs/output.md")).unwrap();
    let snippet = std::fs::read_to_string(root().join("tests/load_results.py")).unwrap();
    let block = format!("```python\n{snippet}```");
    assert!(
        docs.contains(&block),
        "docs/output.md must contain tests/load_results.py verbatim in a ```python block"
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("tests/load_results.py"),
        ".ci/run runs the snippet"
    );
}

/// Issue 25: with no bad debt there is no full-size empty `tail_bad_debt` figure (it was a
/// blank plot with red text); the page says so in one neutral line instead.
#[test]
fn no_bad_debt_gives_a_note_not_an_empty_figure() {
    let dir = tempfile::tempdir().unwrap();
    let toml = std::fs::read_to_string(root().join("tests/data/tiny.toml"))
        .unwrap()
        .replace("insurance_fund_usd = 1.0e6", "insurance_fund_usd = 1.0e12");
    let scenario = dir.path().join("rich_fund.toml");
    std::fs::write(&scenario, toml).unwrap();
    let res = run_200(scenario.to_str().unwrap(), dir.path());
    let summary = std::fs::read_to_string(res.join("summary.json")).unwrap();
    assert!(summary.contains("\"bad_debt_share\": 0.0"), "no bad debt");
    assert!(!res.join("plots/tail_bad_debt.png").exists());
    assert!(!res.join("plots/tail_bad_debt.svg").exists());
    assert!(res.join("plots/tail_max_drawdown.png").exists());
    let html = std::fs::read_to_string(res.join("report.html")).unwrap();
    assert!(
        html.contains(
            "<p class=\"meta\">bad_debt: 0 on all 200 paths, so there is no tail to plot.</p>"
        ),
        "the neutral note is in the figure list"
    );
}

#[test]
fn pages_fit_1280_pixels_in_chromium() {
    let Some(chromium) = browser::chromium() else {
        eprintln!("SKIPPED: no chromium (apt-get install chromium); CI installs it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The probe finds what it looks for: a table wider than the window, in a scroll box.
    let wide = dir.path().join("wide.html");
    let cells = "<td>123456789012</td>".repeat(40);
    std::fs::write(
        &wide,
        format!("<!DOCTYPE html><html><body><div style=\"overflow-x:auto\"><table><tr>{cells}</tr></table></div></body></html>"),
    )
    .unwrap();
    let (_, over) = browser::overflowing(&chromium, &wide, 1280, 800);
    assert!(
        over.iter().any(|l| l.contains("scrolls sideways")),
        "{over:?}"
    );
    // The report of a run with failures (book exhaustion), traces and every figure.
    let res = run_200(&tiny(), dir.path());
    browser::assert_fits_1280(&res.join("report.html"));
}

/// `report` and `tails` read a saved run one column at a time (`output::saved::SavedRun`):
/// every column it serves — paths, populations, per-asset columns and the by-trigger
/// matrix of a cross-margin run — is the one the readers that hold a whole file give.
#[test]
fn a_saved_run_serves_the_columns_the_held_readers_read() {
    use cascadesim::metrics::{ColumnSource, Held};
    use cascadesim::output::{read, saved::SavedRun};
    let d = tempfile::tempdir().unwrap();
    let scenario = root().join("scenarios/cross_margin_contagion.toml");
    let res = run_200(scenario.to_str().unwrap(), d.path());
    let f = res.join("results.h5");
    let p = read::read_provenance(&f).unwrap();
    let s = cascadesim::run::rebuild::rebuild_scenario(&p, false, "test").unwrap();
    let ids = cascadesim::run::plan::population_ids(&s);
    let venues: Vec<bool> = s.assets.iter().map(|a| a.venues.is_some()).collect();
    assert!(s.cross_margin.is_some() && !ids.is_empty() && p.assets.len() > 1);

    let saved = SavedRun::open(&f, p.paths, &p.assets, Some(&ids), Some(&venues)).unwrap();
    saved.check().unwrap();
    let (paths, assets, populations) = (
        read::read_path_columns(&f, p.paths).unwrap(),
        read::read_asset_columns(&f, &p.assets, &venues, true, p.paths).unwrap(),
        read::read_population_columns(&f, &ids, p.paths).unwrap(),
    );
    let held = Held {
        paths: &paths,
        assets: &assets,
        populations: &populations,
    };
    let same = |what: &str, x: Option<std::borrow::Cow<'_, cascadesim::metrics::Column>>, y| {
        let (x, y): (_, Option<std::borrow::Cow<'_, cascadesim::metrics::Column>>) = (x, y);
        let (x, y) = (x.expect(what), y.expect(what));
        assert!(
            x.values == y.values && (x.name, x.unit) == (y.name, y.unit),
            "{what}"
        );
    };
    assert_eq!(saved.path_headers(), held.path_headers());
    for h in held.path_headers() {
        same(h.name, saved.path(h.name), held.path(h.name));
    }
    assert_eq!(saved.asset_names(), held.asset_names());
    for (a, asset) in assets.iter().enumerate() {
        assert!(!asset.columns.is_empty());
        for c in &asset.columns {
            same(c.name, saved.asset(a, c.name), held.asset(a, c.name));
        }
        assert_eq!(
            saved.by_trigger(a),
            held.by_trigger(a),
            "by_trigger of asset {a}"
        );
        assert!(saved.by_trigger(a).is_some());
    }
    assert_eq!(saved.population_ids(), held.population_ids());
    for k in 0..ids.len() {
        assert_eq!(saved.population_names(k), held.population_names(k));
        for name in held.population_names(k) {
            same(name, saved.population(k, name), held.population(k, name));
        }
    }
    assert!(saved.path("no_such_metric").is_none());
    saved.finish().unwrap();
}

/// A file that changes after `report` checked it (rewritten with a NaN in one column, as
/// another run swapping its folder in would replace it): no column is read from it any
/// more, and `finish` says so, so `report` puts nothing in place.
#[test]
fn a_saved_run_changed_after_its_check_is_refused_by_finish() {
    use cascadesim::metrics::ColumnSource;
    use cascadesim::output::h5::{Stored, edit};
    use cascadesim::output::{read, saved::SavedRun};
    let d = tempfile::tempdir().unwrap();
    let res = run_200(&tiny(), d.path());
    let f = res.join("results.h5");
    let p = read::read_provenance(&f).unwrap();
    let saved = SavedRun::open_checked(&f, &p).unwrap();
    assert!(saved.path("max_drawdown").is_some());
    saved.finish().unwrap();
    edit::rewrite(&f, |m| {
        let ds = m
            .datasets
            .iter_mut()
            .find(|d| d.path == "paths/max_drawdown")
            .expect("the run's max_drawdown");
        if let Stored::F64(v) = &mut ds.values {
            v[3] = f64::NAN;
        }
    })
    .unwrap();
    assert!(saved.path("max_drawdown").is_none());
    assert!(
        saved.path("bad_debt").is_none(),
        "nothing read from another file"
    );
    let e = saved.finish().unwrap_err().to_string();
    assert_eq!(
        e.matches("replaced or changed while it was being read")
            .count(),
        1,
        "said once: {e}"
    );
}

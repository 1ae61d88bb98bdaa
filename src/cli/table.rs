//! The terminal summary: a table that fits 80 columns. Labels that do not fit their column
//! go on a line of their own; long lines flow onto continuation lines indented under the
//! values.

use std::fmt::Write;
use std::path::Path;

use cascadesim::output::engine_figures::{self, FIGURES};
use cascadesim::output::format::human;
use cascadesim::output::format::thousands;
use cascadesim::output::html::failure_lines;
use cascadesim::output::style::wrap;
use cascadesim::summary::Summary;
use cascadesim::tails::{Endpoint, ProfileInterval, TailReport};

/// Wall-clock figures shown after a run (never written to result files: they would make
/// files differ between otherwise identical runs).
pub struct Timing {
    /// Processes that simulated (MPI ranks; 1 for a plain run).
    pub ranks: u64,
    /// Worker threads per process.
    pub threads: usize,
    pub seed_seconds: f64,
    pub sim_seconds: f64,
    pub total_seconds: f64,
}

/// Renders the summary table, then the run's speed and its folder.
pub fn render(s: &Summary, tails: &[(&str, TailReport)], t: &Timing, dir: &Path) -> String {
    let mut o = render_summary(s, tails);
    let rate = if t.sim_seconds > 0.0 {
        s.provenance.paths as f64 / t.sim_seconds
    } else {
        0.0
    };
    let ranks = if t.ranks > 1 {
        format!("{} MPI ranks × ", t.ranks)
    } else {
        String::new()
    };
    let speed = format!(
        "{} paths/s on {ranks}{} thread{}",
        thousands(rate.round() as u64),
        t.threads,
        if t.threads == 1 { "" } else { "s" },
    );
    let times = format!(
        "(population {:.2}s, simulation {:.2}s, total {:.2}s)",
        t.seed_seconds, t.sim_seconds, t.total_seconds
    );
    flow(&mut o, None, &[speed, times], " ");
    let _ = writeln!(o, "results: {}", dir.display());
    o
}

/// The failure lines ([`failure_lines`]): `WARNING` lines for failure figures that are not
/// zero, or one quiet line when nothing failed.
pub fn render_failures(s: &Summary) -> String {
    let mut o = String::new();
    let lines = failure_lines(s);
    if lines.is_empty() {
        let none = "none: no book ran out, no fund ran dry, no bad debt";
        flow(&mut o, Some("failures"), &[none.to_string()], " ");
    }
    for (population, line) in lines {
        for (i, part) in wrap(&line, WIDTH - 8).iter().enumerate() {
            let lead = if population || i > 0 { "" } else { "WARNING" };
            let _ = writeln!(o, "{lead:<8}{part}");
        }
    }
    o
}

/// The width every line of the run summary fits.
const WIDTH: usize = 80;
/// The label column of the headline lines ("cascade probability  ").
const LABEL: usize = 21;

/// Writes `parts` joined by `sep` after `label` (padded to [`LABEL`] columns; `None` for no
/// label column at all), starting a continuation line, indented like the first, wherever
/// the next part would pass [`WIDTH`]. A part longer than a whole line is wrapped at spaces.
fn flow(o: &mut String, label: Option<&str>, parts: &[String], sep: &str) {
    let indent = if label.is_some() { LABEL } else { 0 };
    let mut line = match label {
        Some(l) => format!("{l:<LABEL$}"),
        None => String::new(),
    };
    let mut empty = true;
    for part in parts {
        let room = WIDTH - indent;
        let pieces = if part.chars().count() > room {
            wrap(part, room)
        } else {
            vec![part.clone()]
        };
        for piece in pieces {
            let joined = line.chars().count() + sep.chars().count() + piece.chars().count();
            if !empty && joined > WIDTH {
                let _ = writeln!(o, "{}", line.trim_end());
                line = " ".repeat(indent);
                empty = true;
            }
            if !empty {
                line.push_str(sep);
            }
            line.push_str(&piece);
            empty = false;
        }
    }
    let _ = writeln!(o, "{}", line.trim_end());
}

/// Renders the summary table: provenance, cascade probability, metrics and tail fits,
/// followed by a blank line. Every line fits [`WIDTH`] columns (a `results:` path aside).
pub fn render_summary(s: &Summary, tails: &[(&str, TailReport)]) -> String {
    let mut o = String::new();
    let p = &s.provenance;
    flow(
        &mut o,
        None,
        &[
            format!("cascadesim {}", p.cascadesim_version),
            p.scenario_file.clone(),
            format!("{} paths", thousands(p.paths)),
            format!("seed {}", p.seed),
        ],
        " · ",
    );
    render_headline(&mut o, s);
    o.push_str(&render_failures(s));
    o.push_str(&render_metrics(s));
    o.push_str(&render_engines(s));
    o.push_str(&render_cross_margin(s));
    o.push_str(&render_tail_lines(s, tails));
    let _ = writeln!(o);
    o
}

/// The cascade probability, its interval(s), the noise split and the precision note.
fn render_headline(o: &mut String, s: &Summary) {
    let p = &s.provenance;
    let cp = &s.cascade_probability;
    let count = |n: u64, of: u64, what: &str| {
        format!(
            "{} cascade{} in {} {what}",
            thousands(n),
            if n == 1 { "" } else { "s" },
            thousands(of)
        )
    };
    match (&s.cascade_probability_exact, &s.rare_event) {
        (Some(ex), _) => {
            let method = match &s.cascade_probability_noise {
                Some(_) => "",
                None => " (Wilson)",
            };
            flow(
                o,
                Some("cascade probability"),
                &[
                    format!("{:.4}", cp.estimate),
                    format!("95% CI [{:.4}, {:.4}]{method}", cp.ci_low, cp.ci_high),
                    count(s.cascades, p.paths, "paths"),
                ],
                "  ",
            );
            match &s.cascade_probability_noise {
                Some(nz) => {
                    let w = &s.cascade_probability_path_only;
                    let over = format!(
                        "over paths and {} population replicates (Korn-Graubard)",
                        nz.components.replicates
                    );
                    flow(o, Some(""), &[over], " ");
                    let wilson = format!(
                        "path-only 95% CI [{:.4}, {:.4}] (Wilson),",
                        w.ci_low, w.ci_high
                    );
                    let exact = format!("[{:.4}, {:.4}] (Clopper-Pearson)", ex.ci_low, ex.ci_high);
                    flow(o, Some(""), &[wilson, exact], " ");
                }
                None => {
                    let exact = format!(
                        "95% CI [{:.4}, {:.4}] (Clopper-Pearson, exact)",
                        ex.ci_low, ex.ci_high
                    );
                    flow(o, Some(""), &[exact], " ");
                }
            }
        }
        (None, r) => {
            flow(
                o,
                Some("cascade probability"),
                &[
                    format!("{:.4e}", cp.estimate),
                    format!(
                        "95% CI [{:.4e}, {:.4e}] (normal, weighted)",
                        cp.ci_low, cp.ci_high
                    ),
                    count(s.cascades, cp.trials, "sampled paths"),
                ],
                "  ",
            );
            if let Some(r) = r {
                let mut parts = vec![
                    format!(
                        "estimator {} ({})",
                        r.info.estimator,
                        if r.reliable {
                            "reliable"
                        } else {
                            "NOT reliable"
                        }
                    ),
                    format!("effective sample size {:.0}", r.effective_sample_size),
                    format!("cost {:.0} path-equivalents", r.info.path_equivalents),
                ];
                if let Some(v) = r.variance_reduction {
                    parts.push(format!("variance reduction ×{v:.3}"));
                }
                flow(o, Some(""), &parts, " · ");
            }
        }
    }
    if let Some(nz) = &s.cascade_probability_noise {
        let c = &nz.components;
        let se = format!(
            "standard error {:.4}: paths {:.4}, populations {:.4}",
            c.total_se, c.path_noise_se, c.population_noise_se
        );
        flow(o, Some(""), &[se], " ");
        flow(o, Some(""), std::slice::from_ref(&nz.note), " ");
    }
    flow(o, Some(""), std::slice::from_ref(&s.precision.note), " ");
}

/// The per-path metrics: mean, median, p99, p99.9, ES 99% and max. The value columns are as
/// wide as their widest entry; the name column takes what is left of [`WIDTH`], and a name
/// longer than that stands on a line of its own above its values.
fn render_metrics(s: &Summary) -> String {
    let mut o = String::new();
    if s.metrics.is_empty() {
        return o;
    }
    const HEAD: [&str; 6] = ["mean", "p50", "p99", "p99.9", "ES 99%", "max"];
    let rows: Vec<(&str, Vec<String>)> = s
        .metrics
        .iter()
        .map(|(name, m)| {
            let q = |p: f64| {
                m.quantiles
                    .iter()
                    .find(|x| x.p == p)
                    .map_or(f64::NAN, |x| x.value)
            };
            let es =
                m.es.iter()
                    .find(|x| x.p == 0.99)
                    .map_or(f64::NAN, |x| x.value);
            let values = [m.mean, q(0.5), q(0.99), q(0.999), es, m.max];
            (&**name, values.iter().map(|&v| human(v, m.unit)).collect())
        })
        .collect();
    let widest = rows
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.chars().count()))
        .chain(HEAD.iter().map(|h| h.len()))
        .max()
        .unwrap_or(0);
    let col = widest + 1;
    let name_w = WIDTH.saturating_sub(HEAD.len() * col).max(12);
    let cells = |values: &[String]| {
        values
            .iter()
            .map(|v| format!("{v:>col$}"))
            .collect::<String>()
    };
    let _ = writeln!(o);
    let head: Vec<String> = HEAD.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(o, "{:<name_w$}{}", "metric", cells(&head));
    for (name, values) in &rows {
        if name.chars().count() >= name_w {
            let _ = writeln!(o, "{name}");
            let _ = writeln!(o, "{:<name_w$}{}", "", cells(values));
        } else {
            let _ = writeln!(o, "{name:<name_w$}{}", cells(values));
        }
    }
    o
}

/// The liquidation engine's figures of each population that has one (`engine_figures`), one
/// flowing line per population: the figures that are not zero, then the names of those that
/// are. Nothing for a run without an engine.
fn render_engines(s: &Summary) -> String {
    let mut o = String::new();
    let engines = engine_figures::rows(s);
    if engines.is_empty() {
        return o;
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "liquidation engine (means over paths; longest: over all paths)"
    );
    for (name, e) in engines {
        let (mut parts, mut zero) = (Vec::new(), Vec::new());
        for f in FIGURES {
            match f.value(e) {
                Some(x) if x != 0.0 => {
                    let unit = match f.unit {
                        "positions" | "steps" if x == 1.0 => {
                            format!(" {}", &f.unit[..f.unit.len() - 1])
                        }
                        "positions" | "steps" => format!(" {}", f.unit),
                        _ => String::new(),
                    };
                    parts.push(format!("{} {}{unit}", f.short, f.show(e)));
                }
                _ => zero.push(f.short),
            }
        }
        if !zero.is_empty() {
            parts.push(format!("zero: {}", zero.join(", ")));
        }
        let label = if name.chars().count() < LABEL {
            name
        } else {
            let _ = writeln!(o, "{name}");
            ""
        };
        flow(&mut o, Some(label), &parts, " · ");
    }
    o
}

/// The cross-margin accounts' figures per asset (`output::cross_margin`), one flowing line
/// per asset. Nothing for a run without `[cross_margin]`.
fn render_cross_margin(s: &Summary) -> String {
    let mut o = String::new();
    let rows = cascadesim::output::cross_margin::lines(s);
    if rows.is_empty() {
        return o;
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "cross-margin accounts (means over paths)");
    for (asset, parts) in rows {
        flow(&mut o, Some(&asset), &parts, " · ");
    }
    o
}

/// A row of a fixed-column section: `name` in the first `name_w` columns (on a line of its
/// own when it does not fit), then the right-aligned cells with their widths.
fn row(o: &mut String, name: &str, name_w: usize, cells: &[(&str, usize)]) {
    let body: String = cells.iter().map(|(c, w)| format!("{c:>w$}")).collect();
    if name.chars().count() >= name_w {
        let _ = writeln!(o, "{name}");
        let _ = writeln!(o, "{:name_w$}{body}", "");
    } else {
        let _ = writeln!(o, "{name:<name_w$}{body}");
    }
}

fn endpoint(e: &Endpoint, unit: &str) -> String {
    match e.value() {
        Some(v) => human(v, unit),
        None => "∞".into(),
    }
}

fn interval(p: &ProfileInterval, unit: &str) -> String {
    format!(
        "[{}, {}]",
        endpoint(&p.lower, unit),
        endpoint(&p.upper, unit)
    )
}

/// "1 in N" with thousands separators.
fn one_in(period: f64) -> String {
    format!("1 in {}", thousands(period.round() as u64))
}

/// The tail analysis of one metric, for people: threshold, fit, return levels, tail VaR/ES.
pub fn render_tail(name: &str, unit: &str, r: &TailReport) -> String {
    let mut o = String::new();
    let (Some(t), Some(fit)) = (r.threshold.value(), r.ml_fit.value()) else {
        let reason = r
            .threshold
            .reason()
            .or_else(|| r.ml_fit.reason())
            .unwrap_or("no fit");
        let _ = writeln!(o, "{name}: no tail fit: {reason}");
        return o;
    };
    let _ = writeln!(
        o,
        "{name}: GPD above {} ({}; {} of {} values)",
        human(t.threshold, unit),
        t.description,
        t.n_exceedances,
        t.n_total
    );
    let se = fit
        .covariance
        .value()
        .map_or(String::new(), |c| format!(" (se {:.3})", c.se_xi));
    let ci = r.xi_profile_interval.value().map_or(String::new(), |p| {
        format!(", 95% profile CI {}", interval(p, "1"))
    });
    let pwm = r
        .pwm_fit
        .value()
        .map_or(String::new(), |p| format!("; PWM xi = {:.3}", p.xi));
    let _ = writeln!(o, "  xi = {:.3}{se}{ci}{pwm}", fit.xi);
    for e in &r.return_levels {
        match e.result.value() {
            Some(rl) => {
                let _ = writeln!(
                    o,
                    "  {:<22} {:>11}  95% CI {}",
                    format!("{} paths:", one_in(e.period)),
                    human(rl.level, unit),
                    interval(&rl.profile_interval, unit)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "  {:<22} unavailable: {}",
                    format!("{} paths:", one_in(e.period)),
                    e.result.reason().unwrap_or("")
                );
            }
        }
    }
    for e in &r.tail_risk {
        if let Some(tr) = e.result.value() {
            let es = match tr.es.value() {
                Some(es) => human(es.estimate, unit),
                None => format!("unavailable ({})", tr.es.reason().unwrap_or("")),
            };
            let _ = writeln!(
                o,
                "  tail VaR {:>6}: {:>11}   ES: {es}",
                format!("{}%", e.p * 100.0),
                human(tr.var.estimate, unit)
            );
        }
    }
    o
}

/// One line per tail metric for the run summary.
pub fn render_tail_lines(s: &Summary, reports: &[(&str, TailReport)]) -> String {
    let mut o = String::new();
    if reports.is_empty() || s.provenance.paths == 0 {
        return o;
    }
    let _ = writeln!(o);
    // 20 + 21 + 19 + 20 = WIDTH.
    const W: [usize; 3] = [21, 19, 20];
    let name_w = WIDTH - W.iter().sum::<usize>();
    let head = ["xi [95% CI]", "1 in 10,000 paths", "1 in 100,000 paths"];
    row(
        &mut o,
        "tail (GPD fit)",
        name_w,
        &[(head[0], W[0]), (head[1], W[1]), (head[2], W[2])],
    );
    for (name, r) in reports {
        let unit = s.metrics.get(name).map_or("", |m| m.unit);
        let Some(fit) = r.ml_fit.value() else {
            let reason = r.ml_fit.reason().unwrap_or("no fit");
            // The whole reason, wrapped at word boundaries to fit WIDTH columns.
            if name.chars().count() >= name_w {
                let _ = writeln!(o, "{name}");
            }
            for (i, line) in wrap(reason, WIDTH - name_w).iter().enumerate() {
                let label = if i == 0 && name.chars().count() < name_w {
                    *name
                } else {
                    ""
                };
                let _ = writeln!(o, "{label:<name_w$}{line}");
            }
            continue;
        };
        let xi = match r.xi_profile_interval.value() {
            Some(p) => format!("{:.2} [{}, {}]", fit.xi, fmt_xi(&p.lower), fmt_xi(&p.upper)),
            None => format!("{:.2}", fit.xi),
        };
        let level = |period: f64| {
            r.return_levels
                .iter()
                .find(|e| e.period == period)
                .and_then(|e| e.result.value())
                .map_or("-".into(), |rl| human(rl.level, unit))
        };
        let (l4, l5) = (level(1e4), level(1e5));
        row(
            &mut o,
            name,
            name_w,
            &[(&xi, W[0]), (&l4, W[1]), (&l5, W[2])],
        );
    }
    o.push_str(&render_population_var(s));
    o
}

/// The 99% VaR of each tail metric with its interval over paths and population replicates,
/// and the two parts of its standard error (runs with replicates only).
fn render_population_var(s: &Summary) -> String {
    let mut o = String::new();
    if s.var_es_with_population.is_empty() {
        return o;
    }
    let _ = writeln!(o);
    // 20 + 34 + 26 = WIDTH.
    const W: [usize; 2] = [34, 26];
    let name_w = WIDTH - W.iter().sum::<usize>();
    row(
        &mut o,
        "VaR 99% (empirical)",
        name_w,
        &[
            ("95% CI, paths + populations", W[0]),
            ("se: path / population", W[1]),
        ],
    );
    for (name, v) in &s.var_es_with_population {
        let unit = s.metrics.get(name).map_or("", |m| m.unit);
        let Some(e) = v.iter().find(|e| e.p == 0.99) else {
            continue;
        };
        let ci = format!(
            "{} [{}, {}]",
            human(e.var, unit),
            human(e.var_lower, unit),
            human(e.var_upper, unit)
        );
        let se = format!(
            "{} / {}",
            human(e.var_path_noise_se, unit),
            human(e.var_population_noise_se, unit)
        );
        row(&mut o, name, name_w, &[(&ci, W[0]), (&se, W[1])]);
    }
    o
}

fn fmt_xi(e: &Endpoint) -> String {
    e.value().map_or("∞".into(), |v| format!("{v:.2}"))
}

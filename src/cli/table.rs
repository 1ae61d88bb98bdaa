//! The terminal summary: a fixed-width table that fits 100 columns.

use std::fmt::Write;
use std::path::Path;

use cascadesim::output::figures::wrap;
pub use cascadesim::output::format::human;
use cascadesim::output::format::thousands;
use cascadesim::output::html::failure_lines;
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
    let _ = writeln!(
        o,
        "{} paths/s on {ranks}{} thread{} (population {:.2}s, simulation {:.2}s, total {:.2}s)",
        thousands(rate.round() as u64),
        t.threads,
        if t.threads == 1 { "" } else { "s" },
        t.seed_seconds,
        t.sim_seconds,
        t.total_seconds
    );
    let _ = writeln!(o, "results: {}", dir.display());
    o
}

/// The failure lines ([`failure_lines`]): `WARNING` lines for failure figures that are not
/// zero, or one quiet line when nothing failed.
pub fn render_failures(s: &Summary) -> String {
    let mut o = String::new();
    let lines = failure_lines(s);
    if lines.is_empty() {
        let _ = writeln!(
            o,
            "failures             none: no book ran out, no insurance fund ran dry, no bad debt"
        );
    }
    for (population, line) in lines {
        let _ = writeln!(
            o,
            "{}{line}",
            if population { "        " } else { "WARNING " }
        );
    }
    o
}

/// Renders the summary table: provenance, cascade probability, metrics and tail fits,
/// followed by a blank line.
pub fn render_summary(s: &Summary, tails: &[(&str, TailReport)]) -> String {
    let mut o = String::new();
    let p = &s.provenance;
    let cp = &s.cascade_probability;
    let _ = writeln!(
        o,
        "cascadesim {} · {} · {} paths · seed {}",
        p.cascadesim_version,
        p.scenario_file,
        thousands(p.paths),
        p.seed
    );
    match (&s.cascade_probability_exact, &s.rare_event) {
        (Some(ex), _) => {
            let method = match &s.cascade_probability_noise {
                Some(_) => "",
                None => " (Wilson)",
            };
            let _ = writeln!(
                o,
                "cascade probability  {:.4}  95% CI [{:.4}, {:.4}]{method}  {} cascade{} in {} paths",
                cp.estimate,
                cp.ci_low,
                cp.ci_high,
                thousands(s.cascades),
                if s.cascades == 1 { "" } else { "s" },
                thousands(p.paths)
            );
            match &s.cascade_probability_noise {
                Some(nz) => {
                    let w = &s.cascade_probability_path_only;
                    let _ = writeln!(
                        o,
                        "{:21}over paths and {} population replicates (Korn-Graubard)",
                        "", nz.components.replicates
                    );
                    let _ = writeln!(
                        o,
                        "{:21}path-only 95% CI [{:.4}, {:.4}] (Wilson), [{:.4}, {:.4}] (Clopper-Pearson)",
                        "", w.ci_low, w.ci_high, ex.ci_low, ex.ci_high
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "{:21}95% CI [{:.4}, {:.4}] (Clopper-Pearson, exact)",
                        "", ex.ci_low, ex.ci_high
                    );
                }
            }
        }
        (None, r) => {
            let _ = writeln!(
                o,
                "cascade probability  {:.4e}  95% CI [{:.4e}, {:.4e}] (normal, weighted)  {} cascade{} in {} sampled paths",
                cp.estimate,
                cp.ci_low,
                cp.ci_high,
                thousands(s.cascades),
                if s.cascades == 1 { "" } else { "s" },
                thousands(cp.trials)
            );
            if let Some(r) = r {
                let _ = writeln!(
                    o,
                    "{:21}estimator {} ({}) · effective sample size {:.0} · cost {:.0} path-equivalents{}",
                    "",
                    r.info.estimator,
                    if r.reliable {
                        "reliable"
                    } else {
                        "NOT reliable"
                    },
                    r.effective_sample_size,
                    r.info.path_equivalents,
                    r.variance_reduction
                        .map_or(String::new(), |v| format!(" · variance reduction ×{v:.3}"))
                );
            }
        }
    }
    if let Some(nz) = &s.cascade_probability_noise {
        let c = &nz.components;
        let _ = writeln!(
            o,
            "{:21}standard error {:.4}: path noise {:.4}, population noise {:.4}",
            "", c.total_se, c.path_noise_se, c.population_noise_se
        );
        for line in wrap(&nz.note, 100 - 21) {
            let _ = writeln!(o, "{:21}{line}", "");
        }
    }
    for line in wrap(&s.precision.note, 100 - 21) {
        let _ = writeln!(o, "{:21}{line}", "");
    }
    o.push_str(&render_failures(s));
    if !s.metrics.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<30}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
            "metric", "mean", "p50", "p99", "p99.9", "ES 99%", "max"
        );
        for (name, m) in &s.metrics {
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
            let _ = writeln!(
                o,
                "{:<30}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
                name,
                human(m.mean, m.unit),
                human(q(0.5), m.unit),
                human(q(0.99), m.unit),
                human(q(0.999), m.unit),
                human(es, m.unit),
                human(m.max, m.unit)
            );
        }
    }
    o.push_str(&render_tail_lines(s, tails));
    let _ = writeln!(o);
    o
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
    let _ = writeln!(
        o,
        "{:<30}{:>22}{:>24}{:>24}",
        "tail (GPD fit)", "xi [95% CI]", "1 in 10,000 paths", "1 in 100,000 paths"
    );
    for (name, r) in reports {
        let unit = s.metrics.get(name).map_or("", |m| m.unit);
        let Some(fit) = r.ml_fit.value() else {
            let reason = r.ml_fit.reason().unwrap_or("no fit");
            // The whole reason, wrapped at word boundaries to fit 100 columns.
            for (i, line) in wrap(reason, 100 - 30).iter().enumerate() {
                let label = if i == 0 { *name } else { "" };
                let _ = writeln!(o, "{label:<30}{line}");
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
        let _ = writeln!(o, "{name:<30}{xi:>22}{:>24}{:>24}", level(1e4), level(1e5));
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
    let _ = writeln!(
        o,
        "{:<30}{:>40}{:>30}",
        "VaR 99% (empirical)", "95% CI, paths + populations", "se: path / population"
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
        let _ = writeln!(o, "{name:<30}{ci:>40}{se:>30}");
    }
    o
}

fn fmt_xi(e: &Endpoint) -> String {
    e.value().map_or("∞".into(), |v| format!("{v:.2}"))
}

//! The terminal summary: a fixed-width table that fits 100 columns.

use std::fmt::Write;
use std::path::Path;

use cascadesim::summary::Summary;

/// Wall-clock figures shown after a run (never written to result files: they would make
/// files differ between otherwise identical runs).
pub struct Timing {
    pub threads: usize,
    pub seed_seconds: f64,
    pub sim_seconds: f64,
    pub total_seconds: f64,
}

/// Formats a value for people according to its unit.
pub fn human(value: f64, unit: &str) -> String {
    match unit {
        "fraction" => format!("{:.2}%", value * 100.0),
        "USD" => {
            let a = value.abs();
            let (d, s) = if a >= 1e9 {
                (1e9, "B")
            } else if a >= 1e6 {
                (1e6, "M")
            } else if a >= 1e3 {
                (1e3, "k")
            } else {
                (1.0, "")
            };
            format!("${:.2}{s}", value / d)
        }
        _ => {
            if value.fract() == 0.0 && value.abs() < 1e12 {
                format!("{value:.0}")
            } else {
                format!("{value:.2}")
            }
        }
    }
}

/// Renders the summary table.
pub fn render(s: &Summary, t: &Timing, dir: &Path) -> String {
    let mut o = String::new();
    let p = &s.provenance;
    let cp = &s.cascade_probability;
    let _ = writeln!(
        o,
        "cascadesim {} · {} · {} paths · seed {}",
        p.cascadesim_version, p.scenario_file, p.paths, p.seed
    );
    let _ = writeln!(
        o,
        "cascade probability  {:.4}  95% CI [{:.4}, {:.4}] (Wilson)  {} cascade{} in {} paths",
        cp.estimate,
        cp.ci_low,
        cp.ci_high,
        s.cascades,
        if s.cascades == 1 { "" } else { "s" },
        p.paths
    );
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
    let _ = writeln!(o);
    let rate = if t.sim_seconds > 0.0 {
        p.paths as f64 / t.sim_seconds
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "{:.0} paths/s on {} thread{} (population {:.2}s, simulation {:.2}s, total {:.2}s)",
        rate,
        t.threads,
        if t.threads == 1 { "" } else { "s" },
        t.seed_seconds,
        t.sim_seconds,
        t.total_seconds
    );
    let _ = writeln!(o, "results: {}", dir.display());
    o
}

//! `report.html`: one self-contained file (no external assets: the SVG figures are inline,
//! the style is in the page) with the summary tables, the figures and the scenario text side
//! by side. Written with every run and by `cascadesim report`; like every other output it
//! holds no timestamp, so the same results give the same page.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::OutputError;
use super::engine_figures;
use super::figures::{self, FigureFile, FigureInput};
use super::format::{human, percent, thousands};
use super::metric_table;
use super::page::{self, escape};
use crate::summary::Summary;
use crate::tails::{Endpoint, TailReport};

/// File stems that [`write_report_files`] may create under `plots/`; stale files with these
/// stems (from an earlier report) are removed, nothing else is touched.
fn is_ours(stem: &str) -> bool {
    stem.starts_with("tail_")
        || stem.starts_with("path_")
        || stem == "drawdown"
        || stem == "convergence"
}

/// Removes from `plots` the `.png`/`.svg` figures with a stem the report makes ([`is_ours`])
/// for which `drawn(file name, stem)` is false: those of an earlier report that this one did
/// not draw. Nothing else is touched.
pub(crate) fn remove_stale_figures(plots: &Path, drawn: impl Fn(&std::ffi::OsStr, &str) -> bool) {
    let Ok(entries) = fs::read_dir(plots) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let (Some(stem), Some(ext)) = (
            p.file_stem().and_then(|s| s.to_str()),
            p.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if (ext == "png" || ext == "svg") && is_ours(stem) && !drawn(&e.file_name(), stem) {
            let _ = fs::remove_file(&p);
        }
    }
}

/// What the page shows besides the figures.
pub struct PageExtras<'a> {
    /// Traced paths in `results.h5`: (path id, why it was traced).
    pub traces: &'a [(u64, String)],
    /// Remarks for the reader (e.g. why a figure is missing, or that the page was rebuilt).
    pub notes: &'a [String],
}

/// Writes `<dir>/plots/*.{png,svg}` and `<dir>/report.html`. Figures that cannot be drawn
/// are listed with the reason (in the page too); only a failure to write the page itself is
/// an error.
///
/// # Errors
/// When `report.html` cannot be written.
pub fn write_report_files(
    dir: &Path,
    input: &FigureInput<'_>,
    extras: &PageExtras<'_>,
) -> Result<Vec<FigureFile>, OutputError> {
    let plots = dir.join("plots");
    let figures = figures::write_figures(&plots, input);
    // Remove figures of an earlier report that this one did not redraw.
    remove_stale_figures(&plots, |_, stem| {
        figures.iter().any(|f| f.stem == stem && f.status.is_ok())
    });
    let absent = figures::empty_tail_notes(input);
    let page = render(
        input.summary,
        input.tail_reports,
        &figures,
        &absent,
        &plots,
        extras,
    );
    write_atomic(&dir.join("report.html"), page.as_bytes())?;
    Ok(figures)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees a half-written file.
///
/// # Errors
/// On any I/O failure (the temporary file is then removed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    super::check_file_dest(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| OutputError::Io { path: p, source }
    };
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The text of `summary.json` (as `write_run` writes it).
///
/// # Errors
/// If the summary cannot be serialised.
pub fn summary_json(summary: &Summary) -> Result<String, OutputError> {
    Ok(format!("{}\n", serde_json::to_string_pretty(summary)?))
}

/// The whole page.
pub fn render(
    s: &Summary,
    tail_reports: &[(&'static str, TailReport)],
    figures: &[FigureFile],
    absent: &[String],
    plots_dir: &Path,
    extras: &PageExtras<'_>,
) -> String {
    let p = &s.provenance;
    let title = if p.scenario_name.is_empty() {
        p.scenario_file.clone()
    } else {
        p.scenario_name.clone()
    };
    let positions = p.positions.map_or("drawn per path".to_string(), |n| {
        format!("{} positions", thousands(n))
    });
    let meta = format!(
        "cascadesim {} · {} · {} paths · seed {} · {} steps of {} s · assets {} · population {} ({})",
        escape(&p.cascadesim_version),
        escape(&p.scenario_file),
        thousands(p.paths),
        p.seed,
        thousands(u64::from(p.steps)),
        p.step_seconds,
        escape(&p.assets.join(", ")),
        escape(&p.population_mode),
        positions,
    );
    let mut o = page::open(&title, &title, &[meta]);
    o.push_str("<div class=\"layout\">\n<main>\n");
    summary_section(&mut o, s);
    tail_section(&mut o, s, tail_reports);
    if !extras.notes.is_empty() {
        o.push_str("<h3>Notes</h3>\n<ul class=\"notes\">\n");
        for n in extras.notes {
            let _ = writeln!(o, "<li>{}</li>", escape(n));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("<h2 id=\"figures\">Figures</h2>\n");
    // Tails with nothing to plot (no bad debt, say): one neutral line, not an empty figure.
    for note in absent {
        let _ = writeln!(o, "<p class=\"meta\">{}</p>", escape(note));
    }
    for f in figures {
        page::run_figure(&mut o, f, plots_dir);
    }
    if !extras.traces.is_empty() {
        o.push_str("<h2 id=\"traces\">Traces in results.h5</h2>\n<table>\n<thead><tr><th>group</th><th>selected by</th></tr></thead>\n<tbody>\n");
        for (id, why) in extras.traces {
            let _ = writeln!(
                o,
                "<tr><td><code>/traces/{id}</code></td><td class=\"reason\">{}</td></tr>",
                escape(why)
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</main>\n<aside>\n<h2 id=\"scenario\">Scenario</h2>\n");
    effective_values(&mut o, s);
    o.push_str("<pre>");
    o.push_str(&escape(&p.scenario));
    o.push_str("</pre>\n</aside>\n</div>\n");
    page::close(&mut o);
    o
}

/// What the run used, beside what the file says where the command line changed it (paths,
/// seed and replicates are the run's, recorded in its provenance; threads never change a
/// result, so they are not recorded).
fn effective_values(o: &mut String, s: &Summary) {
    let p = &s.provenance;
    let file: Option<toml::Table> = p.scenario.parse().ok();
    let in_file = |table: &str, key: &str| -> Option<u64> {
        let v = file.as_ref()?.get(table)?.get(key)?;
        v.as_integer().and_then(|i| u64::try_from(i).ok())
    };
    let row = |o: &mut String, what: &str, used: String, file: Option<u64>, same: bool| {
        let note = match file {
            Some(f) if !same => format!(
                " <small class=\"key\">(the file says {}; set on the command line)</small>",
                thousands(f)
            ),
            _ => String::new(),
        };
        let _ = writeln!(o, "<tr><td>{what}</td><td>{used}{note}</td></tr>");
    };
    o.push_str("<table class=\"facts\">\n<tbody>\n");
    let paths = in_file("simulation", "paths");
    row(
        o,
        "paths",
        thousands(p.paths),
        paths,
        paths.is_none_or(|f| f == p.paths),
    );
    let seed = in_file("simulation", "seed");
    row(
        o,
        "seed",
        p.seed.to_string(),
        seed,
        seed.is_none_or(|f| f == p.seed),
    );
    if let Some(r) = p.population_replicates {
        let file_r = in_file("simulation", "population_replicates");
        row(
            o,
            "population replicates",
            thousands(r),
            file_r,
            file_r.is_none_or(|f| f == r),
        );
    }
    let _ = writeln!(
        o,
        "<tr><td>steps</td><td>{} of {} s</td></tr>\n<tr><td>threads</td><td><small class=\"key\">any: results do not depend on them</small></td></tr>",
        thousands(u64::from(p.steps)),
        p.step_seconds
    );
    o.push_str("</tbody>\n</table>\n<p class=\"meta\">The scenario file as written:</p>\n");
}

/// What failed in a run, one line each, worded for a person: book exhaustion, insurance
/// funds run dry and bad debt (`false`), then the populations whose fund ran dry or that
/// left bad debt (`true`). Empty when nothing failed. The terminal prints them as warnings
/// and the report in a warning box, so a failure is never shown as a neutral number.
pub fn failure_lines(s: &Summary) -> Vec<(bool, String)> {
    let f = &s.failures;
    let pct = percent;
    let mut lines = Vec::new();
    if f.book_exhausted_share > 0.0 || f.backstop_notional_mean > 0.0 {
        lines.push((
            false,
            format!(
                "book exhausted on {} of paths: {} per path filled by the backstop, not the book",
                pct(f.book_exhausted_share),
                human(f.backstop_notional_mean, "USD")
            ),
        ));
    }
    if f.fund_exhausted_share > 0.0 {
        lines.push((
            false,
            format!(
                "insurance fund ran dry on {} of paths",
                pct(f.fund_exhausted_share)
            ),
        ));
    }
    if f.bad_debt_share > 0.0 {
        lines.push((
            false,
            format!(
                "bad debt on {} of paths, {} per path on average",
                pct(f.bad_debt_share),
                human(f.bad_debt_mean, "USD")
            ),
        ));
    }
    if let Some(line) = super::cross_margin::failure_line(s) {
        lines.push((false, line));
    }
    for p in &s.populations {
        if p.fund_exhausted_share > 0.0 || p.bad_debt_share > 0.0 {
            let venue = p
                .venue
                .as_deref()
                .map_or(String::new(), |v| format!(" on {v}"));
            lines.push((
                true,
                format!(
                    "{}{venue}: fund dry on {} of paths, bad debt {} and ADL {} per path",
                    p.name,
                    pct(p.fund_exhausted_share),
                    human(p.bad_debt_mean, "USD"),
                    human(p.adl_notional_mean, "USD")
                ),
            ));
        }
    }
    lines
}

fn summary_section(o: &mut String, s: &Summary) {
    let cp = &s.cascade_probability;
    o.push_str("<h2 id=\"summary\">Summary</h2>\n");
    // Rare-event probabilities are tiny: exponent form there, four decimals otherwise.
    let num = |x: f64| {
        if s.rare_event.is_some() {
            format!("{x:.4e}")
        } else {
            format!("{x:.4}")
        }
    };
    let path_only = if s.cascade_probability_noise.is_some() {
        "path-only "
    } else {
        ""
    };
    let second = match (&s.cascade_probability_exact, &s.rare_event) {
        (Some(ex), _) => format!(
            "{path_only}exact CI [{:.4}, {:.4}] (Clopper–Pearson)",
            ex.ci_low, ex.ci_high
        ),
        (None, Some(r)) => format!(
            "estimator {} ({}), effective sample size {:.0}",
            r.info.estimator,
            if r.reliable {
                "reliable"
            } else {
                "NOT reliable"
            },
            r.effective_sample_size
        ),
        (None, None) => String::new(),
    };
    let _ = write!(
        o,
        "<p class=\"prob\">cascade probability <b>{}</b> · 95% CI [{}, {}] ({}) · {} cascade{} in {} paths</p>\n<p class=\"meta\">{second}; {}</p>\n",
        num(cp.estimate),
        num(cp.ci_low),
        num(cp.ci_high),
        match (&s.rare_event, &s.cascade_probability_noise) {
            (Some(_), _) => "normal, weighted",
            (None, Some(_)) => "paths and populations, Korn–Graubard",
            (None, None) => "Wilson",
        },
        thousands(s.cascades),
        if s.cascades == 1 { "" } else { "s" },
        thousands(cp.trials),
        escape(&relative_wording(&s.precision.note))
    );
    if let Some(nz) = &s.cascade_probability_noise {
        let c = &nz.components;
        let _ = writeln!(
            o,
            "<p class=\"meta\">standard error {:.4}: path noise {:.4} (more paths shrink it), population noise {:.4} ({} replicates; more replicates shrink it); path-only Wilson CI [{:.4}, {:.4}]</p>",
            c.total_se,
            c.path_noise_se,
            c.population_noise_se,
            c.replicates,
            s.cascade_probability_path_only.ci_low,
            s.cascade_probability_path_only.ci_high
        );
    }
    let mut facts = Vec::new();
    if let Some(oi) = s.open_interest_usd {
        facts.push(format!("open interest {}", human(oi, "USD")));
    }
    facts.push(format!(
        "{} path{} exhausted a book",
        thousands(s.paths_with_book_exhausted),
        if s.paths_with_book_exhausted == 1 {
            ""
        } else {
            "s"
        }
    ));
    let _ = writeln!(o, "<p class=\"meta\">{}</p>", escape(&facts.join(" · ")));
    let failures = failure_lines(s);
    if failures.is_empty() {
        o.push_str("<p class=\"meta\">No failures: no book ran out, no insurance fund ran dry, no bad debt.</p>\n");
    } else {
        o.push_str("<div class=\"warning\" role=\"alert\"><b>Failures</b>\n<ul>\n");
        for (population, line) in &failures {
            let _ = writeln!(
                o,
                "<li{}>{}</li>",
                if *population { " class=\"sub\"" } else { "" },
                escape(line)
            );
        }
        o.push_str("</ul></div>\n");
    }
    metric_table::write(o, s);
    engine_figures::write(o, s);
    super::cross_margin::write(o, s);
}

/// The precision note with its relative half-width said to be relative: "known to ±5.6%"
/// reads as percentage points next to a probability, so it becomes "known to ±5.6% of its
/// value".
fn relative_wording(note: &str) -> String {
    let Some(at) = note.find("known to ±") else {
        return note.to_string();
    };
    let rest = &note[at..];
    match rest.find('%') {
        Some(pct) => format!(
            "{}% of its value{}",
            &note[..at + pct],
            &note[at + pct + 1..]
        ),
        None => note.to_string(),
    }
}

fn endpoint(e: &Endpoint, unit: &str) -> String {
    e.value().map_or("∞".into(), |v| human(v, unit))
}

fn tail_section(o: &mut String, s: &Summary, reports: &[(&'static str, TailReport)]) {
    if reports.is_empty() || s.provenance.paths == 0 {
        return;
    }
    o.push_str("<h3>Tails (generalized Pareto fit above the threshold)</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>metric</th><th>threshold</th><th>exceedances</th><th>ξ [95% CI]</th><th>σ</th><th>1 in 1,000 paths</th><th>1 in 10,000 paths</th><th>1 in 100,000 paths</th></tr></thead>\n<tbody>\n");
    for (name, r) in reports {
        let unit = s.metrics.get(name).map_or("", |m| m.unit);
        let Some(fit) = r.ml_fit.value() else {
            let reason = r.ml_fit.reason().unwrap_or("no fit");
            let _ = writeln!(
                o,
                "<tr><td title=\"{}\">{}</td><td class=\"reason\" colspan=\"7\">no fit: {}</td></tr>",
                escape(name),
                escape(metric_table::label(name)),
                escape(reason)
            );
            continue;
        };
        let xi = match r.xi_profile_interval.value() {
            Some(p) => format!(
                "{:.3} [{}, {}]",
                fit.xi,
                endpoint(&p.lower, "1"),
                endpoint(&p.upper, "1")
            ),
            None => format!("{:.3}", fit.xi),
        };
        let level = |period: f64| {
            r.return_levels
                .iter()
                .find(|e| e.period == period)
                .and_then(|e| e.result.value())
                .map_or("–".into(), |rl| {
                    format!(
                        "{}<small>[{}, {}]</small>",
                        escape(&human(rl.level, unit)),
                        escape(&endpoint(&rl.profile_interval.lower, unit)),
                        escape(&endpoint(&rl.profile_interval.upper, unit))
                    )
                })
        };
        let _ = writeln!(
            o,
            "<tr><td title=\"{}\">{}</td><td>{}</td><td>{} of {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(metric_table::label(name)),
            escape(&human(fit.threshold, unit)),
            thousands(fit.n_exceedances as u64),
            thousands(fit.n_total as u64),
            escape(&xi),
            escape(&human(fit.sigma, unit)),
            level(1e3),
            level(1e4),
            level(1e5),
        );
    }
    o.push_str("</tbody>\n</table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_precision_reads_as_relative() {
        assert_eq!(
            relative_wording("the estimate is known to ±5.6%; a ±10% estimate needs 900 paths"),
            "the estimate is known to ±5.6% of its value; a ±10% estimate needs 900 paths"
        );
        assert_eq!(relative_wording("no cascade"), "no cascade");
    }
}

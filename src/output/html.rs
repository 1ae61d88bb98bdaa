//! `report.html`: one self-contained file (no external assets: the SVG figures are inline,
//! the style is in the page) with the summary tables, the figures and the scenario text side
//! by side. Written with every run and by `cascadesim report`; like every other output it
//! holds no timestamp, so the same results give the same page.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::OutputError;
use super::figures::{self, FigureFile, FigureInput};
use super::format::{human, percent};
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
    if let Ok(entries) = fs::read_dir(&plots) {
        for e in entries.flatten() {
            let p = e.path();
            let (Some(stem), Some(ext)) = (
                p.file_stem().and_then(|s| s.to_str()),
                p.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let written = figures.iter().any(|f| f.stem == stem && f.status.is_ok());
            if (ext == "png" || ext == "svg") && is_ours(stem) && !written {
                let _ = fs::remove_file(&p);
            }
        }
    }
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

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// An SVG file's markup for inlining: from `<svg` on, labelled for screen readers.
fn inline_svg(text: &str, label: &str) -> Option<String> {
    let start = text.find("<svg")?;
    let end = text.rfind("</svg>")? + "</svg>".len();
    let body = &text[start..end];
    Some(body.replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{}\"", escape(label)),
        1,
    ))
}

pub(crate) const STYLE: &str = "
:root{--fg:#1d2433;--muted:#5b6475;--line:#d9dee7;--bg:#ffffff;--soft:#f5f7fa;--accent:#1565c0}
.warning{border:1px solid #e0a800;border-left:5px solid #c62828;background:#fff8e1;padding:.5rem .9rem;margin:.6rem 0;border-radius:4px}.warning ul{margin:.3rem 0 0;padding-left:1.2rem}.warning li.sub{list-style:circle;color:var(--muted)}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--fg);background:var(--bg)}
header{padding:1.2rem 1.5rem;border-bottom:1px solid var(--line);background:var(--soft)}
h1{margin:0 0 .3rem;font-size:1.5rem}
h2{font-size:1.2rem;margin:1.6rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:var(--muted);margin:0}
.layout{display:grid;grid-template-columns:minmax(0,1fr) minmax(18rem,28rem);gap:1.5rem;padding:0 1.5rem 2rem}
@media (max-width:1200px){.layout{grid-template-columns:minmax(0,1fr)}}
aside pre{position:sticky;top:1rem;max-height:calc(100vh - 2rem);overflow:auto;background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.8rem;font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.prob{font-size:1.25rem;margin:.4rem 0}
.prob b{font-size:1.6rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;margin:.4rem 0 1rem;font-size:14px}
th,td{padding:.3rem .45rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:var(--soft);font-weight:600}
td.reason{text-align:left;white-space:normal;color:var(--muted)}
td small{color:var(--muted);display:block}
.scroll{overflow-x:auto}
figure{margin:1rem 0 2rem}
figure svg{width:100%;height:auto;display:block;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:13.5px;margin-top:.4rem}
.missing{border:1px dashed #c62828;color:#c62828;padding:.8rem;border-radius:4px}
.notes li{color:var(--muted)}
";

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
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>cascadesim · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let positions = p
        .positions
        .map_or("drawn per path".to_string(), |n| format!("{n} positions"));
    let _ = write!(
        o,
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">cascadesim {} · {} · {} paths · seed {} · {} steps of {} s · assets {} · population {} ({})</p>\n</header>\n",
        escape(&title),
        escape(&p.cascadesim_version),
        escape(&p.scenario_file),
        p.paths,
        p.seed,
        p.steps,
        p.step_seconds,
        escape(&p.assets.join(", ")),
        escape(&p.population_mode),
        positions,
    );
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
        let _ = write!(
            o,
            "<figure id=\"{}\">\n<h3>{}</h3>\n",
            escape(&f.stem),
            escape(&f.title)
        );
        let svg = f
            .status
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|()| {
                fs::read_to_string(plots_dir.join(format!("{}.svg", f.stem)))
                    .map_err(|e| format!("cannot read the SVG: {e}"))
            })
            .and_then(|t| inline_svg(&t, &f.title).ok_or_else(|| "not an SVG file".to_string()));
        match svg {
            Ok(svg) => {
                o.push_str(&svg);
                let _ = write!(
                    o,
                    "\n<figcaption>{} (<code>plots/{}.png</code>, <code>.svg</code>)</figcaption>\n",
                    escape(&f.caption),
                    escape(&f.stem)
                );
            }
            Err(reason) => {
                let _ = writeln!(o, "<p class=\"missing\">Not drawn: {}</p>", escape(&reason));
            }
        }
        o.push_str("</figure>\n");
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
    o.push_str("</main>\n<aside>\n<h2>Scenario</h2>\n<pre>");
    o.push_str(&escape(&p.scenario));
    o.push_str("</pre>\n</aside>\n</div>\n</body>\n</html>\n");
    o
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
        s.cascades,
        if s.cascades == 1 { "" } else { "s" },
        cp.trials,
        escape(&s.precision.note)
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
        s.paths_with_book_exhausted,
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
    if s.metrics.is_empty() {
        return;
    }
    o.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>metric</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>VaR 99%</th><th>ES 99%</th><th>max</th></tr></thead>\n<tbody>\n");
    for (name, m) in &s.metrics {
        let at = |v: &[crate::stats::AtLevel], p: f64| {
            v.iter().find(|x| x.p == p).map_or(f64::NAN, |x| x.value)
        };
        let cells = [
            m.mean,
            at(&m.quantiles, 0.5),
            at(&m.quantiles, 0.9),
            at(&m.quantiles, 0.99),
            at(&m.quantiles, 0.999),
            at(&m.var, 0.99),
            at(&m.es, 0.99),
            m.max,
        ];
        let _ = write!(o, "<tr><td>{}</td>", escape(name));
        for c in cells {
            let _ = write!(o, "<td>{}</td>", escape(&human(c, m.unit)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
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
                "<tr><td>{}</td><td class=\"reason\" colspan=\"7\">no fit: {}</td></tr>",
                escape(name),
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
            "<tr><td>{}</td><td>{}</td><td>{} of {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(&human(fit.threshold, unit)),
            fit.n_exceedances,
            fit.n_total,
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
    fn escaping_covers_markup_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn svgs_are_inlined_from_their_root_element() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"2\" height=\"2\"><g/></svg>\n";
        assert_eq!(
            inline_svg(svg, "a <b>").unwrap(),
            "<svg role=\"img\" aria-label=\"a &lt;b&gt;\" width=\"2\" height=\"2\"><g/></svg>"
        );
        assert!(inline_svg("not svg", "x").is_none());
    }
}

//! `cascadesim heatmap`: the liquidation cluster map of a scenario, written to
//! `<out>/<scenario stem>-heatmap/` (beside, not inside, the `run` folder,
//! which a later run replaces whole).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::heatmap::critical::CriticalShock;
use cascadesim::heatmap::{self, AssetHeatmap, HeatmapReport, Options};
use cascadesim::output::Staging;
use cascadesim::output::format::{points, price, signed, thousands, usd};
use cascadesim::output::heatmap::{HeatmapProvenance, figure_stem, pair_stem, write_heatmap};
use cascadesim::output::style::wrap;

use super::common::{CANCEL, InputError, load};

#[derive(Args)]
pub(crate) struct HeatmapArgs {
    /// Scenario TOML file.
    scenario: PathBuf,
    /// Output folder; files go to <out>/<scenario file stem>-heatmap/.
    #[arg(long, value_parser = super::common::out_folder, default_value = "results")]
    out: PathBuf,
    /// Endogenous move (log, e.g. 0.03) that makes a shock critical (default: the scenario's
    /// cascade.endogenous_move, else 0.05).
    #[arg(long)]
    threshold: Option<f64>,
    /// Price bin width in basis points of the current price.
    #[arg(long, default_value_t = 10.0)]
    bin_bp: f64,
    /// The grid covers ± this percentage of the current price.
    #[arg(long, default_value_t = 50.0)]
    range_pct: f64,
    /// Standard deviation of the Gaussian smoothing kernel, basis points of the price.
    #[arg(long, default_value_t = 20.0)]
    kernel_bp: f64,
    /// A peak is a cluster when its prominence is at least this multiple of the median
    /// smoothed density.
    #[arg(long, default_value_t = 1.5)]
    prominence: f64,
    /// Flag a cluster as an anomaly when its size is at least this multiple of the book
    /// depth between the price and its centre.
    #[arg(long, default_value_t = 1.0)]
    anomaly_ratio: f64,
    /// Skip the critical-shock search (its deterministic runs are the slow part on very
    /// large populations).
    #[arg(long)]
    no_critical: bool,
    /// The two assets of the pair map, by name (default: the first two of the scenario).
    #[arg(long, value_name = "A,B")]
    pair: Option<String>,
    /// Radius of the cross-asset groups, in one-day σ (default: one hour's σ, 0.204).
    #[arg(long)]
    group_eps: Option<f64>,
    /// Density of the cross-asset groups: share of the book a core point holds within the
    /// radius.
    #[arg(long, default_value_t = 0.02)]
    group_min_share: f64,
    /// No summary on the terminal.
    #[arg(long, short)]
    quiet: bool,
}

/// The indices of `--pair A,B` in the scenario's assets.
fn pair_indices(pair: &str, assets: &[&str]) -> Result<[usize; 2], InputError> {
    let list = assets
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let names: Vec<&str> = pair.split(',').map(str::trim).collect();
    let [a, b] = names[..] else {
        return Err(InputError(format!(
            "--pair must be two asset names separated by a comma (A,B), found \"{pair}\"; the scenario's assets: {list}"
        )));
    };
    let mut bad = Vec::new();
    let mut index = |name: &str| {
        let i = assets.iter().position(|x| *x == name);
        if i.is_none() {
            bad.push(format!("\"{name}\""));
        }
        i.unwrap_or(0)
    };
    let (i, j) = (index(a), index(b));
    if !bad.is_empty() {
        return Err(InputError(format!(
            "--pair: no asset {} in the scenario; its assets: {list}",
            bad.join(" and no asset ")
        )));
    }
    if i == j {
        return Err(InputError(format!(
            "--pair names \"{a}\" twice; the pair map needs two different assets"
        )));
    }
    Ok([i, j])
}

pub(crate) fn heatmap(args: &HeatmapArgs) -> Result<i32> {
    let scenario = load(&args.scenario)?;
    for (name, v) in [
        ("--bin-bp", args.bin_bp),
        ("--range-pct", args.range_pct),
        ("--kernel-bp", args.kernel_bp),
        ("--prominence", args.prominence),
        ("--group-min-share", args.group_min_share),
        ("--anomaly-ratio", args.anomaly_ratio),
    ] {
        if !v.is_finite() {
            bail!(InputError(format!("{name} must be a finite number")));
        }
    }
    let names: Vec<&str> = scenario.assets.iter().map(|a| a.name.as_str()).collect();
    let pair = args
        .pair
        .as_deref()
        .map(|p| pair_indices(p, &names))
        .transpose()?;
    if let Some(e) = args.group_eps
        && !e.is_finite()
    {
        bail!(InputError("--group-eps must be a finite number".into()));
    }
    let options = Options {
        bin_width: args.bin_bp * 1e-4,
        half_range: args.range_pct / 100.0,
        kernel_width: args.kernel_bp * 1e-4,
        prominence: args.prominence,
        critical_threshold: args.threshold,
        critical: !args.no_critical,
        pair,
        group_eps: args.group_eps,
        group_min_share: args.group_min_share,
        anomaly_ratio: args.anomaly_ratio,
        ..Options::default()
    };
    options.check().map_err(|e| InputError(e.to_string()))?;
    let stem = cascadesim::run::plan::stem(&args.scenario);
    let dest = args.out.join(format!("{stem}-heatmap"));
    // Fail on an unwritable output folder before computing.
    let staging = Staging::new(&dest)?;
    super::common::honour_cancel();
    let report = heatmap::analyze(&scenario, &options).map_err(|e| InputError(e.to_string()))?;
    if CANCEL.load(Ordering::SeqCst) {
        eprintln!(
            "interrupted: nothing written ({} left as it was)",
            dest.display()
        );
        return Ok(super::common::interrupted_code());
    }
    let provenance = HeatmapProvenance {
        cascadesim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: args.scenario.display().to_string(),
        scenario_name: scenario.name.clone(),
        seed: scenario.simulation.seed,
        scenario: scenario.text.clone(),
    };
    let files = write_heatmap(&staging, &report, &provenance)?;
    let dir = super::common::commit(staging)?;
    if !args.quiet {
        print!("{}", render(&report, &provenance, &dir, &files));
    }
    Ok(0)
}

fn pct(x: f64) -> String {
    cascadesim::output::format::percent(x)
}

fn critical_line(s: &CriticalShock) -> String {
    let sign = if s.direction == "down" { "−" } else { "+" };
    match &s.at {
        Some(t) if t.shock == 0.0 => format!(
            "none needed: positions are liquidatable at the current price ({} liquidated, end {})",
            usd(t.liquidated_notional),
            price(t.end_price)
        ),
        Some(t) => {
            // When the round limit cut a step short the cascade had not ended there.
            let ends = if t.round_limit_hit {
                "reaches"
            } else {
                "ends at"
            };
            let mut line = format!(
                "{sign}{} → cascade {ends} {} (further {} on its own), {} liquidated in {} rounds",
                pct(t.shock),
                price(t.end_price),
                pct(t.endogenous_move),
                usd(t.liquidated_notional),
                t.rounds
            );
            if t.round_limit_hit {
                let _ = write!(
                    line,
                    " (cut short: a step used all {} rounds of `simulation.max_rounds`)",
                    t.max_rounds_in_step
                );
            }
            if let Some(b) = &s.just_below {
                if b.shock == 0.0 {
                    let _ = write!(line, "; without a shock nothing happens");
                } else {
                    let _ = write!(
                        line,
                        "; {sign}{} gives {}",
                        pct(b.shock),
                        pct(b.endogenous_move)
                    );
                }
            }
            if s.non_monotone_points > 0 {
                let _ = write!(
                    line,
                    " [{} larger scanned shocks fall short again]",
                    s.non_monotone_points
                );
            }
            line
        }
        None if s.largest_endogenous_move > 0.0 => format!(
            "none within the grid (largest endogenous move {} after a {sign}{} shock)",
            pct(s.largest_endogenous_move),
            pct(s.largest_at_shock)
        ),
        None => "none within the grid (no shock in range liquidates anything that moves the price)"
            .into(),
    }
}

/// Terminal width of the summary.
const WIDTH: usize = 80;

/// `text` after a label column of `label_w` characters indented by `indent` spaces, wrapped
/// to [`WIDTH`] with continuation lines under the text.
fn labelled(out: &mut String, indent: usize, label: &str, label_w: usize, text: &str) {
    let room = WIDTH.saturating_sub(indent + label_w).max(20);
    for (i, line) in wrap(text, room).iter().enumerate() {
        let head = if i == 0 { label } else { "" };
        let _ = writeln!(out, "{:indent$}{head:<label_w$}{line}", "");
    }
}

/// The clusters table's row: `#`, side, price range, notional, edge, centre, σ(1d), book in
/// front, size over that book, reach × severity (4 + 65 + 9 spaces = 78 columns).
fn cluster_row(cells: [&str; 10]) -> String {
    let [
        n,
        side,
        range,
        notional,
        edge,
        centre,
        sigma,
        front,
        ratio,
        score,
    ] = cells;
    format!(
        "    {n:<2} {side:<5} {range:>15} {notional:>8} {edge:>6} {centre:>6} {sigma:>5} {front:>8} {ratio:>5} {score:>5}"
    )
    .trim_end()
    .to_string()
}

fn asset_block(out: &mut String, a: &AssetHeatmap, threshold: f64, anomaly_ratio: f64) {
    let _ = writeln!(
        out,
        "\n{}  price {}  one-day volatility {}  book ×{:.2} at {:02}:00 UTC",
        a.asset,
        price(a.price),
        pct(a.daily_volatility),
        a.depth_multiplier,
        a.hour_utc
    );
    let c = &a.crowding;
    labelled(out, 2, "crowding", 14, &c.statement);
    let reach = format!(
        "a 5% move liquidates {} of longs / {} of shorts; 10%: {} / {} (no feedback)",
        usd(c.long_liquidatable_5pct),
        usd(c.short_liquidatable_5pct),
        usd(c.long_liquidatable_10pct),
        usd(c.short_liquidatable_10pct)
    );
    labelled(out, 2, "in reach", 14, &reach);
    labelled(out, 2, "risk score", 14, &a.score.note);
    if a.clusters.is_empty() {
        labelled(out, 2, "clusters", 14, "none");
    } else {
        let head = format!(
            "{} found; the largest (columns below the report)",
            a.clusters.len()
        );
        labelled(out, 2, "clusters", 14, &head);
        let _ = writeln!(
            out,
            "{}",
            cluster_row([
                "#",
                "side",
                "price range",
                "notional",
                "edge",
                "centre",
                "σ(1d)",
                "in front",
                "×book",
                "r×sev"
            ])
        );
        for (i, cl) in a.clusters.iter().enumerate().take(8) {
            let term = a.score.terms.iter().find(|t| t.cluster == i);
            let cells = [
                (i + 1).to_string(),
                cl.side.name().to_string(),
                format!("{}–{}", price(cl.price_low), price(cl.price_high)),
                usd(cl.notional),
                cascadesim::output::format::points(cl.distance_pct),
                cascadesim::output::format::points(cl.centre_distance_pct),
                cl.centre_distance_sigmas
                    .map_or("–".into(), |s| format!("{s:.2}")),
                format!(
                    "{}{}",
                    usd(cl.depth_in_front.usd),
                    if cl.depth_in_front.beyond_book {
                        "+"
                    } else {
                        ""
                    }
                ),
                format!(
                    "{}{}",
                    cl.notional_to_depth
                        .map_or("∞".into(), |r| format!("{r:.2}")),
                    if cl.anomaly { "!" } else { "" }
                ),
                term.map_or(String::new(), |t| format!("{:.3}", t.contribution)),
            ];
            let cells: [&str; 10] = std::array::from_fn(|k| cells[k].as_str());
            let _ = writeln!(out, "{}", cluster_row(cells));
        }
        if a.clusters.len() > 8 {
            let _ = writeln!(out, "    … {} more in heatmap.json", a.clusters.len() - 8);
        }
        let flagged = a.clusters.iter().filter(|c| c.anomaly).count();
        let text = if flagged == 0 {
            "none".to_string()
        } else {
            format!(
                "{flagged} of {} clusters hold at least {}× the book in front of them (!)",
                a.clusters.len(),
                anomaly_ratio
            )
        };
        labelled(out, 2, "anomalies", 14, &text);
    }
    for v in &a.venues {
        let text = format!(
            "{}: {} long / {} short liquidatable; index weight {:.2}",
            v.venue,
            usd(v.long.total_notional),
            usd(v.short.total_notional),
            v.weight
        );
        labelled(out, 2, "venue", 14, &text);
    }
    for l in &a.lending {
        let mut text = format!(
            "{}: {} of collateral sold by {} accounts as the price falls (in the long side)",
            l.market,
            usd(l.sales.total_notional),
            l.sales.total_positions
        );
        if l.seized_elsewhere_accounts > 0 {
            let _ = write!(
                text,
                "; {} more seized in other assets",
                usd(l.seized_elsewhere_usd)
            );
        }
        labelled(out, 2, "lending", 14, &text);
    }
    if let Some(cs) = &a.critical {
        let what = format!(
            "the smallest instantaneous move after which liquidations carry the price ≥ {} further",
            pct(threshold)
        );
        labelled(out, 2, "critical shock", 16, &what);
        for side in [&cs.down, &cs.up] {
            labelled(out, 4, side.direction, 6, &critical_line(side));
        }
    }
}

/// The groups and the pair map (scenarios with two or more assets): at most five groups,
/// each with its parts.
fn groups_block(out: &mut String, r: &HeatmapReport) {
    if let Some(g) = &r.groups {
        let _ = writeln!(out);
        let cross = g.groups.iter().filter(|x| x.cross_asset).count();
        let head = format!(
            "{} found, {cross} across assets (DBSCAN: radius {:.2}σ ({}), a core holds ≥ {} of the book); {} of {} reachable notional is in none",
            g.groups.len(),
            g.eps,
            g.eps_rule,
            pct(g.options.min_share),
            usd(g.ungrouped_notional),
            usd(g.reachable_notional),
        );
        labelled(out, 0, "groups", 15, &head);
        for (i, x) in g.groups.iter().enumerate().take(5) {
            let moves: Vec<String> = x
                .joint_move
                .iter()
                .map(|m| format!("{} {} ({}σ)", m.asset, points(m.pct), signed(m.sigmas)))
                .collect();
            let line = format!(
                "{} ({} of the book, {} positions) at {}",
                usd(x.notional),
                pct(x.share_of_book),
                thousands(x.positions),
                moves.join(", ")
            );
            labelled(out, 2, &format!("#{}", i + 1), 4, &line);
            for p in &x.parts {
                let part = format!(
                    "{} {}: {}, triggers {}σ to {}σ, {}× the book in front",
                    p.asset,
                    p.side.name(),
                    usd(p.notional),
                    signed(p.nearest_trigger_sigmas),
                    signed(p.farthest_trigger_sigmas),
                    p.share_of_depth.map_or("∞".into(), |v| format!("{v:.2}"))
                );
                labelled(out, 6, "", 0, &part);
            }
        }
        if g.groups.len() > 5 {
            let _ = writeln!(out, "  … {} more in heatmap.json", g.groups.len() - 5);
        }
    }
    if let Some(p) = &r.pair_map {
        let worst: Vec<String> = p
            .ellipses
            .iter()
            .map(|e| {
                format!(
                    "{}σ: {} ({} {}, {} {})",
                    e.sigmas,
                    usd(e.notional),
                    p.a.asset,
                    pct(e.move_a),
                    p.b.asset,
                    pct(e.move_b)
                )
            })
            .collect();
        let text = format!(
            "{} × {} (ρ {:.2}), static: the worst one-day joint move on the {}",
            p.a.asset,
            p.b.asset,
            p.correlation,
            worst.join("; ")
        );
        labelled(out, 0, "pair map", 15, &text);
    }
}

/// The terminal summary.
fn render(r: &HeatmapReport, p: &HeatmapProvenance, dir: &Path, files: &[String]) -> String {
    let mut out = format!(
        "cascadesim {} · heatmap · {} · seed {}\n",
        p.cascadesim_version, p.scenario_file, p.seed
    );
    labelled(&mut out, 0, "positions:", 11, r.population);
    for a in &r.assets {
        asset_block(
            &mut out,
            a,
            r.critical_options.threshold,
            r.options.anomaly_ratio,
        );
    }
    if r.assets.iter().any(|a| !a.clusters.is_empty()) {
        let _ = writeln!(out);
        labelled(
            &mut out,
            0,
            "clusters:",
            10,
            "edge, centre: distance to the near edge and to the notional-weighted centre; in front: book between the price and the centre (+: beyond the book); ×book: notional over that book (!: an anomaly, at least the --anomaly-ratio); r×sev: reach × severity (listed, not part of the risk score)",
        );
    }
    groups_block(&mut out, r);
    let mut figures: Vec<String> = r
        .assets
        .iter()
        .map(|a| format!("{}.png/.svg", figure_stem(&a.asset)))
        .collect();
    if let Some(p) = &r.pair_map {
        figures.push(format!("{}.png/.svg", pair_stem(p)));
    }
    let _ = writeln!(out);
    let wrote = format!(
        "{}/ ({} files: heatmap.json, heatmap.h5, heatmap.html, {})",
        dir.display(),
        files.len(),
        figures.join(", ")
    );
    labelled(&mut out, 0, "wrote", 6, &wrote);
    out
}

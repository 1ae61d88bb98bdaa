//! `cascadesim check`: the pre-trade check of prospective positions against a scenario.
//! Exit status 0 when every position is outside the no-trade buffer, 3 when any is inside
//! it, 2 for bad input. With `--trades` the post-trade check instead ([`super::trades`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::desk::check::{self, CheckOptions, PositionCheck};
use cascadesim::desk::position::{self, Resolved};
use cascadesim::model::spec::Buffer;
use cascadesim::output::format::{price, usd};
use cascadesim::scenario::prospective_positions;

use super::common::{CANCEL, Cancelled, InputError, load, progress_bar, thread_pool};

/// Exit status when a position is inside the no-trade buffer.
pub(crate) const INSIDE_BUFFER: i32 = 3;

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// Scenario TOML file.
    scenario: PathBuf,
    /// A prospective position, e.g. 'long 2.5 BTC @ 100000 x20' (also `20x`, `liq PRICE`
    /// instead of the leverage, `on POPULATION` for another population's tiers; without
    /// `@ ENTRY` it opens at the current price). Repeatable.
    #[arg(long = "position", value_name = "TEXT")]
    position: Vec<String>,
    /// A CSV of prospective positions: side,size,entry_price and leverage or
    /// liquidation_price; asset and population columns optional (a file written by
    /// `cascadesim population` works).
    #[arg(long = "positions", value_name = "FILE")]
    positions: Option<PathBuf>,
    /// Post-trade: a CSV of executed trades (time, side buy/sell, size, price; optional kind
    /// entry/exit, default exit) checked against the cascade steps of SCENARIO, a replay
    /// scenario (docs/output.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["position", "positions"])]
    trades: Option<PathBuf>,
    /// With --trades: a trade within this many minutes of a cascade step is inside its window.
    #[arg(long, default_value_t = 15.0, requires = "trades")]
    window_minutes: f64,
    /// With --trades: a step is a cascade step when its observed liquidations are at least
    /// this quantile of the steps with liquidations.
    #[arg(long, default_value_t = 0.99, requires = "trades")]
    cascade_quantile: f64,
    /// One JSON object per position on stdout (JSON Lines), nothing else.
    #[arg(long)]
    json: bool,
    /// Monte Carlo paths of the scenario with the positions added; 0 skips that part.
    #[arg(long, default_value_t = 10_000)]
    paths: u64,
    /// The no-trade buffer, overriding the scenario's `[check] no_trade_buffer`: "2%" or
    /// "1.5 sigma".
    #[arg(long, value_name = "DISTANCE")]
    buffer: Option<String>,
    /// A cluster is major when it holds at least this share of its asset's open interest.
    #[arg(long, default_value_t = 0.01)]
    major_share: f64,
    /// Worker threads for the Monte Carlo part (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Every position of the command line, resolved; every problem at once.
fn positions(args: &CheckArgs, s: &cascadesim::model::spec::Scenario) -> Result<Vec<Resolved>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for text in &args.position {
        match position::parse(text).and_then(|p| position::resolve(s, &p)) {
            Ok(r) => out.push(r),
            Err(e) => problems.push(format!("--position {text:?}: {e}")),
        }
    }
    if let Some(f) = &args.positions {
        let shown = f.display().to_string();
        match cascadesim::run::files::read_named(f, "positions file") {
            Err(e) => problems.push(format!("--positions: {e}")),
            Ok(text) => {
                let (rows, errs) = prospective_positions(&text);
                problems.extend(errs.iter().map(|e| format!("{shown}:{e}")));
                {
                    for r in &rows {
                        let p = position::from_row(&shown, r);
                        let resolved = position::resolve(s, &p).and_then(|x| {
                            // A row with both columns: they must agree.
                            match r.liquidation_price {
                                Some(l) if r.leverage.is_some()
                                    && (x.liquidation_price - l).abs() > 1e-9 * l =>
                                {
                                    Err(format!(
                                        "columns `leverage` and `liquidation_price` disagree: the leverage gives {}, the file says {l}",
                                        x.liquidation_price
                                    ))
                                }
                                _ => Ok(x),
                            }
                        });
                        match resolved {
                            Ok(x) => out.push(x),
                            Err(e) => problems.push(format!("{shown}:{}: {e}", r.line)),
                        }
                    }
                }
            }
        }
    }
    if args.position.is_empty() && args.positions.is_none() {
        problems.push("no position to check: give --position TEXT or --positions FILE".into());
    }
    if !problems.is_empty() {
        bail!(InputError(problems.join("\n")));
    }
    Ok(out)
}

pub(crate) fn check(args: &CheckArgs) -> Result<i32> {
    if let Some(file) = &args.trades {
        let options = cascadesim::desk::trades::TradeOptions {
            cascade_quantile: args.cascade_quantile,
            window_minutes: args.window_minutes,
        };
        return super::trades::post_trade(&args.scenario, file, &options, args.json);
    }
    let scenario = load(&args.scenario)?;
    check::supported(&scenario)
        .map_err(|e| InputError(format!("{}: {e}", args.scenario.display())))?;
    let buffer = match &args.buffer {
        Some(b) => Some(Buffer::parse(b).map_err(|e| InputError(format!("--buffer: {e}")))?),
        None => scenario.check.no_trade_buffer,
    };
    if !(args.major_share >= 0.0 && args.major_share <= 1.0) {
        bail!(InputError(format!(
            "--major-share must be in [0, 1], found {}",
            args.major_share
        )));
    }
    let resolved = positions(args, &scenario)?;
    if args.paths > 0 && resolved.len() > check::MAX_MC_POSITIONS {
        bail!(InputError(format!(
            "{} positions: the Monte Carlo part adds each as a population of its own and takes at most {}; check them with --paths 0, or in smaller lists",
            resolved.len(),
            check::MAX_MC_POSITIONS
        )));
    }
    let options = CheckOptions {
        buffer,
        major_share: args.major_share,
        paths: args.paths,
    };
    let mut checks = check::static_checks(&scenario, &resolved, &options);
    if args.paths > 0 {
        let pool = thread_pool(args.threads)?;
        let bar = progress_bar(args.paths, "paths", args.quiet || args.json);
        let tick = |n: u64| bar.inc(n);
        super::common::honour_cancel();
        let done = pool.install(|| {
            check::monte_carlo(
                &scenario,
                &resolved,
                &mut checks,
                args.paths,
                &tick,
                &CANCEL,
            )
        });
        bar.finish_and_clear();
        if done.is_err() || CANCEL.load(Ordering::SeqCst) {
            bail!(Cancelled);
        }
    }
    if args.json {
        let mut out = String::new();
        for c in &checks {
            let _ = writeln!(out, "{}", serde_json::to_string(c)?);
        }
        print!("{out}");
    } else {
        print!("{}", render(&checks, &args.scenario.display().to_string()));
    }
    Ok(if checks.iter().any(|c| c.no_trade_buffer.inside) {
        INSIDE_BUFFER
    } else {
        0
    })
}

fn sig(x: Option<f64>) -> String {
    x.map_or("–".into(), |s| format!("{s:.2}σ"))
}

fn pct(x: f64) -> String {
    cascadesim::output::format::points(x)
}

/// The terminal report, within 100 columns.
fn render(checks: &[PositionCheck], scenario: &str) -> String {
    let mut out = format!(
        "cascadesim {} · check · {scenario}\n",
        env!("CARGO_PKG_VERSION")
    );
    for c in checks {
        let _ = writeln!(out, "\n{}", c.position);
        let _ = writeln!(
            out,
            "  {} {} {} @ {} ×{:.1} on {} (margin {})",
            c.side,
            c.size,
            c.asset,
            price(c.entry_price),
            c.leverage,
            c.population,
            usd(c.margin)
        );
        let _ = writeln!(
            out,
            "  liquidation   {}  ({} / {} from the current {})",
            price(c.liquidation_price),
            pct(c.liquidation_distance_pct),
            sig(c.liquidation_distance_sigmas),
            price(c.current_price)
        );
        match &c.nearest_cluster {
            Some(n) => {
                let _ = writeln!(
                    out,
                    "  cluster       {} liquidations {}–{}, {} ({:.1}% of OI)",
                    n.side,
                    price(n.price_low),
                    price(n.price_high),
                    usd(n.notional),
                    100.0 * n.share_of_open_interest
                );
                if n.distance_pct == 0.0 {
                    let _ = writeln!(out, "                the liquidation price lies inside it");
                } else {
                    let _ = writeln!(
                        out,
                        "                {} / {} from the liquidation price",
                        pct(n.distance_pct),
                        sig(n.distance_sigmas)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "  cluster       no major cluster on {}", c.asset);
            }
        }
        let b = &c.no_trade_buffer;
        let verdict = match (&b.buffer, b.inside) {
            (None, _) => "no buffer set ([check] no_trade_buffer or --buffer)".to_string(),
            (Some(x), true) => format!("INSIDE the {x} no-trade buffer"),
            (Some(x), false) => format!("outside the {x} no-trade buffer"),
        };
        let _ = writeln!(out, "  buffer        {verdict}");
        let s = &c.slippage;
        let _ = writeln!(
            out,
            "  slippage      entry now {}{}, at the cluster {}",
            pct(s.now_pct),
            if s.beyond_book_now {
                " (past the book)"
            } else {
                ""
            },
            s.at_cluster_pct.map_or("–".into(), pct)
        );
        if let Some(m) = &c.monte_carlo {
            let _ = writeln!(
                out,
                "  Monte Carlo   liquidated {} [{}, {}], on a cascade path {} ({} paths)",
                pct(100.0 * m.liquidated.estimate),
                pct(100.0 * m.liquidated.ci_low),
                pct(100.0 * m.liquidated.ci_high),
                pct(100.0 * m.liquidated_on_cascade_path.estimate),
                m.paths
            );
        }
    }
    out
}

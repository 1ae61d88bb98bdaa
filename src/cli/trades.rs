//! `cascadesim check SCENARIO --trades FILE`: the post-trade check of executed trades against
//! a replay scenario's series (its cascade steps). Exit status 0 when no exit came within the
//! window of a cascade, 3 when one did, 2 for bad input.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};

use cascadesim::desk::trades::{self, CascadeSteps, Direction, TradeCheck, TradeOptions};
use cascadesim::diagnostics::ScenarioError;
use cascadesim::output::format::{number, price, thousands, usd};
use cascadesim::output::style::wrap;

use super::common::InputError;

/// Exit status when an exit came within a cascade's window.
pub(crate) const EXIT_IN_CASCADE: i32 = 3;

/// Runs the post-trade check and prints it (a table, or one JSON object per trade).
pub(crate) fn post_trade(
    scenario: &Path,
    file: &Path,
    options: &TradeOptions,
    json: bool,
) -> Result<i32> {
    if !(options.window_minutes >= 0.0 && options.window_minutes.is_finite()) {
        bail!(InputError(format!(
            "--window-minutes must be a finite number >= 0, found {}",
            options.window_minutes
        )));
    }
    if !(options.cascade_quantile > 0.0 && options.cascade_quantile <= 1.0) {
        bail!(InputError(format!(
            "--cascade-quantile must be in (0, 1], found {}",
            options.cascade_quantile
        )));
    }
    let loaded = super::backtest::load(scenario, None)?;
    let grid = &loaded.grid;
    let Some(steps) = trades::cascade_steps(grid, options) else {
        bail!(InputError(format!(
            "{}: the series {} has no `long_liquidated`/`short_liquidated` columns, so it has no cascade steps to check trades against",
            scenario.display(),
            loaded.prices.display()
        )));
    };
    let text = cascadesim::run::files::read_named(file, "trades file").map_err(InputError)?;
    let origin = file.display().to_string();
    let list =
        trades::read_trades(&text, grid).map_err(|issues| ScenarioError { origin, issues })?;
    let checks = trades::check_trades(grid, &steps, &list, options);
    if json {
        let mut out = String::new();
        for c in &checks {
            let _ = writeln!(out, "{}", serde_json::to_string(c)?);
        }
        print!("{out}");
    } else {
        print!(
            "{}",
            render(&checks, &steps, options, &scenario.display().to_string())
        );
    }
    Ok(if checks.iter().any(|c| c.exit_into_cascade) {
        EXIT_IN_CASCADE
    } else {
        0
    })
}

/// One table row (at most 80 columns): time, side, kind, size, price, minutes from the cascade,
/// slippage in bp and USD, flag.
fn row(cells: [&str; 9]) -> String {
    let [time, side, kind, size, px, minutes, bps, dollars, flag] = cells;
    format!(
        "{time:<20} {side:<4} {kind:<5} {size:>8} {px:>9} {minutes:>7} {bps:>7} {dollars:>8} {flag}"
    )
    .trim_end()
    .to_string()
}

/// The terminal report.
fn render(checks: &[TradeCheck], steps: &CascadeSteps, o: &TradeOptions, scenario: &str) -> String {
    let mut out = format!(
        "cascadesim {} · check --trades · {scenario}\n",
        env!("CARGO_PKG_VERSION")
    );
    let head = format!(
        "cascade steps: observed liquidations ≥ {} units (the {} quantile of the {} steps with liquidations), {} cascades; window ±{} min",
        number(steps.threshold),
        o.cascade_quantile,
        thousands(steps.steps_with_liquidations as u64),
        thousands(steps.cascades.len() as u64),
        o.window_minutes
    );
    for line in wrap(&head, 80) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n{}",
        row([
            "time (UTC)",
            "side",
            "kind",
            "size",
            "price",
            "Δmin",
            "slip bp",
            "slip $",
            ""
        ])
    );
    for c in checks {
        let minutes = c
            .minutes_from_cascade
            .map_or("–".into(), |m| format!("{m:+.1}"));
        let cells = [
            c.time.clone(),
            match c.side {
                Direction::Buy => "buy".into(),
                Direction::Sell => "sell".into(),
            },
            c.kind.to_string(),
            format!("{}", c.size),
            price(c.price),
            minutes,
            c.slippage_bps.map_or("–".into(), |b| format!("{b:+.1}")),
            c.slippage_usd.map_or("–".into(), usd),
            if c.exit_into_cascade {
                "EXIT".into()
            } else if c.within_window {
                "near".into()
            } else {
                String::new()
            },
        ];
        let cells: [&str; 9] = std::array::from_fn(|k| cells[k].as_str());
        let _ = writeln!(out, "{}", row(cells));
    }
    let exits = checks.iter().filter(|c| c.kind == "exit").count();
    let inside = checks.iter().filter(|c| c.exit_into_cascade).count();
    let tail = format!(
        "{inside} of {exits} exits within {} min of a cascade step (EXIT; near: an entry within the window). Δmin: minutes from the nearest cascade (− before it, + after); slip: paid against the price before that cascade began (+ worse than it), within the window only.",
        o.window_minutes
    );
    let _ = writeln!(out);
    for line in wrap(&tail, 80) {
        let _ = writeln!(out, "{line}");
    }
    out
}

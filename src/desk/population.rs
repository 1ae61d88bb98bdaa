//! The drawn population as a table (`cascadesim population`): every position of one
//! replicate (fixed mode) or of one path's draw (per-path mode), with the names of its
//! population, asset and venue and its liquidation price under the population's tiers.

use crate::engine::Market;
use crate::model::population::Positions;
use crate::model::spec::{PopulationMode, Scenario};

/// Which draw to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// Fixed mode: replicate `r` (path `i` trades against replicate `i mod R`).
    Replicate(u32),
    /// Per-path mode: the population path `p` draws.
    Path(u64),
}

/// A draw that the scenario does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DrawError(pub String);

/// Every position of one draw, struct-of-arrays; populations in scenario order, within a
/// population longs then shorts, each in liquidation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PopulationTable {
    /// Names of the populations, assets and venues the index columns refer to.
    pub population_names: Vec<String>,
    pub asset_names: Vec<String>,
    /// Per population: its venue's name (the asset's name when it has no venues).
    pub venue_names: Vec<String>,
    pub population: Vec<u32>,
    pub asset: Vec<u32>,
    pub long: Vec<bool>,
    /// Base units.
    pub size: Vec<f64>,
    /// USD.
    pub entry: Vec<f64>,
    /// Notional at entry over isolated margin.
    pub leverage: Vec<f64>,
    /// USD, with the population's maintenance tiers.
    pub liquidation_price: Vec<f64>,
}

impl PopulationTable {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.size.len()
    }

    /// Whether the draw holds no position.
    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
    }
}

/// Checks that `draw` exists in this scenario's mode (and replicate count).
///
/// # Errors
/// A replicate in per-path mode, a path in fixed mode, or a replicate `≥ R`.
pub fn check_draw(scenario: &Scenario, draw: Draw) -> Result<(), DrawError> {
    let mode = scenario.simulation.population_mode;
    match (draw, mode) {
        (Draw::Replicate(r), PopulationMode::Fixed) => {
            let n = scenario.replicates().unwrap_or(1);
            if r >= n {
                return Err(DrawError(format!(
                    "--replicate {r}: the scenario has {n} population replicate{} (0 to {})",
                    if n == 1 { "" } else { "s" },
                    n - 1
                )));
            }
            Ok(())
        }
        (Draw::Path(_), PopulationMode::PerPath) => Ok(()),
        (Draw::Replicate(_), PopulationMode::PerPath) => Err(DrawError(
            "--replicate needs population = \"fixed\"; this scenario draws a population per path (use --path N)".into(),
        )),
        (Draw::Path(_), PopulationMode::Fixed) => Err(DrawError(
            "--path needs population = \"per_path\"; this scenario has a fixed population (use --replicate R)".into(),
        )),
    }
}

/// The positions of `draw` (checked with [`check_draw`] first).
pub fn table(scenario: &Scenario, market: &Market, draw: Draw) -> PopulationTable {
    let owned;
    let pops: &[Positions] = match draw {
        Draw::Replicate(r) => &market.replicate(r).positions,
        Draw::Path(p) => {
            owned = market.draw_path_populations(p);
            &owned
        }
    };
    let mut t = PopulationTable {
        population_names: (0..scenario.populations.len())
            .map(|k| scenario.population_name(k))
            .collect(),
        asset_names: scenario.assets.iter().map(|a| a.name.clone()).collect(),
        venue_names: scenario
            .populations
            .iter()
            .map(|p| {
                let a = &scenario.assets[p.asset];
                a.venues
                    .as_ref()
                    .map_or(a.name.clone(), |v| v.list[p.venue].name.clone())
            })
            .collect(),
        ..PopulationTable::default()
    };
    for (k, (spec, pos)) in scenario.populations.iter().zip(pops).enumerate() {
        for (long, l) in [(true, &pos.longs), (false, &pos.shorts)] {
            for i in 0..l.len() {
                t.population.push(k as u32);
                t.asset.push(spec.asset as u32);
                t.long.push(long);
                t.size.push(l.qty[i]);
                t.entry.push(l.entry[i]);
                t.leverage.push(l.qty[i] * l.entry[i] / l.margin[i]);
                t.liquidation_price.push(l.liq[i]);
            }
        }
    }
    t
}

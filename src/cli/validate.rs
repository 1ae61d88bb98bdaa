//! `cascadesim validate`: check scenario files and list every problem.

use cascadesim::output::format::thousands;
use std::path::PathBuf;

use anyhow::Result;

use cascadesim::diagnostics::ScenarioError;
use cascadesim::model::spec::PopulationMode;

use super::common::load;

/// Validates each file; exit code 2 when any is invalid.
pub(crate) fn validate(files: &[PathBuf]) -> Result<i32> {
    let mut bad = 0;
    for f in files {
        if let Some(replay) = super::backtest::validate_replay(f) {
            match replay {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    bad += 1;
                    report(&e);
                }
            }
            continue;
        }
        match load(f).and_then(|s| Ok((super::sweep::check_table(f)?, s))) {
            Ok((grid, s)) => {
                let positions: String = match s.simulation.population_mode {
                    PopulationMode::Fixed => match s.replicates() {
                        Some(r) if r > 1 => {
                            format!(
                                "{} positions × {r} population replicates",
                                thousands(s.position_count())
                            )
                        }
                        _ => format!("{} positions", thousands(s.position_count())),
                    },
                    PopulationMode::PerPath => "positions drawn per path".into(),
                };
                let n_lending = s.lending.len();
                let lending = if n_lending == 0 {
                    String::new()
                } else {
                    let accounts: u64 = s.lending.iter().map(|l| l.accounts).sum();
                    format!(
                        ", {n_lending} lending market{}, {} accounts",
                        plural(n_lending),
                        thousands(accounts)
                    )
                };
                let sweep = grid
                    .map(|n| format!(", [sweep]: {n} grid point{}", plural(n)))
                    .unwrap_or_default();
                println!(
                    "ok: {} ({} asset{}, {} population{}, {positions}{lending}, {} paths × {} steps{sweep})",
                    f.display(),
                    s.assets.len(),
                    plural(s.assets.len()),
                    s.populations.len(),
                    plural(s.populations.len()),
                    thousands(s.simulation.paths),
                    thousands(u64::from(s.simulation.steps))
                );
            }
            Err(e) => {
                bad += 1;
                report(&e);
            }
        }
    }
    if bad > 0 {
        eprintln!(
            "{bad} of {} file{} invalid",
            files.len(),
            plural(files.len())
        );
        Ok(2)
    } else {
        Ok(0)
    }
}

fn report(e: &anyhow::Error) {
    if let Some(se) = e.downcast_ref::<ScenarioError>() {
        eprint!("error: {se}");
    } else {
        eprintln!("error: {e:#}");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

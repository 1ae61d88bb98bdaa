//! `cascadesim population`: writes every position of one drawn population (a replicate in
//! fixed mode, a path's draw in per-path mode) as CSV, or HDF5 when the file ends in `.h5`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::desk::population::{self, Draw};
use cascadesim::engine::Market;
use cascadesim::model::spec::PopulationMode;
use cascadesim::output::population::{write_csv, write_h5};

use super::common::{InputError, check_file_out, create_parents, load};

#[derive(Args)]
pub(crate) struct PopulationArgs {
    /// Scenario TOML file.
    scenario: PathBuf,
    /// Output file: CSV (readable back as a `positions_file`), or HDF5 when it ends in .h5.
    #[arg(long)]
    out: PathBuf,
    /// Fixed population: which replicate (default 0, the one path 0 trades against).
    #[arg(long, value_name = "R")]
    replicate: Option<u32>,
    /// Per-path population: which path's draw (default 0).
    #[arg(long, value_name = "N")]
    path: Option<u64>,
    /// No summary line on the terminal.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn population(args: &PopulationArgs) -> Result<i32> {
    if args.out.is_dir() {
        bail!(InputError(format!(
            "--out {} is a folder; give a file name ending in .csv or .h5",
            args.out.display()
        )));
    }
    check_file_out(&args.out)?;
    let scenario = load(&args.scenario)?;
    let draw = match (
        args.replicate,
        args.path,
        scenario.simulation.population_mode,
    ) {
        (Some(_), Some(_), _) => bail!(InputError(
            "give --replicate (fixed population) or --path (per-path population), not both".into()
        )),
        (Some(r), None, _) => Draw::Replicate(r),
        (None, Some(p), _) => Draw::Path(p),
        (None, None, PopulationMode::Fixed) => Draw::Replicate(0),
        (None, None, PopulationMode::PerPath) => Draw::Path(0),
    };
    population::check_draw(&scenario, draw).map_err(|e| InputError(e.to_string()))?;
    if !scenario.lending.is_empty() && !args.quiet {
        eprintln!("note: lending accounts are not positions and are not listed");
    }
    let market = Market::new(&scenario);
    let table = population::table(&scenario, &market, draw);
    let h5 = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("h5"));
    let which = match draw {
        Draw::Replicate(r) => format!("replicate {r}"),
        Draw::Path(p) => format!("the draw of path {p}"),
    };
    create_parents(&args.out)?;
    if h5 {
        let attrs = vec![
            (
                "cascadesim_version".to_string(),
                env!("CARGO_PKG_VERSION").into(),
            ),
            (
                "scenario_file".to_string(),
                args.scenario.display().to_string().into(),
            ),
            ("seed".to_string(), scenario.simulation.seed.into()),
            ("draw".to_string(), which.clone().into()),
        ];
        write_h5(&args.out, &table, attrs)?;
    } else {
        write_csv(&args.out, &table)?;
    }
    if !args.quiet {
        println!(
            "wrote {} ({} positions of {which}, {} population{})",
            args.out.display(),
            table.len(),
            table.population_names.len(),
            if table.population_names.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    Ok(0)
}

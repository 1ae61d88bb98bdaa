//! Parameter sweeps and threshold tuning: pure logic, no I/O.
//!
//! A sweep edits the scenario document at parameter paths (`path`), crosses the values of
//! each swept parameter into a grid and validates every grid point's scenario text with the
//! normal scenario validation before anything runs (`grid`). Every grid point runs the same
//! paths from the same seed (common random numbers), so neighbouring points are compared by
//! paired per-path differences (`paired`). `point` reduces one grid point's run to its
//! reported figures; `tune` bisects on one parameter for a target probability; `tornado`
//! moves parameters one at a time around the scenario's values. The CLI (`cli/sweep.rs`)
//! drives the runs and `output::sweep` writes the files.

pub mod grid;
pub mod paired;
pub mod path;
pub mod point;
pub mod tornado;
pub mod tune;

use crate::diagnostics::ScenarioError;

pub use grid::{Axis, Grid, Plan, parse_set, parse_values, plan};
pub use paired::{NeighbourDifference, Neighbours, PairedDifference, paired_flags};
pub use path::KeyPath;
pub use point::{POINT_FIELDS, PointOutcome, PointStats, evaluate};

/// A sweep that cannot run as given.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The base scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The sweep's parameters or grid points are invalid: every problem, each naming its
    /// parameter path.
    #[error("{}", show(origin, problems))]
    Input {
        origin: String,
        problems: Vec<String>,
    },
}

fn show(origin: &str, problems: &[String]) -> String {
    let n = problems.len();
    let mut s = format!(
        "{origin}: {n} problem{} with the sweep",
        if n == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(p);
    }
    s
}

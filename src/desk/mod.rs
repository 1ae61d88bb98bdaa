//! Desk tools on a validated scenario, pure computation: the drawn population as a table
//! ([`population`], behind `cascadesim population`), prospective positions read from text
//! ([`position`]) and the pre-trade check of a position against the scenario's liquidation
//! clusters, book and Monte Carlo paths ([`check`], behind `cascadesim check`).

pub mod check;
pub mod population;
pub mod position;

//! Desk tools on a validated scenario, pure computation: the drawn population as a table
//! ([`population`], behind `cascadesim population`), prospective positions read from text
//! ([`position`]) and the pre-trade check of a position against the scenario's liquidation
//! clusters, book and Monte Carlo paths ([`check`], behind `cascadesim check`), and the
//! post-trade check of executed trades against a replayed series' cascade steps
//! ([`trades`], behind `cascadesim check --trades`).

pub mod check;
pub mod population;
pub mod position;
pub mod trades;

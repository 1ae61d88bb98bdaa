//! Pure model code: price processes, order books (and the arbitrage between an asset's
//! venues), margin arithmetic and position populations, and the searches of sorted slices they
//! share; `spec` holds the validated description of a run they are built from (which
//! `scenario` produces). No I/O, no threads, no knowledge of files or the terminal, and no
//! import of any module above it.

pub mod accounts;
pub mod arbitrage;
pub mod book;
pub mod bootstrap;
pub mod chi2;
pub mod correlation;
pub mod ddsum;
pub mod funding;
pub mod lending;
pub mod margin;
pub mod population;
pub mod price;
pub mod search;
pub mod spec;

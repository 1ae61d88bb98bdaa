//! Pure model code: price processes, order books (and the arbitrage between an asset's
//! venues), margin arithmetic and position populations, and the searches of sorted slices they
//! share. No I/O, no threads, no knowledge of files or the terminal.

pub mod arbitrage;
pub mod book;
pub mod bootstrap;
pub mod chi2;
pub mod funding;
pub mod lending;
pub mod margin;
pub mod population;
pub mod price;
pub mod search;

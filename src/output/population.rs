//! The files of `cascadesim population`: the drawn positions as CSV (the columns a
//! `positions_file` reads, plus population, asset and venue) or HDF5. Both are written to a
//! temporary file beside the destination and renamed into place, so a failed write leaves
//! nothing half-written; a destination that is not a regular file (a folder, device, FIFO)
//! is refused, never replaced.

use std::path::Path;

use super::OutputError;
use super::h5::{AttrValue, Column, Group, write_h5_atomic};
use crate::desk::population::PopulationTable;

/// CSV header, in column order.
pub const CSV_HEADER: &str =
    "population,asset,venue,side,size,entry_price,leverage,liquidation_price";

/// The table as CSV text: numbers in Rust's shortest round-trip form, so reading them back
/// gives the same `f64`s; names quoted by the `csv` crate when they need it.
pub fn csv_text(t: &PopulationTable) -> String {
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = CSV_HEADER.split(',').collect();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&header);
    for i in 0..t.len() {
        let k = t.population[i] as usize;
        let _ = w.write_record([
            t.population_names[k].as_str(),
            t.asset_names[t.asset[i] as usize].as_str(),
            t.venue_names[k].as_str(),
            if t.long[i] { "long" } else { "short" },
            &t.size[i].to_string(),
            &t.entry[i].to_string(),
            &t.leverage[i].to_string(),
            &t.liquidation_price[i].to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes the CSV to `path` (atomically).
///
/// # Errors
/// When the file cannot be written or renamed into place.
pub fn write_csv(path: &Path, t: &PopulationTable) -> Result<(), OutputError> {
    super::html::write_atomic(path, csv_text(t).as_bytes())
}

/// Writes the HDF5 file to `path` (atomically): group `/positions` with one dataset per
/// column (`population`, `asset` as indices into the root attributes `populations`,
/// `assets` (newline-separated names); `long` 1/0; the numbers), and `venues` per population.
///
/// # Errors
/// When HDF5 cannot write the file.
pub fn write_h5(
    path: &Path,
    t: &PopulationTable,
    attrs: Vec<(String, AttrValue)>,
) -> Result<(), OutputError> {
    let long: Vec<u8> = t.long.iter().map(|&l| u8::from(l)).collect();
    let mut root = attrs;
    root.push(("populations".into(), t.population_names.join("\n").into()));
    root.push(("assets".into(), t.asset_names.join("\n").into()));
    root.push(("venues".into(), t.venue_names.join("\n").into()));
    let mut g = Group::new("positions");
    g.columns = vec![
        Column::new(
            "population",
            "1",
            "index into the root attribute `populations` (one name per line)",
            t.population.as_slice(),
        ),
        Column::new(
            "asset",
            "1",
            "index into the root attribute `assets` (one name per line)",
            t.asset.as_slice(),
        ),
        Column::new("long", "1", "1 for a long, 0 for a short", long.as_slice()),
        Column::new("size", "base units", "position size", t.size.as_slice()),
        Column::new("entry_price", "USD", "entry price", t.entry.as_slice()),
        Column::new(
            "leverage",
            "1",
            "notional at entry over isolated margin",
            t.leverage.as_slice(),
        ),
        Column::new(
            "liquidation_price",
            "USD",
            "liquidation price under the population's maintenance tiers",
            t.liquidation_price.as_slice(),
        ),
    ];
    super::check_file_dest(path)?;
    write_h5_atomic(path, &root, &[g])?;
    Ok(())
}

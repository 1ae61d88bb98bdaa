//! The flash-crash floor (see `benches/support/floor.rs`) for a given number of paths, so that
//! its instructions per path can be counted with callgrind the same way as the engine's:
//!
//! ```text
//! cargo build --release --example floor
//! valgrind --tool=callgrind target/release/examples/floor 20
//! valgrind --tool=callgrind target/release/examples/floor 60
//! ```
//!
//! and (difference of the two totals) / 40 is the floor's cost of one path. Prints the lowest
//! price over the paths so that no work can be optimised away.

use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

#[path = "../benches/support/floor.rs"]
mod floor;

fn main() {
    let paths: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("usage: floor PATHS"))
        .unwrap_or(20);
    let text = include_str!("../scenarios/btc_flash_crash.toml");
    let s = Scenario::parse(text, "btc_flash_crash.toml", &NoFiles).expect("valid scenario");
    let fp = floor::FloorPath::new(&s);
    let low = (0..paths).map(|p| fp.run(p)).fold(f64::INFINITY, f64::min);
    println!("{paths} floor paths, lowest price {low}");
}

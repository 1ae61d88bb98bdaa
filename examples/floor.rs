//! The floor of the flash crash, or of the peer workload with `peer` as second argument (see
//! `benches/support/floor.rs`), for a given number of paths, so that its instructions per
//! path can be counted with callgrind the same way as the engine's:
//!
//! ```text
//! cargo build --release --example floor
//! valgrind --tool=callgrind target/release/examples/floor 20
//! valgrind --tool=callgrind target/release/examples/floor 60
//! valgrind --tool=callgrind target/release/examples/floor 60 peer
//! ```
//!
//! and (difference of the two totals) / 40 is the floor's cost of one path. Prints the lowest
//! price over the paths so that no work can be optimised away.

use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

#[path = "../benches/support/floor.rs"]
mod floor;

fn main() {
    let mut args = std::env::args().skip(1);
    let paths: u64 = args
        .next()
        .map(|a| a.parse().expect("usage: floor PATHS [peer]"))
        .unwrap_or(20);
    let (name, text) = match args.next().as_deref() {
        None => (
            "btc_flash_crash.toml",
            include_str!("../scenarios/btc_flash_crash.toml"),
        ),
        Some("peer") => ("peer.toml", include_str!("../scenarios/bench/peer.toml")),
        Some(other) => panic!("usage: floor PATHS [peer], found `{other}`"),
    };
    let s = Scenario::parse(text, name, &NoFiles).expect("valid scenario");
    let fp = floor::FloorPath::new(&s);
    let low = (0..paths).map(|p| fp.run(p)).fold(f64::INFINITY, f64::min);
    println!("{paths} floor paths of {name}, lowest price {low}");
}

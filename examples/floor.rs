//! The floor of the flash crash, or of one of issue 26's peer workloads given as second
//! argument (`peer`, `peer2`, `peer4`: 1, 2 or 4 independent assets with the −8% shock;
//! `peer1_calm`, `peer2_calm`, `peer4_calm`: the same without it; see
//! `benches/support/floor.rs`), for a given number of paths, so that its instructions per
//! path can be counted with callgrind the same way as the engine's:
//!
//! ```text
//! cargo build --release --example floor
//! valgrind --tool=callgrind target/release/examples/floor 20
//! valgrind --tool=callgrind target/release/examples/floor 60
//! valgrind --tool=callgrind target/release/examples/floor 60 peer4
//! ```
//!
//! and (difference of the two totals) / 40 is the floor's cost of one path. Prints the lowest
//! price over the paths so that no work can be optimised away.

use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

#[path = "../benches/support/floor.rs"]
mod floor;

/// The benchmark workloads the floor knows, by the name given on the command line.
const WORKLOADS: [(&str, &str); 6] = [
    ("peer", include_str!("../scenarios/bench/peer.toml")),
    ("peer2", include_str!("../scenarios/bench/peer2.toml")),
    ("peer4", include_str!("../scenarios/bench/peer4.toml")),
    (
        "peer1_calm",
        include_str!("../scenarios/bench/peer1_calm.toml"),
    ),
    (
        "peer2_calm",
        include_str!("../scenarios/bench/peer2_calm.toml"),
    ),
    (
        "peer4_calm",
        include_str!("../scenarios/bench/peer4_calm.toml"),
    ),
];

const USAGE: &str = "usage: floor PATHS [peer|peer2|peer4|peer1_calm|peer2_calm|peer4_calm]";

fn main() {
    let mut args = std::env::args().skip(1);
    let paths: u64 = args.next().map(|a| a.parse().expect(USAGE)).unwrap_or(20);
    let (name, text) = match args.next() {
        None => (
            "btc_flash_crash".to_string(),
            include_str!("../scenarios/btc_flash_crash.toml"),
        ),
        Some(w) => match WORKLOADS.iter().find(|(n, _)| *n == w) {
            Some(&(n, text)) => (n.to_string(), text),
            None => panic!("{USAGE}, found `{w}`"),
        },
    };
    let s = Scenario::parse(text, &format!("{name}.toml"), &NoFiles).expect("valid scenario");
    let fp = floor::FloorPath::new(&s);
    let low = (0..paths).map(|p| fp.run(p)).fold(f64::INFINITY, f64::min);
    println!(
        "{paths} floor paths of {name} ({} assets), lowest price {low}",
        fp.assets()
    );
}

//! The `peer/engine/1threads` bench's timed loop outside criterion, for cachegrind and
//! callgrind (counts that do not depend on the machine's load):
//!
//! ```text
//! cargo build --release --example peer_loop
//! valgrind --tool=cachegrind --cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 \
//!   --LL=8388608,16,64 target/release/examples/peer_loop R
//! ```
//!
//! Draws the market of `scenarios/bench/peer.toml` (100k positions, 32 population
//! replicates), runs its 256 paths once untimed (as the bench does before timing: the
//! replicates, prefix sums and samples get built), then `R` more times (default 1) with
//! `mc::run` on one thread. One bench iteration = (the counts for `R` = 2 − those for
//! `R` = 1); per path, divide by 256. Every ladder structure is built in the first run, so
//! this is the steady state the bench times.

use std::sync::atomic::AtomicBool;

use cascadesim::engine::Market;
use cascadesim::mc;
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;

fn main() {
    let reps: u32 = std::env::args().nth(1).map_or(1, |a| {
        a.parse()
            .unwrap_or_else(|_| panic!("usage: peer_loop [REPS], got `{a}`"))
    });
    let text = include_str!("../scenarios/bench/peer.toml");
    let s = Scenario::parse(text, "peer.toml", &NoFiles).expect("valid scenario");
    let m = Market::new(&s);
    let cancel = AtomicBool::new(false);
    const PATHS: u64 = 256;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    pool.install(|| {
        for _ in 0..=reps {
            let r = mc::run(&m, 0, PATHS, &|_n| {}, &cancel).expect("not cancelled");
            std::hint::black_box(r);
        }
    });
}

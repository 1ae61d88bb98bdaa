//! Steps of the living population (`history::living::LivingBook`) beside N open positions far
//! from their liquidation prices, so that the per-step cost can be counted with callgrind at
//! 10⁴, 10⁵ and 10⁶ open positions (issue 26, target 4; `benches/replay.rs` times the same
//! step with criterion):
//!
//! ```text
//! cargo build --release --example living_steps
//! valgrind --tool=callgrind target/release/examples/living_steps 1000000 2000
//! valgrind --tool=callgrind target/release/examples/living_steps 1000000 22000
//! ```
//!
//! (difference of the two totals) / 20,000 is one step's instructions: building the N
//! positions and the first sweep are in both runs and cancel. A step is the one of the
//! criterion benchmark: the liquidation check at the step's extremes, ten positions opened
//! near the price that close 60 steps later, the amortised sweep of closed entries. Prints the
//! liquidated quantity so that no work can be optimised away.

use cascadesim::history::living::LivingBook;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut arg = |default: u32| -> u32 {
        args.next()
            .map(|a| a.parse().expect("usage: living_steps OPEN STEPS"))
            .unwrap_or(default)
    };
    let (open, steps) = (arg(1_000_000), arg(2_000));
    let mut book = LivingBook::new();
    for i in 0..open {
        // Longs liquidated below 50..60, shorts above 150..160: never reached.
        let long = i % 2 == 0;
        let liq = if long { 50.0 } else { 150.0 } + f64::from(i % 1000) / 100.0;
        book.open(long, liq, u32::MAX, 1.0);
    }
    let mut liquidated = 0.0;
    for k in 1..=steps {
        let (long, short) = book.liquidate(k, 99.0, 101.0);
        liquidated += long + short;
        for j in 0..10u32 {
            let long = j % 2 == 0;
            book.open(long, if long { 98.0 } else { 102.0 }, k + 60, 1.0);
        }
        book.sweep(k);
    }
    println!(
        "{steps} steps beside {open} open positions: {liquidated} liquidated, {} heap entries",
        book.entries()
    );
}

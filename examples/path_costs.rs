//! What a flash-crash path costs, path by path, and how that cost splits between the floor,
//! the positions liquidated and the cascade rounds:
//!
//! ```text
//! cargo build --release --example path_costs
//! taskset -c 0 target/release/examples/path_costs 1024 > costs.txt
//! ```
//!
//! Times paths `0..N` (default 1,024) one at a time, each `REPS` times (default 3, the least
//! kept, so a preempted run does not count), and prints one row per path: path, µs,
//! liquidations, cascade rounds, most rounds in a step. The last lines (starting with `#`)
//! give the mean and a least-squares fit `µs ≈ a + b·liquidations + c·rounds`: `a` is what a
//! path costs without liquidation work (compare the floor benchmark), `b` the cost of one
//! closed position and `c` the cost of one round. Wall time, so run it on a quiet core.

use std::time::Instant;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, simulate_path};
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;
use nalgebra::{DMatrix, DVector};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args().nth(n).map_or(default, |a| {
        a.parse()
            .unwrap_or_else(|_| panic!("usage: path_costs [PATHS] [REPS], got `{a}`"))
    })
}

fn main() {
    let paths = arg(1, 1024);
    let reps = arg(2, 3).max(1);
    let text = include_str!("../scenarios/btc_flash_crash.toml");
    let s = Scenario::parse(text, "btc_flash_crash.toml", &NoFiles).expect("valid scenario");
    let market = Market::new(&s);
    let mut rows = Vec::new();
    println!("# path us liquidations rounds max_rounds_in_step");
    for path in 0..paths {
        let mut best = f64::INFINITY;
        let mut summary = None;
        for _ in 0..reps {
            let mut per_asset = [AssetPathMetrics::default()];
            let t = Instant::now();
            let r = simulate_path(&market, path, &mut per_asset, &mut NoObserver);
            best = best.min(t.elapsed().as_secs_f64() * 1e6);
            summary = Some(r);
        }
        let r = summary.expect("at least one repetition");
        println!(
            "{path} {best:.2} {} {} {}",
            r.liquidation_count, r.cascade_rounds, r.max_rounds_in_step
        );
        rows.push((
            best,
            f64::from(r.liquidation_count),
            f64::from(r.cascade_rounds),
        ));
    }
    let n = rows.len();
    let mean = |f: fn(&(f64, f64, f64)) -> f64| rows.iter().map(f).sum::<f64>() / n as f64;
    println!(
        "# mean {:.2} us, {:.0} liquidations, {:.1} rounds over {n} paths",
        mean(|r| r.0),
        mean(|r| r.1),
        mean(|r| r.2)
    );
    if n >= 3 {
        let x = DMatrix::from_fn(n, 3, |i, j| [1.0, rows[i].1, rows[i].2][j]);
        let y = DVector::from_fn(n, |i, _| rows[i].0);
        match x.clone().svd(true, true).solve(&y, 1e-12) {
            Ok(c) => {
                let fit = &x * &c;
                let ss_res: f64 = (&y - fit).iter().map(|e| e * e).sum();
                let ss_tot: f64 = y.iter().map(|v| (v - mean(|r| r.0)).powi(2)).sum();
                println!(
                    "# fit: {:.2} us + {:.3} ns per liquidation + {:.1} ns per round (R^2 {:.2})",
                    c[0],
                    c[1] * 1e3,
                    c[2] * 1e3,
                    1.0 - ss_res / ss_tot
                );
            }
            Err(e) => println!("# no fit: {e}"),
        }
    }
}

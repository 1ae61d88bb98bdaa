//! Criterion benchmarks of the living population (`cascadesim::history`), the replay behind
//! `cascadesim backtest` and `calibrate`.
//!
//! - `living_step/{10000,100000,1000000}`: one step of a book that already holds N open
//!   positions far from their liquidation prices: 10 new positions open (closing 60 steps
//!   later), the step's liquidation check pops the expired ones. The per-step cost must not
//!   grow with N (a binary heap: O(log N) per insertion, nothing per untouched position).
//!   Throughput: steps/s.
//! - `ten_day_replay/one_path`: `replay_path` over the bundled ETH series (14,385 one-minute
//!   steps) with 6,600 positions opened per hour and a 240-hour mean holding time, so about
//!   1.6 million positions are opened and about 10⁶ are open at the end. Throughput: steps/s.
//! - `ten_day_replay/one_path_stationary`: the same with `start = "stationary"`: about
//!   1.58 million positions seeded at step 0 (once per path), then the same steps.
//!
//! Run: `cargo bench --bench replay` (about a minute on 2 cores).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use cascadesim::history::grid::StepGrid;
use cascadesim::history::living::{Inflow, LivingBook, LivingParams, Marking, Start, replay_path};
use cascadesim::history::series::parse_series;

fn living_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("living_step");
    g.throughput(Throughput::Elements(1));
    for n in [10_000u32, 100_000, 1_000_000] {
        let mut book = LivingBook::new();
        for i in 0..n {
            // Longs liquidated below 50..60, shorts above 150..160: never reached.
            let long = i % 2 == 0;
            let liq = if long { 50.0 } else { 150.0 } + f64::from(i % 1000) / 100.0;
            book.open(long, liq, u32::MAX, 1.0);
        }
        let mut k = 0u32;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                k += 1;
                let out = book.liquidate(k, 99.0, 101.0);
                for j in 0..10u32 {
                    // Near the price, so they are popped once closed (lazy deletion).
                    let long = j % 2 == 0;
                    book.open(long, if long { 98.0 } else { 102.0 }, k + 60, 1.0);
                }
                book.sweep(k);
                black_box(out)
            });
        });
    }
    g.finish();
}

fn ten_day_replay(c: &mut Criterion) {
    let text = include_str!("../scenarios/data/ethusdt_2021-01-01_to_10.csv");
    let grid = StepGrid::new(&parse_series(text, "eth").expect("bundled series"), 60);
    let p = LivingParams {
        activity: None,
        inflow: Inflow::Constant(1e8),
        positions_per_hour: 6600.0,
        long_share: 0.55,
        funding_sensitivity: 0.0,
        leverage_median: 3.0,
        leverage_sigma: 0.5,
        max_leverage: 125.0,
        size_sigma: 1.0,
        holding_hours: 240.0,
        maintenance_margin: 0.005,
        start: Default::default(),
    };
    let mut g = c.benchmark_group("ten_day_replay");
    g.sample_size(10);
    g.throughput(Throughput::Elements(grid.len() as u64));
    // The same population started at its stationary state: 1.58 million positions seeded
    // at step 0 (positions_per_hour × holding_hours), then the same steps.
    let stationary = LivingParams {
        start: Start::Stationary,
        ..p
    };
    for (name, params) in [("one_path", &p), ("one_path_stationary", &stationary)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                black_box(replay_path(
                    &grid,
                    params,
                    Marking::Observed,
                    grid.len(),
                    &mut rng,
                ))
            });
        });
    }
    g.finish();
}

criterion_group!(benches, living_step, ten_day_replay);
criterion_main!(benches);

//! Criterion benchmarks of the simulation engine on the bundled flash-crash scenario
//! (`scenarios/btc_flash_crash.toml`: 1 asset, 1,440 one-minute steps, 100,000 positions,
//! a 3,000-level power-law book, Student-t(4) innovations, a −5% shock at step 15) and on
//! issue 26's peer workload (`scenarios/bench/peer.toml`: the same size, Gaussian steps, a
//! −8% shock at step 0 that liquidates about 30,000 positions per path).
//!
//! What is timed (set-up such as parsing and seeding the population is never timed unless
//! the group is about it):
//!
//! - `book_walk/{10,100,1000}`: one market sell from a fresh book state that walks exactly N
//!   bid levels of the flash-crash book (`BookState::market_order`). Throughput: levels/s.
//! - `one_path/flash_crash`: `simulate_path` for path 0 of the scenario (1,440 steps, 100k
//!   positions). Throughput: paths/s (× 1,440 for steps/s).
//! - `batch/{256,1024}paths/{1,2}threads`: `mc::run` over paths 0..N on a rayon pool of 1 or 2
//!   threads (the pool is built outside the timing). `mc::run` hands out 64-path chunks, so
//!   both sizes split evenly over two threads.
//!   Throughput: paths/s.
//! - `floor/flash_crash_rng`: the "physical limit" of one path: exactly the random numbers the
//!   scenario draws (ChaCha8 stream setup, then per step one standard normal and one χ²(4)
//!   draw) plus the log-price update and `exp`, with no book and no positions
//!   (`support/floor.rs`, shared with `examples/floor.rs` for instruction counts).
//!   Throughput: paths/s.
//! - `scaling_positions/{calm,shocked}/{10000,100000,1000000}`: one path (path 0) with 10k,
//!   100k and 1M positions; the market is seeded once outside the timing. `calm` has no shock
//!   and 5% volatility (almost no liquidations), `shocked` is the scenario as bundled.
//!   Throughput: paths/s.
//! - `scaling_steps/{100,1000,10000}`: one path with 100, 1,000 and 10,000 steps (100k
//!   positions, shock still at step 15). Throughput: steps/s.
//! - `peer/{engine,floor}/{1,2}threads`: 256 paths of the peer workload by `mc::run`, and
//!   its floor (`support/floor.rs`: per step one standard normal from the path's ChaCha8
//!   stream, the log-price update and its `exp`) over the same 256 paths, each on a rayon
//!   pool of 1 or 2 threads, interleaved so that the ratio engine / floor is read from one
//!   run. The population replicates are drawn once, before the timing. Throughput: paths/s.
//! - `several/{engine,floor}/{1,2,4}assets`: issue 26 target 2, 64 paths of the peer
//!   workload with 1, 2 or 4 independent assets (`scenarios/bench/peer.toml`, `peer2.toml`,
//!   `peer4.toml`: each asset with the peer's whole workload and its −8% shock; one population
//!   replicate, drawn before the timing) by `mc::run`, and their floors (`support/floor.rs`:
//!   per step and asset one standard normal from the path's ChaCha8 stream, the log-price
//!   update and its `exp`), on a pool of one thread, interleaved so that engine(N)/floor(N)
//!   and engine(N)/engine(1) are read from one run. Throughput: paths/s.
//! - `market_new/{100000,1000000}`: `Market::new`, i.e. drawing and sorting the population.
//!   Throughput: positions/s.
//!
//! Run everything (about 3–4 minutes on 2 cores):
//!
//! ```text
//! cargo bench --bench engine
//! ```
//!
//! Run one group (or one benchmark) by giving a filter regex, e.g.
//!
//! ```text
//! cargo bench --bench engine -- one_path
//! cargo bench --bench engine -- 'batch/256paths'
//! ```
//!
//! Results, machine and interpretation: `BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, PathSummary, simulate_path};
use cascadesim::mc;
use cascadesim::model::book::{BookShape, BookState};
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use rayon::iter::{IntoParallelIterator, ParallelIterator};

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};

#[path = "support/floor.rs"]
mod floor;
use floor::FloorPath;

/// The bundled realistic scenario.
const FLASH_CRASH: &str = include_str!("../scenarios/btc_flash_crash.toml");

/// Issue 26's peer workload (heavy liquidation at step 0).
const PEER: &str = include_str!("../scenarios/bench/peer.toml");

/// Issue 26 target 2: the peer workload with 2 and 4 independent assets.
const PEER2: &str = include_str!("../scenarios/bench/peer2.toml");
const PEER4: &str = include_str!("../scenarios/bench/peer4.toml");

/// Environment variable that switches the single-threaded groups to thread CPU time.
const CLOCK_ENV: &str = "CASCADESIM_BENCH_CLOCK";

/// The clock of the single-threaded groups: wall time by default; with
/// `CASCADESIM_BENCH_CLOCK=thread-cpu`, the CPU time of the benchmarking thread
/// (`CLOCK_THREAD_CPUTIME_ID`, Linux only), which other processes on a shared, busy machine
/// cannot inflate by preempting the thread. On an idle machine the two agree for these
/// CPU-bound, single-threaded routines. `batch` always uses wall time (its work runs on pool
/// threads, and its point is the wall-clock speed-up).
struct Clock {
    thread_cpu: bool,
    origin: Instant,
    wall: WallTime,
}

impl Clock {
    fn from_env() -> Clock {
        let thread_cpu = match std::env::var(CLOCK_ENV).as_deref() {
            Ok("thread-cpu") if thread_cpu_time().is_some() => true,
            Ok("thread-cpu") => panic!("{CLOCK_ENV}=thread-cpu is only supported on 64-bit Linux"),
            Ok("wall") | Err(_) => false,
            Ok(other) => panic!("{CLOCK_ENV} must be `wall` or `thread-cpu`, found `{other}`"),
        };
        if thread_cpu {
            eprintln!("note: single-threaded groups are timed in thread CPU time ({CLOCK_ENV})");
        }
        Clock {
            thread_cpu,
            origin: Instant::now(),
            wall: WallTime,
        }
    }

    fn now(&self) -> Duration {
        if self.thread_cpu {
            thread_cpu_time().expect("checked in from_env")
        } else {
            self.origin.elapsed()
        }
    }
}

impl Measurement for Clock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// CPU time consumed by the calling thread.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock_id: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux) and
    // clock_gettime writes nothing else.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

/// Replaces the single occurrence of `from` in `text`; panics if it is missing or ambiguous,
/// so a change to the scenario file cannot silently turn a variant into the original.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur exactly once in the scenario"
    );
    text.replacen(from, to, 1)
}

/// The flash-crash scenario with `count` positions and `steps` steps; `calm` removes the
/// shock and lowers volatility to 5% so that (almost) nothing is liquidated.
fn scenario_text(count: u64, steps: u32, calm: bool) -> String {
    let mut t = edit(FLASH_CRASH, "count = 100000", &format!("count = {count}"));
    t = edit(&t, "steps = 1440 ", &format!("steps = {steps} "));
    if calm {
        t = edit(&t, "return = -0.05", "return = 0.0");
        t = edit(&t, "volatility = 0.50 ", "volatility = 0.05 ");
    }
    t
}

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, "btc_flash_crash.toml (bench)", &NoFiles).expect("valid scenario")
}

fn market(count: u64, steps: u32, calm: bool) -> Market {
    Market::new(&parse(&scenario_text(count, steps, calm)))
}

fn run_path(m: &Market, path: u64) -> PathSummary {
    let mut per_asset = [AssetPathMetrics::default()];
    simulate_path(m, path, &mut per_asset, &mut NoObserver)
}

/// Prints (outside any timing) what the timed path does, so the numbers can be read against
/// the amount of liquidation work.
fn describe(label: &str, m: &Market, path: u64) {
    let s = run_path(m, path);
    eprintln!(
        "[{label}] path {path}: {} liquidations ({:.1}% of OI), {} cascade rounds, \
         max drawdown {:.1}%, cascade {}",
        s.liquidation_count,
        100.0 * s.liquidated_notional / s.open_interest,
        s.cascade_rounds,
        100.0 * s.max_drawdown,
        s.cascade
    );
}

/// A market built the first time a selected benchmark runs, so that filtered runs
/// (`-- one_path`) skip the set-up of the other groups, and criterion's per-sample calls of the
/// routine do not rebuild it.
struct LazyMarket {
    label: String,
    count: u64,
    steps: u32,
    calm: bool,
    market: Option<Market>,
}

impl LazyMarket {
    fn new(label: impl Into<String>, count: u64, steps: u32, calm: bool) -> LazyMarket {
        LazyMarket {
            label: label.into(),
            count,
            steps,
            calm,
            market: None,
        }
    }

    fn get(&mut self) -> &Market {
        self.market.get_or_insert_with(|| {
            let m = market(self.count, self.steps, self.calm);
            describe(&self.label, &m, 0);
            m
        })
    }
}

fn book_walk(c: &mut Criterion<Clock>) {
    let s = parse(FLASH_CRASH);
    let spec = &s.assets[0].book;
    let shape = BookShape::new(spec, s.simulation.step_seconds);
    let fundamental = s.assets[0].price;
    let multiplier = 1.0;
    let mut g = c.benchmark_group("book_walk");
    for n in [10usize, 100, 1000] {
        // Fill levels 0..n−1 completely and half of level n−1: exactly n levels touched.
        let full: f64 = spec.bid[..n - 1].iter().map(|l| l.size).sum();
        let qty = (full + 0.5 * spec.bid[n - 1].size) * multiplier;
        let check = BookState::default().market_order(&shape, fundamental, true, qty, multiplier);
        assert_eq!(check.levels_touched as usize, n);
        assert!(!check.exhausted);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &qty, |b, &qty| {
            b.iter(|| {
                // Fresh (untouched) book for every order.
                let mut st = BookState::default();
                let fill = st.market_order(
                    &shape,
                    black_box(fundamental),
                    true,
                    black_box(qty),
                    multiplier,
                );
                black_box((fill, st))
            })
        });
    }
    g.finish();
}

fn one_path(c: &mut Criterion<Clock>) {
    let mut lazy = LazyMarket::new("one_path", 100_000, 1440, false);
    let mut g = c.benchmark_group("one_path");
    g.throughput(Throughput::Elements(1));
    g.bench_function("flash_crash", |b| {
        let m = lazy.get();
        b.iter(|| run_path(m, black_box(0)))
    });
    g.finish();
}

/// A rayon pool of `threads` threads, built outside any timing.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn batch(c: &mut Criterion) {
    let mut lazy = LazyMarket::new("batch", 100_000, 1440, false);
    let cancel = AtomicBool::new(false);
    let mut g = c.benchmark_group("batch");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(6));
    for paths in [256u64, 1024] {
        g.throughput(Throughput::Elements(paths));
        for threads in [1usize, 2] {
            let pool = pool(threads);
            let id = BenchmarkId::new(format!("{paths}paths"), format!("{threads}threads"));
            g.bench_function(id, |b| {
                let m = lazy.get();
                b.iter(|| {
                    pool.install(|| mc::run(m, 0, black_box(paths), &|_n| {}, &cancel))
                        .expect("not cancelled")
                })
            });
        }
    }
    g.finish();
}

fn floor(c: &mut Criterion<Clock>) {
    let fp = FloorPath::new(&parse(FLASH_CRASH));
    assert_eq!(fp.steps, 1440);
    let mut g = c.benchmark_group("floor");
    g.throughput(Throughput::Elements(1));
    g.bench_function("flash_crash_rng", |b| {
        b.iter(|| black_box(&fp).run(black_box(0)))
    });
    g.finish();
}

fn peer(c: &mut Criterion) {
    let s = Scenario::parse(PEER, "peer.toml (bench)", &NoFiles).expect("valid scenario");
    let fp = FloorPath::new(&s);
    assert_eq!(fp.steps, 1440);
    let m = Market::new(&s);
    describe("peer", &m, 0);
    let cancel = AtomicBool::new(false);
    const PATHS: u64 = 256;
    // Draws the population replicates the timed paths meet, outside the timing.
    mc::run(&m, 0, PATHS, &|_n| {}, &cancel).expect("not cancelled");
    let mut g = paths_group(c, "peer", PATHS);
    for threads in [1usize, 2] {
        let label = format!("{threads}threads");
        engine_and_floor(&mut g, &label, &pool(threads), &m, &fp, PATHS, &cancel);
    }
    g.finish();
}

/// A group timing batches of `paths` paths: ten flat samples of 5 s after 1 s of warm-up,
/// throughput in paths/s.
fn paths_group<'a>(c: &'a mut Criterion, name: &str, paths: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(paths));
    g
}

/// Times `paths` paths of `m` by `mc::run` (`engine/{label}`) and the same paths' floor
/// (`floor/{label}`), one after the other on `pool`.
fn engine_and_floor(
    g: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    pool: &rayon::ThreadPool,
    m: &Market,
    fp: &FloorPath,
    paths: u64,
    cancel: &AtomicBool,
) {
    g.bench_function(BenchmarkId::new("engine", label), |b| {
        b.iter(|| {
            pool.install(|| mc::run(m, 0, black_box(paths), &|_n| {}, cancel))
                .expect("not cancelled")
        })
    });
    g.bench_function(BenchmarkId::new("floor", label), |b| {
        b.iter(|| {
            pool.install(|| {
                (0..black_box(paths))
                    .into_par_iter()
                    .map(|p| fp.run(p))
                    .reduce(|| f64::INFINITY, f64::min)
            })
        })
    });
}

fn several(c: &mut Criterion) {
    const PATHS: u64 = 64;
    let cancel = AtomicBool::new(false);
    let pool = pool(1);
    let mut g = paths_group(c, "several", PATHS);
    for (n, text) in [(1usize, PEER), (2, PEER2), (4, PEER4)] {
        let mut s = Scenario::parse(text, "peer (bench)", &NoFiles).expect("valid scenario");
        // One replicate, as the instruction counts in BENCHMARKS.md are taken.
        s.simulation.population_replicates = 1;
        let fp = FloorPath::new(&s);
        assert_eq!((fp.steps, fp.assets()), (1440, n));
        let m = Market::new(&s);
        describe(&format!("several/{n}assets"), &m, 0);
        // Draws the replicate (and its settlement sums) outside the timing.
        mc::run(&m, 0, PATHS, &|_n| {}, &cancel).expect("not cancelled");
        engine_and_floor(
            &mut g,
            &format!("{n}assets"),
            &pool,
            &m,
            &fp,
            PATHS,
            &cancel,
        );
    }
    g.finish();
}

fn scaling_positions(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("scaling_positions");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    for (variant, calm) in [("calm", true), ("shocked", false)] {
        for count in [10_000u64, 100_000, 1_000_000] {
            let label = format!("scaling_positions/{variant}/{count}");
            let mut lazy = LazyMarket::new(label, count, 1440, calm);
            g.bench_function(BenchmarkId::new(variant, count), |b| {
                let m = lazy.get();
                b.iter(|| run_path(m, black_box(0)))
            });
        }
    }
    g.finish();
}

fn scaling_steps(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("scaling_steps");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for steps in [100u32, 1_000, 10_000] {
        let mut lazy = LazyMarket::new(format!("scaling_steps/{steps}"), 100_000, steps, false);
        g.throughput(Throughput::Elements(u64::from(steps)));
        g.bench_function(BenchmarkId::from_parameter(steps), |b| {
            let m = lazy.get();
            b.iter(|| run_path(m, black_box(0)))
        });
    }
    g.finish();
}

fn market_new(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("market_new");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    for count in [100_000u64, 1_000_000] {
        let s = parse(&scenario_text(count, 1440, false));
        g.throughput(Throughput::Elements(count));
        g.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| Market::new(black_box(&s)))
        });
    }
    g.finish();
}

criterion_group!(
    name = single_threaded;
    config = Criterion::default().with_measurement(Clock::from_env());
    targets = book_walk, one_path, floor, scaling_positions, scaling_steps, market_new
);
criterion_group!(parallel, batch, peer, several);
criterion_main!(single_threaded, parallel);

//! The post-trade check (`cascadesim check --trades`): trades planted at known times around a
//! known cascade step (inside, at the window's edges, just outside), the slippage by hand,
//! the grouping of cascade steps, bad rows, and the command on the bundled example.

use cascadesim::desk::trades::{self, Direction, Trade, TradeOptions};
use cascadesim::history::grid::StepGrid;
use cascadesim::history::series::parse_series;

mod common;
use common::cli::{assert_fits_80, folder_with, run, run_in, text};

/// 2021-01-01T00:00:00Z, a whole minute.
const BASE: f64 = 1_609_459_200.0;

/// One row a minute at `BASE + 60·i` (`i` < 120) with price `100 + 0.1·i`; one unit of longs
/// liquidated every tenth step and 1,000 at the steps in `big`.
fn grid(big: &[usize]) -> StepGrid {
    let mut csv = String::from("time,price,long_liquidated,short_liquidated\n");
    for i in 0..120 {
        let liq = if big.contains(&i) {
            1000.0
        } else if i % 10 == 0 {
            1.0
        } else {
            0.0
        };
        csv.push_str(&format!(
            "{},{},{liq},0\n",
            BASE + 60.0 * i as f64,
            100.0 + 0.1 * i as f64
        ));
    }
    StepGrid::new(&parse_series(&csv, "planted").unwrap(), 60)
}

fn trade(line: usize, t: f64, side: Direction, price: f64, exit: bool) -> Trade {
    Trade {
        line,
        time: BASE + t,
        side,
        size: 2.0,
        price,
        exit,
    }
}

#[test]
fn planted_trades_fall_inside_and_outside_the_window_as_their_times_say() {
    let g = grid(&[60]);
    let o = TradeOptions::default();
    assert_eq!(o.window_minutes, 15.0);
    let steps = trades::cascade_steps(&g, &o).unwrap();
    // 12 steps with liquidations; the 0.99 quantile (x_(⌈12·0.99⌉) = the largest) is 1,000.
    assert_eq!(steps.steps_with_liquidations, 12);
    assert_eq!(steps.threshold, 1000.0);
    assert_eq!(steps.cascades.len(), 1);
    let c = &steps.cascades[0];
    // Step 60 ends at BASE + 3600 and covers (BASE + 3540, BASE + 3600]; the price before
    // it is step 59's, 100 + 5.9.
    assert_eq!((c.first_step, c.last_step), (60, 60));
    assert_eq!(c.start, "2021-01-01T00:59:00Z");
    assert_eq!(c.end, "2021-01-01T01:00:00Z");
    assert_eq!(c.direction, "down");
    assert!((c.pre_cascade_mid - 105.9).abs() < 1e-9);
    let (s, b) = (Direction::Sell, Direction::Buy);
    let list = [
        trade(2, 3570.0, s, 100.0, true),         // inside the step
        trade(3, 3600.0 + 900.0, b, 110.0, true), // 15 min after it: the edge, inside
        trade(4, 3600.0 + 901.0, s, 100.0, true), // one second later: outside
        trade(5, 3540.0 - 900.0, s, 104.0, true), // 15 min before it began: inside
        trade(6, 3540.0 - 901.0, s, 104.0, true), // one second earlier: outside
        trade(7, 3580.0, b, 105.0, false),        // an entry inside: not an exit
    ];
    let r = trades::check_trades(&g, &steps, &list, &o);
    let minutes: Vec<f64> = r.iter().map(|t| t.minutes_from_cascade.unwrap()).collect();
    assert_eq!(minutes[..3], [0.0, 15.0, 901.0 / 60.0]);
    assert_eq!(minutes[3..5], [-15.0, -901.0 / 60.0]);
    let within: Vec<bool> = r.iter().map(|t| t.within_window).collect();
    assert_eq!(within, [true, true, false, true, false, true]);
    let exits: Vec<bool> = r.iter().map(|t| t.exit_into_cascade).collect();
    assert_eq!(exits, [true, true, false, true, false, false]);
    // Steps: t_{k−1} < time ≤ t_k.
    let step: Vec<usize> = r.iter().map(|t| t.step).collect();
    assert_eq!(step, [60, 75, 76, 44, 44, 60]);
    // Slippage against 105.9, by hand: a sell at 100 paid 5.9 per unit below it
    // (557.13 bp, $11.80 for 2 units); a buy at 110 paid 4.1 above it.
    let (bp, usd) = (r[0].slippage_bps.unwrap(), r[0].slippage_usd.unwrap());
    assert!((bp - 1e4 * 5.9 / 105.9).abs() < 1e-9 && (bp - 557.129_367).abs() < 1e-6);
    assert!((usd - 11.8).abs() < 1e-9);
    assert!((r[1].slippage_usd.unwrap() - 8.2).abs() < 1e-9);
    assert!((r[1].slippage_bps.unwrap() - 1e4 * 4.1 / 105.9).abs() < 1e-9);
    // A buy at 105 did better than the mid: negative slippage; a sell at 104 before the
    // cascade paid 1.9 below it.
    assert!((r[5].slippage_usd.unwrap() + 2.0 * 0.9).abs() < 1e-9);
    assert!((r[3].slippage_usd.unwrap() - 2.0 * 1.9).abs() < 1e-9);
    assert_eq!(r[2].slippage_bps, None);
    assert_eq!(r[4].slippage_usd, None);
    // A narrower window moves the edge.
    let narrow = TradeOptions {
        window_minutes: 10.0,
        ..o
    };
    let r = trades::check_trades(&g, &steps, &list, &narrow);
    assert!(!r[1].within_window && r[0].within_window);
}

#[test]
fn cascade_steps_closer_than_the_window_are_one_cascade() {
    // Steps 60 and 75 (14 steps between them, within 15 minutes) are one cascade starting
    // at 60; step 100 (24 steps after 75) is another.
    let g = grid(&[60, 75, 100]);
    let steps = trades::cascade_steps(&g, &TradeOptions::default()).unwrap();
    let spans: Vec<(usize, usize)> = steps
        .cascades
        .iter()
        .map(|c| (c.first_step, c.last_step))
        .collect();
    assert_eq!(spans, [(60, 75), (100, 100)]);
    // Its liquidations: steps 60 and 75, and step 70's one unit between them.
    assert!((steps.cascades[0].long_liquidated - 2001.0).abs() < 1e-9);
    // A trade between 60 and 75 is during the cascade, against the price before step 60.
    let t = trade(2, 4000.0, Direction::Sell, 100.0, true);
    let r = trades::check_trades(&g, &steps, &[t], &TradeOptions::default());
    assert_eq!(r[0].minutes_from_cascade, Some(0.0));
    assert!((r[0].slippage_usd.unwrap() - 2.0 * 5.9).abs() < 1e-9);
    // With a 10-minute window they are apart.
    let narrow = TradeOptions {
        window_minutes: 10.0,
        ..TradeOptions::default()
    };
    assert_eq!(
        trades::cascade_steps(&g, &narrow).unwrap().cascades.len(),
        3
    );
}

#[test]
fn the_bundled_example_flags_its_exits_into_the_january_crash() {
    let o = run(&[
        "check",
        "scenarios/eth_jan2021_replay.toml",
        "--trades",
        "scenarios/data/ethusdt_2021-01_trades.csv",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}\n{}", text(&o.stderr));
    assert_fits_80("check --trades", out.lines());
    assert!(out.contains("EXIT"), "{out}");
    assert!(out.contains("2 of 3 exits"), "{out}");
    let o = run(&[
        "check",
        "scenarios/eth_jan2021_replay.toml",
        "--trades",
        "scenarios/data/ethusdt_2021-01_trades.csv",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    let flags: Vec<bool> = rows
        .iter()
        .map(|r| r["exit_into_cascade"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [true, true, false, false, false]);
    // The 09:38 sell at 945 during the 4 January crash, against the price before it began.
    let first = &rows[0];
    let mid = first["cascade"]["pre_cascade_mid"].as_f64().unwrap();
    let usd = first["slippage_usd"].as_f64().unwrap();
    assert!((usd - 50.0 * (mid - 945.0)).abs() < 1e-9, "{first}");
    assert!(mid > 945.0);
    for key in [
        "line",
        "time",
        "unix_time",
        "side",
        "kind",
        "size",
        "price",
        "step",
        "step_time",
        "cascade",
        "minutes_from_cascade",
        "within_window",
        "slippage_bps",
        "slippage_usd",
        "exit_into_cascade",
    ] {
        assert!(first.get(key).is_some(), "no {key} in {first}");
    }
    // A longer window catches the entry next to the 7 January cascade, still not an exit.
    assert!(rows[4]["within_window"].is_boolean());
}

#[test]
fn bad_rows_are_reported_with_their_lines_and_exit_2() {
    let scenario =
        std::fs::read_to_string(common::cli::root().join("scenarios/eth_jan2021_replay.toml"))
            .unwrap()
            .replace("data/ethusdt_2021-01-01_to_10.csv", "prices.csv");
    let prices = "time,price,long_liquidated,short_liquidated\n\
                  2021-01-01T00:00:30Z,100,0,0\n\
                  2021-01-01T00:01:30Z,99,5,0\n\
                  2021-01-01T00:02:30Z,98,0,0\n";
    let bad = "time,side,size,price\n\
               2021-01-01T00:01:00Z,sell,1,99\n\
               noon,sell,1,99\n\
               2021-01-01T00:01:10Z,short,0,99\n\
               2021-01-02T00:00:00Z,sell,1,99\n";
    let dir = folder_with(&[
        ("replay.toml", &scenario),
        ("prices.csv", prices),
        ("trades.csv", bad),
    ]);
    let o = run_in(
        dir.path(),
        &["check", "replay.toml", "--trades", "trades.csv"],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for expected in [
        "problems found",
        "trades.csv:3: time",
        "trades.csv:4: side",
        "trades.csv:4: size",
    ] {
        assert!(err.contains(expected), "no {expected:?} in:\n{err}");
    }
    // A row that reads but lies outside the series' steps, in the same list.
    assert!(
        err.contains("trades.csv:5: time") && err.contains("outside"),
        "{err}"
    );
    assert!(err.contains("4 problems found"), "{err}");
    // A series without liquidation columns has no cascade steps to check against.
    std::fs::write(
        dir.path().join("prices.csv"),
        "time,price\n2021-01-01T00:00:30Z,100\n2021-01-01T00:01:30Z,99\n",
    )
    .unwrap();
    let o = run_in(
        dir.path(),
        &["check", "replay.toml", "--trades", "trades.csv"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no `long_liquidated`"),
        "{}",
        text(&o.stderr)
    );
}

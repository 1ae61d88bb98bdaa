//! The end of every subcommand's `--help`: two or three examples and the exit codes, kept in
//! one table so that each command's help says the same thing about exit codes.

use clap::Command;

/// The exit codes, as every command's help ends ([`super::common::exit_code`] is the policy).
const EXIT_CODES: &str = "Exit codes:
  0    done
  1    any other failure (I/O); a figure that cannot be drawn is a warning
       (for `report`, whose output is the figures, an error)
  2    bad input (a scenario, results file, argument, file in the way):
       nothing written, any previous results left as they were
  129  hung up (SIGHUP, the terminal closed): nothing written
  130  interrupted (Ctrl-C): nothing written
  143  terminated (SIGTERM, e.g. scancel): nothing written";

/// Examples per subcommand (the name clap gives it).
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "validate",
        &[
            "cascadesim validate scenarios/btc_flash_crash.toml",
            "cascadesim validate scenarios/*.toml",
        ],
    ),
    (
        "run",
        &[
            "cascadesim run scenarios/btc_flash_crash.toml",
            "cascadesim run scenarios/btc_flash_crash.toml --paths 100000 \\\n      --seed 7 --threads 2",
            "cascadesim run scenarios/btc_flash_crash.toml --paths 1000000 --shard 3/8",
        ],
    ),
    (
        "tails",
        &[
            "cascadesim tails results/btc_flash_crash/results.h5",
            "cascadesim tails results/btc_flash_crash/results.h5 \\\n      --metric liquidated_notional --json",
        ],
    ),
    (
        "heatmap",
        &[
            "cascadesim heatmap scenarios/eth_high_leverage.toml",
            "cascadesim heatmap scenarios/eth_high_leverage.toml \\\n      --threshold 0.03 --out maps/",
        ],
    ),
    (
        "population",
        &[
            "cascadesim population scenarios/btc_flash_crash.toml --out btc.csv",
            "cascadesim population scenarios/btc_flash_crash.toml \\\n      --replicate 3 --out btc.h5",
        ],
    ),
    (
        "check",
        &[
            "cascadesim check scenarios/btc_flash_crash.toml \\\n      --position 'long 2.5 BTC @ 100000 x20'",
            "cascadesim check scenarios/btc_flash_crash.toml --positions book.csv --paths 0",
            "cascadesim check scenarios/eth_jan2021_replay.toml \\\n      --trades scenarios/data/ethusdt_2021-01_trades.csv",
        ],
    ),
    (
        "report",
        &[
            "cascadesim report results/btc_flash_crash/results.h5",
            "cascadesim report results/btc_flash_crash/results.h5 --out rebuilt/",
        ],
    ),
    (
        "merge",
        &[
            "cascadesim merge results/btc_flash_crash-shards/shard-*-of-8.h5",
            "cascadesim merge shards/*.h5 --out results/",
        ],
    ),
    (
        "sweep",
        &[
            "cascadesim sweep scenarios/btc_flash_crash.toml \\\n      --set 'assets[0].book.depth_usd=300e6:700e6:5'",
            "cascadesim sweep scenarios/btc_flash_crash.toml \\\n      --paths 2000   # the file's [sweep]",
        ],
    ),
    (
        "tune",
        &[
            "cascadesim tune scenarios/btc_flash_crash.toml \\\n      --param 'assets[0].book.depth_usd' \\\n      --target 'cascade_probability<=0.01' --range 400e6:1200e6",
            "cascadesim tune scenarios/btc_flash_crash.toml --paths 500 \\\n      --param 'assets[0].book.depth_usd' \\\n      --target 'cascade_probability<=0.01' --range 400e6:1200e6 \\\n      --tolerance 10e6",
        ],
    ),
    (
        "sensitivity",
        &[
            "cascadesim sensitivity scenarios/btc_flash_crash.toml \\\n      --param 'assets[0].book.depth_usd'",
            "cascadesim sensitivity scenarios/btc_flash_crash.toml \\\n      --param 'assets[0].volatility' \\\n      --param 'populations[0].open_interest_usd' --step 0.2",
        ],
    ),
    (
        "backtest",
        &[
            "cascadesim backtest scenarios/eth_jan2021_replay.toml",
            "cascadesim backtest scenarios/eth_jan2021_replay.toml \\\n      --from 2021-01-03T00:00:00Z --paths 64",
        ],
    ),
    (
        "calibrate",
        &[
            "cascadesim calibrate scenarios/eth_jan2021_replay.toml \\\n      --to 2021-01-08T00:00:00Z",
            "cascadesim calibrate scenarios/eth_jan2021_replay.toml \\\n      --to 2021-01-08T00:00:00Z --out fitted.toml",
        ],
    ),
    (
        "compare",
        &[
            "cascadesim compare results/last_week results/today",
            "cascadesim compare old/results.h5 results/btc_flash_crash --out comparisons/",
        ],
    ),
];

/// The examples of subcommand `name`, if the table has them.
fn examples(name: &str) -> Option<&'static [&'static str]> {
    EXAMPLES.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// `cmd` with every subcommand's help ending in its examples (when the table has them) and
/// the exit codes.
pub(crate) fn with_examples(cmd: Command) -> Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.after_help(EXIT_CODES);
    for name in names {
        let mut text = String::new();
        if let Some(ex) = examples(&name) {
            text.push_str("Examples:\n");
            for e in ex {
                text.push_str("  ");
                text.push_str(e);
                text.push('\n');
            }
            text.push('\n');
        }
        if name == "check" {
            // `check` has one more: a position inside the no-trade buffer.
            text.push_str(&EXIT_CODES.replace(
                "  129",
                "  3    a position lies inside the no-trade buffer (--trades: an exit lies\n       within a cascade's window)\n  129",
            ));
        } else {
            text.push_str(EXIT_CODES);
        }
        cmd = cmd.mut_subcommand(name, |s| s.after_help(text));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand has two or three examples (a command added without them fails
    /// here), and every example names its own subcommand.
    #[test]
    fn every_subcommand_has_examples() {
        let cmd = super::super::Cli::command();
        for s in cmd.get_subcommands() {
            let name = s.get_name();
            let ex = examples(name).unwrap_or_else(|| panic!("no examples for `{name}`"));
            assert!(
                (2..=3).contains(&ex.len()),
                "`{name}`: {} examples",
                ex.len()
            );
            for e in ex {
                assert!(e.starts_with(&format!("cascadesim {name} ")), "{e}");
                // Indented by 2, each line fits 80 columns unwrapped.
                for line in e.lines() {
                    assert!(line.chars().count() <= 78, "{line}");
                }
            }
        }
    }
}

//! A saved run's scenario and market, rebuilt from the scenario text its `results.h5` (or
//! shard file) stores, with the run's recorded seed, paths and replicates: what `report` and
//! `merge` replay traces and sample paths on. The replays are checked against the stored
//! results, so a market that cannot be rebuilt as it was is detected, not shown.

use crate::diagnostics::ScenarioError;
use crate::engine::Market;
use crate::model::spec::Scenario;
use crate::scenario::{FileSource, NoFiles};
use crate::summary::Provenance;

use super::files::{FsFiles, recorded_base};
use super::plan::Overrides;

/// Rebuilds the market from the stored scenario text, for replays (see
/// [`rebuild_scenario`]).
///
/// # Errors
/// As [`rebuild_scenario`].
pub fn rebuild_market(
    p: &Provenance,
    allow_external: bool,
    command: &str,
) -> Result<Market, String> {
    rebuild_scenario(p, allow_external, command).map(|s| Market::new(&s))
}

/// [`NoFiles`] that remembers whether a file was asked for.
#[derive(Default)]
struct Asked(std::cell::Cell<bool>);

impl FileSource for Asked {
    fn read(&self, relative: &str) -> Result<String, String> {
        self.0.set(true);
        NoFiles.read(relative)
    }
}

/// The run's scenario, re-read from its recorded text, with the run's seed, path count and
/// replicates ([`Overrides::recorded`]). Referenced files are read relative to the scenario
/// path recorded in the file, if they are still there (confined to the current folder
/// unless `allow_external`).
///
/// # Errors
/// Why the scenario cannot be rebuilt (files not found, assets that differ from the
/// file's), as one message; its hint names `command` (`report`, `merge`), the subcommand to
/// run again from the right folder.
pub fn rebuild_scenario(
    p: &Provenance,
    allow_external: bool,
    command: &str,
) -> Result<Scenario, String> {
    let parse = |files: &dyn FileSource| Scenario::parse(&p.scenario, &p.scenario_file, files);
    let without = Asked::default();
    let scenario = match parse(&without) {
        Ok(s) => s,
        // A text that is invalid by itself is said so (it was "reads files that results.h5
        // does not contain … not found relative to . either").
        Err(e) if !without.0.get() => {
            let shown: Vec<&str> = e
                .issues
                .iter()
                .take(3)
                .map(|i| i.message.as_str())
                .collect();
            let more = e.issues.len().saturating_sub(shown.len());
            return Err(format!(
                "the scenario stored in the file (scenario_toml) is not valid: {}{}",
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        Err(no_files) => {
            let base = recorded_base(&p.scenario_file, allow_external)?;
            parse(&FsFiles {
                base: base.clone(),
                allow_external,
            })
            .map_err(|e| {
                let first = |e: &ScenarioError| {
                    e.issues
                        .first()
                        .map_or(String::new(), |i| i.message.clone())
                };
                let held = if command == "merge" {
                    "the shard files do"
                } else {
                    "results.h5 does"
                };
                format!(
                    "sample paths are replayed from the scenario, which reads files that {held} not contain ({}); they were not found relative to {} either ({}); run `cascadesim {command}` from the folder the run was started in, or run the scenario again",
                    first(&no_files),
                    if base.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        base.display().to_string()
                    },
                    first(&e)
                )
            })?
        }
    };
    let names: Vec<&str> = scenario.assets.iter().map(|a| a.name.as_str()).collect();
    if names != p.assets {
        return Err(format!(
            "the scenario stored in the file (scenario_toml) defines the assets [{}] but the file's assets_json lists [{}]",
            names.join(", "),
            p.assets.join(", ")
        ));
    }
    Overrides::recorded(p)
        .apply(scenario)
        .map_err(|e| format!("the values recorded in the file do not fit its scenario: {e}"))
}

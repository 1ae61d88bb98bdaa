//! The provenance `cascadesim run` records, for tests that build summaries through the
//! library (included with `#[path]`, like `files.rs`).

use cascadesim::model::spec::Scenario;
use cascadesim::summary::{CascadeDefinition, Provenance};

/// A fixed-mode run of `paths` paths of `s` from path 0, with `s`'s replicates.
pub fn provenance(s: &Scenario, paths: u64) -> Provenance {
    Provenance {
        cascadesim_version: "test".into(),
        scenario_file: "test".into(),
        scenario_name: s.name.clone(),
        seed: s.simulation.seed,
        paths,
        first_path: 0,
        steps: s.simulation.steps,
        step_seconds: s.simulation.step_seconds,
        assets: s.assets.iter().map(|a| a.name.clone()).collect(),
        population_mode: "fixed".into(),
        positions: None,
        population_replicates: s.replicates().map(u64::from),
        cascade_definition: CascadeDefinition::from(&s.simulation.cascade),
        scenario: String::new(),
    }
}

//! `[simulation]`: paths, steps and their length, seed, engine rounds, population mode and
//! replicates, the cascade rule and the circuit breaker; and the clock (step count and length)
//! the other sections check their steps and horizons against.

use super::common::{number, out_of_range};
use super::reader::{Doc, Tbl};
use crate::model::spec::{CascadeRule, CircuitBreaker, PopulationMode, Simulation};

pub(super) const SIM_KEYS: &[&str] = &[
    "paths",
    "steps",
    "step_seconds",
    "seed",
    "start_hour_utc",
    "max_rounds",
    "population",
    "population_replicates",
    "cascade",
    "circuit_breaker",
];
pub(super) const BREAKER_KEYS: &[&str] = &["max_move", "halt_steps"];
pub(super) const CASCADE_KEYS: &[&str] = &["endogenous_move", "liquidated_oi_share", "rule"];
/// Upper bounds that keep a typo from asking for a machine-filling run.
pub const MAX_STEPS: u64 = crate::history::grid::MAX_GRID_STEPS;
/// Default `simulation.population_replicates`: enough populations for a between-replicate
/// variance on 31 degrees of freedom (t quantile 2.04 against the normal's 1.96).
pub const DEFAULT_REPLICATES: u32 = 32;
/// Most population replicates: each is a whole population in memory, and replicate `r` draws
/// from word `r·2⁵⁶` of its population's stream (a ChaCha8 stream holds 2⁶⁸ words).
pub const MAX_REPLICATES: u64 = 4_096;
/// The step count and step length, each when valid, for the checks of other sections that
/// depend on them (shock steps, the price range over the horizon).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Clock {
    pub(super) steps: Option<u32>,
    pub(super) step_seconds: Option<f64>,
}

/// Returns the step count and length on their own too (when valid), so assets can be checked
/// against them even if another `[simulation]` key is wrong.
pub(super) fn simulation(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> (Clock, Option<Simulation>) {
    let n0 = doc.issues.len();
    let paths = doc.u64(&mut t, "paths").unwrap_or(10_000);
    // Like `--paths 0`: a run of no paths would replace earlier results with nothing.
    out_of_range(doc, &mut t, "paths", paths == 0, "at least 1", paths);
    let steps = doc.req_u64(&mut t, "steps");
    if let Some(s) = steps {
        out_of_range(
            doc,
            &mut t,
            "steps",
            !(1..=MAX_STEPS).contains(&s),
            format_args!("between 1 and {MAX_STEPS}"),
            s,
        );
    }
    let n_before_step_seconds = doc.issues.len();
    let step_seconds = doc.f64(&mut t, "step_seconds").unwrap_or(60.0);
    out_of_range(
        doc,
        &mut t,
        "step_seconds",
        step_seconds <= 0.0,
        "> 0 seconds",
        step_seconds,
    );
    let step_seconds_ok = doc.issues.len() == n_before_step_seconds;
    let seed = doc.u64(&mut t, "seed").unwrap_or(1);
    let start_hour = doc.f64(&mut t, "start_hour_utc").unwrap_or(0.0);
    out_of_range(
        doc,
        &mut t,
        "start_hour_utc",
        !(0.0..24.0).contains(&start_hour),
        "in [0, 24) hours",
        start_hour,
    );
    let max_rounds = doc.u64(&mut t, "max_rounds").unwrap_or(50);
    out_of_range(
        doc,
        &mut t,
        "max_rounds",
        !(1..=1_000_000).contains(&max_rounds),
        "between 1 and 1000000",
        max_rounds,
    );
    let population_mode = match doc.choice(&mut t, "population", &["fixed", "per_path"]) {
        Some("per_path") => PopulationMode::PerPath,
        _ => PopulationMode::Fixed,
    };
    let replicates = doc.u64(&mut t, "population_replicates");
    if let Some(r) = replicates {
        if !(1..=MAX_REPLICATES).contains(&r) {
            doc.invalid(
                &mut t,
                "population_replicates",
                format!("must be between 1 and {MAX_REPLICATES}, found {r}"),
            );
        } else if population_mode == PopulationMode::PerPath {
            doc.invalid(
                &mut t,
                "population_replicates",
                "has no effect with population = \"per_path\" (every path draws its own population); remove it or use population = \"fixed\"".into(),
            );
        }
    }
    let cascade = match doc.table(&mut t, "cascade", CASCADE_KEYS) {
        Some(mut c) => {
            let endo = doc.f64(&mut c, "endogenous_move");
            if let Some(x) = endo {
                out_of_range(
                    doc,
                    &mut c,
                    "endogenous_move",
                    !(0.0..=1.0).contains(&x),
                    "a fraction in [0, 1]",
                    x,
                );
            }
            let share = doc.f64(&mut c, "liquidated_oi_share");
            if let Some(x) = share {
                out_of_range(
                    doc,
                    &mut c,
                    "liquidated_oi_share",
                    !(0.0..=1.0).contains(&x),
                    "a fraction in [0, 1]",
                    x,
                );
            }
            let rule = doc.choice(&mut c, "rule", &["any", "all"]).unwrap_or("any");
            if endo.is_none()
                && share.is_none()
                && !doc.has(&mut c, "endogenous_move")
                && !doc.has(&mut c, "liquidated_oi_share")
            {
                doc.invalid_table(
                    &c,
                    "needs `endogenous_move` and/or `liquidated_oi_share`".into(),
                );
            }
            doc.finish(c);
            CascadeRule {
                endogenous_move: endo,
                liquidated_oi_share: share,
                require_all: rule == "all",
            }
        }
        None => CascadeRule {
            endogenous_move: Some(0.05),
            liquidated_oi_share: None,
            require_all: false,
        },
    };
    let circuit_breaker = doc
        .table(&mut t, "circuit_breaker", BREAKER_KEYS)
        .map(|b| circuit_breaker(doc, b));
    doc.finish(t);
    let steps = steps
        .filter(|s| (1..=MAX_STEPS).contains(s))
        .map(|s| s as u32);
    let clock = Clock {
        steps,
        step_seconds: step_seconds_ok.then_some(step_seconds),
    };
    if doc.issues.len() > n0 {
        return (clock, None);
    }
    let Some(steps) = steps else {
        return (clock, None);
    };
    let sim = Simulation {
        paths,
        steps,
        step_seconds,
        seed,
        start_second_of_day: start_hour * 3600.0,
        max_rounds: max_rounds as u32,
        population_mode,
        population_replicates: replicates.map_or(DEFAULT_REPLICATES, |r| r as u32),
        cascade,
        circuit_breaker: circuit_breaker.flatten(),
    };
    (clock, Some(sim))
}

/// `[simulation.circuit_breaker]`.
pub(super) fn circuit_breaker(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> Option<CircuitBreaker> {
    let n0 = doc.issues.len();
    let max_move = number(
        doc,
        &mut t,
        "max_move",
        None,
        |x| x > 0.0 && x < 1.0,
        "a fraction in (0, 1)",
    );
    let halt_steps = doc.req_u64(&mut t, "halt_steps");
    if let Some(k) = halt_steps {
        out_of_range(
            doc,
            &mut t,
            "halt_steps",
            !(1..=MAX_STEPS).contains(&k),
            format_args!("between 1 and {MAX_STEPS} steps"),
            k,
        );
    }
    doc.finish(t);
    (doc.issues.len() == n0).then(|| CircuitBreaker {
        max_move,
        halt_steps: halt_steps.unwrap_or(1) as u32,
    })
}

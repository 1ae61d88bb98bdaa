//! cascadesim: a Monte Carlo simulator of liquidation cascades.
//!
//! A scenario (TOML) describes assets, their order books and populations of leveraged
//! positions. Each Monte Carlo path moves the fundamental prices, lets liquidations walk the
//! book, and records how far the mark price fell and how much of the fall came from the
//! liquidations themselves. Many paths run in parallel, each from its own random stream, so
//! results are bit-identical on any number of threads.
//!
//! Modules, bottom layer first (a module imports only modules above it in this list;
//! `tests/layers.rs` checks there is no cycle and that the rules below hold):
//! - leaves: [`diagnostics`] (the problems found in one input document, "did you mean"),
//!   [`metric_names`] (the per-path metric names the validator needs), [`stats`] and
//!   [`tails`] (statistics and extreme-value estimates on plain slices), [`shard`] (which
//!   paths a shard simulates), [`text`] (decoding input text, CSV record lines);
//!   [`clustered`] (path and population noise, on `stats`);
//! - [`model`]: the validated description of a run ([`model::spec`]) and the pure model
//!   code: price processes, order books, margin and settlement, positions and ladders,
//!   lending arithmetic, funding. Imports only the leaves;
//! - [`history`]: price series, replay and the living population (uses `model`);
//! - [`scenario`]: TOML text (and the CSVs it names) → a validated [`model::spec::Scenario`],
//!   every problem at once;
//! - [`engine`]: one path, step by step, with the cascade loop (uses `model`, never
//!   `scenario`); [`mc`]: many paths in parallel, reduced in path order; [`rare`]:
//!   importance sampling and multilevel splitting on the engine;
//! - [`metrics`] (per-path results as named columns), [`summary`] (the figures of
//!   `summary.json`);
//! - [`heatmap`] (the liquidation cluster map), [`desk`] (population listing, pre-trade
//!   check), [`sweep`] (parameter sweeps, tuning, sensitivity), [`compare`] (two saved runs);
//! - [`output`]: every file the program writes or reads back (HDF5, JSON, figures, HTML),
//!   written atomically, and the one number-formatting policy;
//! - [`run`]: the run pipeline, top of the library: a [`run::RunPlan`] (scenario plus
//!   overrides, fixed once), doing a run, its results folder, merging shards, rebuilding
//!   from `results.h5`, trace and sample-path selection, the memory guard.
//!
//! The binary's `cli` module is the only place that knows about the terminal: it parses
//! arguments, calls [`run`] and the other modules, prints, and maps errors to exit codes.

pub mod clustered;
pub mod compare;
pub mod desk;
pub mod diagnostics;
pub mod engine;
pub mod heatmap;
pub mod history;
pub mod mc;
pub mod metric_names;
pub mod metrics;
pub mod model;
pub mod output;
pub mod rare;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod summary;
pub mod sweep;
pub mod tails;
pub mod text;

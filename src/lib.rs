//! cascadesim: a Monte Carlo simulator of liquidation cascades.
//!
//! A scenario (TOML) describes assets, their order books and populations of leveraged
//! positions. Each Monte Carlo path moves the fundamental prices, lets liquidations walk the
//! book, and records how far the mark price fell and how much of the fall came from the
//! liquidations themselves. Many paths run in parallel, each from its own random stream, so
//! results are bit-identical on any number of threads.
//!
//! Layers, from pure to effectful:
//! - [`scenario`]: TOML text → validated [`scenario::Scenario`] (every problem reported at once);
//! - [`model`]: price processes, order book, positions and the liquidation ladder;
//! - [`engine`]: one path, step by step, with the cascade loop;
//! - [`mc`]: many paths in parallel, reduced in path order;
//! - [`stats`] and [`tails`]: summary statistics and extreme-value estimates on plain slices;
//!   [`clustered`]: the path and population noise of a mean over population replicates;
//! - [`shard`]: which paths shard `K/N` of a run simulates, and whether shards cover a run;
//! - [`compare`]: differences between two saved runs, paired when they share scenario and seed;
//! - [`sweep`]: parameter sweeps, paired differences, threshold tuning and sensitivity;
//! - [`output`]: `summary.json` and `results.h5`, written atomically;
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

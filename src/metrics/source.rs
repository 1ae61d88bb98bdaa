//! Where the statistics, replays and figures of a run get its per-path columns from, one
//! column at a time: [`ColumnSource`]. [`Held`] is columns in memory (shards, merged
//! shards, MPI ranks, rare-event runs, `report`); a whole plain run's columns are read back
//! from its staged `results.h5` instead (`output::streamed`), so such a run never holds more
//! than the few columns its statistics are working on.

use std::borrow::Cow;

use super::{AssetColumns, Column, PopulationColumns, PopulationId};

/// A path column without its values: what a reader needs to choose the columns it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub name: &'static str,
    pub unit: &'static str,
    /// Whether `summary.json` gives its distribution.
    pub summarize: bool,
}

impl Header {
    /// The header of `c`.
    pub fn of(c: &Column) -> Header {
        Header {
            name: c.name,
            unit: c.unit,
            summarize: c.summarize,
        }
    }
}

/// A run's per-path columns, handed out one at a time (a column in memory is borrowed, one
/// read back from a file is owned). A source that cannot read a column gives `None` and
/// keeps the error for its owner to report before anything is committed.
pub trait ColumnSource: Sync {
    /// The path columns, in order (`/paths`).
    fn path_headers(&self) -> Vec<Header>;
    /// The path column `name` with its values.
    fn path(&self, name: &str) -> Option<Cow<'_, Column>>;
    /// The assets' names, in scenario order (`/assets/<name>`).
    fn asset_names(&self) -> Vec<String>;
    /// Asset `a`'s column `name`.
    fn asset(&self, a: usize, name: &str) -> Option<Cow<'_, Column>>;
    /// Asset `a`'s cross-margin split by trigger asset (row-major, paths × assets), when the
    /// run has one.
    fn by_trigger(&self, a: usize) -> Option<Cow<'_, [f64]>>;
    /// The populations with per-path columns, in scenario order (none in a rare-event run).
    fn population_ids(&self) -> Vec<PopulationId>;
    /// The names of population `k`'s columns.
    fn population_names(&self, k: usize) -> Vec<&'static str>;
    /// Population `k`'s column `name`.
    fn population(&self, k: usize, name: &str) -> Option<Cow<'_, Column>>;
}

/// Columns held in memory.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub paths: &'a [Column],
    pub assets: &'a [AssetColumns],
    pub populations: &'a [PopulationColumns],
}

impl<'a> Held<'a> {
    /// Path columns alone (no asset or population columns).
    pub fn paths(paths: &'a [Column]) -> Self {
        Held {
            paths,
            assets: &[],
            populations: &[],
        }
    }
}

fn named<'c>(columns: &'c [Column], name: &str) -> Option<Cow<'c, Column>> {
    columns.iter().find(|c| c.name == name).map(Cow::Borrowed)
}

impl ColumnSource for Held<'_> {
    fn path_headers(&self) -> Vec<Header> {
        self.paths.iter().map(Header::of).collect()
    }

    fn path(&self, name: &str) -> Option<Cow<'_, Column>> {
        named(self.paths, name)
    }

    fn asset_names(&self) -> Vec<String> {
        self.assets.iter().map(|a| a.asset.clone()).collect()
    }

    fn asset(&self, a: usize, name: &str) -> Option<Cow<'_, Column>> {
        named(&self.assets.get(a)?.columns, name)
    }

    fn by_trigger(&self, a: usize) -> Option<Cow<'_, [f64]>> {
        self.assets.get(a)?.by_trigger.as_deref().map(Cow::Borrowed)
    }

    fn population_ids(&self) -> Vec<PopulationId> {
        self.populations
            .iter()
            .map(|p| PopulationId {
                name: p.name.clone(),
                asset: p.asset.clone(),
                venue: p.venue.clone(),
            })
            .collect()
    }

    fn population_names(&self, k: usize) -> Vec<&'static str> {
        self.populations
            .get(k)
            .map_or_else(Vec::new, |p| p.columns.iter().map(|c| c.name).collect())
    }

    fn population(&self, k: usize, name: &str) -> Option<Cow<'_, Column>> {
        named(&self.populations.get(k)?.columns, name)
    }
}

//! Run results → named columns. A whole run's results at once ([`columns`],
//! [`asset_columns`], [`population_columns`]: rare-event runs and sweeps), or block by
//! block as a run's paths are simulated ([`Collector`], fed by [`crate::mc::run_blocks`]), so
//! a large run holds its columns and one block of per-path structs, never every path's
//! structs. Both fill rows through the same per-block functions, so their columns are the
//! same values.

use rayon::prelude::*;

use crate::engine::{AssetPathMetrics, PathSummary, PopulationPathMetrics};
use crate::mc::RunResults;

use super::{
    ASSET_METRICS, AssetColumns, AssetMetricDef, Column, Kind, MetricDef, PopulationColumns,
    PopulationId, PopulationMetricDef, Values, path_metrics, population_metrics,
};

/// `n` zeroed values of `kind` (the pages are handed out by the system only when written).
fn zeroed(kind: Kind, n: usize) -> Values {
    match kind {
        Kind::F64 => Values::F64(vec![0.0; n]),
        Kind::U32 => Values::U32(vec![0; n]),
        Kind::Flag => Values::Flag(vec![0; n]),
    }
}

/// Writes `get` of each row of `rows` into `values` from row `at`, in the column's kind.
fn fill<T>(values: &mut Values, at: usize, rows: impl Iterator<Item = T>, get: impl Fn(T) -> f64) {
    match values {
        Values::F64(c) => c[at..].iter_mut().zip(rows).for_each(|(x, r)| *x = get(r)),
        Values::U32(c) => c[at..]
            .iter_mut()
            .zip(rows)
            .for_each(|(x, r)| *x = get(r) as u32),
        Values::Flag(c) => c[at..]
            .iter_mut()
            .zip(rows)
            .for_each(|(x, r)| *x = get(r) as u8),
    }
}

/// The path columns' rows `at .. at + block.len()` from `block`, each column on its own (in
/// parallel).
fn fill_paths(defs: &[&MetricDef], values: &mut [Values], at: usize, block: &[PathSummary]) {
    defs.par_iter()
        .zip(values.par_iter_mut())
        .for_each(|(d, v)| fill(v, at, block.iter(), d.get));
}

/// One asset's columns being filled: its metrics' values and, with cross-margin accounts,
/// its by-trigger matrix (`n_assets` values per row).
struct AssetPart {
    asset: String,
    defs: Vec<&'static AssetMetricDef>,
    values: Vec<Vec<f64>>,
    by_trigger: Option<Vec<f64>>,
}

impl AssetPart {
    fn new(asset: &str, venues: bool, cross_margin: bool, n: usize, n_assets: usize) -> Self {
        let defs: Vec<&'static AssetMetricDef> = ASSET_METRICS
            .iter()
            .filter(|d| d.applies(venues, cross_margin))
            .collect();
        AssetPart {
            asset: asset.to_owned(),
            values: defs.iter().map(|_| vec![0.0; n]).collect(),
            defs,
            by_trigger: cross_margin.then(|| vec![0.0; n * n_assets]),
        }
    }

    /// Rows `at ..` from asset `a`'s entries of `rows` (path-major, `n_assets` per path).
    fn fill(&mut self, at: usize, a: usize, n_assets: usize, rows: &[AssetPathMetrics]) {
        let mine = || rows.iter().skip(a).step_by(n_assets.max(1));
        for (d, v) in self.defs.iter().zip(&mut self.values) {
            v[at..]
                .iter_mut()
                .zip(mine())
                .for_each(|(x, m)| *x = (d.get)(m));
        }
        if let Some(matrix) = &mut self.by_trigger {
            let out = matrix[at * n_assets..].chunks_exact_mut(n_assets);
            for (row, m) in out.zip(mine()) {
                // Every path of a cross-margin run fills its row; a row left empty (nothing
                // settled) stays zeros.
                if m.cross_margin_by_trigger.len() == n_assets {
                    row.copy_from_slice(&m.cross_margin_by_trigger);
                }
            }
        }
    }

    fn finish(self) -> AssetColumns {
        AssetColumns {
            asset: self.asset,
            columns: self
                .defs
                .iter()
                .zip(self.values)
                .map(|(d, v)| Column {
                    name: d.name,
                    unit: d.unit,
                    description: d.description,
                    summarize: false,
                    values: Values::F64(v),
                })
                .collect(),
            by_trigger: self.by_trigger,
        }
    }
}

/// One population's columns being filled.
struct PopulationPart {
    id: PopulationId,
    defs: Vec<&'static PopulationMetricDef>,
    values: Vec<Values>,
}

impl PopulationPart {
    fn new(id: &PopulationId, funding: bool, engine: bool, n: usize) -> Self {
        let defs: Vec<&'static PopulationMetricDef> = population_metrics(funding, engine).collect();
        PopulationPart {
            id: id.clone(),
            values: defs.iter().map(|d| zeroed(d.kind, n)).collect(),
            defs,
        }
    }

    /// Rows `at ..` from population `k`'s entries of `rows` (path-major, `n_pops` per path).
    fn fill(&mut self, at: usize, k: usize, n_pops: usize, rows: &[PopulationPathMetrics]) {
        for (d, v) in self.defs.iter().zip(&mut self.values) {
            fill(v, at, rows.iter().skip(k).step_by(n_pops), d.get);
        }
    }

    fn finish(self) -> PopulationColumns {
        PopulationColumns {
            name: self.id.name,
            asset: self.id.asset,
            venue: self.id.venue,
            columns: self
                .defs
                .iter()
                .zip(self.values)
                .map(|(d, values)| Column {
                    name: d.name,
                    unit: d.unit,
                    description: d.description,
                    summarize: false,
                    values,
                })
                .collect(),
        }
    }
}

/// Whether `results` carries per-population figures for the populations `ids` (not in
/// rare-event runs).
fn has_populations(results: &RunResults, ids: &[PopulationId]) -> bool {
    let n = results.n_populations;
    n != 0 && n == ids.len() && results.populations.len() == results.paths.len() * n
}

/// A run's columns, filled block by block (in any order) as the blocks of its paths are
/// simulated. The columns are allocated zeroed for the whole run at the start (pages are
/// handed out only as rows are written), so the run holds its columns and the block being
/// simulated, never every path's structs.
pub struct Collector {
    first: u64,
    n: usize,
    n_assets: usize,
    defs: Vec<&'static MetricDef>,
    paths: Vec<Values>,
    assets: Vec<AssetPart>,
    /// Empty when the run records no per-population figures.
    populations: Vec<PopulationPart>,
    filled: usize,
}

impl Collector {
    /// Columns for `n` paths shaped like `shape` (a run's results without paths,
    /// [`RunResults::shape`]: its first path, flags and counts): assets `(name, has venues)`
    /// in scenario order, whether the run has cross-margin accounts, its populations' ids.
    pub fn new(
        shape: &RunResults,
        n: usize,
        assets: &[(String, bool)],
        cross_margin: bool,
        populations: &[PopulationId],
    ) -> Self {
        let n_assets = assets.len();
        let defs: Vec<&'static MetricDef> = path_metrics(shape.lending).collect();
        Collector {
            first: shape.first_path,
            n,
            n_assets,
            paths: defs.iter().map(|d| zeroed(d.kind, n)).collect(),
            defs,
            assets: assets
                .iter()
                .map(|(name, venues)| AssetPart::new(name, *venues, cross_margin, n, n_assets))
                .collect(),
            populations: if has_populations(shape, populations) {
                populations
                    .iter()
                    .map(|id| PopulationPart::new(id, shape.funding, shape.engine, n))
                    .collect()
            } else {
                Vec::new()
            },
            filled: 0,
        }
    }

    /// Copies one block of simulated paths (`block.first_path ..`, inside this collector's
    /// range, shaped like the collector's) into its rows.
    ///
    /// # Panics
    /// When the block does not lie inside the collector's paths or has another shape (a
    /// caller's error).
    pub fn add(&mut self, block: &RunResults) {
        let at = block
            .first_path
            .checked_sub(self.first)
            .and_then(|a| usize::try_from(a).ok())
            .expect("a block inside the run");
        let len = block.paths.len();
        assert!(at + len <= self.n, "a block inside the run");
        assert_eq!(block.n_assets, self.n_assets, "a block of the run's shape");
        assert_eq!(
            block.assets.len(),
            len * self.n_assets,
            "a block of the run's shape"
        );
        fill_paths(&self.defs, &mut self.paths, at, &block.paths);
        for (a, part) in self.assets.iter_mut().enumerate() {
            part.fill(at, a, self.n_assets, &block.assets);
        }
        if !self.populations.is_empty() {
            assert_eq!(
                block.populations.len(),
                len * self.populations.len(),
                "a block of the run's shape"
            );
            let k = self.populations.len();
            for (i, part) in self.populations.iter_mut().enumerate() {
                part.fill(at, i, k, &block.populations);
            }
        }
        self.filled += len;
    }

    /// The columns: path metrics, per asset, per population.
    pub fn finish(self) -> (Vec<Column>, Vec<AssetColumns>, Vec<PopulationColumns>) {
        debug_assert_eq!(self.filled, self.n, "every block of the run was added");
        (
            self.defs
                .iter()
                .zip(self.paths)
                .map(|(d, v)| d.column(v))
                .collect(),
            self.assets.into_iter().map(AssetPart::finish).collect(),
            self.populations
                .into_iter()
                .map(PopulationPart::finish)
                .collect(),
        )
    }
}

/// The columns of one block of paths on their own (row 0 is the block's first path), as a
/// [`Collector`] of the whole run fills its rows: what a run that writes its columns as it
/// simulates appends for the block. With a block without paths (a run's
/// [`RunResults::shape`]), the columns without rows: the layout of the run's columns.
pub fn block_columns(
    block: &RunResults,
    assets: &[(String, bool)],
    cross_margin: bool,
    populations: &[PopulationId],
) -> (Vec<Column>, Vec<AssetColumns>, Vec<PopulationColumns>) {
    let mut collector = Collector::new(block, block.paths.len(), assets, cross_margin, populations);
    collector.add(block);
    collector.finish()
}

/// Turns run results into columns (path order preserved), emptying `results.paths` as it
/// goes, so that a large set of results never exists as structs and all their columns at
/// once: the columns are allocated zeroed and filled from the last path backwards in blocks,
/// each block of structs given back once copied (the peak is the structs plus one block).
pub fn columns(results: &mut RunResults) -> Vec<Column> {
    const BLOCK: usize = 1 << 16;
    let n = results.paths.len();
    let defs: Vec<&MetricDef> = path_metrics(results.lending).collect();
    let mut values: Vec<Values> = defs.iter().map(|d| zeroed(d.kind, n)).collect();
    let mut end = n;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        fill_paths(&defs, &mut values, start, &results.paths[start..end]);
        results.paths.truncate(start);
        results.paths.shrink_to_fit();
        end = start;
    }
    defs.iter()
        .zip(values)
        .map(|(d, values)| d.column(values))
        .collect()
}

/// Per-asset columns of whole results, one group per asset; `venues[a]`: whether asset `a`
/// has venues; `cross_margin`: whether the run has cross-margin accounts.
pub fn asset_columns(
    results: &RunResults,
    names: &[String],
    venues: &[bool],
    cross_margin: bool,
) -> Vec<AssetColumns> {
    let n_assets = results.n_assets;
    let rows = results.assets.len() / n_assets.max(1);
    names
        .iter()
        .zip(venues)
        .enumerate()
        .map(|(a, (name, &v))| {
            let mut part = AssetPart::new(name, v, cross_margin, rows, n_assets);
            part.fill(0, a, n_assets, &results.assets);
            part.finish()
        })
        .collect()
}

/// Per-population columns of whole results, one group per population (none when the
/// results carry no per-population figures, as in rare-event runs).
pub fn population_columns(results: &RunResults, ids: &[PopulationId]) -> Vec<PopulationColumns> {
    if !has_populations(results, ids) {
        return Vec::new();
    }
    let k = ids.len();
    let rows = results.populations.len() / k;
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let mut part = PopulationPart::new(id, results.funding, results.engine, rows);
            part.fill(0, i, k, &results.populations);
            part.finish()
        })
        .collect()
}

/// The per-path columns of a rare-event run beyond the metrics: `weight` (the likelihood
/// ratio of the path's law to the sampling law, or the splitting weight), `log_weight`, and
/// under splitting `root_path` (the root path each row descends from).
pub fn weight_columns(log_weights: &[f64], roots: Option<&[u64]>) -> Vec<Column> {
    let mut c = vec![
        Column {
            name: "weight",
            unit: "1",
            description: "the path's weight in every estimate: its likelihood ratio (importance sampling) or R^-k after k splits (splitting)",
            summarize: false,
            values: Values::F64(log_weights.iter().map(|l| l.exp()).collect()),
        },
        Column {
            name: "log_weight",
            unit: "1",
            description: "natural log of weight (kept in full where weight underflows)",
            summarize: false,
            values: Values::F64(log_weights.to_vec()),
        },
    ];
    if let Some(r) = roots {
        c.push(Column {
            name: "root_path",
            unit: "path id",
            description: "splitting: the root path this row descends from (rows of one root are not independent)",
            summarize: false,
            values: Values::U32(
                r.iter()
                    .map(|&x| u32::try_from(x).unwrap_or(u32::MAX))
                    .collect(),
            ),
        });
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PathSummary;

    #[test]
    fn columns_hold_every_path_in_order_and_empty_the_paths() {
        // More paths than one block, so the backwards filling crosses a block boundary.
        let n = 70_000u32;
        let paths: Vec<PathSummary> = (0..n)
            .map(|i| PathSummary {
                max_drawdown: f64::from(i) * 1e-6,
                liquidation_count: i % 977,
                cascade: i % 3 == 0,
                lending_bad_debt: f64::from(i),
                ..PathSummary::default()
            })
            .collect();
        for lending in [false, true] {
            let mut r = RunResults {
                paths: paths.clone(),
                lending,
                ..RunResults::default()
            };
            let cols = columns(&mut r);
            assert!(r.paths.is_empty());
            let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
            let want: Vec<&str> = path_metrics(lending).map(|d| d.name).collect();
            assert_eq!(names, want);
            let get = |name: &str| {
                cols.iter()
                    .find(|c| c.name == name)
                    .map(|c| c.values.to_f64())
            };
            let expect = |f: &dyn Fn(u32) -> f64| (0..n).map(f).collect::<Vec<f64>>();
            assert_eq!(
                get("max_drawdown").unwrap(),
                expect(&|i| f64::from(i) * 1e-6)
            );
            assert_eq!(
                get("liquidation_count").unwrap(),
                expect(&|i| f64::from(i % 977))
            );
            assert_eq!(
                get("cascade").unwrap(),
                expect(&|i| f64::from(u8::from(i % 3 == 0)))
            );
            assert_eq!(
                get("lending_bad_debt"),
                lending.then(|| expect(&|i| f64::from(i)))
            );
        }
    }
}

//! `cascadesim run --mpi`: one run spread over the ranks of an MPI job (`mpirun -n R`).
//!
//! Rank `r` of `R` simulates shard `r/R` of the run (rayon still uses every core the rank
//! has), sends its per-path columns and realised-heatmap cents to rank 0, and rank 0 appends
//! them in rank order, which is path order, to the run's staged `results.h5` in the blocks a
//! single process streams, and writes the run's folder with the same `finish` as a single
//! process: the files are identical to a one-process run's.
//!
//! Built only with the cargo feature `mpi` (the `mpi` crate over the system's OpenMPI);
//! without it `--mpi` is refused with a message saying how to build it.

use anyhow::Result;

use cascadesim::shard::ShardSpec;

use cascadesim::metrics::Column;

use cascadesim::run::Run;

#[cfg(feature = "mpi")]
pub(crate) use with_mpi::Cluster;

#[cfg(not(feature = "mpi"))]
pub(crate) use without_mpi::Cluster;

impl Cluster {
    /// The part of the run this rank simulates.
    pub(crate) fn shard(&self) -> ShardSpec {
        ShardSpec {
            index: self.rank(),
            count: self.size(),
        }
    }
}

#[cfg(not(feature = "mpi"))]
mod without_mpi {
    use super::*;
    use crate::cli::common::InputError;

    /// Never made: this build has no MPI.
    pub(crate) enum Cluster {}

    impl Cluster {
        pub(crate) fn init() -> Result<Cluster> {
            Err(InputError(
                "this cascadesim was built without MPI: build it with `cargo build --release --features mpi` (needs libopenmpi-dev, openmpi-bin and libclang-dev), or use `run --shard K/N` and `merge`".into(),
            )
            .into())
        }

        pub(crate) fn rank(&self) -> u64 {
            match *self {}
        }

        pub(crate) fn size(&self) -> u64 {
            match *self {}
        }

        pub(crate) fn gather(
            &self,
            _part: Run,
            _staging: Option<&cascadesim::output::Staging>,
            _pool: &rayon::ThreadPool,
            _total: u64,
        ) -> Result<Option<cascadesim::run::Paths>> {
            match *self {}
        }

        pub(crate) fn share_columns(&self, _part: Vec<Column>) -> Result<Vec<Column>> {
            match *self {}
        }
    }
}

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::*;
    use anyhow::bail;
    use mpi::environment::Universe;
    use mpi::traits::{Communicator, Destination, Source};

    use mpi::traits::Root;

    // Columns are `path_metrics(lending)` in order, so zipping with all of them pairs each
    // column with its definition whether or not the run has lending columns.
    use cascadesim::metrics::{
        AssetColumns, PopulationColumns, Values, path_metrics, population_metrics,
    };
    use cascadesim::output::streamed::PathsWriter;
    use cascadesim::output::{RunColumns, Staging};
    use cascadesim::run::Paths;

    /// This process's place in the MPI job.
    pub(crate) struct Cluster {
        universe: Universe,
        rank: u64,
        size: u64,
    }

    impl Cluster {
        /// Initialises MPI. Only the main thread calls MPI (rayon's workers never do), which is
        /// the `Funneled` threading level.
        pub(crate) fn init() -> Result<Cluster> {
            let Some((universe, _level)) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            else {
                bail!("MPI was already initialised");
            };
            let world = universe.world();
            let (rank, size) = (world.rank() as u64, world.size() as u64);
            if rank != 0 {
                crate::cli::common::SILENT.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Cluster {
                universe,
                rank,
                size,
            })
        }

        pub(crate) fn rank(&self) -> u64 {
            self.rank
        }

        pub(crate) fn size(&self) -> u64 {
            self.size
        }

        /// Sends this rank's part to rank 0; on rank 0, receives every other rank's part in
        /// rank order (path order) and appends each to the run's staged `results.h5` in the
        /// blocks a single run streams, holding its own part and one other rank's at a time,
        /// then returns the whole run read back from the file as a run reads its own.
        /// Columns travel as `f64` (exact for the `u32` and flag columns too), one message per
        /// column, so no message exceeds MPI's count limit before a rank holds 2³¹ paths.
        pub(crate) fn gather(
            &self,
            part: Run,
            staging: Option<&Staging>,
            pool: &rayon::ThreadPool,
            total: u64,
        ) -> Result<Option<Paths>> {
            let world = self.universe.world();
            let root = world.process_at_rank(0);
            if self.rank != 0 {
                for c in &part.columns {
                    root.send(&c.values.to_f64()[..]);
                }
                for a in &part.asset_columns {
                    for c in &a.columns {
                        root.send(&c.values.to_f64()[..]);
                    }
                    // Row-major paths × assets: rank order is path order.
                    if let Some(m) = &a.by_trigger {
                        root.send(&m[..]);
                    }
                }
                for p in &part.population_columns {
                    for c in &p.columns {
                        root.send(&c.values.to_f64()[..]);
                    }
                }
                // MPI has no 128-bit integers: the exact cents go as low and high halves.
                let (lo, hi) = cascadesim::output::split_cents(&part.realised.cents);
                root.send(&lo[..]);
                root.send(&hi[..]);
                return Ok(None);
            }
            let Some(staging) = staging else {
                bail!("rank 0 of an MPI run writes the run's folder but has none staged");
            };
            let Run {
                columns,
                asset_columns,
                population_columns,
                mut realised,
                block,
            } = part;
            let own = RunColumns {
                paths: &columns,
                assets: &asset_columns,
                populations: &population_columns,
            };
            // A run has at least one path (the scenario and `--paths` say so). A write that
            // fails stops the appending, not the receiving: every other rank's part is still
            // received and dropped, so that no rank waits forever on a send rank 0 no longer
            // takes, and the error is returned after.
            let mut writer = PathsWriter::create(staging, 0, total, block, own).map_err(Into::into);
            let append = |w: &mut Result<PathsWriter>, part: RunColumns<'_>| {
                if let Ok(x) = w
                    && let Err(e) = pool.install(|| x.push(part))
                {
                    *w = Err(e.into());
                }
            };
            append(&mut writer, own);
            for r in 1..world.size() {
                let from = world.process_at_rank(r);
                let mut got = Vec::new();
                for (c, d) in columns.iter().zip(path_metrics(true)) {
                    let (v, _) = from.receive_vec::<f64>();
                    got.push(c.with_values(d.kind.values_from_f64(v)));
                }
                let mut assets = Vec::new();
                for a in &asset_columns {
                    let mut got_columns = Vec::new();
                    for c in &a.columns {
                        let (v, _) = from.receive_vec::<f64>();
                        got_columns.push(c.with_values(Values::F64(v)));
                    }
                    let by_trigger = a.by_trigger.as_ref().map(|_| from.receive_vec::<f64>().0);
                    assets.push(AssetColumns {
                        asset: a.asset.clone(),
                        columns: got_columns,
                        by_trigger,
                    });
                }
                let mut populations = Vec::new();
                for p in &population_columns {
                    let mut got_columns = Vec::new();
                    for c in &p.columns {
                        let d = population_metrics(true, true)
                            .find(|d| d.name == c.name)
                            .expect("a population column is a population metric");
                        let (v, _) = from.receive_vec::<f64>();
                        got_columns.push(c.with_values(d.kind.values_from_f64(v)));
                    }
                    populations.push(PopulationColumns {
                        name: p.name.clone(),
                        asset: p.asset.clone(),
                        venue: p.venue.clone(),
                        columns: got_columns,
                    });
                }
                let (lo, _) = from.receive_vec::<u64>();
                let (hi, _) = from.receive_vec::<u64>();
                if lo.len() != realised.cents.len() || hi.len() != lo.len() {
                    writer = Err(anyhow::anyhow!(
                        "rank {r} sent {} heatmap cells, expected {}",
                        lo.len(),
                        realised.cents.len()
                    ));
                    continue;
                }
                for ((x, l), h) in realised.cents.iter_mut().zip(lo).zip(hi) {
                    *x = x.saturating_add((u128::from(h) << 64) | u128::from(l));
                }
                let columns = RunColumns {
                    paths: &got,
                    assets: &assets,
                    populations: &populations,
                };
                append(&mut writer, columns);
            }
            Ok(Some(Paths::Streamed {
                columns: Box::new(writer?.into_source()?),
                realised,
            }))
        }

        /// Every rank's per-path columns joined in rank (path) order, on every rank: rank 0
        /// gathers them and broadcasts the whole run back, so that every rank computes the
        /// same statistics and takes the same decisions (`tune`'s bisection).
        pub(crate) fn share_columns(&self, part: Vec<Column>) -> Result<Vec<Column>> {
            let world = self.universe.world();
            let root = world.process_at_rank(0);
            let mut columns = part;
            if self.rank == 0 {
                for r in 1..world.size() {
                    let from = world.process_at_rank(r);
                    for (c, d) in columns.iter_mut().zip(path_metrics(true)) {
                        let (v, _) = from.receive_vec::<f64>();
                        c.values.append(d.kind.values_from_f64(v));
                    }
                }
            } else {
                for c in &columns {
                    root.send(&c.values.to_f64()[..]);
                }
            }
            for (c, d) in columns.iter_mut().zip(path_metrics(true)) {
                let mut v = if self.rank == 0 {
                    c.values.to_f64()
                } else {
                    Vec::new()
                };
                let mut len = v.len() as u64;
                root.broadcast_into(&mut len);
                v.resize(len as usize, 0.0);
                root.broadcast_into(&mut v[..]);
                c.values = d.kind.values_from_f64(v);
            }
            Ok(columns)
        }
    }
}

//! `cascadesim run --mpi`: one run spread over the ranks of an MPI job (`mpirun -n R`).
//!
//! Rank `r` of `R` simulates shard `r/R` of the run (rayon still uses every core the rank
//! has), sends its per-path columns and realised-heatmap cents to rank 0, and rank 0 joins
//! them in rank order, which is path order, and writes the run's folder with the same
//! `finish` as a single process: the files are identical to a one-process run's.
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

        pub(crate) fn gather(&self, _part: Run) -> Result<Option<Run>> {
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
    use cascadesim::metrics::{Values, path_metrics, population_metrics};

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
        /// rank order and returns the whole run. Columns travel as `f64` (exact for the `u32`
        /// and flag columns too), one message per column, so no message exceeds MPI's count
        /// limit before a rank holds 2³¹ paths.
        pub(crate) fn gather(&self, part: Run) -> Result<Option<Run>> {
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
            let mut whole = part;
            for r in 1..world.size() {
                let from = world.process_at_rank(r);
                for (c, d) in whole.columns.iter_mut().zip(path_metrics(true)) {
                    let (v, _) = from.receive_vec::<f64>();
                    c.values.append(d.kind.values_from_f64(v));
                }
                for a in &mut whole.asset_columns {
                    for c in &mut a.columns {
                        let (v, _) = from.receive_vec::<f64>();
                        c.values.append(Values::F64(v));
                    }
                    if let Some(m) = &mut a.by_trigger {
                        let (v, _) = from.receive_vec::<f64>();
                        m.extend(v);
                    }
                }
                for p in &mut whole.population_columns {
                    for c in &mut p.columns {
                        let d = population_metrics(true, true)
                            .find(|d| d.name == c.name)
                            .expect("a population column is a population metric");
                        let (v, _) = from.receive_vec::<f64>();
                        c.values.append(d.kind.values_from_f64(v));
                    }
                }
                let (lo, _) = from.receive_vec::<u64>();
                let (hi, _) = from.receive_vec::<u64>();
                if lo.len() != whole.realised.cents.len() || hi.len() != lo.len() {
                    bail!(
                        "rank {r} sent {} heatmap cells, expected {}",
                        lo.len(),
                        whole.realised.cents.len()
                    );
                }
                for ((x, l), h) in whole.realised.cents.iter_mut().zip(lo).zip(hi) {
                    *x = x.saturating_add((u128::from(h) << 64) | u128::from(l));
                }
            }
            Ok(Some(whole))
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

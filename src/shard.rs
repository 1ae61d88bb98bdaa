//! Shards of a run: which path ids shard `K` of `N` simulates, and whether a set of shards
//! covers a run exactly once. Pure arithmetic; the files are `output::shard`'s, the commands
//! the CLI's.
//!
//! Path `i` draws only from random stream `i` of the run seed, so simulating ids
//! `[first, first + count)` on one machine gives exactly the paths the whole run would give
//! there; merging the shards in path order reproduces the single-machine run bit for bit.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (`0 ≤ index < count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
}

impl ShardSpec {
    /// The path ids of this shard of a `total`-path run: `[K·P/N, (K+1)·P/N)` as
    /// `(first, count)`. The shards of one run are contiguous, disjoint, cover every path
    /// and differ in size by at most one path.
    pub fn range(&self, total: u64) -> (u64, u64) {
        let at = |k: u64| (u128::from(k) * u128::from(total) / u128::from(self.count)) as u64;
        let first = at(self.index);
        (first, at(self.index + 1) - first)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a `--shard` value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard \"{given}\": {reason}")]
pub struct ShardSpecError {
    pub given: String,
    pub reason: String,
}

impl FromStr for ShardSpec {
    type Err = ShardSpecError;

    /// Parses `K/N` (for example `3/16`), with `0 ≤ K < N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ShardSpecError {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| fail("expected K/N, e.g. 0/4 for the first of four shards"))?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| fail("K must be a whole number >= 0"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| fail("N must be a whole number >= 1"))?;
        if n == 0 {
            return Err(fail("N must be at least 1"));
        }
        if k >= n {
            return Err(fail("K must be below N (shards are numbered 0 to N-1)"));
        }
        Ok(ShardSpec { index: k, count: n })
    }
}

/// What is wrong with a set of shards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageError {
    #[error("no shards given")]
    Empty,
    #[error("{a} and {b} overlap: both hold paths {from}..{to}")]
    Overlap {
        a: String,
        b: String,
        from: u64,
        to: u64,
    },
    #[error("paths {from}..{to} of the {total}-path run are in no shard (missing shards?)")]
    Missing { from: u64, to: u64, total: u64 },
    #[error("{name} holds paths {from}..{to}, beyond the {total}-path run")]
    Beyond {
        name: String,
        from: u64,
        to: u64,
        total: u64,
    },
}

/// Checks that the shards `(name, first, count)` cover paths `0..total` exactly once and
/// returns their indices in path order. Empty shards (count 0) are allowed anywhere.
///
/// # Errors
/// Every overlap, gap and out-of-range shard, in path order (a merge of many shards with
/// several missing should name them all at once).
pub fn check_coverage(
    total: u64,
    shards: &[(String, u64, u64)],
) -> Result<Vec<usize>, Vec<CoverageError>> {
    if shards.is_empty() {
        return Err(vec![CoverageError::Empty]);
    }
    let mut order: Vec<usize> = (0..shards.len()).collect();
    order.sort_by_key(|&i| (shards[i].1, shards[i].2));
    let mut problems = Vec::new();
    // Paths 0..next are covered; `last` is the shard that reaches furthest.
    let mut next = 0u64;
    let mut last: Option<usize> = None;
    for &i in &order {
        let (name, first, count) = &shards[i];
        let end = first.saturating_add(*count);
        if end > total {
            problems.push(CoverageError::Beyond {
                name: name.clone(),
                from: *first,
                to: end,
                total,
            });
        }
        let end = end.min(total);
        if *count == 0 || *first >= end {
            continue;
        }
        if *first < next {
            let prev = last.expect("a shard ended at `next`");
            problems.push(CoverageError::Overlap {
                a: shards[prev].0.clone(),
                b: name.clone(),
                from: *first,
                to: end.min(next),
            });
        }
        if *first > next {
            problems.push(CoverageError::Missing {
                from: next,
                to: *first,
                total,
            });
        }
        if end > next {
            next = end;
            last = Some(i);
        }
    }
    if next < total {
        problems.push(CoverageError::Missing {
            from: next,
            to: total,
            total,
        });
    }
    if problems.is_empty() {
        Ok(order)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_run() {
        for total in [0u64, 1, 7, 1000, 1_000_003] {
            for n in [1u64, 2, 3, 7, 64] {
                let mut next = 0;
                let mut sizes = Vec::new();
                for k in 0..n {
                    let (first, count) = ShardSpec { index: k, count: n }.range(total);
                    assert_eq!(first, next, "contiguous");
                    next = first + count;
                    sizes.push(count);
                }
                assert_eq!(next, total, "every path in one shard");
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "balanced: {sizes:?}");
            }
        }
        // No overflow for the largest counts.
        let (first, count) = ShardSpec { index: 1, count: 2 }.range(u64::MAX);
        assert_eq!(first + count, u64::MAX);
    }

    #[test]
    fn parses_k_of_n_and_rejects_the_rest() {
        assert_eq!(
            "3/16".parse::<ShardSpec>().unwrap(),
            ShardSpec {
                index: 3,
                count: 16
            }
        );
        for bad in ["3", "16/16", "a/2", "1/0", "-1/4", "1/b", ""] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad:?}");
        }
        let e = "4/4".parse::<ShardSpec>().unwrap_err();
        assert!(e.to_string().contains("K must be below N"), "{e}");
    }

    fn s(name: &str, first: u64, count: u64) -> (String, u64, u64) {
        (name.into(), first, count)
    }

    #[test]
    fn coverage_finds_overlaps_gaps_and_strays() {
        let ok = [s("c", 60, 40), s("a", 0, 30), s("b", 30, 30), s("e", 30, 0)];
        assert_eq!(check_coverage(100, &ok).unwrap(), vec![1, 3, 2, 0]);
        assert_eq!(
            check_coverage(100, &[s("a", 0, 50), s("b", 40, 60)]),
            Err(vec![CoverageError::Overlap {
                a: "a".into(),
                b: "b".into(),
                from: 40,
                to: 50
            }])
        );
        assert_eq!(
            check_coverage(100, &[s("a", 0, 50), s("a again", 0, 50), s("b", 50, 50)]),
            Err(vec![CoverageError::Overlap {
                a: "a".into(),
                b: "a again".into(),
                from: 0,
                to: 50
            }])
        );
        assert_eq!(
            check_coverage(100, &[s("a", 0, 40), s("c", 60, 40)]),
            Err(vec![CoverageError::Missing {
                from: 40,
                to: 60,
                total: 100
            }])
        );
        assert_eq!(
            check_coverage(100, &[s("a", 0, 40)]),
            Err(vec![CoverageError::Missing {
                from: 40,
                to: 100,
                total: 100
            }])
        );
        assert!(matches!(
            check_coverage(100, &[s("a", 0, 100), s("z", 90, 20)]).unwrap_err()[..],
            [CoverageError::Beyond { .. }, CoverageError::Overlap { .. }]
        ));
        assert_eq!(check_coverage(0, &[]), Err(vec![CoverageError::Empty]));
        // Every problem at once: an overlap and two gaps among four shards of 100 paths.
        let many = [
            s("0", 0, 20),
            s("1", 20, 20),
            s("1 copy", 20, 20),
            s("3", 60, 20),
        ];
        assert_eq!(
            check_coverage(100, &many),
            Err(vec![
                CoverageError::Overlap {
                    a: "1".into(),
                    b: "1 copy".into(),
                    from: 20,
                    to: 40
                },
                CoverageError::Missing {
                    from: 40,
                    to: 60,
                    total: 100
                },
                CoverageError::Missing {
                    from: 80,
                    to: 100,
                    total: 100
                },
            ])
        );
        assert_eq!(check_coverage(0, &[s("a", 0, 0)]).unwrap(), vec![0]);
    }
}

//! Cross-margin accounts at step 0: their positions laid out account by account, the
//! arithmetic of an account's margin, and the per-asset trigger boxes the engine walks.
//!
//! An account holds signed quantities `q_j` (base units; > 0 long) on distinct assets, with
//! entry prices `e_j`, and one collateral `C` (USD). At marks `p` its equity is
//! `E = C + Σ q_j (p_j − e_j)` and its maintenance requirement `M = Σ m_j |q_j| p_j`; it is
//! liquidated when `E < M`. The slack `S(p) = E − M = C − Σ q_j e_j + Σ k_j p_j` with
//! `k_j = q_j − m_j |q_j|` is linear in the marks: `k_j > 0` for a long (the slack falls with
//! the price), `k_j < 0` for a short.
//!
//! **The trigger box.** From reference marks `r` with slack `S₀`, an account of `n` positions
//! gives each position one `n`-th of the slack: a long is at risk only once its mark falls
//! below `r_j − S₀/(n k_j)`, a short once its mark rises above `r_j + S₀/(n |k_j|)`. While
//! every mark stays inside its bound, `S(p) ≥ S₀ − n · S₀/n = 0`: the account cannot be
//! liquidated, whatever the other marks do within theirs (moves in an account's favour only
//! raise the slack). For one position the bound is the exact liquidation price. The bounds
//! are computed from `S₀` less a rounding allowance ([`trigger_keys`]), so an account within
//! rounding of its trigger is re-tested rather than missed.
//!
//! Triggers are stored as *keys* so that both sides read the same way: a long's key is its
//! bound, a short's key is minus its bound, and a key is reached when it is at or above the
//! side's *position* `x` (the mark for longs, minus the mark for shorts). Each asset and side
//! has a [`KeyLadder`] of step-0 keys, highest first.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::population::leverage;
use super::spec::{AccountRecord, SyntheticAccounts};

/// Long side index (into per-asset `[long, short]` pairs).
pub const LONG: usize = 0;
/// Short side index.
pub const SHORT: usize = 1;

/// Relative rounding allowance taken off an account's slack before its bounds are computed.
const ROUNDING: f64 = 1e-12;

/// Cross-margin accounts at step 0, struct of arrays: account `i` holds positions
/// `start[i]..start[i + 1]`.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub start: Vec<u32>,
    /// Each position's asset (scenario index).
    pub asset: Vec<u32>,
    /// Signed quantity, base units (> 0 long).
    pub qty: Vec<f64>,
    /// Entry price, USD.
    pub entry: Vec<f64>,
    /// Per account, USD.
    pub collateral: Vec<f64>,
    /// Per scenario asset, per side (`[LONG, SHORT]`): the step-0 keys.
    pub ladders: Vec<[KeyLadder; 2]>,
}

/// Step-0 trigger keys of one asset and side, highest first.
#[derive(Debug, Clone, Default)]
pub struct KeyLadder {
    pub key: Vec<f64>,
    pub account: Vec<u32>,
}

impl Accounts {
    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.collateral.len()
    }

    pub fn is_empty(&self) -> bool {
        self.collateral.is_empty()
    }

    /// Positions of account `i`.
    pub fn positions(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i] as usize..self.start[i + 1] as usize
    }

    /// `E − M` of account `i` at marks `mark` (per scenario asset) with maintenance rates
    /// `mm` (per scenario asset), USD: liquidated when negative.
    pub fn slack(&self, i: usize, mm: &[f64], mark: &[f64]) -> f64 {
        let mut s = self.collateral[i];
        for j in self.positions(i) {
            let (a, q) = (self.asset[j] as usize, self.qty[j]);
            let p = mark[a];
            s += q * (p - self.entry[j]) - mm[a] * q.abs() * p;
        }
        s
    }

    /// Lays out accounts from per-account position lists `(asset, signed qty, entry)` and
    /// collaterals, and builds the step-0 ladders at marks `prices` (per scenario asset).
    pub fn new(
        positions: Vec<Vec<(usize, f64, f64)>>,
        collateral: Vec<f64>,
        mm: &[f64],
        prices: &[f64],
    ) -> Accounts {
        let mut a = Accounts {
            start: vec![0],
            collateral,
            ..Accounts::default()
        };
        for p in positions {
            for (asset, q, e) in p {
                a.asset.push(asset as u32);
                a.qty.push(q);
                a.entry.push(e);
            }
            a.start.push(a.asset.len() as u32);
        }
        let mut rows: Vec<[Vec<(f64, u32)>; 2]> = vec![[Vec::new(), Vec::new()]; prices.len()];
        for i in 0..a.len() {
            trigger_keys(&a, i, mm, prices, |asset, side, key| {
                rows[asset][side].push((key, i as u32));
            });
        }
        a.ladders = rows
            .into_iter()
            .map(|sides| {
                sides.map(|mut r| {
                    r.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                    KeyLadder {
                        key: r.iter().map(|x| x.0).collect(),
                        account: r.iter().map(|x| x.1).collect(),
                    }
                })
            })
            .collect();
        a
    }
}

/// The side's position of a mark: the mark for longs, minus the mark for shorts (a key is
/// reached when it is at or above it).
#[inline]
pub fn side_x(side: usize, mark: f64) -> f64 {
    if side == LONG { mark } else { -mark }
}

/// Calls `f(asset, side, key)` for each position of account `i`: its trigger box from marks
/// `mark` (module docs). With a slack at or below the rounding allowance the keys are at or
/// above the marks, so the account is found again at once.
pub fn trigger_keys(
    a: &Accounts,
    i: usize,
    mm: &[f64],
    mark: &[f64],
    mut f: impl FnMut(usize, usize, f64),
) {
    let r = a.positions(i);
    let n = r.len() as f64;
    let mut scale = a.collateral[i].abs();
    for j in r.clone() {
        scale += a.qty[j].abs() * (a.entry[j] + mark[a.asset[j] as usize]);
    }
    let s0 = a.slack(i, mm, mark) - ROUNDING * scale;
    for j in r {
        let asset = a.asset[j] as usize;
        let q = a.qty[j];
        let k = q - mm[asset] * q.abs();
        // Long: bound r − S₀/(n k); short: bound r + S₀/(n |k|), key −bound.
        let side = if q > 0.0 { LONG } else { SHORT };
        let key = side_x(side, mark[asset]) - s0 / (n * k.abs());
        f(asset, side, key);
    }
}

/// Draws synthetic accounts over the listed `assets` at step-0 `prices` (per scenario
/// asset), with maintenance rates `mm` (per scenario asset): each account's notional
/// log-normal (rescaled to the total), split equally over `assets_per_account` distinct
/// assets chosen uniformly, entered at the start price; the first side long with probability
/// `long_share`, each later one the same side with probability `(1 + side_correlation)/2`;
/// collateral its notional over its leverage.
pub fn draw_accounts<R: Rng + ?Sized>(
    s: &SyntheticAccounts,
    assets: &[usize],
    mm: &[f64],
    prices: &[f64],
    rng: &mut R,
) -> Accounts {
    let n = s.accounts as usize;
    let weight: Vec<f64> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            (s.notional_sigma * z).exp()
        })
        .collect();
    let scale = s.notional_usd / weight.iter().sum::<f64>();
    let same = 0.5 * (1.0 + s.side_correlation);
    let mut positions = Vec::with_capacity(n);
    let mut collateral = Vec::with_capacity(n);
    let mut pool = assets.to_vec();
    for w in weight {
        let notional = w * scale;
        let k = s.assets_per_account;
        // Partial Fisher–Yates: the first `k` of `pool` are a uniform choice.
        for j in 0..k {
            let pick = j + rng.random_range(0..pool.len() - j);
            pool.swap(j, pick);
        }
        let first_long = rng.random::<f64>() < s.long_share;
        let each = notional / k as f64;
        let held: Vec<(usize, f64, f64)> = (0..k)
            .map(|j| {
                // The first position, or a later one on the first's side.
                let long = if j == 0 || rng.random::<f64>() < same {
                    first_long
                } else {
                    !first_long
                };
                let p = prices[pool[j]];
                let q = each / p;
                (pool[j], if long { q } else { -q }, p)
            })
            .collect();
        let lev = leverage(&s.leverage, rng);
        collateral.push(notional / lev);
        positions.push(held);
    }
    Accounts::new(positions, collateral, mm, prices)
}

/// Lays out explicit accounts (`file`): rows grouped by account id in order of first
/// appearance.
pub fn from_records(records: &[AccountRecord], mm: &[f64], prices: &[f64]) -> Accounts {
    let mut order: Vec<u64> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut positions: Vec<Vec<(usize, f64, f64)>> = Vec::new();
    let mut collateral = Vec::new();
    for r in records {
        let i = *index.entry(r.account).or_insert_with(|| {
            order.push(r.account);
            positions.push(Vec::new());
            collateral.push(r.collateral);
            positions.len() - 1
        });
        let q = if r.long { r.size } else { -r.size };
        positions[i].push((r.asset, q, r.entry_price));
    }
    Accounts::new(positions, collateral, mm, prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long 1 A at 100 and long 10 B at 10, collateral 30, maintenance 1% on both:
    /// `S(p) = 30 + (p_A − 100) + 10 (p_B − 10) − 0.01 p_A − 0.1 p_B`, 28 at the start.
    fn two() -> Accounts {
        Accounts::new(
            vec![vec![(0, 1.0, 100.0), (1, 10.0, 10.0)]],
            vec![30.0],
            &[0.01, 0.01],
            &[100.0, 10.0],
        )
    }

    #[test]
    fn slack_is_equity_less_maintenance() {
        let a = two();
        assert!((a.slack(0, &[0.01, 0.01], &[100.0, 10.0]) - 28.0).abs() < 1e-12);
        // A at 80: 30 − 20 − 0.8 − 1 = 8.2.
        assert!((a.slack(0, &[0.01, 0.01], &[80.0, 10.0]) - 8.2).abs() < 1e-12);
    }

    #[test]
    fn each_long_gets_half_the_slack() {
        let a = two();
        // k_A = 0.99, k_B = 9.9; bounds 100 − 14/0.99 and 10 − 14/9.9.
        let l = &a.ladders;
        assert!((l[0][LONG].key[0] - (100.0 - 14.0 / 0.99)).abs() < 1e-9);
        assert!((l[1][LONG].key[0] - (10.0 - 14.0 / 9.9)).abs() < 1e-9);
        assert!(l[0][SHORT].key.is_empty() && l[1][SHORT].key.is_empty());
        // At both bounds the slack is (to rounding) 0, never below.
        let s = a.slack(0, &[0.01, 0.01], &[l[0][LONG].key[0], l[1][LONG].key[0]]);
        assert!((0.0..1e-9).contains(&s), "{s}");
    }

    /// Synthetic accounts: notional adds up, each account on distinct assets entered at the
    /// start price, its collateral its notional over a leverage in range, and the sides as
    /// `side_correlation` says (−1: the second position always opposite the first).
    #[test]
    fn synthetic_accounts_follow_their_keys() {
        use crate::model::spec::LeverageDist;
        use rand::SeedableRng;
        let prices = [100.0, 10.0, 1.0];
        for (rho, per) in [(-1.0, 2), (1.0, 3), (0.0, 1)] {
            let s = SyntheticAccounts {
                accounts: 500,
                notional_usd: 1e6,
                notional_sigma: 1.0,
                assets_per_account: per,
                long_share: 0.7,
                side_correlation: rho,
                leverage: LeverageDist::Uniform { min: 2.0, max: 5.0 },
            };
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
            let a = draw_accounts(&s, &[0, 1, 2], &[0.01; 3], &prices, &mut rng);
            assert_eq!(a.len(), 500);
            let mut total = 0.0;
            for i in 0..a.len() {
                let r = a.positions(i);
                assert_eq!(r.len(), per);
                let mut seen = [false; 3];
                let mut notional = 0.0;
                for j in r.clone() {
                    let k = a.asset[j] as usize;
                    assert!(!seen[k]);
                    seen[k] = true;
                    assert_eq!(a.entry[j], prices[k]);
                    notional += a.qty[j].abs() * prices[k];
                }
                let lev = notional / a.collateral[i];
                assert!((2.0 - 1e-9..=5.0 + 1e-9).contains(&lev), "{lev}");
                let j0 = r.start;
                if rho == -1.0 {
                    assert!(a.qty[j0] * a.qty[j0 + 1] < 0.0);
                } else if rho == 1.0 {
                    assert!(r.clone().all(|j| a.qty[j] * a.qty[j0] > 0.0));
                }
                total += notional;
            }
            assert!((total - 1e6).abs() < 1e-6, "{total}");
        }
    }

    #[test]
    fn a_lone_short_s_bound_is_its_liquidation_price() {
        // Short 2 at 50, collateral 10, maintenance 0.5%: 10 − 2 (p − 50) − 0.01 p = 0 at
        // p = 110 / 2.01.
        let a = Accounts::new(vec![vec![(0, -2.0, 50.0)]], vec![10.0], &[0.005], &[50.0]);
        let key = a.ladders[0][SHORT].key[0];
        assert!((-key - 110.0 / 2.01).abs() < 1e-9, "{key}");
    }
}

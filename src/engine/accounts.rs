//! Cross-margin accounts during one path (`[cross_margin]`): which accounts a cascade round
//! liquidates, their orders on their own assets' books, and the figures of where the loss
//! that triggered each liquidation came from.
//!
//! **Rule.** An account is liquidated when its equity is below its total maintenance
//! requirement (`slack < 0`, `model::accounts`) at the round's marks; then every one of its
//! positions is closed at market in that round (`close_all`): longs sell, shorts buy, each
//! on its asset's first book, beside the populations' orders, so a fall in A that
//! liquidates an account also sells its B, which moves B and may liquidate more accounts in
//! the next round. An account with a position on a halted asset waits until the halt ends.
//!
//! **Finding accounts without scanning them.** Every account has a trigger box (module docs
//! of `model::accounts`): one bound per position, from which no mark inside all its bounds
//! can liquidate it. The shared ladders hold the step-0 bounds as keys per asset and side,
//! highest first; a path walks each with a cursor as marks move. An account whose key is
//! reached is checked exactly: with negative slack it is closed, otherwise it is re-armed
//! with a new box at the current marks, pushed on per-asset, per-side heaps (highest key
//! first). Entries of an account elsewhere are then stale (a version number per touched
//! account) and skipped when reached.
//!
//! Invariant: an account that is not closed has, for every position, exactly one live entry
//! (ladder or heap, at its current version) holding a bound of a box built at marks at which
//! its slack was computed; so an account that no key has reached cannot have negative slack.
//! The proptest `liquidations_are_exactly_the_accounts_a_full_scan_liquidates` checks this
//! against a test of every account in every round. A quiet round is two comparisons per
//! asset; per-path state grows only with the accounts touched.
//!
//! **Trigger asset.** The asset of a liquidated account's largest loss since step 0 (at the
//! round's marks, `−q (mark − start price)` per position): its closed notional is counted
//! under each closed asset, under that asset's row of the by-trigger matrix at the trigger
//! asset's column (`cross_margin_by_trigger`), and, when the trigger asset is another one,
//! as coming from it.

use std::collections::{BinaryHeap, HashMap};

use super::lending::Armed;
use super::summary::AssetPathMetrics;
use crate::model::accounts::{Accounts, LONG, SHORT, side_x, trigger_keys};
use crate::model::spec::CrossRule;

/// Cross-margin accounts shared by all paths: the rule, the maintenance rates and the
/// accounts at step 0.
#[derive(Debug, Clone)]
pub struct CrossModel {
    pub rule: CrossRule,
    /// Per scenario asset.
    pub mm: Vec<f64>,
    /// Per scenario asset: the start price (losses since step 0 are measured from it).
    pub start: Vec<f64>,
    pub accounts: Accounts,
}

/// A touched account.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Heap entries with another version are stale.
    version: u32,
    closed: bool,
}

/// One account closed in a round, until `settle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    pub account: u32,
    /// The asset of its largest loss since step 0.
    pub trigger: usize,
}

/// Per-path state of the cross-margin accounts.
#[derive(Debug)]
pub struct CrossVenue {
    /// Per asset and side: ladder entries before this index have been reached.
    cursor: Vec<[usize; 2]>,
    heap: Vec<[BinaryHeap<Armed>; 2]>,
    touched: HashMap<u32, State>,
    /// Per asset and side: the highest key waiting (−∞ when none).
    next: Vec<[f64; 2]>,
    found: Vec<u32>,
    closing: Vec<Closing>,
    /// This round's orders per asset, base units.
    pub sell: Vec<f64>,
    pub buy: Vec<f64>,
    /// Per asset: notional closed (at fill prices), its part from accounts triggered by
    /// another asset, accounts triggered by this asset, and their losses beyond collateral.
    liquidated: Vec<f64>,
    by_other: Vec<f64>,
    /// `n × n`, row = closed asset, column = trigger asset.
    by_trigger: Vec<f64>,
    triggered: Vec<f64>,
    bad_debt: Vec<f64>,
}

impl CrossVenue {
    pub fn new(m: &CrossModel) -> CrossVenue {
        let n = m.mm.len();
        let head = |l: &crate::model::accounts::KeyLadder| {
            l.key.first().copied().unwrap_or(f64::NEG_INFINITY)
        };
        CrossVenue {
            cursor: vec![[0, 0]; n],
            heap: (0..n)
                .map(|_| [BinaryHeap::new(), BinaryHeap::new()])
                .collect(),
            touched: HashMap::new(),
            next: m
                .accounts
                .ladders
                .iter()
                .map(|l| [head(&l[LONG]), head(&l[SHORT])])
                .collect(),
            found: Vec::new(),
            closing: Vec::new(),
            sell: vec![0.0; n],
            buy: vec![0.0; n],
            liquidated: vec![0.0; n],
            by_other: vec![0.0; n],
            by_trigger: vec![0.0; n * n],
            triggered: vec![0.0; n],
            bad_debt: vec![0.0; n],
        }
    }

    /// Finds and closes the accounts with negative slack at marks `mark` (per asset), their
    /// orders in `sell`/`buy` (zeroed first). Returns whether there are any. The quiet case
    /// is two comparisons per asset.
    #[inline]
    pub fn collect(&mut self, m: &CrossModel, mark: &[f64], halted: Option<&[bool]>) -> bool {
        self.sell.fill(0.0);
        self.buy.fill(0.0);
        let hit = self
            .next
            .iter()
            .zip(mark)
            .any(|(n, &p)| n[LONG] >= p || n[SHORT] >= -p);
        if hit {
            self.collect_triggered(m, mark, halted);
        }
        !self.closing.is_empty()
    }

    #[inline(never)]
    fn collect_triggered(&mut self, m: &CrossModel, mark: &[f64], halted: Option<&[bool]>) {
        for (a, &p) in mark.iter().enumerate() {
            for side in [LONG, SHORT] {
                let x = side_x(side, p);
                let l = &m.accounts.ladders[a][side];
                let c = &mut self.cursor[a][side];
                while *c < l.key.len() && l.key[*c] >= x {
                    let i = l.account[*c];
                    *c += 1;
                    if let std::collections::hash_map::Entry::Vacant(e) = self.touched.entry(i) {
                        e.insert(State {
                            version: 1,
                            closed: false,
                        });
                        self.found.push(i);
                    }
                }
                let heap = &mut self.heap[a][side];
                while let Some(top) = heap.peek()
                    && top.trigger >= x
                {
                    let t = *top;
                    heap.pop();
                    let s = self
                        .touched
                        .get_mut(&t.account)
                        .expect("armed accounts are touched");
                    if s.version == t.version && !s.closed {
                        s.version += 1;
                        self.found.push(t.account);
                    }
                }
            }
        }
        let mut found = std::mem::take(&mut self.found);
        found.sort_unstable();
        for &i in &found {
            self.evaluate(m, i, mark, halted);
        }
        found.clear();
        self.found = found;
        for (a, next) in self.next.iter_mut().enumerate() {
            for side in [LONG, SHORT] {
                let l = &m.accounts.ladders[a][side];
                let ladder = l.key.get(self.cursor[a][side]).copied();
                let heap = self.heap[a][side].peek().map(|t| t.trigger);
                next[side] = ladder
                    .into_iter()
                    .chain(heap)
                    .fold(f64::NEG_INFINITY, f64::max);
            }
        }
    }

    /// Checks one found account at the marks: closes it if its slack is negative (and none
    /// of its assets is halted), else re-arms it.
    fn evaluate(&mut self, m: &CrossModel, i: u32, mark: &[f64], halted: Option<&[bool]>) {
        let acc = &m.accounts;
        let r = acc.positions(i as usize);
        let waits = halted.is_some_and(|h| r.clone().any(|j| h[acc.asset[j] as usize]));
        if !waits && acc.slack(i as usize, &m.mm, mark) < 0.0 {
            let mut trigger = (f64::NEG_INFINITY, 0usize);
            for j in r {
                let (a, q) = (acc.asset[j] as usize, acc.qty[j]);
                if q > 0.0 {
                    self.sell[a] += q;
                } else {
                    self.buy[a] -= q;
                }
                let loss = -q * (mark[a] - m.start[a]);
                if loss > trigger.0 {
                    trigger = (loss, a);
                }
            }
            self.touched.get_mut(&i).expect("found").closed = true;
            self.closing.push(Closing {
                account: i,
                trigger: trigger.1,
            });
            return;
        }
        let version = self.touched[&i].version;
        trigger_keys(acc, i as usize, &m.mm, mark, |a, side, key| {
            self.heap[a][side].push(Armed {
                trigger: key,
                account: i,
                version,
            });
        });
    }

    /// The accounts `collect` closed in this round, until [`CrossVenue::settle`].
    pub fn closing(&self) -> &[Closing] {
        &self.closing
    }

    /// Books the round's closed accounts at their assets' fill prices (`sell_px`/`buy_px`,
    /// per asset): notional per asset, by trigger asset, and losses beyond collateral.
    pub fn settle(&mut self, m: &CrossModel, sell_px: &[f64], buy_px: &[f64]) {
        let acc = &m.accounts;
        let n = self.liquidated.len();
        for c in &self.closing {
            let i = c.account as usize;
            let mut equity = acc.collateral[i];
            for j in acc.positions(i) {
                let (a, q) = (acc.asset[j] as usize, acc.qty[j]);
                let px = if q > 0.0 { sell_px[a] } else { buy_px[a] };
                let notional = q.abs() * px;
                equity += q * (px - acc.entry[j]);
                self.liquidated[a] += notional;
                self.by_trigger[a * n + c.trigger] += notional;
                if a != c.trigger {
                    self.by_other[a] += notional;
                }
            }
            self.triggered[c.trigger] += 1.0;
            if equity < 0.0 {
                self.bad_debt[c.trigger] -= equity;
            }
        }
        self.closing.clear();
    }

    /// Adds the path's figures to `per_asset`.
    pub fn finish(&self, per_asset: &mut [AssetPathMetrics]) {
        let n = self.liquidated.len();
        for (a, p) in per_asset.iter_mut().enumerate() {
            let row = &self.by_trigger[a * n..(a + 1) * n];
            if p.cross_margin_by_trigger.len() == n {
                for (x, &y) in p.cross_margin_by_trigger.iter_mut().zip(row) {
                    *x += y;
                }
            } else {
                p.cross_margin_by_trigger = row.to_vec();
            }
            p.cross_margin_liquidated_notional += self.liquidated[a];
            p.cross_margin_liquidated_by_other += self.by_other[a];
            p.cross_margin_triggered_accounts += self.triggered[a];
            p.cross_margin_bad_debt += self.bad_debt[a];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model(
        positions: Vec<Vec<(usize, f64, f64)>>,
        collateral: Vec<f64>,
        mm: &[f64],
    ) -> CrossModel {
        let start: Vec<f64> = (0..mm.len())
            .map(|a| {
                positions
                    .iter()
                    .flatten()
                    .find(|p| p.0 == a)
                    .map_or(1.0, |p| p.2)
            })
            .collect();
        CrossModel {
            rule: CrossRule::CloseAll,
            mm: mm.to_vec(),
            accounts: Accounts::new(positions, collateral, mm, &start),
            start,
        }
    }

    /// One round at `mark`: the closed accounts and the orders.
    fn round(
        v: &mut CrossVenue,
        m: &CrossModel,
        mark: &[f64],
    ) -> (Vec<Closing>, Vec<f64>, Vec<f64>) {
        v.collect(m, mark, None);
        let c = v.closing().to_vec();
        let (s, b) = (v.sell.clone(), v.buy.clone());
        v.settle(m, mark, mark);
        (c, s, b)
    }

    /// Long 1 A at 100 and long 10 B at 10, collateral 30, maintenance 1% on both. With B
    /// at 10 the slack `30 + (p_A − 100) − 0.01 p_A − 1` is 0 at `p_A = 71/0.99`: just above,
    /// nothing; just below, both positions are closed, B's 10 units sold, and B's notional
    /// counts as triggered by A.
    #[test]
    fn a_fall_in_a_alone_closes_b_at_the_predicted_a_price() {
        let m = model(
            vec![vec![(0, 1.0, 100.0), (1, 10.0, 10.0)]],
            vec![30.0],
            &[0.01, 0.01],
        );
        let star = 71.0 / 0.99;
        let mut v = CrossVenue::new(&m);
        for p in [90.0, 80.0, star * (1.0 + 1e-9)] {
            assert!(round(&mut v, &m, &[p, 10.0]).0.is_empty(), "{p}");
        }
        let (c, sell, buy) = round(&mut v, &m, &[star * (1.0 - 1e-9), 10.0]);
        assert_eq!(
            c,
            vec![Closing {
                account: 0,
                trigger: 0
            }]
        );
        assert_eq!(sell, vec![1.0, 10.0]);
        assert_eq!(buy, vec![0.0, 0.0]);
        let mut per = vec![AssetPathMetrics::default(); 2];
        v.finish(&mut per);
        assert!((per[1].cross_margin_liquidated_notional - 100.0).abs() < 1e-12);
        assert!((per[1].cross_margin_liquidated_by_other - 100.0).abs() < 1e-12);
        assert_eq!(per[0].cross_margin_liquidated_by_other, 0.0);
        assert_eq!(per[0].cross_margin_triggered_accounts, 1.0);
        // Closed: never again.
        assert!(round(&mut v, &m, &[1.0, 1.0]).0.is_empty());
    }

    /// A long A hedged by a short B: B rising liquidates it, the short bought back.
    #[test]
    fn a_short_is_bought_back_when_its_asset_rises() {
        // Long 1 A at 100, short 10 B at 10, collateral 20, mm 1%: slack at A = 100 is
        // 20 − 10 (p_B − 10) − 1 − 0.1 p_B, 0 at p_B = 119/10.1.
        let m = model(
            vec![vec![(0, 1.0, 100.0), (1, -10.0, 10.0)]],
            vec![20.0],
            &[0.01, 0.01],
        );
        let star = 119.0 / 10.1;
        let mut v = CrossVenue::new(&m);
        assert!(
            round(&mut v, &m, &[100.0, star * (1.0 - 1e-9)])
                .0
                .is_empty()
        );
        let (c, sell, buy) = round(&mut v, &m, &[100.0, star * (1.0 + 1e-9)]);
        assert_eq!(
            c,
            vec![Closing {
                account: 0,
                trigger: 1
            }]
        );
        assert_eq!((sell[0], buy[1]), (1.0, 10.0));
    }

    #[test]
    fn an_account_on_a_halted_asset_waits() {
        let m = model(
            vec![vec![(0, 1.0, 100.0), (1, 10.0, 10.0)]],
            vec![30.0],
            &[0.01, 0.01],
        );
        let mut v = CrossVenue::new(&m);
        assert!(!v.collect(&m, &[60.0, 10.0], Some(&[false, true])));
        assert_eq!(v.sell, vec![0.0, 0.0]);
        assert_eq!(round(&mut v, &m, &[60.0, 10.0]).0.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Against a test of every account in every round: exactly the accounts with
        /// negative slack are closed (none missed by the boxes), each once, with all its
        /// positions' orders.
        #[test]
        fn liquidations_are_exactly_the_accounts_a_full_scan_liquidates(
            accounts in proptest::collection::vec(
                (proptest::collection::vec((0usize..3, -1.0f64..1.0, -0.05f64..0.05), 1..4),
                 1.5f64..40.0), 1..40),
            mm in proptest::collection::vec(0.002f64..0.05, 3),
            moves in proptest::collection::vec(proptest::collection::vec(-0.06f64..0.06, 3), 1..40),
        ) {
            let start = [10.0, 1_000.0, 50_000.0];
            // Each account: distinct assets, signed notional weights, entries near the
            // start, and a leverage (collateral = Σ notional / leverage), kept only when it
            // starts above maintenance.
            let mut pos = Vec::new();
            let mut coll = Vec::new();
            for (ps, lev) in &accounts {
                let mut seen = [false; 3];
                let mut held = Vec::new();
                let mut notional = 0.0;
                for &(a, w, off) in ps {
                    if seen[a] || w.abs() < 1e-3 { continue; }
                    seen[a] = true;
                    let q = w * 1e4 / start[a];
                    held.push((a, q, start[a] * (1.0 + off)));
                    notional += w.abs() * 1e4;
                }
                if held.is_empty() { continue; }
                pos.push(held);
                coll.push(notional / lev);
            }
            let m0 = CrossModel {
                rule: CrossRule::CloseAll,
                mm: mm.clone(),
                start: start.to_vec(),
                accounts: Accounts::new(pos.clone(), coll.clone(), &mm, &start),
            };
            let keep: Vec<usize> = (0..m0.accounts.len())
                .filter(|&i| m0.accounts.slack(i, &mm, &start) > 0.0)
                .collect();
            prop_assume!(!keep.is_empty());
            let m = CrossModel {
                accounts: Accounts::new(
                    keep.iter().map(|&i| pos[i].clone()).collect(),
                    keep.iter().map(|&i| coll[i]).collect(),
                    &mm,
                    &start,
                ),
                ..m0
            };
            let mut v = CrossVenue::new(&m);
            let mut open = vec![true; m.accounts.len()];
            let mut mark = start.to_vec();
            for mv in &moves {
                for k in 0..3 { mark[k] *= mv[k].exp(); }
                let expected: Vec<u32> = (0..m.accounts.len())
                    .filter(|&i| open[i] && m.accounts.slack(i, &mm, &mark) < 0.0)
                    .map(|i| i as u32)
                    .collect();
                let (c, sell, buy) = round(&mut v, &m, &mark);
                let got: Vec<u32> = c.iter().map(|x| x.account).collect();
                prop_assert_eq!(&got, &expected);
                let (mut s, mut b) = ([0.0; 3], [0.0; 3]);
                for &i in &got {
                    open[i as usize] = false;
                    for j in m.accounts.positions(i as usize) {
                        let (a, q) = (m.accounts.asset[j] as usize, m.accounts.qty[j]);
                        if q > 0.0 { s[a] += q } else { b[a] -= q }
                    }
                }
                for k in 0..3 {
                    prop_assert!((s[k] - sell[k]).abs() <= 1e-12 * s[k]);
                    prop_assert!((b[k] - buy[k]).abs() <= 1e-12 * b[k]);
                }
            }
        }
    }
}

//! One lending market during one path: which accounts a cascade round liquidates, how much
//! each liquidation repays and seizes, and the collateral it sells through the books.
//!
//! Finding liquidatable accounts without scanning them. An account's health factor at
//! prices `p` is at least `hf · min_c (p_c / q_c)`, where `hf` is its health factor at
//! earlier prices `q` (see [`lending::trigger_price`]). So an account cannot have `HF < 1`
//! while every collateral price `p_c` stays above `q_c / hf`: one trigger price per
//! collateral asset it holds. The shared [`TriggerLadder`] of each collateral asset holds the
//! step-0 triggers in descending order; a path walks it with a cursor as the mark falls. An
//! account whose trigger is crossed is checked exactly (its health factor at the round's
//! marks): below 1 it is liquidated, otherwise it is re-armed with new triggers
//! `mark_c / hf` computed at the current marks, pushed on a per-collateral heap (highest
//! first). Entries of an account in the other ladders or heaps are then stale (a version
//! number per touched account) and skipped when reached.
//!
//! For a single-collateral account the trigger is exact (the price at which HF = 1), so it
//! is touched only when it is liquidated. A multi-collateral account may be checked without
//! being liquidated: whenever one of its assets falls by the factor `1/hf` since its last
//! check, i.e. a number of times per path that grows only as its health factor nears 1.
//! Per-path state grows only with the accounts touched; a quiet round costs one comparison
//! per collateral asset.
//!
//! Order within a round: accounts are found in collateral order (ladder, then heap), then
//! evaluated in account order, so the result does not depend on how they were found. One
//! liquidation per account per round; an account still below HF 1 afterwards is re-armed
//! with triggers above the marks and liquidated again in the next round.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::PathSummary;
use crate::model::lending::{self, Accounts, Liquidation, TriggerLadder};
use crate::model::spec::{CloseRule, CollateralParams, Liquidator};

/// A lending market shared by all paths: its rules and accounts at step 0.
#[derive(Debug, Clone)]
pub struct LendingModel {
    pub rule: CloseRule,
    /// When liquidators act; `None`: whenever an account's HF is below 1.
    pub liquidator: Option<Liquidator>,
    /// Collateral `k`'s asset, liquidation threshold and bonus.
    pub collateral: Vec<CollateralParams>,
    pub accounts: Accounts,
}

/// A touched account's current debt and collateral.
#[derive(Debug, Clone)]
struct State {
    /// USD; 0 once repaid or written off (the account is closed).
    debt: f64,
    /// Base units, one per collateral.
    amount: Vec<f64>,
    /// Heap entries with another version are stale.
    version: u32,
}

/// A re-armed trigger in a collateral's heap (also a cross-margin account's re-armed key in
/// `engine::accounts`): the heap's top is the highest trigger.
#[derive(Debug, Clone, Copy)]
pub(super) struct Armed {
    pub(super) trigger: f64,
    pub(super) account: u32,
    pub(super) version: u32,
}

impl Ord for Armed {
    fn cmp(&self, o: &Self) -> Ordering {
        self.trigger
            .total_cmp(&o.trigger)
            .then(o.account.cmp(&self.account))
            .then(self.version.cmp(&o.version))
    }
}

impl PartialOrd for Armed {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Armed {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Armed {}

/// One liquidation of a round, as settled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seizure {
    pub account: u32,
    /// Index of the seized collateral in the market.
    pub collateral: usize,
    /// Health factor at the round's marks before the liquidation.
    pub health_factor: f64,
    /// Oracle (mark) price of the seized collateral, USD.
    pub price: f64,
    /// Debt before, USD.
    pub debt_before: f64,
    /// Collateral amount of the seized asset before, base units.
    pub amount_before: f64,
    pub liquidation: Liquidation,
    /// Debt written off because no collateral was left, USD.
    pub bad_debt: f64,
    /// Debt after, USD.
    pub debt_after: f64,
    /// Collateral amount of the seized asset after, base units.
    pub amount_after: f64,
}

/// Per-path state of one lending market.
#[derive(Debug)]
pub struct LendingVenue {
    /// Per collateral: ladder entries before this index have been reached.
    cursor: Vec<usize>,
    heap: Vec<BinaryHeap<Armed>>,
    touched: HashMap<u32, State>,
    /// Accounts found in the current round (deduplicated by their version bump).
    found: Vec<u32>,
    /// The current round's liquidations, until `settle`.
    seized: Vec<Seizure>,
    /// Per collateral: the highest trigger price waiting (ladder head or heap top; −∞ when
    /// none), so a quiet round is one comparison per collateral.
    next: Vec<f64>,
}

impl LendingVenue {
    pub fn new(m: &LendingModel) -> LendingVenue {
        let n = m.collateral.len();
        LendingVenue {
            cursor: vec![0; n],
            heap: (0..n).map(|_| BinaryHeap::new()).collect(),
            touched: HashMap::new(),
            found: Vec::new(),
            seized: Vec::new(),
            next: m
                .accounts
                .ladders
                .iter()
                .map(|l| l.trigger.first().copied().unwrap_or(f64::NEG_INFINITY))
                .collect(),
        }
    }

    /// Finds and liquidates the accounts with `HF < 1` at marks `mark` (per asset), adding
    /// the seized collateral to `sell_qty` (per asset, base units). A collateral whose asset
    /// is `halted` is not seized (the account waits if nothing else can be). The quiet case
    /// is one comparison per collateral.
    #[inline]
    pub fn collect(
        &mut self,
        m: &LendingModel,
        mark: &[f64],
        halted: Option<&[bool]>,
        sell_qty: &mut [f64],
    ) {
        let hit = m
            .collateral
            .iter()
            .zip(&self.next)
            .any(|(c, &t)| t >= mark[c.asset]);
        if hit {
            self.collect_triggered(m, mark, halted, sell_qty);
        }
    }

    #[inline(never)]
    fn collect_triggered(
        &mut self,
        m: &LendingModel,
        mark: &[f64],
        halted: Option<&[bool]>,
        sell_qty: &mut [f64],
    ) {
        let n = m.collateral.len();
        for k in 0..n {
            let px = mark[m.collateral[k].asset];
            let l: &TriggerLadder = &m.accounts.ladders[k];
            while self.cursor[k] < l.trigger.len() && l.trigger[self.cursor[k]] >= px {
                let i = l.account[self.cursor[k]];
                self.cursor[k] += 1;
                if let std::collections::hash_map::Entry::Vacant(e) = self.touched.entry(i) {
                    let base = i as usize * n;
                    e.insert(State {
                        debt: m.accounts.debt[i as usize],
                        amount: m.accounts.amount[base..base + n].to_vec(),
                        version: 1,
                    });
                    self.found.push(i);
                }
            }
            while let Some(top) = self.heap[k].peek()
                && top.trigger >= px
            {
                let a = *top;
                self.heap[k].pop();
                let s = self
                    .touched
                    .get_mut(&a.account)
                    .expect("armed accounts are touched");
                if s.version == a.version {
                    s.version += 1;
                    self.found.push(a.account);
                }
            }
        }
        let mut found = std::mem::take(&mut self.found);
        found.sort_unstable();
        for &i in &found {
            self.evaluate(m, i, mark, halted, sell_qty);
        }
        found.clear();
        self.found = found;
        for k in 0..n {
            let l = &m.accounts.ladders[k];
            let ladder = l.trigger.get(self.cursor[k]).copied();
            let heap = self.heap[k].peek().map(|t| t.trigger);
            self.next[k] = ladder
                .into_iter()
                .chain(heap)
                .fold(f64::NEG_INFINITY, f64::max);
        }
    }

    /// Checks one found account at the marks: liquidates it if `HF < 1`, then re-arms it.
    fn evaluate(
        &mut self,
        m: &LendingModel,
        i: u32,
        mark: &[f64],
        halted: Option<&[bool]>,
        sell_qty: &mut [f64],
    ) {
        let s = self
            .touched
            .get_mut(&i)
            .expect("found accounts are touched");
        if s.debt <= 0.0 {
            return;
        }
        let hf = health(m, s, mark);
        if hf < 1.0 {
            let values = m.collateral.iter().zip(&s.amount).map(|(c, &q)| {
                let open = halted.is_none_or(|h| !h[c.asset]);
                if open { q * mark[c.asset] } else { 0.0 }
            });
            if let Some(k) = lending::largest_collateral(values) {
                let c = &m.collateral[k];
                let price = mark[c.asset];
                let cf = lending::close_factor(hf, &m.rule);
                let (debt_before, amount_before) = (s.debt, s.amount[k]);
                let liq = lending::liquidate(debt_before, cf, price, amount_before, c.bonus);
                if m.liquidator
                    .is_some_and(|l| !l.acts(liq.bonus, liq.seized * price))
                {
                    // Not worth a liquidator's while: the account stays below HF 1, re-armed
                    // above the marks, and is looked at again next round.
                    self.rearm(m, i, mark);
                    return;
                }
                s.amount[k] = if liq.all_collateral {
                    0.0
                } else {
                    amount_before - liq.seized
                };
                s.debt = debt_before - liq.repaid;
                let mut bad_debt = 0.0;
                if s.amount.iter().all(|&q| q == 0.0) && s.debt > 0.0 {
                    bad_debt = s.debt;
                    s.debt = 0.0;
                }
                sell_qty[c.asset] += liq.seized;
                self.seized.push(Seizure {
                    account: i,
                    collateral: k,
                    health_factor: hf,
                    price,
                    debt_before,
                    amount_before,
                    liquidation: liq,
                    bad_debt,
                    debt_after: s.debt,
                    amount_after: s.amount[k],
                });
            }
        }
        if s.debt > 0.0 {
            self.rearm(m, i, mark);
        }
    }

    /// Re-arms account `i` at the current marks (HF still < 1: triggers above the marks, so
    /// the account is found again next round).
    fn rearm(&mut self, m: &LendingModel, i: u32, mark: &[f64]) {
        let s = &self.touched[&i];
        let hf = health(m, s, mark);
        for (k, c) in m.collateral.iter().enumerate() {
            if s.amount[k] > 0.0 {
                self.heap[k].push(Armed {
                    trigger: lending::trigger_price(mark[c.asset], hf),
                    account: i,
                    version: s.version,
                });
            }
        }
    }

    /// The liquidations `collect` made in this round, until [`LendingVenue::settle`].
    pub fn seized(&self) -> &[Seizure] {
        &self.seized
    }

    /// Books the round's liquidations: the seized collateral sold at the round's average
    /// sell fill of its asset (`sell_px`, USD), into the path's lending figures.
    pub fn settle(&mut self, m: &LendingModel, sell_px: &[f64], sum: &mut PathSummary) {
        for z in &self.seized {
            let l = &z.liquidation;
            sum.lending_liquidation_count += 1;
            sum.lending_repaid_debt += l.repaid;
            sum.lending_bonus += l.bonus;
            sum.lending_sold_notional += l.seized * sell_px[m.collateral[z.collateral].asset];
            sum.lending_bad_debt += z.bad_debt;
        }
        self.seized.clear();
    }
}

/// [`LendingVenue::collect`] for every lending market of a path, out of line so that the
/// step loop of a scenario without lending pays one comparison for it.
#[inline(never)]
pub fn collect(
    venues: &mut [LendingVenue],
    models: &[LendingModel],
    mark: &[f64],
    halted: Option<&[bool]>,
    sell_qty: &mut [f64],
) {
    for (v, m) in venues.iter_mut().zip(models) {
        v.collect(m, mark, halted, sell_qty);
    }
}

/// Health factor of a touched account at the marks.
fn health(m: &LendingModel, s: &State, mark: &[f64]) -> f64 {
    let weighted: f64 = m
        .collateral
        .iter()
        .zip(&s.amount)
        .map(|(c, &q)| q * mark[c.asset] * c.liquidation_threshold)
        .sum();
    lending::health_factor(weighted, s.debt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Balances within a cent (USD amounts) / a part in 10¹² (collateral amounts).
    const CENT: f64 = 0.005;

    const AAVE: CloseRule = CloseRule {
        close_factor: 0.5,
        full_below: 0.95,
    };

    fn coll(asset: usize, lt: f64, bonus: f64) -> CollateralParams {
        CollateralParams {
            asset,
            liquidation_threshold: lt,
            bonus,
        }
    }

    /// A market of `accounts` (debt, amounts per collateral) at step-0 `prices` (per asset).
    fn market(
        c: Vec<CollateralParams>,
        accounts: &[(f64, Vec<f64>)],
        prices: &[f64],
    ) -> LendingModel {
        let p: Vec<f64> = c.iter().map(|x| prices[x.asset]).collect();
        let lt: Vec<f64> = c.iter().map(|x| x.liquidation_threshold).collect();
        let debt = accounts.iter().map(|a| a.0).collect();
        let amount = accounts.iter().flat_map(|a| a.1.clone()).collect();
        LendingModel {
            rule: AAVE,
            liquidator: None,
            collateral: c,
            accounts: Accounts::new(debt, amount, &p, &lt),
        }
    }

    /// One round at `mark`: the liquidations and the quantities sold per asset.
    fn round(v: &mut LendingVenue, m: &LendingModel, mark: &[f64]) -> (Vec<Seizure>, Vec<f64>) {
        let mut sell = vec![0.0; mark.len()];
        v.collect(m, mark, None, &mut sell);
        let z = v.seized().to_vec();
        v.settle(m, mark, &mut PathSummary::default());
        (z, sell)
    }

    /// 15 units at 100 USD, LT 0.8, debt 1,000: HF 1.2 at 100, HF = 0.012 · price.
    fn one_account() -> LendingModel {
        market(vec![coll(0, 0.8, 0.05)], &[(1_000.0, vec![15.0])], &[100.0])
    }

    #[test]
    fn at_hf_096_half_the_debt_is_repaid() {
        let m = one_account();
        let mut v = LendingVenue::new(&m);
        assert!(round(&mut v, &m, &[90.0]).0.is_empty(), "HF 1.08: nothing");
        let (z, sell) = round(&mut v, &m, &[80.0]);
        assert_eq!(z.len(), 1);
        assert!((z[0].health_factor - 0.96).abs() < 1e-12);
        assert!((z[0].liquidation.repaid - 500.0).abs() < 1e-9);
        // 500 · 1.05 / 80 units seized and sold.
        assert!((sell[0] - 500.0 * 1.05 / 80.0).abs() < 1e-12);
        assert!((z[0].debt_after - 500.0).abs() < 1e-9);
        // HF after: (15 − 6.5625) · 80 · 0.8 / 500 = 1.08: not liquidated again.
        assert!(round(&mut v, &m, &[80.0]).0.is_empty());
    }

    /// At HF 0.96 (price 80) the call repays 500 and pays a bonus of 25 USD on 525 USD of
    /// collateral: with 20 bp of expected slippage (1.05 USD) a liquidator acts for a fixed
    /// cost just below 23.95 and not just above. The account left alone is looked at again:
    /// at HF 0.94 the whole debt is repaid, a bonus of 50 USD, and the same liquidator acts.
    #[test]
    fn liquidators_act_only_when_the_bonus_beats_slippage_and_cost() {
        for (cost, acts) in [(23.94, true), (23.96, false)] {
            let mut m = one_account();
            m.liquidator = Some(Liquidator {
                fixed_cost_usd: cost,
                expected_slippage: 0.002,
            });
            let mut v = LendingVenue::new(&m);
            let (z, sell) = round(&mut v, &m, &[80.0]);
            assert_eq!(z.len(), usize::from(acts), "cost {cost}");
            assert_eq!(sell[0] > 0.0, acts);
            if !acts {
                let (z, _) = round(&mut v, &m, &[0.94 / 0.012]);
                assert_eq!(z.len(), 1);
                assert!((z[0].liquidation.repaid - 1_000.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn at_hf_094_all_the_debt_is_repaid() {
        let m = one_account();
        let mut v = LendingVenue::new(&m);
        let price = 0.94 / 0.012;
        let (z, sell) = round(&mut v, &m, &[price]);
        assert_eq!(z.len(), 1);
        assert!((z[0].health_factor - 0.94).abs() < 1e-12);
        assert!((z[0].liquidation.repaid - 1_000.0).abs() < 1e-9);
        assert_eq!(z[0].debt_after, 0.0);
        assert_eq!(z[0].bad_debt, 0.0);
        assert!((sell[0] - 1_050.0 / price).abs() < 1e-12);
        // Closed: never found again, whatever the price does.
        assert!(round(&mut v, &m, &[1.0]).0.is_empty());
    }

    #[test]
    fn collateral_short_of_debt_plus_bonus_leaves_bad_debt() {
        let m = one_account();
        let mut v = LendingVenue::new(&m);
        // At 60: collateral 900 USD, debt 1,000: all of it seized for 900/1.05 repaid.
        let (z, sell) = round(&mut v, &m, &[60.0]);
        assert_eq!(z.len(), 1);
        let l = z[0].liquidation;
        assert!(l.all_collateral);
        assert_eq!(sell[0], 15.0);
        assert!((l.repaid - 900.0 / 1.05).abs() < 1e-9);
        assert!((z[0].bad_debt - (1_000.0 - 900.0 / 1.05)).abs() < 1e-9);
        assert_eq!(z[0].debt_after, 0.0);
    }

    #[test]
    fn a_fall_in_one_asset_seizes_and_sells_the_other() {
        // Equal value in A (asset 0, at 10) and B (asset 1, at 1,000): 60 A and 0.6 B, LT 0.8
        // for both, debt 800: HF 1.2. A falling 65% gives HF (210 + 600) · 0.8 / 800 = 0.81,
        // and B (now worth more than A) is seized and sold; A is not touched.
        let m = market(
            vec![coll(0, 0.8, 0.05), coll(1, 0.8, 0.05)],
            &[(800.0, vec![60.0, 0.6])],
            &[10.0, 1_000.0],
        );
        let mut v = LendingVenue::new(&m);
        let (z, sell) = round(&mut v, &m, &[3.5, 1_000.0]);
        assert_eq!(z.len(), 1);
        assert_eq!(z[0].collateral, 1);
        assert_eq!(sell[0], 0.0);
        assert!(sell[1] > 0.0);
        // HF 0.81 < 0.95: the whole debt, 800 · 1.05 = 840 USD of B, which holds only 600.
        assert!(z[0].liquidation.all_collateral);
        assert_eq!(sell[1], 0.6);
        assert!((z[0].debt_after - (800.0 - 600.0 / 1.05)).abs() < 1e-9);
        // Next round: A's 210 USD pay 200 of the 228.57 left; the rest is bad debt.
        let (z, sell) = round(&mut v, &m, &[3.5, 1_000.0]);
        assert_eq!(z.len(), 1);
        assert_eq!(z[0].collateral, 0);
        assert_eq!(sell, vec![60.0, 0.0]);
        assert!((z[0].bad_debt - (800.0 - 600.0 / 1.05 - 200.0)).abs() < 1e-9);
    }

    #[test]
    fn a_multi_collateral_account_above_hf_1_is_rearmed_not_liquidated() {
        // HF 1.2; A falls 30%: HF 1.2 · (0.5 · 0.7 + 0.5) = 1.02 — crossed trigger, no
        // liquidation; then B falls 5%: HF 0.99.
        let m = market(
            vec![coll(0, 0.8, 0.05), coll(1, 0.8, 0.05)],
            &[(800.0, vec![60.0, 0.6])],
            &[10.0, 1_000.0],
        );
        let mut v = LendingVenue::new(&m);
        assert!(round(&mut v, &m, &[7.0, 1_000.0]).0.is_empty());
        assert_eq!(v.touched.len(), 1, "checked once");
        assert!(round(&mut v, &m, &[7.0, 1_000.0]).0.is_empty());
        let (z, _) = round(&mut v, &m, &[7.0, 950.0]);
        assert_eq!(z.len(), 1);
        assert!((z[0].health_factor - 0.99).abs() < 1e-12);
    }

    #[test]
    fn a_halted_collateral_is_not_seized() {
        let m = one_account();
        let mut v = LendingVenue::new(&m);
        let mut sell = vec![0.0];
        v.collect(&m, &[80.0], Some(&[true]), &mut sell);
        assert!(v.seized().is_empty());
        assert_eq!(sell[0], 0.0);
        // After the halt it is found again (re-armed above the mark).
        let (z, _) = round(&mut v, &m, &[80.0]);
        assert_eq!(z.len(), 1);
    }

    fn health_of(m: &LendingModel, debt: f64, amount: &[f64], mark: &[f64]) -> f64 {
        let w: f64 = m
            .collateral
            .iter()
            .zip(amount)
            .map(|(c, &q)| q * mark[c.asset] * c.liquidation_threshold)
            .sum();
        lending::health_factor(w, debt)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Against a brute-force check of every account in every round: exactly the accounts
        /// with HF < 1 are liquidated (none missed by the trigger bounds, none above 1), each
        /// by the close-factor rule, each balancing to the cent.
        #[test]
        fn liquidations_are_exactly_the_accounts_below_hf_1_and_balance(
            n_coll in 1usize..=3,
            accounts in proptest::collection::vec(
                (1.0f64..1e6, proptest::collection::vec(0.0f64..1.0, 3), 1.01f64..2.0), 1..40),
            lt in proptest::collection::vec((0.5f64..0.9, 0.0f64..0.1), 3),
            moves in proptest::collection::vec(proptest::collection::vec(-0.08f64..0.04, 3), 1..40),
        ) {
            let start = [10.0, 1_000.0, 50_000.0];
            let c: Vec<CollateralParams> = (0..n_coll).map(|k| coll(k, lt[k].0, lt[k].1)).collect();
            // Each account: a debt, value shares over the collaterals (some may be 0), and a
            // start HF; amounts follow.
            let accts: Vec<(f64, Vec<f64>)> = accounts.iter().map(|(d, w, hf)| {
                let mut w: Vec<f64> = w[..n_coll].to_vec();
                if w.iter().all(|&x| x == 0.0) { w[0] = 1.0; }
                let tot: f64 = w.iter().sum();
                let wlt: f64 = (0..n_coll).map(|k| w[k] / tot * lt[k].0).sum();
                let value = hf * d / wlt;
                (*d, (0..n_coll).map(|k| w[k] / tot * value / start[k]).collect())
            }).collect();
            let m = market(c, &accts, &start);
            let mut v = LendingVenue::new(&m);
            let mut debt: Vec<f64> = accts.iter().map(|a| a.0).collect();
            let mut amount: Vec<Vec<f64>> = accts.iter().map(|a| a.1.clone()).collect();
            let mut mark = start.to_vec();
            for mv in &moves {
                for k in 0..3 { mark[k] *= (mv[k]).exp(); }
                // Two rounds at the same marks (the second finds re-armed remainders).
                for _ in 0..2 {
                    let expected: Vec<u32> = (0..accts.len())
                        .filter(|&i| debt[i] > 0.0 && health_of(&m, debt[i], &amount[i], &mark) < 1.0)
                        .map(|i| i as u32)
                        .collect();
                    let (z, sell) = round(&mut v, &m, &mark);
                    let got: Vec<u32> = z.iter().map(|s| s.account).collect();
                    prop_assert_eq!(&got, &expected);
                    let mut sold = [0.0; 3];
                    for s in &z {
                        let i = s.account as usize;
                        let l = s.liquidation;
                        let hf = health_of(&m, debt[i], &amount[i], &mark);
                        prop_assert!((s.health_factor - hf).abs() <= 1e-12 * hf);
                        prop_assert_eq!(s.debt_before, debt[i]);
                        prop_assert_eq!(s.amount_before, amount[i][s.collateral]);
                        // Largest collateral by value.
                        let values: Vec<f64> = (0..n_coll).map(|k| amount[i][k] * mark[k]).collect();
                        prop_assert!(values.iter().all(|&x| x <= values[s.collateral]));
                        // Close factor: 50% at or above HF 0.95, all below, unless capped.
                        let cf = if hf < 0.95 { 1.0 } else { 0.5 };
                        if !l.all_collateral {
                            prop_assert!((l.repaid - cf * s.debt_before).abs() < CENT);
                        } else {
                            prop_assert!(l.repaid <= cf * s.debt_before + CENT);
                        }
                        // Balances: collateral, value at the oracle, debt.
                        prop_assert!((s.amount_before - s.amount_after - l.seized).abs()
                            <= 1e-12 * s.amount_before);
                        prop_assert!((l.seized * s.price - l.repaid - l.bonus).abs() < CENT);
                        prop_assert!((l.bonus - l.repaid * m.collateral[s.collateral].bonus).abs() < CENT);
                        prop_assert!((s.debt_before - s.debt_after - l.repaid - s.bad_debt).abs() < CENT);
                        prop_assert!(s.bad_debt >= 0.0 && l.repaid > 0.0 && l.seized > 0.0);
                        // Bad debt only once no collateral is left.
                        amount[i][s.collateral] = s.amount_after;
                        debt[i] = s.debt_after;
                        if s.bad_debt > 0.0 {
                            prop_assert!(amount[i].iter().all(|&q| q == 0.0));
                        }
                        sold[m.collateral[s.collateral].asset] += l.seized;
                    }
                    for k in 0..3 {
                        prop_assert!((sold[k] - sell[k]).abs() <= 1e-12 * sold[k]);
                    }
                }
            }
        }
    }
}

//! `[cross_margin]`: cross-margin accounts — the assets they may hold with their maintenance
//! rates, the venue's liquidation rule, and either synthetic accounts (count, notional,
//! assets per account, side correlation, leverage) or a CSV file of their positions.

use super::FileSource;
use super::common::{MAX_POSITIONS, MAX_USD, asset_index, number, out_of_range, referenced_file};
use super::csv;
use super::population::{LEV_KEYS, leverage};
use super::reader::{Doc, Tbl};
use crate::model::spec::{AccountSource, CrossMargin, CrossRule, SyntheticAccounts};

pub(super) const CROSS_KEYS: &[&str] = &[
    "liquidation",
    "assets",
    "file",
    "accounts",
    "notional_usd",
    "notional_sigma",
    "assets_per_account",
    "long_share",
    "side_correlation",
    "leverage",
];
/// Keys of `[[cross_margin.assets]]`.
pub(super) const CROSS_ASSET_KEYS: &[&str] = &["asset", "maintenance_margin"];

/// The only liquidation rule implemented.
const CLOSE_ALL: &str = "close_all";

/// `[cross_margin]`; `prices`: the assets' start prices when every asset is valid (the file's
/// accounts are checked against them).
pub(super) fn cross_margin(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    names: &[String],
    prices: Option<&[f64]>,
    files: &dyn FileSource,
) -> Option<CrossMargin> {
    let n0 = doc.issues.len();
    let rule = liquidation_rule(doc, &mut t);
    let (assets, mm) = listed_assets(doc, &mut t, names);
    let max_mm = mm.iter().copied().fold(0.0, f64::max);
    let source = if doc.has(&mut t, "file") {
        referenced_file(doc, &mut t, "file", files, |text| {
            csv::accounts(text, names, &assets, &mm, prices).map(AccountSource::Explicit)
        })
    } else {
        synthetic(
            doc,
            &mut t,
            assets.len(),
            (max_mm > 0.0).then(|| 0.5 / max_mm),
        )
    };
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    Some(CrossMargin {
        maintenance_margin: mm,
        assets,
        rule: rule?,
        source: source?,
    })
}

/// `liquidation`: the venue's rule; only `"close_all"` is implemented.
fn liquidation_rule(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>) -> Option<CrossRule> {
    match doc.str(t, "liquidation") {
        None | Some(CLOSE_ALL) => Some(CrossRule::CloseAll),
        Some(other) => {
            doc.invalid(
                t,
                "liquidation",
                format!(
                    "only \"{CLOSE_ALL}\" is implemented (every position of the account closed at market in one round, as in Bybit's and Binance's cross margin); found \"{other}\""
                ),
            );
            None
        }
    }
}

/// `[[cross_margin.assets]]`: distinct assets and their maintenance rates; returns the listed
/// assets in order and the rate of every scenario asset (0 for one not listed).
fn listed_assets(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    names: &[String],
) -> (Vec<usize>, Vec<f64>) {
    let tables = doc.tables(t, "assets", CROSS_ASSET_KEYS);
    if tables.is_empty()
        && doc
            .issues
            .iter()
            .all(|i| !i.path.starts_with(&t.child("assets")))
    {
        doc.invalid(
            t,
            "assets",
            "needs at least one `[[cross_margin.assets]]` asset".into(),
        );
    }
    let mut assets = Vec::new();
    let mut mm = vec![0.0; names.len()];
    for mut c in tables {
        let mut a = asset_index(doc, &mut c, names);
        if let Some(x) = a
            && assets.contains(&x)
        {
            doc.invalid(
                &mut c,
                "asset",
                format!("asset \"{}\" is already listed", names[x]),
            );
            a = None;
        }
        let rate = number(
            doc,
            &mut c,
            "maintenance_margin",
            None,
            |x| x > 0.0 && x < 0.5,
            "a fraction in (0, 0.5)",
        );
        doc.finish(c);
        if let Some(a) = a {
            assets.push(a);
            mm[a] = rate;
        }
    }
    (assets, mm)
}

/// The synthetic accounts' keys; `listed`: how many assets are listed; `max_leverage`:
/// 1/(2 · the largest maintenance rate), as venues cap it.
fn synthetic(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    listed: usize,
    max_leverage: Option<f64>,
) -> Option<AccountSource> {
    // A value of the wrong type is reported as such, not also as out of range.
    let accounts = doc.req_u64(t, "accounts");
    let bad = accounts.is_some_and(|n| !(1..=MAX_POSITIONS).contains(&n));
    let accounts = accounts.unwrap_or(0);
    out_of_range(
        doc,
        t,
        "accounts",
        bad,
        format_args!("between 1 and {MAX_POSITIONS}"),
        accounts,
    );
    let notional_usd = number(
        doc,
        t,
        "notional_usd",
        None,
        |x| x > 0.0 && x <= MAX_USD,
        &format!("> 0 and at most {MAX_USD:e} USD"),
    );
    let notional_sigma = number(
        doc,
        t,
        "notional_sigma",
        Some(1.0),
        |x| (0.0..=3.0).contains(&x),
        "in [0, 3]",
    );
    let per = doc.u64(t, "assets_per_account").unwrap_or(listed as u64);
    let bad = listed > 0 && !(1..=listed as u64).contains(&per);
    out_of_range(
        doc,
        t,
        "assets_per_account",
        bad,
        format_args!("between 1 and the {listed} listed assets"),
        per,
    );
    let long_share = number(
        doc,
        t,
        "long_share",
        Some(0.5),
        |x| (0.0..=1.0).contains(&x),
        "a probability in [0, 1]",
    );
    let side_correlation = number(
        doc,
        t,
        "side_correlation",
        Some(1.0),
        |x| (-1.0..=1.0).contains(&x),
        "in [-1, 1]",
    );
    let lev = match doc.req_table(t, "leverage", LEV_KEYS) {
        Some(mut l) => {
            let out = leverage(doc, &mut l, max_leverage);
            doc.finish(l);
            out
        }
        None => None,
    };
    if [notional_usd, notional_sigma, long_share, side_correlation]
        .iter()
        .any(|x| x.is_nan())
        || bad
    {
        return None;
    }
    Some(AccountSource::Synthetic(SyntheticAccounts {
        accounts,
        notional_usd,
        notional_sigma,
        assets_per_account: per as usize,
        long_share,
        side_correlation,
        leverage: lev?,
    }))
}

#[cfg(test)]
mod tests {
    use crate::model::spec::{AccountSource, Scenario};
    use crate::scenario::{FileSource, NoFiles};

    struct One(&'static str);

    impl FileSource for One {
        fn read(&self, _: &str) -> Result<String, String> {
            Ok(self.0.to_string())
        }
    }

    const HEAD: &str = r#"
[simulation]
paths = 1
steps = 10
[[assets]]
name = "BTC"
price = 100.0
volatility = 0.5
[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 100
depth_usd = 1e6
[[assets]]
name = "ETH"
price = 10.0
volatility = 0.5
[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 100
depth_usd = 1e6
"#;

    fn parse(body: &str, files: &dyn FileSource) -> Result<Scenario, String> {
        Scenario::parse(&format!("{HEAD}{body}"), "t.toml", files).map_err(|e| e.to_string())
    }

    const ASSETS: &str = r#"
[[cross_margin.assets]]
asset = "BTC"
maintenance_margin = 0.01
[[cross_margin.assets]]
asset = "ETH"
maintenance_margin = 0.01
"#;

    #[test]
    fn synthetic_accounts_parse_with_defaults() {
        let s = parse(
            &format!(
                "[cross_margin]\naccounts = 10\nnotional_usd = 1e6\nleverage = {{ distribution = \"uniform\", min = 2, max = 5 }}\n{ASSETS}"
            ),
            &NoFiles,
        )
        .unwrap();
        let c = s.cross_margin.unwrap();
        assert_eq!(c.maintenance_margin, vec![0.01, 0.01]);
        let AccountSource::Synthetic(x) = c.source else {
            panic!("synthetic")
        };
        assert_eq!(
            (x.assets_per_account, x.long_share, x.side_correlation),
            (2, 0.5, 1.0)
        );
    }

    #[test]
    fn every_bad_key_is_reported_with_its_path() {
        let e = parse(
            "[cross_margin]\nliquidation = \"largest_loser_first\"\naccounts = 0\nnotional_usd = -1\nassets_per_account = 3\nside_correlation = 2\nleverage = { distribution = \"uniform\", min = 2, max = 80 }\n[[cross_margin.assets]]\nasset = \"BTC\"\nmaintenance_margin = 0.01\n[[cross_margin.assets]]\nasset = \"BTC\"\nmaintenance_margin = 0.02\n[[cross_margin.assets]]\nasset = \"ETH\"\nmaintenance_margin = 0.6\n",
            &NoFiles,
        )
        .unwrap_err();
        for needle in [
            "cross_margin.liquidation: only \"close_all\" is implemented",
            "cross_margin.accounts: must be between 1",
            "cross_margin.notional_usd: must be > 0",
            "cross_margin.assets_per_account: must be between 1 and the 2 listed assets",
            "cross_margin.leverage.min: need 1 < min < max <= 1/(2·maintenance_margin) = 50.0",
            "cross_margin.side_correlation: must be in [-1, 1]",
            "cross_margin.assets[1].asset: asset \"BTC\" is already listed",
            "cross_margin.assets[2].maintenance_margin: must be a fraction in (0, 0.5)",
        ] {
            assert!(e.contains(needle), "{needle}\n{e}");
        }
    }

    #[test]
    fn a_file_excludes_the_synthetic_keys() {
        let csv = "account,asset,side,size,entry_price,collateral\na,BTC,long,1,100,20\n";
        let e = parse(
            &format!("[cross_margin]\nfile = \"a.csv\"\naccounts = 3\n{ASSETS}"),
            &One(csv),
        )
        .unwrap_err();
        assert!(
            e.contains("cross_margin.accounts: key `accounts` does not apply here"),
            "{e}"
        );
        assert!(
            parse(
                &format!("[cross_margin]\nfile = \"a.csv\"\n{ASSETS}"),
                &One(csv)
            )
            .is_ok()
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_file_and_line() {
        let csv = "account,asset,side,size,entry_price,collateral\n\
                   a,BTC,long,1,100,20\n\
                   a,DOGE,long,1,100,20\n\
                   a,BTC,short,1,100,20\n\
                   a,ETH,long,-2,10,20\n\
                   a,ETH,long,2,10,25\n\
                   b,BTC,up,1,100,5\n\
                   c,BTC,long,1,100,0.5\n\
                   d,ETH,long,1,10\n";
        let e = parse(
            &format!("[cross_margin]\nfile = \"a.csv\"\n{ASSETS}"),
            &One(csv),
        )
        .unwrap_err();
        for needle in [
            "a.csv:3: column `asset`: \"DOGE\" is not a `[[cross_margin.assets]]` asset",
            "a.csv:4: account \"a\" already holds BTC (line 2)",
            "a.csv:5: column `size` must be > 0",
            "a.csv:6: column `collateral`: 25 differs from the account's 20 (line 2)",
            "a.csv:7: column `side`",
            "a.csv:8: account \"c\" starts at or below maintenance",
            "a.csv:9: expected 6 fields, found 5",
        ] {
            assert!(e.contains(needle), "{needle}\n{e}");
        }
    }

    #[test]
    fn a_file_s_notional_is_limited_per_position_and_in_all_as_notional_usd() {
        let head = "account,asset,side,size,entry_price,collateral\n";
        let file = |csv: String| {
            parse(
                &format!("[cross_margin]\nfile = \"a.csv\"\n{ASSETS}"),
                &One(Box::leak(csv.into_boxed_str())),
            )
        };
        // One position of 1e16 USD; a position of exactly 1e15 is accepted.
        let e = file(format!("{head}a,BTC,long,1e14,100,1e15\n")).unwrap_err();
        assert!(
            e.contains("a.csv:2: size x entry_price = 1e16 USD; a position's notional must be at most 1e15 USD (the limit of cross_margin.notional_usd)"),
            "{e}"
        );
        assert!(file(format!("{head}a,BTC,long,1e13,100,1e14\n")).is_ok());
        // 2,000 positions of 1e15 USD each: 2e18 USD in all.
        let rows: String = (0..2000)
            .map(|i| format!("a{i},BTC,long,1e13,100,1e14\n"))
            .collect();
        let e = file(format!("{head}{rows}")).unwrap_err();
        assert!(
            e.contains("a.csv:1: the accounts' notional is 2e18 USD; at most 1e15 USD (the limit of cross_margin.notional_usd)"),
            "{e}"
        );
        // Bought at 1 and worth 100 (BTC's start price) now: 1e17 USD at the start prices.
        let e = file(format!("{head}a,BTC,long,1e15,1,1e15\n")).unwrap_err();
        assert!(
            e.contains("a.csv:1: the accounts' notional at the assets' start prices is 1e17 USD; at most 1e15 USD"),
            "{e}"
        );
    }
}

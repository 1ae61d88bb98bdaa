//! Prospective positions: the text form `long 2.5 BTC @ 100000 x20 [on POPULATION]` and the
//! rows of a positions file, resolved against a scenario into a position with its margin and
//! its liquidation price under the maintenance tiers of the population (venue) it trades on.

use crate::model::margin;
use crate::model::spec::Scenario;
use crate::scenario::{MAX_PRICE, MAX_USD, MIN_PRICE, ProspectiveRow};

/// How the margin of a position is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginGiven {
    /// Leverage: notional at entry over margin.
    Leverage(f64),
    /// The liquidation price; the margin is what gives it under the tiers.
    Liquidation(f64),
}

/// A position as written, before it meets a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Prospective {
    /// What the user wrote (or `file.csv:LINE`), for messages and output.
    pub label: String,
    pub long: bool,
    /// Base units.
    pub qty: f64,
    /// Asset name; `None`: the scenario's only asset.
    pub asset: Option<String>,
    /// Entry price, USD; `None`: the asset's current price.
    pub entry: Option<f64>,
    pub margin: MarginGiven,
    /// Population whose tiers apply; `None`: the first population on the asset.
    pub population: Option<String>,
}

/// A position resolved against a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub label: String,
    pub long: bool,
    pub qty: f64,
    pub asset: usize,
    /// Index of the population whose tiers (venue) apply.
    pub population: usize,
    pub entry: f64,
    /// Isolated margin, USD.
    pub margin: f64,
    pub leverage: f64,
    /// Liquidation price under the population's tiers, USD.
    pub liquidation_price: f64,
}

fn number(word: &str, what: &str) -> Result<f64, String> {
    let x: f64 = word
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{what} {word:?} is not a number"))?;
    if !x.is_finite() {
        return Err(format!("{what} {word:?} is not a finite number"));
    }
    Ok(x)
}

/// Reads `SIDE SIZE ASSET [@ ENTRY] xLEVERAGE [on POPULATION]` (`SIDE`: long/short/buy/sell;
/// leverage also as `20x`, or `liq PRICE` instead; without `@ ENTRY` the position opens at the
/// current price).
///
/// # Errors
/// What is wrong, naming the word.
pub fn parse(text: &str) -> Result<Prospective, String> {
    let spaced = text.replace('@', " @ ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let usage = "expected `long|short SIZE ASSET [@ ENTRY] xLEVERAGE [on POPULATION]`, e.g. `long 2.5 BTC @ 100000 x20`";
    if words.len() < 4 {
        return Err(format!("too few words: {usage}"));
    }
    let long = match words[0].to_lowercase().as_str() {
        "long" | "buy" => true,
        "short" | "sell" => false,
        w => return Err(format!("side {w:?} is neither long nor short: {usage}")),
    };
    let qty = number(words[1], "size")?;
    if qty <= 0.0 {
        return Err(format!("size must be > 0, found {}", words[1]));
    }
    let asset = words[2].to_string();
    let mut entry = None;
    let mut margin = None;
    let mut population = None;
    let mut i = 3;
    while i < words.len() {
        let w = words[i];
        let next = || {
            words
                .get(i + 1)
                .copied()
                .ok_or_else(|| format!("{w:?} needs a value after it: {usage}"))
        };
        // A clause given twice is refused, not overwritten (the last one won, silently).
        let twice = |what: &str| format!("{what} is given twice in {text:?}: give it once");
        match w.to_lowercase().as_str() {
            "@" | "at" => {
                if entry.is_some() {
                    return Err(twice("the entry price"));
                }
                entry = Some(number(next()?, "entry price")?);
                i += 2;
            }
            "liq" => {
                if margin.is_some() {
                    return Err(twice("the margin (xLEVERAGE or liq PRICE)"));
                }
                margin = Some(MarginGiven::Liquidation(number(
                    next()?,
                    "liquidation price",
                )?));
                i += 2;
            }
            "on" => {
                if population.is_some() {
                    return Err(twice("the population"));
                }
                population = Some(next()?.to_string());
                i += 2;
            }
            l if l.starts_with('x') || l.ends_with('x') => {
                if margin.is_some() {
                    return Err(twice("the margin (xLEVERAGE or liq PRICE)"));
                }
                let n = l.trim_start_matches('x').trim_end_matches('x');
                margin = Some(MarginGiven::Leverage(number(n, "leverage")?));
                i += 1;
            }
            _ => return Err(format!("unexpected word {w:?}: {usage}")),
        }
    }
    let Some(margin) = margin else {
        return Err(format!("no leverage: add `x20` (or `liq PRICE`): {usage}"));
    };
    Ok(Prospective {
        label: text.trim().to_string(),
        long,
        qty,
        asset: Some(asset),
        entry,
        margin,
        population,
    })
}

/// A row of a positions file as a prospective position (the leverage wins when the row has
/// both; `resolve` then checks the liquidation price agrees).
pub fn from_row(file: &str, r: &ProspectiveRow) -> Prospective {
    Prospective {
        label: format!("{file}:{}", r.line),
        long: r.long,
        qty: r.qty,
        asset: r.asset.clone(),
        entry: Some(r.entry),
        margin: match (r.leverage, r.liquidation_price) {
            (Some(l), _) => MarginGiven::Leverage(l),
            (None, Some(p)) => MarginGiven::Liquidation(p),
            (None, None) => MarginGiven::Leverage(f64::NAN),
        },
        population: r.population.clone(),
    }
}

/// Resolves `p` against the scenario: its asset, the population whose tiers apply, the entry,
/// the margin and the liquidation price.
///
/// # Errors
/// An unknown asset or population, an asset no population trades, an entry out of range,
/// leverage not in `(1, 1/maintenance rate)`, a liquidation price on the wrong side.
pub fn resolve(s: &Scenario, p: &Prospective) -> Result<Resolved, String> {
    let names: Vec<&str> = s.assets.iter().map(|a| a.name.as_str()).collect();
    let asset = match &p.asset {
        Some(n) => names.iter().position(|a| a == n).ok_or_else(|| {
            format!(
                "unknown asset {n:?}; the scenario's assets are {}",
                names.join(", ")
            )
        })?,
        None if names.len() == 1 => 0,
        None => {
            return Err(format!(
                "the scenario has several assets ({}): name one (an `asset` column)",
                names.join(", ")
            ));
        }
    };
    let on_asset: Vec<usize> = (0..s.populations.len())
        .filter(|&k| s.populations[k].asset == asset)
        .collect();
    let population = match &p.population {
        Some(n) => {
            // By name, or by key path (`populations[1]`, as an unnamed one is shown).
            let k = (0..s.populations.len())
                .find(|&k| s.population_name(k) == *n)
                .ok_or_else(|| format!("unknown population {n:?}"))?;
            if s.populations[k].asset != asset {
                return Err(format!("population {n:?} does not trade {}", names[asset]));
            }
            k
        }
        None => *on_asset.first().ok_or_else(|| {
            format!(
                "no population trades {}: there are no venue tiers to price the position with",
                names[asset]
            )
        })?,
    };
    let price = s.assets[asset].price;
    let entry = p.entry.unwrap_or(price);
    if !(MIN_PRICE..=MAX_PRICE).contains(&entry) {
        return Err(format!(
            "entry price must be between {MIN_PRICE:e} and {MAX_PRICE:e} USD, found {entry}"
        ));
    }
    let notional = p.qty * entry;
    if notional > MAX_USD {
        return Err(format!(
            "size × entry = {notional:e} USD; a position's notional must be at most {MAX_USD:e} USD"
        ));
    }
    let sched = &s.populations[population].margin;
    let tier = sched.tier(notional);
    let margin = match p.margin {
        MarginGiven::Leverage(l) => {
            if !(l > 1.0 && l < 1.0 / tier.rate) {
                return Err(format!(
                    "leverage must be > 1 and below 1/maintenance rate = {:.1} ({}'s tier for {notional:.0} USD), found {l}",
                    1.0 / tier.rate,
                    s.population_name(population)
                ));
            }
            notional / l
        }
        MarginGiven::Liquidation(liq) => {
            let m = margin::margin_from_liquidation_price(p.long, p.qty, entry, liq, tier);
            let wrong = if p.long { liq >= entry } else { liq <= entry };
            if wrong || !(m > 0.0 && m.is_finite()) {
                return Err(format!(
                    "liquidation price {liq} must lie {} the entry {entry} and imply positive margin",
                    if p.long { "below" } else { "above" }
                ));
            }
            m
        }
    };
    let liquidation_price = margin::liquidation_price(p.long, p.qty, entry, margin, tier);
    Ok(Resolved {
        label: p.label.clone(),
        long: p.long,
        qty: p.qty,
        asset,
        population,
        entry,
        margin,
        leverage: notional / margin,
        liquidation_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_form_parses() {
        let p = parse("long 2.5 BTC @ 100000 x20").unwrap();
        assert!(p.long && p.qty == 2.5 && p.entry == Some(100_000.0));
        assert_eq!(p.asset.as_deref(), Some("BTC"));
        assert_eq!(p.margin, MarginGiven::Leverage(20.0));
        let q = parse("sell 1 ETH@3000 10x on perp").unwrap();
        assert!(!q.long && q.entry == Some(3000.0) && q.population.as_deref() == Some("perp"));
        assert_eq!(q.margin, MarginGiven::Leverage(10.0));
        let r = parse("short 1 ETH liq 3300").unwrap();
        assert_eq!(
            (r.entry, r.margin),
            (None, MarginGiven::Liquidation(3300.0))
        );
    }

    #[test]
    fn bad_strings_say_what_is_wrong() {
        for (text, needle) in [
            ("sideways 1 BTC x10", "neither long nor short"),
            ("long -1 BTC x10", "size must be > 0"),
            ("long abc BTC x10", "size \"abc\" is not a number"),
            ("long 1 BTC @ 100", "no leverage"),
            ("long 1 BTC", "too few words"),
            ("long 1 BTC @", "needs a value"),
            ("long 1 BTC x10 @", "needs a value"),
            ("long 1 BTC x10 please", "unexpected word \"please\""),
            ("long 1 BTC xten", "leverage \"ten\" is not a number"),
            (
                "long 1 BTC @ 100000 @ 5 x2",
                "the entry price is given twice",
            ),
            (
                "long 1 BTC x2 x3",
                "the margin (xLEVERAGE or liq PRICE) is given twice",
            ),
            (
                "long 1 BTC liq 50000 liq 60000",
                "margin (xLEVERAGE or liq PRICE) is given twice",
            ),
            (
                "long 1 BTC x2 liq 60000",
                "margin (xLEVERAGE or liq PRICE) is given twice",
            ),
            (
                "long 1 BTC x2 on foo on bar",
                "the population is given twice",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}

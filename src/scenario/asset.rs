//! `[[assets]]`: one asset's price process (innovations, drift and volatility, jumps,
//! volatility feedback, shocks, a bootstrap series) with its book and venues; the price range
//! over the horizon is checked here.

use super::FileSource;
use super::book::{BOOK_KEYS, book};
use super::bootstrap;
use super::common::{
    MAX_ASSET_NAME_BYTES, MAX_LOG_REACH, MAX_PRICE, MIN_PRICE, number, out_of_range, show,
};
use super::reader::{Doc, Tbl};
use super::simulation::Clock;
use super::venues;
use crate::model::spec::{Asset, Innovations, Jumps, SECONDS_PER_YEAR, Shock, VolFeedback};

pub(super) const ASSET_KEYS: &[&str] = &[
    "name",
    "price",
    "volatility",
    "drift",
    "innovations",
    "dof",
    "bootstrap",
    "shocks",
    "jumps",
    "volatility_feedback",
    "book",
    "venues",
    "index_lag_steps",
    "arbitrage_speed",
];
pub(super) const JUMP_KEYS: &[&str] = &["rate_per_day", "mean", "sd", "compensate"];
pub(super) const FEEDBACK_KEYS: &[&str] = &["alpha", "beta", "max_ratio"];
pub(super) const SHOCK_KEYS: &[&str] = &["step", "return"];
pub(super) fn asset(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    clock: Clock,
    files: &dyn FileSource,
) -> (String, Option<Asset>) {
    let n0 = doc.issues.len();
    let name = doc.req_str(&mut t, "name").unwrap_or("").to_string();
    if doc.has(&mut t, "name") && name.trim().is_empty() {
        doc.invalid(&mut t, "name", "must not be empty".into());
    } else if name.contains('/') || name == "." || name == ".." || name.contains('\0') {
        // The name becomes an HDF5 group (`/assets/<name>`) and part of file names.
        doc.invalid(
            &mut t,
            "name",
            format!("\"{name}\" cannot name an asset: no '/', NUL, \".\" or \"..\""),
        );
    } else if name.len() > MAX_ASSET_NAME_BYTES {
        // The results readers refuse a longer name: the run's files would be unreadable.
        doc.invalid(
            &mut t,
            "name",
            format!(
                "{} cannot name an asset: at most {MAX_ASSET_NAME_BYTES} bytes (the results files' limit), found {} bytes",
                crate::text::cut(&name),
                name.len()
            ),
        );
    }
    let price = doc.req_f64(&mut t, "price").unwrap_or(f64::NAN);
    if price <= 0.0 {
        doc.invalid(&mut t, "price", format!("must be > 0, found {price}"));
    } else if !price.is_nan() && !(MIN_PRICE..=MAX_PRICE).contains(&price) {
        // NaN: missing or not a finite number, already reported. Sizes in coins are USD amounts over the price: at 1e-300 they overflow.
        doc.invalid(
            &mut t,
            "price",
            format!(
                "must be between {MIN_PRICE:e} and {MAX_PRICE:e} USD, found {}",
                show(price)
            ),
        );
    }
    let volatility = doc.req_f64(&mut t, "volatility").unwrap_or(0.0);
    out_of_range(
        doc,
        &mut t,
        "volatility",
        !(0.0..=20.0).contains(&volatility),
        "an annualised fraction in [0, 20]",
        volatility,
    );
    let drift = doc.f64(&mut t, "drift").unwrap_or(0.0);
    out_of_range(
        doc,
        &mut t,
        "drift",
        drift.abs() > 100.0,
        "an annualised rate in [-100, 100]",
        drift,
    );
    let mut resampled = None;
    let innovations = match doc.choice(
        &mut t,
        "innovations",
        &["gaussian", "student_t", "bootstrap"],
    ) {
        Some("bootstrap") => {
            resampled = bootstrap::read(doc, &mut t, clock, files);
            Innovations::Gaussian
        }
        Some("student_t") => {
            let dof = doc.req_f64(&mut t, "dof").unwrap_or(f64::NAN);
            if dof <= 2.0 || dof > 1e6 {
                doc.invalid(&mut t, "dof", format!("degrees of freedom must be in (2, 1e6] so the variance is finite, found {dof}"));
            }
            Innovations::StudentT { dof }
        }
        Some(_) => Innovations::Gaussian,
        None => {
            // Absent: Gaussian. Present but invalid (already reported): `dof` may well belong
            // to the intended "student_t", so it is not reported as not applying.
            if doc.has(&mut t, "innovations") {
                doc.has(&mut t, "dof");
            }
            Innovations::Gaussian
        }
    };
    let shocks = shocks(doc, &mut t, clock);
    let jumps = doc
        .table(&mut t, "jumps", JUMP_KEYS)
        .and_then(|j| jumps(doc, j, clock));
    let vol_feedback = doc
        .table(&mut t, "volatility_feedback", FEEDBACK_KEYS)
        .and_then(|f| vol_feedback(doc, f));
    // Feedback keeps the long-run variance at the stated one only if the constant term
    // ω = (1 − α − β)·σ²·dt − α·E[J²] is positive, E[J²] the jumps' second moment per step.
    if let (Some(f), Some(secs)) = (vol_feedback, clock.step_seconds) {
        let dt = secs / SECONDS_PER_YEAR;
        let h = volatility * volatility * dt;
        let j2 = jumps.map_or(0.0, |j| {
            let l = j.rate_per_day * secs / 86_400.0;
            l * (j.mean * j.mean + j.sd * j.sd) + (l * j.mean).powi(2)
        });
        if volatility == 0.0 || (1.0 - f.alpha - f.beta) * h <= f.alpha * j2 {
            doc.invalid(
                &mut t,
                "volatility_feedback",
                format!(
                    "cannot keep the long-run volatility at the stated {volatility}: needs volatility > 0 and (1 − alpha − beta)·σ²·dt = {:.3e} > alpha·E[jump²] per step = {:.3e}; lower alpha or beta, or the jumps",
                    (1.0 - f.alpha - f.beta) * h,
                    f.alpha * j2
                ),
            );
        }
    }
    // The fundamental is `exp(log price)`. Over the whole horizon its trend (drift and
    // variance drag), ±10 standard deviations of its noise and all shocks together must stay
    // far inside the range of an f64, or the price becomes 0 or inf mid-path (with
    // `step_seconds = 1e12`, or volatility 20 over 10⁷ one-minute steps) and every figure
    // after it is NaN. Book impact needs room on top, hence e^±200 rather than e^±709.
    if doc.issues.len() == n0
        && let (Some(n), Some(secs)) = (clock.steps, clock.step_seconds)
    {
        let years = f64::from(n) * secs / SECONDS_PER_YEAR;
        // A zero coefficient contributes nothing even over an infinite horizon (0·inf = NaN).
        let term = |c: f64, x: f64| if c == 0.0 { 0.0 } else { c.abs() * x };
        // Volatility feedback keeps the long-run variance at the stated one, so the noise
        // term is unchanged (bursts are capped at `max_ratio` times σ per step). Jumps add
        // their expected count times |mean| plus 10 standard deviations of their sum.
        // Resampled returns: the series' own volatility, and no variance drag (the drift is
        // added to the demeaned log returns).
        let (peak_vol, drag) = match &resampled {
            Some(b) => (b.volatility(secs / SECONDS_PER_YEAR), 0.0),
            None => (volatility, volatility * volatility / 2.0),
        };
        let jump_reach = jumps.map_or(0.0, |j| {
            let count = j.rate_per_day * years * 365.0;
            term(j.mean, count) + term(10.0, (count * (j.mean * j.mean + j.sd * j.sd)).sqrt())
        });
        let reach = term(drift - drag, years)
            + term(10.0 * peak_vol, years.sqrt())
            + jump_reach
            + shocks.iter().map(|s| (1.0 + s.ret).ln().abs()).sum::<f64>();
        if reach.is_nan() || reach > MAX_LOG_REACH {
            let (noise, lower) = if resampled.is_some() {
                ("the resampled returns", "drift or shocks")
            } else {
                ("volatility", "volatility, drift or shocks")
            };
            doc.invalid_table(
                &t,
                format!(
                    "over {n} steps of {secs} s ({years:.3e} years) this asset's price could move by a factor of e^{reach:.0} (drift, {noise} and shocks), beyond the e^{MAX_LOG_REACH} that prices can represent; use fewer or shorter steps, or lower the {lower}"
                ),
            );
        }
    }
    let book = doc
        .req_table(&mut t, "book", BOOK_KEYS)
        .and_then(|b| book(doc, b, price, volatility, files));
    let venues = venues::venues(doc, &mut t, book.as_ref(), price, volatility, clock, files);
    doc.finish(t);
    if doc.issues.len() > n0 {
        return (name, None);
    }
    let asset = book.map(|book| Asset {
        name: name.clone(),
        price,
        volatility,
        drift,
        innovations,
        bootstrap: resampled,
        shocks,
        jumps,
        vol_feedback,
        book,
        venues,
    });
    (name, asset)
}

/// `[[assets.shocks]]`, sorted by step; a step must lie inside the simulation.
fn shocks(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>, clock: Clock) -> Vec<Shock> {
    let mut shocks = Vec::new();
    for mut s in doc.tables(t, "shocks", SHOCK_KEYS) {
        let step = doc.req_u64(&mut s, "step");
        let ret = doc.req_f64(&mut s, "return");
        if let (Some(step), Some(n)) = (step, clock.steps) {
            out_of_range(
                doc,
                &mut s,
                "step",
                step >= u64::from(n),
                format_args!("below simulation.steps = {n}"),
                step,
            );
        }
        if let Some(r) = ret {
            out_of_range(
                doc,
                &mut s,
                "return",
                r <= -1.0,
                "> -1 (a price cannot fall 100% or more)",
                r,
            );
        }
        doc.finish(s);
        if let (Some(step), Some(ret)) = (step, ret) {
            shocks.push(Shock {
                step: step.min(u64::from(u32::MAX)) as u32,
                ret,
            });
        }
    }
    shocks.sort_by_key(|s| s.step);
    shocks
}

/// Most expected jumps per step: the inverse-CDF draw of the count walks about this many
/// terms in the worst case.
pub(super) const MAX_JUMPS_PER_STEP: f64 = 100.0;

/// `[assets.jumps]`.
pub(super) fn jumps(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>, clock: Clock) -> Option<Jumps> {
    let n0 = doc.issues.len();
    let rate = number(
        doc,
        &mut t,
        "rate_per_day",
        None,
        |x| x >= 0.0,
        ">= 0 jumps per day",
    );
    if let Some(secs) = clock.step_seconds
        && rate * secs / 86_400.0 > MAX_JUMPS_PER_STEP
    {
        doc.invalid(
            &mut t,
            "rate_per_day",
            format!(
                "gives {} expected jumps per step of {secs} s; at most {MAX_JUMPS_PER_STEP} are supported (use shorter steps or a lower rate)",
                show(rate * secs / 86_400.0)
            ),
        );
    }
    let mean = number(
        doc,
        &mut t,
        "mean",
        None,
        |x| x.abs() <= 1.0,
        "a log jump size in [-1, 1]",
    );
    let sd = number(
        doc,
        &mut t,
        "sd",
        None,
        |x| (0.0..=1.0).contains(&x),
        "a log jump size in [0, 1]",
    );
    let compensate = doc.bool(&mut t, "compensate").unwrap_or(true);
    doc.finish(t);
    (doc.issues.len() == n0).then_some(Jumps {
        rate_per_day: rate,
        mean,
        sd,
        compensate,
    })
}

/// `[assets.volatility_feedback]`.
pub(super) fn vol_feedback(doc: &mut Doc<'_>, mut t: Tbl<'_, '_>) -> Option<VolFeedback> {
    let n0 = doc.issues.len();
    let alpha = number(
        doc,
        &mut t,
        "alpha",
        None,
        |x| x > 0.0 && x < 1.0,
        "in (0, 1)",
    );
    let beta = number(
        doc,
        &mut t,
        "beta",
        None,
        |x| (0.0..1.0).contains(&x),
        "in [0, 1)",
    );
    if alpha + beta >= 1.0 {
        doc.invalid(
            &mut t,
            "beta",
            format!("alpha + beta must be < 1 (a stationary variance), found {alpha} + {beta}"),
        );
    }
    let max_ratio = number(
        doc,
        &mut t,
        "max_ratio",
        Some(10.0),
        |x| (1.0..=100.0).contains(&x),
        "a multiple of the stated volatility in [1, 100]",
    );
    doc.finish(t);
    (doc.issues.len() == n0).then_some(VolFeedback {
        alpha,
        beta,
        max_ratio,
    })
}

#[cfg(test)]
mod tests {
    use crate::model::spec::Scenario;
    use crate::scenario::NoFiles;

    fn parse(name: &str) -> Result<Scenario, String> {
        let text = format!(
            "[simulation]\nsteps = 10\n[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n"
        );
        Scenario::parse(&text, "t.toml", &NoFiles).map_err(|e| e.to_string())
    }

    #[test]
    fn an_asset_name_is_at_most_64_bytes_as_the_results_readers_take() {
        assert!(parse(&"B".repeat(64)).is_ok());
        let e = parse(&"B".repeat(65)).unwrap_err();
        assert!(
            e.contains("assets[0].name: \"BBBBBBBBBBBBBBBBBBBBBBBB\"… (65 characters) cannot name an asset: at most 64 bytes (the results files' limit), found 65 bytes"),
            "{e}"
        );
        // Bytes, not characters: 33 two-byte characters are 66 bytes.
        let e = parse(&"é".repeat(33)).unwrap_err();
        assert!(e.contains("found 66 bytes"), "{e}");
    }
}

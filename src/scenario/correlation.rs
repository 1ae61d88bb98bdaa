//! `[correlation]`: the base correlation matrix (checked here, factorised by
//! `model::correlation`), later regimes, the common jump clock and shared t mixing.

use super::reader::{Doc, Tbl};
use super::simulation::Clock;
use crate::model::correlation::{FactorError, cholesky_factor};
use crate::model::spec::{Asset, CorrelationRegime, Dependence, Innovations};

pub(super) const CORR_KEYS: &[&str] = &["matrix", "regimes", "jump_clock", "t_mixing"];
pub(super) const REGIME_KEYS: &[&str] = &["from_step", "matrix"];
/// `[correlation]`: the base matrix (its Cholesky factor) and the rest of the dependence.
/// `assets` are given when every asset is valid (for the checks of `t_mixing`).
pub(super) fn correlation(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    n: usize,
    assets: Option<&Vec<Asset>>,
    clock: Clock,
) -> (Option<Vec<f64>>, Dependence) {
    let base = matrix_factor(doc, &mut t, n);
    let mut dep = Dependence::default();
    let mut last_step = 0u64;
    for mut r in doc.tables(&mut t, "regimes", REGIME_KEYS) {
        let from = doc.req_u64(&mut r, "from_step");
        if let Some(k) = from {
            if k <= last_step {
                doc.invalid(
                    &mut r,
                    "from_step",
                    format!("must be > 0 and above the previous regime's from_step ({last_step}), found {k}"),
                );
            } else if let Some(steps) = clock.steps
                && k >= u64::from(steps)
            {
                doc.invalid(
                    &mut r,
                    "from_step",
                    format!("must be below simulation.steps = {steps}, found {k}"),
                );
            }
            last_step = last_step.max(k);
        }
        let factor = matrix_factor(doc, &mut r, n);
        doc.finish(r);
        if let (Some(k), Some(l)) = (from, factor) {
            dep.regimes.push(CorrelationRegime {
                from_step: k.min(u64::from(u32::MAX)) as u32,
                cholesky: l,
            });
        }
    }
    dep.common_jump_clock = doc
        .choice(&mut t, "jump_clock", &["independent", "common"])
        .is_some_and(|c| c == "common");
    dep.shared_t_mixing = doc
        .choice(&mut t, "t_mixing", &["per_asset", "shared"])
        .is_some_and(|c| c == "shared");
    if dep.shared_t_mixing
        && let Some(assets) = assets
    {
        let dofs: Vec<Option<f64>> = assets
            .iter()
            .map(|a| match a.innovations {
                Innovations::StudentT { dof } => Some(dof),
                Innovations::Gaussian => None,
            })
            .collect();
        let first = dofs.first().copied().flatten();
        if dofs.iter().any(|d| d.is_none() || *d != first) {
            let list: Vec<String> = assets
                .iter()
                .zip(&dofs)
                .map(|(a, d)| match d {
                    Some(d) => format!("{} student_t({d})", a.name),
                    None => format!("{} gaussian", a.name),
                })
                .collect();
            doc.invalid(
                &mut t,
                "t_mixing",
                format!(
                    "\"shared\" (a multivariate t) needs every asset to be student_t with the same dof; found {}",
                    list.join(", ")
                ),
            );
        }
    }
    doc.finish(t);
    (base, dep)
}

/// Reads `matrix` of `t` and returns its Cholesky factor (row-major n×n), reporting a matrix
/// that is missing, of the wrong size, not a correlation matrix or not PSD.
pub(super) fn matrix_factor(doc: &mut Doc<'_>, t: &mut Tbl<'_, '_>, n: usize) -> Option<Vec<f64>> {
    let m = doc.matrix(t, "matrix");
    if m.is_none() && !doc.has(t, "matrix") {
        doc.invalid_table(t, "missing required key `matrix`".into());
    }
    let path = t.child("matrix");
    let span = doc.span_of(t, "matrix");
    let m = m?;
    if m.len() != n || m.iter().any(|r| r.len() != n) {
        let shape = m
            .iter()
            .map(|r| r.len().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        doc.error_at(
            &path,
            span,
            format!("must be {n}×{n} (one row and column per asset, in [[assets]] order); found {} rows of lengths [{shape}]", m.len()),
        );
        return None;
    }
    let mut bad = false;
    for (i, row) in m.iter().enumerate() {
        if (row[i] - 1.0).abs() > 1e-9 {
            doc.error_at(
                &format!("{path}[{i}][{i}]"),
                span.clone(),
                format!("diagonal entries must be 1, found {}", row[i]),
            );
            bad = true;
        }
        for (j, &x) in row.iter().enumerate() {
            if !(-1.0..=1.0).contains(&x) {
                doc.error_at(
                    &format!("{path}[{i}][{j}]"),
                    span.clone(),
                    format!("correlations must be in [-1, 1], found {x}"),
                );
                bad = true;
            } else if j > i && (x - m[j][i]).abs() > 1e-9 {
                doc.error_at(
                    &format!("{path}[{i}][{j}]"),
                    span.clone(),
                    format!(
                        "matrix must be symmetric: [{i}][{j}] = {x} but [{j}][{i}] = {}",
                        m[j][i]
                    ),
                );
                bad = true;
            }
        }
    }
    if bad {
        return None;
    }
    match cholesky_factor(&m) {
        Ok(l) => Some(l),
        Err(FactorError::NotPsd { min_eigenvalue }) => {
            doc.error_at(&path, span, format!("is not positive semi-definite (smallest eigenvalue {min_eigenvalue:.4}); no set of assets can have these correlations"));
            None
        }
        Err(FactorError::NotFactorisable) => {
            doc.error_at(
                &path,
                span,
                "cannot be factorised (Cholesky); it is numerically not positive semi-definite"
                    .into(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::spec::Scenario;
    use crate::scenario::NoFiles;

    /// Three assets; the first row/column perfectly correlated, the other pair almost.
    fn three_assets(c: &str) -> String {
        let mut s = String::from("[simulation]\nsteps = 10\n");
        for name in ["A", "B", "C"] {
            s.push_str(&format!(
                "[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n"
            ));
        }
        s.push_str(&format!(
            "[correlation]\nmatrix = [[1, 1, 1], [1, 1, {c}], [1, {c}, 1]]\n"
        ));
        s
    }

    #[test]
    fn a_tolerated_tiny_negative_eigenvalue_keeps_the_correlation() {
        // Smallest eigenvalue about −3e-12: inside the PSD tolerance, but the fixed 1e-12
        // ridge did not make it factorisable and the correlation was silently dropped.
        let s = Scenario::parse(&three_assets("0.99999999999"), "t.toml", &NoFiles)
            .expect("valid scenario");
        let l = s.cholesky.expect("the correlation is kept");
        // Row 1 of L·Lᵀ reproduces the matrix: the assets move together.
        let dot = |i: usize, j: usize| (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum::<f64>();
        assert!((dot(0, 1) - 1.0).abs() < 1e-5 && (dot(1, 2) - 1.0).abs() < 1e-5);
    }
}

//! The Cholesky factor of a correlation matrix, which turns independent normals into
//! correlated ones (`price::Dependence`). The scenario reader checks the matrix's shape,
//! diagonal, range and symmetry and reports the errors of this factorisation.

use nalgebra::DMatrix;

/// Why a (square, symmetric, unit-diagonal) correlation matrix has no factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FactorError {
    /// The smallest eigenvalue is below −1e-10: no set of assets has these correlations.
    NotPsd { min_eigenvalue: f64 },
    /// Positive semi-definite within the tolerance, but the factorisation fails numerically.
    NotFactorisable,
}

/// The lower-triangular Cholesky factor of the n×n matrix `m` (rows of equal length n),
/// row-major.
///
/// # Errors
/// [`FactorError::NotPsd`] when the smallest eigenvalue is below −1e-10, and
/// [`FactorError::NotFactorisable`] when even a ridge covering a tolerated negative
/// eigenvalue does not make it factorisable.
pub fn cholesky_factor(m: &[Vec<f64>]) -> Result<Vec<f64>, FactorError> {
    let n = m.len();
    let mat = DMatrix::from_fn(n, n, |i, j| m[i][j]);
    let min_eig = mat.clone().symmetric_eigen().eigenvalues.min();
    if min_eig < -1e-10 {
        return Err(FactorError::NotPsd {
            min_eigenvalue: min_eig,
        });
    }
    // A PSD but singular matrix (perfect correlation) gets a negligible ridge so Cholesky exists.
    let ridge = if min_eig < 1e-12 { 1e-12 } else { 0.0 };
    // That ridge does not cover a tolerated negative eigenvalue (down to −1e-10): for
    // [[1,1,1],[1,1,c],[1,c,1]] with c = 1 − 1e-11 (smallest eigenvalue −3e-12) the
    // factorisation failed and `?` returned None without an issue, so the scenario was
    // accepted and run with independent assets. Retry with a ridge that covers it, and report
    // the matrix if even that fails.
    let identity = DMatrix::<f64>::identity(n, n);
    let chol = (mat.clone() + &identity * ridge)
        .cholesky()
        .or_else(|| (mat + &identity * (1e-12 - 2.0 * min_eig.min(0.0))).cholesky());
    let Some(chol) = chol else {
        return Err(FactorError::NotFactorisable);
    };
    let l = chol.l();
    Ok((0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| l[(i, j)])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_reproduces_the_matrix_and_refuses_impossible_ones() {
        let m = vec![vec![1.0, 0.5], vec![0.5, 1.0]];
        let l = cholesky_factor(&m).unwrap();
        assert_eq!(l[1], 0.0);
        assert!((l[2] - 0.5).abs() < 1e-15 && (l[3] - 0.75f64.sqrt()).abs() < 1e-15);
        // Perfect correlation: singular but factorisable with the ridge.
        let one = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert!(cholesky_factor(&one).is_ok());
        // Pairwise −0.9 among three assets: not a correlation matrix.
        let bad = vec![
            vec![1.0, -0.9, -0.9],
            vec![-0.9, 1.0, -0.9],
            vec![-0.9, -0.9, 1.0],
        ];
        assert!(matches!(
            cholesky_factor(&bad),
            Err(FactorError::NotPsd { min_eigenvalue }) if min_eigenvalue < -0.5
        ));
    }
}

//! Diagnostics shared by every reader of user input (scenario, replay series, sweep keys):
//! the problems found in one document, each with its key path and, where known, line and
//! column ([`Issue`], [`ScenarioError`]), and the "did you mean" of an unknown name
//! ([`suggest`]). A leaf: it imports nothing of the crate, so `scenario` and `history` (which
//! read each other's inputs) can both use it.

use std::fmt;

/// One problem in a scenario file or a file it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// TOML key path, e.g. `populations[0].leverage.weights`.
    pub path: String,
    /// 1-based line in the scenario file (or in the referenced CSV, see `message`).
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

/// All problems found in one scenario. Never empty.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ScenarioError {
    /// How to name the scenario in messages (usually its file path).
    pub origin: String,
    /// Every problem found, in document order.
    pub issues: Vec<Issue>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "{}: {n} problem{} found",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "  {}", self.origin)?;
            if let Some(line) = issue.line {
                write!(f, ":{line}")?;
                if let Some(col) = issue.column {
                    write!(f, ":{col}")?;
                }
            }
            if issue.path.is_empty() {
                writeln!(f, ": {}", issue.message)?;
            } else {
                writeln!(f, ": {}: {}", issue.path, issue.message)?;
            }
        }
        Ok(())
    }
}

/// The closest candidate within a small edit distance, for "did you mean" (also used by the
/// binary for names other than scenario keys, such as `tails --metric`).
pub fn suggest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&word.to_lowercase(), &c.to_lowercase());
        let limit = (c.len().max(word.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_close_misspellings_only() {
        let keys = ["volatility", "price", "shocks"];
        assert_eq!(
            suggest("volatilty", keys.iter().copied()),
            Some("volatility")
        );
        assert_eq!(suggest("prise", keys.iter().copied()), Some("price"));
        assert_eq!(suggest("banana", keys.iter().copied()), None);
    }
}

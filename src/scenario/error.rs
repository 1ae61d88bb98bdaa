//! Validation errors: every problem in a scenario, each with its TOML key path and, where
//! known, the line and column.

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

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

/// The most problems of one document printed: a file from elsewhere with 200,000 bad rows
/// printed 400,000 lines; the count says how many there are, and the first ones show what
/// is wrong.
pub const MAX_SHOWN: usize = 500;

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "{}: {n} problem{} found",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for issue in self.issues.iter().take(MAX_SHOWN) {
            self.write_issue(f, issue)?;
        }
        if n > MAX_SHOWN {
            let more = n - MAX_SHOWN;
            writeln!(
                f,
                "  {}: and {more} more problem{} (the first {MAX_SHOWN} are shown)",
                self.origin,
                if more == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// The most problems of one input file kept in full while it is read ([`Bounded`]); below
/// [`MAX_SHOWN`], so that the note counting the others is printed too (unless the document
/// has many problems of its own before it).
pub const LISTED: usize = 400;

/// The problems of one input file as they are found: the first [`LISTED`] kept, the others
/// only counted. A file from elsewhere with a bad value on each of its 50 million rows held
/// 50 million messages (gigabytes), though at most [`MAX_SHOWN`] are printed.
#[derive(Debug, Clone)]
pub struct Bounded<T> {
    kept: Vec<T>,
    /// Problems of the whole file (its open interest, a side without depth), always kept.
    whole: Vec<T>,
    /// Problems found after the first [`LISTED`], and the first of them.
    unlisted: usize,
    first_unlisted: Option<T>,
}

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Bounded {
            kept: Vec::new(),
            whole: Vec::new(),
            unlisted: 0,
            first_unlisted: None,
        }
    }
}

impl<T> Bounded<T> {
    pub fn push(&mut self, problem: T) {
        if self.kept.len() < LISTED {
            self.kept.push(problem);
        } else {
            if self.unlisted == 0 {
                self.first_unlisted = Some(problem);
            }
            self.unlisted += 1;
        }
    }

    /// A problem of the whole file, found after its rows (its open interest over a limit):
    /// kept whatever the rows' count, so that it is never only counted.
    pub fn push_whole(&mut self, problem: T) {
        self.whole.push(problem);
    }

    pub fn extend(&mut self, problems: impl IntoIterator<Item = T>) {
        for p in problems {
            self.push(p);
        }
    }

    /// Every problem found, kept or not.
    pub fn len(&self) -> usize {
        self.kept.len() + self.whole.len() + self.unlisted
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kept problems and, when there were more, a last one made by `note` from the first
    /// problem not kept and the words that count them ([`unlisted_note`]).
    pub fn into_vec(mut self, note: impl FnOnce(T, String) -> T) -> Vec<T> {
        self.kept.append(&mut self.whole);
        if let Some(first) = self.first_unlisted.take() {
            let n = self.unlisted;
            self.kept.push(note(first, unlisted_note(n)));
        }
        self.kept
    }
}

impl Bounded<Issue> {
    /// The kept issues and, when there were more, the note counting them on the line of the
    /// first of them.
    pub fn into_issues(self) -> Vec<Issue> {
        self.into_vec(|first, message| Issue {
            path: String::new(),
            line: first.line,
            column: None,
            message,
        })
    }
}

/// The words of the last problem of a file whose problems after the first [`LISTED`] were
/// counted, not kept (`unlisted` of them).
pub fn unlisted_note(unlisted: usize) -> String {
    format!(
        "and {unlisted} more problem{} not listed, the first of them on this line ({} in this file; the first {LISTED} found are listed)",
        if unlisted == 1 { "" } else { "s" },
        unlisted + LISTED
    )
}

impl ScenarioError {
    fn write_issue(&self, f: &mut fmt::Formatter<'_>, issue: &Issue) -> fmt::Result {
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
    /// A document with more than [`MAX_SHOWN`] problems prints the count, the first ones and
    /// how many more.
    #[test]
    fn at_most_max_shown_problems_are_printed() {
        let issue = |k: usize| Issue {
            path: String::new(),
            line: Some(k),
            column: None,
            message: "bad".into(),
        };
        let e = ScenarioError {
            origin: "t.csv".into(),
            issues: (1..=MAX_SHOWN + 7).map(issue).collect(),
        };
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_SHOWN + 2);
        assert_eq!(lines[0], format!("t.csv: {} problems found", MAX_SHOWN + 7));
        assert_eq!(lines[MAX_SHOWN], format!("  t.csv:{MAX_SHOWN}: bad"));
        assert_eq!(
            lines[MAX_SHOWN + 1],
            format!("  t.csv: and 7 more problems (the first {MAX_SHOWN} are shown)")
        );
    }

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

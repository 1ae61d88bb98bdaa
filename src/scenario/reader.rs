//! A reader over the spanned TOML tree that collects every problem instead of stopping at
//! the first. It owns key paths (`populations[1].leverage.weights`), line numbers, type
//! checks, unknown-key detection with "did you mean" suggestions (`crate::diagnostics::suggest`).

use std::collections::BTreeSet;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::diagnostics::{Issue, suggest};

/// Collects issues while the validator walks the document.
pub(crate) struct Doc<'s> {
    src: &'s str,
    line_starts: Vec<usize>,
    pub(crate) issues: Vec<Issue>,
}

/// A table being read, with the keys consumed so far (to report unknown keys).
pub(crate) struct Tbl<'t, 'i> {
    table: &'t DeTable<'i>,
    pub(crate) path: String,
    span: Range<usize>,
    used: BTreeSet<&'static str>,
    allowed: &'static [&'static str],
}

impl<'s> Doc<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        let mut doc = Doc {
            src,
            line_starts,
            issues: Vec::new(),
        };
        // Lossily decoded bytes (`text::decode`) are problems of their own, one per line at
        // the first of them; the rest of the file is still checked.
        let marks: Vec<usize> = src
            .match_indices(char::REPLACEMENT_CHARACTER)
            .map(|(i, _)| i)
            .collect();
        let mut last = 0;
        for i in marks {
            let (line, column) = doc.line_col(i);
            if line != last {
                last = line;
                doc.issues.push(Issue {
                    path: String::new(),
                    line: Some(line),
                    column: Some(column),
                    message: crate::text::NOT_UTF8.into(),
                });
            }
        }
        doc
    }

    /// (line, column), both 1-based, of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let col = self.src[start..offset.min(self.src.len())].chars().count() + 1;
        (line, col)
    }

    pub(crate) fn error_at(&mut self, path: &str, span: Option<Range<usize>>, message: String) {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = self.line_col(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.issues.push(Issue {
            path: path.to_string(),
            line,
            column,
            message,
        });
    }

    /// The root table.
    pub(crate) fn root<'t, 'i>(
        &self,
        table: &'t Spanned<DeTable<'i>>,
        allowed: &'static [&'static str],
    ) -> Tbl<'t, 'i> {
        Tbl {
            table: table.get_ref(),
            path: String::new(),
            span: table.span(),
            used: BTreeSet::new(),
            allowed,
        }
    }

    fn raw<'t, 'i>(
        &mut self,
        t: &mut Tbl<'t, 'i>,
        key: &'static str,
    ) -> Option<&'t Spanned<DeValue<'i>>> {
        debug_assert!(
            t.allowed.contains(&key),
            "key {key} not declared for {}",
            t.path
        );
        t.used.insert(key);
        t.table.get(key)
    }

    /// Whether the key is present (and marks it as known).
    pub(crate) fn has(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> bool {
        self.raw(t, key).is_some()
    }

    /// Span of the value under `key`, if present.
    pub(crate) fn span_of(
        &mut self,
        t: &mut Tbl<'_, '_>,
        key: &'static str,
    ) -> Option<Range<usize>> {
        self.raw(t, key).map(|v| v.span())
    }

    pub(crate) fn missing(&mut self, t: &Tbl<'_, '_>, key: &str) {
        let path = t.child(key);
        let span = Some(t.span.clone());
        let where_ = if t.path.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{}]", t.path)
        };
        self.error_at(
            &path,
            span,
            format!("missing required key `{key}` in {where_}"),
        );
    }

    fn wrong_type(&mut self, path: &str, v: &Spanned<DeValue<'_>>, expected: &str) {
        self.error_at(
            path,
            Some(v.span()),
            format!("expected {expected}, found {}", describe(v.get_ref())),
        );
    }

    /// A finite number (integer or float). `None` when absent or invalid (invalid is recorded).
    pub(crate) fn f64(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<f64> {
        let v = self.raw(t, key)?;
        let path = t.child(key);
        self.value_f64(&path, v)
    }

    pub(crate) fn req_f64(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<f64> {
        if !self.has(t, key) {
            self.missing(t, key);
            return None;
        }
        self.f64(t, key)
    }

    fn value_f64(&mut self, path: &str, v: &Spanned<DeValue<'_>>) -> Option<f64> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|x| x as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => {
                self.wrong_type(path, v, "a number");
                return None;
            }
        };
        match parsed {
            Some(x) if x.is_finite() => Some(x),
            Some(_) => {
                self.error_at(
                    path,
                    Some(v.span()),
                    "must be a finite number (nan and inf are not allowed)".into(),
                );
                None
            }
            None => {
                self.error_at(path, Some(v.span()), "is not a representable number".into());
                None
            }
        }
    }

    /// A non-negative integer.
    pub(crate) fn u64(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<u64> {
        let v = self.raw(t, key)?;
        let path = t.child(key);
        self.value_u64(&path, v)
    }

    fn value_u64(&mut self, path: &str, v: &Spanned<DeValue<'_>>) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(x) if x >= 0 => Some(x as u64),
                Ok(x) => {
                    self.error_at(
                        path,
                        Some(v.span()),
                        format!("must be a non-negative integer, found {x}"),
                    );
                    None
                }
                Err(_) => {
                    let message = if i.as_str().starts_with('-') {
                        "must be a non-negative integer, found one below -9223372036854775808"
                    } else {
                        "integer is out of range: integers are at most 9223372036854775807 (2^63 - 1), and each key has its own limit (docs/scenario.md)"
                    };
                    self.error_at(path, Some(v.span()), message.into());
                    None
                }
            },
            _ => {
                self.wrong_type(path, v, "an integer");
                None
            }
        }
    }

    pub(crate) fn req_u64(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<u64> {
        if !self.has(t, key) {
            self.missing(t, key);
            return None;
        }
        self.u64(t, key)
    }

    /// A boolean. `None` when absent or not a boolean (recorded).
    pub(crate) fn bool(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<bool> {
        let v = self.raw(t, key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                let path = t.child(key);
                self.wrong_type(&path, v, "true or false");
                None
            }
        }
    }

    pub(crate) fn str<'t>(&mut self, t: &mut Tbl<'t, '_>, key: &'static str) -> Option<&'t str> {
        let v = self.raw(t, key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                let path = t.child(key);
                self.wrong_type(&path, v, "a string");
                None
            }
        }
    }

    pub(crate) fn req_str<'t>(
        &mut self,
        t: &mut Tbl<'t, '_>,
        key: &'static str,
    ) -> Option<&'t str> {
        if !self.has(t, key) {
            self.missing(t, key);
            return None;
        }
        self.str(t, key)
    }

    /// A string that must be one of `choices`.
    pub(crate) fn choice(
        &mut self,
        t: &mut Tbl<'_, '_>,
        key: &'static str,
        choices: &[&'static str],
    ) -> Option<&'static str> {
        let span = self.span_of(t, key);
        let s = self.str(t, key)?;
        match choices.iter().find(|c| **c == s) {
            Some(c) => Some(c),
            None => {
                let path = t.child(key);
                let hint = suggest(s, choices.iter().copied())
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                self.error_at(
                    &path,
                    span,
                    format!(
                        "unknown value \"{s}\"{hint}; expected one of {}",
                        choices
                            .iter()
                            .map(|c| format!("\"{c}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
        }
    }

    pub(crate) fn array_f64(&mut self, t: &mut Tbl<'_, '_>, key: &'static str) -> Option<Vec<f64>> {
        let v = self.raw(t, key)?;
        let path = t.child(key);
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(&path, v, "an array of numbers");
            return None;
        };
        self.items_f64(&path, items)
    }

    fn items_f64(&mut self, path: &str, items: &DeArray<'_>) -> Option<Vec<f64>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.value_f64(&format!("{path}[{i}]"), item) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// An array of arrays of numbers (a matrix, not yet checked for shape).
    pub(crate) fn matrix(
        &mut self,
        t: &mut Tbl<'_, '_>,
        key: &'static str,
    ) -> Option<Vec<Vec<f64>>> {
        let v = self.raw(t, key)?;
        let path = t.child(key);
        let DeValue::Array(rows) = v.get_ref() else {
            self.wrong_type(&path, v, "an array of arrays of numbers");
            return None;
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut ok = true;
        for (i, row) in rows.iter().enumerate() {
            let rpath = format!("{path}[{i}]");
            match row.get_ref() {
                DeValue::Array(items) => match self.items_f64(&rpath, items) {
                    Some(r) => out.push(r),
                    None => ok = false,
                },
                _ => {
                    self.wrong_type(&rpath, row, "an array of numbers");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A sub-table. Absent → `None`; present with the wrong type → recorded, `None`.
    pub(crate) fn table<'t, 'i>(
        &mut self,
        t: &mut Tbl<'t, 'i>,
        key: &'static str,
        allowed: &'static [&'static str],
    ) -> Option<Tbl<'t, 'i>> {
        let v = self.raw(t, key)?;
        let path = t.child(key);
        match v.get_ref() {
            DeValue::Table(table) => Some(Tbl {
                table,
                path,
                span: v.span(),
                used: BTreeSet::new(),
                allowed,
            }),
            _ => {
                self.wrong_type(&path, v, "a table");
                None
            }
        }
    }

    pub(crate) fn req_table<'t, 'i>(
        &mut self,
        t: &mut Tbl<'t, 'i>,
        key: &'static str,
        allowed: &'static [&'static str],
    ) -> Option<Tbl<'t, 'i>> {
        if !self.has(t, key) {
            self.missing(t, key);
            return None;
        }
        self.table(t, key, allowed)
    }

    /// An array of tables (`[[key]]` or `key = [{...}, ...]`).
    pub(crate) fn tables<'t, 'i>(
        &mut self,
        t: &mut Tbl<'t, 'i>,
        key: &'static str,
        allowed: &'static [&'static str],
    ) -> Vec<Tbl<'t, 'i>> {
        let Some(v) = self.raw(t, key) else {
            return Vec::new();
        };
        let path = t.child(key);
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(&path, v, "an array of tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            match item.get_ref() {
                DeValue::Table(table) => out.push(Tbl {
                    table,
                    path: ipath,
                    span: item.span(),
                    used: BTreeSet::new(),
                    allowed,
                }),
                _ => self.wrong_type(&ipath, item, "a table"),
            }
        }
        out
    }

    /// Marks every declared key of `t` as read, so [`Doc::finish`] reports only keys that are
    /// unknown here. For use after an option that selects the other keys (`profile`,
    /// `distribution`, `innovations`) was missing or invalid: that problem is already
    /// reported, and the keys that go with the intended option would otherwise each be
    /// reported as "does not apply here", which is noise pointing away from the real error.
    pub(crate) fn skip_rest(&mut self, t: &mut Tbl<'_, '_>) {
        t.used.extend(t.allowed.iter().copied());
    }

    /// Reports every key of `t` that the validator did not ask for.
    pub(crate) fn finish(&mut self, t: Tbl<'_, '_>) {
        for (k, v) in t.table.iter() {
            let key: &str = k.get_ref().as_ref();
            if t.used.contains(key) {
                continue;
            }
            let path = t.child(key);
            let msg = if t.allowed.contains(&key) {
                // Declared but not consumed: a key that only makes sense with another option.
                format!("key `{key}` does not apply here")
            } else {
                match suggest(key, t.allowed.iter().copied()) {
                    Some(s) => format!("unknown key `{key}` (did you mean `{s}`?)"),
                    None => format!(
                        "unknown key `{key}`; known keys here: {}",
                        t.allowed.join(", ")
                    ),
                }
            };
            let span = Some(k.span().start..v.span().end);
            self.error_at(&path, span, msg);
        }
    }

    /// Records a semantic problem about `key` of `t`, pointing at its value.
    pub(crate) fn invalid(&mut self, t: &mut Tbl<'_, '_>, key: &'static str, message: String) {
        let span = self.span_of(t, key).or_else(|| Some(t.span.clone()));
        let path = t.child(key);
        self.error_at(&path, span, message);
    }

    /// Records a problem about the table `t` as a whole.
    pub(crate) fn invalid_table(&mut self, t: &Tbl<'_, '_>, message: String) {
        let span = Some(t.span.clone());
        let path = t.path.clone();
        self.error_at(&path, span, message);
    }
}

impl Tbl<'_, '_> {
    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("string \"{s}\""),
        DeValue::Integer(i) => format!("integer {}", i.as_str()),
        DeValue::Float(f) => format!("float {}", f.as_str()),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let doc = Doc::new("a = 1\nbb = 2\n");
        assert_eq!(doc.line_col(0), (1, 1));
        assert_eq!(doc.line_col(6), (2, 1));
        assert_eq!(doc.line_col(9), (2, 4));
    }
}

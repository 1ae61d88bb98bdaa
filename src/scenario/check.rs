//! `[check]`: the settings of `cascadesim check` (the no-trade buffer), and the parser of a
//! buffer's text (`"2%"`, `"1.5 sigma"`) that `check --buffer` shares.

use super::common::show;
use super::reader::{Doc, Tbl};
use crate::model::spec::{Buffer, CheckSpec};

impl Buffer {
    /// Reads `"2%"`, `"2 %"`, `"1.5 sigma"`, `"1.5sigma"` or `"1.5σ"`.
    ///
    /// # Errors
    /// Any other text, and numbers out of range, with what was expected.
    pub fn parse(text: &str) -> Result<Buffer, String> {
        let t = text.trim();
        let (number, percent) = if let Some(n) = t.strip_suffix('%') {
            (n, true)
        } else if let Some(n) = t.strip_suffix("sigma").or_else(|| t.strip_suffix('σ')) {
            (n, false)
        } else {
            return Err(format!(
                "{text:?} is not a distance: write a percentage (\"2%\") or one-day standard deviations (\"1.5 sigma\")"
            ));
        };
        let x: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {:?} is not a number", number.trim()))?;
        if percent {
            if !(x > 0.0 && x < 100.0) {
                return Err(format!(
                    "a percentage must be in (0, 100), found {}",
                    show(x)
                ));
            }
            Ok(Buffer::Percent(x))
        } else {
            if !(x > 0.0 && x <= 100.0) {
                return Err(format!(
                    "a number of σ must be in (0, 100], found {}",
                    show(x)
                ));
            }
            Ok(Buffer::Sigma(x))
        }
    }
}

/// Reads the optional `[check]` table.
pub(super) fn check_section(doc: &mut Doc<'_>, top: &mut Tbl<'_, '_>) -> CheckSpec {
    let mut spec = CheckSpec::default();
    let Some(mut t) = doc.table(top, "check", CHECK_KEYS) else {
        return spec;
    };
    if let Some(text) = doc.str(&mut t, "no_trade_buffer") {
        match Buffer::parse(text) {
            Ok(b) => spec.no_trade_buffer = Some(b),
            Err(e) => doc.invalid(&mut t, "no_trade_buffer", e),
        }
    }
    doc.finish(t);
    spec
}

/// `[check]`: settings of `cascadesim check`.
pub(super) const CHECK_KEYS: &[&str] = &["no_trade_buffer"];

//! The sensitivity table ("tornado"): each chosen parameter moved down and up by a stated
//! step around the scenario's own value, one at a time, all under common random numbers,
//! ranked by how much the cascade probability moves (then by the 99% expected shortfall of
//! the drawdown).

use serde::Serialize;

use super::grid::round12;
use super::paired::PairedDifference;
use super::path::{KeyPath, Segment};

/// How far a parameter is moved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// A fraction of the scenario's value (0.1: ±10%).
    Relative(f64),
    /// An amount in the parameter's own unit.
    Absolute(f64),
}

/// One parameter to move: `PATH` (relative step) or `PATH=STEP` (absolute step).
///
/// # Errors
/// A malformed path or step.
pub fn parse_param(arg: &str, relative: f64) -> Result<(KeyPath, Step), String> {
    let (path, step) = match arg.split_once('=') {
        Some((p, s)) => {
            let x: f64 = s
                .trim()
                .parse()
                .map_err(|_| format!("--param {arg}: step `{}` is not a number", s.trim()))?;
            if !(x.is_finite() && x > 0.0) {
                return Err(format!("--param {arg}: the step must be > 0, found {x}"));
            }
            (p, Step::Absolute(x))
        }
        None => (arg, Step::Relative(relative)),
    };
    let path = KeyPath::parse(path.trim()).map_err(|e| format!("--param {arg}: {e}"))?;
    Ok((path, step))
}

/// The number at `path` in a scenario text, as the file states it.
///
/// # Errors
/// When the file does not state a number there (a default cannot be moved: give the key
/// its value in the file).
pub fn read_number(text: &str, path: &KeyPath) -> Result<f64, String> {
    let root: toml::Value = toml::from_str::<toml::Table>(text)
        .map(toml::Value::Table)
        .map_err(|e| format!("cannot read the scenario: {e}"))?;
    let mut cur = &root;
    for seg in path.segments() {
        let next = match seg {
            Segment::Key(k) => cur.get(k.as_str()),
            Segment::Index(i) => cur.get(*i),
        };
        cur = next.ok_or_else(|| {
            format!(
                "`{path}` is not stated in the scenario file: the sensitivity table moves values the file states (write the key with its value)"
            )
        })?;
    }
    match cur {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => Ok(*f),
        other => Err(format!(
            "`{path}` is a {} in the file, not a number",
            other.type_str()
        )),
    }
}

/// The low and high values of a move around `base` (rounded to 12 significant digits); for
/// an `integer` parameter a relative step is rounded to a whole number, at least 1 (10% of
/// a round limit of 4 was 3.6, which an integer key refuses).
///
/// # Errors
/// A relative step of a parameter whose value is 0.
pub fn moved(base: f64, step: Step, integer: bool) -> Result<(f64, f64), String> {
    match step {
        Step::Absolute(d) => Ok((round12(base - d), round12(base + d))),
        Step::Relative(_) if base == 0.0 => Err(
            "its value is 0, so a relative step does not move it; give an absolute step as PATH=STEP"
                .into(),
        ),
        Step::Relative(r) => {
            let d = (base * r).abs();
            let d = if integer { d.round().max(1.0) } else { d };
            Ok((round12(base - d), round12(base + d)))
        }
    }
}

/// One parameter's row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TornadoRow {
    pub path: String,
    pub base: f64,
    pub low: f64,
    pub high: f64,
    pub cascade_low: f64,
    pub cascade_high: f64,
    /// Paired difference of the cascade probability, high minus low.
    pub cascade_difference: PairedDifference,
    pub es_low: f64,
    pub es_high: f64,
}

impl TornadoRow {
    /// |cascade probability at high − at low|.
    pub fn cascade_swing(&self) -> f64 {
        (self.cascade_high - self.cascade_low).abs()
    }

    /// |ES₉₉ of max_drawdown at high − at low|.
    pub fn es_swing(&self) -> f64 {
        let d = (self.es_high - self.es_low).abs();
        if d.is_nan() { 0.0 } else { d }
    }
}

/// Sorts rows by cascade swing, then ES swing, largest first (ties keep the given order).
pub fn rank(rows: &mut [TornadoRow]) {
    rows.sort_by(|a, b| {
        b.cascade_swing()
            .total_cmp(&a.cascade_swing())
            .then(b.es_swing().total_cmp(&a.es_swing()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::paired_flags;

    #[test]
    fn numbers_are_read_where_the_file_states_them() {
        let text = "[[assets]]\nprice = 100\n[assets.book]\ndepth_usd = 1.5e6\nhourly_liquidity = [1.0, 0.5]\n";
        let p = |s: &str| KeyPath::parse(s).unwrap();
        assert_eq!(read_number(text, &p("assets[0].price")).unwrap(), 100.0);
        assert_eq!(
            read_number(text, &p("assets[0].book.depth_usd")).unwrap(),
            1.5e6
        );
        assert_eq!(
            read_number(text, &p("assets[0].book.hourly_liquidity[1]")).unwrap(),
            0.5
        );
        let e = read_number(text, &p("assets[0].book.levels")).unwrap_err();
        assert!(e.contains("not stated in the scenario file"), "{e}");
        assert!(read_number(text, &p("assets[0].book")).is_err());
    }

    #[test]
    fn steps_and_ranking() {
        assert_eq!(
            moved(200.0, Step::Relative(0.1), false).unwrap(),
            (180.0, 220.0)
        );
        assert_eq!(moved(4.0, Step::Relative(0.1), true).unwrap(), (3.0, 5.0));
        assert_eq!(moved(4.0, Step::Relative(0.1), false).unwrap(), (3.6, 4.4));
        assert_eq!(
            moved(3000.0, Step::Relative(0.1), true).unwrap(),
            (2700.0, 3300.0)
        );
        assert_eq!(
            moved(-8.0, Step::Relative(0.5), false).unwrap(),
            (-12.0, -4.0)
        );
        assert_eq!(moved(0.0, Step::Absolute(1.0), false).unwrap(), (-1.0, 1.0));
        assert!(moved(0.0, Step::Relative(0.1), false).is_err());
        let (path, step) = parse_param("assets[0].price=5", 0.1).unwrap();
        assert_eq!(
            (path.as_str(), step),
            ("assets[0].price", Step::Absolute(5.0))
        );
        assert!(parse_param("assets[0].price=-5", 0.1).is_err());
        let row = |path: &str, lo: f64, hi: f64, es: f64| TornadoRow {
            path: path.into(),
            base: 1.0,
            low: 0.9,
            high: 1.1,
            cascade_low: lo,
            cascade_high: hi,
            cascade_difference: paired_flags(&[0], &[0]),
            es_low: 0.0,
            es_high: es,
        };
        let mut rows = vec![
            row("a", 0.1, 0.12, 0.0),
            row("b", 0.3, 0.1, 0.0),
            row("c", 0.1, 0.12, 0.5),
        ];
        rank(&mut rows);
        let order: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
    }
}

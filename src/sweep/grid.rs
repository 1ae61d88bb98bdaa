//! The parameter grid: axes (a path and its values, from `--set` or the `[sweep]` table),
//! their cross product in row-major order (the last axis varies fastest), and the plan that
//! builds and validates the scenario text of every grid point before anything runs.

use toml_edit::{DocumentMut, Item, Value};

use super::SweepError;
use super::path::{KeyPath, set_number};
use crate::model::spec::Scenario;
use crate::scenario::FileSource;

/// Most grid points a sweep may have (each is a full Monte Carlo run).
pub const MAX_POINTS: usize = 10_000;
/// Most points of one range.
const MAX_RANGE_POINTS: u64 = 1_000;
/// Grid-point problems listed before the rest are counted only.
const MAX_LISTED: usize = 30;

/// One swept parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub path: KeyPath,
    /// Strictly increasing or strictly decreasing, finite.
    pub values: Vec<f64>,
}

fn check_values(values: &[f64]) -> Result<(), String> {
    if values.is_empty() {
        return Err("needs at least one value".into());
    }
    if let Some(x) = values.iter().find(|x| !x.is_finite()) {
        return Err(format!("values must be finite numbers, found {x}"));
    }
    let up = values.windows(2).all(|w| w[1] > w[0]);
    let down = values.windows(2).all(|w| w[1] < w[0]);
    if !(up || down) {
        return Err(
            "values must be strictly increasing or strictly decreasing (neighbouring points are compared)"
                .into(),
        );
    }
    Ok(())
}

/// `x` rounded to 12 significant digits, so that generated values are written as the numbers
/// they stand for (0.005, not 0.005000000000000001).
pub fn round12(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// `points` values from `from` to `to` inclusive, evenly spaced (geometrically with `log`),
/// rounded to 12 significant digits.
///
/// # Errors
/// Fewer than 1 or more than 1000 points, or a log range that does not stay positive.
pub fn range(from: f64, to: f64, points: u64, log: bool) -> Result<Vec<f64>, String> {
    if !(1..=MAX_RANGE_POINTS).contains(&points) {
        return Err(format!(
            "a range needs 1 to {MAX_RANGE_POINTS} points, found {points}"
        ));
    }
    if !from.is_finite() || !to.is_finite() {
        return Err("range ends must be finite numbers".into());
    }
    if log && (from <= 0.0 || to <= 0.0) {
        return Err(format!(
            "a log range needs positive ends, found {from} and {to}"
        ));
    }
    if points == 1 {
        return if from == to {
            Ok(vec![from])
        } else {
            Err("a range of 1 point needs from = to".into())
        };
    }
    let n = (points - 1) as f64;
    Ok((0..points)
        .map(|i| {
            let t = i as f64 / n;
            if i == points - 1 {
                to
            } else if log {
                round12((from.ln() + t * (to.ln() - from.ln())).exp())
            } else {
                round12(from + t * (to - from))
            }
        })
        .collect())
}

/// Values as written on the command line: `a,b,c` (a list) or `from:to:points` (a range;
/// `from:to:points:log` for geometric spacing).
///
/// # Errors
/// A message naming what does not parse.
pub fn parse_values(spec: &str) -> Result<Vec<f64>, String> {
    let num = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{}` is not a number", s.trim()))
    };
    let values = if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        let log = match parts.get(3).map(|s| s.trim()) {
            None => false,
            Some("log") => true,
            Some("lin") => false,
            Some(other) => {
                return Err(format!(
                    "range spacing must be `lin` or `log`, found `{other}`"
                ));
            }
        };
        if parts.len() < 3 || parts.len() > 4 {
            return Err(format!(
                "a range is from:to:points (or from:to:points:log), found `{spec}`"
            ));
        }
        let points = parts[2].trim().parse::<u64>().map_err(|_| {
            format!(
                "the number of points `{}` is not a whole number",
                parts[2].trim()
            )
        })?;
        range(num(parts[0])?, num(parts[1])?, points, log)?
    } else {
        spec.split(',').map(num).collect::<Result<Vec<_>, _>>()?
    };
    check_values(&values)?;
    Ok(values)
}

/// One `--set PATH=VALUES` argument.
///
/// # Errors
/// A message naming what does not parse.
pub fn parse_set(arg: &str) -> Result<Axis, String> {
    let (path, spec) = arg.split_once('=').ok_or_else(|| {
        format!(
            "--set {arg}: expected PATH=VALUES, e.g. populations[0].maintenance_margin=0.004,0.005"
        )
    })?;
    let path = KeyPath::parse(path.trim()).map_err(|e| format!("--set {arg}: {e}"))?;
    let values = parse_values(spec).map_err(|e| format!("--set {arg}: {e}"))?;
    Ok(Axis { path, values })
}

fn value_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    }
}

/// Reads a range table `{ from, to, points, scale = "lin"|"log" }`.
fn range_table(t: &dyn toml_edit::TableLike) -> Result<Vec<f64>, String> {
    const KEYS: &[&str] = &["from", "to", "points", "scale"];
    if let Some((k, _)) = t.iter().find(|(k, _)| !KEYS.contains(k)) {
        let hint = crate::diagnostics::suggest(k, KEYS.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "unknown key `{k}` in a range{hint}; a range has from, to, points and optionally scale"
        ));
    }
    let get = |k: &str| t.get(k).and_then(|i| i.as_value()).and_then(value_number);
    let (Some(from), Some(to), Some(points)) = (get("from"), get("to"), get("points")) else {
        return Err("a range needs numbers `from`, `to` and `points`".into());
    };
    if points < 0.0 || points.fract() != 0.0 {
        return Err(format!("`points` must be a whole number, found {points}"));
    }
    let log = match t.get("scale").map(|i| i.as_str()) {
        None | Some(Some("lin")) => false,
        Some(Some("log")) => true,
        _ => return Err("`scale` must be \"lin\" or \"log\"".into()),
    };
    range(from, to, points as u64, log)
}

/// The axes of the `[sweep]` table (each key a quoted parameter path, each value a list of
/// numbers or a range table), in the order written (none without a `[sweep]`), and every
/// malformed entry, each naming its key.
pub fn axes_from_table(doc: &DocumentMut) -> (Vec<Axis>, Vec<String>) {
    axes_from_table_in(doc, None)
}

/// Line and column (1-based) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

/// `origin:line:column: ` of the key `key` of the `[sweep]` table in `text`, or nothing when
/// it cannot be found (spans survive only in a parsed, not yet editable, document).
fn key_place(text: &str, origin: &str, key: &str) -> String {
    toml_edit::Document::parse(text)
        .ok()
        .and_then(|d| {
            let t = d.get("sweep")?.as_table_like()?;
            let (k, _) = t.get_key_value(key)?;
            k.span()
        })
        .map(|sp| {
            let (l, c) = line_col(text, sp.start);
            format!("{origin}:{l}:{c}: ")
        })
        .unwrap_or_default()
}

/// [`axes_from_table`], with each problem prefixed by `origin:line:column` of its key when
/// `at` gives the original text and its name.
fn axes_from_table_in(doc: &DocumentMut, at: Option<(&str, &str)>) -> (Vec<Axis>, Vec<String>) {
    let place = |key: &str| at.map_or(String::new(), |(text, origin)| key_place(text, origin, key));
    let Some(item) = doc.get("sweep") else {
        return (Vec::new(), Vec::new());
    };
    let Some(table) = item.as_table_like() else {
        return (
            Vec::new(),
            vec!["sweep: expected a table of parameter paths".into()],
        );
    };
    let mut axes = Vec::new();
    let mut problems = Vec::new();
    for (key, item) in table.iter() {
        let at = format!("{}sweep.\"{key}\"", place(key));
        let path = match KeyPath::parse(key) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                continue;
            }
        };
        let values = match item {
            Item::Value(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    value_number(v)
                        .ok_or_else(|| format!("[{i}] is not a number"))
                })
                .collect::<Result<Vec<_>, _>>(),
            Item::Value(Value::InlineTable(t)) => range_table(t),
            Item::Table(t) if ["from", "to", "points"].iter().any(|k| t.contains_key(k)) => {
                range_table(t)
            }
            Item::Table(t) => {
                let example = t
                    .get_values()
                    .first()
                    .map(|(keys, _)| {
                        let rest: Vec<&str> = keys.iter().map(|k| k.get()).collect();
                        format!("{key}.{}", rest.join("."))
                    })
                    .unwrap_or_else(|| format!("{key}.…"));
                Err(format!(
                    "is a table: write each parameter path as one quoted key, e.g. \"{example}\" = [...] (unquoted dots make nested tables)"
                ))
            }
            _ => Err("expected a list of numbers or a range { from, to, points }".into()),
        }
        .and_then(|v| check_values(&v).map(|()| v));
        match values {
            Ok(values) => axes.push(Axis { path, values }),
            Err(e) => problems.push(format!("{at}: {e}")),
        }
    }
    (axes, problems)
}

/// The cross product of the axes, row-major (the last axis varies fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
    strides: Vec<usize>,
    len: usize,
}

impl Grid {
    /// # Errors
    /// No axes, or more than [`MAX_POINTS`] points.
    pub fn new(axes: Vec<Axis>) -> Result<Grid, String> {
        if axes.is_empty() {
            return Err("no parameter to sweep".into());
        }
        let mut len: usize = 1;
        for a in &axes {
            len = len.saturating_mul(a.values.len());
        }
        if len > MAX_POINTS {
            return Err(format!(
                "the grid has {len} points, more than the {MAX_POINTS} a sweep may run"
            ));
        }
        let mut strides = vec![1; axes.len()];
        for k in (0..axes.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * axes[k + 1].values.len();
        }
        Ok(Grid { axes, strides, len })
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Index along each axis of point `i`.
    pub fn coords(&self, i: usize) -> Vec<usize> {
        self.strides
            .iter()
            .zip(&self.axes)
            .map(|(s, a)| (i / s) % a.values.len())
            .collect()
    }

    /// Parameter values of point `i`, one per axis.
    pub fn values(&self, i: usize) -> Vec<f64> {
        self.coords(i)
            .iter()
            .zip(&self.axes)
            .map(|(&c, a)| a.values[c])
            .collect()
    }

    /// The point one step back along `axis` from point `i`, if there is one.
    pub fn previous(&self, i: usize, axis: usize) -> Option<usize> {
        (self.coords(i)[axis] > 0).then(|| i - self.strides[axis])
    }

    /// Largest distance, in point indices, between neighbours (how far back a sweep must
    /// remember per-path results).
    pub fn max_stride(&self) -> usize {
        self.strides[0]
    }

    /// `path = value, ...` of point `i`, for messages and records.
    pub fn label(&self, i: usize) -> String {
        self.axes
            .iter()
            .zip(self.values(i))
            .map(|(a, v)| format!("{} = {v}", a.path))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A validated sweep: the grid and the scenario text of every point.
#[derive(Debug, Clone)]
pub struct Plan {
    pub grid: Grid,
    /// The scenario the sweep starts from, as validated.
    pub base: Scenario,
    /// Scenario text of each grid point (the base text with the point's values set and the
    /// `[sweep]` table removed), in grid order.
    pub texts: Vec<String>,
    /// The base document without its `[sweep]` table.
    doc: DocumentMut,
}

impl Plan {
    /// The scenario text with the axes set to `values` (one per axis): for values between
    /// grid points, as bisection needs. Not validated here.
    ///
    /// # Errors
    /// Never for the planned axes (their paths were checked); kept for safety.
    pub fn text_at(&self, values: &[f64]) -> Result<String, String> {
        let mut d = self.doc.clone();
        for (a, &x) in self.grid.axes.iter().zip(values) {
            set_number(&mut d, &a.path, x).map_err(|e| format!("{}: {e}", a.path))?;
        }
        Ok(d.to_string())
    }
}

/// Builds and validates a sweep of the scenario `text`: the axes come from `set` when given
/// (the `[sweep]` table is then ignored), otherwise from the `[sweep]` table. Every grid
/// point's text is validated exactly like a scenario file, and every problem of every point
/// is reported before anything runs.
///
/// # Errors
/// [`SweepError::Scenario`] when the base scenario is invalid; [`SweepError::Input`] listing
/// every problem of the sweep (table entries, paths, grid size, grid points' values).
pub fn plan(
    text: &str,
    origin: &str,
    files: &dyn FileSource,
    set: Option<Vec<Axis>>,
) -> Result<Plan, SweepError> {
    let base = Scenario::parse(text, origin, files)?;
    let input = |problems: Vec<String>| SweepError::Input {
        origin: origin.to_string(),
        problems,
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| input(vec![format!("cannot edit the scenario document: {e}")]))?;
    let from_table = set.is_none();
    let (axes, mut problems) = match set {
        Some(axes) => (axes, Vec::new()),
        None => axes_from_table_in(&doc, Some((text, origin))),
    };
    if axes.is_empty() && problems.is_empty() {
        return Err(input(vec![
            "no parameter to sweep: give --set PATH=VALUES or a [sweep] table".into(),
        ]));
    }
    let mut usable = Vec::with_capacity(axes.len());
    doc.remove("sweep");
    for (k, a) in axes.iter().enumerate() {
        if axes[..k].iter().any(|b| b.path == a.path) {
            problems.push(format!("{}: swept twice", a.path));
            continue;
        }
        // Path problems do not depend on the value: check each path once.
        match set_number(&mut doc.clone(), &a.path, a.values[0]) {
            Ok(()) => usable.push(a.clone()),
            Err(e) => {
                let at = if from_table {
                    key_place(text, origin, a.path.as_str())
                } else {
                    String::new()
                };
                problems.push(format!("{at}{}: {e}", a.path));
            }
        }
    }
    // With some parameters unusable, the others' values are still checked, so that every
    // problem is reported at once.
    if usable.is_empty() {
        return Err(input(problems));
    }
    let grid = Grid::new(usable).map_err(|e| input(vec![e]))?;
    let mut plan = Plan {
        grid,
        base,
        texts: Vec::new(),
        doc,
    };
    let grid = &plan.grid;
    let mut texts = Vec::with_capacity(grid.len());
    let mut failing = 0usize;
    // The same problem at several points (a bad value crossed with every value of another
    // parameter) is listed once, with the points it concerns.
    let mut found: Vec<(String, Vec<usize>)> = Vec::new();
    for i in 0..grid.len() {
        let t = plan.text_at(&grid.values(i)).map_err(|e| input(vec![e]))?;
        if let Err(e) = Scenario::parse(&t, origin, files) {
            failing += 1;
            for issue in e.issues {
                let what = if issue.path.is_empty() {
                    issue.message
                } else {
                    format!("{}: {}", issue.path, issue.message)
                };
                match found.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, points)) => points.push(i),
                    None => found.push((what, vec![i])),
                }
            }
        }
        texts.push(t);
    }
    if failing > 0 {
        let n = found.len();
        for (what, points) in found.into_iter().take(MAX_LISTED) {
            problems.push(match points.as_slice() {
                [i] => format!("grid point {i} ({}): {what}", grid.label(*i)),
                many => {
                    let mut ids: Vec<String> = many.iter().take(8).map(usize::to_string).collect();
                    if many.len() > 8 {
                        ids.push("…".into());
                    }
                    format!(
                        "grid points {} ({} points, the first: {}): {what}",
                        ids.join(", "),
                        many.len(),
                        grid.label(many[0])
                    )
                }
            });
        }
        if n > MAX_LISTED {
            problems.push(format!(
                "… {} more problems not listed ({failing} of {} grid points are invalid)",
                n - MAX_LISTED,
                grid.len()
            ));
        }
        return Err(input(problems));
    }
    if !problems.is_empty() {
        return Err(input(problems));
    }
    plan.texts = texts;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(path: &str, values: &[f64]) -> Axis {
        Axis {
            path: KeyPath::parse(path).unwrap(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn value_specs_give_lists_and_ranges() {
        assert_eq!(
            parse_values("0.004,0.005, 0.0075").unwrap(),
            [0.004, 0.005, 0.0075]
        );
        assert_eq!(parse_values("1:2:5").unwrap(), [1.0, 1.25, 1.5, 1.75, 2.0]);
        let g = parse_values("1e6:1e8:3:log").unwrap();
        assert_eq!(g[1], 1e7, "rounded to 12 digits: {g:?}");
        assert_eq!(parse_values("0.004:0.01:7").unwrap()[1], 0.005);
        assert_eq!(g[2], 1e8);
        assert_eq!(parse_values("3:1:3").unwrap(), [3.0, 2.0, 1.0]);
        for bad in [
            "",
            "1,x",
            "1,1",
            "1,3,2",
            "1:2",
            "1:2:0",
            "1:2:x",
            "0:1:3:log",
            "1:2:3:sq",
        ] {
            assert!(parse_values(bad).is_err(), "{bad}");
        }
        let a = parse_set("populations[0].count=10,20").unwrap();
        assert_eq!(a.path.as_str(), "populations[0].count");
        assert!(parse_set("populations[0].count").is_err());
    }

    #[test]
    fn grid_is_row_major_and_knows_neighbours() {
        let g = Grid::new(vec![axis("a", &[1.0, 2.0]), axis("b", &[10.0, 20.0, 30.0])]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.values(4), [2.0, 20.0]);
        assert_eq!(g.coords(5), [1, 2]);
        assert_eq!(g.previous(4, 0), Some(1));
        assert_eq!(g.previous(4, 1), Some(3));
        assert_eq!(g.previous(3, 1), None);
        assert_eq!(g.previous(2, 0), None);
        assert_eq!(g.max_stride(), 3);
        assert_eq!(g.label(1), "a = 1, b = 20");
        assert!(Grid::new(vec![axis("a", &[0.0])]).is_ok());
        let many: Vec<f64> = (0..200).map(f64::from).collect();
        assert!(Grid::new(vec![axis("a", &many), axis("b", &many)]).is_err());
    }

    #[test]
    fn the_sweep_table_reads_lists_and_ranges_and_reports_bad_entries() {
        let doc: DocumentMut =
            "[sweep]\n\"a.b\" = [1, 2.5]\n\"c[0].d\" = { from = 1, to = 3, points = 3 }\n"
                .parse()
                .unwrap();
        let (axes, problems) = axes_from_table(&doc);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(axes[0].values, [1.0, 2.5]);
        assert_eq!(axes[1].path.as_str(), "c[0].d");
        assert_eq!(axes[1].values, [1.0, 2.0, 3.0]);
        let doc: DocumentMut =
            "[sweep]\n\"a\" = [\"x\"]\nb.c = [1]\n\"d\" = { from = 1, to = 2, point = 3 }\n\"e\" = [2, 1, 3]\n"
                .parse()
                .unwrap();
        let (axes, e) = axes_from_table(&doc);
        assert!(axes.is_empty());
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].contains("sweep.\"a\": [0] is not a number"), "{e:?}");
        assert!(e[1].contains("\"b.c\" = [...] (unquoted dots"), "{e:?}");
        assert!(e[2].contains("did you mean `points`"), "{e:?}");
        assert!(e[3].contains("strictly increasing"), "{e:?}");
    }

    const SCENARIO: &str = "[simulation]\nsteps = 10\n[[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n[[populations]]\nasset = \"A\"\ncount = 10\nopen_interest_usd = 1e6\nmaintenance_margin = 0.005 # venue rate\nsize = { distribution = \"lognormal\", sigma = 1.0 }\nleverage = { values = [5, 10], weights = [0.5, 0.5] }\n[sweep]\n\"populations[0].maintenance_margin\" = [0.004, 0.006]\n";

    #[test]
    fn a_plan_validates_every_point_and_groups_repeated_problems() {
        let files = crate::scenario::NoFiles;
        let p = plan(SCENARIO, "s.toml", &files, None).unwrap();
        assert_eq!(p.grid.len(), 2);
        assert!(p.texts[1].contains("maintenance_margin = 0.006 # venue rate"));
        assert!(!p.texts[0].contains("[sweep]"));
        // 0.06 caps leverage at 1/(2·0.06) = 8.3 < 10: invalid at both funds.
        let set = vec![
            Axis {
                path: KeyPath::parse("populations[0].maintenance_margin").unwrap(),
                values: vec![0.005, 0.06],
            },
            Axis {
                path: KeyPath::parse("populations[0].insurance_fund_usd").unwrap(),
                values: vec![0.0, 1.0, 2.0],
            },
        ];
        match plan(SCENARIO, "s.toml", &files, Some(set)) {
            Err(SweepError::Input { problems, .. }) => {
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert!(
                    problems[0].starts_with("grid points 3, 4, 5 (3 points, the first: populations[0].maintenance_margin = 0.06, populations[0].insurance_fund_usd = 0): populations[0].leverage.values"),
                    "{problems:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

//! A sweep's files: `sweep.csv` (one row per grid point), `differences.csv` (paired
//! differences between neighbouring points), `sweep.h5` (the same under `/sweep`, plus every
//! grid point's scenario text), `tune.json` for `cascadesim tune` and `tornado.csv` for
//! `cascadesim sensitivity`. All go through a [`Staging`] folder. See `docs/output.md`.

use std::fmt::Write as _;

use super::h5::{self, AttrValue, ColumnData, Group};
use super::{OutputError, Staging};
use crate::sweep::tornado::TornadoRow;
use crate::sweep::tune::Tuned;
use crate::sweep::{Grid, NeighbourDifference, POINT_FIELDS, PointStats};

/// What produced a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepProvenance {
    pub cascadesim_version: String,
    pub scenario_file: String,
    pub scenario_name: String,
    pub seed: u64,
    pub paths: u64,
    /// Population replicates of every run (absent without population noise).
    pub population_replicates: Option<u64>,
    /// The base scenario text (with its `[sweep]` table, if any).
    pub scenario: String,
}

/// Everything a sweep writes.
#[derive(Debug, Clone, Copy)]
pub struct SweepResults<'a> {
    pub provenance: &'a SweepProvenance,
    pub grid: &'a Grid,
    /// One per grid point, in grid order.
    pub points: &'a [PointStats],
    pub differences: &'a [NeighbourDifference],
    /// Scenario text of each grid point.
    pub texts: &'a [String],
}

/// A number for CSV: shortest round-trip form, empty when not finite.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// `sweep.csv`.
pub fn points_csv(r: &SweepResults<'_>) -> String {
    let mut s = String::from("point");
    for a in &r.grid.axes {
        let _ = write!(s, ",{}", a.path);
    }
    for f in POINT_FIELDS {
        let _ = write!(s, ",{}", f.name);
    }
    s.push('\n');
    for (i, p) in r.points.iter().enumerate() {
        let _ = write!(s, "{i}");
        for x in r.grid.values(i) {
            let _ = write!(s, ",{}", num(x));
        }
        for f in POINT_FIELDS {
            let _ = write!(s, ",{}", num(f.value(p)));
        }
        s.push('\n');
    }
    s
}

/// `differences.csv`.
pub fn differences_csv(r: &SweepResults<'_>) -> String {
    let mut s = String::from("axis,parameter,from_point,to_point");
    for a in &r.grid.axes {
        let _ = write!(s, ",{}", a.path);
    }
    s.push_str(",from_value,difference,ci_low,ci_high,method,became_cascade,stopped_cascade,paths,unpaired_half_width\n");
    for d in r.differences {
        let axis = &r.grid.axes[d.axis];
        let _ = write!(s, "{},{},{},{}", d.axis, axis.path, d.from, d.to);
        for x in r.grid.values(d.to) {
            let _ = write!(s, ",{}", num(x));
        }
        let p = &d.difference;
        let _ = writeln!(
            s,
            ",{},{},{},{},{},{},{},{},{}",
            num(r.grid.values(d.from)[d.axis]),
            num(p.estimate),
            num(p.ci_low),
            num(p.ci_high),
            p.method,
            p.became_cascade,
            p.stopped_cascade,
            p.paths,
            num(p.unpaired_half_width)
        );
    }
    s
}

fn root_attrs(
    p: &SweepProvenance,
    parameters: &[String],
) -> Result<Vec<(String, AttrValue)>, OutputError> {
    let mut attrs: Vec<(String, AttrValue)> = vec![
        (
            "cascadesim_version".into(),
            p.cascadesim_version.clone().into(),
        ),
        ("scenario_file".into(), p.scenario_file.clone().into()),
        ("scenario_name".into(), p.scenario_name.clone().into()),
        ("scenario_toml".into(), p.scenario.clone().into()),
        ("seed".into(), p.seed.into()),
        ("paths".into(), p.paths.into()),
        (
            "parameters".into(),
            serde_json::to_string(parameters)?.into(),
        ),
    ];
    if let Some(r) = p.population_replicates {
        attrs.push(("population_replicates".into(), r.into()));
    }
    Ok(attrs)
}

/// Writes `sweep.csv`, `differences.csv` and `sweep.h5` into `staging`.
///
/// `sweep.h5`: root attributes (provenance, `parameters` as a JSON list of paths);
/// `/sweep/axes` one dataset `axis_<k>` of values per parameter; `/sweep/points` the
/// parameter values `param_<k>` and every [`POINT_FIELDS`] field, one entry per grid point;
/// `/sweep/differences` the paired differences; `/sweep/scenarios/point_<i>` the grid
/// point's scenario text as attribute `scenario_toml`.
///
/// # Errors
/// On any failure to write.
pub fn write_sweep(staging: &Staging, r: &SweepResults<'_>) -> Result<(), OutputError> {
    staging.write("sweep.csv", points_csv(r).as_bytes())?;
    staging.write("differences.csv", differences_csv(r).as_bytes())?;

    let parameters: Vec<String> = r.grid.axes.iter().map(|a| a.path.to_string()).collect();
    let root = root_attrs(r.provenance, &parameters)?;
    let n = r.points.len();
    let axis_names: Vec<String> = (0..r.grid.axes.len())
        .map(|k| format!("axis_{k}"))
        .collect();
    let param_names: Vec<String> = (0..r.grid.axes.len())
        .map(|k| format!("param_{k}"))
        .collect();
    let param_values: Vec<Vec<f64>> = (0..r.grid.axes.len())
        .map(|k| (0..n).map(|i| r.grid.values(i)[k]).collect())
        .collect();
    let field_values: Vec<Vec<f64>> = POINT_FIELDS
        .iter()
        .map(|f| r.points.iter().map(|p| f.value(p)).collect())
        .collect();
    let d = r.differences;
    let u32s = |f: &dyn Fn(&NeighbourDifference) -> u64| -> Vec<u32> {
        d.iter()
            .map(|x| u32::try_from(f(x)).unwrap_or(u32::MAX))
            .collect()
    };
    let f64s = |f: &dyn Fn(&NeighbourDifference) -> f64| -> Vec<f64> { d.iter().map(f).collect() };
    let d_axis = u32s(&|x| x.axis as u64);
    let d_from = u32s(&|x| x.from as u64);
    let d_to = u32s(&|x| x.to as u64);
    let d_became = u32s(&|x| x.difference.became_cascade);
    let d_stopped = u32s(&|x| x.difference.stopped_cascade);
    let d_est = f64s(&|x| x.difference.estimate);
    let d_lo = f64s(&|x| x.difference.ci_low);
    let d_hi = f64s(&|x| x.difference.ci_high);
    let d_unpaired = f64s(&|x| x.difference.unpaired_half_width);
    let d_exact: Vec<u8> = d
        .iter()
        .map(|x| u8::from(x.difference.method == "no-discordant-path"))
        .collect();

    let mut groups = vec![
        Group {
            path: "sweep".into(),
            attrs: vec![
                (
                    "parameters".into(),
                    serde_json::to_string(&parameters)?.into(),
                ),
                ("points".into(), (n as u64).into()),
                (
                    "shape".into(),
                    AttrValue::F64s(r.grid.axes.iter().map(|a| a.values.len() as f64).collect()),
                ),
            ],
            columns: Vec::new(),
        },
        Group {
            path: "sweep/axes".into(),
            attrs: Vec::new(),
            columns: r
                .grid
                .axes
                .iter()
                .zip(&axis_names)
                .map(|(a, name)| h5::Column::new(name, "", a.path.as_str(), a.values.as_slice()))
                .collect(),
        },
    ];
    let mut points = Group::new("sweep/points");
    for ((a, name), v) in r.grid.axes.iter().zip(&param_names).zip(&param_values) {
        points
            .columns
            .push(h5::Column::new(name, "", a.path.as_str(), v.as_slice()));
    }
    for (f, v) in POINT_FIELDS.iter().zip(&field_values) {
        points
            .columns
            .push(h5::Column::new(f.name, f.unit, f.description, v.as_slice()));
    }
    groups.push(points);
    groups.push(Group {
        path: "sweep/differences".into(),
        attrs: vec![(
            "description".into(),
            "paired difference of the cascade probability between each grid point (to_point) and its predecessor along one axis (from_point), on the same paths".into(),
        )],
        columns: vec![
            col("axis", "", "index of the parameter that changes", ColumnData::U32(&d_axis)),
            col("from_point", "", "grid point before the step", ColumnData::U32(&d_from)),
            col("to_point", "", "grid point after the step", ColumnData::U32(&d_to)),
            col("difference", "probability", "cascade probability at to_point minus at from_point", ColumnData::F64(&d_est)),
            col("ci_low", "probability", "lower end of the 95% interval of the difference", ColumnData::F64(&d_lo)),
            col("ci_high", "probability", "upper end of the 95% interval of the difference", ColumnData::F64(&d_hi)),
            col("became_cascade", "paths", "paths that are a cascade at to_point and not at from_point", ColumnData::U32(&d_became)),
            col("stopped_cascade", "paths", "paths that are a cascade at from_point and not at to_point", ColumnData::U32(&d_stopped)),
            col("unpaired_half_width", "probability", "half-width a 95% interval would have from two independent runs", ColumnData::F64(&d_unpaired)),
            col("no_discordant", "0/1", "true when no path changed, so the interval is the exact bound on the discordance rate", ColumnData::Bool(&d_exact)),
        ],
    });
    for (i, t) in r.texts.iter().enumerate() {
        groups.push(Group {
            path: format!("sweep/scenarios/point_{i}"),
            attrs: vec![
                ("scenario_toml".into(), t.clone().into()),
                ("label".into(), r.grid.label(i).into()),
            ],
            columns: Vec::new(),
        });
    }
    h5::write_h5_atomic(&staging.path("sweep.h5"), &root, &groups)?;
    Ok(())
}

fn col<'a>(
    name: &'a str,
    unit: &'a str,
    description: &'a str,
    data: ColumnData<'a>,
) -> h5::Column<'a> {
    h5::Column::new(name, unit, description, data)
}

/// Writes `tune.json` (the target, the answer, its bracket and uncertainty, every
/// evaluation) into `staging`.
///
/// # Errors
/// On any failure to serialise or write.
pub fn write_tune(
    staging: &Staging,
    provenance: &SweepProvenance,
    parameter: &str,
    target: &str,
    tuned: &Tuned,
) -> Result<(), OutputError> {
    let v = serde_json::json!({
        "cascadesim_version": provenance.cascadesim_version,
        "scenario_file": provenance.scenario_file,
        "scenario_name": provenance.scenario_name,
        "seed": provenance.seed,
        "paths": provenance.paths,
        "population_replicates": provenance.population_replicates,
        "parameter": parameter,
        "target": target,
        "result": tuned,
        "scenario": provenance.scenario,
    });
    let text = serde_json::to_string_pretty(&v)?;
    staging.write("tune.json", format!("{text}\n").as_bytes())
}

/// `tornado.csv`, ranked as given.
pub fn tornado_csv(rows: &[TornadoRow]) -> String {
    let mut s = String::from(
        "rank,parameter,base,low,high,cascade_low,cascade_high,cascade_swing,difference_ci_low,difference_ci_high,es99_drawdown_low,es99_drawdown_high,es99_swing\n",
    );
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            i + 1,
            r.path,
            num(r.base),
            num(r.low),
            num(r.high),
            num(r.cascade_low),
            num(r.cascade_high),
            num(r.cascade_swing()),
            num(r.cascade_difference.ci_low),
            num(r.cascade_difference.ci_high),
            num(r.es_low),
            num(r.es_high),
            num(r.es_swing())
        );
    }
    s
}

/// Writes `tornado.csv` and `tornado.json` into `staging`.
///
/// # Errors
/// On any failure to serialise or write.
pub fn write_tornado(
    staging: &Staging,
    provenance: &SweepProvenance,
    rows: &[TornadoRow],
) -> Result<(), OutputError> {
    staging.write("tornado.csv", tornado_csv(rows).as_bytes())?;
    let v = serde_json::json!({
        "cascadesim_version": provenance.cascadesim_version,
        "scenario_file": provenance.scenario_file,
        "seed": provenance.seed,
        "paths": provenance.paths,
        "population_replicates": provenance.population_replicates,
        "rows": rows,
        "scenario": provenance.scenario,
    });
    let text = serde_json::to_string_pretty(&v)?;
    staging.write("tornado.json", format!("{text}\n").as_bytes())
}

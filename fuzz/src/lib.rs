//! Fuzz inputs for scenario parsing and validation, and the check every input must pass.
//!
//! Shared by the fuzz targets (`fuzz_targets/`) and by the stable regression test
//! `tests/fuzz_corpus.rs`, which includes this file by path and replays the committed corpus
//! (`fuzz/corpus/<target>/`), so both decode a corpus file the same way.
//!
//! - [`Input::from_bytes`]: raw bytes. The text before the first NUL byte is the scenario
//!   (lossy UTF-8); each later NUL-separated part is a referenced CSV file, served in the
//!   order validation asks for files.
//! - [`Structured`]: `arbitrary`-derived values spliced into a valid scenario template (one
//!   to three assets and populations, book and positions CSVs, correlation, tiers, output),
//!   so most inputs are well-formed TOML and reach the validation rules.
//! - [`check`]: parses; an error must list issues that each name a key path or a line
//!   inside the text; a small valid scenario is also simulated for one path, whose summary
//!   must be finite.

use std::cell::Cell;
use std::fmt::Write as _;

use arbitrary::Arbitrary;
use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, simulate_path};
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::FileSource;

/// A scenario text and the files it may reference.
#[derive(Debug, Clone)]
pub struct Input {
    pub toml: String,
    pub files: Files,
}

/// Referenced files: by name (structured inputs) or in request order (raw bytes).
#[derive(Debug, Clone)]
pub enum Files {
    InOrder(Vec<String>),
    Named(Vec<(String, String)>),
}

struct Source<'a> {
    files: &'a Files,
    next: Cell<usize>,
}

impl FileSource for Source<'_> {
    fn read(&self, relative: &str) -> Result<String, String> {
        match self.files {
            Files::InOrder(v) => {
                let i = self.next.get();
                self.next.set(i + 1);
                v.get(i)
                    .cloned()
                    .ok_or_else(|| format!("cannot read `{relative}`: no such file"))
            }
            Files::Named(v) => v
                .iter()
                .find(|(n, _)| n == relative)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| format!("cannot read `{relative}`: no such file")),
        }
    }
}

impl Input {
    /// Raw bytes: scenario text, then NUL-separated CSV files.
    pub fn from_bytes(data: &[u8]) -> Input {
        let mut parts = data.split(|b| *b == 0);
        let toml = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let files = parts
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        Input {
            toml,
            files: Files::InOrder(files),
        }
    }
}

/// Simulated only below these sizes, to keep one fuzz iteration in milliseconds.
const MAX_SIM_STEPS: u32 = 1_000;
const MAX_SIM_POSITIONS: u64 = 10_000;
const MAX_SIM_LEVELS: usize = 20_000;

/// What [`check`] saw (for the regression test's coverage counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Rejected with this many issues.
    Invalid(usize),
    /// Accepted and simulated for one path.
    Simulated,
    /// Accepted, too large to simulate here.
    Valid,
}

/// Parses `input`; panics when an invariant fails (the fuzzer reports that as a crash).
pub fn check(input: &Input) -> Outcome {
    let source = Source {
        files: &input.files,
        next: Cell::new(0),
    };
    let lines = input.toml.lines().count().max(1);
    match Scenario::parse(&input.toml, "fuzz.toml", &source) {
        Err(e) => {
            assert!(!e.issues.is_empty(), "an error without issues");
            for i in &e.issues {
                assert!(
                    !i.path.is_empty() || i.line.is_some(),
                    "issue names neither a key path nor a line: {i:?}"
                );
                assert!(
                    !i.message.trim().is_empty(),
                    "issue without a message: {i:?}"
                );
                if let Some(l) = i.line {
                    assert!(
                        (1..=lines + 1).contains(&l),
                        "line {l} outside the {lines}-line text: {i:?}"
                    );
                    assert!(
                        i.column.is_some_and(|c| c >= 1),
                        "line without column: {i:?}"
                    );
                }
            }
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.toml: "), "{shown}");
            Outcome::Invalid(e.issues.len())
        }
        Ok(s) => {
            if !small(&s) {
                return Outcome::Valid;
            }
            let market = Market::new(&s);
            let mut per_asset = vec![AssetPathMetrics::default(); s.assets.len()];
            let p = simulate_path(&market, 0, &mut per_asset, &mut NoObserver);
            for (name, x) in [
                ("max_drawdown", p.max_drawdown),
                ("max_drawup", p.max_drawup),
                ("liquidated_notional", p.liquidated_notional),
                ("slippage_cost", p.slippage_cost),
                ("fees", p.fees),
            ] {
                assert!(x.is_finite(), "{name} = {x} for an accepted scenario");
            }
            Outcome::Simulated
        }
    }
}

fn small(s: &Scenario) -> bool {
    s.simulation.steps <= MAX_SIM_STEPS
        && s.position_count() <= MAX_SIM_POSITIONS
        && s.book_level_count() <= MAX_SIM_LEVELS
}

// ---------------------------------------------------------------------------------------
// Structured inputs

/// Literals that sit on or near validation bounds, or break arithmetic.
const NICE: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "2",
    "4",
    "5",
    "10",
    "20",
    "24",
    "50",
    "60",
    "100",
    "1000",
    "-0.05",
    "0.004",
    "0.999999",
    "1.0000001",
    "2.0000001",
    "1e-6",
    "1e-12",
    "1e-300",
    "5e-324",
    "1e12",
    "1e15",
    "1e16",
    "1e300",
    "inf",
    "-inf",
    "nan",
    "10000",
    "100000",
    "90000",
    "110000",
    "1000000",
    "10000000",
    "10000001",
    "50000000",
    "9007199254740993",
    "-0.0",
    "0.49",
    "0.5000001",
    "1.5",
];
/// Strings: valid choices of some key, near-misses, names that must be rejected.
const WORDS: &[&str] = &[
    "A0",
    "A1",
    "A2",
    "",
    " ",
    "/",
    "..",
    "x/y",
    "a\u{0}b",
    "flat",
    "linear",
    "exponential",
    "power_law",
    "file",
    "any",
    "all",
    "fixed",
    "per_path",
    "gaussian",
    "student_t",
    "lognormal",
    "pareto",
    "uniform",
    "normal",
    "max_drawdown",
    "bad_debt",
    "Max_Drawdown",
    "book_0.csv",
    "positions_0.csv",
    "missing.csv",
    "é",
];
/// Key names for stray keys: known ones (duplicates or keys that do not apply) and typos.
const KEYWORDS: &[&str] = &[
    "paths",
    "steps",
    "seed",
    "price",
    "volatility",
    "dof",
    "profile",
    "levels",
    "depth_usd",
    "count",
    "leverage",
    "weights",
    "rate",
    "matrix",
    "name",
    "asset",
    "file",
    "stesp",
    "volatilty",
    "shocks",
    "book",
    "cascade",
    "population",
    "margin_tiers",
    "positions_file",
    "entry",
    "size",
];

/// One number: an interesting literal or any f64.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Num {
    Pick(u8),
    Float(f64),
}

impl Num {
    fn render(self) -> String {
        match self {
            Num::Pick(i) => NICE[usize::from(i) % NICE.len()].to_string(),
            Num::Float(x) => float(x),
        }
    }
}

/// A TOML float literal (TOML spells the special values `nan`, `inf`, `-inf`).
fn float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

/// A value of any TOML type, mostly plausible.
#[derive(Arbitrary, Debug, Clone)]
pub enum Value {
    Num(Num),
    Int(i64),
    Word(u8),
    Bool(bool),
    Array(Vec<Num>),
    Matrix(Vec<Vec<Num>>),
    EmptyTable,
}

impl Value {
    fn render(&self) -> String {
        match self {
            Value::Num(n) => n.render(),
            Value::Int(i) => i.to_string(),
            Value::Word(w) => quote(WORDS[usize::from(*w) % WORDS.len()]),
            Value::Bool(b) => b.to_string(),
            Value::Array(v) => array(v.iter().map(|n| n.render())),
            Value::Matrix(m) => array(m.iter().map(|r| array(r.iter().map(|n| n.render())))),
            Value::EmptyTable => "{}".into(),
        }
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// One key of the template: its valid default, left out, or set to a fuzzed value.
#[derive(Arbitrary, Debug, Clone, Default)]
pub enum Key {
    #[default]
    Default,
    Omit,
    Set(Value),
}

/// Keys of one table: names with their defaults (`None`: absent unless set).
type Schema<'a> = &'a [(&'a str, Option<String>)];

/// Renders `schema` with `keys` (missing entries take the default) and a stray key, one
/// `key = value` per item.
fn render_keys(schema: Schema<'_>, keys: &[Key], stray: &Option<(u8, Value)>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (name, default)) in schema.iter().enumerate() {
        let value = match keys.get(i).unwrap_or(&Key::Default) {
            Key::Default => default.clone(),
            Key::Omit => None,
            Key::Set(v) => Some(v.render()),
        };
        if let Some(v) = value {
            out.push(format!("{name} = {v}"));
        }
    }
    if let Some((k, v)) = stray {
        out.push(format!(
            "{} = {}",
            KEYWORDS[usize::from(*k) % KEYWORDS.len()],
            v.render()
        ));
    }
    out
}

fn table(out: &mut String, header: &str, lines: &[String]) {
    let _ = writeln!(out, "{header}");
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
}

fn inline(lines: &[String]) -> String {
    format!("{{ {} }}", lines.join(", "))
}

fn s(x: &str) -> Option<String> {
    Some(x.to_string())
}

/// A whole scenario: the template's sections, each with fuzzed keys.
#[derive(Arbitrary, Debug, Clone)]
pub struct Structured {
    pub meta: Vec<Key>,
    pub simulation: Vec<Key>,
    pub simulation_stray: Option<(u8, Value)>,
    pub cascade: Option<Vec<Key>>,
    pub assets: Vec<AssetIn>,
    pub correlation: Option<CorrelationIn>,
    pub populations: Vec<PopulationIn>,
    pub output: Option<Vec<Key>>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct AssetIn {
    pub keys: Vec<Key>,
    pub stray: Option<(u8, Value)>,
    pub shocks: Vec<(Key, Key)>,
    pub book: BookIn,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct BookIn {
    /// 0 flat, 1 linear, 2 exponential, 3 power_law, 4 file, else fuzzed.
    pub profile: u8,
    pub keys: Vec<Key>,
    pub stray: Option<(u8, Value)>,
    /// 0: the right header; else a wrong one.
    pub header: u8,
    pub rows: Vec<(u8, Num, Num)>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct CorrelationIn {
    pub rho: Num,
    pub overrides: Vec<(u8, u8, Num)>,
    pub raw: Option<Value>,
}

/// One positions CSV row: side choice, size, entry price, leverage or liquidation price.
pub type PositionRow = (u8, Num, Num, Num);

#[derive(Arbitrary, Debug, Clone)]
pub struct PopulationIn {
    pub keys: Vec<Key>,
    pub stray: Option<(u8, Value)>,
    /// (0 lognormal, 1 pareto, else fuzzed distribution; keys).
    pub size: (u8, Vec<Key>),
    /// (0 values and weights, 1 lognormal, 2 uniform, else fuzzed; keys).
    pub leverage: (u8, Vec<Key>),
    /// (0 normal, 1 uniform, 2 absent, else fuzzed; keys).
    pub entry: (u8, Vec<Key>),
    pub tiers: Option<Vec<(Key, Key)>>,
    /// Explicit positions instead of synthetic ones: (header choice, rows).
    pub positions: Option<(u8, Vec<PositionRow>)>,
}

const MAX_ASSETS: usize = 3;
const MAX_POPULATIONS: usize = 3;
const MAX_ROWS: usize = 40;

impl Structured {
    /// Decodes raw fuzzer bytes as the `scenario_structured` target does (libfuzzer-sys'
    /// `arbitrary_take_rest`); `None` for inputs it skips.
    pub fn from_bytes(data: &[u8]) -> Option<Structured> {
        if data.len() < <Structured as Arbitrary>::size_hint(0).0 {
            return None;
        }
        Structured::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok()
    }

    /// The scenario text and its CSV files.
    pub fn render(&self) -> Input {
        let mut out = String::new();
        let mut files = Vec::new();
        table(
            &mut out,
            "[scenario]",
            &render_keys(
                &[("name", s("\"fuzz\"")), ("description", None)],
                &self.meta,
                &None,
            ),
        );
        let sim: Schema<'_> = &[
            ("paths", s("100")),
            ("steps", s("60")),
            ("step_seconds", None),
            ("seed", s("7")),
            ("start_hour_utc", s("3.0")),
            ("max_rounds", s("4")),
            ("population", None),
        ];
        table(
            &mut out,
            "[simulation]",
            &render_keys(sim, &self.simulation, &self.simulation_stray),
        );
        if let Some(keys) = &self.cascade {
            let schema: Schema<'_> = &[
                ("endogenous_move", s("0.008")),
                ("liquidated_oi_share", s("0.5")),
                ("rule", s("\"any\"")),
            ];
            table(
                &mut out,
                "[simulation.cascade]",
                &render_keys(schema, keys, &None),
            );
        }
        let n_assets = self.assets.len().clamp(1, MAX_ASSETS);
        for (i, a) in self.assets.iter().take(MAX_ASSETS).enumerate() {
            a.render(i, &mut out, &mut files);
        }
        if self.assets.is_empty() {
            AssetIn::plain().render(0, &mut out, &mut files);
        }
        if let Some(c) = &self.correlation {
            let line = match &c.raw {
                Some(v) => format!("matrix = {}", v.render()),
                None => {
                    let mut m: Vec<Vec<String>> = (0..n_assets)
                        .map(|i| {
                            (0..n_assets)
                                .map(|j| if i == j { "1.0".into() } else { c.rho.render() })
                                .collect()
                        })
                        .collect();
                    for &(i, j, x) in c.overrides.iter().take(4) {
                        let (i, j) = (usize::from(i) % n_assets, usize::from(j) % n_assets);
                        m[i][j] = x.render();
                    }
                    format!(
                        "matrix = {}",
                        array(m.into_iter().map(|r| array(r.into_iter())))
                    )
                }
            };
            table(&mut out, "[correlation]", &[line]);
        }
        for (j, p) in self.populations.iter().take(MAX_POPULATIONS).enumerate() {
            p.render(j, n_assets, &mut out, &mut files);
        }
        if let Some(keys) = &self.output {
            let schema: Schema<'_> = &[
                ("trace_paths", s("[0, 3]")),
                ("trace_worst", s("2")),
                ("trace_metric", s("\"max_drawdown\"")),
            ];
            table(&mut out, "[output]", &render_keys(schema, keys, &None));
        }
        Input {
            toml: out,
            files: Files::Named(files),
        }
    }
}

impl AssetIn {
    fn plain() -> AssetIn {
        AssetIn {
            keys: Vec::new(),
            stray: None,
            shocks: Vec::new(),
            book: BookIn {
                profile: 1,
                keys: Vec::new(),
                stray: None,
                header: 0,
                rows: Vec::new(),
            },
        }
    }

    fn render(&self, i: usize, out: &mut String, files: &mut Vec<(String, String)>) {
        let name = format!("\"A{i}\"");
        let shocks = array(self.shocks.iter().take(4).enumerate().map(|(k, (st, r))| {
            let schema: Schema<'_> = &[
                ("step", Some((5 + 10 * k).to_string())),
                ("return", s("-0.05")),
            ];
            inline(&render_keys(schema, &[st.clone(), r.clone()], &None))
        }));
        let schema: Schema<'_> = &[
            ("name", Some(name)),
            ("price", s("100000.0")),
            ("volatility", s("0.6")),
            ("drift", None),
            ("innovations", s("\"student_t\"")),
            ("dof", s("4")),
            ("shocks", Some(shocks)),
        ];
        table(
            out,
            "[[assets]]",
            &render_keys(schema, &self.keys, &self.stray),
        );
        let b = &self.book;
        let profile = ["flat", "linear", "exponential", "power_law", "file"]
            .get(usize::from(b.profile))
            .copied();
        let synthetic = profile.is_some_and(|p| p != "file");
        let file_name = format!("book_{i}.csv");
        let d = |on: bool, v: &str| on.then(|| v.to_string());
        let schema: Schema<'_> = &[
            (
                "profile",
                Some(quote(
                    profile.unwrap_or(WORDS[usize::from(b.profile) % WORDS.len()]),
                )),
            ),
            ("spread_bp", d(synthetic, "1.0")),
            ("level_spacing_bp", d(synthetic, "2.0")),
            ("levels", d(synthetic, "200")),
            ("depth_usd", d(synthetic, "150.0e6")),
            ("depth_band_bp", None),
            ("scale_bp", d(profile == Some("exponential"), "50")),
            ("power", d(profile == Some("power_law"), "0.5")),
            ("file", d(profile == Some("file"), &quote(&file_name))),
            ("hourly_liquidity", None),
            ("refill_half_life_s", s("60")),
            ("permanent_impact", s("0.5")),
        ];
        table(
            out,
            "[assets.book]",
            &render_keys(schema, &b.keys, &b.stray),
        );
        if profile == Some("file") {
            let mut csv = String::from(match b.header {
                0..=200 => "side,distance_bp,size_usd\n",
                201..=230 => "side,distance,size_usd\n",
                _ => "",
            });
            let mut rows: Vec<(u8, Num, Num)> = b.rows.iter().take(MAX_ROWS).copied().collect();
            if rows.is_empty() {
                rows = vec![
                    (0, Num::Pick(1), Num::Pick(26)),
                    (1, Num::Pick(1), Num::Pick(26)),
                ];
            }
            for (side, dist, size) in rows {
                let side = match side % 8 {
                    0..=2 => "bid",
                    3..=5 => "ask",
                    6 => "mid",
                    _ => "bid,extra",
                };
                let _ = writeln!(csv, "{side},{},{}", dist.render(), size.render());
            }
            files.push((file_name, csv));
        }
    }
}

impl PopulationIn {
    fn render(
        &self,
        j: usize,
        n_assets: usize,
        out: &mut String,
        files: &mut Vec<(String, String)>,
    ) {
        let explicit = self.positions.is_some();
        let synthetic = !explicit;
        let d = |on: bool, v: &str| on.then(|| v.to_string());
        let file_name = format!("positions_{j}.csv");
        let tiers = self.tiers.as_ref().map(|t| {
            array(t.iter().take(4).enumerate().map(|(k, (from, rate))| {
                let schema: Schema<'_> = &[
                    ("from_notional_usd", Some(format!("{}", k as f64 * 1e6))),
                    ("rate", Some(format!("{}", 0.004 * (k as f64 + 1.0)))),
                ];
                inline(&render_keys(schema, &[from.clone(), rate.clone()], &None))
            }))
        });
        let schema: Schema<'_> = &[
            ("name", None),
            ("asset", Some(format!("\"A{}\"", j % n_assets))),
            ("count", d(synthetic, "300")),
            ("open_interest_usd", d(synthetic, "500.0e6")),
            ("long_share", d(synthetic, "0.7")),
            ("funding_rate_8h", None),
            ("insurance_fund_usd", s("1.0e6")),
            ("liquidation_fee", None),
            ("maintenance_margin", d(tiers.is_none(), "0.004")),
            ("margin_tiers", tiers),
            ("positions_file", d(explicit, &quote(&file_name))),
        ];
        let mut lines = render_keys(schema, &self.keys, &self.stray);
        if synthetic {
            let size: Schema<'_> = match self.size.0 {
                0 => &[("distribution", s("\"lognormal\"")), ("sigma", s("1.0"))],
                1 => &[("distribution", s("\"pareto\"")), ("alpha", s("1.5"))],
                _ => &[("distribution", None), ("sigma", None), ("alpha", None)],
            };
            lines.push(format!(
                "size = {}",
                inline(&render_keys(size, &self.size.1, &None))
            ));
            let leverage: Schema<'_> = match self.leverage.0 {
                0 => &[
                    ("values", s("[5, 10, 20, 50]")),
                    ("weights", s("[0.3, 0.3, 0.3, 0.1]")),
                ],
                1 => &[
                    ("distribution", s("\"lognormal\"")),
                    ("median", s("10")),
                    ("sigma", s("0.5")),
                    ("min", s("2")),
                    ("max", s("100")),
                ],
                2 => &[
                    ("distribution", s("\"uniform\"")),
                    ("min", s("2")),
                    ("max", s("50")),
                ],
                _ => &[
                    ("distribution", None),
                    ("values", None),
                    ("weights", None),
                    ("min", None),
                    ("max", None),
                ],
            };
            lines.push(format!(
                "leverage = {}",
                inline(&render_keys(leverage, &self.leverage.1, &None))
            ));
            let entry: Option<Schema<'_>> = match self.entry.0 {
                0 => Some(&[
                    ("distribution", s("\"normal\"")),
                    ("mean", s("0.0")),
                    ("sd", s("0.03")),
                ]),
                1 => Some(&[
                    ("distribution", s("\"uniform\"")),
                    ("low", s("-0.1")),
                    ("high", s("0.1")),
                ]),
                2 => None,
                _ => Some(&[("distribution", None), ("sd", None), ("low", None)]),
            };
            if let Some(e) = entry {
                lines.push(format!(
                    "entry = {}",
                    inline(&render_keys(e, &self.entry.1, &None))
                ));
            }
        }
        table(out, "[[populations]]", &lines);
        if let Some((header, rows)) = &self.positions {
            let mut csv = String::from(match header {
                0..=120 => "side,size,entry_price,leverage\n",
                121..=240 => "side,size,entry_price,liquidation_price\n",
                241..=248 => "side,size,entry_price,leverage,liquidation_price\n",
                _ => "side,size\n",
            });
            for &(side, size, entry, third) in rows.iter().take(MAX_ROWS) {
                let side = ["long", "short", "buy", "sell", "flat"][usize::from(side) % 5];
                let _ = writeln!(
                    csv,
                    "{side},{},{},{}",
                    size.render(),
                    entry.render(),
                    third.render()
                );
            }
            files.push((file_name, csv));
        }
    }
}

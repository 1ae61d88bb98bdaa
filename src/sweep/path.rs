//! Parameter paths (`populations[0].maintenance_margin`, `assets[0].book.hourly_liquidity[3]`)
//! and setting a number at one in a scenario document. The document is edited in place
//! (`toml_edit`), so the rest of the text — comments, layout, line numbers of existing keys —
//! stays as written. Keys the schema allows but the file omits are inserted.

use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::diagnostics::suggest;
use crate::scenario::schema_keys;

/// One step of a path: a key of a table or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed parameter path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    text: String,
    segments: Vec<Segment>,
}

/// Keys that cannot be swept, with the reason.
const FIXED: &[(&str, &str)] = &[
    (
        "simulation.seed",
        "every grid point uses the same seed (common random numbers); use --seed to change it for the whole sweep",
    ),
    (
        "simulation.paths",
        "every grid point runs the same paths; use --paths to change their number for the whole sweep",
    ),
];

impl KeyPath {
    /// Parses `key(.key|[index])*`, keys of letters, digits, `_` and `-`.
    ///
    /// # Errors
    /// A message saying what is malformed.
    pub fn parse(text: &str) -> Result<KeyPath, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` is not a parameter path ({why}); write it like populations[0].maintenance_margin"
            )
        };
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty() {
                return Err(bad("empty key"));
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad(&format!("`{name}` is not a plain key")));
            }
            segments.push(Segment::Key(name.to_string()));
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .filter(|_| rest.starts_with('['))
                    .ok_or_else(|| bad("unbalanced `[`"))?;
                let index = rest[1..close]
                    .parse::<usize>()
                    .map_err(|_| bad(&format!("`{}` is not an index", &rest[1..close])))?;
                segments.push(Segment::Index(index));
                rest = &rest[close + 1..];
            }
        }
        if let Some((_, why)) = FIXED.iter().find(|(p, _)| *p == text) {
            return Err(format!("`{text}` cannot be swept: {why}"));
        }
        if matches!(segments.first(), Some(Segment::Key(k)) if k == "sweep") {
            return Err(format!(
                "`{text}` points into the [sweep] table itself, which is not a scenario parameter"
            ));
        }
        Ok(KeyPath {
            text: text.to_string(),
            segments,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The path up to (not including) segment `end`.
fn prefix(segments: &[Segment], end: usize) -> String {
    let mut s = String::new();
    for seg in &segments[..end] {
        match seg {
            Segment::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn where_(p: &str) -> String {
    if p.is_empty() {
        "the top level".into()
    } else {
        format!("`{p}`")
    }
}

/// The TOML value for a number: an integer when it is one (integer keys need it; number keys
/// take both), a float otherwise.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

fn kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => value_kind(v),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) | Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

enum Cur<'a> {
    Table(&'a mut dyn TableLike, bool),
    Item(&'a mut Item),
    Value(&'a mut Value),
}

/// Sets the number at `path` in `doc`, inserting the last key when the schema allows it
/// and the file omits it (and a missing table on the way, such as `simulation.cascade`).
/// The value is not validated here: the caller re-reads the edited scenario.
///
/// # Errors
/// When the path does not lead to a number: an unknown key (with the keys known at the
/// nearest table and a "did you mean"), an index out of range, or a value that is not a
/// number.
pub fn set_number(doc: &mut DocumentMut, path: &KeyPath, x: f64) -> Result<(), String> {
    let segs = &path.segments;
    let mut generic: Vec<&str> = Vec::new();
    let mut cur = Cur::Table(doc.as_table_mut(), false);
    for (i, seg) in segs.iter().enumerate() {
        let here = prefix(segs, i);
        let last = i + 1 == segs.len();
        cur = match seg {
            Segment::Key(k) => {
                let (t, inline): (&mut dyn TableLike, bool) = match cur {
                    Cur::Table(t, inline) => (t, inline),
                    Cur::Item(item) => {
                        let found = kind(item);
                        let is_array = matches!(item, Item::ArrayOfTables(_))
                            || matches!(item, Item::Value(Value::Array(_)));
                        let inline = item.is_inline_table();
                        match item.as_table_like_mut() {
                            Some(t) => (t, inline),
                            None if is_array => {
                                return Err(format!(
                                    "`{here}` is an array: give an index, e.g. `{here}[0].{k}`"
                                ));
                            }
                            None => return Err(format!("`{here}` is {found}, not a table")),
                        }
                    }
                    Cur::Value(v) => {
                        let found = value_kind(v);
                        match v.as_inline_table_mut() {
                            Some(t) => (t as &mut dyn TableLike, true),
                            None => return Err(format!("`{here}` is {found}, not a table")),
                        }
                    }
                };
                let schema = schema_keys(&generic);
                if let Some(keys) = schema
                    && !keys.contains(&k.as_str())
                {
                    let hint = suggest(k, keys.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    let present: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
                    return Err(format!(
                        "unknown key `{k}` in {}{hint}; keys there: {}{}",
                        where_(&here),
                        keys.join(", "),
                        if present.is_empty() {
                            String::new()
                        } else {
                            format!(" (in the file: {})", present.join(", "))
                        }
                    ));
                }
                generic.push(k);
                if !t.contains_key(k) {
                    if last {
                        t.insert(k, Item::Value(number(x)));
                        return Ok(());
                    }
                    let is_table = schema_keys(&generic).is_some();
                    if !is_table || !matches!(segs[i + 1], Segment::Key(_)) {
                        return Err(format!(
                            "`{}` is not in the file, so `{}` cannot be set",
                            prefix(segs, i + 1),
                            path
                        ));
                    }
                    let item = if inline {
                        Item::Value(Value::InlineTable(InlineTable::new()))
                    } else {
                        Item::Table(Table::new())
                    };
                    t.insert(k, item);
                }
                Cur::Item(t.get_mut(k).expect("present or just inserted"))
            }
            Segment::Index(n) => {
                let len_err = |len: usize| {
                    format!(
                        "`{here}` has {len} entr{} in the file, so [{n}] does not exist{}",
                        if len == 1 { "y" } else { "ies" },
                        if len == 0 {
                            String::new()
                        } else {
                            format!(" (indices 0 to {})", len - 1)
                        }
                    )
                };
                match cur {
                    Cur::Item(Item::ArrayOfTables(a)) => {
                        let len = a.len();
                        let t = a.get_mut(*n).ok_or_else(|| len_err(len))?;
                        Cur::Table(t as &mut dyn TableLike, false)
                    }
                    Cur::Item(Item::Value(Value::Array(a))) | Cur::Value(Value::Array(a)) => {
                        let len = a.len();
                        Cur::Value(a.get_mut(*n).ok_or_else(|| len_err(len))?)
                    }
                    Cur::Item(item) => {
                        return Err(format!("`{here}` is {}, not an array", kind(item)));
                    }
                    Cur::Value(v) => {
                        return Err(format!("`{here}` is {}, not an array", value_kind(v)));
                    }
                    Cur::Table(..) => return Err(format!("`{here}` is a table, not an array")),
                }
            }
        };
    }
    let v = match cur {
        Cur::Item(Item::Value(v)) | Cur::Value(v) => v,
        Cur::Item(item) => {
            let keys = item
                .as_table_like()
                .map(|t| {
                    let ks: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
                    format!("; its keys: {}", ks.join(", "))
                })
                .unwrap_or_default();
            return Err(format!(
                "`{path}` is {}, not a number: only numbers can be swept{keys}",
                kind(item)
            ));
        }
        Cur::Table(..) => return Err(format!("`{path}` is a table, not a number")),
    };
    if !matches!(v, Value::Integer(_) | Value::Float(_)) {
        return Err(format!(
            "`{path}` is {} in the file, not a number: only numbers can be swept",
            value_kind(v)
        ));
    }
    let decor = v.decor().clone();
    *v = number(x);
    *v.decor_mut() = decor;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[simulation]\nsteps = 10 # ten\n\n[[assets]]\nname = \"A\"\nprice = 100.0\nshocks = [{ step = 1, return = -0.05 }]\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\nhourly_liquidity = [1.0, 2.0]\n\n[[populations]]\nasset = \"A\"\nleverage = { values = [2, 5], weights = [0.5, 0.5] }\n";

    fn set(path: &str, x: f64) -> Result<String, String> {
        let mut doc: DocumentMut = TEXT.parse().unwrap();
        set_number(&mut doc, &KeyPath::parse(path)?, x)?;
        Ok(doc.to_string())
    }

    #[test]
    fn paths_parse_keys_and_indices() {
        let p = KeyPath::parse("assets[0].book.hourly_liquidity[3]").unwrap();
        assert_eq!(
            p.segments(),
            [
                Segment::Key("assets".into()),
                Segment::Index(0),
                Segment::Key("book".into()),
                Segment::Key("hourly_liquidity".into()),
                Segment::Index(3),
            ]
        );
        for bad in [
            "",
            "a..b",
            "a[x]",
            "a[1",
            "a b",
            "simulation.seed",
            "sweep.x",
        ] {
            assert!(KeyPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn existing_values_change_and_the_rest_of_the_text_stays() {
        let out = set("simulation.steps", 20.0).unwrap();
        assert!(out.contains("steps = 20 # ten"), "{out}");
        assert_eq!(out.replace("steps = 20", "steps = 10"), TEXT);
        let out = set("assets[0].book.depth_usd", 2.5e6).unwrap();
        assert!(out.contains("depth_usd = 2500000"), "{out}");
        let out = set("assets[0].shocks[0].return", -0.125).unwrap();
        assert!(out.contains("return = -0.125"), "{out}");
        let out = set("assets[0].book.hourly_liquidity[1]", 0.5).unwrap();
        assert!(out.contains("[1.0, 0.5]"), "{out}");
    }

    #[test]
    fn keys_absent_from_the_file_but_in_the_schema_are_inserted() {
        let out = set("populations[0].maintenance_margin", 0.005).unwrap();
        assert!(out.contains("maintenance_margin = 0.005"), "{out}");
        let out = set("simulation.cascade.endogenous_move", 0.02).unwrap();
        let back: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(
            back["simulation"]["cascade"]["endogenous_move"].as_float(),
            Some(0.02)
        );
        let out = set("populations[0].leverage.min", 2.0).unwrap();
        assert!(out.contains("min = 2"), "{out}");
    }

    #[test]
    fn bad_paths_say_what_exists_near_them() {
        let e = set("populations[0].maintenance_margn", 0.1).unwrap_err();
        assert!(e.contains("did you mean `maintenance_margin`"), "{e}");
        assert!(e.contains("in `populations[0]`"), "{e}");
        assert!(e.contains("in the file: asset, leverage"), "{e}");
        let e = set("assets[0].bok.depth_usd", 1.0).unwrap_err();
        assert!(e.contains("did you mean `book`"), "{e}");
        let e = set("populations[3].count", 1.0).unwrap_err();
        assert!(e.contains("has 1 entry in the file"), "{e}");
        let e = set("populations.count", 1.0).unwrap_err();
        assert!(e.contains("give an index"), "{e}");
        let e = set("assets[0].name", 1.0).unwrap_err();
        assert!(e.contains("is a string in the file"), "{e}");
        let e = set("assets[0].book", 1.0).unwrap_err();
        assert!(e.contains("its keys: profile, depth_usd"), "{e}");
        let e = set("zzz", 1.0).unwrap_err();
        assert!(e.contains("keys there: scenario, simulation"), "{e}");
    }
}

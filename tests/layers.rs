//! The crate's import graph has no cycles, and its layers point one way.
//!
//! Reads every `src/**/*.rs`, extracts what each file refers to inside the crate (`use
//! crate::…` including grouped and multi-line `use crate::{a::{b, c}, d}`, `super::`/`self::`
//! and child-module paths resolved, inline `crate::x::y` paths, and in the binary also
//! `cascadesim::…`), and builds the graph at two granularities:
//! - top-level modules (`model`, `scenario`, `engine`, …, and the binary's `cli`);
//! - sibling modules inside one directory (`cli/run` ↔ `cli/mpi`), a file `dir/mod.rs` being the
//!   parent, not a sibling.
//!
//! A path to a name that a `mod.rs` re-exports from one of its children (`pub use
//! child::Name`) counts as a path into that child. Code under `#[cfg(test)]` is left out: a
//! test may build its inputs with a higher layer (a model test parsing a scenario).
//!
//! A cycle fails with every edge spelled out (`a -> b -> a`, each with the file and line of
//! its first occurrence). Layer rules: `model` imports only leaf modules (modules that import
//! nothing of the crate); `engine` does not import `scenario`; nothing but the binary
//! imports the run pipeline (`run`), and `cli::common` imports no subcommand.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Edges that the checks disregard: none today, and it should stay so. An entry needs a
/// reason (the third field) and a plan to remove it; a listed edge that no longer exists
/// fails the test, so the list only shrinks. (`from`, `to`: module paths joined by `::`.)
const ALLOWED: &[(&str, &str, &str)] = &[];

/// One reference from a file to a module of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    /// The module of the file.
    from: Vec<String>,
    /// The module referred to (the longest known module prefix of the path).
    to: Vec<String>,
    /// `src/…` path of the file, and 1-based line.
    file: String,
    line: usize,
}

/// A source file: its module path and whether it belongs to the binary.
struct SourceFile {
    rel: String,
    module: Vec<String>,
    binary: bool,
    text: String,
}

/// Blanks out comments, string and char literals (keeping every newline, so line numbers stay),
/// leaving only code.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if let Some(len) = raw_string_start(&c, i) {
            // r"…", r#"…"#, br"…": ends at a quote followed by as many hashes.
            let hashes = c[i..i + len].iter().filter(|&&h| h == '#').count();
            for _ in 0..len {
                out.push(' ');
            }
            i += len;
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '"' && !(i > 0 && is_ident(c[i - 1]) && c[i - 1] != 'b') {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{1F600}'); a lifetime has no closing quote.
            out.push(' ');
            i += 1;
            if c.get(i) == Some(&'\\') {
                out.push(' ');
                i += 1;
            }
            while i < c.len() && c[i] != '\'' {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The length of a raw string's opening (`r#"`, `br"`) at `i`, if one starts there.
fn raw_string_start(c: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident(c[i - 1]) {
        return None;
    }
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    while c.get(j) == Some(&'#') {
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some(j + 1 - i)
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// `code` with every item under `#[cfg(test)]` blanked out (newlines kept).
fn without_tests(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let attr: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + attr.len() <= c.len() {
        if c[i..i + attr.len()] != attr[..] {
            i += 1;
            continue;
        }
        // The item ends at the first `;` outside braces, or at the brace closing its body.
        let mut j = i;
        let mut depth = 0usize;
        while j < c.len() {
            match c[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ';' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let end = j.min(c.len() - 1) + 1;
        for ch in &mut c[i..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = j + 1;
    }
    c.into_iter().collect()
}

/// Every path a `use` tree names, with its line: `a::{b::{c, d}, e}` gives `a::b::c`,
/// `a::b::d`, `a::e`; `self` in a group names the group's prefix; renames are dropped.
fn use_tree(tree: &str) -> Vec<Vec<String>> {
    fn walk(s: &[char], pos: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        loop {
            skip_ws(s, pos);
            if *pos < s.len() && s[*pos] == '{' {
                *pos += 1;
                loop {
                    skip_ws(s, pos);
                    if *pos >= s.len() {
                        return;
                    }
                    if s[*pos] == '}' {
                        *pos += 1;
                        return;
                    }
                    if s[*pos] == ',' {
                        *pos += 1;
                        continue;
                    }
                    walk(s, pos, &path, out);
                }
            }
            let start = *pos;
            while *pos < s.len() && (is_ident(s[*pos]) || s[*pos] == '*') {
                *pos += 1;
            }
            let word: String = s[start..*pos].iter().collect();
            if word == "self" && path.len() == prefix.len() && !path.is_empty() {
                // `{self, …}`: the prefix itself.
            } else if !word.is_empty() && word != "*" {
                path.push(word);
            }
            skip_ws(s, pos);
            if s[*pos..].starts_with(&[':', ':']) {
                *pos += 2;
                continue;
            }
            // `as name`: skip the rename.
            if s[*pos..].starts_with(&['a', 's']) {
                *pos += 2;
                skip_ws(s, pos);
                while *pos < s.len() && is_ident(s[*pos]) {
                    *pos += 1;
                }
            }
            if !path.is_empty() {
                out.push(path);
            }
            return;
        }
    }
    fn skip_ws(s: &[char], pos: &mut usize) {
        while *pos < s.len() && s[*pos].is_whitespace() {
            *pos += 1;
        }
    }
    let chars: Vec<char> = tree.chars().collect();
    let mut out = Vec::new();
    let mut pos = 0;
    walk(&chars, &mut pos, &[], &mut out);
    out
}

/// The paths a file's code refers to, unresolved, each with its 1-based line: every path of
/// every `use` tree, and every inline path starting with `crate::`, `super::`, `self::` or
/// (`binary`) `cascadesim::`.
fn raw_paths(code: &str, binary: bool) -> Vec<(Vec<String>, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut lines = Vec::with_capacity(c.len());
    let mut line = 1;
    for &ch in &c {
        lines.push(line);
        line += usize::from(ch == '\n');
    }
    let line_of = |i: usize| lines[i];
    let depth = inline_depths(&c);
    // Inside `mod name { … }` (inline), `super` first climbs out of the inline modules: at the
    // file's own level the path is relative to the file's module.
    let relative = |mut path: Vec<String>, i: usize| {
        let mut k = depth[i];
        while k > 0 && path.first().is_some_and(|s| s == "super") {
            path.remove(0);
            k -= 1;
        }
        if path.first().is_some_and(|s| s != "super") && k < depth[i] {
            path.insert(0, "self".into());
        }
        path
    };
    let mut out = Vec::new();
    let mut roots = vec!["crate", "super", "self"];
    if binary {
        roots.push("cascadesim");
    }
    let roots: Vec<(&str, Vec<char>)> = roots
        .into_iter()
        .map(|r| (r, r.chars().chain("::".chars()).collect()))
        .collect();
    let mut i = 0;
    while i < c.len() {
        let boundary = i == 0 || !(is_ident(c[i - 1]) || c[i - 1] == ':' || c[i - 1] == '$');
        if boundary
            && c[i..].starts_with(&['u', 's', 'e'])
            && c.get(i + 3).is_some_and(|ch| ch.is_whitespace())
        {
            let end = c[i..]
                .iter()
                .position(|&ch| ch == ';')
                .map_or(c.len(), |k| i + k);
            let tree: String = c[i + 3..end].iter().collect();
            for path in use_tree(&tree) {
                out.push((relative(path, i), line_of(i)));
            }
            i = end;
            continue;
        }
        if boundary && let Some((root, _)) = roots.iter().find(|(_, r)| c[i..].starts_with(r)) {
            let start = i;
            let mut path = vec![root.to_string()];
            i += root.len();
            while c[i..].starts_with(&[':', ':']) {
                i += 2;
                let s = i;
                while i < c.len() && is_ident(c[i]) {
                    i += 1;
                }
                if i == s {
                    break;
                }
                path.push(c[s..i].iter().collect());
            }
            out.push((relative(path, start), line_of(start)));
            continue;
        }
        i += 1;
    }
    out
}

/// For each character of `c`, how many inline modules (`mod name { … }`) enclose it.
fn inline_depths(c: &[char]) -> Vec<usize> {
    let mut out = Vec::with_capacity(c.len());
    let (mut braces, mut opens): (usize, Vec<usize>) = (0, Vec::new());
    let mut pending = false;
    for i in 0..c.len() {
        let boundary = i == 0 || !is_ident(c[i - 1]);
        if boundary
            && c[i..].starts_with(&['m', 'o', 'd'])
            && c.get(i + 3).is_some_and(|ch| ch.is_whitespace())
        {
            let mut j = i + 3;
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            let name = j;
            while j < c.len() && is_ident(c[j]) {
                j += 1;
            }
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            pending = j > name && c.get(j) == Some(&'{');
        }
        match c[i] {
            '{' => {
                braces += 1;
                if pending {
                    opens.push(braces);
                    pending = false;
                }
            }
            '}' => {
                if opens.last() == Some(&braces) {
                    opens.pop();
                }
                braces = braces.saturating_sub(1);
            }
            ';' => pending = false,
            _ => {}
        }
        out.push(opens.len());
    }
    out
}

/// The child modules a file declares (`mod name;` or `mod name {`).
fn declared_children(code: &str) -> BTreeSet<String> {
    let words: Vec<&str> = code
        .split(|ch: char| !(is_ident(ch)))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[0] == "mod")
        .map(|w| w[1].to_string())
        .collect()
}

/// `pub use child::…::Name` lines of a module: re-exported name → the child it comes from.
fn reexports(code: &str, children: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for part in code.split("pub use").skip(1) {
        let tree = part.split(';').next().unwrap_or("");
        for path in use_tree(tree) {
            let first = path[0].as_str();
            let first = if first == "self" {
                path.get(1).map_or("", |s| s.as_str())
            } else {
                first
            };
            if children.contains(first)
                && let Some(name) = path.last()
            {
                map.insert(name.clone(), first.to_string());
            }
        }
    }
    map
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of `src/…` file `rel` (`a/b.rs` and `a/b/mod.rs` → `a::b`; `lib.rs` and
/// `main.rs` → the root), and whether it is part of the binary.
fn module_of(rel: &str) -> (Vec<String>, bool) {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    let binary = parts.first().is_some_and(|p| p == "main" || p == "cli");
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    (parts, binary)
}

/// Every edge of the crate: each file's resolved paths, mapped to the longest known module.
fn edges(files: &[SourceFile]) -> Vec<Edge> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut exported: BTreeMap<Vec<String>, BTreeMap<String, String>> = BTreeMap::new();
    let mut code: Vec<(String, BTreeSet<String>)> = Vec::new();
    for f in files {
        let c = without_tests(&code_only(&f.text));
        let kids = declared_children(&c);
        exported
            .entry(f.module.clone())
            .or_default()
            .extend(reexports(&c, &kids));
        code.push((c, kids));
    }
    let mut out = Vec::new();
    for (f, (c, kids)) in files.iter().zip(&code) {
        for (path, line) in raw_paths(c, f.binary) {
            let Some(full) = resolve(&f.module, kids, &path) else {
                continue;
            };
            let Some(n) = (0..=full.len())
                .rev()
                .find(|&n| modules.contains(&full[..n]))
            else {
                continue;
            };
            let mut to = full[..n].to_vec();
            if let Some(child) = full.get(n).and_then(|name| exported[&to].get(name)) {
                to.push(child.clone());
            }
            if !to.is_empty() {
                out.push(Edge {
                    from: f.module.clone(),
                    to,
                    file: f.rel.clone(),
                    line,
                });
            }
        }
    }
    out
}

/// `path` as written in module `module` → the absolute path, `None` for other crates.
fn resolve(module: &[String], kids: &BTreeSet<String>, path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match path.first()?.as_str() {
        "crate" | "cascadesim" => {
            base.clear();
            rest = &path[1..];
        }
        "self" => rest = &path[1..],
        "super" => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        first if kids.contains(first) => {}
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn load() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let (module, binary) = module_of(&rel);
            SourceFile {
                text: std::fs::read_to_string(p).unwrap(),
                rel: format!("src/{rel}"),
                module,
                binary,
            }
        })
        .collect()
}

/// A graph between named nodes, each edge with where it first occurs.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// The graph of top-level modules (`a` → `b` when a file under `a` refers into `b`).
fn top_level(edges: &[Edge]) -> Graph {
    let mut g = Graph::new();
    for e in edges {
        if e.from.is_empty() || e.from[0] == e.to[0] {
            continue;
        }
        add(&mut g, &e.from[0], &e.to[0], e);
    }
    g
}

/// The graphs of siblings: for every module `p`, `p::a` → `p::b` when a file under `p::a`
/// refers into `p::b` (keyed by `p`).
fn siblings(edges: &[Edge]) -> BTreeMap<String, Graph> {
    let mut out: BTreeMap<String, Graph> = BTreeMap::new();
    for e in edges {
        let common = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        if common == 0 || common >= e.from.len() || common >= e.to.len() {
            continue;
        }
        let parent = e.from[..common].join("::");
        let a = format!("{parent}::{}", e.from[common]);
        let b = format!("{parent}::{}", e.to[common]);
        add(out.entry(parent).or_default(), &a, &b, e);
    }
    out
}

fn add(g: &mut Graph, a: &str, b: &str, e: &Edge) {
    if ALLOWED.iter().any(|(x, y, _)| *x == a && *y == b) {
        return;
    }
    g.entry(a.to_string())
        .or_default()
        .entry(b.to_string())
        .or_insert_with(|| format!("{}:{}", e.file, e.line));
    g.entry(b.to_string()).or_default();
}

/// Every cycle of `g` as text, one per node that lies on one: the shortest cycle through the
/// smallest such node of each strongly connected set (`a -> b (file:line) -> a (file:line)`).
fn cycles(g: &Graph) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for start in g.keys() {
        if seen.contains(start) {
            continue;
        }
        // Breadth-first from `start` back to itself.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue: VecDeque<&str> = VecDeque::from([start.as_str()]);
        let mut closing = None;
        'bfs: while let Some(n) = queue.pop_front() {
            for m in g[n].keys() {
                if m == start {
                    closing = Some(n);
                    break 'bfs;
                }
                if !prev.contains_key(m.as_str()) {
                    prev.insert(m, n);
                    queue.push_back(m);
                }
            }
        }
        let Some(mut n) = closing else { continue };
        let mut nodes = vec![start.as_str()];
        while n != start {
            nodes.push(n);
            n = prev[n];
        }
        nodes[1..].reverse();
        nodes.push(start);
        let mut text = nodes[0].to_string();
        for w in nodes.windows(2) {
            text.push_str(&format!(" -> {} ({})", w[1], g[w[0]][w[1]]));
        }
        seen.extend(nodes.iter().map(|s| s.to_string()));
        out.push(text);
    }
    out
}

#[test]
fn no_import_cycles() {
    let edges = edges(&load());
    let mut problems = cycles(&top_level(&edges));
    for g in siblings(&edges).values() {
        problems.extend(cycles(g));
    }
    assert!(
        problems.is_empty(),
        "import cycles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn layers_point_one_way() {
    let problems = layer_problems(&edges(&load()));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every break of the layer rules in `edges`, one line each.
fn layer_problems(edges: &[Edge]) -> Vec<String> {
    let g = top_level(edges);
    let leaves: BTreeSet<&String> = g
        .iter()
        .filter(|(_, out)| out.is_empty())
        .map(|(n, _)| n)
        .collect();
    let mut problems = Vec::new();
    for (to, at) in g.get("model").into_iter().flatten() {
        if !leaves.contains(to) {
            problems.push(format!("model imports {to}, which is not a leaf ({at})"));
        }
    }
    if let Some(at) = g.get("engine").and_then(|out| out.get("scenario")) {
        problems.push(format!("engine imports scenario ({at})"));
    }
    // The run pipeline is the top of the library: only the binary calls it.
    for (from, out) in &g {
        if from != "run"
            && from != "cli"
            && let Some(at) = out.get("run")
        {
            problems.push(format!("{from} imports the run pipeline ({at})"));
        }
    }
    // What the subcommands share imports no subcommand.
    if let Some(cli) = siblings(edges).get("cli")
        && let Some(out) = cli.get("cli::common")
        && !out.is_empty()
    {
        problems.push(format!("cli::common imports a subcommand: {out:?}"));
    }
    // A subcommand reaches what it shares through `cli::common`, never through `cli/mod.rs`.
    for e in edges {
        if e.from.len() == 2 && e.from[0] == "cli" && e.to == ["cli"] {
            problems.push(format!(
                "cli::{} imports cli/mod.rs ({}:{})",
                e.from[1], e.file, e.line
            ));
        }
    }
    problems
}

/// Inline source files, as `load` would give them.
fn inline(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(rel, text)| {
            let (module, binary) = module_of(rel.trim_start_matches("src/"));
            SourceFile {
                rel: rel.to_string(),
                module,
                binary,
                text: text.to_string(),
            }
        })
        .collect()
}

#[test]
fn each_layer_rule_fails_when_broken() {
    let base = [
        (
            "src/lib.rs",
            "pub mod leaf;\npub mod model;\npub mod scenario;\npub mod engine;\npub mod run;\npub mod heatmap;\n",
        ),
        ("src/leaf.rs", ""),
        ("src/model/mod.rs", "use crate::leaf;\n"),
        ("src/scenario/mod.rs", "use crate::model;\n"),
        ("src/engine/mod.rs", "use crate::model;\n"),
        ("src/heatmap/mod.rs", "use crate::engine;\n"),
        (
            "src/run/mod.rs",
            "use crate::scenario;\nuse crate::heatmap;\n",
        ),
        ("src/main.rs", "mod cli;\n"),
        (
            "src/cli/mod.rs",
            "mod common;\nmod run;\npub fn shared() {}\n",
        ),
        ("src/cli/common.rs", "use cascadesim::run;\n"),
        (
            "src/cli/run.rs",
            "use super::common;\nmod inner {\n    use super::*;\n}\n",
        ),
    ];
    assert_eq!(layer_problems(&edges(&inline(&base))), Vec::<String>::new());
    let breaks = [
        (
            "src/model/mod.rs",
            "use crate::scenario;\n",
            "model imports scenario",
        ),
        (
            "src/engine/mod.rs",
            "use crate::scenario;\n",
            "engine imports scenario",
        ),
        (
            "src/heatmap/mod.rs",
            "use crate::run;\n",
            "heatmap imports the run pipeline",
        ),
        (
            "src/cli/common.rs",
            "use super::run;\n",
            "cli::common imports a subcommand",
        ),
        (
            "src/cli/run.rs",
            "use super::shared;\n",
            "cli::run imports cli/mod.rs",
        ),
        (
            "src/cli/run.rs",
            "mod inner {\n    use super::super::shared;\n}\n",
            "cli::run imports cli/mod.rs",
        ),
    ];
    for (file, text, expected) in breaks {
        let files: Vec<(&str, &str)> = base
            .iter()
            .map(|&(f, t)| if f == file { (f, text) } else { (f, t) })
            .collect();
        let problems = layer_problems(&edges(&inline(&files)));
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{file}: expected `{expected}`, got {problems:?}"
        );
    }
}

#[test]
fn every_allowed_edge_still_exists() {
    let edges = edges(&load());
    let name = |m: &[String], n: usize| m[..n].join("::");
    for (a, b, why) in ALLOWED {
        let depth = a.split("::").count();
        let exists = edges.iter().any(|e| {
            e.from.len() >= depth
                && e.to.len() >= depth
                && name(&e.from, depth) == *a
                && name(&e.to, depth) == *b
        });
        assert!(
            exists,
            "{a} -> {b} ({why}) no longer exists: remove it from ALLOWED"
        );
    }
}

#[test]
fn extractor_reads_grouped_inline_and_relative_paths() {
    let src = r#"
//! use crate::comment::Ignored;
use std::fmt;
use crate::{alpha::{self, Beta as B}, gamma::delta::*};
pub(crate) use super::sibling::Thing;
use child::Inner;
mod child;
fn f() -> String {
    let s = "crate::in_string::No";
    let c = '{';
    crate::epsilon::run(super::super::zeta::X)
}
#[cfg(test)]
mod tests {
    use crate::tests_only::Y;
}
"#;
    let code = without_tests(&code_only(src));
    let module: Vec<String> = vec!["top".into(), "here".into()];
    let kids = declared_children(&code);
    let mut got: Vec<(String, usize)> = raw_paths(&code, false)
        .into_iter()
        .filter_map(|(p, line)| resolve(&module, &kids, &p).map(|r| (r.join("::"), line)))
        .collect();
    got.sort();
    let want = [
        ("alpha", 4),
        ("alpha::Beta", 4),
        ("epsilon::run", 11),
        ("gamma::delta", 4),
        ("top::here::child::Inner", 6),
        ("top::sibling::Thing", 5),
        ("zeta::X", 11),
    ];
    let want: Vec<(String, usize)> = want.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_cycle_is_spelled_out_with_its_edges() {
    let files = [
        ("src/a/mod.rs", "mod x;\nmod y;\npub use y::Shared;\n"),
        ("src/a/x.rs", "use super::Shared;\n"),
        ("src/a/y.rs", "\n\nfn f() { crate::a::x::g() }\n"),
        ("src/b.rs", "use crate::a::x;\n"),
    ];
    let edges = edges(&inline(&files));
    assert!(cycles(&top_level(&edges)).is_empty());
    let sib = siblings(&edges);
    assert_eq!(
        cycles(&sib["a"]),
        ["a::x -> a::y (src/a/x.rs:1) -> a::x (src/a/y.rs:3)"]
    );
}

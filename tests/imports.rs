//! The pipeline's layering, read from the source: the binary's `cli` modules import each
//! other without a cycle (shared options and errors live in `cli/common.rs`, which imports
//! no subcommand, and no subcommand imports `cli/mod.rs`), and the library's `run` module
//! (the run pipeline) is the top of the library: no other library module imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file's code without comments and its `#[cfg(test)]` part (tests may reach anywhere).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `word::` in `text` (the first segment of a path).
fn path_heads<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let name: &str = after
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

/// The `cli` modules and what each imports among them (`cli`: `cli/mod.rs`).
fn cli_graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("src/cli");
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "mod")
        .collect();
    modules.sort();
    let is_module = |n: &str| modules.iter().any(|m| m == n);
    let mut graph = BTreeMap::new();
    for m in modules.iter().chain(std::iter::once(&"mod".to_string())) {
        let text = code(&dir.join(format!("{m}.rs")));
        let name = if m == "mod" {
            "cli".to_string()
        } else {
            m.clone()
        };
        let mut to = BTreeSet::new();
        if m == "mod" {
            // `mod x;` declares; `x::item` uses.
            let uses: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("mod "))
                .collect::<Vec<_>>()
                .join("\n");
            for n in &modules {
                if uses.contains(&format!("{n}::")) {
                    to.insert(n.clone());
                }
            }
        } else {
            for prefix in ["super::", "crate::cli::"] {
                for h in path_heads(&text, prefix) {
                    to.insert(if is_module(h) {
                        h.to_string()
                    } else {
                        "cli".to_string()
                    });
                }
            }
        }
        to.remove(&name);
        graph.insert(name, to);
    }
    graph
}

/// A cycle in `graph`, if any, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cli_modules_import_each_other_without_a_cycle() {
    let graph = cli_graph();
    assert!(
        graph["cli"].contains("run"),
        "the reader sees mod.rs: {graph:?}"
    );
    assert!(
        graph["run"].contains("common"),
        "the reader sees run.rs: {graph:?}"
    );
    assert!(
        graph["common"].is_empty(),
        "common imports no subcommand: {graph:?}"
    );
    assert_eq!(cycle(&graph), None, "{graph:?}");
    // The check itself finds a cycle when there is one.
    let mut broken = graph.clone();
    broken.get_mut("common").unwrap().insert("run".into());
    assert!(cycle(&broken).is_some());
}

#[test]
fn no_library_module_imports_the_run_pipeline() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let src = root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let below: Vec<String> = files
        .iter()
        .filter(|p| !p.starts_with(src.join("run")) && !p.starts_with(src.join("cli")))
        .filter(|p| !p.ends_with("main.rs") && !p.ends_with("lib.rs"))
        .filter(|p| path_heads(&code(p), "crate::").contains(&"run"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(below.is_empty(), "these import crate::run: {below:?}");
}

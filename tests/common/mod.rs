//! Helpers shared by the integration tests: comparing whole result folders (here) and
//! running the binary ([`cli`]). Each test binary uses part of it.
#![allow(dead_code)]

pub mod browser;
pub mod cli;

use std::path::{Path, PathBuf};

/// The files below `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file below `a` has the same bytes below `b`, `b` has no other file, and a file
/// named `must_hold` is among them.
pub fn assert_same_tree(a: &Path, b: &Path, must_hold: &str) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa, fb, "the same files");
    assert!(
        fa.iter().any(|f| f.ends_with(must_hold)),
        "{must_hold} is there"
    );
    for f in &fa {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{} differs", f.display());
    }
}

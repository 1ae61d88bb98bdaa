//! One field of a real results.h5 changed (its type, shape, a value or an attribute), then
//! read back with the readers `report`, `tails` and `merge` use. The base file is the one
//! `CASCADESIM_FUZZ_RESULTS` names (`cascadesim run tests/data/tiny.toml --paths 20 --out
//! fuzz/base`, then `CASCADESIM_FUZZ_RESULTS=fuzz/base/tiny/results.h5`). Must never panic;
//! see `cascadesim_fuzz::files::check_results` for what else is asserted.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

// Included by path, as `tests/fuzz_files_corpus.rs` includes it, so that the scenario
// targets' `cascadesim_fuzz` library stays as it is.
#[path = "../src/files.rs"]
mod files;

fn base() -> &'static (PathBuf, PathBuf) {
    static BASE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = std::env::var_os("CASCADESIM_FUZZ_RESULTS")
            .expect("set CASCADESIM_FUZZ_RESULTS to a results.h5 (see this file's header)");
        let scratch = std::env::temp_dir().join(format!("cascadesim-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).expect("creates the scratch folder");
        (PathBuf::from(base), scratch)
    })
}

fuzz_target!(|data: &[u8]| {
    let (base, scratch) = base();
    files::check_results(base, scratch, data);
});

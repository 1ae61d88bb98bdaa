//! Arbitrary bytes as a positions or book CSV of a valid scenario (the first byte chooses
//! which). Must never panic; see `cascadesim_fuzz::files::check_csv` for what else is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Included by path, as `tests/fuzz_files_corpus.rs` includes it, so that the scenario
// targets' `cascadesim_fuzz` library stays as it is.
#[path = "../src/files.rs"]
mod files;

fuzz_target!(|data: &[u8]| {
    files::check_csv(data);
});

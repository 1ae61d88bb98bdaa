//! Arbitrary bytes as a scenario: the text before the first NUL byte is the TOML (lossy
//! UTF-8), each later NUL-separated part a CSV file it may reference. Must never panic; see
//! `cascadesim_fuzz::check` for what else is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cascadesim_fuzz::check(&cascadesim_fuzz::Input::from_bytes(data));
});

//! Structured scenarios: `arbitrary`-derived values spliced into a valid template, so most
//! inputs are well-formed TOML and exercise the validation rules (and, when accepted and
//! small, one simulated path). See `cascadesim_fuzz::Structured`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: cascadesim_fuzz::Structured| {
    cascadesim_fuzz::check(&s.render());
});

//! In-memory referenced files (CSV books and positions) for tests that build scenarios from
//! text. Included by path (`#[path = "common/files.rs"]`) by the tests that need it.

use std::collections::BTreeMap;

use cascadesim::scenario::FileSource;

/// Referenced files by name.
pub struct Files(pub BTreeMap<&'static str, String>);

impl FileSource for Files {
    fn read(&self, relative: &str) -> Result<String, String> {
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| format!("no file {relative}"))
    }
}

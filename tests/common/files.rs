//! In-memory referenced files for scenarios built in tests (included with `#[path]` by the
//! tests that need it, so they do not pull in the rest of `common`).

use std::collections::BTreeMap;

use cascadesim::scenario::FileSource;

/// Referenced files by relative path.
pub struct Files(pub BTreeMap<&'static str, String>);

impl FileSource for Files {
    fn read(&self, relative: &str) -> Result<String, String> {
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| format!("no file {relative}"))
    }
}

//! Files referenced *inside* a scenario or a results file (`positions_file`, a book's `file`,
//! the scenario stored in `results.h5`): they are resolved inside the scenario's folder tree.
//! An absolute path, a `..` that leaves the tree, a symbolic link pointing out of it, a
//! device, a FIFO, a folder or a file over [`MAX_BYTES`] is refused with a message that names
//! the reference and never quotes the target's content. `--allow-external-files` lifts the
//! tree rule (not the kind and size rules). Paths typed on the command line (the scenario,
//! `--trades`, `--prices`) are the user's own choice: [`read_named`] applies only the kind
//! and size rules to them.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::scenario::FileSource;

/// Largest referenced file read, bytes (1 GiB: 50 million positions of about 20 bytes).
pub const MAX_BYTES: u64 = 1 << 30;

/// Reads the files a scenario refers to, relative to the scenario's folder and confined to
/// it unless `allow_external` ([`read_referenced`]).
#[derive(Debug, Clone)]
pub struct FsFiles {
    /// The scenario's folder.
    pub base: PathBuf,
    /// `--allow-external-files`: references may leave `base` (not the kind and size rules).
    pub allow_external: bool,
}

impl FileSource for FsFiles {
    fn read(&self, relative: &str) -> Result<String, String> {
        read_referenced(&self.base, relative, self.allow_external)
    }
}

/// The text of `reference`, resolved relative to `base` (the scenario's folder); with
/// `external`, it may lie outside `base`.
///
/// # Errors
/// A message naming the reference and the rule it breaks, or the read error.
pub fn read_referenced(base: &Path, reference: &str, external: bool) -> Result<String, String> {
    let hint = "; referenced files must lie in the scenario's folder or below it (pass --allow-external-files to lift this)";
    let rel = Path::new(reference);
    if !external {
        if rel.is_absolute() {
            return Err(format!("`{reference}` is an absolute path{hint}"));
        }
        if leaves(rel) {
            return Err(format!("`{reference}` leaves the scenario's folder{hint}"));
        }
    }
    let p = base.join(rel);
    let shown = p.display();
    let target = std::fs::canonicalize(&p).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !external {
        let root = std::fs::canonicalize(if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        })
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
        if !target.starts_with(&root) {
            return Err(format!(
                "`{reference}` is a link to a file outside the scenario's folder{hint}"
            ));
        }
    }
    read_regular(&target, &shown.to_string())
}

/// The text of a file named on the command line (a scenario, `--trades`, `--prices`; `what`
/// says which in messages): the
/// kind and size rules of referenced files (a regular file of at most [`MAX_BYTES`]; a
/// FIFO or device is refused before it is opened, so it cannot block or stream forever),
/// without the tree rule. Bytes that are not UTF-8 are decoded lossily: the parsers report
/// their lines ([`crate::text`]) with every other problem.
///
/// # Errors
/// A message naming the file and the rule it breaks, or the read error.
pub fn read_named(path: &Path, what: &str) -> Result<String, String> {
    read_regular(path, &format!("{what} {}", path.display()))
}

/// The text of the scenario file `path` named on the command line, held to the rules of
/// [`read_named`] and to [`crate::scenario::MAX_TEXT_BYTES`], checked before it is read (a
/// scenario's TOML tree takes a hundred times its text).
///
/// # Errors
/// As [`read_named`], or the scenario's size.
pub fn read_scenario(path: &Path) -> Result<String, String> {
    let too_long = |len: u64| {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        format!("{}: {}", path.display(), crate::scenario::too_long(len))
    };
    if let Ok(m) = std::fs::metadata(path)
        && m.is_file()
        && m.len() > crate::scenario::MAX_TEXT_BYTES as u64
    {
        return Err(too_long(m.len()));
    }
    let text = read_named(path, "scenario file")?;
    if text.len() > crate::scenario::MAX_TEXT_BYTES {
        return Err(too_long(text.len() as u64));
    }
    Ok(text)
}

/// Reads `path` (shown as `shown`) if it is a regular file of at most [`MAX_BYTES`].
fn read_regular(path: &Path, shown: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read {shown}: not a regular file (a folder, device, FIFO or socket)"
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "cannot read {shown}: {} bytes; files read are at most {MAX_BYTES} bytes",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "cannot read {shown}: it grew beyond {MAX_BYTES} bytes while being read"
        ));
    }
    Ok(crate::text::decode(bytes))
}

/// The folder of the scenario path recorded in a results or shard file (as typed when the
/// run was started), where its referenced files are looked for. It comes from the file, so
/// it is held to the same rule as a reference: relative to the current folder and not
/// leaving it, unless `--allow-external-files`.
///
/// # Errors
/// A message saying why the recorded folder is not used.
pub fn recorded_base(scenario_file: &str, external: bool) -> Result<PathBuf, String> {
    let base = Path::new(scenario_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if external {
        return Ok(base);
    }
    if base.is_absolute() || leaves(&base) {
        return Err(format!(
            "the results file records the scenario as `{scenario_file}`, outside the current folder; its referenced files are read only from the current folder or below it (run from the folder the run was started in, or pass --allow-external-files)"
        ));
    }
    Ok(base)
}

/// Whether a relative path climbs above its start with `..`.
fn leaves(rel: &Path) -> bool {
    let mut depth = 0i32;
    rel.components().any(|c| {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        depth < 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_stay_in_the_tree() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("scenario");
        std::fs::create_dir_all(base.join("data")).unwrap();
        std::fs::write(base.join("data/p.csv"), "ok").unwrap();
        std::fs::write(d.path().join("secret"), "root:x:0:0").unwrap();
        std::os::unix::fs::symlink(d.path().join("secret"), base.join("link.csv")).unwrap();
        assert_eq!(read_referenced(&base, "data/p.csv", false).unwrap(), "ok");
        assert_eq!(
            read_referenced(&base, "data/../data/p.csv", false).unwrap(),
            "ok"
        );
        for (r, why) in [
            ("../secret", "leaves the scenario's folder"),
            ("/etc/passwd", "is an absolute path"),
            ("link.csv", "is a link to a file outside"),
            ("data", "not a regular file"),
        ] {
            let e = read_referenced(&base, r, false).unwrap_err();
            assert!(e.contains(why), "{r}: {e}");
            assert!(!e.contains("root:x"), "{r}: {e}");
        }
        let e = read_referenced(Path::new("/"), "dev/zero", false).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        assert_eq!(recorded_base("a/b.toml", false).unwrap(), Path::new("a"));
        assert!(recorded_base("/etc/x.toml", false).is_err());
        assert!(recorded_base("../x.toml", false).is_err());
        assert_eq!(recorded_base("../x.toml", true).unwrap(), Path::new(".."));
        assert_eq!(
            read_referenced(&base, "../secret", true).unwrap(),
            "root:x:0:0"
        );
    }
}

//! Files referenced *inside* a scenario or a results file (`positions_file`, a book's `file`,
//! the scenario stored in `results.h5`): they are resolved inside the scenario's folder tree.
//! An absolute path, a `..` that leaves the tree, a symbolic link pointing out of it, a
//! device, a FIFO, a folder or a file over [`MAX_BYTES`] is refused with a message that names
//! the reference and never quotes the target's content. `--allow-external-files` lifts the
//! tree rule (not the kind and size rules). Paths typed on the command line are the user's
//! own choice and do not come through here.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `--allow-external-files`.
pub(crate) static ALLOW_EXTERNAL: AtomicBool = AtomicBool::new(false);

/// Largest referenced file read, bytes (1 GiB: 50 million positions of about 20 bytes).
pub(crate) const MAX_BYTES: u64 = 1 << 30;

/// The text of `reference`, resolved relative to `base` (the scenario's folder).
///
/// # Errors
/// A message naming the reference and the rule it breaks, or the read error.
pub(crate) fn read_referenced(base: &Path, reference: &str) -> Result<String, String> {
    let external = ALLOW_EXTERNAL.load(Ordering::Relaxed);
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
    let meta = std::fs::metadata(&target).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read {shown}: not a regular file (a folder, device, FIFO or socket)"
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "cannot read {shown}: {} bytes; referenced files are at most {MAX_BYTES} bytes",
            meta.len()
        ));
    }
    let mut text = String::new();
    std::fs::File::open(&target)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(format!(
            "cannot read {shown}: it grew beyond {MAX_BYTES} bytes while being read"
        ));
    }
    Ok(text)
}

/// The folder of the scenario path recorded in a results or shard file (as typed when the
/// run was started), where its referenced files are looked for. It comes from the file, so
/// it is held to the same rule as a reference: relative to the current folder and not
/// leaving it, unless `--allow-external-files`.
///
/// # Errors
/// A message saying why the recorded folder is not used.
pub(crate) fn recorded_base(scenario_file: &str) -> Result<PathBuf, String> {
    let base = Path::new(scenario_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if ALLOW_EXTERNAL.load(Ordering::Relaxed) {
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
        assert_eq!(read_referenced(&base, "data/p.csv").unwrap(), "ok");
        assert_eq!(read_referenced(&base, "data/../data/p.csv").unwrap(), "ok");
        for (r, why) in [
            ("../secret", "leaves the scenario's folder"),
            ("/etc/passwd", "is an absolute path"),
            ("link.csv", "is a link to a file outside"),
            ("data", "not a regular file"),
        ] {
            let e = read_referenced(&base, r).unwrap_err();
            assert!(e.contains(why), "{r}: {e}");
            assert!(!e.contains("root:x"), "{r}: {e}");
        }
        let e = read_referenced(Path::new("/"), "dev/zero").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        assert_eq!(recorded_base("a/b.toml").unwrap(), Path::new("a"));
        assert!(recorded_base("/etc/x.toml").is_err());
        assert!(recorded_base("../x.toml").is_err());
    }
}

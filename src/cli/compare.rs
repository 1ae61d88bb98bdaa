//! `cascadesim compare A B`: read two saved runs (results folders or `results.h5` files)
//! through the checked readers, compare them (`cascadesim::compare`), print a table within
//! 80 columns and write `<out>/<A>-vs-<B>-compare/` atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;

use cascadesim::compare::{Comparison, compare as compare_runs};
use cascadesim::output::Staging;
use cascadesim::output::compare::{Side, interval, signed, write_compare};
use cascadesim::output::format::human;
use cascadesim::output::read::Unreadable;
use cascadesim::output::saved::SavedRun;
use cascadesim::output::style::wrap;
use cascadesim::run::memory::Need;
use cascadesim::summary::Provenance;

use super::common::read_provenance;
use super::common::{InputError, from_run, not_a_shard};

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// Run A, the baseline: a results folder or its results.h5.
    a: PathBuf,
    /// Run B: differences are B − A.
    b: PathBuf,
    /// Output folder; the comparison goes to <out>/<A>-vs-<B>-compare/, named after the two
    /// results folders.
    #[arg(long, value_parser = super::common::out_folder, default_value = "results")]
    out: PathBuf,
    /// No table.
    #[arg(long, short)]
    quiet: bool,
}

/// The results file of an argument (a folder's `results.h5`, or the file itself) and the
/// run's short name (the folder's name, or the file's stem).
fn resolve(arg: &Path) -> Result<(PathBuf, String)> {
    let file = if arg.is_dir() {
        arg.join("results.h5")
    } else {
        arg.to_path_buf()
    };
    if let Some(u) = cascadesim::output::read::not_a_file(&file, "results file") {
        let u = match u {
            Unreadable::Bad(_) if arg.is_dir() => {
                Unreadable::Bad(format!("{} has no results.h5", arg.display()))
            }
            Unreadable::Bad(_) if std::fs::symlink_metadata(arg).is_err() => {
                Unreadable::Bad(format!("no such results file or folder: {}", arg.display()))
            }
            u => u,
        };
        return Err(from_run(u.into()));
    }
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let label = if file.file_name().is_some_and(|n| n == "results.h5") {
        file.parent()
            .and_then(|p| name(&std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())))
    } else {
        file.file_stem().map(|s| s.to_string_lossy().into_owned())
    }
    .unwrap_or_else(|| "run".into());
    Ok((file, label))
}

/// The comparison's folder name, `<A>-vs-<B>-compare`; when that is longer than a results
/// folder's name may be ([`cascadesim::output::MAX_FOLDER_NAME`]), each label is cut to its
/// share (at a character) and a hash of the two whole labels added,
/// `<A…>-vs-<B…>-<8 hex digits>-compare`: the same runs always get the same name, and two
/// pairs cut alike different ones.
fn folder_name(a: &str, b: &str) -> String {
    let whole = format!("{a}-vs-{b}-compare");
    if whole.len() <= cascadesim::output::MAX_FOLDER_NAME {
        return whole;
    }
    // FNV-1a (64 bits) of `a`, a NUL and `b`: stable across builds and platforms.
    let hash = [a.as_bytes(), &[0], b.as_bytes()]
        .concat()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &x| {
            (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
        });
    let share = (cascadesim::output::MAX_FOLDER_NAME - "-vs--12345678-compare".len()) / 2;
    let cut = |s: &str| -> String {
        let end = (0..=share.min(s.len()))
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s[..end].to_string()
    };
    format!(
        "{}-vs-{}-{:08x}-compare",
        cut(a),
        cut(b),
        hash as u32 ^ (hash >> 32) as u32
    )
}

/// Opens one run, every dataset checked (the error names the file and dataset); its
/// columns are then read one at a time as the comparison asks for them.
fn read_run(arg: &Path) -> Result<(PathBuf, String, Provenance, SavedRun)> {
    let (file, label) = resolve(arg)?;
    not_a_shard(&file)?;
    let p = read_provenance(&file)?;
    super::common::guard(Need::read_back(
        p.paths,
        p.assets.len(),
        cascadesim::run::memory::has_cross_margin(&p.scenario),
    ))?;
    let columns = SavedRun::open_checked(&file, &p).map_err(InputError::from)?;
    Ok((file, label, p, columns))
}

/// The problems of both runs' later reads, together (bad input).
fn both_whole(a: &SavedRun, b: &SavedRun) -> Result<()> {
    let lines: Vec<String> = [a.finish(), b.finish()]
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    if lines.is_empty() {
        Ok(())
    } else {
        bail!(InputError(lines.join("\n")))
    }
}

pub(crate) fn compare(args: &CompareArgs) -> Result<i32> {
    // Both runs are read (and every problem of both reported) before anything is written.
    let (ra, rb) = (read_run(&args.a), read_run(&args.b));
    let ((fa, la, pa, ca), (fb, lb, pb, cb)) = match (ra, rb) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
        (Err(x), Err(y)) => {
            let both = InputError(format!("{x:#}\n{y:#}"));
            let bad = super::common::exit_code(&x) == 2 && super::common::exit_code(&y) == 2;
            if bad {
                bail!(both);
            }
            bail!(anyhow::anyhow!(both.0));
        }
    };
    // Both runs read back at once, with the bootstrap's buffers: three resampled columns
    // per worker, and the two runs' columns of the metric it works on.
    let threads = rayon::current_num_threads() as u64;
    let longest = pa.paths.max(pb.paths);
    let cross = |p: &Provenance| cascadesim::run::memory::has_cross_margin(&p.scenario);
    super::common::guard(Need {
        extra: longest.saturating_mul(8).saturating_mul(3 * threads + 4),
        ..Need::read_back(
            pa.paths.saturating_add(pb.paths),
            pa.assets.len().max(pb.assets.len()),
            cross(&pa) || cross(&pb),
        )
    })?;
    let comparison = compare_runs(&pa, &ca, &pb, &cb);
    // A column that could not be read again (a file changed underneath): nothing written.
    both_whole(&ca, &cb)?;
    let a = Side::new(fa.display().to_string(), la, &pa);
    let b = Side::new(fb.display().to_string(), lb, &pb);
    let dest = args.out.join(folder_name(&a.label, &b.label));
    super::common::cancelled()?;
    let staging = Staging::new(&dest)?;
    let figures = write_compare(&staging, &a, &ca, &b, &cb, &comparison)?;
    // The figures read the columns again.
    both_whole(&ca, &cb)?;
    let dir = super::common::commit(staging)?;
    for f in &figures {
        if let Err(e) = &f.status {
            eprintln!("warning: plots/{}: {e}", f.stem);
        }
    }
    if !args.quiet {
        print!("{}", render(&a, &b, &comparison));
        println!("comparison: {}", dir.display());
    }
    Ok(0)
}

/// Width of the terminal table.
const WIDTH: usize = 80;
const LABEL: usize = 24;

/// The terminal table: one row per figure, within [`WIDTH`] columns (a label too long for its
/// column gets a line of its own).
fn render(a: &Side, b: &Side, c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "A  {} ({})", a.label, a.file);
    let _ = writeln!(o, "B  {} ({})", b.label, b.file);
    let head = if c.pairing.paired {
        "paired: "
    } else {
        "unpaired: "
    };
    for l in wrap(&format!("{head}{}", c.pairing.reason), WIDTH) {
        let _ = writeln!(o, "{l}");
    }
    let _ = writeln!(
        o,
        "{:<LABEL$} {:>9} {:>9} {:>10} {:<22} ",
        "figure", "A", "B", "B − A", " 95% interval"
    );
    let _ = writeln!(o, "{}", "─".repeat(WIDTH));
    for r in &c.rows {
        let label = r.label();
        let label = if label.chars().count() > LABEL {
            let _ = writeln!(o, "{label}");
            String::new()
        } else {
            label
        };
        let _ = writeln!(
            o,
            "{:<LABEL$} {:>9} {:>9} {:>10} {:<22} {}",
            label,
            human(r.a, r.unit),
            human(r.b, r.unit),
            signed(r.difference, r.unit),
            interval(r),
            if r.significant() { "*" } else { "" }
        );
    }
    let _ = writeln!(o, "{}", "─".repeat(WIDTH));
    let _ = writeln!(
        o,
        "B − A with 95% intervals; pp = percentage points; * the interval excludes 0"
    );
    for m in &c.methods {
        for l in wrap(m, WIDTH) {
            let _ = writeln!(o, "{l}");
        }
    }
    if !c.only_in_one.is_empty() {
        for l in wrap(
            &format!("not compared: {}", c.only_in_one.join(", ")),
            WIDTH,
        ) {
            let _ = writeln!(o, "{l}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::folder_name;
    use cascadesim::output::MAX_FOLDER_NAME;

    #[test]
    fn a_long_comparison_name_is_cut_to_a_folder_name_the_same_way_every_time() {
        assert_eq!(folder_name("a", "b"), "a-vs-b-compare");
        let (a, b) = ("A".repeat(115), "B".repeat(115));
        let name = folder_name(&a, &b);
        assert!(name.len() <= MAX_FOLDER_NAME, "{} bytes", name.len());
        assert!(
            name.starts_with(&"A".repeat(107)) && name.ends_with("-compare"),
            "{name}"
        );
        assert_eq!(name, folder_name(&a, &b));
        // Labels that differ only past the cut get different names; characters stay whole.
        assert_ne!(name, folder_name(&format!("{a}x"), &b));
        let name = folder_name(&"é".repeat(115), &b);
        assert!(
            name.len() <= MAX_FOLDER_NAME && name.starts_with(&"é".repeat(53)),
            "{name}"
        );
    }
}

//! Writing a result file from columns held in memory: [`write_h5_atomic`] checks everything,
//! then streams each column through our own writer (`stream.rs`), its chunks compressed in
//! parallel (rayon) a batch at a time and appended in row order, so the bytes never depend on
//! the thread count.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use super::layout::{Layout, group_components};
use super::meta::{ColumnMeta, DatasetId};
use super::stream::{Compressed, StreamWriter, compress_chunk, raw_bytes};
use super::{AttrValue, ColumnData, Group, H5Error, invalid, joined};

/// Writes the whole file atomically: checks every name, value and scale, then writes
/// `<dir>/.<file name>.tmp-<pid>` next to `path` (data first, metadata last), fsyncs it,
/// renames it over `path`, then fsyncs the directory. On any error the temporary file is
/// removed and `path` is untouched (a previous complete file stays as it was); a content
/// error is found before any file is created.
///
/// `root_attrs` go on the root group, then `groups` are written in order. The output bytes
/// depend only on the arguments (no timestamps are recorded, chunks are appended in order
/// whatever thread compressed them), so writing the same content twice gives byte-identical
/// files (with the same `flate2`). The temporary name is per process, so two threads of one
/// process must not write the same `path` at the same time. A group with neither attributes
/// nor columns is only created as the parent of another one.
///
/// # Errors
///
/// - [`H5Error::Invalid`] if `path` has no file name, or a group path, column name or attribute
///   name is empty or malformed (column names must not contain `/`, group path components must
///   not be empty, `.` or `..`), or a string contains NUL, or a column's scales do not fit.
/// - [`H5Error::Hdf5`] if the content cannot be stored: a column or attribute name used twice
///   in the same object, or a group path through a dataset.
/// - [`H5Error::Io`] if creating, writing or fsyncing the temporary file, the rename, or the
///   directory fsync fails (the directory does not exist or is not writable). If only the
///   final directory fsync fails the new file is already in place (it may not survive a
///   crash); filesystems that do not support fsync on directories are tolerated silently.
pub fn write_h5_atomic(
    path: &Path,
    root_attrs: &[(String, AttrValue)],
    groups: &[Group<'_>],
) -> Result<(), H5Error> {
    if path.file_name().is_none() {
        return Err(invalid(
            path,
            "output path".to_owned(),
            "it has no file name",
        ));
    }
    check_links(path, groups)?;
    let mut layout = Layout::new(path);
    layout.add_attrs("", root_attrs)?;
    let mut data = Vec::new();
    for group in groups {
        let prefix = group_components(path, &group.path)?.join("/");
        if !group.attrs.is_empty() {
            layout.add_attrs(&prefix, &group.attrs)?;
        }
        for column in &group.columns {
            let meta = ColumnMeta::of(column).map_err(|reason| {
                invalid(
                    path,
                    format!("matrix {:?}", joined(&prefix, column.name)),
                    reason,
                )
            })?;
            data.push((layout.declare(&prefix, meta)?, column.data));
        }
    }
    // The dimension scales are checked here, before a file exists.
    layout.prepare()?;
    let mut writer = StreamWriter::with_layout(path, layout)?;
    for (id, values) in &data {
        append_in_parallel(&mut writer, *id, values)?;
    }
    writer.finish(&[], &[])
}

/// Appends all of `values` to `id`: chunks compressed on the rayon pool a batch at a time
/// (a few per thread, so memory stays a few chunks), appended in row order.
fn append_in_parallel(
    writer: &mut StreamWriter,
    id: DatasetId,
    values: &ColumnData<'_>,
) -> Result<(), H5Error> {
    let plan = writer.chunk_plan(id);
    if plan.rows == 0 {
        return Ok(());
    }
    let per_row = (plan.row_bytes / plan.element) as u64;
    let starts: Vec<u64> = (0..plan.total_rows)
        .step_by(usize::try_from(plan.rows).unwrap_or(usize::MAX))
        .collect();
    let batch = 4 * rayon::current_num_threads().max(1);
    for starts in starts.chunks(batch) {
        let chunks: Vec<Compressed> = starts
            .par_iter()
            .map(|&first| {
                let end = (first + plan.rows).min(plan.total_rows);
                let part = values.slice(
                    usize::try_from(first * per_row).unwrap_or(usize::MAX),
                    usize::try_from(end * per_row).unwrap_or(usize::MAX),
                );
                compress_chunk(&plan, &raw_bytes(&part), end - first)
            })
            .collect();
        for chunk in &chunks {
            writer.append_compressed(id, chunk)?;
        }
    }
    Ok(())
}

/// Refuses what libhdf5 refused as it wrote: a dataset name used twice in a group, and a
/// group whose path runs through a dataset (even a group with nothing in it, which is not
/// written).
fn check_links(target: &Path, groups: &[Group<'_>]) -> Result<(), H5Error> {
    let mut datasets = HashSet::new();
    for group in groups {
        let prefix = group_components(target, &group.path)?.join("/");
        for column in &group.columns {
            let name = joined(&prefix, column.name);
            if !datasets.insert(name.clone()) {
                return Err(H5Error::Hdf5 {
                    path: target.to_path_buf(),
                    context: format!("write dataset {name:?}"),
                    message: "a dataset of that name is already in the group".to_owned(),
                });
            }
        }
    }
    for group in groups {
        let components = group_components(target, &group.path)?;
        for end in 1..=components.len() {
            let so_far = components[..end].join("/");
            if datasets.contains(&so_far) {
                return Err(H5Error::Hdf5 {
                    path: target.to_path_buf(),
                    context: format!("create group {:?}", components.join("/")),
                    message: format!("{so_far:?} is a dataset"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Column, Group};
    use super::*;
    use crate::output::h5::{read_attr, read_f64_column};
    use std::fs;

    /// The same content gives the same bytes, and a string attribute reads back as a string.
    #[test]
    fn same_content_same_bytes() {
        let x: Vec<f64> = (0..100_000).map(|i| f64::from(i % 1000) * 0.37).collect();
        let mut group = Group::new("paths");
        group
            .attrs
            .push(("description".into(), AttrValue::Str("test é".into())));
        group
            .columns
            .push(Column::new("x", "1", "f64", x.as_slice()));
        let root = [("seed".to_owned(), AttrValue::U64(7))];
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.h5");
        let b = dir.path().join("b.h5");
        write_h5_atomic(&a, &root, std::slice::from_ref(&group)).unwrap();
        write_h5_atomic(&b, &root, std::slice::from_ref(&group)).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert_eq!(read_f64_column(&a, "paths/x").unwrap(), x);
        assert_eq!(
            read_attr(&a, "paths", "description").unwrap(),
            AttrValue::Str("test é".into())
        );
        // Scalar (h5py returns `str`, not a 1-element array), UTF-8 as libhdf5 wrote it.
        let file = hdf5_reader::Hdf5File::open(&a).unwrap();
        let attrs = file.group("/paths").unwrap().attributes().unwrap();
        let d = attrs.iter().find(|x| x.name == "description").unwrap();
        assert!(d.shape.is_empty(), "{:?}", d.shape);
        assert!(matches!(
            d.datatype,
            hdf5_reader::Datatype::VarLen {
                encoding: hdf5_reader::StringEncoding::Utf8,
                ..
            }
        ));
        let unit = file.dataset("/paths/x").unwrap().attribute("unit").unwrap();
        assert!(unit.shape.is_empty());
        assert!(matches!(
            unit.datatype,
            hdf5_reader::Datatype::VarLen {
                encoding: hdf5_reader::StringEncoding::Utf8,
                ..
            }
        ));
    }
}

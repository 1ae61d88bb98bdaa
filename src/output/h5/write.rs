//! Writing a result file: the whole file encoded in memory by the pure-Rust `hdf5-writer`
//! (no system HDF5), its string attributes made scalar (`conventions::scalar_strings`), then
//! written atomically through a temporary file next to the target.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use hdf5_writer::{
    AttributeBuilder, DatasetBuilder, FILTER_DEFLATE, FILTER_SHUFFLE, FilterDescription,
    Hdf5Builder, WriteOptions,
};

use super::conventions::{bool_type, scalar_strings, scale_attributes};
use super::{
    AttrValue, CHUNK_BYTES, Column, ColumnData, DEFLATE_LEVEL, Group, H5Error, invalid, io_err,
    joined,
};

/// Removes the temporary file on drop unless disarmed (i.e. on every error path).
struct TempGuard<'p> {
    path: &'p Path,
    armed: bool,
}

impl Drop for TempGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Nothing more can be done if this fails; the original error is what matters.
            let _ = fs::remove_file(self.path);
        }
    }
}

/// Writes the whole file atomically: encodes it in memory, writes it to
/// `<dir>/.<file name>.tmp-<pid>` next to `path`, fsyncs it, renames it over `path`, then
/// fsyncs the directory. On any error the temporary file is removed and `path` is untouched
/// (a previous complete file stays as it was).
///
/// `root_attrs` go on the root group, then `groups` are written in order. The output bytes
/// depend only on the arguments (no timestamps are recorded), so writing the same content twice
/// gives byte-identical files (with the same `hdf5-writer` and `flate2`: other versions may lay
/// the file out differently). The temporary name is per process, so two threads of one process
/// must not write the same `path` at the same time. A group with neither attributes nor
/// columns is only created as the parent of another one.
///
/// # Errors
///
/// - [`H5Error::Invalid`] if `path` has no file name, or a group path, column name or attribute
///   name is empty or malformed (column names must not contain `/`, group path components must
///   not be empty, `.` or `..`), or a string contains NUL, or a column's scales do not fit.
/// - [`H5Error::Hdf5`] if the content cannot be stored: a column or attribute name used twice
///   in the same object, a group path through a dataset, or anything else the encoder refuses.
/// - [`H5Error::Io`] if creating, writing or fsyncing the temporary file, the rename, or the
///   directory fsync fails (the directory does not exist or is not writable). If only the
///   final directory fsync fails the new file is already in place (it may not survive a
///   crash); filesystems that do not support fsync on directories are tolerated silently.
pub fn write_h5_atomic(
    path: &Path,
    root_attrs: &[(String, AttrValue)],
    groups: &[Group<'_>],
) -> Result<(), H5Error> {
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid(path, "output path".to_owned(), "it has no file name"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let bytes = encode(path, root_attrs, groups)?;

    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut file = fs::File::create(&tmp).map_err(io_err(
        path,
        format!("create temporary file {}", tmp.display()),
    ))?;
    let mut guard = TempGuard {
        path: &tmp,
        armed: true,
    };
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(
            path,
            format!("write and fsync temporary file {}", tmp.display()),
        ))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(
        path,
        format!("rename temporary file {} over it", tmp.display()),
    ))?;
    guard.armed = false;
    drop(guard);

    match fs::File::open(&dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io_err(path, format!("fsync directory {}", dir.display()))(
            e,
        )),
    }
}

/// The file's bytes: every group's attributes and columns in one `hdf5-writer` plan, encoded,
/// with its string attributes made scalar.
pub(super) fn encode(
    target: &Path,
    root_attrs: &[(String, AttrValue)],
    groups: &[Group<'_>],
) -> Result<Vec<u8>, H5Error> {
    let encoder = |context: &str| {
        let context = context.to_owned();
        move |e: hdf5_writer::Error| H5Error::Hdf5 {
            path: target.to_path_buf(),
            context,
            message: e.to_string(),
        }
    };
    check_links(target, groups)?;
    let mut builder = Hdf5Builder::new();
    for attr in attributes(target, "/", root_attrs)? {
        builder = builder.attribute(attr);
    }
    for group in groups {
        let components = group_components(target, &group.path)?;
        let prefix = components.join("/");
        let shown = if prefix.is_empty() { "/" } else { &prefix };
        if !prefix.is_empty() {
            for attr in attributes(target, shown, &group.attrs)? {
                builder = builder.group_attribute(prefix.clone(), attr);
            }
        } else {
            for attr in attributes(target, shown, &group.attrs)? {
                builder = builder.attribute(attr);
            }
        }
        for column in &group.columns {
            builder = builder.dataset(dataset(target, &prefix, column, &group.columns)?);
        }
    }
    let plan = builder.into_plan().map_err(encoder("plan the file"))?;
    let mut bytes = plan
        .encode(WriteOptions::default())
        .map_err(encoder("encode the file"))?;
    drop(plan);
    scalar_strings(&mut bytes).map_err(|message| H5Error::Hdf5 {
        path: target.to_path_buf(),
        context: "make string attributes scalar".to_owned(),
        message,
    })?;
    Ok(bytes)
}

/// Refuses what libhdf5 refused as it wrote: a dataset name used twice in a group, and a
/// group whose path runs through a dataset (`hdf5-writer` would say so less precisely, or,
/// for a group with nothing in it, not at all).
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

/// Splits a group path into its components (empty for the root), validating each.
fn group_components<'s>(target: &Path, group_path: &'s str) -> Result<Vec<&'s str>, H5Error> {
    let trimmed = group_path.strip_prefix('/').unwrap_or(group_path);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed
        .split('/')
        .map(|c| {
            check_object_name(c)
                .map(|()| c)
                .map_err(|reason| invalid(target, format!("group path {group_path:?}"), reason))
        })
        .collect()
}

/// Checks a single link name (group component or dataset name).
fn check_object_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("names must not be empty")
    } else if name.contains('/') {
        Err("names must not contain '/'")
    } else if name == "." || name == ".." {
        Err("'.' and '..' are not valid names")
    } else if name.contains('\0') {
        Err("names must not contain NUL")
    } else {
        Ok(())
    }
}

/// One column as a dataset: chunked at most [`CHUNK_BYTES`] with shuffle + deflate
/// [`DEFLATE_LEVEL`] (contiguous when empty), its `unit`/`description`, its dimension scales
/// and its `missing_value`.
fn dataset(
    target: &Path,
    prefix: &str,
    column: &Column<'_>,
    siblings: &[Column<'_>],
) -> Result<DatasetBuilder, H5Error> {
    let shown_group = if prefix.is_empty() { "/" } else { prefix };
    check_object_name(column.name).map_err(|reason| {
        invalid(
            target,
            format!("column name {:?} in group {shown_group:?}", column.name),
            reason,
        )
    })?;
    let name = joined(prefix, column.name);
    let bad_data = |e: hdf5_writer::Error| H5Error::Hdf5 {
        path: target.to_path_buf(),
        context: format!("write dataset {name:?}"),
        message: e.to_string(),
    };
    let len = column.data.len() as u64;
    let (builder, shape, element) = match column.data {
        ColumnData::F64(d) => (DatasetBuilder::typed_data(&name, [len], d), vec![len], 8),
        ColumnData::U32(d) => (DatasetBuilder::typed_data(&name, [len], d), vec![len], 4),
        ColumnData::U8(d) => (DatasetBuilder::typed_data(&name, [len], d), vec![len], 1),
        ColumnData::U64(d) => (DatasetBuilder::typed_data(&name, [len], d), vec![len], 8),
        ColumnData::Bool(d) => {
            let bytes: Vec<u8> = d.iter().map(|&b| u8::from(b != 0)).collect();
            let b = DatasetBuilder::new(&name, bool_type(), [len]).raw_data(bytes);
            (Ok(b), vec![len], 1)
        }
        ColumnData::F64Matrix { data, cols } => {
            if cols == 0 || data.len() % cols != 0 {
                return Err(invalid(
                    target,
                    format!("matrix {name:?}"),
                    "the value count must be a multiple of a non-zero column count",
                ));
            }
            let shape = vec![(data.len() / cols) as u64, cols as u64];
            (
                DatasetBuilder::typed_data(&name, shape.clone(), data),
                shape,
                8,
            )
        }
    };
    let mut builder = builder.map_err(bad_data)?;
    if shape.iter().all(|&d| d > 0) {
        // Whole rows per chunk (a 1-D column: elements), at most CHUNK_BYTES, never more than
        // the dataset holds.
        let row: u64 = shape[1..].iter().product::<u64>() * element;
        let rows = (CHUNK_BYTES as u64 / row).clamp(1, shape[0]);
        let mut chunk = shape.clone();
        chunk[0] = rows;
        builder = builder
            .chunked(chunk)
            .filter(FilterDescription {
                id: FILTER_SHUFFLE,
                name: None,
                client_data: Vec::new(),
            })
            .filter(FilterDescription {
                id: FILTER_DEFLATE,
                name: None,
                client_data: vec![u32::from(DEFLATE_LEVEL)],
            });
    }
    if column.scale {
        for attr in scale_attributes(target, prefix, column, siblings)? {
            builder = builder.attribute(attr);
        }
    }
    let texts = [
        ("unit".to_owned(), AttrValue::Str(column.unit.to_owned())),
        (
            "description".to_owned(),
            AttrValue::Str(column.description.to_owned()),
        ),
    ];
    for attr in attributes(target, &name, &texts)? {
        builder = builder.attribute(attr);
    }
    if !column.scale && !column.dims.is_empty() {
        builder = builder.attribute(super::conventions::dimension_list(
            target, prefix, column, &shape, siblings,
        )?);
    }
    if let Some(attr) = super::conventions::missing_value(target, &name, column)? {
        builder = builder.attribute(attr);
    }
    Ok(builder)
}

/// The attributes of `object`, checked: names non-empty without NUL, strings without NUL.
fn attributes(
    target: &Path,
    object: &str,
    attrs: &[(String, AttrValue)],
) -> Result<Vec<AttributeBuilder>, H5Error> {
    attrs
        .iter()
        .map(|(name, value)| {
            let what = || format!("attribute {name:?} of {object:?}");
            if name.is_empty() {
                return Err(invalid(target, what(), "names must not be empty"));
            }
            if name.contains('\0') {
                return Err(invalid(target, what(), "names must not contain NUL"));
            }
            if let AttrValue::Str(s) = value
                && s.contains('\0')
            {
                return Err(invalid(target, what(), "strings must not contain NUL"));
            }
            attribute(name, value).map_err(|e| H5Error::Hdf5 {
                path: target.to_path_buf(),
                context: format!("write {}", what()),
                message: e.to_string(),
            })
        })
        .collect()
}

/// One attribute as `hdf5-writer` takes it.
pub(super) fn attribute(name: &str, value: &AttrValue) -> hdf5_writer::Result<AttributeBuilder> {
    match value {
        // A 1-element vector here; `scalar_strings` makes it scalar in the encoded file.
        AttrValue::Str(s) => AttributeBuilder::vlen_strings(name, &[s]),
        AttrValue::U64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::I64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::F64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::F64s(v) => AttributeBuilder::vector(name, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::h5::{read_attr, read_f64_column};

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

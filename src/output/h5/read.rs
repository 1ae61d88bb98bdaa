//! Reading result files back: columns, matrices, attributes and group listings, with errors
//! that name the file and the object.

use std::fs;
use std::path::Path;

use hdf5::LocationType;
use hdf5::types::{IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};

use super::conventions::Flag;
use super::{AttrValue, H5Error, hdf5_err, io_err};

/// Normalizes an object path: no leading/trailing `/`; the root is `"/"`.
fn normalize(object: &str) -> &str {
    let trimmed = object.trim_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

fn open_read(path: &Path) -> Result<hdf5::File, H5Error> {
    hdf5::silence_errors(true);
    fs::metadata(path).map_err(io_err(path, "open file"))?;
    hdf5::File::open(path).map_err(hdf5_err(path, "open file"))
}

/// The type of the object at `name` (already normalized), or `NotFound`.
fn object_type(
    path: &Path,
    file: &hdf5::File,
    name: &str,
    kind: &str,
) -> Result<LocationType, H5Error> {
    if name == "/" {
        return Ok(LocationType::Group);
    }
    let mut prefix = String::new();
    for component in name.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(component);
        if component.is_empty() || !file.link_exists(&prefix) {
            return Err(H5Error::NotFound {
                path: path.to_path_buf(),
                what: format!("{kind} {name:?}"),
            });
        }
    }
    file.loc_type_by_name(name)
        .map_err(hdf5_err(path, format!("inspect {kind} {name:?}")))
}

fn type_name(t: LocationType) -> &'static str {
    match t {
        LocationType::Group => "a group",
        LocationType::Dataset => "a dataset",
        LocationType::NamedDatatype => "a committed datatype",
        #[allow(unreachable_patterns)]
        _ => "another kind of object",
    }
}

fn open_dataset(path: &Path, file: &hdf5::File, name: &str) -> Result<hdf5::Dataset, H5Error> {
    let t = object_type(path, file, name, "dataset")?;
    if t != LocationType::Dataset {
        return Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("{name:?}"),
            expected: "a dataset".to_owned(),
            found: type_name(t).to_owned(),
        });
    }
    file.dataset(name)
        .map_err(hdf5_err(path, format!("open dataset {name:?}")))
}

/// Opens a dataset for reading, with its normalised name and its type.
fn open_typed<'n>(
    path: &Path,
    dataset: &'n str,
) -> Result<(hdf5::Dataset, &'n str, TypeDescriptor), H5Error> {
    let file = open_read(path)?;
    let name = normalize(dataset);
    let ds = open_dataset(path, &file, name)?;
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(hdf5_err(path, format!("inspect dataset {name:?}")))?;
    Ok((ds, name, desc))
}

/// Reads a whole 1-D dataset as `f64`.
///
/// `dataset` is a path from the root such as `"paths/loss"` (a leading `/` is accepted).
/// Float datasets, booleans (0 and 1) and integer datasets of up to 32 bits (e.g. our `u32`/`u8` columns) are
/// converted exactly; 64-bit integers are refused because the conversion could round.
///
/// # Errors
///
/// [`H5Error::Io`] if the file cannot be accessed, [`H5Error::NotFound`] if the dataset does
/// not exist, [`H5Error::WrongType`] if the object is not a 1-D dataset of a supported type,
/// [`H5Error::Hdf5`] if HDF5 fails to open or read it.
pub fn read_f64_column(path: &Path, dataset: &str) -> Result<Vec<f64>, H5Error> {
    let (ds, name, desc) = open_typed(path, dataset)?;
    if desc == TypeDescriptor::Boolean && ds.ndim() == 1 {
        let flags = ds
            .read_raw::<Flag>()
            .map_err(hdf5_err(path, format!("read dataset {name:?}")))?;
        return Ok(flags.into_iter().map(|f| f64::from(f.0)).collect());
    }
    let supported = matches!(
        desc,
        TypeDescriptor::Float(_)
            | TypeDescriptor::Unsigned(IntSize::U1 | IntSize::U2 | IntSize::U4)
            | TypeDescriptor::Integer(IntSize::U1 | IntSize::U2 | IntSize::U4)
    );
    if !supported || ds.ndim() != 1 {
        return Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("dataset {name:?}"),
            expected: "a 1-D float or integer (at most 32-bit) dataset".to_owned(),
            found: format!("{}-D {desc}", ds.ndim()),
        });
    }
    ds.read_raw::<f64>()
        .map_err(hdf5_err(path, format!("read dataset {name:?}")))
}

/// Reads a whole 1-D unsigned 64-bit integer dataset exactly.
///
/// # Errors
///
/// As [`read_f64_column`]; [`H5Error::WrongType`] if the object is not a 1-D `u64` dataset.
pub fn read_u64_column(path: &Path, dataset: &str) -> Result<Vec<u64>, H5Error> {
    let (ds, name, desc) = open_typed(path, dataset)?;
    if !matches!(desc, TypeDescriptor::Unsigned(IntSize::U8)) || ds.ndim() != 1 {
        return Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("dataset {name:?}"),
            expected: "a 1-D u64 dataset".to_owned(),
            found: format!("{}-D {desc}", ds.ndim()),
        });
    }
    ds.read_raw::<u64>()
        .map_err(hdf5_err(path, format!("read dataset {name:?}")))
}

/// Reads a whole 2-D float dataset as `(row-major values, rows, cols)`.
///
/// # Errors
///
/// As [`read_f64_column`]; [`H5Error::WrongType`] if the object is not a 2-D float dataset.
pub fn read_f64_matrix(path: &Path, dataset: &str) -> Result<(Vec<f64>, usize, usize), H5Error> {
    let (ds, name, desc) = open_typed(path, dataset)?;
    let shape = ds.shape();
    if !matches!(desc, TypeDescriptor::Float(_)) || shape.len() != 2 {
        return Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("dataset {name:?}"),
            expected: "a 2-D float dataset".to_owned(),
            found: format!("{}-D {desc}", shape.len()),
        });
    }
    let values = ds
        .read_raw::<f64>()
        .map_err(hdf5_err(path, format!("read dataset {name:?}")))?;
    Ok((values, shape[0], shape[1]))
}

/// A dataset's values in the element type it is stored with.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// Floats (any float size, converted to `f64`).
    F64(Vec<f64>),
    /// `u32` integers.
    U32(Vec<u32>),
    /// `u8` integers (flags in files written before booleans).
    U8(Vec<u8>),
    /// Booleans (the enum `{FALSE = 0, TRUE = 1}`), as their stored bytes: a crafted file
    /// may hold other bytes, which the caller refuses.
    Bool(Vec<u8>),
    /// `u64` integers (exact sums).
    U64(Vec<u64>),
}

impl Stored {
    /// The element type's name, as the messages of the results readers give it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::F64(_) => "float",
            Self::U32(_) => "u32",
            Self::U8(_) => "u8",
            Self::Bool(_) => "bool",
            Self::U64(_) => "u64",
        }
    }
}

/// Reads a whole dataset of float, boolean or `u8`/`u32`/`u64` elements, with its shape, refusing
/// (before reading anything) one that holds more than `max_len` values, so that a crafted
/// file cannot make the reader allocate what its header claims.
///
/// # Errors
///
/// As [`read_f64_column`]; [`H5Error::WrongType`] for another element type (signed or other
/// integer sizes, strings, compounds) or more than `max_len` values.
pub fn read_dataset(
    path: &Path,
    dataset: &str,
    max_len: usize,
) -> Result<(Stored, Vec<usize>), H5Error> {
    let (ds, name, desc) = open_typed(path, dataset)?;
    let shape = ds.shape();
    let len = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= max_len);
    let wrong = |expected: String| H5Error::WrongType {
        path: path.to_path_buf(),
        what: format!("dataset {name:?}"),
        expected,
        found: format!("shape {shape:?} of {desc}"),
    };
    if len.is_none() {
        return Err(wrong(format!("at most {max_len} values")));
    }
    let read_err = || hdf5_err(path, format!("read dataset {name:?}"));
    let values = match desc {
        TypeDescriptor::Float(_) => Stored::F64(ds.read_raw::<f64>().map_err(read_err())?),
        TypeDescriptor::Unsigned(IntSize::U4) => {
            Stored::U32(ds.read_raw::<u32>().map_err(read_err())?)
        }
        TypeDescriptor::Unsigned(IntSize::U1) => {
            Stored::U8(ds.read_raw::<u8>().map_err(read_err())?)
        }
        TypeDescriptor::Unsigned(IntSize::U8) => {
            Stored::U64(ds.read_raw::<u64>().map_err(read_err())?)
        }
        TypeDescriptor::Boolean => Stored::Bool(
            ds.read_raw::<Flag>()
                .map_err(read_err())?
                .into_iter()
                .map(|f| f.0)
                .collect(),
        ),
        _ => return Err(wrong("float, bool, u8, u32 or u64 values".to_owned())),
    };
    Ok((values, shape))
}

/// Opens attribute `name` of `object` (normalized), distinguishing a missing one.
fn open_attr(
    path: &Path,
    file: &hdf5::File,
    object: &str,
    name: &str,
) -> Result<hdf5::Attribute, H5Error> {
    let what = || format!("attribute {name:?} of {object:?}");
    object_type(path, file, object, "object")?;
    let info = file
        .loc_info_by_name(object)
        .map_err(hdf5_err(path, format!("inspect object {object:?}")))?;
    let loc = file
        .open_by_token(info.token)
        .map_err(hdf5_err(path, format!("open object {object:?}")))?;
    let names = loc
        .attr_names()
        .map_err(hdf5_err(path, format!("list attributes of {object:?}")))?;
    if !names.iter().any(|n| n == name) {
        return Err(H5Error::NotFound {
            path: path.to_path_buf(),
            what: what(),
        });
    }
    loc.attr(name)
        .map_err(hdf5_err(path, format!("open {}", what())))
}

/// Reads any attribute written by [`write_h5_atomic`] back as an [`AttrValue`].
///
/// Variable-length strings (UTF-8 or ASCII) become [`AttrValue::Str`], scalar unsigned and
/// signed integers [`AttrValue::U64`] and [`AttrValue::I64`], scalar floats
/// [`AttrValue::F64`] and 1-D float arrays [`AttrValue::F64s`]. `object` is `"/"` for the root,
/// otherwise a group or dataset path such as `"paths/loss"`.
///
/// # Errors
///
/// [`H5Error::NotFound`] if the object or attribute does not exist, [`H5Error::WrongType`] for
/// other types or shapes (e.g. fixed-length strings), [`H5Error::Io`] / [`H5Error::Hdf5`] if the
/// file cannot be opened or read.
pub fn read_attr(path: &Path, object: &str, name: &str) -> Result<AttrValue, H5Error> {
    let file = open_read(path)?;
    let object = normalize(object);
    let attr = open_attr(path, &file, object, name)?;
    let what = || format!("attribute {name:?} of {object:?}");
    let desc = attr
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(hdf5_err(path, format!("inspect {}", what())))?;
    let ndim = attr.ndim();
    let read_err = || hdf5_err(path, format!("read {}", what()));
    let value = match (&desc, ndim) {
        (TypeDescriptor::VarLenUnicode, 0) => AttrValue::Str(
            attr.read_scalar::<VarLenUnicode>()
                .map_err(read_err())?
                .to_string(),
        ),
        (TypeDescriptor::VarLenAscii, 0) => AttrValue::Str(
            attr.read_scalar::<VarLenAscii>()
                .map_err(read_err())?
                .to_string(),
        ),
        (TypeDescriptor::Unsigned(_), 0) => {
            AttrValue::U64(attr.read_scalar::<u64>().map_err(read_err())?)
        }
        (TypeDescriptor::Integer(_), 0) => {
            AttrValue::I64(attr.read_scalar::<i64>().map_err(read_err())?)
        }
        (TypeDescriptor::Float(_), 0) => {
            AttrValue::F64(attr.read_scalar::<f64>().map_err(read_err())?)
        }
        (TypeDescriptor::Float(_), 1) => {
            AttrValue::F64s(attr.read_raw::<f64>().map_err(read_err())?)
        }
        _ => {
            return Err(H5Error::WrongType {
                path: path.to_path_buf(),
                what: what(),
                expected: "a scalar string, integer or float, or a 1-D float array".to_owned(),
                found: format!("{ndim}-D {desc}"),
            });
        }
    };
    Ok(value)
}

/// Reads a scalar string attribute. `object` is `"/"` for the root, otherwise a group or
/// dataset path such as `"paths/loss"`.
///
/// # Errors
///
/// As [`read_attr`]; [`H5Error::WrongType`] if the attribute is not a scalar variable-length
/// string.
pub fn read_attr_str(path: &Path, object: &str, name: &str) -> Result<String, H5Error> {
    match read_attr(path, object, name)? {
        AttrValue::Str(s) => Ok(s),
        other => Err(wrong_attr_type(path, object, name, "a string", &other)),
    }
}

/// Reads a scalar non-negative integer attribute (stored unsigned, or signed and `>= 0`).
/// `object` is `"/"` for the root, otherwise a group or dataset path.
///
/// # Errors
///
/// As [`read_attr`]; [`H5Error::WrongType`] if the attribute is not a scalar integer or is
/// negative.
pub fn read_attr_u64(path: &Path, object: &str, name: &str) -> Result<u64, H5Error> {
    match read_attr(path, object, name)? {
        AttrValue::U64(v) => Ok(v),
        AttrValue::I64(v) if v >= 0 => Ok(v.unsigned_abs()),
        other => Err(wrong_attr_type(
            path,
            object,
            name,
            "a non-negative integer",
            &other,
        )),
    }
}

fn wrong_attr_type(
    path: &Path,
    object: &str,
    name: &str,
    expected: &str,
    found: &AttrValue,
) -> H5Error {
    H5Error::WrongType {
        path: path.to_path_buf(),
        what: format!("attribute {name:?} of {:?}", normalize(object)),
        expected: expected.to_owned(),
        found: found.describe(),
    }
}

/// Names of the datasets directly inside `group` (not in subgroups), sorted bytewise.
/// `group` is `"/"` for the root, otherwise a path such as `"paths/by_asset/BTC"`.
///
/// # Errors
///
/// [`H5Error::NotFound`] if the group does not exist, [`H5Error::WrongType`] if it is not a
/// group, [`H5Error::Io`] / [`H5Error::Hdf5`] if the file cannot be opened or listed.
pub fn list_datasets(path: &Path, group: &str) -> Result<Vec<String>, H5Error> {
    list_members(path, group, LocationType::Dataset)
}

/// Names of the groups directly inside `group`, sorted bytewise.
///
/// # Errors
/// As [`list_datasets`].
pub fn list_groups(path: &Path, group: &str) -> Result<Vec<String>, H5Error> {
    list_members(path, group, LocationType::Group)
}

fn list_members(path: &Path, group: &str, kind: LocationType) -> Result<Vec<String>, H5Error> {
    let file = open_read(path)?;
    let name = normalize(group);
    let t = object_type(path, &file, name, "group")?;
    if t != LocationType::Group {
        return Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("{name:?}"),
            expected: "a group".to_owned(),
            found: type_name(t).to_owned(),
        });
    }
    let g = file
        .group(name)
        .map_err(hdf5_err(path, format!("open group {name:?}")))?;
    let members = g
        .member_names()
        .map_err(hdf5_err(path, format!("list members of group {name:?}")))?;
    let mut datasets = Vec::new();
    for member in members {
        let t = g.loc_type_by_name(&member).map_err(hdf5_err(
            path,
            format!("inspect {member:?} in group {name:?}"),
        ))?;
        if t == kind {
            datasets.push(member);
        }
    }
    datasets.sort();
    Ok(datasets)
}

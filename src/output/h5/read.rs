//! Reading result files back through the pure-Rust `hdf5-reader` (files written by this
//! module or by libhdf5 before it): columns, matrices, attributes and group listings, with
//! errors that name the file and the object. Files may be crafted: sizes are checked before
//! anything is allocated, and the reader bounds-checks everything it parses.

use std::fs;
use std::path::Path;

use hdf5_reader::{ByteOrder, Datatype, Hdf5File};

use super::conventions::is_bool;
use super::{AttrValue, H5Error, io_err};

/// Normalizes an object path: no leading/trailing `/`; the root is `"/"`.
fn normalize(object: &str) -> &str {
    let trimmed = object.trim_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

fn reader_err(
    path: &Path,
    context: impl Into<String>,
) -> impl FnOnce(hdf5_reader::error::Error) -> H5Error {
    let context = context.into();
    move |err| H5Error::Hdf5 {
        path: path.to_path_buf(),
        context,
        message: err.to_string(),
    }
}

fn open_read(path: &Path) -> Result<Hdf5File, H5Error> {
    fs::metadata(path).map_err(io_err(path, "open file"))?;
    Hdf5File::open(path).map_err(reader_err(path, "open file"))
}

/// The HDF5 signature a superblock starts with.
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Checks that `path` is a whole HDF5 file before any object is read: a regular file, with
/// the HDF5 signature (at 0, or at 512, 1024, … after a user block), and at least as long
/// as the end-of-file address its superblock records (a copy cut short is "truncated", not
/// a list of the attributes that no longer read).
///
/// # Errors
/// [`H5Error::Io`] when it cannot be read; [`H5Error::NotHdf5`] saying which of the three
/// fails.
pub fn check_container(path: &Path) -> Result<(), H5Error> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let not = |reason: String| H5Error::NotHdf5 {
        path: path.to_path_buf(),
        reason,
    };
    let meta = fs::metadata(path).map_err(io_err(path, "open file"))?;
    if !meta.is_file() {
        return Err(not(
            "is not a regular file (a folder, device or FIFO)".into()
        ));
    }
    let len = meta.len();
    let mut file = fs::File::open(path).map_err(io_err(path, "open file"))?;
    let mut at = 0u64;
    let mut head = [0u8; 48];
    loop {
        if at + 8 > len {
            return Err(not(format!(
                "is not an HDF5 file (no HDF5 signature; the file has {len} bytes)"
            )));
        }
        file.seek(SeekFrom::Start(at))
            .map_err(io_err(path, "read the superblock"))?;
        let n = usize::try_from((len - at).min(48)).unwrap_or(48);
        file.read_exact(&mut head[..n])
            .map_err(io_err(path, "read the superblock"))?;
        if &head[..8] == SIGNATURE {
            break;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    // Where the superblock keeps its base and end-of-file addresses (offset size `o`).
    let (o, base_at) = match head[8] {
        0 => (head[13], 24),
        1 => (head[13], 28),
        2 | 3 => (head[9], 12),
        v => return Err(not(format!("has an unknown superblock version {v}"))),
    };
    let o = usize::from(o);
    let eof_at = base_at + 2 * o;
    if !matches!(o, 2 | 4 | 8) || eof_at + o > head.len() {
        return Err(not(format!("has a superblock with {o}-byte addresses")));
    }
    let word = |i: usize| {
        head[i..i + o]
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    };
    let end = word(base_at).saturating_add(word(eof_at));
    if eof_at + o > usize::try_from(len - at).unwrap_or(usize::MAX) || end > len {
        return Err(not(format!(
            "is truncated: {len} bytes, but its superblock says the file ends at byte {end} (a copy cut short?)"
        )));
    }
    Ok(())
}

/// An object of the file found by its path.
enum Object {
    Group(hdf5_reader::group::Group),
    Dataset(Box<hdf5_reader::Dataset>),
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Self::Group(_) => "a group",
            Self::Dataset(_) => "a dataset",
        }
    }
}

/// The object at `name` (already normalized), or `NotFound` (`kind` says what was looked for).
fn locate(path: &Path, file: &Hdf5File, name: &str, kind: &str) -> Result<Object, H5Error> {
    let mut group = file
        .root_group()
        .map_err(reader_err(path, "open root group"))?;
    if name == "/" {
        return Ok(Object::Group(group));
    }
    let not_found = || H5Error::NotFound {
        path: path.to_path_buf(),
        what: format!("{kind} {name:?}"),
    };
    let components: Vec<&str> = name.split('/').collect();
    for (i, component) in components.iter().enumerate() {
        let (groups, datasets) = group
            .member_names()
            .map_err(reader_err(path, format!("inspect {kind} {name:?}")))?;
        let last = i + 1 == components.len();
        if groups.iter().any(|g| g == component) {
            group = group.group(component).map_err(reader_err(
                path,
                format!("open group {component:?} of {name:?}"),
            ))?;
        } else if last && datasets.iter().any(|d| d == component) {
            return group
                .dataset(component)
                .map(|d| Object::Dataset(Box::new(d)))
                .map_err(reader_err(path, format!("open dataset {name:?}")));
        } else {
            return Err(not_found());
        }
    }
    Ok(Object::Group(group))
}

fn open_dataset(path: &Path, file: &Hdf5File, name: &str) -> Result<hdf5_reader::Dataset, H5Error> {
    match locate(path, file, name, "dataset")? {
        Object::Dataset(ds) => Ok(*ds),
        other => Err(H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("{name:?}"),
            expected: "a dataset".to_owned(),
            found: other.kind().to_owned(),
        }),
    }
}

/// The element type of a dataset, as far as these readers tell types apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Float(u8, ByteOrder),
    Unsigned(u8, ByteOrder),
    Signed(u8, ByteOrder),
    Bool,
    Other,
}

fn element(t: &Datatype) -> Element {
    match *t {
        Datatype::FloatingPoint { size, byte_order } if size == 4 || size == 8 => {
            Element::Float(size, byte_order)
        }
        Datatype::FixedPoint {
            size,
            signed,
            byte_order,
        } if matches!(size, 1 | 2 | 4 | 8) => {
            if signed {
                Element::Signed(size, byte_order)
            } else {
                Element::Unsigned(size, byte_order)
            }
        }
        _ if is_bool(t) => Element::Bool,
        _ => Element::Other,
    }
}

/// A type's name in messages (the names numpy and h5py use).
fn type_name(t: &Datatype) -> String {
    match element(t) {
        Element::Float(size, _) => format!("float{}", u32::from(size) * 8),
        Element::Unsigned(size, _) => format!("uint{}", u32::from(size) * 8),
        Element::Signed(size, _) => format!("int{}", u32::from(size) * 8),
        Element::Bool => "bool".to_owned(),
        Element::Other => match t {
            Datatype::Enum { .. } => "enum".to_owned(),
            Datatype::Compound { fields, .. } => format!("compound ({} fields)", fields.len()),
            Datatype::String { .. } => "string".to_owned(),
            Datatype::VarLen { .. } => "variable-length".to_owned(),
            Datatype::Reference { .. } => "reference".to_owned(),
            Datatype::Array { .. } => "array".to_owned(),
            _ => "another type".to_owned(),
        },
    }
}

/// An open dataset with its normalised name, shape and element type.
struct Opened<'n> {
    ds: hdf5_reader::Dataset,
    name: &'n str,
    shape: Vec<usize>,
    element: Element,
    type_name: String,
}

impl Opened<'_> {
    /// The values as `f64` (exact for floats and integers of up to 32 bits).
    fn f64s(&self, path: &Path) -> Result<Vec<f64>, H5Error> {
        let bytes = self.bytes(path)?;
        Ok(match self.element {
            Element::Float(4, o) => decode(&bytes, o, |b| f64::from(f32::from_le_bytes(b))),
            Element::Float(_, o) => decode(&bytes, o, f64::from_le_bytes),
            Element::Unsigned(1, _) | Element::Bool => {
                bytes.iter().map(|&b| f64::from(b)).collect()
            }
            Element::Signed(1, _) => bytes.iter().map(|&b| f64::from(b as i8)).collect(),
            Element::Unsigned(2, o) => decode(&bytes, o, |b| f64::from(u16::from_le_bytes(b))),
            Element::Signed(2, o) => decode(&bytes, o, |b| f64::from(i16::from_le_bytes(b))),
            Element::Unsigned(_, o) => decode(&bytes, o, |b| f64::from(u32::from_le_bytes(b))),
            Element::Signed(_, o) => decode(&bytes, o, |b| f64::from(i32::from_le_bytes(b))),
            Element::Other => unreachable!("refused before reading"),
        })
    }

    /// The stored bytes of every element.
    fn bytes(&self, path: &Path) -> Result<Vec<u8>, H5Error> {
        self.ds
            .read_raw_bytes()
            .map_err(reader_err(path, format!("read dataset {:?}", self.name)))
    }

    fn wrong(&self, path: &Path, expected: &str) -> H5Error {
        H5Error::WrongType {
            path: path.to_path_buf(),
            what: format!("dataset {:?}", self.name),
            expected: expected.to_owned(),
            found: format!("{}-D {}", self.shape.len(), self.type_name),
        }
    }
}

/// Elements of `N` bytes in `order`, each converted by `f` from its little-endian bytes.
fn decode<const N: usize, T>(bytes: &[u8], order: ByteOrder, f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut b: [u8; N] = c.try_into().expect("chunks of N bytes");
            if order == ByteOrder::BigEndian {
                b.reverse();
            }
            f(b)
        })
        .collect()
}

/// Opens a dataset for reading, with its normalised name, shape and type.
fn open_typed<'n>(path: &Path, dataset: &'n str) -> Result<Opened<'n>, H5Error> {
    let file = open_read(path)?;
    let name = normalize(dataset);
    let ds = open_dataset(path, &file, name)?;
    let shape = ds
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let element = element(ds.dtype());
    let type_name = type_name(ds.dtype());
    Ok(Opened {
        ds,
        name,
        shape,
        element,
        type_name,
    })
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
/// [`H5Error::Hdf5`] if the file cannot be parsed or the dataset read.
pub fn read_f64_column(path: &Path, dataset: &str) -> Result<Vec<f64>, H5Error> {
    let ds = open_typed(path, dataset)?;
    let supported = match ds.element {
        Element::Float(..) | Element::Bool => true,
        Element::Unsigned(size, _) | Element::Signed(size, _) => size <= 4,
        Element::Other => false,
    };
    if !supported || ds.shape.len() != 1 {
        return Err(ds.wrong(path, "a 1-D float or integer (at most 32-bit) dataset"));
    }
    ds.f64s(path)
}

/// Reads a whole 1-D unsigned 64-bit integer dataset exactly.
///
/// # Errors
///
/// As [`read_f64_column`]; [`H5Error::WrongType`] if the object is not a 1-D `u64` dataset.
pub fn read_u64_column(path: &Path, dataset: &str) -> Result<Vec<u64>, H5Error> {
    let ds = open_typed(path, dataset)?;
    let Element::Unsigned(8, order) = ds.element else {
        return Err(ds.wrong(path, "a 1-D u64 dataset"));
    };
    if ds.shape.len() != 1 {
        return Err(ds.wrong(path, "a 1-D u64 dataset"));
    }
    Ok(decode(&ds.bytes(path)?, order, u64::from_le_bytes))
}

/// Reads a whole 2-D float dataset as `(row-major values, rows, cols)`.
///
/// # Errors
///
/// As [`read_f64_column`]; [`H5Error::WrongType`] if the object is not a 2-D float dataset.
pub fn read_f64_matrix(path: &Path, dataset: &str) -> Result<(Vec<f64>, usize, usize), H5Error> {
    let ds = open_typed(path, dataset)?;
    if !matches!(ds.element, Element::Float(..)) || ds.shape.len() != 2 {
        return Err(ds.wrong(path, "a 2-D float dataset"));
    }
    Ok((ds.f64s(path)?, ds.shape[0], ds.shape[1]))
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
    let ds = open_typed(path, dataset)?;
    let len = ds
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= max_len);
    let wrong = |expected: String| H5Error::WrongType {
        path: path.to_path_buf(),
        what: format!("dataset {:?}", ds.name),
        expected,
        found: format!("shape {:?} of {}", ds.shape, ds.type_name),
    };
    if len.is_none() {
        return Err(wrong(format!("at most {max_len} values")));
    }
    let values = match ds.element {
        Element::Float(..) => Stored::F64(ds.f64s(path)?),
        Element::Unsigned(4, o) => Stored::U32(decode(&ds.bytes(path)?, o, u32::from_le_bytes)),
        Element::Unsigned(1, _) => Stored::U8(ds.bytes(path)?),
        Element::Unsigned(8, o) => Stored::U64(decode(&ds.bytes(path)?, o, u64::from_le_bytes)),
        Element::Bool => Stored::Bool(ds.bytes(path)?),
        _ => return Err(wrong("float, bool, u8, u32 or u64 values".to_owned())),
    };
    Ok((values, ds.shape))
}

/// The attributes of `object` (normalized).
fn attributes(
    path: &Path,
    file: &Hdf5File,
    object: &str,
) -> Result<Vec<hdf5_reader::Attribute>, H5Error> {
    match locate(path, file, object, "object")? {
        Object::Group(g) => g
            .attributes()
            .map_err(reader_err(path, format!("list attributes of {object:?}"))),
        Object::Dataset(d) => Ok(d.attributes()),
    }
}

/// Names of the attributes of `object` (`"/"` for the root, otherwise a group or dataset
/// path), sorted bytewise.
///
/// # Errors
///
/// [`H5Error::NotFound`] if the object does not exist, [`H5Error::Io`] / [`H5Error::Hdf5`] if
/// the file cannot be opened or read.
pub fn list_attrs(path: &Path, object: &str) -> Result<Vec<String>, H5Error> {
    let file = open_read(path)?;
    let mut names: Vec<String> = attributes(path, &file, normalize(object))?
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Reads any attribute written by [`write_h5_atomic`] back as an [`AttrValue`].
///
/// Variable-length strings (UTF-8 or ASCII; scalar, or an array of one) become
/// [`AttrValue::Str`], scalar unsigned and
/// signed integers [`AttrValue::U64`] and [`AttrValue::I64`], scalar floats
/// [`AttrValue::F64`] and 1-D float arrays [`AttrValue::F64s`]. `object` is `"/"` for the root,
/// otherwise a group or dataset path such as `"paths/loss"`.
///
/// [`write_h5_atomic`]: super::write_h5_atomic
///
/// # Errors
///
/// [`H5Error::NotFound`] if the object or attribute does not exist, [`H5Error::WrongType`] for
/// other types or shapes (e.g. fixed-length strings), [`H5Error::Io`] / [`H5Error::Hdf5`] if the
/// file cannot be opened or read.
pub fn read_attr(path: &Path, object: &str, name: &str) -> Result<AttrValue, H5Error> {
    let file = open_read(path)?;
    let object = normalize(object);
    let what = || format!("attribute {name:?} of {object:?}");
    let attr = attributes(path, &file, object)?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| H5Error::NotFound {
            path: path.to_path_buf(),
            what: what(),
        })?;
    let read_err = || reader_err(path, format!("read {}", what()));
    let ndim = attr.shape.len();
    let scalar = |size: usize| -> Result<[u8; 8], H5Error> {
        let bytes = attr.raw_data.get(..size).ok_or_else(|| H5Error::Hdf5 {
            path: path.to_path_buf(),
            context: format!("read {}", what()),
            message: "the value is cut short".to_owned(),
        })?;
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(bytes);
        Ok(b)
    };
    let le = |mut b: [u8; 8], size: u8, order: ByteOrder| {
        if order == ByteOrder::BigEndian {
            b[..usize::from(size)].reverse();
        }
        b
    };
    let vlen_string = matches!(
        attr.datatype,
        Datatype::VarLen {
            kind: hdf5_reader::VarLenKind::String,
            ..
        }
    );
    let value = match (element(&attr.datatype), ndim) {
        _ if vlen_string && (ndim == 0 || attr.shape == [1]) => {
            AttrValue::Str(attr.read_string().map_err(read_err())?)
        }
        (Element::Unsigned(size, o), 0) => {
            AttrValue::U64(u64::from_le_bytes(le(scalar(size.into())?, size, o)))
        }
        (Element::Signed(size, o), 0) => {
            let b = le(scalar(size.into())?, size, o);
            // Sign-extend from `size` bytes.
            let shift = 64 - 8 * u32::from(size);
            AttrValue::I64(
                i64::from_le_bytes(b)
                    .wrapping_shl(shift)
                    .wrapping_shr(shift),
            )
        }
        (Element::Float(4, o), 0) => {
            let b = le(scalar(4)?, 4, o);
            AttrValue::F64(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        (Element::Float(_, o), 0) => AttrValue::F64(f64::from_le_bytes(le(scalar(8)?, 8, o))),
        (Element::Float(size, o), 1) => {
            let n = usize::try_from(attr.shape[0]).unwrap_or(usize::MAX);
            let bytes = attr
                .raw_data
                .get(..n.saturating_mul(usize::from(size)))
                .ok_or_else(|| H5Error::Hdf5 {
                    path: path.to_path_buf(),
                    context: format!("read {}", what()),
                    message: "the values are cut short".to_owned(),
                })?;
            AttrValue::F64s(if size == 4 {
                decode(bytes, o, |b| f64::from(f32::from_le_bytes(b)))
            } else {
                decode(bytes, o, f64::from_le_bytes)
            })
        }
        _ => {
            return Err(H5Error::WrongType {
                path: path.to_path_buf(),
                what: what(),
                expected: "a scalar string, integer or float, or a 1-D float array".to_owned(),
                found: format!("{ndim}-D {}", type_name(&attr.datatype)),
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
    list_members(path, group).map(|(_, datasets)| datasets)
}

/// Names of the groups directly inside `group`, sorted bytewise.
///
/// # Errors
/// As [`list_datasets`].
pub fn list_groups(path: &Path, group: &str) -> Result<Vec<String>, H5Error> {
    list_members(path, group).map(|(groups, _)| groups)
}

fn list_members(path: &Path, group: &str) -> Result<(Vec<String>, Vec<String>), H5Error> {
    let file = open_read(path)?;
    let name = normalize(group);
    let g = match locate(path, &file, name, "group")? {
        Object::Group(g) => g,
        other => {
            return Err(H5Error::WrongType {
                path: path.to_path_buf(),
                what: format!("{name:?}"),
                expected: "a group".to_owned(),
                found: other.kind().to_owned(),
            });
        }
    };
    let (mut groups, mut datasets) = g
        .member_names()
        .map_err(reader_err(path, format!("list members of group {name:?}")))?;
    groups.sort();
    datasets.sort();
    Ok((groups, datasets))
}

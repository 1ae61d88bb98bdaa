//! HDF5 result files (`results.h5`): this module owns their on-disk layout (groups of 1-D
//! column datasets, each with `unit` and `description` string attributes, plus root metadata)
//! and is the only code that writes or reads HDF5: files are written by our own streaming
//! writer (`stream.rs`, data first and metadata last, with `format.rs` and `layout.rs`) and read
//! through the pure-Rust `hdf5-reader` (no system HDF5; docs/hdf5.md). Files are written
//! atomically and byte-for-byte deterministically; small readers serve the `report`/`tails`
//! commands and tests; `edit.rs` crafts bad files for tests with `hdf5-writer`.
//!
//! Layout choices, all made so that other tools (h5py, `h5dump`, HDFView) read the files:
//! - string attributes are scalar, variable-length, UTF-8 (h5py returns them as `str`);
//! - numeric attributes are scalar `u64`/`i64`/`f64`, or a 1-D `f64` array;
//! - non-empty columns are chunked (at most [`CHUNK_BYTES`] per chunk) and compressed with
//!   shuffle + deflate level [`DEFLATE_LEVEL`]; empty columns are contiguous;
//! - object modification times are never recorded, so the same content gives the same bytes;
//! - what generic readers need (`conventions.rs`): booleans as h5py's enum
//!   `{FALSE = 0, TRUE = 1}`, HDF5 dimension scales (netCDF-4's named dimensions, so xarray
//!   and h5netcdf name them) and the CF `missing_value` attribute.

use std::io;
use std::path::{Path, PathBuf};

/// Deflate (gzip) level used for column datasets when the filter is available.
pub const DEFLATE_LEVEL: u8 = 4;

/// Upper bound, in bytes, of one chunk of a column dataset.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Value of an attribute attached to the root, a group, or (internally) a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A UTF-8 string, stored as a scalar variable-length UTF-8 string.
    Str(String),
    /// An unsigned integer, stored as a scalar little-endian `u64`.
    U64(u64),
    /// A signed integer, stored as a scalar little-endian `i64`.
    I64(i64),
    /// A float, stored as a scalar `f64`.
    F64(f64),
    /// A list of floats, stored as a 1-D `f64` array (possibly empty).
    F64s(Vec<f64>),
}

impl AttrValue {
    /// What the value is, for messages: its type, and the value when it is a number.
    pub fn describe(&self) -> String {
        match self {
            Self::Str(_) => "a string".to_owned(),
            Self::U64(v) => format!("unsigned integer {v}"),
            Self::I64(v) => format!("signed integer {v}"),
            Self::F64(v) => format!("float {v}"),
            Self::F64s(v) => format!("float array of length {}", v.len()),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(value: String) -> Self {
        Self::Str(value)
    }
}

impl From<u64> for AttrValue {
    fn from(value: u64) -> Self {
        Self::U64(value)
    }
}

impl From<i64> for AttrValue {
    fn from(value: i64) -> Self {
        Self::I64(value)
    }
}

impl From<f64> for AttrValue {
    fn from(value: f64) -> Self {
        Self::F64(value)
    }
}

impl From<Vec<f64>> for AttrValue {
    fn from(value: Vec<f64>) -> Self {
        Self::F64s(value)
    }
}

impl From<&[f64]> for AttrValue {
    fn from(value: &[f64]) -> Self {
        Self::F64s(value.to_vec())
    }
}

/// The values of one column, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnData<'a> {
    /// 64-bit floats (`<f8`).
    F64(&'a [f64]),
    /// 32-bit unsigned integers (`<u4`).
    U32(&'a [u32]),
    /// 8-bit unsigned integers (`u1`).
    U8(&'a [u8]),
    /// Booleans given as `0`/`1` bytes, stored as the HDF5 enum `{FALSE = 0, TRUE = 1}` over
    /// `int8` that h5py writes and reads as numpy `bool` (HDF5 has no boolean type). A
    /// non-zero byte is stored as `TRUE`.
    Bool(&'a [u8]),
    /// 64-bit unsigned integers (`<u8`), e.g. exact sums in cents.
    U64(&'a [u64]),
    /// A row-major matrix of 64-bit floats with `cols` columns (`data.len()` a multiple of
    /// `cols`), stored as a 2-D dataset of shape `(data.len() / cols, cols)`.
    F64Matrix { data: &'a [f64], cols: usize },
}

impl ColumnData<'_> {
    /// Number of values in the column.
    pub fn len(&self) -> usize {
        match self {
            Self::F64(d) => d.len(),
            Self::U32(d) => d.len(),
            Self::U8(d) | Self::Bool(d) => d.len(),
            Self::U64(d) => d.len(),
            Self::F64Matrix { data, .. } => data.len(),
        }
    }

    /// Whether the column has no values (a run with zero paths).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values `from..to` (value indexes; for a matrix, whole rows are the caller's
    /// business), of the same type.
    #[must_use]
    pub fn slice(&self, from: usize, to: usize) -> Self {
        match *self {
            Self::F64(d) => Self::F64(&d[from..to]),
            Self::U32(d) => Self::U32(&d[from..to]),
            Self::U8(d) => Self::U8(&d[from..to]),
            Self::Bool(d) => Self::Bool(&d[from..to]),
            Self::U64(d) => Self::U64(&d[from..to]),
            Self::F64Matrix { data, cols } => Self::F64Matrix {
                data: &data[from..to],
                cols,
            },
        }
    }
}

impl<'a> From<&'a [f64]> for ColumnData<'a> {
    fn from(value: &'a [f64]) -> Self {
        Self::F64(value)
    }
}

impl<'a> From<&'a [u32]> for ColumnData<'a> {
    fn from(value: &'a [u32]) -> Self {
        Self::U32(value)
    }
}

impl<'a> From<&'a [u8]> for ColumnData<'a> {
    fn from(value: &'a [u8]) -> Self {
        Self::U8(value)
    }
}

/// One dataset: its name inside the group, its unit and description (stored as string
/// attributes `unit` and `description`), its values, and how generic readers (xarray through
/// h5netcdf, netCDF-4) see it: the dimension scales of its dimensions, whether it is one
/// itself, and the value that means "missing".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column<'a> {
    /// Dataset name inside its group: non-empty, no `/`, not `.` or `..`, no NUL.
    pub name: &'a str,
    /// Physical unit, e.g. `"USD"` or `"1"` for dimensionless; may be empty.
    pub unit: &'a str,
    /// One-line human description.
    pub description: &'a str,
    /// The values.
    pub data: ColumnData<'a>,
    /// The dimension scale of each of the dataset's dimensions (one name per dimension): a
    /// column of the same group with [`Column::scale`] set. Empty: none attached. Ignored for
    /// a scale, which is the dimension of itself.
    pub dims: &'a [&'a str],
    /// Whether this dataset is a dimension scale named after itself (HDF5's `H5DSset_scale`;
    /// in netCDF terms the coordinate variable of the dimension of that name).
    pub scale: bool,
    /// The stored value that means "missing" (e.g. "never" for a step), written as the
    /// attribute `missing_value` of the dataset's own element type (the CF convention, which
    /// xarray decodes to NaN). Integer columns only.
    pub missing_value: Option<u64>,
}

impl<'a> Column<'a> {
    /// Builds a column from any slice type [`ColumnData`] accepts.
    pub fn new(
        name: &'a str,
        unit: &'a str,
        description: &'a str,
        data: impl Into<ColumnData<'a>>,
    ) -> Self {
        Self {
            name,
            unit,
            description,
            data: data.into(),
            dims: &[],
            scale: false,
            missing_value: None,
        }
    }

    /// The same column with its dimensions attached to the scales `dims` (one per dimension).
    #[must_use]
    pub fn with_dims(mut self, dims: &'a [&'a str]) -> Self {
        self.dims = dims;
        self
    }

    /// The same column as a dimension scale named after itself.
    #[must_use]
    pub fn as_scale(mut self) -> Self {
        self.scale = true;
        self
    }

    /// The same column with `value` as its documented "missing" value.
    #[must_use]
    pub fn with_missing_value(mut self, value: u64) -> Self {
        self.missing_value = Some(value);
        self
    }
}

/// A group at `path` (e.g. "paths" or "paths/by_asset/BTC"; intermediate groups are created)
/// with its attributes and 1-D datasets.
///
/// The path is relative to the root (a leading `/` is accepted); `""` or `"/"` designates the
/// root group itself. Several `Group`s may share intermediate groups, and a group created as an
/// intermediate may later be given its own attributes and columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group<'a> {
    /// Slash-separated path from the root.
    pub path: String,
    /// Attributes of the group, written in this order.
    pub attrs: Vec<(String, AttrValue)>,
    /// Datasets of the group, written in this order.
    pub columns: Vec<Column<'a>>,
}

impl Group<'_> {
    /// An empty group at `path`.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            attrs: Vec::new(),
            columns: Vec::new(),
        }
    }
}

/// Errors of this module. Every variant carries the path of the HDF5 file concerned (for a
/// write, the final path, not the temporary file).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum H5Error {
    /// The HDF5 encoder or reader reported an error; `message` is its description.
    #[error("{}: {context}: {message}", path.display())]
    Hdf5 {
        /// The HDF5 file.
        path: PathBuf,
        /// What this module was doing.
        context: String,
        /// HDF5's description of the failure.
        message: String,
    },
    /// A filesystem operation around the HDF5 file failed (stat, fsync, rename).
    #[error("{}: {context}: {cause}", path.display())]
    Io {
        /// The HDF5 file.
        path: PathBuf,
        /// What this module was doing.
        context: String,
        /// The underlying error, part of the message (not also a `source()`, so a printed
        /// chain names it once).
        cause: io::Error,
    },
    /// A path, name or value that cannot be stored as given.
    #[error("{}: invalid {what}: {reason}", path.display())]
    Invalid {
        /// The HDF5 file.
        path: PathBuf,
        /// Which name or value, e.g. `column name "a/b" in group "paths"`.
        what: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A requested group, dataset or attribute does not exist in the file.
    #[error("{}: {what} not found", path.display())]
    NotFound {
        /// The HDF5 file.
        path: PathBuf,
        /// What was looked for, e.g. `dataset "paths/loss"`.
        what: String,
    },
    /// The file is not a whole HDF5 file: not a regular file, no HDF5 signature, or shorter
    /// than its superblock says (truncated). One problem, said once.
    #[error("{}: {reason}", path.display())]
    NotHdf5 {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An object or attribute exists but has a type or shape the reader cannot return.
    #[error("{}: {what}: expected {expected}, found {found}", path.display())]
    WrongType {
        /// The HDF5 file.
        path: PathBuf,
        /// What was read, e.g. `attribute "seed" of "/"`.
        what: String,
        /// What the reader accepts.
        expected: String,
        /// What the file holds.
        found: String,
    },
}

impl H5Error {
    /// The HDF5 file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Hdf5 { path, .. }
            | Self::Io { path, .. }
            | Self::Invalid { path, .. }
            | Self::NotFound { path, .. }
            | Self::NotHdf5 { path, .. }
            | Self::WrongType { path, .. } => path,
        }
    }
}

fn io_err(path: &Path, context: impl Into<String>) -> impl FnOnce(io::Error) -> H5Error {
    let context = context.into();
    move |cause| H5Error::Io {
        path: path.to_path_buf(),
        context,
        cause,
    }
}

fn invalid(path: &Path, what: String, reason: &str) -> H5Error {
    H5Error::Invalid {
        path: path.to_path_buf(),
        what,
        reason: reason.to_owned(),
    }
}

/// `name` inside the group at `prefix` ("" for the root).
fn joined(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

mod conventions;
pub mod edit;
mod format;
mod layout;
mod meta;
mod read;
mod stream;
#[cfg(test)]
mod stream_tests;
mod write;

pub use meta::{ChunkPlan, ColumnMeta, DatasetId, Element};
pub use read::{
    Stored, check_container, list_attrs, list_datasets, list_groups, read_attr, read_attr_str,
    read_attr_u64, read_dataset, read_f64_column, read_f64_matrix, read_u64_column,
};
pub use stream::{ChunkReader, Compressed, StreamWriter, compress_chunk};
pub use write::write_h5_atomic;

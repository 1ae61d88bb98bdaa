//! The vocabulary the writer's modules share (`layout.rs`, `conventions.rs`, `stream.rs`):
//! a dataset's element type and metadata, its id and chunking, attributes as stored, global
//! heap objects, and the addresses the metadata points to once laid out.

use super::ColumnData;
use super::format::Dtype;

/// The element type of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// `<f8`.
    F64,
    /// `<u4`.
    U32,
    /// `<u8` (64-bit).
    U64,
    /// `u1`.
    U8,
    /// h5py's boolean enum over `int8`.
    Bool,
}

impl Element {
    /// The element type of `data`.
    pub fn of(data: &ColumnData<'_>) -> Self {
        match data {
            ColumnData::F64(_) | ColumnData::F64Matrix { .. } => Self::F64,
            ColumnData::U32(_) => Self::U32,
            ColumnData::U64(_) => Self::U64,
            ColumnData::U8(_) => Self::U8,
            ColumnData::Bool(_) => Self::Bool,
        }
    }

    pub(super) fn dtype(self) -> Dtype {
        match self {
            Self::F64 => Dtype::F64,
            Self::U32 => Dtype::Int {
                size: 4,
                signed: false,
            },
            Self::U64 => Dtype::Int {
                size: 8,
                signed: false,
            },
            Self::U8 => Dtype::Int {
                size: 1,
                signed: false,
            },
            Self::Bool => Dtype::Bool,
        }
    }
}

/// What a dataset is, without its values: see [`super::Column`], whose fields these are.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMeta {
    /// Dataset name inside its group.
    pub name: String,
    /// Physical unit (attribute `unit`).
    pub unit: String,
    /// One-line description (attribute `description`).
    pub description: String,
    /// The dimension scale of each dimension (sibling scale names); empty: none.
    pub dims: Vec<String>,
    /// Whether the dataset is a dimension scale named after itself.
    pub scale: bool,
    /// The value meaning "missing" (integer datasets only).
    pub missing_value: Option<u64>,
    /// The element type.
    pub element: Element,
    /// The shape: `[rows]` or `[rows, columns]`.
    pub shape: Vec<u64>,
}

impl ColumnMeta {
    /// The metadata of `column`.
    ///
    /// # Errors
    ///
    /// A matrix whose value count is not a multiple of a non-zero column count: the reason.
    pub fn of(column: &super::Column<'_>) -> Result<Self, &'static str> {
        let len = column.data.len() as u64;
        let shape = match column.data {
            ColumnData::F64Matrix { data, cols } => {
                if cols == 0 || data.len() % cols != 0 {
                    return Err("the value count must be a multiple of a non-zero column count");
                }
                vec![(data.len() / cols) as u64, cols as u64]
            }
            _ => vec![len],
        };
        Ok(Self {
            name: column.name.to_owned(),
            unit: column.unit.to_owned(),
            description: column.description.to_owned(),
            dims: column.dims.iter().map(|&d| d.to_owned()).collect(),
            scale: column.scale,
            missing_value: column.missing_value,
            element: Element::of(&column.data),
            shape,
        })
    }
}

/// A dataset declared in a [`super::StreamWriter`], in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasetId(pub(super) usize);

/// How a dataset is cut into chunks: every chunk holds `rows` rows (the last one fewer) of
/// `row_bytes` bytes each, values of `element` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Rows of a full chunk (0 for an empty, contiguous dataset).
    pub rows: u64,
    /// Bytes of one row.
    pub row_bytes: usize,
    /// Bytes of one value (the shuffle filter's parameter).
    pub element: usize,
    /// Rows of the dataset.
    pub total_rows: u64,
}

/// One attribute as stored: inline values, or a reference into the global heap or to
/// objects (indexes into [`Prepared::objects`] and [`Prepared::heap`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// Values stored in the attribute message.
    Inline {
        dtype: Dtype,
        shape: Option<Vec<u64>>,
        data: Vec<u8>,
    },
    /// A scalar variable-length string: this heap object.
    HeapStr(usize),
    /// `REFERENCE_LIST`: (referring dataset's object, dimension).
    ReferenceList(Vec<(usize, u32)>),
    /// `DIMENSION_LIST`: one heap object (a list of references) per dimension.
    DimensionList(Vec<usize>),
}

/// A named attribute as stored.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Attribute {
    pub name: String,
    pub kind: Kind,
}

impl Attribute {
    pub(super) fn inline(name: &str, dtype: Dtype, data: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            kind: Kind::Inline {
                dtype,
                shape: None,
                data,
            },
        }
    }
}

/// An object of the global heap.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum HeapObject {
    /// A string's bytes.
    Bytes(Vec<u8>),
    /// Object references (indexes into [`Prepared::objects`]).
    Refs(Vec<usize>),
}

impl HeapObject {
    /// Its size in the heap.
    pub(super) fn len_bytes(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Refs(r) => 8 * r.len(),
        }
    }

    /// Its bytes, references resolved through `addrs`.
    pub(super) fn bytes(&self, addrs: &Addresses) -> Vec<u8> {
        match self {
            Self::Bytes(b) => b.clone(),
            Self::Refs(r) => r
                .iter()
                .flat_map(|&o| addrs.objects[o].to_le_bytes())
                .collect(),
        }
    }
}

/// Addresses of everything the metadata points to.
#[derive(Debug, Default)]
pub(super) struct Addresses {
    /// Of each global heap collection.
    pub collections: Vec<u64>,
    /// Of each heap object: its collection and index in it.
    pub heap_ids: Vec<(usize, u32)>,
    /// Of each dataset's chunk index (`UNDEF` when contiguous).
    pub btrees: Vec<u64>,
    /// Of each object header, in [`Prepared::objects`]' order.
    pub objects: Vec<u64>,
}

impl Addresses {
    /// A heap ID: the collection's address and the object's index.
    pub(super) fn heap_id(&self, object: usize, out: &mut Vec<u8>) {
        let (collection, index) = self.heap_ids[object];
        out.extend_from_slice(&self.collections[collection].to_le_bytes());
        out.extend_from_slice(&index.to_le_bytes());
    }
}

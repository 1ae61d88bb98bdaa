//! The metadata of a file being written by `stream.rs`: its groups (created with their
//! parents, linked in creation order), its datasets (name, element type, shape, unit,
//! description, dimension scales, missing value) and attributes, with every check of names
//! and shapes; and, at the end, [`Layout::prepare`]: the object headers' contents in file
//! order (groups, then datasets) with the conventions' attributes (`conventions.rs`) and the
//! global heap's objects (strings, dimension lists).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::conventions;
use super::format::Dtype;
use super::meta::{Attribute, ChunkPlan, ColumnMeta, DatasetId, Element, HeapObject, Kind};
use super::{AttrValue, CHUNK_BYTES, H5Error, invalid, joined};

/// What a link points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    Group(usize),
    Dataset(usize),
}

#[derive(Debug, Default)]
struct GroupNode {
    /// Path from the root ("" for the root).
    path: String,
    links: Vec<(String, Child)>,
    attrs: Vec<(String, AttrValue)>,
}

#[derive(Debug)]
struct DatasetNode {
    group: usize,
    path: String,
    meta: ColumnMeta,
}

/// The metadata of a file being written; see the module documentation.
#[derive(Debug)]
pub(super) struct Layout {
    target: PathBuf,
    groups: Vec<GroupNode>,
    group_index: HashMap<String, usize>,
    datasets: Vec<DatasetNode>,
    dataset_index: HashMap<String, usize>,
}

/// An object header's contents.
#[derive(Debug)]
pub(super) enum Object {
    /// A group: its links (name, object index) and attributes.
    Group {
        links: Vec<(String, usize)>,
        attrs: Vec<Attribute>,
    },
    /// A dataset and its attributes.
    Dataset {
        id: DatasetId,
        attrs: Vec<Attribute>,
    },
}

impl Object {
    pub(super) fn attrs(&self) -> &[Attribute] {
        match self {
            Self::Group { attrs, .. } | Self::Dataset { attrs, .. } => attrs,
        }
    }
}

/// Every object header's contents (the root first) and the global heap's objects.
#[derive(Debug)]
pub(super) struct Prepared {
    pub objects: Vec<Object>,
    pub heap: Vec<HeapObject>,
}

/// Checks an attribute's name and string value (non-empty name, no NUL anywhere).
pub(super) fn check_attr(
    target: &Path,
    object: &str,
    name: &str,
    value: &AttrValue,
) -> Result<(), H5Error> {
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
    Ok(())
}

/// Checks a single link name (group component or dataset name).
pub(super) fn check_object_name(name: &str) -> Result<(), &'static str> {
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

/// Splits a group path into its components (empty for the root), validating each.
pub(super) fn group_components<'s>(
    target: &Path,
    group_path: &'s str,
) -> Result<Vec<&'s str>, H5Error> {
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

impl Layout {
    /// An empty file (the root group only) to be written at `target`.
    pub(super) fn new(target: &Path) -> Self {
        let mut layout = Self {
            target: target.to_path_buf(),
            groups: vec![GroupNode::default()],
            group_index: HashMap::new(),
            datasets: Vec::new(),
            dataset_index: HashMap::new(),
        };
        layout.group_index.insert(String::new(), 0);
        layout
    }

    fn hdf5_err(&self, context: String, message: &str) -> H5Error {
        H5Error::Hdf5 {
            path: self.target.clone(),
            context,
            message: message.to_owned(),
        }
    }

    /// The group at `path`, created with its parents if needed.
    pub(super) fn ensure_group(&mut self, path: &str) -> Result<usize, H5Error> {
        let components = group_components(&self.target, path)?;
        let mut parent = 0;
        let mut so_far = String::new();
        for c in components {
            so_far = joined(&so_far, c);
            if self.dataset_index.contains_key(&so_far) {
                return Err(self.hdf5_err(
                    format!("create group {:?}", path.trim_matches('/')),
                    &format!("{so_far:?} is a dataset"),
                ));
            }
            parent = match self.group_index.get(&so_far) {
                Some(&g) => g,
                None => {
                    let g = self.groups.len();
                    self.groups.push(GroupNode {
                        path: so_far.clone(),
                        ..GroupNode::default()
                    });
                    self.group_index.insert(so_far.clone(), g);
                    self.groups[parent]
                        .links
                        .push((c.to_owned(), Child::Group(g)));
                    g
                }
            };
        }
        Ok(parent)
    }

    /// Adds `attrs` to the group at `path` (created if needed), after any it has.
    pub(super) fn add_attrs(
        &mut self,
        path: &str,
        attrs: &[(String, AttrValue)],
    ) -> Result<(), H5Error> {
        let g = self.ensure_group(path)?;
        let shown = if self.groups[g].path.is_empty() {
            "/".to_owned()
        } else {
            self.groups[g].path.clone()
        };
        for (name, value) in attrs {
            check_attr(&self.target, &shown, name, value)?;
            if self.groups[g].attrs.iter().any(|(n, _)| n == name) {
                return Err(self.hdf5_err(
                    format!("write attribute {name:?} of {shown:?}"),
                    "an attribute of that name is already on the object",
                ));
            }
            self.groups[g].attrs.push((name.clone(), value.clone()));
        }
        Ok(())
    }

    /// Declares the dataset `meta` in the group at `group`.
    pub(super) fn declare(&mut self, group: &str, meta: ColumnMeta) -> Result<DatasetId, H5Error> {
        let g = self.ensure_group(group)?;
        let prefix = self.groups[g].path.clone();
        let shown_group = if prefix.is_empty() { "/" } else { &prefix };
        check_object_name(&meta.name).map_err(|reason| {
            invalid(
                &self.target,
                format!("column name {:?} in group {shown_group:?}", meta.name),
                reason,
            )
        })?;
        let path = joined(&prefix, &meta.name);
        if self.dataset_index.contains_key(&path) || self.group_index.contains_key(&path) {
            return Err(self.hdf5_err(
                format!("write dataset {path:?}"),
                "a dataset of that name is already in the group",
            ));
        }
        if meta.shape.is_empty() || meta.shape.len() > 2 {
            return Err(invalid(
                &self.target,
                format!("shape of {path:?}"),
                "datasets are 1-D or 2-D",
            ));
        }
        for (name, text) in [("unit", &meta.unit), ("description", &meta.description)] {
            check_attr(&self.target, &path, name, &AttrValue::Str(text.clone()))?;
        }
        conventions::missing_value(&self.target, &path, &meta)?;
        let id = self.datasets.len();
        self.groups[g]
            .links
            .push((meta.name.clone(), Child::Dataset(id)));
        self.dataset_index.insert(path.clone(), id);
        self.datasets.push(DatasetNode {
            group: g,
            path,
            meta,
        });
        Ok(DatasetId(id))
    }

    pub(super) fn datasets(&self) -> impl Iterator<Item = DatasetId> + '_ {
        (0..self.datasets.len()).map(DatasetId)
    }

    pub(super) fn dataset_path(&self, id: DatasetId) -> &str {
        &self.datasets[id.0].path
    }

    pub(super) fn element(&self, id: DatasetId) -> Element {
        self.datasets[id.0].meta.element
    }

    pub(super) fn shape(&self, id: DatasetId) -> Vec<u64> {
        self.datasets[id.0].meta.shape.clone()
    }

    /// Rows per chunk: whole rows, at most [`CHUNK_BYTES`], never more than the dataset
    /// holds (0 for an empty dataset, which is contiguous).
    pub(super) fn chunk_plan(&self, id: DatasetId) -> ChunkPlan {
        let shape = &self.datasets[id.0].meta.shape;
        let element = self.element(id).dtype().size() as usize;
        let row_bytes = shape[1..].iter().product::<u64>() as usize * element;
        let rows = if shape.iter().all(|&d| d > 0) {
            (CHUNK_BYTES as u64 / row_bytes as u64).clamp(1, shape[0])
        } else {
            0
        };
        ChunkPlan {
            rows,
            row_bytes,
            element,
            total_rows: if row_bytes == 0 { 0 } else { shape[0] },
        }
    }

    /// The chunk's shape (rows first).
    pub(super) fn chunk_shape(&self, id: DatasetId) -> Vec<u64> {
        let mut chunk = self.shape(id);
        chunk[0] = self.chunk_plan(id).rows;
        chunk
    }

    /// Every object header's contents, with the conventions' attributes; checks the
    /// dimension scales.
    pub(super) fn prepare(&self) -> Result<Prepared, H5Error> {
        let groups = self.groups.len();
        let object_of = |child: Child| match child {
            Child::Group(g) => g,
            Child::Dataset(d) => groups + d,
        };
        let mut heap = Vec::new();
        let string = |heap: &mut Vec<HeapObject>, name: &str, s: &str| {
            heap.push(HeapObject::Bytes(s.as_bytes().to_vec()));
            Attribute {
                name: name.to_owned(),
                kind: Kind::HeapStr(heap.len() - 1),
            }
        };
        let mut objects = Vec::with_capacity(groups + self.datasets.len());
        for group in &self.groups {
            let links = group
                .links
                .iter()
                .map(|(n, c)| (n.clone(), object_of(*c)))
                .collect();
            let attrs = group
                .attrs
                .iter()
                .map(|(name, value)| match value {
                    AttrValue::Str(s) => string(&mut heap, name, s),
                    other => plain(name, other),
                })
                .collect();
            objects.push(Object::Group { links, attrs });
        }
        for (d, node) in self.datasets.iter().enumerate() {
            let meta = &node.meta;
            let prefix = &self.groups[node.group].path;
            let siblings: Vec<(usize, &ColumnMeta)> = self.groups[node.group]
                .links
                .iter()
                .filter_map(|(_, c)| match c {
                    Child::Dataset(s) => Some((groups + s, &self.datasets[*s].meta)),
                    Child::Group(_) => None,
                })
                .collect();
            let mut attrs = Vec::new();
            if meta.scale {
                attrs.extend(conventions::scale_attributes(
                    &self.target,
                    prefix,
                    meta,
                    &siblings,
                )?);
            }
            attrs.push(string(&mut heap, "unit", &meta.unit));
            attrs.push(string(&mut heap, "description", &meta.description));
            if !meta.scale && !meta.dims.is_empty() {
                let scales = conventions::dimension_scales(&self.target, prefix, meta, &siblings)?;
                let lists = scales
                    .into_iter()
                    .map(|s| {
                        heap.push(HeapObject::Refs(vec![s]));
                        heap.len() - 1
                    })
                    .collect();
                attrs.push(Attribute {
                    name: "DIMENSION_LIST".to_owned(),
                    kind: Kind::DimensionList(lists),
                });
            }
            if let Some(attr) = conventions::missing_value(&self.target, &node.path, meta)? {
                attrs.push(attr);
            }
            objects.push(Object::Dataset {
                id: DatasetId(d),
                attrs,
            });
        }
        Ok(Prepared { objects, heap })
    }
}

/// A numeric attribute stored inline.
fn plain(name: &str, value: &AttrValue) -> Attribute {
    let int = |size, signed| Dtype::Int { size, signed };
    let (dtype, shape, data) = match value {
        AttrValue::U64(v) => (int(8, false), None, v.to_le_bytes().to_vec()),
        AttrValue::I64(v) => (int(8, true), None, v.to_le_bytes().to_vec()),
        AttrValue::F64(v) => (Dtype::F64, None, v.to_le_bytes().to_vec()),
        AttrValue::F64s(v) => (
            Dtype::F64,
            Some(vec![v.len() as u64]),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        AttrValue::Str(_) => unreachable!("strings go to the global heap"),
    };
    Attribute {
        name: name.to_owned(),
        kind: Kind::Inline { dtype, shape, data },
    }
}

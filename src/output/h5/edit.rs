//! Crafting bad result files, for the tests and fuzz targets of the readers: a whole file read
//! back through this module's readers into a [`Model`], changed, and written again with
//! `hdf5-writer` directly (contiguous datasets, so a boolean can hold any byte, as a crafted
//! file could). Dimension-scale attributes are not carried over. Not used by the program.

use std::path::Path;

use super::{
    AttrValue, H5Error, Stored, list_attrs, list_datasets, list_groups, read_attr, read_dataset,
};
use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};

use super::conventions::bool_type;

/// One attribute as `hdf5-writer` takes it (a string as a 1-element array).
fn attribute(name: &str, value: &AttrValue) -> hdf5_writer::Result<hdf5_writer::AttributeBuilder> {
    use hdf5_writer::AttributeBuilder;
    match value {
        AttrValue::Str(s) => AttributeBuilder::vlen_strings(name, &[s]),
        AttrValue::U64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::I64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::F64(v) => AttributeBuilder::scalar(name, *v),
        AttrValue::F64s(v) => AttributeBuilder::vector(name, v),
    }
}

/// One dataset of a file: full path (no leading `/`), values, shape, attributes.
pub struct Dataset {
    pub path: String,
    pub values: Stored,
    pub shape: Vec<usize>,
    pub attrs: Vec<(String, AttrValue)>,
}

/// A whole file: attributes per object path (`""` for the root) and datasets.
#[derive(Default)]
pub struct Model {
    pub attrs: Vec<(String, Vec<(String, AttrValue)>)>,
    pub datasets: Vec<Dataset>,
}

impl Model {
    /// The root's attributes.
    pub fn root_attrs(&mut self) -> &mut Vec<(String, AttrValue)> {
        if !self.attrs.iter().any(|(p, _)| p.is_empty()) {
            self.attrs.push((String::new(), Vec::new()));
        }
        &mut self.attrs.iter_mut().find(|(p, _)| p.is_empty()).unwrap().1
    }

    /// Removes the dataset at `path`; whether it was there.
    pub fn remove(&mut self, path: &str) -> bool {
        let before = self.datasets.len();
        self.datasets.retain(|d| d.path != path);
        before != self.datasets.len()
    }

    /// Sets (or, with `None`, deletes) the root attribute `name`.
    pub fn set_root_attr(&mut self, name: &str, value: Option<AttrValue>) {
        let attrs = self.root_attrs();
        attrs.retain(|(n, _)| n != name);
        if let Some(v) = value {
            attrs.push((name.to_owned(), v));
        }
    }
}

fn readable_attrs(file: &Path, object: &str) -> Result<Vec<(String, AttrValue)>, H5Error> {
    Ok(list_attrs(file, object)?
        .into_iter()
        .filter_map(|n| read_attr(file, object, &n).ok().map(|v| (n, v)))
        .collect())
}

/// Reads every group, dataset and (readable) attribute of `file`.
///
/// # Errors
///
/// The first error of the readers.
pub fn load(file: &Path) -> Result<Model, H5Error> {
    let mut model = Model::default();
    let mut stack = vec![String::new()];
    while let Some(group) = stack.pop() {
        let shown = if group.is_empty() { "/" } else { &group };
        model
            .attrs
            .push((group.clone(), readable_attrs(file, shown)?));
        let join = |n: &str| {
            if group.is_empty() {
                n.to_owned()
            } else {
                format!("{group}/{n}")
            }
        };
        for d in list_datasets(file, shown)? {
            let path = join(&d);
            let (values, shape) = read_dataset(file, &path, usize::MAX)?;
            let attrs = readable_attrs(file, &path)?;
            model.datasets.push(Dataset {
                path,
                values,
                shape,
                attrs,
            });
        }
        stack.extend(list_groups(file, shown)?.iter().map(|g| join(g)));
    }
    Ok(model)
}

/// Writes `model` to `file` (contiguous datasets; string attributes as 1-element arrays,
/// which the readers take too).
///
/// # Errors
///
/// What the encoder refuses (e.g. a shape that does not match the values), or the write.
pub fn save(file: &Path, model: &Model) -> Result<(), String> {
    let mut b = Hdf5Builder::new();
    let e = |e: hdf5_writer::Error| e.to_string();
    for (object, attrs) in &model.attrs {
        for (n, v) in attrs {
            b = if object.is_empty() {
                b.attribute(attribute(n, v).map_err(e)?)
            } else {
                b.group_attribute(object.clone(), attribute(n, v).map_err(e)?)
            };
        }
    }
    for d in &model.datasets {
        let shape: Vec<u64> = d.shape.iter().map(|&n| n as u64).collect();
        let mut ds = match &d.values {
            Stored::F64(v) => DatasetBuilder::typed_data(&d.path, shape, v),
            Stored::U32(v) => DatasetBuilder::typed_data(&d.path, shape, v),
            Stored::U8(v) => DatasetBuilder::typed_data(&d.path, shape, v),
            Stored::U64(v) => DatasetBuilder::typed_data(&d.path, shape, v),
            Stored::Bool(v) => {
                Ok(DatasetBuilder::new(&d.path, bool_type(), shape).raw_data(v.clone()))
            }
        }
        .map_err(e)?;
        for (n, v) in &d.attrs {
            ds = ds.attribute(attribute(n, v).map_err(e)?);
        }
        b = b.dataset(ds);
    }
    let bytes = b
        .into_plan()
        .and_then(|p| p.encode(WriteOptions::default()))
        .map_err(e)?;
    std::fs::write(file, bytes).map_err(|e| e.to_string())
}

/// Reads `file`, lets `edit` change it, writes it back.
///
/// # Errors
///
/// As [`load`] and [`save`], as text.
pub fn rewrite(file: &Path, edit: impl FnOnce(&mut Model)) -> Result<(), String> {
    let mut model = load(file).map_err(|e| e.to_string())?;
    edit(&mut model);
    save(file, &model)
}

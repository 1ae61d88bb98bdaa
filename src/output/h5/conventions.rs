//! What generic readers (h5py, xarray through h5netcdf, netCDF-4) need beyond plain datasets:
//! the boolean type h5py uses (written by `format::Dtype::Bool`; [`bool_type`] is the same
//! type for `edit.rs`), dimension scales (the attributes of HDF5's `H5DS` API, the netCDF-4
//! convention for named dimensions) and the CF `missing_value` attribute.

use std::path::Path;

use hdf5_writer::{ByteOrder, Datatype, EnumMember};

use super::format::Dtype;
use super::meta::{Attribute, ColumnMeta, Element, Kind};
use super::{H5Error, invalid, joined};

/// The HDF5 enum `{FALSE = 0, TRUE = 1}` over `int8`: what h5py writes for numpy `bool` and
/// reads back as `bool` (HDF5 has no boolean type).
pub(super) fn bool_type() -> Datatype {
    Datatype::Enum {
        base: Box::new(Datatype::FixedPoint {
            size: 1,
            signed: true,
            byte_order: ByteOrder::LittleEndian,
        }),
        members: vec![
            EnumMember {
                name: "FALSE".to_owned(),
                value: vec![0],
            },
            EnumMember {
                name: "TRUE".to_owned(),
                value: vec![1],
            },
        ],
    }
}

/// Whether `t` is h5py's boolean: an enum over a one-byte integer with exactly the members
/// `FALSE = 0` and `TRUE = 1`.
pub(super) fn is_bool(t: &hdf5_reader::Datatype) -> bool {
    let hdf5_reader::Datatype::Enum { base, members } = t else {
        return false;
    };
    let one_byte = matches!(**base, hdf5_reader::Datatype::FixedPoint { size: 1, .. });
    let named = |m: &hdf5_reader::EnumMember, n: &str, v: u8| m.name == n && m.value == [v];
    one_byte && members.len() == 2 && {
        let (a, b) = (&members[0], &members[1]);
        (named(a, "FALSE", 0) && named(b, "TRUE", 1))
            || (named(a, "TRUE", 1) && named(b, "FALSE", 0))
    }
}

/// The attributes that make `column` the dimension scale named after itself (`H5DSset_scale`:
/// `CLASS`, `NAME`) and list the datasets attached to it (`REFERENCE_LIST`: every sibling
/// naming it in its `dims`, with the dimension's index), as libhdf5's `H5DSattach_scale`
/// leaves them. `siblings` are the datasets of the column's group with their object indexes.
pub(super) fn scale_attributes(
    target: &Path,
    prefix: &str,
    column: &ColumnMeta,
    siblings: &[(usize, &ColumnMeta)],
) -> Result<Vec<Attribute>, H5Error> {
    if column.shape.len() != 1 {
        return Err(invalid(
            target,
            format!("scale {:?}", joined(prefix, &column.name)),
            "a dimension scale must be 1-D",
        ));
    }
    let fixed = |name: &str, text: &str| {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Attribute::inline(name, Dtype::FixedAscii { size }, data)
    };
    let mut attrs = vec![
        fixed("CLASS", "DIMENSION_SCALE"),
        fixed("NAME", &column.name),
    ];
    let references: Vec<(usize, u32)> = siblings
        .iter()
        .filter(|(_, c)| !c.scale)
        .flat_map(|&(object, c)| {
            c.dims
                .iter()
                .enumerate()
                .filter(|(_, d)| **d == column.name)
                .map(move |(i, _)| (object, u32::try_from(i).unwrap_or(u32::MAX)))
        })
        .collect();
    if !references.is_empty() {
        attrs.push(Attribute {
            name: "REFERENCE_LIST".to_owned(),
            kind: Kind::ReferenceList(references),
        });
    }
    Ok(attrs)
}

/// The object index of the scale of each dimension of a column with `dims` (its
/// `DIMENSION_LIST`). A scale must be a column of the same group marked as a scale, 1-D, as
/// long as the dimension.
pub(super) fn dimension_scales(
    target: &Path,
    prefix: &str,
    column: &ColumnMeta,
    siblings: &[(usize, &ColumnMeta)],
) -> Result<Vec<usize>, H5Error> {
    let shown = format!(
        "{}/{}",
        if prefix.is_empty() { "/" } else { prefix },
        column.name
    );
    if column.dims.len() != column.shape.len() {
        return Err(invalid(
            target,
            format!("dimensions of {shown:?}"),
            "one scale per dimension is needed",
        ));
    }
    let mut scales = Vec::with_capacity(column.shape.len());
    for (idx, (dim, &len)) in column.dims.iter().zip(&column.shape).enumerate() {
        let found = siblings
            .iter()
            .find(|(_, c)| c.name == *dim && c.scale && c.shape == [len]);
        let Some(&(object, _)) = found else {
            return Err(invalid(
                target,
                format!("dimension {idx} of {shown:?}"),
                "its scale must be a 1-D scale column of the same group, as long as the dimension",
            ));
        };
        scales.push(object);
    }
    Ok(scales)
}

/// `column.missing_value`, when it has one, as the scalar attribute `missing_value` of the
/// dataset's element type.
pub(super) fn missing_value(
    target: &Path,
    shown: &str,
    column: &ColumnMeta,
) -> Result<Option<Attribute>, H5Error> {
    let Some(value) = column.missing_value else {
        return Ok(None);
    };
    let what = format!("attribute \"missing_value\" of {shown:?}");
    let out_of_range = || {
        invalid(
            target,
            what.clone(),
            "the value does not fit the column's type",
        )
    };
    let data = match column.element {
        Element::U32 => u32::try_from(value)
            .map_err(|_| out_of_range())?
            .to_le_bytes()
            .to_vec(),
        Element::U8 => vec![u8::try_from(value).map_err(|_| out_of_range())?],
        Element::U64 => value.to_le_bytes().to_vec(),
        _ => {
            return Err(invalid(
                target,
                what,
                "only integer columns have a missing value",
            ));
        }
    };
    Ok(Some(Attribute::inline(
        "missing_value",
        column.element.dtype(),
        data,
    )))
}

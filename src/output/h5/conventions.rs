//! What generic readers (h5py, xarray through h5netcdf, netCDF-4) need beyond plain datasets:
//! the boolean type h5py uses, dimension scales (HDF5's high-level `H5DS` API, the netCDF-4
//! convention for named dimensions) and the CF `missing_value` attribute.

use std::ffi::{CString, c_char, c_uint};
use std::path::Path;

use hdf5::H5Type;
use hdf5::types::TypeDescriptor;
use hdf5_sys::h5::herr_t;
use hdf5_sys::h5i::hid_t;

use super::{Column, ColumnData, H5Error, hdf5_err, invalid};

/// One boolean as stored: the HDF5 enum `{FALSE = 0, TRUE = 1}` over `int8` (what h5py
/// writes for numpy `bool` and reads back as `bool`), held as its raw byte so that a crafted
/// file's other byte values can be read and refused rather than becoming an invalid `bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(super) struct Flag(pub(super) u8);

// SAFETY: `Flag` is one byte (`repr(transparent)` over `u8`), the size of the enum's `int8`
// base type; HDF5 copies the byte as it is between this type and a file of the same type.
unsafe impl H5Type for Flag {
    fn type_descriptor() -> TypeDescriptor {
        TypeDescriptor::Boolean
    }
}

// The high-level library (`libhdf5_hl`, linked through `hdf5-sys`'s `hl` feature).
unsafe extern "C" {
    fn H5DSset_scale(dsid: hid_t, dimname: *const c_char) -> herr_t;
    fn H5DSattach_scale(did: hid_t, dsid: hid_t, idx: c_uint) -> herr_t;
}

/// Marks `ds` as a dimension scale named `name` (attributes `CLASS` and `NAME`).
pub(super) fn set_scale(ds: &hdf5::Dataset, name: &str) -> hdf5::Result<()> {
    let name = CString::new(name).map_err(|e| hdf5::Error::from(e.to_string()))?;
    // SAFETY: `ds` is an open dataset and `name` a NUL-terminated string that outlives the
    // call; the call holds the crate's HDF5 lock.
    let status = hdf5::sync::sync(|| unsafe { H5DSset_scale(ds.id(), name.as_ptr()) });
    if status < 0 {
        return Err(hdf5::Error::from("H5DSset_scale failed"));
    }
    Ok(())
}

/// Attaches the scales named by each column's `dims` (columns of the same group, already
/// written) to that column's dimensions, in column order, then dimension order; a scale's
/// own `dims` are ignored. A scale must
/// be a column of the group marked [`Column::scale`], 1-D, as long as the dimension.
pub(super) fn attach_scales(
    target: &Path,
    group_path: &str,
    group: &hdf5::Group,
    columns: &[Column<'_>],
) -> Result<(), H5Error> {
    // A scale is the dimension of itself (netCDF's coordinate variable): HDF5 attaches no
    // scale to a scale.
    for column in columns.iter().filter(|c| !c.dims.is_empty() && !c.scale) {
        let shown = format!("{group_path}/{}", column.name);
        let ds = group
            .dataset(column.name)
            .map_err(hdf5_err(target, format!("open dataset {shown:?}")))?;
        let shape = ds.shape();
        if column.dims.len() != shape.len() {
            return Err(invalid(
                target,
                format!("dimensions of {shown:?}"),
                "one scale per dimension is needed",
            ));
        }
        for (idx, (&dim, &len)) in column.dims.iter().zip(&shape).enumerate() {
            let fits = columns
                .iter()
                .any(|c| c.name == dim && c.scale && !matches_matrix(c) && c.data.len() == len);
            if !fits {
                return Err(invalid(
                    target,
                    format!("dimension {idx} of {shown:?}"),
                    "its scale must be a 1-D scale column of the same group, as long as the dimension",
                ));
            }
            let scale = group
                .dataset(dim)
                .map_err(hdf5_err(target, format!("open scale {dim:?}")))?;
            let idx = c_uint::try_from(idx).unwrap_or(c_uint::MAX);
            // SAFETY: both are open datasets of the same file; the call holds the crate's
            // HDF5 lock.
            let status = hdf5::sync::sync(|| unsafe { H5DSattach_scale(ds.id(), scale.id(), idx) });
            if status < 0 {
                return Err(hdf5_err(
                    target,
                    format!("attach scale {dim:?} to {shown:?}"),
                )(hdf5::Error::from(
                    "H5DSattach_scale failed",
                )));
            }
        }
    }
    Ok(())
}

fn matches_matrix(c: &Column<'_>) -> bool {
    matches!(c.data, ColumnData::F64Matrix { .. })
}

/// Writes `column.missing_value`, when it has one, as the scalar attribute `missing_value`
/// of the dataset's element type.
pub(super) fn write_missing_value(
    target: &Path,
    shown: &str,
    ds: &hdf5::Dataset,
    column: &Column<'_>,
) -> Result<(), H5Error> {
    let Some(value) = column.missing_value else {
        return Ok(());
    };
    let what = format!("attribute \"missing_value\" of {shown:?}");
    let out_of_range = || {
        invalid(
            target,
            what.clone(),
            "the value does not fit the column's type",
        )
    };
    let written = match column.data {
        ColumnData::U32(_) => scalar(ds, u32::try_from(value).map_err(|_| out_of_range())?),
        ColumnData::U8(_) => scalar(ds, u8::try_from(value).map_err(|_| out_of_range())?),
        ColumnData::U64(_) => scalar(ds, value),
        _ => {
            return Err(invalid(
                target,
                what,
                "only integer columns have a missing value",
            ));
        }
    };
    written.map_err(hdf5_err(target, format!("write {what}")))
}

fn scalar<T: H5Type>(ds: &hdf5::Dataset, value: T) -> hdf5::Result<()> {
    ds.new_attr::<T>()
        .shape(())
        .create("missing_value")?
        .write_scalar(&value)
}

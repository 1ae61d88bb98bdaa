//! What generic readers (h5py, xarray through h5netcdf, netCDF-4) need beyond plain datasets:
//! the boolean type h5py uses, dimension scales (the attributes of HDF5's `H5DS` API, the
//! netCDF-4 convention for named dimensions), the CF `missing_value` attribute, and scalar
//! string attributes (h5py returns them as `str`), which `hdf5-writer` 0.12.1 can only write
//! as 1-element arrays: [`scalar_strings`] rewrites them in the encoded file.

use std::collections::HashSet;
use std::path::Path;

use hdf5_writer::{AttributeBuilder, ByteOrder, Datatype, EnumMember, jenkins_lookup3};

use super::{Column, ColumnData, H5Error, invalid, joined};

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
/// leaves them.
pub(super) fn scale_attributes(
    target: &Path,
    prefix: &str,
    column: &Column<'_>,
    siblings: &[Column<'_>],
) -> Result<Vec<AttributeBuilder>, H5Error> {
    if matches!(column.data, ColumnData::F64Matrix { .. }) {
        return Err(invalid(
            target,
            format!("scale {:?}", joined(prefix, column.name)),
            "a dimension scale must be 1-D",
        ));
    }
    let mut attrs = vec![
        AttributeBuilder::fixed_string("CLASS", "DIMENSION_SCALE"),
        AttributeBuilder::fixed_string("NAME", column.name),
    ];
    let references: Vec<(String, u32)> = siblings
        .iter()
        .filter(|c| !c.scale)
        .flat_map(|c| {
            c.dims
                .iter()
                .enumerate()
                .filter(|(_, d)| **d == column.name)
                .map(|(i, _)| (joined(prefix, c.name), u32::try_from(i).unwrap_or(u32::MAX)))
        })
        .collect();
    if !references.is_empty() {
        attrs.push(AttributeBuilder::object_reference_list(
            "REFERENCE_LIST",
            references,
        ));
    }
    Ok(attrs)
}

/// The `DIMENSION_LIST` attribute of a column with `dims`: one reference per dimension to the
/// scale of that name. A scale must be a column of the same group marked [`Column::scale`],
/// 1-D, as long as the dimension.
pub(super) fn dimension_list(
    target: &Path,
    prefix: &str,
    column: &Column<'_>,
    shape: &[u64],
    siblings: &[Column<'_>],
) -> Result<AttributeBuilder, H5Error> {
    let shown = format!(
        "{}/{}",
        if prefix.is_empty() { "/" } else { prefix },
        column.name
    );
    if column.dims.len() != shape.len() {
        return Err(invalid(
            target,
            format!("dimensions of {shown:?}"),
            "one scale per dimension is needed",
        ));
    }
    let mut targets = Vec::with_capacity(shape.len());
    for (idx, (&dim, &len)) in column.dims.iter().zip(shape).enumerate() {
        let fits = siblings.iter().any(|c| {
            c.name == dim
                && c.scale
                && !matches!(c.data, ColumnData::F64Matrix { .. })
                && c.data.len() as u64 == len
        });
        if !fits {
            return Err(invalid(
                target,
                format!("dimension {idx} of {shown:?}"),
                "its scale must be a 1-D scale column of the same group, as long as the dimension",
            ));
        }
        targets.push(vec![joined(prefix, dim)]);
    }
    Ok(AttributeBuilder::vlen_object_references(
        "DIMENSION_LIST",
        targets,
    ))
}

/// `column.missing_value`, when it has one, as the scalar attribute `missing_value` of the
/// dataset's element type.
pub(super) fn missing_value(
    target: &Path,
    shown: &str,
    column: &Column<'_>,
) -> Result<Option<AttributeBuilder>, H5Error> {
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
    let name = "missing_value";
    let attr = match column.data {
        ColumnData::U32(_) => {
            AttributeBuilder::scalar(name, u32::try_from(value).map_err(|_| out_of_range())?)
        }
        ColumnData::U8(_) => {
            AttributeBuilder::scalar(name, u8::try_from(value).map_err(|_| out_of_range())?)
        }
        ColumnData::U64(_) => AttributeBuilder::scalar(name, value),
        _ => {
            return Err(invalid(
                target,
                what,
                "only integer columns have a missing value",
            ));
        }
    };
    attr.map(Some).map_err(|e| H5Error::Hdf5 {
        path: target.to_path_buf(),
        context: format!("write {what}"),
        message: e.to_string(),
    })
}

/// HDF5's message types this module reads in an object header.
const MSG_NIL: u8 = 0x00;
const MSG_LINK: u8 = 0x06;
const MSG_ATTRIBUTE: u8 = 0x0c;

/// Makes every variable-length string attribute of 1 element in a file encoded by
/// `hdf5-writer` 0.12.1 scalar, in place: the attribute's dataspace `{2, rank 1, 0, simple,
/// dim 1}` (12 bytes) becomes `{2, rank 0, 0, scalar}` (4 bytes) and the 8 bytes freed become
/// a NIL message right after it (a 4-byte message header and 4 bytes), so that no address in
/// the file moves, and its character set becomes UTF-8; the object header's checksum is then
/// recomputed. The heap reference after
/// the dataspace is the same for one element or a scalar.
///
/// Only the layout that writer emits is handled (superblock v2, version-2 object headers
/// without optional fields, hard links, version-3 attribute messages); anything else is an
/// error, never a silent skip.
pub(super) fn scalar_strings(file: &mut [u8]) -> Result<(), String> {
    let root = read_u64(file, 36).ok_or("the superblock is cut short")?;
    if file.get(..9) != Some(b"\x89HDF\r\n\x1a\n\x02".as_slice()) {
        return Err("not a version-2 superblock".to_owned());
    }
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    while let Some(address) = stack.pop() {
        if seen.insert(address) {
            stack.extend(rewrite_header(file, address)?);
        }
    }
    Ok(())
}

fn read_u64(file: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(file.get(at..at + 8)?.try_into().ok()?))
}

/// Rewrites the string attributes of the object header at `address`; returns the addresses
/// its hard links point to.
fn rewrite_header(file: &mut [u8], address: u64) -> Result<Vec<u64>, String> {
    let at = usize::try_from(address).map_err(|e| e.to_string())?;
    let bad = |what: &str| format!("object header at {address}: {what}");
    let head = file.get(at..at + 6).ok_or_else(|| bad("cut short"))?;
    if &head[..5] != b"OHDR\x02" || head[5] & !0x03 != 0 {
        return Err(bad("not a version-2 header without optional fields"));
    }
    let width = 1usize << (head[5] & 0x03);
    let mut size_bytes = [0u8; 8];
    size_bytes[..width].copy_from_slice(
        file.get(at + 6..at + 6 + width)
            .ok_or_else(|| bad("cut short"))?,
    );
    let size = usize::try_from(u64::from_le_bytes(size_bytes)).map_err(|e| e.to_string())?;
    let start = at + 6 + width;
    let end = start + size;
    if file.len() < end + 4 {
        return Err(bad("cut short"));
    }
    let old = file[start..end].to_vec();
    let mut new = Vec::with_capacity(size);
    let mut links = Vec::new();
    let mut i = 0;
    while i + 4 <= old.len() {
        let (kind, len, flags) = (
            old[i],
            usize::from(u16::from_le_bytes([old[i + 1], old[i + 2]])),
            old[i + 3],
        );
        let payload = old
            .get(i + 4..i + 4 + len)
            .ok_or_else(|| bad("a message overruns it"))?;
        i += 4 + len;
        if kind == MSG_LINK {
            links.push(link_address(payload).ok_or_else(|| bad("a link it cannot read"))?);
        }
        match (kind == MSG_ATTRIBUTE)
            .then(|| scalar_string(payload))
            .flatten()
        {
            Some(shorter) => {
                new.push(kind);
                new.extend_from_slice(
                    &u16::try_from(shorter.len())
                        .map_err(|e| e.to_string())?
                        .to_le_bytes(),
                );
                new.push(flags);
                new.extend_from_slice(&shorter);
                new.extend_from_slice(&[MSG_NIL, 4, 0, 0, 0, 0, 0, 0]);
            }
            None => new.extend_from_slice(&old[i - 4 - len..i]),
        }
    }
    new.extend_from_slice(&old[i..]);
    debug_assert_eq!(new.len(), old.len());
    file[start..end].copy_from_slice(&new);
    let checksum = jenkins_lookup3(&file[at..end]);
    file[end..end + 4].copy_from_slice(&checksum.to_le_bytes());
    Ok(links)
}

/// The address of a hard link message (version 1, as `hdf5-writer` encodes it).
fn link_address(payload: &[u8]) -> Option<u64> {
    let (&version, rest) = payload.split_first()?;
    let (&flags, mut rest) = rest.split_first()?;
    if version != 1 {
        return None;
    }
    if flags & 0x08 != 0 {
        let (&link_type, r) = rest.split_first()?;
        if link_type != 0 {
            return None;
        }
        rest = r;
    }
    if flags & 0x04 != 0 {
        rest = rest.get(8..)?;
    }
    if flags & 0x10 != 0 {
        rest = rest.get(1..)?;
    }
    let width = 1usize << (flags & 0x03);
    let mut len = [0u8; 8];
    len[..width].copy_from_slice(rest.get(..width)?);
    let name_len = usize::try_from(u64::from_le_bytes(len)).ok()?;
    let address = rest.get(width + name_len..width + name_len + 8)?;
    Some(u64::from_le_bytes(address.try_into().ok()?))
}

/// The attribute message `payload` with a scalar dataspace, if it is a version-3 message of a
/// variable-length string with the dataspace of one element.
fn scalar_string(payload: &[u8]) -> Option<Vec<u8>> {
    const ONE: [u8; 12] = [2, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    const SCALAR: [u8; 4] = [2, 0, 0, 0];
    if payload.first() != Some(&3) {
        return None;
    }
    let field = |at: usize| {
        Some(usize::from(u16::from_le_bytes(
            payload.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let (name, datatype, dataspace) = (field(2)?, field(4)?, field(6)?);
    let type_at = 9 + name;
    let space_at = type_at + datatype;
    let class = *payload.get(type_at)?;
    let vlen_string = class & 0x0f == 9 && payload.get(type_at + 1)? & 0x0f == 1;
    if !vlen_string || dataspace != ONE.len() || payload.get(space_at..space_at + 12)? != ONE {
        return None;
    }
    let mut out = Vec::with_capacity(payload.len() - 8);
    out.extend_from_slice(&payload[..6]);
    out.extend_from_slice(&(SCALAR.len() as u16).to_le_bytes());
    out.extend_from_slice(&payload[8..space_at]);
    // The character set (bits 8-11 of the class bit field): UTF-8, as libhdf5 wrote it for
    // every string, ASCII or not (the writer says ASCII when every character is).
    out[type_at + 2] = (out[type_at + 2] & 0xf0) | 1;
    out.extend_from_slice(&SCALAR);
    out.extend_from_slice(&payload[space_at + 12..]);
    Some(out)
}

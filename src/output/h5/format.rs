//! The bytes of the HDF5 structures our files use (HDF5 File Format Specification 3.0):
//! superblock version 2, version-2 object headers and their messages (dataspace, datatype,
//! fill value, layout, filter pipeline, attribute, link, link info, group info), version-1
//! B-tree chunk indexes, global heap collections, and the Jenkins lookup3 checksum. Pure
//! functions from values to bytes; where the pieces go in the file is `stream.rs`'s business.
//!
//! Only what cascadesim writes is covered: offsets and lengths of 8 bytes, little-endian
//! numbers, compact groups and compact attributes, no creation order, no modification times.

/// The undefined address (all bits set).
pub(super) const UNDEF: u64 = u64::MAX;

/// Bytes of a version-2 superblock (with its checksum).
pub(super) const SUPERBLOCK_LEN: u64 = 48;

/// Children of one version-1 B-tree node of a chunk index: 2K with libhdf5's default K = 32
/// (a version-2 superblock stores no K, so every reader assumes it).
pub(super) const BTREE_CAPACITY: usize = 64;

/// The smallest global heap collection libhdf5 reads (`H5HG_MINSIZE`).
const HEAP_MIN: usize = 4096;

/// Jenkins' lookup3 `hashlittle` with initial value 0: the checksum of HDF5's version-2
/// metadata.
pub(super) fn lookup3(data: &[u8]) -> u32 {
    fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
        *a = a.wrapping_sub(*c);
        *a ^= c.rotate_left(4);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a);
        *b ^= a.rotate_left(6);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b);
        *c ^= b.rotate_left(8);
        *b = b.wrapping_add(*a);
        *a = a.wrapping_sub(*c);
        *a ^= c.rotate_left(16);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a);
        *b ^= a.rotate_left(19);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b);
        *c ^= b.rotate_left(4);
        *b = b.wrapping_add(*a);
    }
    fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(14));
        *a ^= *c;
        *a = a.wrapping_sub(c.rotate_left(11));
        *b ^= *a;
        *b = b.wrapping_sub(a.rotate_left(25));
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(16));
        *a ^= *c;
        *a = a.wrapping_sub(c.rotate_left(4));
        *b ^= *a;
        *b = b.wrapping_sub(a.rotate_left(14));
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(24));
    }
    let word = |s: &[u8]| {
        let mut w = [0u8; 4];
        w[..s.len()].copy_from_slice(s);
        u32::from_le_bytes(w)
    };
    // The length is folded in modulo 2^32, as in the reference code.
    #[allow(clippy::cast_possible_truncation)]
    let init = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    a = a.wrapping_add(word(&rest[..rest.len().min(4)]));
    if rest.len() > 4 {
        b = b.wrapping_add(word(&rest[4..rest.len().min(8)]));
    }
    if rest.len() > 8 {
        c = c.wrapping_add(word(&rest[8..]));
    }
    final_mix(&mut a, &mut b, &mut c);
    c
}

/// The element types of datasets and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Dtype {
    /// IEEE 754 binary64, little-endian.
    F64,
    /// A little-endian integer of `size` bytes.
    Int { size: u8, signed: bool },
    /// h5py's boolean: the enum `{FALSE = 0, TRUE = 1}` over a signed byte.
    Bool,
    /// A variable-length UTF-8 string (its bytes in a global heap).
    VlenUtf8,
    /// A fixed-length, NUL-terminated ASCII string of `size` bytes (with the NUL).
    FixedAscii { size: u32 },
    /// An object reference (the address of an object header).
    ObjectRef,
    /// `H5DS`'s `REFERENCE_LIST` element: `{dataset: object reference, dimension: u32}`,
    /// 16 bytes as libhdf5 lays out the C struct.
    RefListEntry,
    /// A variable-length sequence of object references (`DIMENSION_LIST`'s element).
    VlenRefs,
}

impl Dtype {
    /// Bytes of one element as stored.
    pub(super) fn size(&self) -> u32 {
        match self {
            Self::F64 | Self::ObjectRef => 8,
            Self::Int { size, .. } => u32::from(*size),
            Self::Bool => 1,
            Self::VlenUtf8 | Self::VlenRefs | Self::RefListEntry => 16,
            Self::FixedAscii { size } => *size,
        }
    }

    /// The datatype message.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let head = |out: &mut Vec<u8>, class: u8, version: u8, bits: [u8; 3], size: u32| {
            out.push((version << 4) | class);
            out.extend_from_slice(&bits);
            out.extend_from_slice(&size.to_le_bytes());
        };
        match self {
            Self::F64 => {
                // Little-endian, implied leading mantissa bit, sign at bit 63.
                head(out, 1, 1, [0x20, 63, 0], 8);
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&64u16.to_le_bytes());
                out.extend_from_slice(&[52, 11, 0, 52]);
                out.extend_from_slice(&1023u32.to_le_bytes());
            }
            Self::Int { size, signed } => {
                head(
                    out,
                    0,
                    1,
                    [if *signed { 0x08 } else { 0 }, 0, 0],
                    (*size).into(),
                );
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&(u16::from(*size) * 8).to_le_bytes());
            }
            Self::Bool => {
                // Version 3: member names NUL-terminated without padding.
                head(out, 8, 3, [2, 0, 0], 1);
                Self::Int {
                    size: 1,
                    signed: true,
                }
                .encode(out);
                out.extend_from_slice(b"FALSE\0TRUE\0");
                out.extend_from_slice(&[0, 1]);
            }
            Self::VlenUtf8 => {
                // Type string, NUL-terminated, UTF-8; the base type is one unsigned byte.
                head(out, 9, 1, [0x01, 0x01, 0], 16);
                Self::Int {
                    size: 1,
                    signed: false,
                }
                .encode(out);
            }
            Self::FixedAscii { size } => head(out, 3, 1, [0, 0, 0], *size),
            Self::ObjectRef => head(out, 7, 1, [0, 0, 0], 8),
            Self::RefListEntry => {
                // Version 3: names without padding, offsets in one byte (the size is < 256).
                head(out, 6, 3, [2, 0, 0], 16);
                out.extend_from_slice(b"dataset\0");
                out.push(0);
                Self::ObjectRef.encode(out);
                out.extend_from_slice(b"dimension\0");
                out.push(8);
                Self::Int {
                    size: 4,
                    signed: false,
                }
                .encode(out);
            }
            Self::VlenRefs => {
                head(out, 9, 1, [0, 0, 0], 16);
                Self::ObjectRef.encode(out);
            }
        }
    }

    /// The datatype message as a new vector.
    pub(super) fn message(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// A version-2 dataspace message: scalar for no dimensions, else simple with these sizes
/// (maximum sizes equal to them).
pub(super) fn dataspace(shape: Option<&[u64]>) -> Vec<u8> {
    match shape {
        None => vec![2, 0, 0, 0],
        Some(dims) => {
            let rank = u8::try_from(dims.len()).expect("rank below 256");
            let mut out = vec![2, rank, 0, 1];
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out
        }
    }
}

/// Message types of object headers.
pub(super) mod msg {
    pub const DATASPACE: u8 = 0x01;
    pub const LINK_INFO: u8 = 0x02;
    pub const DATATYPE: u8 = 0x03;
    pub const FILL_VALUE: u8 = 0x05;
    pub const LINK: u8 = 0x06;
    pub const LAYOUT: u8 = 0x08;
    pub const GROUP_INFO: u8 = 0x0a;
    pub const FILTERS: u8 = 0x0b;
    pub const ATTRIBUTE: u8 = 0x0c;
}

/// A version-2 object header holding `messages` (type, body) in one chunk, with its
/// checksum. Fails if a message is longer than a message can be (65,535 bytes).
pub(super) fn object_header(messages: &[(u8, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let body: usize = messages.iter().map(|(_, m)| 4 + m.len()).sum();
    let mut out = Vec::with_capacity(body + 14);
    out.extend_from_slice(b"OHDR");
    // Version 2; flags: the chunk size is a 4-byte field.
    out.extend_from_slice(&[2, 0x02]);
    let size = u32::try_from(body).map_err(|_| "an object header over 4 GiB".to_owned())?;
    out.extend_from_slice(&size.to_le_bytes());
    for (kind, m) in messages {
        let len = u16::try_from(m.len())
            .map_err(|_| format!("a message of {} bytes (at most 65,535)", m.len()))?;
        out.push(*kind);
        out.extend_from_slice(&len.to_le_bytes());
        // Datatype messages are constant, as libhdf5 marks them.
        out.push(u8::from(*kind == msg::DATATYPE));
        out.extend_from_slice(m);
    }
    let sum = lookup3(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// A version-2 superblock whose root group header is at `root` and whose file ends at `eof`.
pub(super) fn superblock(root: u64, eof: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SUPERBLOCK_LEN as usize);
    out.extend_from_slice(b"\x89HDF\r\n\x1a\n");
    // Version 2, 8-byte offsets and lengths, no consistency flags.
    out.extend_from_slice(&[2, 8, 8, 0]);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&UNDEF.to_le_bytes());
    out.extend_from_slice(&eof.to_le_bytes());
    out.extend_from_slice(&root.to_le_bytes());
    let sum = lookup3(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The link info message of a compact group without creation order.
pub(super) fn link_info() -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&UNDEF.to_le_bytes());
    out.extend_from_slice(&UNDEF.to_le_bytes());
    out
}

/// The group info message with default values.
pub(super) fn group_info() -> Vec<u8> {
    vec![0, 0]
}

/// A hard link message named `name` to the object header at `address`.
pub(super) fn link(name: &str, address: u64) -> Vec<u8> {
    let utf8 = !name.is_ascii();
    let long = name.len() > 255;
    let mut flags = u8::from(long);
    if utf8 {
        flags |= 0x10;
    }
    let mut out = vec![1, flags];
    if utf8 {
        out.push(1);
    }
    if long {
        out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_le_bytes());
    } else {
        out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&address.to_le_bytes());
    out
}

/// A version-3 attribute message.
pub(super) fn attribute(name: &str, dtype: &Dtype, space: &[u8], data: &[u8]) -> Vec<u8> {
    let datatype = dtype.message();
    let name_len = u16::try_from(name.len() + 1).unwrap_or(u16::MAX);
    let mut out = vec![3, 0];
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&u16::try_from(datatype.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&u16::try_from(space.len()).unwrap_or(0).to_le_bytes());
    out.push(u8::from(!name.is_ascii()));
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(&datatype);
    out.extend_from_slice(space);
    out.extend_from_slice(data);
    out
}

/// The version-3 fill value message: the default (zero) fill value, written if set;
/// space allocated incrementally for a chunked dataset, late for a contiguous one.
pub(super) fn fill_value(chunked: bool) -> Vec<u8> {
    let alloc = if chunked { 3 } else { 2 };
    vec![3, alloc | (2 << 2)]
}

/// The version-3 layout message of a contiguous dataset.
pub(super) fn layout_contiguous(address: u64, size: u64) -> Vec<u8> {
    let mut out = vec![3, 1];
    out.extend_from_slice(&address.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// The version-3 layout message of a chunked dataset indexed by the B-tree at `btree`.
pub(super) fn layout_chunked(btree: u64, chunk: &[u64], element: u32) -> Vec<u8> {
    let mut out = vec![3, 2, u8::try_from(chunk.len() + 1).unwrap_or(u8::MAX)];
    out.extend_from_slice(&btree.to_le_bytes());
    for &c in chunk {
        out.extend_from_slice(&u32::try_from(c).unwrap_or(u32::MAX).to_le_bytes());
    }
    out.extend_from_slice(&element.to_le_bytes());
    out
}

/// The version-2 filter pipeline message: shuffle of `element`-byte values, then deflate at
/// `level` (both optional, as `H5Pset_shuffle`/`H5Pset_deflate` set them).
pub(super) fn filters(element: u32, level: u32) -> Vec<u8> {
    let mut out = vec![2, 2];
    for (id, value) in [(2u16, element), (1u16, level)] {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out
}

/// One chunk of a chunked dataset as the chunk index records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChunkEntry {
    /// Address of the compressed bytes.
    pub address: u64,
    /// Their number.
    pub size: u32,
    /// Offset of the chunk's first row (in rows).
    pub row: u64,
}

/// Bytes of one node of a chunk index over a dataset of `rank` dimensions (always its full
/// capacity: readers load the whole node whatever its entry count).
fn btree_node_len(rank: usize) -> usize {
    let key = 8 + 8 * (rank + 1);
    24 + BTREE_CAPACITY * 8 + (BTREE_CAPACITY + 1) * key
}

/// Node count of each level of a chunk index over `chunks` chunks, leaves first.
fn btree_levels(chunks: usize) -> Vec<usize> {
    let mut levels = vec![chunks.div_ceil(BTREE_CAPACITY).max(1)];
    while levels[levels.len() - 1] > 1 {
        levels.push(levels[levels.len() - 1].div_ceil(BTREE_CAPACITY));
    }
    levels
}

/// Bytes of the chunk index of `chunks` chunks over `rank` dimensions.
pub(super) fn btree_len(chunks: usize, rank: usize) -> u64 {
    (btree_levels(chunks).iter().sum::<usize>() * btree_node_len(rank)) as u64
}

/// The version-1 B-tree (node type 1) indexing `chunks` (in row order) of a dataset with
/// chunks of `chunk` (rows first), written at `at`: the root node first, then each level
/// down to the leaves, left to right. Key `i` of a node is the first key of its child `i`;
/// its last key is the upper bound of its last chunk. Returns the bytes; the root is at `at`.
pub(super) fn btree(chunks: &[ChunkEntry], chunk: &[u64], at: u64) -> Vec<u8> {
    let rank = chunk.len();
    let node_len = btree_node_len(rank);
    let levels = btree_levels(chunks.len());
    let total: usize = levels.iter().sum();
    // Index of the first node of each level in the output (the root level comes first).
    let mut starts = vec![0; levels.len()];
    let mut next = 0;
    for level in (0..levels.len()).rev() {
        starts[level] = next;
        next += levels[level];
    }
    let node_address = |index: usize| at + (index * node_len) as u64;
    let key = |out: &mut Vec<u8>, size: u32, row: u64| {
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&row.to_le_bytes());
        out.extend_from_slice(&[0; 8].repeat(rank));
    };
    let last_row = chunks.last().map_or(0, |c| c.row + chunk[0]);
    let mut out = vec![0u8; total * node_len];
    // Children of the level being written: (first key's size and row, address).
    let mut children: Vec<(u32, u64, u64)> =
        chunks.iter().map(|c| (c.size, c.row, c.address)).collect();
    for (level, &width) in levels.iter().enumerate() {
        let mut parents = Vec::with_capacity(width);
        for (position, group) in children.chunks(BTREE_CAPACITY).enumerate() {
            let index = starts[level] + position;
            let mut node = Vec::with_capacity(node_len);
            node.extend_from_slice(b"TREE");
            node.push(1);
            node.push(u8::try_from(level).unwrap_or(u8::MAX));
            node.extend_from_slice(&u16::try_from(group.len()).unwrap_or(0).to_le_bytes());
            let left = if position == 0 {
                UNDEF
            } else {
                node_address(index - 1)
            };
            let right = if position + 1 == width {
                UNDEF
            } else {
                node_address(index + 1)
            };
            node.extend_from_slice(&left.to_le_bytes());
            node.extend_from_slice(&right.to_le_bytes());
            for &(size, row, address) in group {
                key(&mut node, size, row);
                node.extend_from_slice(&address.to_le_bytes());
            }
            // The upper bound: the next node's first row, or the end of the last chunk.
            let bound = children
                .get((position + 1) * BTREE_CAPACITY)
                .map_or(last_row, |c| c.1);
            key(&mut node, 0, bound);
            let start = index * node_len;
            out[start..start + node.len()].copy_from_slice(&node);
            parents.push((group[0].0, group[0].1, node_address(index)));
        }
        children = parents;
    }
    if chunks.is_empty() {
        // Never called so (empty datasets are contiguous); an empty leaf all the same.
        out[..4].copy_from_slice(b"TREE");
        out[4] = 1;
        out[8..24].copy_from_slice(&[0xff; 16]);
    }
    out
}

/// Bytes one object of `len` bytes takes in a global heap collection (header + padded data).
pub(super) fn heap_object_len(len: usize) -> usize {
    16 + len.div_ceil(8) * 8
}

/// Bytes of a global heap collection whose objects take `used` bytes (see
/// [`heap_object_len`]): at least libhdf5's 4,096, with room for the free-space object.
pub(super) fn heap_collection_len(used: usize) -> usize {
    (16 + used + 16).max(HEAP_MIN)
}

/// A global heap collection of `objects` (indexes 1, 2, …) padded to
/// [`heap_collection_len`], the rest one free-space object.
pub(super) fn heap_collection(objects: &[Vec<u8>]) -> Vec<u8> {
    let used: usize = objects.iter().map(|o| heap_object_len(o.len())).sum();
    let total = heap_collection_len(used);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"GCOL");
    out.extend_from_slice(&[1, 0, 0, 0]);
    out.extend_from_slice(&(total as u64).to_le_bytes());
    for (i, object) in objects.iter().enumerate() {
        out.extend_from_slice(&u16::try_from(i + 1).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&(object.len() as u64).to_le_bytes());
        out.extend_from_slice(object);
        out.resize(out.len() + (object.len().div_ceil(8) * 8 - object.len()), 0);
    }
    let free = total - out.len();
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&(free as u64).to_le_bytes());
    out.resize(total, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our lookup3 agrees with the one `hdf5-writer` ships (validated against libhdf5) on
    /// every length remainder.
    #[test]
    fn lookup3_matches_the_reference() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(
                lookup3(&data[..len]),
                hdf5_writer::jenkins_lookup3(&data[..len]),
                "length {len}"
            );
        }
    }

    /// A multi-level index has one root, full-size nodes, and leaves that list every chunk.
    #[test]
    fn btree_levels_and_size() {
        assert_eq!(btree_levels(1), vec![1]);
        assert_eq!(btree_levels(64), vec![1]);
        assert_eq!(btree_levels(65), vec![2, 1]);
        assert_eq!(btree_levels(64 * 64 + 1), vec![65, 2, 1]);
        let chunks: Vec<ChunkEntry> = (0..130)
            .map(|i| ChunkEntry {
                address: 1000 + i * 10,
                size: 10,
                row: i * 4,
            })
            .collect();
        let bytes = btree(&chunks, &[4], 5000);
        assert_eq!(bytes.len() as u64, btree_len(130, 1));
        assert_eq!(&bytes[..4], b"TREE");
        assert_eq!(bytes[5], 1, "the root is level 1");
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 3);
    }
}

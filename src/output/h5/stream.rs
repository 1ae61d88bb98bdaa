//! Our own streaming HDF5 writer: data first, metadata last. [`StreamWriter::create`] opens a
//! temporary file next to the target and reserves the superblock's bytes; datasets are
//! declared ([`StreamWriter::declare`]) and their chunks appended as they come, compressed
//! (shuffle + deflate [`DEFLATE_LEVEL`], at most [`CHUNK_BYTES`] a chunk) either here
//! ([`StreamWriter::append`], which buffers at most one chunk per dataset) or by the caller on
//! any thread ([`compress_chunk`], then [`StreamWriter::append_compressed`] in row order, so
//! the bytes never depend on threads); [`StreamWriter::finish`] then writes the global heap,
//! the chunk indexes and the object headers (with every attribute, given only now), the
//! superblock at 0, fsyncs, renames over the target and fsyncs the directory. Memory is
//! O(chunks + attributes + one pending chunk per dataset), never O(data).
//!
//! A run that appends its per-path datasets block by block as it simulates uses
//! [`StreamWriter::append_batch`] (one block of several datasets, their chunks compressed on
//! the rayon pool and appended in the order given, so the bytes depend on the blocks, never on
//! the threads) and reads them back with [`StreamWriter::reader`] ([`ChunkReader`]: each chunk
//! inflated and unshuffled from the temporary file), so it never holds a whole column it
//! already wrote.
//!
//! The bytes of each structure are `format.rs`'s; the metadata model (groups, datasets,
//! attributes) and the checks of names and shapes are `layout.rs`'s.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{self, ChunkEntry, Dtype, SUPERBLOCK_LEN, UNDEF, msg};
use super::layout::{Layout, Object, Prepared};
use super::meta::{Addresses, Attribute, ChunkPlan, DatasetId, Element, Kind};
use super::{AttrValue, ColumnData, DEFLATE_LEVEL, H5Error, Stored, invalid, io_err};

use super::meta::ColumnMeta;

/// A chunk compressed by [`compress_chunk`]: its bytes and the rows it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// Rows of the dataset the chunk holds.
    pub rows: u64,
    /// Shuffled and deflated bytes of the whole chunk (padded with zeros to full rows).
    pub bytes: Vec<u8>,
}

/// Shuffles and deflates the raw little-endian bytes of `rows` rows, padded with zeros to a
/// full chunk of `plan` as libhdf5 stores an edge chunk. Pure: call it on any thread.
pub fn compress_chunk(plan: &ChunkPlan, raw: &[u8], rows: u64) -> Compressed {
    let full = usize::try_from(plan.rows).unwrap_or(usize::MAX) * plan.row_bytes;
    let mut padded = raw.to_vec();
    padded.resize(full.max(raw.len()), 0);
    let shuffled = if plan.element > 1 {
        let n = padded.len() / plan.element;
        let mut out = vec![0u8; padded.len()];
        for (i, value) in padded.chunks_exact(plan.element).enumerate() {
            for (j, &b) in value.iter().enumerate() {
                out[j * n + i] = b;
            }
        }
        out
    } else {
        padded
    };
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(shuffled.len() / 2),
        flate2::Compression::new(u32::from(DEFLATE_LEVEL)),
    );
    // Writing to a vector cannot fail.
    encoder.write_all(&shuffled).expect("deflate into memory");
    Compressed {
        rows,
        bytes: encoder.finish().expect("deflate into memory"),
    }
}

/// The raw little-endian bytes of `data` (a boolean as 0 or 1).
pub fn raw_bytes(data: &ColumnData<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    extend_raw(&mut out, data);
    out
}

/// Appends the raw little-endian bytes of `data` to `out` (a boolean as 0 or 1).
fn extend_raw(out: &mut Vec<u8>, data: &ColumnData<'_>) {
    match *data {
        ColumnData::F64(d) | ColumnData::F64Matrix { data: d, .. } => {
            out.reserve(8 * d.len());
            d.iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        ColumnData::U32(d) => {
            out.reserve(4 * d.len());
            d.iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        ColumnData::U64(d) => {
            out.reserve(8 * d.len());
            d.iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        ColumnData::U8(d) => out.extend_from_slice(d),
        ColumnData::Bool(d) => out.extend(d.iter().map(|&b| u8::from(b != 0))),
    }
}

/// Where each dataset's data went.
#[derive(Debug, Default)]
struct Written {
    /// Raw bytes appended but not yet a full chunk.
    pending: Vec<u8>,
    /// Rows written as chunks.
    rows: u64,
    /// The chunks, in row order.
    chunks: Vec<ChunkEntry>,
}

/// The streaming writer; see the module documentation. Dropping it before
/// [`StreamWriter::finish`] removes the temporary file (the target is untouched).
pub struct StreamWriter {
    target: PathBuf,
    dir: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<fs::File>>,
    pos: u64,
    /// Bytes of the temporary file flushed to the system ([`StreamWriter::reader`]).
    flushed: u64,
    layout: Layout,
    written: Vec<Written>,
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Nothing more can be done if this fails; the original error is what matters.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl StreamWriter {
    /// Creates `<dir>/.<file name>.tmp-<pid>` next to `target` with room for the superblock.
    /// The temporary name is per process: two threads of one process must not write the same
    /// target at the same time.
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] if `target` has no file name; [`H5Error::Io`] if the temporary
    /// file cannot be created.
    pub fn create(target: &Path) -> Result<Self, H5Error> {
        Self::with_layout(target, Layout::new(target))
    }

    /// As [`StreamWriter::create`], with datasets already declared in `layout`.
    pub(super) fn with_layout(target: &Path, layout: Layout) -> Result<Self, H5Error> {
        let file_name = target
            .file_name()
            .ok_or_else(|| invalid(target, "output path".to_owned(), "it has no file name"))?;
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp_name = OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let file = fs::File::create(&tmp).map_err(io_err(
            target,
            format!("create temporary file {}", tmp.display()),
        ))?;
        let written = layout.datasets().map(|_| Written::default()).collect();
        let mut writer = Self {
            target: target.to_path_buf(),
            dir,
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            pos: 0,
            flushed: 0,
            layout,
            written,
        };
        writer.write(&[0; SUPERBLOCK_LEN as usize])?;
        Ok(writer)
    }

    /// Declares the dataset `meta` in the group at `group` (created with its parents as
    /// needed); its data are then appended in row order.
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] for a bad name or shape, [`H5Error::Hdf5`] for a name already used.
    pub fn declare(&mut self, group: &str, meta: ColumnMeta) -> Result<DatasetId, H5Error> {
        let id = self.layout.declare(group, meta)?;
        self.written.push(Written::default());
        Ok(id)
    }

    /// Adds `attrs` to the group at `group` (created with its parents as needed) now rather
    /// than at [`StreamWriter::finish`]: a group that holds only attributes then takes its
    /// place among the objects where it is added, as in [`super::write_h5_atomic`].
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::finish`] for attributes.
    pub fn add_attrs(&mut self, group: &str, attrs: &[(String, AttrValue)]) -> Result<(), H5Error> {
        self.layout.add_attrs(group, attrs)
    }

    /// The file this writer puts in place.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// How the dataset `id` is cut into chunks.
    pub fn chunk_plan(&self, id: DatasetId) -> ChunkPlan {
        self.layout.chunk_plan(id)
    }

    /// Appends values to the dataset `id` (after those appended before), compressing and
    /// writing every chunk they complete (the last chunk as soon as the dataset is complete,
    /// so a dataset appended whole is laid out as [`compress_chunk`] +
    /// [`StreamWriter::append_compressed`] lay it out).
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] if the values' type is not the dataset's or they overrun it;
    /// [`H5Error::Io`] if the write fails.
    pub fn append(&mut self, id: DatasetId, data: &ColumnData<'_>) -> Result<(), H5Error> {
        let element = Element::of(data);
        let declared = self.layout.element(id);
        if element != declared {
            return Err(self.bad(id, "values of another type than the dataset's"));
        }
        let plan = self.chunk_plan(id);
        let raw = raw_bytes(data);
        let chunk_bytes = usize::try_from(plan.rows).unwrap_or(usize::MAX) * plan.row_bytes;
        let w = &self.written[id.0];
        let have = w.rows * plan.row_bytes as u64 + w.pending.len() as u64;
        if have + raw.len() as u64 > plan.total_rows * plan.row_bytes as u64 {
            return Err(self.bad(id, "more values than the dataset holds"));
        }
        let mut rest = raw.as_slice();
        while !rest.is_empty() {
            let pending = &mut self.written[id.0].pending;
            let take = (chunk_bytes - pending.len()).min(rest.len());
            pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            // A full chunk, or the dataset's last: written now.
            let w = &self.written[id.0];
            let last = w.rows * plan.row_bytes as u64 + w.pending.len() as u64
                == plan.total_rows * plan.row_bytes as u64;
            if w.pending.len() == chunk_bytes || last {
                let raw = std::mem::take(&mut self.written[id.0].pending);
                let rows = raw.len() as u64 / plan.row_bytes as u64;
                let chunk = compress_chunk(&plan, &raw, rows);
                self.append_compressed(id, &chunk)?;
            }
        }
        Ok(())
    }

    /// Appends one piece of each of several datasets (`(id, values)` after the rows appended
    /// before, ids distinct): every chunk the pieces complete (the last chunk as soon as its
    /// dataset is complete) is compressed on the rayon pool and appended in the order of
    /// `pieces`, each dataset's in row order; the rest waits for the next piece. The chunks
    /// are those [`StreamWriter::append`] makes, so the datasets' content never depends on
    /// how their rows arrive, and the bytes depend only on the pieces, never on the threads.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::append`]: a piece of another type than its dataset's, one that
    /// overruns it or a dataset named twice ([`H5Error::Invalid`], checked before anything is
    /// written), or a failed write ([`H5Error::Io`]).
    pub fn append_batch(&mut self, pieces: &[(DatasetId, ColumnData<'_>)]) -> Result<(), H5Error> {
        use rayon::prelude::*;
        let mut seen = std::collections::HashSet::new();
        for (id, data) in pieces {
            if !seen.insert(*id) {
                return Err(self.bad(*id, "appended twice in one batch"));
            }
            if Element::of(data) != self.layout.element(*id) {
                return Err(self.bad(*id, "values of another type than the dataset's"));
            }
            let plan = self.chunk_plan(*id);
            let w = &self.written[id.0];
            let have = w.rows * plan.row_bytes as u64 + w.pending.len() as u64;
            let raw = data.len() as u64 * plan.element as u64;
            if have + raw > plan.total_rows * plan.row_bytes as u64 {
                return Err(self.bad(*id, "more values than the dataset holds"));
            }
        }
        // Each piece's raw bytes after its dataset's pending ones, and the chunks they
        // complete (ranges of those bytes), in the order they are appended: no chunk is
        // copied before it is compressed.
        let mut buffers: Vec<(Vec<u8>, usize)> = Vec::with_capacity(pieces.len());
        let mut chunks: Vec<(usize, ChunkPlan, std::ops::Range<usize>)> = Vec::new();
        for (k, (id, data)) in pieces.iter().enumerate() {
            let plan = self.chunk_plan(*id);
            let chunk_bytes = usize::try_from(plan.rows).unwrap_or(usize::MAX) * plan.row_bytes;
            let total = plan.total_rows * plan.row_bytes as u64;
            let w = &mut self.written[id.0];
            let mut done = w.rows * plan.row_bytes as u64;
            let mut buffer = std::mem::take(&mut w.pending);
            extend_raw(&mut buffer, data);
            let mut at = 0;
            while at < buffer.len() {
                let take = chunk_bytes.min(buffer.len() - at);
                if take < chunk_bytes && done + take as u64 != total {
                    break;
                }
                chunks.push((k, plan, at..at + take));
                done += take as u64;
                at += take;
            }
            buffers.push((buffer, at));
        }
        let compressed: Vec<Compressed> = chunks
            .par_iter()
            .map(|(k, plan, range)| {
                let raw = &buffers[*k].0[range.clone()];
                compress_chunk(plan, raw, (raw.len() / plan.row_bytes) as u64)
            })
            .collect();
        for ((k, ..), chunk) in chunks.iter().zip(&compressed) {
            self.append_compressed(pieces[*k].0, chunk)?;
        }
        // What is left of each piece waits for the next.
        for ((id, _), (buffer, at)) in pieces.iter().zip(buffers) {
            self.written[id.0].pending = buffer[at..].to_vec();
        }
        Ok(())
    }

    /// Flushes what was appended to the temporary file and returns a reader of every dataset
    /// complete so far (all its rows in chunks): its values come back from the file, chunk by
    /// chunk, so they need not be kept in memory. The reader stays valid until the writer
    /// finishes or is dropped (the temporary file then no longer exists).
    ///
    /// # Errors
    ///
    /// [`H5Error::Io`] if the flush fails.
    pub fn reader(&mut self) -> Result<ChunkReader, H5Error> {
        let context = format!("write temporary file {}", self.tmp.display());
        let file = self.file.as_mut().expect("the file is open until finish");
        file.flush().map_err(io_err(&self.target, context))?;
        self.flushed = self.pos;
        let datasets = self
            .written
            .iter()
            .enumerate()
            .map(|(index, w)| {
                let id = DatasetId(index);
                let plan = self.chunk_plan(id);
                let complete = w.pending.is_empty() && w.rows == plan.total_rows;
                complete.then(|| Readable {
                    plan,
                    element: self.layout.element(id),
                    chunks: w.chunks.clone(),
                    path: self.layout.dataset_path(id).to_owned(),
                })
            })
            .collect();
        Ok(ChunkReader {
            target: self.target.clone(),
            tmp: self.tmp.clone(),
            datasets,
        })
    }

    /// Appends a chunk compressed by [`compress_chunk`] (with this dataset's
    /// [`ChunkPlan`]) after the dataset's previous rows: a full chunk, or the last one.
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] if values are pending from [`StreamWriter::append`], the chunk is
    /// neither full nor the last, or it overruns the dataset; [`H5Error::Io`] if the write fails.
    pub fn append_compressed(&mut self, id: DatasetId, chunk: &Compressed) -> Result<(), H5Error> {
        let plan = self.chunk_plan(id);
        let w = &self.written[id.0];
        let fits = w.pending.is_empty()
            && chunk.rows > 0
            && w.rows + chunk.rows <= plan.total_rows
            && (chunk.rows == plan.rows || w.rows + chunk.rows == plan.total_rows);
        if !fits {
            return Err(self.bad(id, "a chunk out of order or of the wrong size"));
        }
        let size = u32::try_from(chunk.bytes.len())
            .map_err(|_| self.bad(id, "a compressed chunk over 4 GiB"))?;
        let entry = ChunkEntry {
            address: self.pos,
            size,
            row: w.rows,
        };
        self.write(&chunk.bytes)?;
        let w = &mut self.written[id.0];
        w.chunks.push(entry);
        w.rows += chunk.rows;
        Ok(())
    }

    fn bad(&self, id: DatasetId, reason: &str) -> H5Error {
        invalid(
            &self.target,
            format!("data of dataset {:?}", self.layout.dataset_path(id)),
            reason,
        )
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), H5Error> {
        let file = self.file.as_mut().expect("the file is open until finish");
        file.write_all(bytes).map_err(io_err(
            &self.target,
            format!("write temporary file {}", self.tmp.display()),
        ))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes the last partial chunks, the metadata (`root_attrs` on the root, then each
    /// `(group path, attributes)` of `group_attrs` after any the group has, creating groups
    /// as needed) and the superblock; fsyncs, renames the file over the target and fsyncs the
    /// directory.
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] if a dataset did not get all its rows or an attribute or
    /// dimension scale is malformed; [`H5Error::Hdf5`] for a name used twice in an object;
    /// [`H5Error::Io`] if a write, fsync or the rename fails (the temporary file is removed
    /// and the target untouched, except when only the final directory fsync fails).
    pub fn finish(
        mut self,
        root_attrs: &[(String, AttrValue)],
        group_attrs: &[(&str, &[(String, AttrValue)])],
    ) -> Result<(), H5Error> {
        self.layout.add_attrs("", root_attrs)?;
        for (group, attrs) in group_attrs {
            self.layout.add_attrs(group, attrs)?;
        }
        self.flush_partial()?;
        let prepared = self.layout.prepare()?;
        self.write_metadata(&prepared)?;
        self.commit()
    }

    /// Checks every row came; compresses and writes every dataset's pending last chunk.
    fn flush_partial(&mut self) -> Result<(), H5Error> {
        for index in 0..self.written.len() {
            let id = DatasetId(index);
            let plan = self.chunk_plan(id);
            let w = &mut self.written[index];
            let pending_rows = w.pending.len() as u64 / plan.row_bytes.max(1) as u64;
            let rows = w.rows + pending_rows;
            if rows != plan.total_rows {
                return Err(self.bad(
                    id,
                    &format!("{rows} of its {} rows were appended", plan.total_rows),
                ));
            }
            if !w.pending.is_empty() {
                let raw = std::mem::take(&mut w.pending);
                let chunk = compress_chunk(&plan, &raw, pending_rows);
                self.append_compressed(id, &chunk)?;
            }
        }
        Ok(())
    }

    /// Lays out and writes the global heap, the chunk indexes and the object headers, then
    /// the superblock.
    fn write_metadata(&mut self, prepared: &Prepared) -> Result<(), H5Error> {
        let target = self.target.clone();
        let fail = |message: String| H5Error::Hdf5 {
            path: target.clone(),
            context: "write the metadata".to_owned(),
            message,
        };
        // Global heap collections: objects packed in order, a new collection past 1 MiB.
        let mut collections: Vec<Vec<usize>> = Vec::new();
        let mut used = 0;
        for (i, object) in prepared.heap.iter().enumerate() {
            let len = format::heap_object_len(object.len_bytes());
            if collections.is_empty()
                || (used + len > (1 << 20) && !collections[collections.len() - 1].is_empty())
                || collections[collections.len() - 1].len() == usize::from(u16::MAX - 1)
            {
                collections.push(Vec::new());
                used = 0;
            }
            collections.last_mut().expect("pushed").push(i);
            used += len;
        }
        let mut addrs = Addresses::default();
        let mut at = self.pos;
        for members in &collections {
            addrs.collections.push(at);
            let used: usize = members
                .iter()
                .map(|&i| format::heap_object_len(prepared.heap[i].len_bytes()))
                .sum();
            at += format::heap_collection_len(used) as u64;
        }
        addrs.heap_ids = vec![(0, 0); prepared.heap.len()];
        for (c, members) in collections.iter().enumerate() {
            for (k, &i) in members.iter().enumerate() {
                addrs.heap_ids[i] = (c, u32::try_from(k + 1).unwrap_or(0));
            }
        }
        for (index, w) in self.written.iter().enumerate() {
            let rank = self.layout.shape(DatasetId(index)).len();
            if w.chunks.is_empty() {
                addrs.btrees.push(UNDEF);
            } else {
                addrs.btrees.push(at);
                at += format::btree_len(w.chunks.len(), rank);
            }
        }
        // Headers: sized with placeholder addresses (every address has 8 bytes), then placed.
        addrs.objects = vec![0; prepared.objects.len()];
        for (i, object) in prepared.objects.iter().enumerate() {
            addrs.objects[i] = at;
            at += self.header(object, prepared, &addrs).map_err(fail)?.len() as u64;
        }
        // Everything in order, with the real addresses.
        for members in &collections {
            let objects: Vec<Vec<u8>> = members
                .iter()
                .map(|&i| prepared.heap[i].bytes(&addrs))
                .collect();
            self.write(&format::heap_collection(&objects))?;
        }
        for index in 0..self.written.len() {
            let w = &self.written[index];
            if !w.chunks.is_empty() {
                let chunk = self.layout.chunk_shape(DatasetId(index));
                let bytes = format::btree(&w.chunks, &chunk, addrs.btrees[index]);
                self.write(&bytes)?;
            }
        }
        for object in &prepared.objects {
            let bytes = self.header(object, prepared, &addrs).map_err(fail)?;
            self.write(&bytes)?;
        }
        debug_assert_eq!(self.pos, at);
        let superblock = format::superblock(addrs.objects[0], self.pos);
        let context = format!("write and fsync temporary file {}", self.tmp.display());
        let file = self.file.as_mut().expect("open until finish");
        file.flush()
            .and_then(|()| file.get_mut().seek(SeekFrom::Start(0)))
            .and_then(|_| file.get_mut().write_all(&superblock))
            .and_then(|()| file.get_mut().sync_all())
            .map_err(io_err(&target, context))
    }

    /// The object header of `object`, with the addresses in `addrs`.
    fn header(
        &self,
        object: &Object,
        prepared: &Prepared,
        addrs: &Addresses,
    ) -> Result<Vec<u8>, String> {
        let mut messages = Vec::new();
        match object {
            Object::Group { links, .. } => {
                messages.push((msg::LINK_INFO, format::link_info()));
                messages.push((msg::GROUP_INFO, format::group_info()));
                for (name, target) in links {
                    messages.push((msg::LINK, format::link(name, addrs.objects[*target])));
                }
            }
            Object::Dataset { id, .. } => {
                let shape = self.layout.shape(*id);
                let dtype = self.layout.element(*id).dtype();
                let w = &self.written[id.0];
                messages.push((msg::DATASPACE, format::dataspace(Some(&shape))));
                messages.push((msg::DATATYPE, dtype.message()));
                let chunked = !w.chunks.is_empty();
                messages.push((msg::FILL_VALUE, format::fill_value(chunked)));
                if chunked {
                    let chunk = self.layout.chunk_shape(*id);
                    let layout = format::layout_chunked(addrs.btrees[id.0], &chunk, dtype.size());
                    messages.push((msg::LAYOUT, layout));
                    messages.push((
                        msg::FILTERS,
                        format::filters(dtype.size(), u32::from(DEFLATE_LEVEL)),
                    ));
                } else {
                    messages.push((msg::LAYOUT, format::layout_contiguous(UNDEF, 0)));
                }
            }
        }
        for attr in object.attrs() {
            messages.push((msg::ATTRIBUTE, attribute_message(attr, prepared, addrs)));
        }
        format::object_header(&messages)
    }

    /// Renames the finished temporary file over the target and fsyncs the directory.
    fn commit(mut self) -> Result<(), H5Error> {
        drop(self.file.take());
        if let Err(e) = fs::rename(&self.tmp, &self.target) {
            let _ = fs::remove_file(&self.tmp);
            return Err(io_err(
                &self.target,
                format!("rename temporary file {} over it", self.tmp.display()),
            )(e));
        }
        match fs::File::open(&self.dir).and_then(|d| d.sync_all()) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(io_err(
                &self.target,
                format!("fsync directory {}", self.dir.display()),
            )(e)),
        }
    }
}

/// The attribute message of `attr`.
fn attribute_message(attr: &Attribute, prepared: &Prepared, addrs: &Addresses) -> Vec<u8> {
    let (dtype, shape, data) = match &attr.kind {
        Kind::Inline { dtype, shape, data } => (dtype.clone(), shape.clone(), data.clone()),
        Kind::HeapStr(object) => {
            let len = u32::try_from(prepared.heap[*object].len_bytes()).unwrap_or(u32::MAX);
            let mut data = len.to_le_bytes().to_vec();
            addrs.heap_id(*object, &mut data);
            (Dtype::VlenUtf8, None, data)
        }
        Kind::ReferenceList(entries) => {
            let mut data = Vec::with_capacity(16 * entries.len());
            for (object, dim) in entries {
                data.extend_from_slice(&addrs.objects[*object].to_le_bytes());
                data.extend_from_slice(&dim.to_le_bytes());
                data.extend_from_slice(&[0; 4]);
            }
            (Dtype::RefListEntry, Some(vec![entries.len() as u64]), data)
        }
        Kind::DimensionList(lists) => {
            let mut data = Vec::with_capacity(16 * lists.len());
            for &object in lists {
                let count = prepared.heap[object].len_bytes() / 8;
                data.extend_from_slice(&u32::try_from(count).unwrap_or(0).to_le_bytes());
                addrs.heap_id(object, &mut data);
            }
            (Dtype::VlenRefs, Some(vec![lists.len() as u64]), data)
        }
    };
    format::attribute(
        &attr.name,
        &dtype,
        &format::dataspace(shape.as_deref()),
        &data,
    )
}

/// A complete dataset as [`ChunkReader`] finds it.
#[derive(Debug, Clone)]
struct Readable {
    plan: ChunkPlan,
    element: Element,
    chunks: Vec<ChunkEntry>,
    path: String,
}

/// Reads back the datasets a [`StreamWriter`] completed, from its temporary file
/// ([`StreamWriter::reader`]); shared between threads (each read opens the file anew).
#[derive(Debug, Clone)]
pub struct ChunkReader {
    target: PathBuf,
    tmp: PathBuf,
    /// Per dataset id: what it holds, when it was complete.
    datasets: Vec<Option<Readable>>,
}

impl ChunkReader {
    /// The file whose datasets these are (for messages).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The values of the dataset `id` (a matrix row-major), in its element type (booleans
    /// as their bytes), its chunks inflated and unshuffled on the rayon pool.
    ///
    /// # Errors
    ///
    /// [`H5Error::Invalid`] for a dataset that was not complete when the reader was made;
    /// [`H5Error::Io`] if the temporary file cannot be read; [`H5Error::Hdf5`] for a chunk
    /// that does not inflate to its size.
    pub fn read(&self, id: DatasetId) -> Result<Stored, H5Error> {
        use rayon::prelude::*;
        let Some(Some(d)) = self.datasets.get(id.0) else {
            return Err(invalid(
                &self.target,
                format!("dataset {id:?}"),
                "not complete when the reader was made",
            ));
        };
        let plan = &d.plan;
        let total = usize::try_from(plan.total_rows).unwrap_or(usize::MAX) * plan.row_bytes;
        let full = usize::try_from(plan.rows).unwrap_or(usize::MAX) * plan.row_bytes;
        // The chunks hold consecutive rows from row 0 (appended in row order): chunk i fills
        // bytes [i·full, (i + 1)·full) of the column, the last one what is left.
        let in_order = d.chunks.len() == total.div_ceil(full.max(1))
            && d.chunks
                .iter()
                .enumerate()
                .all(|(i, c)| c.row == i as u64 * plan.rows);
        if !in_order {
            return Err(invalid(
                &self.target,
                format!("dataset {:?}", d.path),
                "its chunks are not its rows in order",
            ));
        }
        let mut raw = vec![0u8; total];
        if !d.chunks.is_empty() {
            // The compressed bytes are read in turn (a few MB a column, from the page cache),
            // then inflated and unshuffled on the rayon pool, each chunk into its own place:
            // the same bytes on any number of threads.
            let context = format!("read temporary file {}", self.tmp.display());
            let mut file =
                fs::File::open(&self.tmp).map_err(io_err(&self.target, context.clone()))?;
            let mut compressed = Vec::with_capacity(d.chunks.len());
            for chunk in &d.chunks {
                let mut bytes = vec![0u8; chunk.size as usize];
                file.seek(SeekFrom::Start(chunk.address))
                    .and_then(|_| io::Read::read_exact(&mut file, &mut bytes))
                    .map_err(io_err(&self.target, context.clone()))?;
                compressed.push(bytes);
            }
            raw.par_chunks_mut(full)
                .zip(compressed.par_iter())
                .try_for_each(|(dst, bytes)| {
                    let shuffled = inflate(bytes, full)?;
                    dst.copy_from_slice(&unshuffle(&shuffled, plan.element)[..dst.len()]);
                    Ok(())
                })
                .map_err(|message| H5Error::Hdf5 {
                    path: self.target.clone(),
                    context: format!("read back dataset {:?}", d.path),
                    message,
                })?;
        }
        Ok(match d.element {
            Element::F64 => Stored::F64(
                raw.par_chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
            ),
            Element::U32 => Stored::U32(
                raw.par_chunks_exact(4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect(),
            ),
            Element::U64 => Stored::U64(
                raw.par_chunks_exact(8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
            ),
            Element::U8 => Stored::U8(raw),
            Element::Bool => Stored::Bool(raw),
        })
    }
}

/// The `full` bytes a deflated chunk holds.
fn inflate(bytes: &[u8], full: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(full);
    io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(bytes), &mut out)
        .map_err(|e| format!("a chunk does not inflate: {e}"))?;
    if out.len() != full {
        return Err(format!(
            "a chunk inflates to {} bytes instead of {full}",
            out.len()
        ));
    }
    Ok(out)
}

/// The shuffle filter undone: byte `j` of value `i` is at `j * n + i`.
fn unshuffle(shuffled: &[u8], element: usize) -> Vec<u8> {
    if element <= 1 {
        return shuffled.to_vec();
    }
    let n = shuffled.len() / element;
    let mut out = vec![0u8; shuffled.len()];
    for (i, value) in out.chunks_exact_mut(element).enumerate() {
        for (j, b) in value.iter_mut().enumerate() {
            *b = shuffled[j * n + i];
        }
    }
    out
}

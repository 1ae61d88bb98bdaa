//! Writing a result file: the whole file atomically through a temporary next to it, every
//! column chunked, filtered here in parallel and written in HDF5's own byte order.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hdf5::H5Type;
use hdf5::file::FileCloseDegree;
use hdf5::filters::Filter;
use hdf5::plist::link_create::CharEncoding;
use hdf5::types::VarLenUnicode;

use super::conventions::{Flag, attach_scales, set_scale, write_missing_value};
use super::{
    AttrValue, CHUNK_BYTES, Column, ColumnData, DEFLATE_LEVEL, Group, H5Error, hdf5_err, invalid,
    io_err,
};

/// Removes the temporary file on drop unless disarmed (i.e. on every error path).
struct TempGuard<'p> {
    path: &'p Path,
    armed: bool,
}

impl Drop for TempGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Nothing more can be done if this fails; the original error is what matters.
            let _ = fs::remove_file(self.path);
        }
    }
}

/// Writes the whole file atomically: creates `<dir>/.<file name>.tmp-<pid>` next to `path`,
/// writes everything, closes it (flush), fsyncs it, renames it over `path`, then fsyncs the
/// directory. On any error the temporary file is removed and `path` is untouched (a previous
/// complete file stays as it was).
///
/// `root_attrs` go on the root group, then `groups` are written in order. The output bytes
/// depend only on the arguments (no timestamps are recorded), so writing the same content twice
/// gives byte-identical files (with the same HDF5 and zlib libraries: other versions may lay
/// the file out differently). The temporary name is per process, so two threads of one process
/// must not write the same `path` at the same time.
///
/// # Errors
///
/// - [`H5Error::Invalid`] if `path` has no file name, or a group path, column name or attribute
///   name is empty or malformed (column names must not contain `/`, group path components must
///   not be empty, `.` or `..`), or a string contains NUL. Names are checked as they are
///   written, so earlier objects may already be in the temporary file, which is then removed.
/// - [`H5Error::Hdf5`] if HDF5 fails, e.g. the directory does not exist or is not writable,
///   the path is not valid UTF-8, or a column or attribute name is used twice in the same
///   object.
/// - [`H5Error::Io`] if the fsync of the file or directory, or the rename, fails. If only the
///   final directory fsync fails the new file is already in place (it may not survive a crash);
///   filesystems that do not support fsync on directories are tolerated silently.
pub fn write_h5_atomic(
    path: &Path,
    root_attrs: &[(String, AttrValue)],
    groups: &[Group<'_>],
) -> Result<(), H5Error> {
    hdf5::silence_errors(true);
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid(path, "output path".to_owned(), "it has no file name"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let mut guard = TempGuard {
        path: &tmp,
        armed: true,
    };
    let storage = if deflate_usable() {
        Storage::Deflate { filter_here: true }
    } else {
        Storage::Contiguous
    };
    write_file(path, &tmp, root_attrs, groups, storage)?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_err(
            path,
            format!("fsync temporary file {}", tmp.display()),
        ))?;
    fs::rename(&tmp, path).map_err(io_err(
        path,
        format!("rename temporary file {} over it", tmp.display()),
    ))?;
    guard.armed = false;
    drop(guard);

    match fs::File::open(&dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io_err(path, format!("fsync directory {}", dir.display()))(
            e,
        )),
    }
}

/// Whether shuffle + deflate can be used for writing with the linked library.
fn deflate_usable() -> bool {
    hdf5::filters::deflate_available() && Filter::deflate(DEFLATE_LEVEL).encode_enabled()
}

/// How datasets are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Contiguous, uncompressed (the linked HDF5 has no deflate).
    Contiguous,
    /// Chunked, shuffle + deflate. `filter_here`: 1-D columns' chunks are filtered by
    /// [`write_filtered_chunks`] (in parallel) rather than by HDF5 itself; the file is the same.
    Deflate { filter_here: bool },
}

/// Creates `tmp`, writes everything, and closes it. All HDF5 handles are dropped on return.
fn write_file(
    target: &Path,
    tmp: &Path,
    root_attrs: &[(String, AttrValue)],
    groups: &[Group<'_>],
    storage: Storage,
) -> Result<(), H5Error> {
    let file = hdf5::File::with_options()
        // the fcpl is also the root group's creation property list
        .with_fcpl(|p| p.obj_track_times(false))
        .with_fapl(|p| {
            // closing fails (instead of silently deferring the flush) if a handle leaked
            p.fclose_degree(FileCloseDegree::Semi)
                // The temporary file is private, so a lock protects nothing; and HDF5 opens
                // files without O_CLOEXEC, so a process spawned while we write would inherit
                // the descriptor and keep the lock on the renamed file, making readers fail
                // with "unable to lock file" until that process exits.
                .file_locking(false)
        })
        .create(tmp)
        .map_err(hdf5_err(
            target,
            format!("create temporary file {}", tmp.display()),
        ))?;
    write_attrs(target, "/", &file, root_attrs)?;
    for group in groups {
        write_group(target, &file, group, storage)?;
    }
    file.close()
        .map_err(hdf5_err(target, "close (flush) temporary file"))
}

/// Splits a group path into its components (empty for the root), validating each.
fn group_components<'s>(target: &Path, group_path: &'s str) -> Result<Vec<&'s str>, H5Error> {
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

/// Checks a single link name (group component or dataset name).
fn check_object_name(name: &str) -> Result<(), &'static str> {
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

fn write_group(
    target: &Path,
    file: &hdf5::File,
    group: &Group<'_>,
    storage: Storage,
) -> Result<(), H5Error> {
    let components = group_components(target, &group.path)?;
    let mut current = file
        .group("/")
        .map_err(hdf5_err(target, "open root group"))?;
    let mut so_far = String::new();
    for component in components {
        if !so_far.is_empty() {
            so_far.push('/');
        }
        so_far.push_str(component);
        current = if current.link_exists(component) {
            current
                .group(component)
                .map_err(hdf5_err(target, format!("open group {so_far:?}")))?
        } else {
            // Created one level at a time (not through the link-creation "intermediate groups"
            // flag) so that every group gets a creation property list without timestamps.
            current
                .create_group_builder()
                .obj_track_times(false)
                .create_intermediate_group(false)
                .char_encoding(CharEncoding::Utf8)
                .create(component)
                .map_err(hdf5_err(target, format!("create group {so_far:?}")))?
        };
    }
    let shown = if so_far.is_empty() {
        "/".to_owned()
    } else {
        so_far
    };
    write_attrs(target, &shown, &current, &group.attrs)?;
    for column in &group.columns {
        write_column(target, &shown, &current, column, storage)?;
    }
    attach_scales(target, &shown, &current, &group.columns)
}

fn write_column(
    target: &Path,
    group_path: &str,
    group: &hdf5::Group,
    column: &Column<'_>,
    storage: Storage,
) -> Result<(), H5Error> {
    check_object_name(column.name).map_err(|reason| {
        invalid(
            target,
            format!("column name {:?} in group {group_path:?}", column.name),
            reason,
        )
    })?;
    let shown = if group_path == "/" {
        column.name.to_owned()
    } else {
        format!("{group_path}/{}", column.name)
    };
    let dataset = match column.data {
        ColumnData::F64(d) => create_dataset(group, column.name, d, storage),
        ColumnData::U32(d) => create_dataset(group, column.name, d, storage),
        ColumnData::U8(d) => create_dataset(group, column.name, d, storage),
        ColumnData::Bool(d) => {
            let flags: Vec<Flag> = d.iter().map(|&b| Flag(u8::from(b != 0))).collect();
            create_dataset(group, column.name, &flags, storage)
        }
        ColumnData::U64(d) => create_dataset(group, column.name, d, storage),
        ColumnData::F64Matrix { data, cols } => {
            if cols == 0 || data.len() % cols != 0 {
                return Err(invalid(
                    target,
                    format!("matrix {shown:?}"),
                    "the value count must be a multiple of a non-zero column count",
                ));
            }
            create_matrix(
                group,
                column.name,
                data,
                cols,
                storage != Storage::Contiguous,
            )
        }
    }
    .map_err(hdf5_err(target, format!("write dataset {shown:?}")))?;
    if column.scale {
        set_scale(&dataset, column.name).map_err(hdf5_err(
            target,
            format!("mark {shown:?} as a dimension scale"),
        ))?;
    }
    let attrs = [
        ("unit".to_owned(), AttrValue::Str(column.unit.to_owned())),
        (
            "description".to_owned(),
            AttrValue::Str(column.description.to_owned()),
        ),
    ];
    write_attrs(target, &shown, &dataset, &attrs)?;
    write_missing_value(target, &shown, &dataset, column)
}

/// A filtered chunk: its first element's index and its bytes as stored.
type FilteredChunk = (usize, Vec<u8>);

/// Creates a 1-D dataset holding `data`, stored as `storage` says.
fn create_dataset<T: Element>(
    group: &hdf5::Group,
    name: &str,
    data: &[T],
    storage: Storage,
) -> hdf5::Result<hdf5::Dataset> {
    let builder = group
        .new_dataset_builder()
        .obj_track_times(false)
        .create_intermediate_group(false)
        .char_encoding(CharEncoding::Utf8);
    let Storage::Deflate { filter_here } = storage else {
        return builder.with_data(data).no_chunk().create(name);
    };
    if data.is_empty() {
        // A zero-length dimension cannot be chunked: empty columns are contiguous.
        return builder.with_data(data).no_chunk().create(name);
    }
    // A fixed-size dimension cannot have a chunk larger than itself.
    let chunk = data.len().min((CHUNK_BYTES / size_of::<T>()).max(1));
    let chunks = data.len().div_ceil(chunk);
    // The chunks that stay in HDF5's chunk cache until the dataset is closed.
    let cached = (CHUNK_CACHE_BYTES / (chunk * size_of::<T>())).clamp(1, chunks);
    let builder = builder.chunk(chunk).shuffle().deflate(DEFLATE_LEVEL);
    if chunks == cached || !filter_here {
        return builder.with_data(data).create(name);
    }
    let ds = builder.empty::<T>().shape(data.len()).create(name)?;
    let first_cached = (chunks - cached) * chunk;
    write_filtered_chunks(&ds, &data[..first_cached], chunk)?;
    ds.write_slice(&data[first_cached..], first_cached..)?;
    Ok(ds)
}

/// A numeric element of a column dataset, with its little-endian bytes (the file's byte
/// order, which HDF5 would convert to).
trait Element: H5Type + Copy + Send + Sync {
    /// The little-endian bytes of `self` in the first `size_of::<Self>()` places.
    fn le_bytes(self) -> [u8; 8];
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn le_bytes(self) -> [u8; 8] {
                let mut b = [0u8; 8];
                b[..size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
                b
            }
        }
    )*};
}
element!(f64, u32, u8, u64);

impl Element for Flag {
    fn le_bytes(self) -> [u8; 8] {
        [self.0, 0, 0, 0, 0, 0, 0, 0]
    }
}

/// Chunks compressed at once by [`write_filtered_chunks`] (at most this many chunks' worth
/// of compressed bytes are held besides the column).
const CHUNKS_PER_BATCH: usize = 32;

/// HDF5's default raw-data chunk cache of a dataset (`rdcc_nbytes`, 1 MiB).
const CHUNK_CACHE_BYTES: usize = 1 << 20;

/// Writes `data`, whole chunks of `chunk` elements from the start of the chunked dataset
/// `ds` (filters shuffle then deflate [`DEFLATE_LEVEL`]), through `H5Dwrite_chunk`, the
/// chunks filtered in parallel here instead of one after another inside HDF5's `H5Dwrite`.
///
/// The file is byte for byte the one `H5Dwrite` of the whole column writes, as long as the
/// caller leaves the last chunks (those that fit in [`CHUNK_CACHE_BYTES`]) to `H5Dwrite`:
/// - a chunk's bytes are those of HDF5's pipeline: byte `j` of element `i` moved to
///   `j·chunk + i` (HDF5's shuffle filter; one-byte elements stay as they are), then
///   `compress2` of the zlib that the HDF5 library itself calls, at the same level;
/// - chunks get their file space in the same order: `H5Dwrite` filters and places a chunk
///   when it leaves the dataset's chunk cache, oldest first, and the chunks still cached
///   when the write ends only when the dataset is closed, after its attributes.
fn write_filtered_chunks<T: Element>(
    ds: &hdf5::Dataset,
    data: &[T],
    chunk: usize,
) -> hdf5::Result<()> {
    use rayon::prelude::*;
    debug_assert_eq!(data.len() % chunk, 0);
    let chunks: Vec<(usize, &[T])> = data.chunks(chunk).enumerate().collect();
    for batch in chunks.chunks(CHUNKS_PER_BATCH) {
        let filtered = batch
            .par_iter()
            .map(|&(i, c)| deflate(&shuffle(c, chunk)).map(|b| (i * chunk, b)))
            .collect::<hdf5::Result<Vec<_>>>()?;
        write_chunks(ds, &filtered)?;
    }
    Ok(())
}

/// Writes filtered chunks of a 1-D dataset as they are (`H5Dwrite_chunk`), in order.
fn write_chunks(ds: &hdf5::Dataset, chunks: &[FilteredChunk]) -> hdf5::Result<()> {
    for (first, bytes) in chunks {
        let offset = [*first as hdf5_sys::h5::hsize_t];
        // SAFETY: `ds` is an open 1-D dataset, `offset` holds its one coordinate and `bytes`
        // is a live buffer of `bytes.len()` bytes; the call holds the crate's HDF5 lock.
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dwrite_chunk(
                ds.id(),
                hdf5_sys::h5p::H5P_DEFAULT,
                0,
                offset.as_ptr(),
                bytes.len(),
                bytes.as_ptr().cast(),
            )
        });
        if status < 0 {
            return Err(hdf5::Error::from(format!(
                "H5Dwrite_chunk failed at element {first}"
            )));
        }
    }
    Ok(())
}

/// HDF5's shuffle filter on one chunk of `chunk` elements.
fn shuffle<T: Element>(values: &[T], chunk: usize) -> Vec<u8> {
    let size = size_of::<T>();
    let mut out = vec![0u8; chunk * size];
    // (HDF5 leaves one-byte elements and one-element chunks as they are, which is what
    // the transposition below does for them.)
    for (i, v) in values.iter().enumerate() {
        let b = v.le_bytes();
        for (j, &byte) in b[..size].iter().enumerate() {
            out[j * chunk + i] = byte;
        }
    }
    out
}

#[link(name = "z")]
unsafe extern "C" {
    fn compressBound(source_len: std::ffi::c_ulong) -> std::ffi::c_ulong;
    fn compress2(
        dest: *mut u8,
        dest_len: *mut std::ffi::c_ulong,
        source: *const u8,
        source_len: std::ffi::c_ulong,
        level: std::ffi::c_int,
    ) -> std::ffi::c_int;
}

/// HDF5's deflate filter on one chunk: zlib's `compress2` at [`DEFLATE_LEVEL`].
fn deflate(src: &[u8]) -> hdf5::Result<Vec<u8>> {
    let len = src.len() as std::ffi::c_ulong;
    // SAFETY: plain arithmetic on a length.
    let mut out_len = unsafe { compressBound(len) };
    let mut out = vec![0u8; out_len as usize];
    // SAFETY: `out` has room for `out_len` bytes, `src` holds `len` bytes.
    let status = unsafe {
        compress2(
            out.as_mut_ptr(),
            &mut out_len,
            src.as_ptr(),
            len,
            std::ffi::c_int::from(DEFLATE_LEVEL),
        )
    };
    if status != 0 {
        return Err(hdf5::Error::from(format!(
            "zlib compress2 failed ({status})"
        )));
    }
    out.truncate(out_len as usize);
    Ok(out)
}

/// A 2-D `f64` dataset of shape `(data.len() / cols, cols)`, chunked by whole rows.
fn create_matrix(
    group: &hdf5::Group,
    name: &str,
    data: &[f64],
    cols: usize,
    compress: bool,
) -> hdf5::Result<hdf5::Dataset> {
    let rows = data.len() / cols;
    let builder = group
        .new_dataset::<f64>()
        .shape((rows, cols))
        .obj_track_times(false)
        .create_intermediate_group(false)
        .char_encoding(CharEncoding::Utf8);
    let builder = if compress && rows > 0 {
        let rows_per_chunk = (CHUNK_BYTES / (size_of::<f64>() * cols)).clamp(1, rows);
        builder
            .chunk((rows_per_chunk, cols))
            .shuffle()
            .deflate(DEFLATE_LEVEL)
    } else {
        builder.no_chunk()
    };
    let ds = builder.create(name)?;
    if !data.is_empty() {
        ds.write_raw(data)?;
    }
    Ok(ds)
}

fn write_attrs(
    target: &Path,
    object: &str,
    loc: &hdf5::Location,
    attrs: &[(String, AttrValue)],
) -> Result<(), H5Error> {
    for (name, value) in attrs {
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
        write_attr(loc, name, value).map_err(hdf5_err(target, format!("write {}", what())))?;
    }
    Ok(())
}

fn write_attr(loc: &hdf5::Location, name: &str, value: &AttrValue) -> hdf5::Result<()> {
    match value {
        AttrValue::Str(s) => {
            let s = VarLenUnicode::from_str(s).map_err(|e| hdf5::Error::from(e.to_string()))?;
            loc.new_attr::<VarLenUnicode>()
                .shape(())
                .create(name)?
                .write_scalar(&s)
        }
        AttrValue::U64(v) => loc
            .new_attr::<u64>()
            .shape(())
            .create(name)?
            .write_scalar(v),
        AttrValue::I64(v) => loc
            .new_attr::<i64>()
            .shape(())
            .create(name)?
            .write_scalar(v),
        AttrValue::F64(v) => loc
            .new_attr::<f64>()
            .shape(())
            .create(name)?
            .write_scalar(v),
        AttrValue::F64s(v) => loc
            .new_attr_builder()
            .with_data(v.as_slice())
            .create(name)
            .map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::h5::read_f64_column;

    /// Columns filtered here give the file HDF5 writes when it filters them itself, byte for
    /// byte: sizes around the chunk and chunk-cache boundaries, every element type.
    #[test]
    fn chunks_filtered_here_give_the_same_file() {
        if !deflate_usable() {
            return;
        }
        let sizes: [usize; 9] = [
            1, 1000, 32_768, 32_769, 131_072, 131_073, 163_840, 163_841, 300_001,
        ];
        let f: Vec<Vec<f64>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| ((i * 7919) % 1000) as f64 * 0.37).collect())
            .collect();
        let u: Vec<Vec<u32>> = sizes
            .iter()
            .map(|&n| (0..n as u32).map(|i| i % 97).collect())
            .collect();
        let b: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i % 3 == 0) as u8).collect())
            .collect();
        let w: Vec<u64> = (0..2_000_000u64).map(|i| i * i).collect();
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("c{i}")).collect();
        let mut columns = Vec::new();
        for (i, name) in names.iter().enumerate() {
            columns.push(Column::new(name, "1", "f64", f[i].as_slice()));
        }
        let mut group = Group::new("paths");
        group
            .attrs
            .push(("description".into(), AttrValue::Str("test".into())));
        group.columns = columns;
        let mut ints = Group::new("ints/u32");
        let un: Vec<String> = (0..sizes.len()).map(|i| format!("u{i}")).collect();
        let bn: Vec<String> = (0..sizes.len()).map(|i| format!("b{i}")).collect();
        let qn: Vec<String> = (0..sizes.len()).map(|i| format!("q{i}")).collect();
        for i in 0..sizes.len() {
            ints.columns
                .push(Column::new(&un[i], "", "u32", u[i].as_slice()));
            ints.columns
                .push(Column::new(&bn[i], "", "u8", b[i].as_slice()));
            ints.columns
                .push(Column::new(&qn[i], "0/1", "bool", ColumnData::Bool(&b[i])));
        }
        ints.columns
            .push(Column::new("w", "cents", "u64", ColumnData::U64(&w)));
        let groups = [group, ints];
        let root = [("seed".to_owned(), AttrValue::U64(7))];
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, filter_here: bool| {
            let p = dir.path().join(name);
            write_file(&p, &p, &root, &groups, Storage::Deflate { filter_here }).unwrap();
            fs::read(&p).unwrap()
        };
        let theirs = write("hdf5.h5", false);
        let ours = write("here.h5", true);
        assert_eq!(theirs.len(), ours.len());
        assert!(theirs == ours, "the files differ");
        assert_eq!(
            read_f64_column(&dir.path().join("here.h5"), "paths/c8").unwrap(),
            f[8]
        );
    }
}

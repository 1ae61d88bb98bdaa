//! Tests of the streaming writer: appending in pieces gives the bytes of a whole write, the
//! same content gives the same bytes, misuse is refused with the temporary file removed, and
//! (proptest) random groups, columns and attributes read back equal through `hdf5-reader`.

use std::fs;
use std::path::Path;

use proptest::prelude::*;

use super::{
    AttrValue, CHUNK_BYTES, Column, ColumnData, Group, H5Error, Stored, list_datasets, list_groups,
    read_attr, read_dataset, read_f64_column, write_h5_atomic,
};
use super::{ColumnMeta, StreamWriter};

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// A column group written whole by `write_h5_atomic` and the same content streamed column
/// after column in uneven pieces (crossing chunk boundaries) give byte-identical files; the
/// columns' pieces interleaved (chunks of different datasets mixed in the file) give the
/// same content.
#[test]
fn appending_in_pieces_gives_the_bytes_of_a_whole_write() {
    let n = 3 * (CHUNK_BYTES / 8) + 17;
    let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let flags: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
    let ids: Vec<u32> = (0..n as u32).collect();
    let dims = ["path"];
    let groups = [Group {
        path: "paths".into(),
        attrs: vec![("description".into(), AttrValue::from("per path"))],
        columns: vec![
            Column::new("path", "1", "id", ids.as_slice()).as_scale(),
            Column::new("x", "USD", "a float", x.as_slice()).with_dims(&dims),
            Column::new("flag", "1", "a flag", ColumnData::Bool(&flags)).with_dims(&dims),
        ],
    }];
    let root = vec![
        ("seed".to_owned(), AttrValue::U64(3)),
        ("text".to_owned(), AttrValue::from("")),
    ];
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.h5");
    write_h5_atomic(&whole, &root, &groups).unwrap();

    let cuts = [0, 1, 5000, 32_768, 40_000, 70_001, n];
    for interleaved in [false, true] {
        let streamed = dir.path().join(format!("streamed-{interleaved}.h5"));
        let mut w = StreamWriter::create(&streamed).unwrap();
        let mut handles = Vec::new();
        for c in &groups[0].columns {
            handles.push(w.declare("paths", ColumnMeta::of(c).unwrap()).unwrap());
        }
        let columns = handles.iter().zip(&groups[0].columns);
        if interleaved {
            for pair in cuts.windows(2) {
                for (id, c) in columns.clone() {
                    w.append(*id, &c.data.slice(pair[0], pair[1])).unwrap();
                }
            }
        } else {
            for (id, c) in columns {
                for pair in cuts.windows(2) {
                    w.append(*id, &c.data.slice(pair[0], pair[1])).unwrap();
                }
            }
        }
        w.finish(&root, &[("paths", &groups[0].attrs)]).unwrap();
        if interleaved {
            assert_eq!(read_f64_column(&streamed, "paths/x").unwrap(), x);
            let (flags_read, _) = read_dataset(&streamed, "paths/flag", usize::MAX).unwrap();
            assert_eq!(flags_read, Stored::Bool(flags.clone()));
            assert_eq!(
                read_attr(&streamed, "/", "text").unwrap(),
                AttrValue::from("")
            );
        } else {
            assert!(fs::read(&whole).unwrap() == fs::read(&streamed).unwrap());
        }
    }
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

/// Every dtype appended in batches of uneven pieces (the datasets' chunks interleaved, a
/// partial last chunk) gives each dataset the chunks of a whole write: alone, the bytes of
/// `write_h5_atomic`; together, the same content. The writer's reader gives every value back
/// once its dataset is complete, and refuses one that is not.
#[test]
fn batches_give_the_chunks_of_a_whole_write_and_read_back_equal() {
    let n = 2 * (CHUNK_BYTES / 8) + 4321;
    let x: Vec<f64> = (0..n).map(|i| (i as f64).sqrt() - 7.5).collect();
    let counts: Vec<u32> = (0..n as u32)
        .map(|i| i.wrapping_mul(2_654_435_761))
        .collect();
    let ids: Vec<u64> = (0..n as u64).map(|i| i << 33 | i).collect();
    let bytes: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let flags: Vec<u8> = (0..n).map(|i| u8::from(i % 7 == 0)).collect();
    let matrix: Vec<f64> = (0..3 * n).map(|i| (i as f64) * 0.25).collect();
    let dims = ["path"];
    let columns = [
        Column::new("path", "", "id", ColumnData::U64(&ids)).as_scale(),
        Column::new("x", "USD", "f64", x.as_slice()).with_dims(&dims),
        Column::new("count", "1", "u32", counts.as_slice()).with_dims(&dims),
        Column::new("byte", "1", "u8", ColumnData::U8(&bytes)).with_dims(&dims),
        Column::new("flag", "1", "bool", ColumnData::Bool(&flags)).with_dims(&dims),
        Column::new(
            "m",
            "USD",
            "matrix",
            ColumnData::F64Matrix {
                data: &matrix,
                cols: 3,
            },
        ),
    ];
    let cuts = [0, 1, 32_768, 32_769, 50_000, n];
    let dir = tempfile::tempdir().unwrap();
    // Each column alone, in batches: the bytes of a whole write.
    for c in &columns[1..] {
        let group = Group {
            path: "g".into(),
            attrs: Vec::new(),
            columns: vec![Column { dims: &[], ..*c }],
        };
        let whole = dir.path().join(format!("whole-{}.h5", c.name));
        write_h5_atomic(&whole, &[], std::slice::from_ref(&group)).unwrap();
        let batched = dir.path().join(format!("batched-{}.h5", c.name));
        let mut w = StreamWriter::create(&batched).unwrap();
        let id = w
            .declare("g", ColumnMeta::of(&group.columns[0]).unwrap())
            .unwrap();
        let per_row = c.data.len() / n;
        for pair in cuts.windows(2) {
            let piece = c.data.slice(pair[0] * per_row, pair[1] * per_row);
            w.append_batch(&[(id, piece)]).unwrap();
        }
        w.finish(&[], &[]).unwrap();
        assert!(
            fs::read(&whole).unwrap() == fs::read(&batched).unwrap(),
            "{}",
            c.name
        );
    }
    // All of them together, interleaved block by block, then read back before finishing.
    let target = dir.path().join("together.h5");
    let mut w = StreamWriter::create(&target).unwrap();
    let handles: Vec<_> = columns
        .iter()
        .map(|c| w.declare("paths", ColumnMeta::of(c).unwrap()).unwrap())
        .collect();
    for (k, pair) in cuts.windows(2).enumerate() {
        let pieces: Vec<_> = handles
            .iter()
            .zip(&columns)
            .map(|(id, c)| {
                let per_row = c.data.len() / n;
                (*id, c.data.slice(pair[0] * per_row, pair[1] * per_row))
            })
            .collect();
        w.append_batch(&pieces).unwrap();
        if k == 0 {
            // Not complete yet: refused.
            let early = w.reader().unwrap();
            let err = early.read(handles[1]).unwrap_err();
            assert!(err.to_string().contains("not complete"), "{err}");
        }
    }
    let reader = w.reader().unwrap();
    assert_eq!(reader.read(handles[0]).unwrap(), Stored::U64(ids.clone()));
    assert_eq!(reader.read(handles[1]).unwrap(), Stored::F64(x.clone()));
    assert_eq!(
        reader.read(handles[2]).unwrap(),
        Stored::U32(counts.clone())
    );
    assert_eq!(reader.read(handles[3]).unwrap(), Stored::U8(bytes.clone()));
    assert_eq!(
        reader.read(handles[4]).unwrap(),
        Stored::Bool(flags.clone())
    );
    assert_eq!(
        reader.read(handles[5]).unwrap(),
        Stored::F64(matrix.clone())
    );
    // A dataset named twice in one batch is refused before anything is written.
    let extra = w
        .declare(
            "other",
            ColumnMeta::of(&Column {
                dims: &[],
                ..columns[1]
            })
            .unwrap(),
        )
        .unwrap();
    let piece = ColumnData::F64(&x[..10]);
    let err = w
        .append_batch(&[(extra, piece), (extra, piece)])
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    w.append_batch(&[(extra, columns[1].data)]).unwrap();
    w.finish(&[], &[]).unwrap();
    drop(reader);
    assert_eq!(read_f64_column(&target, "paths/x").unwrap(), x);
    assert_eq!(read_f64_column(&target, "other/x").unwrap(), x);
    let (flags_read, _) = read_dataset(&target, "paths/flag", usize::MAX).unwrap();
    assert_eq!(flags_read, Stored::Bool(flags));
    let (counts_read, _) = read_dataset(&target, "paths/count", usize::MAX).unwrap();
    assert_eq!(counts_read, Stored::U32(counts));
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

/// Too many values, the wrong type, too few rows at `finish`, and dropping the writer are
/// refused or cleaned up: no temporary file stays, the target is never created.
#[test]
fn misuse_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("r.h5");
    let x = [1.0, 2.0, 3.0];
    let meta = ColumnMeta::of(&Column::new("x", "", "", &x[..])).unwrap();

    let mut w = StreamWriter::create(&target).unwrap();
    let id = w.declare("g", meta.clone()).unwrap();
    let more = [1.0; 4];
    let err = w.append(id, &ColumnData::F64(&more)).unwrap_err();
    assert!(matches!(err, H5Error::Invalid { .. }), "{err}");
    let err = w.append(id, &ColumnData::U32(&[1, 2])).unwrap_err();
    assert!(err.to_string().contains("another type"), "{err}");
    w.append(id, &ColumnData::F64(&x[..2])).unwrap();
    let err = w.finish(&[], &[]).unwrap_err();
    assert!(err.to_string().contains("2 of its 3 rows"), "{err}");
    assert!(!target.exists());
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());

    let mut w = StreamWriter::create(&target).unwrap();
    w.declare("g", meta.clone()).unwrap();
    let err = w.declare("g", meta).unwrap_err();
    assert!(matches!(err, H5Error::Hdf5 { .. }), "{err}");
    drop(w);
    assert!(!target.exists());
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

/// One generated column: its type and length (in rows).
#[derive(Debug, Clone)]
enum Values {
    F64(Vec<f64>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    U8(Vec<u8>),
    Bool(Vec<u8>),
    Matrix(Vec<f64>, usize),
}

impl Values {
    fn data(&self) -> ColumnData<'_> {
        match self {
            Self::F64(v) => ColumnData::F64(v),
            Self::U32(v) => ColumnData::U32(v),
            Self::U64(v) => ColumnData::U64(v),
            Self::U8(v) => ColumnData::U8(v),
            Self::Bool(v) => ColumnData::Bool(v),
            Self::Matrix(v, cols) => ColumnData::F64Matrix {
                data: v,
                cols: *cols,
            },
        }
    }

    fn stored(&self) -> Stored {
        match self {
            Self::F64(v) | Self::Matrix(v, _) => Stored::F64(v.clone()),
            Self::U32(v) => Stored::U32(v.clone()),
            Self::U64(v) => Stored::U64(v.clone()),
            Self::U8(v) => Stored::U8(v.clone()),
            Self::Bool(v) => Stored::Bool(v.clone()),
        }
    }
}

/// A row count around the chunk boundaries of a `row_bytes`-byte row: 0..3 chunks + 1.
fn rows(row_bytes: usize) -> impl Strategy<Value = usize> {
    let per_chunk = CHUNK_BYTES / row_bytes;
    prop_oneof![
        Just(0),
        Just(1),
        Just(per_chunk - 1),
        Just(per_chunk),
        Just(per_chunk + 1),
        Just(3 * per_chunk + 1),
        1..50usize,
    ]
}

fn values() -> impl Strategy<Value = Values> {
    prop_oneof![
        rows(8).prop_map(|n| Values::F64((0..n).map(|i| i as f64 * 0.25 - 7.0).collect())),
        rows(4).prop_map(|n| Values::U32(
            (0..n as u32)
                .map(|i| i.wrapping_mul(2_654_435_761))
                .collect()
        )),
        rows(8).prop_map(|n| Values::U64((0..n as u64).map(|i| i << 40).collect())),
        rows(1).prop_map(|n| Values::U8((0..n).map(|i| (i % 251) as u8).collect())),
        rows(1).prop_map(|n| Values::Bool((0..n).map(|i| u8::from(i % 7 < 3)).collect())),
        (rows(24), 1..4usize).prop_map(|(n, c)| {
            Values::Matrix((0..n.min(2000) * c).map(|i| i as f64).collect(), c)
        }),
    ]
}

fn attr() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        "[a-zé ]{0,40}".prop_map(AttrValue::Str),
        any::<u64>().prop_map(AttrValue::U64),
        any::<i64>().prop_map(AttrValue::I64),
        (-1e9..1e9f64).prop_map(AttrValue::F64),
        proptest::collection::vec(-1e3..1e3f64, 0..5).prop_map(AttrValue::F64s),
    ]
}

/// (group path, attributes, columns).
type Spec = (String, Vec<AttrValue>, Vec<Values>);

fn spec() -> impl Strategy<Value = Vec<Spec>> {
    let group = (
        prop_oneof![Just(""), Just("a"), Just("a/b"), Just("c"), Just("c/d/e")],
        proptest::collection::vec(attr(), 0..4),
        proptest::collection::vec(values(), 0..4),
    )
        .prop_map(|(p, a, v)| (p.to_owned(), a, v));
    proptest::collection::vec(group, 1..4).prop_map(|mut groups| {
        // One group per path.
        let mut seen = std::collections::HashSet::new();
        groups.retain(|g| seen.insert(g.0.clone()));
        groups
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random groups (nested), columns of every type and of 0..3 chunks + 1, attributes of
    /// every kind, and a scale in each group with columns attached: written by the new writer,
    /// read back equal through `hdf5-reader`.
    #[test]
    fn random_content_reads_back_equal(spec in spec()) {
        let names: Vec<Vec<String>> = spec
            .iter()
            .map(|(_, _, cols)| (0..cols.len()).map(|i| format!("c{i}")).collect())
            .collect();
        let attr_names: Vec<Vec<(String, AttrValue)>> = spec
            .iter()
            .map(|(_, attrs, _)| {
                attrs.iter().enumerate().map(|(i, v)| (format!("a{i}"), v.clone())).collect()
            })
            .collect();
        let scale_len = 5usize;
        let scale: Vec<u32> = (0..scale_len as u32).collect();
        let dims = ["s"];
        let mut groups = Vec::new();
        for (g, (path, _, cols)) in spec.iter().enumerate() {
            let mut columns: Vec<Column<'_>> = cols
                .iter()
                .zip(&names[g])
                .map(|(v, n)| Column::new(n, "u", "d", v.data()))
                .collect();
            if !columns.is_empty() {
                columns.push(Column::new("s", "1", "scale", scale.as_slice()).as_scale());
                let x = &cols[0];
                if let Values::F64(v) = x && v.len() == scale_len {
                    columns[0] = columns[0].with_dims(&dims);
                }
            }
            groups.push(Group { path: path.clone(), attrs: attr_names[g].clone(), columns });
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.h5");
        write_h5_atomic(&file, &[("root".into(), AttrValue::U64(1))], &groups).unwrap();
        prop_assert_eq!(read_attr(&file, "/", "root").unwrap(), AttrValue::U64(1));
        for (g, (path, _, cols)) in spec.iter().enumerate() {
            let shown = if path.is_empty() { "/".to_owned() } else { path.clone() };
            if cols.is_empty() && attr_names[g].is_empty() {
                continue;
            }
            for (name, value) in &attr_names[g] {
                prop_assert_eq!(&read_attr(&file, &shown, name).unwrap(), value);
            }
            let mut listed = list_datasets(&file, &shown).unwrap();
            listed.retain(|n| n != "s");
            prop_assert_eq!(listed.len(), cols.len());
            for (v, n) in cols.iter().zip(&names[g]) {
                let full = if path.is_empty() { n.clone() } else { format!("{path}/{n}") };
                let (stored, shape) = read_dataset(&file, &full, usize::MAX).unwrap();
                prop_assert_eq!(stored, v.stored());
                let expect_rows = match v {
                    Values::Matrix(d, c) => vec![d.len() / c, *c],
                    other => vec![other.data().len()],
                };
                prop_assert_eq!(shape, expect_rows);
                prop_assert_eq!(read_attr(&file, &full, "unit").unwrap(), AttrValue::from("u"));
            }
        }
        prop_assert!(list_groups(&file, "/").is_ok());
    }
}

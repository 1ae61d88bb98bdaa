//! Integration tests of `cascadesim::output::h5`: round trips, empty columns, byte-identical
//! output, atomic replacement, error reporting, and readability by `h5dump`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use cascadesim::output::h5::{
    AttrValue, Column, ColumnData, Group, H5Error, Stored, list_attrs, list_datasets, read_attr,
    read_attr_str, read_attr_u64, read_dataset, read_f64_column, write_h5_atomic,
};

/// A scenario-like TOML text: several kilobytes, newlines, both quote kinds, backslashes,
/// tabs and non-ASCII characters.
fn long_toml() -> String {
    let mut s = String::from("# scenario \"stress\" — ünïcødé ✓\n[meta]\nname = 'it''s'\n");
    for i in 0..200 {
        s.push_str(&format!(
            "[[assets]]\nsymbol = \"A{i}\"\nnote = \"quote \\\" and back\\\\slash\\tTab\"\nvol = {}\n\n",
            0.01 * f64::from(i)
        ));
    }
    assert!(s.len() > 8 * 1024);
    s
}

struct Data {
    loss: Vec<f64>,
    steps: Vec<u32>,
    flags: Vec<u8>,
    btc: Vec<f64>,
    root_col: Vec<f64>,
    empty: Vec<f64>,
    one: Vec<u32>,
}

impl Data {
    fn new(n: usize) -> Self {
        let loss = (0..n)
            .map(|i| {
                let x = i as f64;
                (x * 0.37).sin() * 1e6 + x.sqrt()
            })
            .chain([f64::NAN, f64::INFINITY, -0.0, f64::MIN_POSITIVE, f64::MAX])
            .collect();
        Self {
            loss,
            steps: (0..n as u32)
                .map(|i| i.wrapping_mul(2_654_435_761))
                .collect(),
            flags: (0..n).map(|i| (i % 3) as u8).collect(),
            btc: (0..n).map(|i| 1.0 / (1.0 + i as f64)).collect(),
            root_col: vec![1.5, -2.25],
            empty: Vec::new(),
            one: vec![u32::MAX],
        }
    }

    fn groups(&self) -> Vec<Group<'_>> {
        vec![
            Group {
                path: "paths".to_owned(),
                attrs: vec![
                    (
                        "n_paths".to_owned(),
                        AttrValue::U64(self.steps.len() as u64),
                    ),
                    ("label".to_owned(), AttrValue::from("per-path results")),
                ],
                columns: vec![
                    Column::new(
                        "loss",
                        "USD",
                        "final loss of the path",
                        self.loss.as_slice(),
                    ),
                    Column::new(
                        "steps",
                        "1",
                        "number of cascade steps",
                        self.steps.as_slice(),
                    ),
                    Column::new("flags", "", "bit flags", self.flags.as_slice()),
                    Column::new(
                        "empty",
                        "USD",
                        "a column with no rows",
                        self.empty.as_slice(),
                    ),
                    Column::new("one", "1", "a column with one row", self.one.as_slice()),
                ],
            },
            Group {
                path: "paths/by_asset/BTC".to_owned(),
                attrs: vec![("symbol".to_owned(), AttrValue::from("BTC"))],
                columns: vec![Column::new(
                    "drawdown",
                    "1",
                    "max drawdown, \"fraction\" of start",
                    ColumnData::F64(&self.btc),
                )],
            },
            Group {
                path: "/".to_owned(),
                attrs: vec![("in_root_group".to_owned(), AttrValue::I64(-3))],
                columns: vec![Column::new(
                    "root_col",
                    "m",
                    "a root dataset",
                    self.root_col.as_slice(),
                )],
            },
        ]
    }
}

fn root_attrs(toml: &str, seed: u64) -> Vec<(String, AttrValue)> {
    vec![
        ("scenario_toml".to_owned(), AttrValue::Str(toml.to_owned())),
        ("seed".to_owned(), AttrValue::U64(seed)),
        ("offset".to_owned(), AttrValue::I64(i64::MIN)),
        ("alpha".to_owned(), AttrValue::F64(0.1 + 0.2)),
        (
            "quantiles".to_owned(),
            AttrValue::F64s(vec![0.5, 0.99, 0.999]),
        ),
        ("no_quantiles".to_owned(), AttrValue::F64s(Vec::new())),
        ("empty_str".to_owned(), AttrValue::Str(String::new())),
    ]
}

fn write_sample(path: &Path, n: usize, seed: u64) {
    let data = Data::new(n);
    write_h5_atomic(path, &root_attrs(&long_toml(), seed), &data.groups()).unwrap();
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn temp_files_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

fn h5dump_available() -> bool {
    let found = Command::new("h5dump").arg("--version").output().is_ok();
    if !found {
        eprintln!("SKIPPED: `h5dump` is not on PATH (install hdf5-tools to run this test)");
    }
    found
}

#[test]
fn round_trip_values_and_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.h5");
    let data = Data::new(1000);
    let toml = long_toml();
    write_h5_atomic(&path, &root_attrs(&toml, 42), &data.groups()).unwrap();

    assert_eq!(
        bits(&read_f64_column(&path, "paths/loss").unwrap()),
        bits(&data.loss)
    );
    assert_eq!(
        bits(&read_f64_column(&path, "/paths/loss").unwrap()),
        bits(&data.loss)
    );
    let steps: Vec<f64> = data.steps.iter().map(|&s| f64::from(s)).collect();
    assert_eq!(read_f64_column(&path, "paths/steps").unwrap(), steps);
    let flags: Vec<f64> = data.flags.iter().map(|&s| f64::from(s)).collect();
    assert_eq!(read_f64_column(&path, "paths/flags").unwrap(), flags);
    assert_eq!(
        read_f64_column(&path, "paths/one").unwrap(),
        vec![f64::from(u32::MAX)]
    );
    assert_eq!(
        read_f64_column(&path, "paths/by_asset/BTC/drawdown").unwrap(),
        data.btc
    );
    assert_eq!(
        read_f64_column(&path, "root_col").unwrap(),
        vec![1.5, -2.25]
    );

    // root attributes, including the multi-kilobyte text, byte for byte
    assert_eq!(read_attr_str(&path, "/", "scenario_toml").unwrap(), toml);
    assert_eq!(read_attr_u64(&path, "/", "seed").unwrap(), 42);
    assert_eq!(
        read_attr(&path, "/", "offset").unwrap(),
        AttrValue::I64(i64::MIN)
    );
    assert_eq!(
        read_attr(&path, "/", "alpha").unwrap(),
        AttrValue::F64(0.1 + 0.2)
    );
    assert_eq!(
        read_attr(&path, "/", "quantiles").unwrap(),
        AttrValue::F64s(vec![0.5, 0.99, 0.999])
    );
    assert_eq!(
        read_attr(&path, "/", "no_quantiles").unwrap(),
        AttrValue::F64s(vec![])
    );
    assert_eq!(read_attr_str(&path, "/", "empty_str").unwrap(), "");
    assert_eq!(
        read_attr(&path, "", "in_root_group").unwrap(),
        AttrValue::I64(-3)
    );

    // group attributes
    assert_eq!(read_attr_u64(&path, "paths", "n_paths").unwrap(), 1000);
    assert_eq!(
        read_attr_str(&path, "paths/", "label").unwrap(),
        "per-path results"
    );
    assert_eq!(
        read_attr_str(&path, "paths/by_asset/BTC", "symbol").unwrap(),
        "BTC"
    );

    // dataset attributes
    assert_eq!(read_attr_str(&path, "paths/loss", "unit").unwrap(), "USD");
    assert_eq!(
        read_attr_str(&path, "paths/loss", "description").unwrap(),
        "final loss of the path"
    );
    assert_eq!(read_attr_str(&path, "paths/flags", "unit").unwrap(), "");
    assert_eq!(
        read_attr_str(&path, "paths/by_asset/BTC/drawdown", "description").unwrap(),
        "max drawdown, \"fraction\" of start"
    );

    // listing: sorted, datasets only (not the subgroup "by_asset")
    assert_eq!(
        list_datasets(&path, "paths").unwrap(),
        ["empty", "flags", "loss", "one", "steps"]
    );
    assert_eq!(
        list_datasets(&path, "paths/by_asset").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        list_datasets(&path, "paths/by_asset/BTC").unwrap(),
        ["drawdown"]
    );
    assert_eq!(list_datasets(&path, "/").unwrap(), ["root_col"]);
}

#[test]
fn zero_length_and_zero_path_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.h5");
    let data = Data::new(0);
    write_h5_atomic(&path, &root_attrs("", 0), &data.groups()).unwrap();

    assert_eq!(
        read_f64_column(&path, "paths/empty").unwrap(),
        Vec::<f64>::new()
    );
    assert_eq!(
        read_f64_column(&path, "paths/steps").unwrap(),
        Vec::<f64>::new()
    );
    assert_eq!(
        read_f64_column(&path, "paths/by_asset/BTC/drawdown").unwrap(),
        Vec::<f64>::new()
    );
    assert_eq!(read_attr_u64(&path, "paths", "n_paths").unwrap(), 0);
    assert_eq!(read_attr_str(&path, "paths/empty", "unit").unwrap(), "USD");
    assert_eq!(read_attr_str(&path, "/", "scenario_toml").unwrap(), "");
    // only the five NaN/inf/... sentinels remain in "loss"
    assert_eq!(read_f64_column(&path, "paths/loss").unwrap().len(), 5);
}

#[test]
fn larger_than_one_chunk_round_trips() {
    // 100_000 f64 = 800 kB, several chunks of at most 256 kB
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.h5");
    let values: Vec<f64> = (0..100_000).map(|i| f64::from(i).ln_1p()).collect();
    let groups = [Group {
        path: "paths".to_owned(),
        attrs: vec![],
        columns: vec![Column::new("x", "1", "log", values.as_slice())],
    }];
    write_h5_atomic(&path, &[], &groups).unwrap();
    assert_eq!(
        bits(&read_f64_column(&path, "paths/x").unwrap()),
        bits(&values)
    );
}

#[test]
fn same_content_gives_identical_bytes() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = dir_a.path().join("results.h5");
    let b = dir_b.path().join("other-name.h5");
    write_sample(&a, 500, 7);
    // HDF5 timestamps have one-second resolution: make sure the clock has moved on
    std::thread::sleep(Duration::from_millis(1100));
    // disturb allocator state between the two writes
    write_sample(&dir_b.path().join("noise.h5"), 3, 1);
    write_sample(&b, 500, 7);
    let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert!(bytes_a.len() > 1000);
    assert!(bytes_a == bytes_b, "two writes of the same content differ");

    // the comparison can fail: a different seed attribute gives different bytes
    let c = dir_b.path().join("c.h5");
    write_sample(&c, 500, 8);
    assert_ne!(bytes_a, fs::read(&c).unwrap());
}

const CHILD_ENV: &str = "CASCADESIM_H5_TEST_CHILD_OUT";

/// Helper run in a child process by other tests; does nothing when run directly.
#[test]
#[ignore = "helper for other tests, run in a child process"]
fn child_helper() {
    let Some(out) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let out = PathBuf::from(out);
    // provoke HDF5-level failures (their messages must not reach stderr) ...
    assert!(read_f64_column(&out.with_extension("missing"), "x").is_err());
    let not_hdf5 = out.with_extension("txt");
    fs::write(&not_hdf5, b"not an HDF5 file").unwrap();
    assert!(read_f64_column(&not_hdf5, "x").is_err());
    assert!(write_h5_atomic(&not_hdf5.join("sub.h5"), &[], &[]).is_err());
    // ... then write the sample file
    write_sample(&out, 500, 7);
    assert!(read_f64_column(&out, "paths/nope").is_err());
}

fn run_child(out: &Path) -> std::process::Output {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_helper", "--ignored", "--test-threads=1"])
        .env(CHILD_ENV, out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "child failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn identical_bytes_across_processes_and_no_library_noise() {
    let dir = tempfile::tempdir().unwrap();
    let in_child = dir.path().join("child.h5");
    let output = run_child(&in_child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("HDF5"),
        "HDF5 printed to stderr:\n{stderr}"
    );

    let here = dir.path().join("here.h5");
    write_sample(&here, 500, 7);
    assert!(fs::read(&here).unwrap() == fs::read(&in_child).unwrap());
}

fn assert_untouched_after_failed_write(groups: &[Group<'_>], expect: fn(&H5Error) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.h5");
    write_sample(&path, 50, 1);
    let before = fs::read(&path).unwrap();

    let err = write_h5_atomic(&path, &root_attrs("new", 2), groups).unwrap_err();
    assert!(expect(&err), "unexpected error: {err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "no path in: {err}"
    );
    assert_eq!(err.path(), path);
    assert!(
        fs::read(&path).unwrap() == before,
        "previous file was modified"
    );
    assert_eq!(temp_files_in(dir.path()), Vec::<String>::new());
    assert_eq!(read_attr_u64(&path, "/", "seed").unwrap(), 1);

    // and with no previous file, nothing at all is left behind
    let fresh = dir.path().join("fresh.h5");
    assert!(write_h5_atomic(&fresh, &[], groups).is_err());
    assert!(!fresh.exists());
    assert_eq!(temp_files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn invalid_column_name_mid_write_leaves_previous_file() {
    let x = vec![1.0; 10_000];
    let groups = [
        Group {
            path: "paths".to_owned(),
            attrs: vec![("a".to_owned(), AttrValue::U64(1))],
            columns: vec![Column::new(
                "ok",
                "1",
                "written before the error",
                x.as_slice(),
            )],
        },
        Group {
            path: "more".to_owned(),
            attrs: vec![],
            columns: vec![Column::new("bad/name", "1", "slash", x.as_slice())],
        },
    ];
    assert_untouched_after_failed_write(&groups, |e| {
        matches!(e, H5Error::Invalid { .. }) && e.to_string().contains("bad/name")
    });
}

#[test]
fn duplicate_column_name_mid_write_leaves_previous_file() {
    let x = vec![2.0; 100];
    let groups = [Group {
        path: "paths".to_owned(),
        attrs: vec![],
        columns: vec![
            Column::new("x", "1", "first", x.as_slice()),
            Column::new("x", "1", "duplicate", x.as_slice()),
        ],
    }];
    assert_untouched_after_failed_write(&groups, |e| {
        matches!(e, H5Error::Hdf5 { .. }) && e.to_string().contains("\"paths/x\"")
    });
}

#[test]
fn invalid_group_paths_and_attribute_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    for bad in ["a//b", "a/./b", "../a"] {
        let err = write_h5_atomic(&path, &[], &[Group::new(bad)]).unwrap_err();
        assert!(matches!(err, H5Error::Invalid { .. }), "{bad}: {err:?}");
    }
    let err = write_h5_atomic(&path, &[(String::new(), AttrValue::U64(1))], &[]).unwrap_err();
    assert!(matches!(err, H5Error::Invalid { .. }), "{err:?}");
    let err = write_h5_atomic(&path, &[("s".into(), AttrValue::from("a\0b"))], &[]).unwrap_err();
    assert!(matches!(err, H5Error::Invalid { .. }), "{err:?}");
    let dup = [
        ("s".to_owned(), AttrValue::U64(1)),
        ("s".to_owned(), AttrValue::U64(2)),
    ];
    assert!(matches!(
        write_h5_atomic(&path, &dup, &[]),
        Err(H5Error::Hdf5 { .. })
    ));
    // a group path that runs through a dataset
    let x = [1.0];
    let groups = [
        Group {
            path: "g".into(),
            attrs: vec![],
            columns: vec![Column::new("d", "", "", &x[..])],
        },
        Group::new("g/d/sub"),
    ];
    assert!(matches!(
        write_h5_atomic(&path, &[], &groups),
        Err(H5Error::Hdf5 { .. })
    ));
    assert!(!path.exists());
    assert_eq!(temp_files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn rewrite_replaces_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.h5");
    write_sample(&path, 10, 1);
    write_sample(&path, 20, 2);
    assert_eq!(read_attr_u64(&path, "/", "seed").unwrap(), 2);
    assert_eq!(read_f64_column(&path, "paths/steps").unwrap().len(), 20);
    assert_eq!(temp_files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn unwritable_directory_is_an_error_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // a regular file used as a directory: fails even when running as root
    let blocker = dir.path().join("blocker");
    fs::write(&blocker, b"x").unwrap();
    let path = blocker.join("results.h5");
    let err = write_h5_atomic(&path, &[], &[]).unwrap_err();
    assert!(matches!(err, H5Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // Printed as the program prints errors (the chain, `{:#}`), the cause appears once.
    let printed = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(printed.matches("(os error").count(), 1, "{printed}");

    let missing_dir = dir.path().join("no/such/dir/results.h5");
    let err = write_h5_atomic(&missing_dir, &[], &[]).unwrap_err();
    assert!(err.to_string().contains("no/such/dir/results.h5"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn reader_errors_name_the_file_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.h5");
    write_sample(&path, 5, 3);
    let shown = path.display().to_string();
    let check = |err: H5Error, variant: &str, needle: &str| {
        let msg = err.to_string();
        assert!(msg.contains(&shown), "no path in {msg}");
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
        assert!(
            format!("{err:?}").starts_with(variant),
            "{err:?} is not {variant}"
        );
    };
    check(
        read_f64_column(&path, "paths/nope").unwrap_err(),
        "NotFound",
        "paths/nope",
    );
    check(
        read_f64_column(&path, "nope/deeper/x").unwrap_err(),
        "NotFound",
        "nope/deeper/x",
    );
    check(
        read_f64_column(&path, "paths").unwrap_err(),
        "WrongType",
        "group",
    );
    check(
        read_attr_str(&path, "paths/loss", "nope").unwrap_err(),
        "NotFound",
        "nope",
    );
    check(
        read_attr_str(&path, "nope", "unit").unwrap_err(),
        "NotFound",
        "nope",
    );
    check(
        read_attr_u64(&path, "/", "scenario_toml").unwrap_err(),
        "WrongType",
        "string",
    );
    check(
        read_attr_u64(&path, "/", "offset").unwrap_err(),
        "WrongType",
        "integer",
    );
    check(
        read_attr_str(&path, "/", "seed").unwrap_err(),
        "WrongType",
        "seed",
    );
    check(
        list_datasets(&path, "paths/loss").unwrap_err(),
        "WrongType",
        "dataset",
    );
    check(
        list_datasets(&path, "nope").unwrap_err(),
        "NotFound",
        "nope",
    );

    let missing = dir.path().join("missing.h5");
    let err = read_f64_column(&missing, "x").unwrap_err();
    assert!(
        matches!(err, H5Error::Io { .. }) && err.to_string().contains("missing.h5"),
        "{err}"
    );
    let junk = dir.path().join("junk.h5");
    fs::write(&junk, b"definitely not HDF5").unwrap();
    let err = list_datasets(&junk, "/").unwrap_err();
    assert!(
        matches!(err, H5Error::Hdf5 { .. }) && err.to_string().contains("junk.h5"),
        "{err}"
    );
}

#[test]
fn h5dump_reads_the_file() {
    if !h5dump_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.h5");
    write_sample(&path, 100, 9);

    let out = Command::new("h5dump")
        .arg("-H")
        .arg("-p")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "h5dump -H failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = String::from_utf8_lossy(&out.stdout);
    for name in [
        "loss", "steps", "flags", "empty", "one", "drawdown", "root_col",
    ] {
        assert!(
            header.contains(&format!("DATASET \"{name}\"")),
            "{name} missing:\n{header}"
        );
    }
    assert!(header.contains("GROUP \"by_asset\""), "{header}");
    assert!(
        header.contains("H5T_IEEE_F64LE") && header.contains("H5T_STD_U32LE"),
        "{header}"
    );
    assert!(header.contains("H5T_STD_U8LE"), "{header}");
    assert!(
        header.contains("DATASPACE  SIMPLE { ( 0 ) / ( 0 ) }"),
        "{header}"
    );
    assert!(
        header.contains("COMPRESSION DEFLATE { LEVEL 4 }"),
        "{header}"
    );
    assert!(header.contains("SHUFFLE"), "{header}");

    let out = Command::new("h5dump")
        .arg("-A")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "h5dump -A failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let attrs = String::from_utf8_lossy(&out.stdout);
    assert!(attrs.contains("CSET H5T_CSET_UTF8"), "{attrs}");
    assert!(attrs.contains("\"final loss of the path\""), "{attrs}");
    assert!(attrs.contains("\"USD\""), "{attrs}");
    assert!(attrs.contains("(0): 9"), "{attrs}");
    assert!(attrs.contains("[[assets]]"), "{attrs}");
}

#[test]
fn intermediate_group_can_be_described_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    let x = [3.0, 4.0];
    let groups = [
        Group {
            path: "a/b".into(),
            attrs: vec![],
            columns: vec![Column::new("x", "", "", &x[..])],
        },
        Group {
            path: "a".into(),
            attrs: vec![("k".into(), AttrValue::U64(5))],
            columns: vec![Column::new("y", "", "", &x[..])],
        },
    ];
    write_h5_atomic(&path, &[], &groups).unwrap();
    assert_eq!(read_attr_u64(&path, "a", "k").unwrap(), 5);
    assert_eq!(list_datasets(&path, "a").unwrap(), ["y"]);
    assert_eq!(read_f64_column(&path, "a/b/x").unwrap(), x);
}

/// Booleans are HDF5's `{FALSE = 0, TRUE = 1}` enum over int8 (h5py's `bool`) and read back as
/// 0/1; a column's scale is attached as a dimension scale (`CLASS`, `NAME`, `DIMENSION_LIST`,
/// which `h5dump` shows) and `missing_value` has the column's own type.
#[test]
fn booleans_dimension_scales_and_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    let ids: Vec<u64> = (10..15).collect();
    let flags: Vec<u8> = vec![0, 1, 1, 0, 1];
    let at: Vec<u32> = vec![0, 3, 7, 0, 2];
    let m: Vec<f64> = (0..6).map(f64::from).collect();
    let rows = [0.0, 1.0];
    let cols = [5.0, 6.0, 7.0];
    let groups = [
        Group {
            path: "paths".into(),
            attrs: vec![],
            columns: vec![
                Column::new("path", "", "ids", ColumnData::U64(&ids)).as_scale(),
                Column::new("cascade", "0/1", "flag", ColumnData::Bool(&flags))
                    .with_dims(&["path"]),
                Column::new("at", "step", "step or never", at.as_slice())
                    .with_dims(&["path"])
                    .with_missing_value(0),
            ],
        },
        Group {
            path: "grid".into(),
            attrs: vec![],
            columns: vec![
                Column::new("m", "", "", ColumnData::F64Matrix { data: &m, cols: 3 })
                    .with_dims(&["row", "col"]),
                Column::new("row", "", "", &rows[..]).as_scale(),
                Column::new("col", "", "", &cols[..]).as_scale(),
            ],
        },
    ];
    write_h5_atomic(&path, &[], &groups).unwrap();
    assert_eq!(
        read_f64_column(&path, "paths/cascade").unwrap(),
        [0.0, 1.0, 1.0, 0.0, 1.0]
    );
    let (stored, shape) = cascadesim::output::h5::read_dataset(&path, "paths/cascade", 5).unwrap();
    assert_eq!(stored, cascadesim::output::h5::Stored::Bool(flags.clone()));
    assert_eq!(shape, [5]);
    if !h5dump_available() {
        return;
    }
    let out = Command::new("h5dump")
        .arg("-A")
        .arg(&path)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{dump}");
    for needle in [
        "\"FALSE\"            0;",
        "\"TRUE\"             1;",
        "ATTRIBUTE \"CLASS\"",
        "\"DIMENSION_SCALE\"",
        "ATTRIBUTE \"DIMENSION_LIST\"",
        "ATTRIBUTE \"REFERENCE_LIST\"",
    ] {
        assert!(dump.contains(needle), "{needle} missing:\n{dump}");
    }
    let out = Command::new("h5dump")
        .args(["-a", "/paths/at/missing_value"])
        .arg(&path)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        dump.contains("H5T_STD_U32LE") && dump.contains("(0): 0"),
        "{dump}"
    );
}

/// A scale that is missing, not a scale, or of the wrong length is refused, and the file is
/// not written.
#[test]
fn a_dimension_without_its_scale_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    let x = [1.0, 2.0, 3.0];
    let short = [1.0, 2.0];
    for (scale, name) in [
        (Column::new("p", "", "", &short[..]).as_scale(), "p"),
        (Column::new("p", "", "", &x[..]), "p"),
        (Column::new("p", "", "", &x[..]).as_scale(), "q"),
    ] {
        let dims = [name];
        let groups = [Group {
            path: "g".into(),
            attrs: vec![],
            columns: vec![scale, Column::new("x", "", "", &x[..]).with_dims(&dims)],
        }];
        let err = write_h5_atomic(&path, &[], &groups).unwrap_err();
        assert!(
            matches!(err, H5Error::Invalid { .. })
                && err.to_string().contains("dimension 0 of \"g/x\""),
            "{err}"
        );
        assert!(!path.exists());
    }
}

/// A results file written by libhdf5 (main's binary before the switch to the pure-Rust
/// crates, `tests/data/libhdf5/results.h5`: `cascadesim run tests/data/tiny.toml --paths 40
/// --seed 3 --threads 1`) is still read: `report` rebuilds from it the `summary.json` that
/// run wrote, which the file also holds as its `summary_json` attribute; its flags read as
/// booleans and its dimension scale as a scale.
#[test]
fn files_written_by_libhdf5_are_still_read() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libhdf5/results.h5");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.h5");
    fs::copy(&fixture, &file).unwrap();
    let out = common::cli::run_in(
        dir.path(),
        &["report", "results.h5", "--out", "rebuilt", "-q"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt = fs::read_to_string(dir.path().join("rebuilt/summary.json")).unwrap();
    let stored = read_attr_str(&file, "/", "summary_json").unwrap();
    assert_eq!(rebuilt.trim_end(), stored);
    let (cascade, shape) = read_dataset(&file, "paths/cascade", 1000).unwrap();
    assert_eq!(shape, [40]);
    assert!(matches!(cascade, Stored::Bool(ref b) if b.iter().all(|&x| x <= 1)));
    let names = list_attrs(&file, "paths/path").unwrap();
    assert!(names.iter().any(|n| n == "CLASS"), "{names:?}");
}

/// A column of more than 64 chunks has a two-level chunk index (a version-1 B-tree node
/// holds 64 chunks): our reader and libhdf5 (`h5dump`) read every value, the edge chunk's
/// last ones included.
#[test]
fn a_two_level_chunk_index_is_read_by_both_readers() {
    let per_chunk = cascadesim::output::h5::CHUNK_BYTES / 8;
    let n = 70 * per_chunk + 5;
    let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.h5");
    let groups = [Group {
        path: "paths".into(),
        attrs: vec![],
        columns: vec![Column::new("x", "1", "many chunks", x.as_slice())],
    }];
    write_h5_atomic(&path, &[], &groups).unwrap();
    assert!(read_f64_column(&path, "paths/x").unwrap() == x);
    if !h5dump_available() {
        return;
    }
    let start = n - 3;
    let out = Command::new("h5dump")
        .args([
            "-d",
            "/paths/x",
            "-m",
            "%.1f",
            "-s",
            &start.to_string(),
            "-c",
            "3",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "h5dump failed: {why}");
    for (i, v) in x.iter().enumerate().skip(start) {
        let expect = format!("({i}): {v:.1}");
        assert!(text.contains(&expect), "{expect} not in:\n{text}");
    }
}

//! The memory guard reads the limits that apply to the process (issue 20): under
//! `ulimit -v` (RLIMIT_AS) a run too large for the limit exits 2 before allocating, naming
//! the limit, and writes nothing (it used to pass the guard, which read only MemAvailable,
//! and abort with SIGABRT mid-run).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_run_over_the_address_space_limit_is_refused_before_it_starts() {
    let d = tempfile::tempdir().unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny.toml");
    std::fs::copy(src, d.path().join("tiny.toml")).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_cascadesim"));
    c.args(["run", "tiny.toml", "--paths", "20000000", "-q"])
        .current_dir(d.path());
    // 1.5 GiB of address space: enough to start, not for 20 million paths (a whole run
    // streams its columns, but its statistics read back a few at a time: 2.4 GiB).
    let limit = libc::rlimit {
        rlim_cur: 1536 << 20,
        rlim_max: 1536 << 20,
    };
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        c.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("20000000 paths of 1 asset over 60 steps"),
        "{err}"
    );
    assert!(err.contains("(ulimit -v (RLIMIT_AS))"), "{err}");
    assert!(
        !d.path().join("results").exists(),
        "the run wrote something"
    );
}

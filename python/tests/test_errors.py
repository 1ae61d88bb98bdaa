"""Errors: an invalid scenario raises `ScenarioError` with the binary's own message; other
exit codes, a missing binary and files that are not results raise their own classes."""

import shutil
import stat
import subprocess

import h5py
import numpy as np
import pytest

import cascadesim

from conftest import DATA, ROOT

INVALID = DATA / "invalid_many.toml"


def test_an_invalid_scenario_raises_scenario_error_with_every_problem(binary, tmp_path):
    direct = subprocess.run(
        [binary, "run", str(INVALID), "--quiet", "--out", str(tmp_path / "direct")],
        capture_output=True,
        text=True,
    )
    assert direct.returncode == 2
    with pytest.raises(cascadesim.ScenarioError) as caught:
        cascadesim.run(INVALID, paths=10, out=tmp_path / "py")
    err = caught.value
    assert isinstance(err, ValueError)
    assert str(err) == direct.stderr.strip()
    assert "8 problems found" in str(err)
    assert len(err.problems) == 8
    assert any("populations[0].long_share" in p for p in err.problems)
    assert not (tmp_path / "py" / "invalid_many").exists()


def test_validate_raises_the_same_problems(binary):
    with pytest.raises(cascadesim.ScenarioError) as caught:
        cascadesim.validate(INVALID)
    assert len(caught.value.problems) == 8
    cascadesim.validate(DATA / "tiny.toml")  # a valid one returns


def test_a_missing_scenario_file_is_a_scenario_error(binary, tmp_path):
    with pytest.raises(cascadesim.ScenarioError, match="cannot read scenario file"):
        cascadesim.run(tmp_path / "nope.toml")


def test_bad_arguments_are_refused_before_running(binary):
    with pytest.raises(TypeError):
        cascadesim.run(DATA / "tiny.toml", paths=-1)
    with pytest.raises(TypeError):
        cascadesim.run(DATA / "tiny.toml", seed=1.5)


def _fake_binary(tmp_path, status, stderr):
    fake = tmp_path / f"fake-{status}"
    fake.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit {status}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def test_exit_status_1_is_a_run_error(tmp_path):
    fake = _fake_binary(tmp_path, 1, "error: disk full")
    with pytest.raises(cascadesim.RunError, match="disk full") as caught:
        cascadesim.run(DATA / "tiny.toml", binary=fake, out=tmp_path)
    assert caught.value.returncode == 1
    assert not isinstance(caught.value, ValueError)


def test_exit_status_130_is_a_keyboard_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        cascadesim.run(DATA / "tiny.toml", binary=_fake_binary(tmp_path, 130, "interrupted"))


def test_the_binary_is_looked_for_in_order(tmp_path, monkeypatch):
    fake = _fake_binary(tmp_path, 0, "")
    monkeypatch.setenv("CASCADESIM_BIN", str(fake))
    assert cascadesim.find_binary() == str(fake)
    assert cascadesim.find_binary(binary=fake) == str(fake)
    monkeypatch.setenv("CASCADESIM_BIN", str(tmp_path / "missing"))
    with pytest.raises(cascadesim.BinaryNotFoundError, match="CASCADESIM_BIN="):
        cascadesim.find_binary()
    # Nothing set, nothing on PATH: the checkout's build, under CARGO_TARGET_DIR when set.
    monkeypatch.delenv("CASCADESIM_BIN")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.chdir(ROOT)
    elsewhere = tmp_path / "elsewhere" / "release" / "cascadesim"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(fake.read_bytes())
    elsewhere.chmod(fake.stat().st_mode)
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path / "elsewhere"))
    assert cascadesim.find_binary() == str(elsewhere)
    monkeypatch.delenv("CARGO_TARGET_DIR")
    built = ROOT / "target" / "release" / "cascadesim"
    if built.is_file():
        assert cascadesim.find_binary() == str(built)
    else:
        with pytest.raises(cascadesim.BinaryNotFoundError) as caught:
            cascadesim.find_binary()
        message = str(caught.value)
        assert "CASCADESIM_BIN" in message and "PATH" in message
        assert str(built) in message


def test_the_error_names_every_place_when_no_checkout_is_around(tmp_path, monkeypatch):
    monkeypatch.delenv("CASCADESIM_BIN", raising=False)
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cascadesim._binary, "__file__", str(tmp_path / "x" / "_binary.py"))
    with pytest.raises(cascadesim.BinaryNotFoundError) as caught:
        cascadesim.find_binary()
    message = str(caught.value)
    for place in ("CASCADESIM_BIN", "`cascadesim` on PATH", "target/release/cascadesim"):
        assert place in message
    assert isinstance(caught.value, FileNotFoundError)


def test_loading_what_is_not_a_run(tmp_path, binary):
    with pytest.raises(FileNotFoundError):
        cascadesim.load(tmp_path / "nothing")
    with pytest.raises(cascadesim.ResultsError, match="no results.h5"):
        cascadesim.load(tmp_path)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(cascadesim.ResultsError, match="not an HDF5 file"):
        cascadesim.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["x"] = 1
    with pytest.raises(cascadesim.ResultsError, match="not a cascadesim results file"):
        cascadesim.load(tmp_path / "other.h5")


def test_a_shard_file_is_refused_with_a_hint(binary, tmp_path):
    subprocess.run(
        [
            binary,
            "run",
            str(DATA / "tiny.toml"),
            "--paths",
            "20",
            "--shard",
            "0/2",
            "--quiet",
            "--out",
            str(tmp_path),
        ],
        check=True,
    )
    with pytest.raises(cascadesim.ResultsError, match="merge"):
        cascadesim.load(tmp_path / "tiny-shards" / "shard-0-of-2.h5")


def test_a_by_trigger_matrix_of_the_wrong_shape_or_scale_is_refused(cross, tmp_path):
    """A tampered cross-margin matrix raises `ResultsError` naming the dataset, not an
    IndexError deep inside pandas."""
    for case in ("shape", "scale"):
        copy = tmp_path / f"{case}.h5"
        shutil.copy(cross.h5_path, copy)
        with h5py.File(copy, "r+") as f:
            group = f["assets"]["ETH"]
            if case == "shape":
                del group["cross_margin_liquidated_by_trigger"]
                group["cross_margin_liquidated_by_trigger"] = np.zeros((3, 2))
            else:
                group["trigger_asset"][1] = 7
        with pytest.raises(cascadesim.ResultsError) as caught:
            cascadesim.load(copy)
        wanted = "cross_margin_liquidated_by_trigger" if case == "shape" else "trigger_asset"
        assert f"/assets/ETH/{wanted}" in str(caught.value)

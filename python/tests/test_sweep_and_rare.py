"""`sweep`, and a rare-event (splitting) run: rows instead of paths, warnings as warnings."""

import numpy as np
import pytest

import cascadesim

from conftest import DATA

PARAM = "assets[0].book.depth_usd"


def test_a_sweep_reads_its_points_and_differences(binary, tmp_path):
    s = cascadesim.sweep(DATA / "tiny.toml", [f"{PARAM}=100e6:300e6:3"], paths=60, out=tmp_path)
    assert s.parameters == [PARAM]
    assert list(s.points.index) == [0, 1, 2]
    np.testing.assert_allclose(s.points[PARAM], [100e6, 200e6, 300e6])
    assert (
        (s.points["cascade_ci_low"] <= s.points["cascade_probability"])
        & (s.points["cascade_probability"] <= s.points["cascade_ci_high"])
    ).all()
    assert len(s.differences) == 2
    assert (s.folder / "sweep.h5").is_file()


def test_a_splitting_run_has_rows_and_its_warnings_arrive_as_warnings(binary, tmp_path):
    with pytest.warns(cascadesim.CascadesimWarning) as caught:
        r = cascadesim.run(
            DATA / "rare" / "drawdown.toml", rare_event="split", paths=100, out=tmp_path
        )
    messages = [str(w.message) for w in caught]
    assert any("not reliable" in m for m in messages), messages
    assert any(m.startswith("plots/path_*") for m in messages), messages
    assert r.paths.index.name == "row"
    assert "weight" in r.paths and "root_path" in r.paths
    assert r.summary["rare_event"]["estimator"] == "splitting"
    assert r.populations.empty
    assert r.to_xarray().sizes["row"] == len(r.paths)

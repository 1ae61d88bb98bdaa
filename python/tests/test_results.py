"""`run` and `load` against what the files hold, read independently with h5py and json."""

import json

import h5py
import numpy as np
import pandas as pd

import cascadesim

from conftest import INDEX_SCALES, raw


def test_paths_holds_every_dataset_of_the_file_one_row_per_path(any_run):
    stored = raw(any_run, "paths")
    assert list(any_run.paths.columns) == list(stored)
    n = int(any_run.attrs["paths"])
    assert len(any_run.paths) == n
    assert any_run.paths.index.name == "path"
    assert list(any_run.paths.index) == list(range(n))
    for name, values in stored.items():
        column = any_run.paths[name]
        if name in cascadesim.NEVER:
            continue  # test_never_is_a_missing_value
        if any_run.units[name] == cascadesim.BOOL_UNIT:
            assert column.dtype == bool, name
            np.testing.assert_array_equal(column.to_numpy(), values == 1)
        else:
            assert column.dtype == values.dtype, name
            np.testing.assert_array_equal(column.to_numpy(), values)


def test_flags_are_bool_columns_and_only_flags(any_run):
    for frame, table in ((any_run.paths, "paths"), (any_run.populations, "populations")):
        for column, meta in any_run.meta.get(table, {}).items():
            is_flag = meta.get("unit") == cascadesim.BOOL_UNIT
            assert (frame[column].dtype == bool) == is_flag, (table, column)
    assert any_run.paths["cascade"].dtype == bool
    assert any_run.paths["fund_exhausted"].dtype == bool


def test_flags_are_stored_as_bool_and_every_never_value_is_in_the_file(any_run):
    """The file says it itself: flags are h5py booleans (no u8 left), and every column whose
    description promises a sentinel ("0 if none") has the `missing_value` attribute."""
    found = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        assert obj.dtype != np.uint8, name
        if obj.dtype == bool:
            assert obj.attrs["unit"] == cascadesim.BOOL_UNIT, name
        if "if none" in str(obj.attrs.get("description", "")):
            assert obj.attrs["missing_value"] == 0, name
            found.append(name.rsplit("/", 1)[-1])

    with h5py.File(any_run.h5_path, "r") as f:
        f.visititems(visit)
    assert set(found) <= set(cascadesim.NEVER), found
    assert "fund_exhausted_at" in found


def test_files_of_the_old_layout_read_the_same(venues, tmp_path):
    """Files written before booleans, dimension scales and `missing_value` (u8 flags with
    unit `0/1`, "never" only in `NEVER`) give the same tables."""
    old = tmp_path / "old.h5"
    with h5py.File(venues.h5_path, "r") as src, h5py.File(old, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                group = dst.require_group(name)
                for k, v in obj.attrs.items():
                    group.attrs[k] = v
            elif name.rsplit("/", 1)[-1] not in INDEX_SCALES:
                data = obj[()]
                if data.dtype == bool:
                    data = data.astype(np.uint8)
                ds = dst.create_dataset(name, data=data)
                for k in ("unit", "description"):
                    ds.attrs[k] = obj.attrs[k]

        src.visititems(copy)
    again = cascadesim.load(old)
    pd.testing.assert_frame_equal(again.paths, venues.paths)
    pd.testing.assert_frame_equal(again.assets, venues.assets)
    pd.testing.assert_frame_equal(again.populations, venues.populations)
    assert again.paths["fund_exhausted_at"].isna().any()


def test_generic_readers_name_the_dimensions(venues):
    """xarray through h5netcdf, without this package, finds `path`, the flags as bools and
    "never" as NaN, from the file alone."""
    import warnings

    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = xr.open_dataset(venues.h5_path, group="paths", engine="h5netcdf")
        heat = xr.open_dataset(venues.h5_path, group="realised_heatmap/BTC", engine="h5netcdf")
    assert dict(paths.sizes) == {"path": len(venues.paths)}
    np.testing.assert_array_equal(paths["path"].values, venues.paths.index.to_numpy())
    assert paths["cascade"].dtype == bool
    at = paths["fund_exhausted_at"]
    np.testing.assert_array_equal(at.isnull().values, venues.paths["fund_exhausted_at"].isna())
    assert heat["notional"].dims == ("time_bucket", "price_bin")
    np.testing.assert_array_equal(heat["price_bin"].values, heat["price_edges"].values[:-1])


def test_never_is_a_missing_value(venues):
    stored = raw(venues, "paths")["fund_exhausted_at"]
    column = venues.paths["fund_exhausted_at"]
    assert column.dtype == "UInt32"
    never = stored == 0
    assert never.any() and (~never).any(), "the fixture must have paths of both kinds"
    np.testing.assert_array_equal(column.isna().to_numpy(), never)
    np.testing.assert_array_equal(column[~never].to_numpy(dtype="int64"), stored[~never])
    # A fund ran dry exactly on the paths that have a step.
    np.testing.assert_array_equal(venues.paths["fund_exhausted"].to_numpy(), ~never)


def test_assets_is_long_one_row_per_path_and_asset_in_scenario_order(any_run):
    order = [a["name"] for a in any_run.scenario["assets"]]
    assert any_run.asset_names == order
    assets = any_run.assets
    assert list(assets.columns[:2]) == ["path", "asset"]
    assert list(assets["asset"].cat.categories) == order
    assert assets["asset"].cat.ordered
    assert len(assets) == len(any_run.paths) * len(order)
    assert list(assets["asset"].iloc[: len(order)]) == order
    assert not assets.duplicated(["path", "asset"]).any()
    for name in order:
        stored = raw(any_run, f"assets/{name}")
        rows = assets[assets["asset"] == name].set_index("path")
        assert list(rows.index) == list(any_run.paths.index)
        for column, values in stored.items():
            if values.ndim == 2:  # the cross-margin matrix: its own table, tested below
                assert column not in rows.columns
                continue
            np.testing.assert_array_equal(rows[column].to_numpy(), values)


def test_the_scenario_order_is_not_the_files_group_order(two_assets):
    with h5py.File(two_assets.h5_path, "r") as f:
        assert list(f["assets"]) == ["BTC", "ETH"]
    assert two_assets.asset_names == ["ETH", "BTC"]
    assert list(two_assets.assets["asset"].iloc[:2]) == ["ETH", "BTC"]


def test_a_column_only_some_assets_have_is_missing_for_the_others(venues):
    assert "max_venue_spread" in venues.assets
    assert venues.assets["max_venue_spread"].notna().all()  # its only asset has venues


def test_populations_long_format(lending):
    info = lending.population_info
    assert list(info["name"]) == [p.get("name", "") for p in lending.scenario["populations"]]
    pops = lending.populations
    assert len(pops) == len(lending.paths) * len(info)
    for k in info["population"]:
        stored = raw(lending, f"populations/{k}")
        rows = pops[pops["population"] == k]
        for column, values in stored.items():
            expected = values == 1 if values.dtype == np.uint8 else values
            np.testing.assert_array_equal(rows[column].to_numpy(), expected)


def test_lending_columns_are_read(lending):
    for column in ("lending_liquidation_count", "lending_repaid_debt", "lending_bad_debt"):
        assert column in lending.paths


def test_summary_is_summary_json_and_the_files_copy(any_run):
    on_disk = json.loads((any_run.folder / "summary.json").read_text())
    assert any_run.summary == on_disk
    assert any_run.summary == json.loads(any_run.attrs["summary_json"])
    assert any_run.summary["paths"] == len(any_run.paths)
    assert any_run.summary["assets"] == any_run.asset_names


def test_load_folder_and_file_give_the_run(btc):
    for target in (btc.folder, btc.folder / "results.h5", str(btc.folder)):
        again = cascadesim.load(target)
        pd.testing.assert_frame_equal(again.paths, btc.paths)
        pd.testing.assert_frame_equal(again.assets, btc.assets)
        pd.testing.assert_frame_equal(again.populations, btc.populations)
        assert again.summary == btc.summary


def test_run_arguments_reach_the_binary(btc):
    assert btc.summary["seed"] == 7 and btc.attrs["seed"] == 7
    assert btc.summary["paths"] == 120
    assert btc.attrs["scenario_name"] == btc.scenario["scenario"]["name"]


def test_realised_heatmap_frames(btc):
    frame = btc.realised["BTC"]
    stored = raw(btc, "realised_heatmap/BTC")
    np.testing.assert_array_equal(frame.to_numpy(), stored["notional"])
    np.testing.assert_array_equal(frame.columns.to_numpy(), stored["price_edges"][:-1])
    np.testing.assert_array_equal(frame.index.to_numpy(), stored["time_edges"][:-1])


def test_traces_by_path_and_asset(traced):
    with h5py.File(traced.h5_path, "r") as f:
        ids = [int(p) for p in f["traces"].attrs["path_ids"].split(",")]
        steps = int(f.attrs["steps"])
        mark = f["traces/17/BTC/mark_price"][()]
    assert 0 in ids and 17 in ids and len(ids) >= 3
    assert sorted(p for p, _ in traced.traces) == sorted(ids)
    assert all(len(t) == steps for t in traced.traces.values())
    np.testing.assert_array_equal(traced.traces[(17, "BTC")]["mark_price"].to_numpy(), mark)


def test_tails_curves(btc):
    assert set(btc.tails) == {"max_drawdown", "amplification", "liquidated_notional", "bad_debt"}
    assert len(btc.tails["max_drawdown"]["hill_xi"]) > 0


def test_a_temporary_run_folder_lives_as_long_as_its_results(binary):
    from conftest import DATA

    r = cascadesim.run(DATA / "tiny.toml", paths=20)
    folder = r.folder
    assert (folder / "report.html").is_file() and (folder / "plots").is_dir()
    del r
    import gc

    gc.collect()
    assert not folder.exists()


def test_cross_margin_by_trigger_is_the_file_s_matrix_and_adds_up(cross, btc):
    """One row per (path, asset, trigger asset) with the file's values; per (path, asset)
    the row sums to the closed notional, the entries off the asset's own column to the part
    from other assets, and the means are summary.json's `by_trigger_asset`."""
    long = cross.cross_margin_by_trigger
    names = cross.asset_names
    assert list(long.columns) == ["path", "asset", "trigger_asset", "notional"]
    assert len(long) == len(cross.paths) * len(names) ** 2
    assert list(long["trigger_asset"].cat.categories) == names
    assert cross.meta["cross_margin_by_trigger"]["notional"]["unit"] == "USD"
    with h5py.File(cross.h5_path, "r") as f:
        for name in names:
            stored = f["assets"][name]["cross_margin_liquidated_by_trigger"][()]
            mine = long[long["asset"] == name].pivot(
                index="path", columns="trigger_asset", values="notional"
            )
            np.testing.assert_array_equal(mine.to_numpy(), stored)
    assets = cross.assets.set_index(["path", "asset"])
    by_path = long.groupby(["path", "asset"], observed=True)["notional"].sum()
    np.testing.assert_allclose(
        by_path.to_numpy(),
        assets.loc[by_path.index, "cross_margin_liquidated_notional"].to_numpy(),
        rtol=1e-12,
    )
    off = long[long["asset"] != long["trigger_asset"]]
    off = off.groupby(["path", "asset"], observed=True)["notional"].sum()
    np.testing.assert_allclose(
        off.to_numpy(),
        assets.loc[off.index, "cross_margin_liquidated_by_other"].to_numpy(),
        rtol=1e-12,
    )
    eth = [c for c in cross.summary["cross_margin"] if c["asset"] == "ETH"][0]
    assert eth["liquidated_by_other_mean"] > 0  # the bundled statement: ETH closed by BTC
    means = long.groupby(["asset", "trigger_asset"], observed=True)["notional"].mean()
    for c in cross.summary["cross_margin"]:
        for t in c["by_trigger_asset"]:
            assert np.isclose(means[(c["asset"], t["asset"])], t["notional_mean"], rtol=1e-12)
    empty = btc.cross_margin_by_trigger
    assert len(empty) == 0
    assert list(empty.columns) == ["path", "asset", "trigger_asset", "notional"]

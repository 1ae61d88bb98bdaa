"""`Results.to_xarray()`: named dimensions, coordinates, and the same numbers as the file."""

import h5py
import numpy as np

from conftest import raw


def test_dimensions_and_coordinates(two_assets):
    ds = two_assets.to_xarray()
    n = len(two_assets.paths)
    assert ds.sizes["path"] == n and ds.sizes["asset"] == 2
    assert list(ds["asset"].values) == ["ETH", "BTC"]
    assert list(ds["path"].values) == list(range(n))
    assert ds["max_drawdown"].dims == ("path",)
    assert ds["asset_max_drawdown"].dims == ("path", "asset")
    assert ds["population_liquidated_notional"].dims == ("path", "population")
    assert list(ds["population_name"].values) == list(two_assets.population_info["name"])
    assert list(ds["population_asset"].values) == list(two_assets.population_info["asset"])
    assert ds["realised_notional"].dims == ("asset", "time_bucket", "price_bin")
    assert ds["price_low"].dims == ("asset", "price_bin")
    assert ds.attrs["seed"] == 3 and ds.attrs["scenario_name"] == two_assets.attrs["scenario_name"]


def test_values_and_attributes_match_the_file(two_assets):
    ds = two_assets.to_xarray()
    paths = raw(two_assets, "paths")
    np.testing.assert_array_equal(ds["liquidated_notional"].values, paths["liquidated_notional"])
    assert ds["liquidated_notional"].attrs["unit"] == "USD"
    assert ds["liquidated_notional"].attrs["description"]
    for asset in ("ETH", "BTC"):
        stored = raw(two_assets, f"assets/{asset}")
        for name, values in stored.items():
            np.testing.assert_array_equal(ds[f"asset_{name}"].sel(asset=asset).values, values)
        heat = raw(two_assets, f"realised_heatmap/{asset}")
        np.testing.assert_array_equal(
            ds["realised_notional"].sel(asset=asset).values, heat["notional"]
        )
        np.testing.assert_array_equal(
            ds["price_low"].sel(asset=asset).values, heat["price_edges"][:-1]
        )
        np.testing.assert_array_equal(
            ds["price_high"].sel(asset=asset).values, heat["price_edges"][1:]
        )
    edges = raw(two_assets, "realised_heatmap/ETH")["time_edges"]
    np.testing.assert_array_equal(ds["bucket_first_step"].values, edges[:-1])
    np.testing.assert_array_equal(ds["bucket_end_step"].values, edges[1:])


def test_the_heatmap_adds_up_to_the_liquidated_notional(btc):
    ds = btc.to_xarray()
    total = float(ds["realised_notional"].sum())
    # Stored in whole cents per step (docs/output.md): at most half a cent per step and path.
    tolerance = 0.005 * int(btc.attrs["steps"]) * len(btc.paths)
    assert abs(total - float(ds["liquidated_notional"].sum())) <= tolerance
    assert total > 0


def test_flags_are_bool_and_never_is_nan(venues):
    ds = venues.to_xarray()
    assert ds["cascade"].dtype == bool
    assert ds["fund_exhausted"].dtype == bool
    assert ds["population_fund_exhausted"].dtype == bool
    at = ds["fund_exhausted_at"]
    assert at.dtype == np.float64
    stored = raw(venues, "paths")["fund_exhausted_at"]
    np.testing.assert_array_equal(np.isnan(at.values), stored == 0)
    np.testing.assert_array_equal(at.values[stored > 0], stored[stored > 0])
    assert "never" in at.attrs["missing"]


def test_traces_have_path_asset_step_dims(traced):
    ds = traced.to_xarray()
    assert ds["trace_mark_price"].dims == ("traced_path", "asset", "step")
    assert ds.sizes["step"] == int(traced.attrs["steps"])
    np.testing.assert_array_equal(
        ds["trace_mark_price"].sel(traced_path=17, asset="BTC").values,
        traced.traces[(17, "BTC")]["mark_price"].to_numpy(),
    )


def test_cross_margin_by_trigger_has_path_asset_trigger_dims(cross, btc):
    ds = cross.to_xarray()
    v = ds["asset_cross_margin_liquidated_by_trigger"]
    assert v.dims == ("path", "asset", "trigger_asset")
    assert list(ds["trigger_asset"].values) == cross.asset_names
    assert v.attrs["unit"] == "USD"
    for name in cross.asset_names:
        with h5py.File(cross.h5_path, "r") as f:
            stored = f["assets"][name]["cross_margin_liquidated_by_trigger"][()]
        np.testing.assert_array_equal(v.sel(asset=name).values, stored)
    assert "asset_cross_margin_liquidated_by_trigger" not in btc.to_xarray()

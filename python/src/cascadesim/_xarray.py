"""A run as one `xarray.Dataset` with named dimensions. The file names its own dimensions per
group (HDF5 dimension scales: `path`, `time_bucket`, `price_bin`, `step`); this joins the
groups into one dataset, with `asset` and `population` dimensions the file spreads over
groups (`docs/python.md`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ._results import Results


def _values(column: pd.Series) -> np.ndarray:
    """A column as a numpy array xarray can hold: nullable integers (the "never"
    sentinels) become float64 with NaN for the missing values; bools stay bool."""
    if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) and column.dtype != bool:
        return column.to_numpy(dtype="float64", na_value=np.nan)
    return column.to_numpy()


def _attrs(meta: Dict[str, str]) -> Dict[str, str]:
    out = {k: v for k, v in meta.items() if k in ("unit", "description")}
    if "missing" in meta:
        out["missing"] = "NaN: never (" + meta["missing"] + ")"
    return out


def _scalar_attrs(attrs: Dict[str, Any]) -> Dict[str, Any]:
    """Root attributes that netCDF can store (strings and numbers)."""
    return {k: v for k, v in attrs.items() if isinstance(v, (str, int, float))}


def to_dataset(r: "Results"):
    """The run as an `xarray.Dataset`.

    Dimensions and coordinates:
        path: path ids (`row` under splitting); asset: names in scenario order;
        population: index in the scenario, with `population_name`, `population_asset`,
        `population_venue` ("" for an asset's only book); time_bucket and price_bin of the
        realised heatmap, with `bucket_first_step`, `bucket_end_step` (time_bucket) and
        `price_low`, `price_high` (asset, price_bin; USD) and `start_price` (asset);
        traced_path and step for traces.
    Variables: every `/paths` dataset under its own name (dims: path); every
    `/assets/<name>` dataset as `asset_<name>` (path, asset); every `/populations/<k>`
    dataset as `population_<name>` (path, population); with cross-margin accounts
    `asset_cross_margin_liquidated_by_trigger` (path, asset, trigger_asset; the coordinate
    `trigger_asset` holds asset names in scenario order); `realised_notional` (asset,
    time_bucket, price_bin; USD summed over paths); traces as `trace_<name>` (traced_path,
    asset, step). Each carries `unit` and `description`; bools are bool; "never" is NaN.
    """
    import xarray as xr

    path_dim = r.paths.index.name
    ds = xr.Dataset(coords={path_dim: r.path_ids, "asset": list(r.asset_names)})
    for column in r.paths.columns:
        ds[column] = ((path_dim,), _values(r.paths[column]), _attrs(r.meta["paths"][column]))

    n_paths, n_assets = len(r.paths), len(r.asset_names)
    for column in r.assets.columns.drop(["path", "asset"]):
        values = _values(r.assets[column]).reshape(n_paths, n_assets)
        ds[f"asset_{column}"] = ((path_dim, "asset"), values, _attrs(r.meta["assets"][column]))

    info = r.population_info
    if len(info):
        ds = ds.assign_coords(
            population=info["population"].to_numpy(),
            population_name=("population", info["name"].astype(str).to_numpy()),
            population_asset=("population", info["asset"].astype(str).to_numpy()),
            population_venue=("population", info["venue"].fillna("").astype(str).to_numpy()),
        )
        skip = ["path", "population", "population_name"]
        for column in r.populations.columns.drop(skip):
            values = _values(r.populations[column]).reshape(n_paths, len(info))
            attrs = _attrs(r.meta["populations"][column])
            ds[f"population_{column}"] = ((path_dim, "population"), values, attrs)

    if len(r.cross_margin_by_trigger):
        ds = _with_by_trigger(ds, r)
    if r.realised:
        ds = _with_realised(ds, r)
    if r.traces:
        ds = _with_traces(ds, r)
    ds.attrs = _scalar_attrs(r.attrs)
    return ds


def _with_by_trigger(ds, r: "Results"):
    """`asset_cross_margin_liquidated_by_trigger` (path, asset, trigger_asset; USD) with the
    `trigger_asset` coordinate (asset names in scenario order); an asset without the
    dataset is NaN."""
    path_dim = r.paths.index.name
    n, names = len(r.paths), list(r.asset_names)
    values = np.full((n, len(names), len(names)), np.nan)
    long = r.cross_margin_by_trigger
    rows = np.searchsorted(r.path_ids, long["path"].to_numpy())
    values[rows, long["asset"].cat.codes.to_numpy(), long["trigger_asset"].cat.codes.to_numpy()] = (
        long["notional"].to_numpy()
    )
    ds = ds.assign_coords(trigger_asset=names)
    attrs = _attrs(r.meta["cross_margin_by_trigger"]["notional"])
    ds["asset_cross_margin_liquidated_by_trigger"] = (
        (path_dim, "asset", "trigger_asset"),
        values,
        attrs,
    )
    return ds


def _with_realised(ds, r: "Results"):
    """`realised_notional` (asset, time_bucket, price_bin) and its coordinates; an asset
    without a heatmap group is NaN."""
    first = next(iter(r.realised.values()))
    buckets, bins = first.shape
    edges = first.index.to_numpy()
    steps = int(r.attrs["steps"])
    notional = np.full((len(r.asset_names), buckets, bins), np.nan)
    low = np.full((len(r.asset_names), bins), np.nan)
    high = np.full((len(r.asset_names), bins), np.nan)
    start = np.full(len(r.asset_names), np.nan)
    with_heatmap = []
    for i, name in enumerate(r.asset_names):
        frame = r.realised.get(name)
        if frame is None:
            continue
        with_heatmap.append(name)
        notional[i] = frame.to_numpy()
        low[i] = frame.columns.to_numpy()
        high[i] = r.realised_price_edges[name][1:]
        start[i] = r.realised_start_price[name]
    ds = ds.assign_coords(
        time_bucket=np.arange(buckets),
        bucket_first_step=("time_bucket", edges.astype(np.int64)),
        bucket_end_step=("time_bucket", np.append(edges[1:], steps).astype(np.int64)),
        price_bin=np.arange(bins),
        price_low=(("asset", "price_bin"), low, {"unit": "USD"}),
        price_high=(("asset", "price_bin"), high, {"unit": "USD"}),
        start_price=("asset", start, {"unit": "USD"}),
    )
    ds["realised_notional"] = (
        ("asset", "time_bucket", "price_bin"),
        notional,
        {
            "unit": "USD",
            "description": "liquidated notional summed over paths by time bucket and price "
            "bin (divide by the attribute `paths` for the mean per path); NaN for an asset "
            "without a heatmap",
        },
    )
    return ds


def _with_traces(ds, r: "Results"):
    """`trace_<name>` (traced_path, asset, step) for every traced path."""
    traced = sorted({p for p, _ in r.traces})
    steps = max(len(t) for t in r.traces.values())
    columns = list(dict.fromkeys(c for t in r.traces.values() for c in t.columns))
    ds = ds.assign_coords(traced_path=np.array(traced), step=np.arange(steps))
    for column in columns:
        data = np.full((len(traced), len(r.asset_names), steps), np.nan)
        for (p, a), frame in r.traces.items():
            if column in frame and a in r.asset_names:
                data[traced.index(p), r.asset_names.index(a), : len(frame)] = _values(frame[column])
        attrs = _attrs(r.meta["traces"].get(column, {}))
        ds[f"trace_{column}"] = (("traced_path", "asset", "step"), data, attrs)
    return ds

"""Reading a run's `results.h5` (and `summary.json`) into pandas, and into xarray.

What the file holds is documented in `docs/output.md`; this module changes two things on the
way in, both documented in `docs/python.md`: flags become `bool`, and the "never" value of a
column (its `missing_value` attribute) becomes a missing value. Files written before flags
were booleans and before `missing_value` (u8 flags with unit `0/1`, "never" known only from
`NEVER`) are read the same way.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import h5py
import numpy as np
import pandas as pd

from ._errors import ResultsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

PathLike = Union[str, "os.PathLike[str]"]

#: Older files store flags as u8 with unit `0/1`: they are read as `bool` too (newer files
#: store HDF5's boolean enum, which h5py reads as `bool` by itself).
BOOL_UNIT = "0/1"

#: Older files (without the `missing_value` attribute): datasets where one stored value means
#: "never". It is read as a missing value (`pd.NA` in the nullable-integer pandas column, NaN
#: in xarray). `fund_exhausted_at` stores the step (from 1) of the first shortfall a fund
#: could not cover, and 0 for a path where none happened.
NEVER: Dict[str, int] = {"fund_exhausted_at": 0}

#: The `CLASS` attribute of an HDF5 dimension scale (the `path` ids of a group, the
#: heatmap's `time_bucket` and `price_bin`, a trace's `step`): an index, not a column.
_SCALE = b"DIMENSION_SCALE"

#: The one 2-D dataset of an asset group: closed notional by trigger asset (path ×
#: trigger_asset), with `[cross_margin]` only.
BY_TRIGGER = "cross_margin_liquidated_by_trigger"

_NULLABLE = {
    np.dtype("uint8"): "UInt8",
    np.dtype("uint16"): "UInt16",
    np.dtype("uint32"): "UInt32",
    np.dtype("uint64"): "UInt64",
    np.dtype("int32"): "Int32",
    np.dtype("int64"): "Int64",
}


def _attr(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (str, int, float, or list of them)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_attr(v) for v in value.tolist()]
    return value


def _is_scale(ds: h5py.Dataset) -> bool:
    """Whether a dataset is a dimension scale (the index of its group's other datasets)."""
    return ds.attrs.get("CLASS") == _SCALE


def _never(name: str, ds: h5py.Dataset) -> Optional[int]:
    """The stored value that means "never": the `missing_value` attribute, or, in files
    written before it, the one `NEVER` names."""
    if "missing_value" in ds.attrs:
        return int(_attr(ds.attrs["missing_value"]))
    return NEVER.get(name)


def _column(name: str, ds: h5py.Dataset) -> Tuple[pd.Series, Dict[str, str]]:
    """One dataset as a pandas-ready array: bools for flags, missing values for "never";
    and its `unit` and `description` attributes."""
    meta = {k: _attr(ds.attrs[k]) for k in ("unit", "description") if k in ds.attrs}
    data = ds[()]
    if data.dtype == bool:
        return pd.array(data, dtype=bool), meta
    if meta.get("unit") == BOOL_UNIT:
        return pd.array(data.astype(bool), dtype=bool), meta
    never = _never(name, ds)
    if never is not None:
        dtype = _NULLABLE.get(data.dtype, "Float64")
        arr = pd.array(data, dtype=dtype)
        arr[data == never] = pd.NA
        meta["missing"] = f"{never} in the file: never"
        return arr, meta
    return data, meta


def _frame(group: h5py.Group) -> Tuple[pd.DataFrame, Dict[str, Dict[str, str]]]:
    """Every 1-D dataset of a group but its dimension scales as one column each (in the
    file's order). 2-D datasets (`cross_margin_liquidated_by_trigger`, path × trigger_asset)
    are not columns of the table (`Results.cross_margin_by_trigger` reads that one)."""
    columns: Dict[str, Any] = {}
    meta: Dict[str, Dict[str, str]] = {}
    for name, ds in group.items():
        if isinstance(ds, h5py.Dataset) and ds.ndim == 1 and not _is_scale(ds):
            columns[name], meta[name] = _column(name, ds)
    return pd.DataFrame(columns), meta


def _locate(target: PathLike) -> Tuple[Path, Optional[Path]]:
    """`(results.h5, its folder or None)` for a results folder or a results file."""
    path = Path(target)
    if path.is_dir():
        h5 = path / "results.h5"
        if not h5.is_file():
            raise ResultsError(
                f"{path}: no results.h5 in this folder (give a run's folder, "
                f"`<out>/<scenario stem>/`, or its results.h5)"
            )
        return h5, path
    if path.is_file():
        return path, None
    raise FileNotFoundError(f"{path}: no such file or folder")


class Results:
    """One run, read from its `results.h5` (see `docs/python.md` for every attribute).

    Attributes:
        paths: one row per path (index `path`, the path id; `row` under splitting, where
            rows are leaves of the splitting tree), one column per `/paths` dataset.
        assets: long format, one row per (path, asset): columns `path`, `asset` (ordered
            categorical, scenario order), then the `/assets/<name>` datasets.
        populations: long format, one row per (path, population): `path`, `population`
            (index in the scenario), `population_name`, then the `/populations/<k>` datasets;
            empty (no rows) for a file without populations (rare-event runs).
        summary: `summary.json` as a dict.
        units, descriptions: `unit` and `description` of every column of `paths`.
        cross_margin_by_trigger: long format, one row per (path, asset, trigger_asset):
            the asset's notional closed in cross-margin accounts whose largest loss since
            step 0 was on `trigger_asset` (`notional`, USD; both ordered categoricals in
            scenario order); no rows without `[cross_margin]`.
        meta: the same for every table, `meta[table][column] = {"unit": ..., "description":
            ...}`, table one of `paths`, `assets`, `populations`, `traces`,
            `cross_margin_by_trigger`.
        population_info: one row per population: `population` (index), `name`, `asset`,
            `venue` (None: the asset's only book).
        attrs: the root attributes of the file as Python values.
        scenario_toml: the scenario text the run used; `scenario` the same parsed.
        asset_names: assets in scenario order.
        realised: per asset, the realised heatmap as a DataFrame (rows: time buckets by
            their first step; columns: price bins by their lower edge, USD).
        traces: per (path id, asset), the step-by-step trace as a DataFrame.
        tails: per metric, the tail-diagnostic curves (name -> numpy array).
        h5_path: the file read; folder: its run folder, when loaded from one or run.
    """

    def __init__(self, h5_path: PathLike, folder: Optional[PathLike] = None, _keep: Any = None):
        self.h5_path = Path(h5_path)
        self.folder = Path(folder) if folder is not None else None
        self._keep = _keep  # a TemporaryDirectory that must live as long as this object
        try:
            f = h5py.File(self.h5_path, "r")
        except OSError as e:
            raise ResultsError(f"{self.h5_path}: not an HDF5 file ({e})") from None
        with f:
            self._read(f)
        summary_file = self.folder / "summary.json" if self.folder else None
        if summary_file is not None and summary_file.is_file():
            self.summary = json.loads(summary_file.read_text(encoding="utf-8"))
        else:
            self.summary = json.loads(self.attrs["summary_json"])

    def _read(self, f: h5py.File) -> None:
        self.attrs = {k: _attr(v) for k, v in f.attrs.items()}
        if self.attrs.get("content") == "cascadesim shard":
            raise ResultsError(
                f"{self.h5_path}: a shard file; merge the shards first (`cascadesim merge`)"
            )
        missing = [
            k for k in ("assets_json", "summary_json", "scenario_toml") if k not in self.attrs
        ]
        if missing or "paths" not in f:
            raise ResultsError(
                f"{self.h5_path}: not a cascadesim results file (missing "
                f"{', '.join(missing + ([] if 'paths' in f else ['/paths']))})"
            )
        self.asset_names: List[str] = json.loads(self.attrs["assets_json"])
        self.scenario_toml: str = self.attrs["scenario_toml"]
        self.scenario: Dict[str, Any] = tomllib.loads(self.scenario_toml)
        self.meta: Dict[str, Dict[str, Dict[str, str]]] = {}
        self.paths = self._read_paths(f)
        self.assets = self._read_assets(f)
        self.populations = self._read_populations(f)
        self.cross_margin_by_trigger = self._read_by_trigger(f)
        self.realised = self._read_realised(f)
        self.traces = self._read_traces(f)
        self.tails = {m: {k: d[()] for k, d in g.items()} for m, g in f.get("tails", {}).items()}

    def _note(self, table: str, meta: Dict[str, Dict[str, str]]) -> None:
        known = self.meta.setdefault(table, {})
        for column, m in meta.items():
            known.setdefault(column, m)

    @property
    def units(self) -> Dict[str, str]:
        """The `unit` of every column of `paths`."""
        return {c: m.get("unit", "") for c, m in self.meta["paths"].items()}

    @property
    def descriptions(self) -> Dict[str, str]:
        """The `description` of every column of `paths`."""
        return {c: m.get("description", "") for c, m in self.meta["paths"].items()}

    @property
    def path_ids(self) -> np.ndarray:
        """The path id of every row of `paths` (its index as an array)."""
        return self.paths.index.to_numpy()

    def _read_paths(self, f: h5py.File) -> pd.DataFrame:
        paths, meta = _frame(f["paths"])
        self._note("paths", meta)
        name = "row" if self.attrs.get("estimator") == "splitting" else "path"
        paths.index = pd.RangeIndex(len(paths), name=name) + int(self.attrs.get("first_path", 0))
        return paths

    def _long(
        self, parts: List[pd.DataFrame], key: str, categories: Optional[List[str]]
    ) -> pd.DataFrame:
        """Stack per-item frames (each with `path` and `key` columns) path-major."""
        if not parts:
            return pd.DataFrame({"path": pd.Series([], dtype="int64")})
        long = pd.concat(parts, ignore_index=True)
        long = long.sort_values(["path", "_order"], kind="stable").drop(columns="_order")
        if categories is not None:
            long[key] = pd.Categorical(long[key], categories=categories, ordered=True)
        return long.reset_index(drop=True)

    def _read_assets(self, f: h5py.File) -> pd.DataFrame:
        parts = []
        for i, name in enumerate(self.asset_names):
            frame, meta = _frame(f["assets"][name])
            self._note("assets", meta)
            frame.insert(0, "asset", name)
            frame.insert(0, "path", self.path_ids)
            frame["_order"] = i
            parts.append(frame)
        return self._long(parts, "asset", self.asset_names)

    def _read_by_trigger(self, f: h5py.File) -> pd.DataFrame:
        """`/assets/<name>/cross_margin_liquidated_by_trigger` (path × trigger_asset, whose
        scale holds asset indices in scenario order) in long format: one row per (path,
        asset, trigger_asset), `notional` in USD; no rows without cross-margin accounts."""
        parts = []
        for i, name in enumerate(self.asset_names):
            group = f["assets"][name]
            if BY_TRIGGER not in group:
                continue
            ds = group[BY_TRIGGER]
            meta = {k: _attr(ds.attrs[k]) for k in ("unit", "description") if k in ds.attrs}
            self._note("cross_margin_by_trigger", {"notional": meta})
            data = ds[()]
            scale = (
                group["trigger_asset"][()] if "trigger_asset" in group else np.arange(data.shape[1])
            )
            if data.ndim != 2 or data.shape != (len(self.paths), len(scale)):
                raise ResultsError(
                    f"{self.h5_path}: /assets/{name}/{BY_TRIGGER} has shape {data.shape}, "
                    f"expected ({len(self.paths)}, {len(scale)})"
                )
            bad = [int(t) for t in scale if not 0 <= int(t) < len(self.asset_names)]
            if bad:
                raise ResultsError(
                    f"{self.h5_path}: /assets/{name}/trigger_asset holds {bad}, "
                    f"not indices of the {len(self.asset_names)} assets"
                )
            triggers = [self.asset_names[int(t)] for t in scale]
            frame = pd.DataFrame(
                {
                    "path": np.repeat(self.path_ids, len(triggers)),
                    "asset": name,
                    "trigger_asset": np.tile(triggers, len(self.paths)),
                    "notional": data.reshape(-1),
                    "_order": i,
                }
            )
            parts.append(frame)
        if not parts:
            return pd.DataFrame(
                {
                    "path": pd.Series([], dtype="int64"),
                    "asset": pd.Categorical([], categories=self.asset_names, ordered=True),
                    "trigger_asset": pd.Categorical([], categories=self.asset_names, ordered=True),
                    "notional": pd.Series([], dtype="float64"),
                }
            )
        long = self._long(parts, "asset", self.asset_names)
        long["trigger_asset"] = pd.Categorical(
            long["trigger_asset"], categories=self.asset_names, ordered=True
        )
        return long

    def _read_populations(self, f: h5py.File) -> pd.DataFrame:
        groups = sorted(f.get("populations", {}).items(), key=lambda kv: int(kv[0]))
        self.population_info = pd.DataFrame(
            [
                {
                    "population": int(k),
                    "name": _attr(g.attrs.get("name", "")),
                    "asset": _attr(g.attrs.get("asset", "")),
                    "venue": _attr(g.attrs.get("venue", "")) or None,
                }
                for k, g in groups
            ],
            columns=["population", "name", "asset", "venue"],
        )
        parts = []
        for k, g in groups:
            frame, meta = _frame(g)
            self._note("populations", meta)
            frame.insert(0, "population_name", _attr(g.attrs.get("name", "")))
            frame.insert(0, "population", int(k))
            frame.insert(0, "path", self.path_ids)
            frame["_order"] = int(k)
            parts.append(frame)
        return self._long(parts, "population", None)

    def _read_realised(self, f: h5py.File) -> Dict[str, pd.DataFrame]:
        out = {}
        self.realised_price_edges: Dict[str, np.ndarray] = {}
        self.realised_start_price: Dict[str, float] = {}
        group = f.get("realised_heatmap")
        if group is None:
            return out
        for name in self.asset_names:
            if name not in group:
                continue
            g = group[name]
            self.realised_price_edges[name] = g["price_edges"][()]
            self.realised_start_price[name] = float(_attr(g.attrs.get("start_price", np.nan)))
            out[name] = pd.DataFrame(
                g["notional"][()],
                index=pd.Index(g["time_edges"][:-1], name="first_step"),
                columns=pd.Index(g["price_edges"][:-1], name="price_low"),
            )
        return out

    def _read_traces(self, f: h5py.File) -> Dict[Tuple[int, str], pd.DataFrame]:
        out = {}
        for p, gp in f.get("traces", {}).items():
            for a, ga in gp.items():
                frame, meta = _frame(ga)
                self._note("traces", meta)
                frame.index.name = "step"
                out[(int(p), a)] = frame
        return dict(sorted(out.items(), key=lambda kv: (kv[0][0], self._asset_rank(kv[0][1]))))

    def _asset_rank(self, name: str) -> int:
        return self.asset_names.index(name) if name in self.asset_names else len(self.asset_names)

    def to_xarray(self):
        """The run as an `xarray.Dataset`; see `cascadesim._xarray.to_dataset`."""
        from ._xarray import to_dataset

        return to_dataset(self)

    def __repr__(self) -> str:
        where = self.folder or self.h5_path
        return (
            f"<cascadesim.Results {self.attrs.get('scenario_name', '')!r}: "
            f"{len(self.paths)} paths, seed {self.attrs.get('seed')}, "
            f"assets {self.asset_names} ({where})>"
        )


def load(target: PathLike) -> Results:
    """Read a run: its folder (`<out>/<scenario stem>/`) or its `results.h5`.

    Raises:
        FileNotFoundError: nothing at `target`.
        ResultsError: not a results file (or folder without one), or a shard file.
    """
    h5, folder = _locate(target)
    return Results(h5, folder)

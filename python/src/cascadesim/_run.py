"""`run`, `sweep` and `validate`: the binary's commands of the same names, called with
`--quiet` into a given or temporary output folder, their files read back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import pandas as pd

from ._binary import PathLike, invoke
from ._results import Results

Number = Union[int, float]


def _common(
    paths: Optional[int],
    seed: Optional[int],
    threads: Optional[int],
    replicates: Optional[int],
    allow_external_files: bool,
) -> list:
    args: list = []
    for flag, value in (
        ("--paths", paths),
        ("--seed", seed),
        ("--threads", threads),
        ("--replicates", replicates),
    ):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(f"{flag[2:]} must be an integer >= 0, got {value!r}")
            args += [flag, str(value)]
    if allow_external_files:
        args.append("--allow-external-files")
    return args


def _out_folder(out: Optional[PathLike]):
    """`(folder, keep)`: the given folder, or a new temporary one kept alive by `keep`."""
    if out is not None:
        return Path(out), None
    tmp = tempfile.TemporaryDirectory(prefix="cascadesim-")
    return Path(tmp.name), tmp


def run(
    scenario: PathLike,
    *,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    replicates: Optional[int] = None,
    rare_event: Optional[str] = None,
    out: Optional[PathLike] = None,
    allow_external_files: bool = False,
    binary: Optional[PathLike] = None,
) -> Results:
    """Run a scenario (`cascadesim run SCENARIO --quiet`) and read its results.

    `paths`, `seed`, `replicates` override the scenario's; `threads` changes speed, not
    results; `rare_event` is `"is"`, `"split"` or `"plain"`. The results folder is
    `out/<scenario stem>/` when `out` is given (replacing a previous one, as the binary
    does), else a temporary folder deleted when the returned object is.

    Raises:
        ScenarioError: the scenario (or an argument) is invalid: the message is the
            binary's, every problem with its key path and line.
        RunError: the binary failed otherwise (I/O).
        BinaryNotFoundError: no binary (see `find_binary`).
    """
    folder, keep = _out_folder(out)
    args = ["run", os.fspath(scenario), "--quiet", "--out", str(folder)]
    args += _common(paths, seed, threads, replicates, allow_external_files)
    if rare_event is not None:
        args += ["--rare-event", str(rare_event)]
    invoke(args, binary)
    run_folder = folder / Path(scenario).stem
    return Results(run_folder / "results.h5", run_folder, _keep=keep)


class Sweep:
    """A sweep's results folder (`<out>/<stem>-sweep/`).

    Attributes:
        points: `sweep.csv`, one row per grid point (index `point`): one column per
            parameter path, then the fields of `docs/output.md` ("Sweeps").
        differences: `differences.csv`, one row per pair of neighbouring points; the 0/1
            counts stay integers, `no_discordant` is not in the CSV.
        parameters: the swept parameter paths, in axis order.
        folder: the sweep folder (with `sweep.h5` and `plots/`).
    """

    def __init__(self, folder: PathLike, _keep: Any = None):
        self.folder = Path(folder)
        self._keep = _keep
        self.points = pd.read_csv(self.folder / "sweep.csv", index_col="point")
        self.differences = pd.read_csv(self.folder / "differences.csv")
        import h5py

        with h5py.File(self.folder / "sweep.h5", "r") as f:
            self.parameters = json.loads(f.attrs["parameters"])

    def __repr__(self) -> str:
        return f"<cascadesim.Sweep {self.parameters}: {len(self.points)} points ({self.folder})>"


def sweep(
    scenario: PathLike,
    set: Sequence[str] = (),
    *,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    replicates: Optional[int] = None,
    out: Optional[PathLike] = None,
    allow_external_files: bool = False,
    binary: Optional[PathLike] = None,
) -> Sweep:
    """Run a scenario over a grid (`cascadesim sweep SCENARIO --set ... --quiet`).

    `set` holds the binary's `--set` values, e.g. `["assets[0].book.depth_usd=300e6:700e6:5"]`
    (`PATH=V1,V2,...` or `PATH=FROM:TO:POINTS[:log]`); empty uses the file's `[sweep]`.
    Other arguments and errors as in `run`.
    """
    if isinstance(set, str):
        set = [set]
    folder, keep = _out_folder(out)
    args = ["sweep", os.fspath(scenario), "--quiet", "--out", str(folder)]
    args += _common(paths, seed, threads, replicates, allow_external_files)
    for item in set:
        args += ["--set", item]
    invoke(args, binary)
    return Sweep(folder / f"{Path(scenario).stem}-sweep", _keep=keep)


def validate(
    scenario: PathLike, *, allow_external_files: bool = False, binary: Optional[PathLike] = None
) -> None:
    """Check a scenario without running it (`cascadesim validate`).

    Raises:
        ScenarioError: with every problem, as `run` would.
    """
    args = ["validate", os.fspath(scenario)]
    if allow_external_files:
        args.append("--allow-external-files")
    invoke(args, binary)

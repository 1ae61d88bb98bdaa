"""cascadesim from Python: run scenarios with the cascadesim binary and read its results.

    import cascadesim
    r = cascadesim.run("scenarios/btc_flash_crash.toml", paths=2000, seed=7, threads=2)
    r.paths, r.assets, r.summary, r.to_xarray()
    r = cascadesim.load("results/btc_flash_crash")        # a folder or its results.h5

The package is pure Python around the Rust binary (found as `find_binary` says); the
results files are read with h5py. `docs/python.md` in the repository is the guide.
"""

from ._binary import ENV_VAR, find_binary
from ._errors import (
    BinaryNotFoundError,
    CascadesimError,
    CascadesimWarning,
    ResultsError,
    RunError,
    ScenarioError,
)
from ._results import BOOL_UNIT, NEVER, Results, load
from ._run import Sweep, run, sweep, validate

__version__ = "0.1.0"

__all__ = [
    "BOOL_UNIT",
    "ENV_VAR",
    "NEVER",
    "BinaryNotFoundError",
    "CascadesimError",
    "CascadesimWarning",
    "Results",
    "ResultsError",
    "RunError",
    "ScenarioError",
    "Sweep",
    "find_binary",
    "load",
    "run",
    "sweep",
    "validate",
]

# Tracebacks name the public path (`cascadesim.ScenarioError`), not the private module.
for _name in __all__:
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = __name__
del _name

"""Shared runs for the tests: real runs of bundled scenarios at small path counts, made once
per session with the binary `cascadesim.find_binary()` finds (set CASCADESIM_BIN, or build
`target/release/cascadesim`)."""

from pathlib import Path

import h5py
import pytest

import cascadesim

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def binary():
    return cascadesim.find_binary()


@pytest.fixture(scope="session")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def _run(out, scenario, **kw):
    return cascadesim.run(scenario, out=out, threads=2, **kw)


@pytest.fixture(scope="session")
def btc(binary, out):
    """One asset, one population, a realised heatmap."""
    return _run(out, SCENARIOS / "btc_flash_crash.toml", paths=120, seed=7)


@pytest.fixture(scope="session")
def two_assets(binary, out):
    """Assets ETH, BTC in the scenario: the reverse of the file's (alphabetical) group order."""
    return _run(out, SCENARIOS / "eth_high_leverage.toml", paths=60, seed=3)


@pytest.fixture(scope="session")
def venues(binary, out):
    """Venues (`max_venue_spread`) and insurance funds that run dry (`fund_exhausted_at`)."""
    return _run(out, SCENARIOS / "two_venue_oracle.toml", paths=60, seed=5)


@pytest.fixture(scope="session")
def lending(binary, out):
    """Two assets and a lending market: the `lending_*` columns."""
    return _run(out, SCENARIOS / "aave_collateral_contagion.toml", paths=40, seed=1)


@pytest.fixture(scope="session")
def traced(binary, tmp_path_factory):
    """`tests/data/tiny.toml` with traces of paths 0 and 17 and the 2 worst."""
    folder = tmp_path_factory.mktemp("traced")
    scenario = folder / "traced.toml"
    scenario.write_text(
        (DATA / "tiny.toml").read_text() + "\n[output]\ntrace_paths = [0, 17]\ntrace_worst = 2\n"
    )
    return cascadesim.run(scenario, paths=50, out=folder / "out")


ALL_RUNS = ["btc", "two_assets", "venues", "lending", "traced"]


@pytest.fixture(params=ALL_RUNS)
def any_run(request):
    return request.getfixturevalue(request.param)


def raw(results, group):
    """Every dataset of `group` in the results file, as stored (name -> numpy array)."""
    with h5py.File(results.h5_path, "r") as f:
        return {k: d[()] for k, d in f[group].items()}

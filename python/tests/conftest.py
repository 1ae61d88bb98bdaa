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


#: Bundled scenarios run once per session: fixture name -> (file, paths, seed, why it is here).
BUNDLED = {
    "btc": ("btc_flash_crash.toml", 120, 7, "one asset, one population, a realised heatmap"),
    "two_assets": (
        "eth_high_leverage.toml",
        60,
        3,
        "assets ETH, BTC: the reverse of the file's alphabetical group order",
    ),
    "venues": (
        "two_venue_oracle.toml",
        60,
        5,
        "venues (max_venue_spread), and insurance funds that run dry (fund_exhausted_at)",
    ),
    "lending": ("aave_collateral_contagion.toml", 40, 1, "a lending market: lending_* columns"),
    "cross": (
        "cross_margin_contagion.toml",
        40,
        1,
        "cross-margin accounts: the 2-D closed notional by trigger asset",
    ),
}


def _bundled(name):
    scenario, paths, seed, why = BUNDLED[name]

    @pytest.fixture(scope="session", name=name)
    def fixture(binary, out):
        return cascadesim.run(SCENARIOS / scenario, out=out, threads=2, paths=paths, seed=seed)

    fixture.__doc__ = why
    return fixture


for _name in BUNDLED:
    globals()[f"_fixture_{_name}"] = _bundled(_name)


@pytest.fixture(scope="session")
def traced(binary, tmp_path_factory):
    """`tests/data/tiny.toml` with traces of paths 0 and 17 and the 2 worst."""
    folder = tmp_path_factory.mktemp("traced")
    scenario = folder / "traced.toml"
    scenario.write_text(
        (DATA / "tiny.toml").read_text() + "\n[output]\ntrace_paths = [0, 17]\ntrace_worst = 2\n"
    )
    return cascadesim.run(scenario, paths=50, out=folder / "out")


ALL_RUNS = [*BUNDLED, "traced"]


@pytest.fixture(params=ALL_RUNS)
def any_run(request):
    return request.getfixturevalue(request.param)


#: The dimension scales that index a group's other datasets (the `path` ids, `row` under
#: splitting, the heatmap's `time_bucket` and `price_bin`, a trace's `step`, the cross-margin
#: matrix's `trigger_asset`); the heatmap's edges and the tail tables' first columns are
#: scales too, but data of their own.
INDEX_SCALES = {"path", "row", "time_bucket", "price_bin", "step", "trigger_asset"}


def raw(results, group):
    """Every dataset of `group` in the results file but its index scales, as stored (name ->
    numpy array)."""
    with h5py.File(results.h5_path, "r") as f:
        return {k: d[()] for k, d in f[group].items() if k not in INDEX_SCALES}

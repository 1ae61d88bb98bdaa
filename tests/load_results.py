import sys

import h5py
import pandas as pd

path = sys.argv[1] if len(sys.argv) > 1 else "results/btc_flash_crash/results.h5"
with h5py.File(path, "r") as f:
    # One row per path, one column per /paths dataset, indexed by path id (the dataset `path`).
    paths = pd.DataFrame({name: ds[:] for name, ds in f["paths"].items()}).set_index("path")
    units = {name: ds.attrs["unit"] for name, ds in f["paths"].items()}
    # The same per asset: /assets/<name>.
    assets = {a: pd.DataFrame({k: d[:] for k, d in g.items()}) for a, g in f["assets"].items()}
    # Per population, by its scenario name: /populations/<k> (attributes name, asset, venue).
    populations = {
        g.attrs["name"]: pd.DataFrame({k: d[:] for k, d in g.items()})
        for _, g in sorted(f.get("populations", {}).items(), key=lambda kv: int(kv[0]))
    }
    # Tail diagnostics: /tails/<metric>, curves of different lengths (hill_*, mean_excess*, stability_*).
    tails = {m: {k: d[:] for k, d in g.items()} for m, g in f["tails"].items()}
    # Realised heatmap per asset: notional (USD, summed over paths) by time bucket x price bin,
    # labelled by the bucket's first step and the bin's lower edge (price_edges adds the top edge).
    realised = {
        a: pd.DataFrame(g["notional"][:], columns=g["price_bin"][:], index=g["time_bucket"][:])
        for a, g in f.get("realised_heatmap", {}).items()
    }
    # Traces, if the scenario asked for them: one row per step, per (path id, asset).
    traces = {
        (int(p), a): pd.DataFrame({k: d[:] for k, d in ga.items()})
        for p, gp in f.get("traces", {}).items()
        for a, ga in gp.items()
    }
    scenario = f.attrs["scenario_toml"]
    seed, n_paths = int(f.attrs["seed"]), int(f.attrs["paths"])

print(paths[["max_drawdown", "amplification", "liquidated_notional", "bad_debt"]].describe())
print(f"{n_paths} paths (seed {seed}), assets {list(assets)}, {len(traces)} traced series")

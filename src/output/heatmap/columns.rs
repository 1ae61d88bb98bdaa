//! The column tables of `heatmap.h5`'s per-asset groups, as data: each column's name, unit,
//! description and how to read one row of it from an [`AssetHeatmap`] (a bin, an edge or a
//! cluster), and of the per-venue and per-lending-market groups (a bin or an edge of a
//! [`VenueMap`] or [`LendingMap`]). [`super::write_heatmap`] writes them in table order,
//! floats first, then the `u32` and `u8` columns, as the file has always been laid out.

use crate::heatmap::clusters::Side;
use crate::heatmap::score::ScoreTerm;
use crate::heatmap::{AssetHeatmap, LendingMap, VenueMap};

/// One column: name, unit, one-line description, and the value of row `i` of a source `S`.
pub(super) struct Spec<T, S = AssetHeatmap> {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub get: fn(&S, usize) -> T,
}

/// The columns of one group, by element type, each in file order.
pub(super) struct Table<S: 'static = AssetHeatmap> {
    pub f64: &'static [Spec<f64, S>],
    pub u32: &'static [Spec<u32, S>],
    pub u8: &'static [Spec<u8, S>],
    /// Flags, stored as HDF5 booleans (h5py's `bool`).
    pub flags: &'static [Spec<bool, S>],
}

fn opt(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// The risk-score term of cluster `i`, if it has one.
fn term(a: &AssetHeatmap, i: usize) -> Option<&ScoreTerm> {
    a.score.terms.iter().find(|t| t.cluster == i)
}

/// `/assets/<asset>/bins`: one row per price bin.
pub(super) const BINS: Table = Table {
    f64: &[
        Spec {
            name: "price_low",
            unit: "USD",
            description: "lower edge of the bin",
            get: |a, j| a.grid.edge(j),
        },
        Spec {
            name: "price_high",
            unit: "USD",
            description: "upper edge of the bin",
            get: |a, j| a.grid.edge(j + 1),
        },
        Spec {
            name: "long_notional",
            unit: "USD",
            description: "long notional (qty x liquidation price) with a liquidation price in the bin",
            get: |a, j| a.long.notional[j],
        },
        Spec {
            name: "short_notional",
            unit: "USD",
            description: "short notional (qty x liquidation price) with a liquidation price in the bin",
            get: |a, j| a.short.notional[j],
        },
        Spec {
            name: "long_qty",
            unit: "base units",
            description: "long size with a liquidation price in the bin",
            get: |a, j| a.long.qty[j],
        },
        Spec {
            name: "short_qty",
            unit: "base units",
            description: "short size with a liquidation price in the bin",
            get: |a, j| a.short.qty[j],
        },
        Spec {
            name: "long_density",
            unit: "USD per bin",
            description: "long notional smoothed with the Gaussian kernel (clusters are found on it)",
            get: |a, j| a.long_density[j],
        },
        Spec {
            name: "short_density",
            unit: "USD per bin",
            description: "short notional smoothed with the Gaussian kernel",
            get: |a, j| a.short_density[j],
        },
    ],
    u32: &[
        Spec {
            name: "long_positions",
            unit: "positions",
            description: "long positions with a liquidation price in the bin",
            get: |a, j| a.long.positions[j],
        },
        Spec {
            name: "short_positions",
            unit: "positions",
            description: "short positions with a liquidation price in the bin",
            get: |a, j| a.short.positions[j],
        },
    ],
    u8: &[],
    flags: &[],
};

/// `/assets/<asset>/edges`: one row per bin edge.
pub(super) const EDGES: Table = Table {
    f64: &[
        Spec {
            name: "price",
            unit: "USD",
            description: "bin edge",
            get: |a, j| a.grid.edge(j),
        },
        Spec {
            name: "long_cumulative_notional",
            unit: "USD",
            description: "long notional liquidated if the price falls to the edge (liquidation price >= edge), no feedback",
            get: |a, j| a.cumulative.long_notional[j],
        },
        Spec {
            name: "short_cumulative_notional",
            unit: "USD",
            description: "short notional liquidated if the price rises to the edge (liquidation price <= edge), no feedback",
            get: |a, j| a.cumulative.short_notional[j],
        },
        Spec {
            name: "long_cumulative_qty",
            unit: "base units",
            description: "long size liquidated if the price falls to the edge",
            get: |a, j| a.cumulative.long_qty[j],
        },
        Spec {
            name: "short_cumulative_qty",
            unit: "base units",
            description: "short size liquidated if the price rises to the edge",
            get: |a, j| a.cumulative.short_qty[j],
        },
        Spec {
            name: "book_depth_qty",
            unit: "base units",
            description: "market order that moves the mid of a whole book from the price to the edge (bids below, asks above); NaN beyond the book",
            get: |a, j| a.depth.qty[j],
        },
        Spec {
            name: "book_depth_usd",
            unit: "USD",
            description: "that order's value at its fill prices; NaN beyond the book",
            get: |a, j| a.depth.usd[j],
        },
    ],
    u32: &[],
    u8: &[],
    flags: &[],
};

/// `/assets/<asset>/clusters`: one row per cluster, largest notional first.
pub(super) const CLUSTERS: Table = Table {
    f64: &[
        Spec {
            name: "price_low",
            unit: "USD",
            description: "lower edge of the zone",
            get: |a, i| a.clusters[i].price_low,
        },
        Spec {
            name: "price_high",
            unit: "USD",
            description: "upper edge of the zone",
            get: |a, i| a.clusters[i].price_high,
        },
        Spec {
            name: "peak_price",
            unit: "USD",
            description: "centre of the peak bin",
            get: |a, i| a.clusters[i].peak_price,
        },
        Spec {
            name: "notional",
            unit: "USD",
            description: "notional at liquidation prices in the zone",
            get: |a, i| a.clusters[i].notional,
        },
        Spec {
            name: "qty",
            unit: "base units",
            description: "size in the zone",
            get: |a, i| a.clusters[i].qty,
        },
        Spec {
            name: "positions",
            unit: "positions",
            description: "positions in the zone",
            get: |a, i| a.clusters[i].positions as f64,
        },
        Spec {
            name: "peak_density",
            unit: "USD per bin",
            description: "smoothed density at the peak",
            get: |a, i| a.clusters[i].peak_density,
        },
        Spec {
            name: "prominence",
            unit: "USD per bin",
            description: "topographic prominence of the peak",
            get: |a, i| a.clusters[i].prominence,
        },
        Spec {
            name: "prominence_ratio",
            unit: "1",
            description: "prominence over the side's median positive density",
            get: |a, i| a.clusters[i].prominence_ratio,
        },
        Spec {
            name: "distance_pct",
            unit: "%",
            description: "distance from the price to the zone's near edge, % of the price",
            get: |a, i| a.clusters[i].distance_pct,
        },
        Spec {
            name: "distance_sigmas",
            unit: "1",
            description: "log distance to the near edge over the one-day volatility (NaN when volatility is 0)",
            get: |a, i| opt(a.clusters[i].distance_sigmas),
        },
        Spec {
            name: "centre_price",
            unit: "USD",
            description: "notional-weighted mean liquidation price of the zone",
            get: |a, i| a.clusters[i].centre_price,
        },
        Spec {
            name: "centre_distance_pct",
            unit: "%",
            description: "distance from the price to the centre, % of the price",
            get: |a, i| a.clusters[i].centre_distance_pct,
        },
        Spec {
            name: "centre_distance_sigmas",
            unit: "1",
            description: "log distance to the centre over the one-day volatility (NaN when volatility is 0)",
            get: |a, i| opt(a.clusters[i].centre_distance_sigmas),
        },
        Spec {
            name: "depth_in_front_qty",
            unit: "base units",
            description: "book depth between the price and the centre",
            get: |a, i| a.clusters[i].depth_in_front.qty,
        },
        Spec {
            name: "depth_in_front_usd",
            unit: "USD",
            description: "that depth's value at fill prices",
            get: |a, i| a.clusters[i].depth_in_front.usd,
        },
        Spec {
            name: "notional_to_depth",
            unit: "1",
            description: "zone size over the depth in front (NaN when no book stands in front)",
            get: |a, i| opt(a.clusters[i].notional_to_depth),
        },
        Spec {
            name: "score_reach",
            unit: "1",
            description: "one-day probability of touching the centre (NaN for clusters without a term; a description, not in the risk score)",
            get: |a, i| term(a, i).map_or(f64::NAN, |t| t.reach),
        },
        Spec {
            name: "score_severity",
            unit: "1",
            description: "R/(1+R), R = notional_to_depth (NaN for clusters without a term; a description, not in the risk score)",
            get: |a, i| term(a, i).map_or(f64::NAN, |t| t.severity),
        },
        Spec {
            name: "score_contribution",
            unit: "1",
            description: "reach x severity (NaN for clusters without a term; a description, not in the risk score)",
            get: |a, i| term(a, i).map_or(f64::NAN, |t| t.contribution),
        },
    ],
    u32: &[],
    u8: &[
        Spec {
            name: "side",
            unit: "",
            description: "0 = long, 1 = short",
            get: |a, i| u8::from(a.clusters[i].side == Side::Short),
        },
        Spec {
            name: "anomaly",
            unit: "",
            description: "1 when notional_to_depth is at least the anomaly ratio, or no book stands in front",
            get: |a, i| u8::from(a.clusters[i].anomaly),
        },
    ],
    flags: &[Spec {
        name: "beyond_book",
        unit: "",
        description: "true when the centre lies beyond the book's extent (depth is the whole side)",
        get: |a, i| a.clusters[i].depth_in_front.beyond_book,
    }],
};

/// `/assets/<asset>/venues/<venue>/bins`: one row per price bin (the rows of `bins`).
pub(super) const VENUE_BINS: Table<VenueMap> = Table {
    f64: &[
        Spec {
            name: "long_notional",
            unit: "USD",
            description: "the venue's long notional with a liquidation price in the bin",
            get: |v, j| v.long.notional[j],
        },
        Spec {
            name: "short_notional",
            unit: "USD",
            description: "the venue's short notional with a liquidation price in the bin",
            get: |v, j| v.short.notional[j],
        },
        Spec {
            name: "long_qty",
            unit: "base units",
            description: "the venue's long size with a liquidation price in the bin",
            get: |v, j| v.long.qty[j],
        },
        Spec {
            name: "short_qty",
            unit: "base units",
            description: "the venue's short size with a liquidation price in the bin",
            get: |v, j| v.short.qty[j],
        },
    ],
    u32: &[
        Spec {
            name: "long_positions",
            unit: "positions",
            description: "the venue's long positions with a liquidation price in the bin",
            get: |v, j| v.long.positions[j],
        },
        Spec {
            name: "short_positions",
            unit: "positions",
            description: "the venue's short positions with a liquidation price in the bin",
            get: |v, j| v.short.positions[j],
        },
    ],
    u8: &[],
    flags: &[],
};

/// `/assets/<asset>/venues/<venue>/edges`: one row per bin edge (the rows of `edges`).
pub(super) const VENUE_EDGES: Table<VenueMap> = Table {
    f64: &[
        Spec {
            name: "book_depth_qty",
            unit: "base units",
            description: "market order that moves the mid of the venue's whole book from the price to the edge; NaN beyond the book",
            get: |v, j| v.depth.qty[j],
        },
        Spec {
            name: "book_depth_usd",
            unit: "USD",
            description: "that order's value at its fill prices; NaN beyond the book",
            get: |v, j| v.depth.usd[j],
        },
    ],
    u32: &[],
    u8: &[],
    flags: &[],
};

/// `/assets/<asset>/lending/<market>/bins`: one row per price bin (the rows of `bins`).
pub(super) const LENDING_BINS: Table<LendingMap> = Table {
    f64: &[
        Spec {
            name: "sold_notional",
            unit: "USD",
            description: "collateral seized by first liquidation calls triggered in the bin, valued at the trigger price",
            get: |l, j| l.sales.notional[j],
        },
        Spec {
            name: "sold_qty",
            unit: "base units",
            description: "that collateral's size",
            get: |l, j| l.sales.qty[j],
        },
    ],
    u32: &[Spec {
        name: "accounts",
        unit: "accounts",
        description: "accounts whose trigger price lies in the bin",
        get: |l, j| l.sales.positions[j],
    }],
    u8: &[],
    flags: &[],
};

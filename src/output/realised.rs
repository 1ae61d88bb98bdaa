//! The realised liquidation heatmap of a run as a figure, `plots/realised_<asset>`: where
//! liquidations actually happened over all paths, time on the x axis, price on the y axis,
//! each cell coloured by the liquidated notional per path on a log scale.
//!
//! [`RealisedView`] is the plain data the figure is drawn from, built from the run's
//! [`RealisedHeatmap`] or read back from `results.h5`, so `report` redraws the same figure.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::GREY_700;

use super::format::{Axis, human, sig};
use super::plot::{Figure, draw_legend, font};
use super::style::{HouseMesh, draw_message, err};
use crate::engine::realised::RealisedHeatmap;

/// One asset's realised heatmap, in USD, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RealisedView {
    pub asset: String,
    /// Price at step 0, USD.
    pub start_price: f64,
    /// `price_bins + 1` bin edges, USD, increasing.
    pub price_edges: Vec<f64>,
    /// `time_buckets + 1` bucket edges in steps.
    pub time_edges: Vec<f64>,
    /// Liquidated notional summed over paths, row-major `time_buckets × price_bins`, USD.
    pub notional: Vec<f64>,
    /// Paths summed into `notional`.
    pub paths: u64,
    /// Length of one step, seconds.
    pub step_seconds: f64,
}

impl RealisedView {
    /// One view per asset of a run's heatmap.
    pub fn from_heatmap(
        h: &RealisedHeatmap,
        assets: &[String],
        paths: u64,
        step_seconds: f64,
    ) -> Vec<RealisedView> {
        let edges = h.grid.price_edges();
        let time: Vec<f64> = h.grid.time_edges().iter().map(|&t| f64::from(t)).collect();
        assets
            .iter()
            .enumerate()
            .map(|(a, name)| RealisedView {
                asset: name.clone(),
                start_price: h.start_prices[a],
                price_edges: edges.iter().map(|e| e * h.start_prices[a]).collect(),
                time_edges: time.clone(),
                notional: h.asset_usd(a),
                paths,
                step_seconds,
            })
            .collect()
    }

    /// The file stem of the figure: `realised_<asset>` with characters other than letters,
    /// digits, `-`, `_` and `.` replaced by `_`.
    pub fn stem(&self) -> String {
        format!("realised_{}", super::plot::file_safe(&self.asset))
    }

    fn bins(&self) -> usize {
        self.price_edges.len().saturating_sub(1)
    }

    /// Total liquidated notional over all cells, USD.
    pub fn total(&self) -> f64 {
        self.notional.iter().sum()
    }

    /// The price bins holding any notional: `(first, last)`.
    fn occupied_bins(&self) -> Option<(usize, usize)> {
        let n = self.bins();
        if n == 0 {
            return None;
        }
        let mut lo = usize::MAX;
        let mut hi = 0;
        for (i, &v) in self.notional.iter().enumerate() {
            if v > 0.0 {
                lo = lo.min(i % n);
                hi = hi.max(i % n);
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// The price with the most notional (the centre of its bin), USD.
    fn densest_price(&self) -> Option<f64> {
        let n = self.bins();
        let mut by_bin = vec![0.0; n];
        for (i, &v) in self.notional.iter().enumerate() {
            by_bin[i % n] += v;
        }
        let (k, &v) = by_bin
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        (v > 0.0).then(|| (self.price_edges[k] * self.price_edges[k + 1]).sqrt())
    }

    /// Hours per step, or minutes when the whole horizon is shorter than six hours.
    fn time_unit(&self) -> (f64, &'static str) {
        let horizon = self.time_edges.last().copied().unwrap_or(0.0) * self.step_seconds;
        if horizon < 6.0 * 3600.0 {
            (self.step_seconds / 60.0, "minutes")
        } else {
            (self.step_seconds / 3600.0, "hours")
        }
    }

    /// The caption under the figure in the report.
    pub fn caption(&self) -> String {
        let total = self.total();
        if total <= 0.0 {
            return format!("No liquidation of {} happened on any path.", self.asset);
        }
        let per_path = total / self.paths.max(1) as f64;
        let densest = self
            .densest_price()
            .map(|p| {
                format!(
                    " The most notional was liquidated near {} ({} from the start price).",
                    human(p, "USD"),
                    human(p / self.start_price - 1.0, "fraction")
                )
            })
            .unwrap_or_default();
        format!(
            "Where liquidations of {} happened over all {} paths: time since the start against the average fill price of each step's liquidations, each cell coloured by liquidated notional per path (log scale; empty cells are white). {} liquidated per path on average, {} in all; price bins are {}% wide.{densest}",
            self.asset,
            self.paths,
            human(per_path, "USD"),
            human(total, "USD"),
            sig(
                ((self.price_edges[1] / self.price_edges[0]).ln()) * 100.0,
                2
            ),
        )
    }
}

/// The colour bar's range: log10 of notional per path, from 10⁻⁴ of the largest cell up.
fn log_range(max_per_path: f64) -> (f64, f64) {
    let hi = max_per_path.log10();
    (hi - 4.0, hi)
}

impl Figure for RealisedView {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = format!("Realised liquidations of {}: price × time", self.asset);
        let n = self.bins();
        let Some((b_lo, b_hi)) = self.occupied_bins() else {
            return draw_message(root, &title, "no liquidation happened on any path");
        };
        let paths = self.paths.max(1) as f64;
        let max_cell = self.notional.iter().copied().fold(0.0, f64::max) / paths;
        let (c_lo, c_hi) = log_range(max_cell);
        // Price range: the occupied bins, the start price, and a margin of two bins.
        let y_lo = self.price_edges[b_lo.saturating_sub(2)].min(self.start_price * 0.99);
        let y_hi = self.price_edges[(b_hi + 3).min(n)].max(self.start_price * 1.01);
        let (per_step, unit) = self.time_unit();
        let x_hi = self.time_edges.last().copied().unwrap_or(1.0).max(1.0) * per_step;

        let area = root.titled(&title, font(22.0)).map_err(err)?;
        let (w, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(130));
        let price_axis = Axis::linear("USD", y_lo, y_hi, 10);
        let mut chart = ChartBuilder::on(&main)
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_hi, y_lo..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!("time since the start ({unit})"))
            .y_desc("average fill price (USD)")
            .house(14.0, 15.0)
            .x_label_formatter(&|x| sig(*x, 3))
            .y_label_formatter(&|y| price_axis.label(*y))
            .draw()
            .map_err(err)?;
        let colour = |v: f64| {
            let t = ((v.log10() - c_lo) / (c_hi - c_lo)).clamp(0.0, 1.0);
            ViridisRGB::get_color_normalized(t, 0.0, 1.0)
        };
        let cells = self
            .notional
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v > 0.0)
            .map(|(i, &v)| {
                let (t, b) = (i / n, i % n);
                let x0 = self.time_edges[t] * per_step;
                let x1 = self.time_edges[t + 1] * per_step;
                let (y0, y1) = (self.price_edges[b], self.price_edges[b + 1]);
                Rectangle::new([(x0, y0), (x1, y1)], colour(v / paths).filled())
            });
        chart.draw_series(cells).map_err(err)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, self.start_price), (x_hi, self.start_price)],
                6,
                4,
                GREY_700.stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("start price {}", human(self.start_price, "USD")))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], GREY_700));
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;

        // Colour bar: log10 notional per path.
        let notional_axis = Axis::log("USD");
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(14)
            .margin_bottom(62)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, c_lo..c_hi)
            .map_err(err)?;
        cb.configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .y_desc("USD per path")
            .house_text(12.0, 13.0)
            .y_labels(5)
            .y_label_formatter(&|y| notional_axis.label(10f64.powf(*y)))
            .light_line_style(TRANSPARENT)
            .bold_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        let steps = 100;
        cb.draw_series((0..steps).map(|i| {
            let a = c_lo + (c_hi - c_lo) * i as f64 / steps as f64;
            let b = c_lo + (c_hi - c_lo) * (i + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], colour(10f64.powf(b)).filled())
        }))
        .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(notional: Vec<f64>) -> RealisedView {
        RealisedView {
            asset: "BTC/x".into(),
            start_price: 100.0,
            price_edges: vec![90.0, 95.0, 100.0, 105.0],
            time_edges: vec![0.0, 10.0, 20.0],
            notional,
            paths: 4,
            step_seconds: 60.0,
        }
    }

    #[test]
    fn densest_price_and_occupied_bins() {
        // Two time buckets × three price bins; bin 0 holds the most over both buckets.
        let v = view(vec![5.0, 0.0, 1.0, 4.0, 0.0, 0.0]);
        assert_eq!(v.occupied_bins(), Some((0, 2)));
        let p = v.densest_price().unwrap();
        assert!((p - (90.0f64 * 95.0).sqrt()).abs() < 1e-12);
        assert_eq!(v.total(), 10.0);
        assert_eq!(v.stem(), "realised_BTC_x");
        assert!(v.caption().contains("over all 4 paths"), "{}", v.caption());
        assert_eq!(view(vec![0.0; 6]).occupied_bins(), None);
    }

    #[test]
    fn draws_a_valid_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let v = view(vec![5.0, 0.0, 1.0, 4.0, 0.0, 0.0]);
        super::super::plot::save(&v, dir.path(), &v.stem(), (900, 600)).unwrap();
        let png = std::fs::read(dir.path().join("realised_BTC_x.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.path().join("realised_BTC_x.svg")).unwrap();
        assert!(svg.contains("Realised liquidations of BTC/x"));
    }
}

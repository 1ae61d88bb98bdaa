//! Plotting base: every figure is drawn once through plotters and saved as PNG and SVG, with
//! text set in the bundled DejaVu Sans (no system font libraries). Figures implement
//! [`Figure`]; [`save`] writes both files.

use std::path::Path;
use std::sync::Once;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

/// The bundled font (DejaVu Sans, Bitstream Vera licence: `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// The font family name figures use.
pub const FAMILY: &str = "sans-serif";

/// Errors while drawing or saving a figure.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

fn register_font() {
    REGISTER.call_once(|| {
        // Registration only fails for an unparsable font, which the bundled one is not; a
        // failure shows up as missing text, never as a crash.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font(FAMILY, style, FONT);
        }
    });
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Draws the whole figure on `root`.
    ///
    /// # Errors
    /// Any drawing error, as text.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Saves `figure` as `<dir>/<stem>.png` and `<dir>/<stem>.svg`, `size` pixels.
///
/// # Errors
/// When drawing or writing either file fails.
pub fn save(
    figure: &impl Figure,
    dir: &Path,
    stem: &str,
    size: (u32, u32),
) -> Result<(), PlotError> {
    register_font();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let err = |p: &Path| {
        let path = p.display().to_string();
        move |message: String| PlotError { path, message }
    };
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&png)(e.to_string()))?;
        figure.draw(&root).map_err(err(&png))?;
        root.present().map_err(|e| err(&png)(e.to_string()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&svg)(e.to_string()))?;
        figure.draw(&root).map_err(err(&svg))?;
        root.present().map_err(|e| err(&svg)(e.to_string()))?;
    }
    Ok(())
}

/// `name` with every character other than ASCII letters, digits, `-`, `_` and `.` replaced
/// by `_`, for use in a file name.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws the legend of `chart`'s labelled series at `position` in the house style (13 px
/// text on a translucent white box with a thin border), as every figure does.
///
/// # Errors
/// A drawing error, as text.
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(13.0))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| e.to_string())
}

/// A text style in the bundled font.
pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Line;

    impl Figure for Line {
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            let mut chart = ChartBuilder::on(root)
                .caption("a line", font(20.0))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .label_style(font(12.0))
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], &BLUE))
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }

    #[test]
    fn saves_a_valid_png_and_svg_with_text() {
        let dir = tempfile::tempdir().unwrap();
        save(&Line, dir.path(), "line", (320, 240)).unwrap();
        let png = std::fs::read(dir.path().join("line.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.path().join("line.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a line"), "the caption is in the SVG");
        // Text was rasterised: the PNG is not just a white page with a line. A caption of
        // dark glyphs makes the file noticeably larger than an empty chart would be.
        assert!(png.len() > 2_000, "{} bytes", png.len());
    }
}

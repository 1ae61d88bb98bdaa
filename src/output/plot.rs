//! Plotting base: every figure is drawn once through plotters and saved as PNG and SVG, with
//! text set in the bundled DejaVu Sans (no system font libraries). Figures implement
//! [`Figure`]; [`save`] writes both files. PNG text is rasterised here ([`Raster`]), not by
//! plotters' own `ab_glyph` path, which misplaces glyphs (see [`Raster`]).

use std::path::Path;
use std::sync::Once;

use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

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
        let root = Raster(BitMapBackend::new(&png, size)).into_drawing_area();
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

/// The PNG backend: plotters' bitmap backend with text drawn by [`Raster::draw_text`].
///
/// plotters 0.3.7 draws bitmap text (`style/font/ab_glyph.rs`) one glyph at a time, each
/// outlined at the origin and then moved by whole pixels: the pen position is truncated to
/// an integer per glyph (so the gaps between letters vary by up to a pixel: "m ax_draw
/// down") and the vertical offset `(size/2 + top) as i32` truncates towards zero, which
/// rounds down for glyphs whose top lies below half the font size (the decimal point, a
/// comma) and up for the others, so a point sits a pixel or two above the digits'
/// baseline ("12·51%"). The font is not the cause (the bundled file is byte-identical to
/// Debian's `fonts-dejavu-core` DejaVuSans.ttf, and the SVGs, set by the viewer, are fine).
/// Here every glyph is outlined at its exact sub-pixel pen position on one shared baseline,
/// so the rasteriser, not truncation, decides its pixels.
pub struct Raster<'a>(pub BitMapBackend<'a>);

/// The bundled font for the rasteriser.
fn font_ref() -> Option<FontRef<'static>> {
    FontRef::try_from_slice(FONT).ok()
}

impl DrawingBackend for Raster<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    /// Text in the bundled font. Layout and anchoring are plotters' own (the same box
    /// `layout_box` reports, the baseline half the font size below its top, so labels sit
    /// where plotters planned them); only the glyph placement differs (see [`Raster`]).
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        let Some(font) = font_ref() else {
            return Ok(());
        };
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        let size = style.size() as f32;
        let scaled = font.as_scaled(size);
        let baseline = size / 2.0;
        let mut caret = 0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(size, point(caret, baseline));
            caret += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    pixels.push((bx + x as i32, by + y as i32, coverage));
                }
            });
            for (x, y, coverage) in pixels {
                let (x, y) = trans.transform(x + dx - min_x, y + dy - min_y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                    self.0.draw_pixel(
                        (x, y),
                        BackendColor {
                            alpha: color.alpha * f64::from(coverage.min(1.0)),
                            rgb: color.rgb,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
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

    /// The lowest inked row of each run of inked columns (a glyph) of `text` drawn at
    /// `size` px through [`Raster`], left to right.
    fn glyph_bottoms(text: &str, size: f64) -> Vec<usize> {
        register_font();
        let (w, h) = (200usize, 60usize);
        let mut buf = vec![255u8; w * h * 3];
        {
            let root = Raster(BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)))
                .into_drawing_area();
            root.draw(&Text::new(text.to_string(), (4, 10), font(size)))
                .unwrap();
            root.present().unwrap();
        }
        let ink = |x: usize, y: usize| buf[(y * w + x) * 3] < 128;
        let mut bottoms = Vec::new();
        let mut current: Option<usize> = None;
        for x in 0..w {
            let col = (0..h).filter(|&y| ink(x, y)).max();
            match (col, current) {
                (Some(y), Some(b)) => current = Some(b.max(y)),
                (Some(y), None) => current = Some(y),
                (None, Some(b)) => {
                    bottoms.push(b);
                    current = None;
                }
                (None, None) => {}
            }
        }
        bottoms
    }

    /// Regression (issue 25, "12·51%"): plotters' own bitmap text put the decimal point a
    /// pixel or two above the digits' baseline. At every size the figures use, the point's
    /// lowest inked row is the digits' lowest inked row.
    #[test]
    fn png_decimal_point_sits_on_the_baseline() {
        for size in [12.0, 13.0, 14.0, 15.0, 17.0, 22.0] {
            let b = glyph_bottoms("1.1", size);
            assert_eq!(b.len(), 3, "three glyphs at {size} px: {b:?}");
            assert_eq!(b[1], b[0], "point vs digit at {size} px: {b:?}");
            assert_eq!(b[2], b[0], "{b:?}");
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

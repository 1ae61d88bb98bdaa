//! The house style of every chart, in one place: the grid lines and text sizes of a mesh
//! ([`HouseMesh`]), a figure that has nothing to show ([`draw_message`]), text at a pixel
//! ([`text_at`]), wrapped messages ([`wrap`]) and drawing errors as text ([`err`]). The font
//! and the legend box are in [`super::plot`] ([`font`], [`super::plot::draw_legend`]).

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::full_palette::GREY_700;

use super::plot::font;

/// The light (minor) grid lines of a chart.
pub const LIGHT_GRID: RGBAColor = RGBAColor(0, 0, 0, 0.04);
/// The bold (major) grid lines of a chart.
pub const BOLD_GRID: RGBAColor = RGBAColor(0, 0, 0, 0.12);

/// The house style of a chart's mesh: tick labels of `label` px and axis descriptions of
/// `desc` px in the bundled font, light and bold grid lines in [`LIGHT_GRID`] and
/// [`BOLD_GRID`]. Chains like plotters' own setters:
/// `chart.configure_mesh().x_desc("…").house(14.0, 15.0).draw()`.
pub trait HouseMesh {
    /// Sets the house text sizes and grid lines.
    fn house(&mut self, label: f64, desc: f64) -> &mut Self;
    /// Sets the house text sizes only, for a chart with grid lines of its own (or none).
    fn house_text(&mut self, label: f64, desc: f64) -> &mut Self;
}

impl<X, Y, DB> HouseMesh for MeshStyle<'_, '_, X, Y, DB>
where
    X: Ranged + ValueFormatter<<X as Ranged>::ValueType>,
    Y: Ranged + ValueFormatter<<Y as Ranged>::ValueType>,
    DB: DrawingBackend,
{
    fn house(&mut self, label: f64, desc: f64) -> &mut Self {
        self.house_text(label, desc)
            .light_line_style(LIGHT_GRID)
            .bold_line_style(BOLD_GRID)
    }

    fn house_text(&mut self, label: f64, desc: f64) -> &mut Self {
        self.label_style(font(label)).axis_desc_style(font(desc))
    }
}

pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Writes `text` at pixel position `at` (absolute, as from `get_pixel_range`) on `area`.
pub fn text_at<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), String> {
    let base = area.get_base_pixel();
    area.draw(&Text::new(
        text.to_string(),
        (at.0 - base.0, at.1 - base.1),
        style.clone(),
    ))
    .map_err(err)
}

/// Splits a long message into lines of at most `width` characters at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A figure with nothing to plot: its title and the reason, centred.
pub fn draw_message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), String> {
    let area = root.titled(title, font(22.0)).map_err(err)?;
    let (w, h) = area.dim_in_pixel();
    let base = area.get_base_pixel();
    let lines = wrap(message, 90);
    for (i, l) in lines.iter().enumerate() {
        text_at(
            &area,
            l,
            (
                base.0 + 40,
                base.1 + h as i32 / 2 - 12 * lines.len() as i32 + 24 * i as i32,
            ),
            &font(17.0).color(&GREY_700),
        )?;
    }
    let _ = w;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
    }
}

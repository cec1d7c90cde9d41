//! A figure drawn as SVG by svgbob, on a card with its alt text as title.

use super::Figure;

/// The SVG of `figure`: svgbob's drawing, then a viewBox (so that the image
/// scales down with the column), a `<title>` with the alt text, and the
/// backdrop made a card.
pub fn render(figure: &Figure) -> String {
    let settings = svgbob::Settings {
        font_size: 13,
        font_family: "DejaVu Sans Mono, Menlo, Consolas, monospace".to_owned(),
        fill_color: INK.to_owned(),
        background: CARD.to_owned(),
        stroke_color: INK.to_owned(),
        ..svgbob::Settings::default()
    };
    // A blank line above and below and a blank column to the left and
    // right, so that no text touches the card's rim. The size is given,
    // not measured: svgbob leaves quoted text out when it measures.
    let lines: Vec<&str> = figure.diagram.lines().collect();
    let columns = lines
        .iter()
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0);
    let padded: String = std::iter::once(String::new())
        .chain(lines.iter().map(|line| format!(" {line}")))
        .chain(std::iter::once(String::new()))
        .collect::<Vec<String>>()
        .join("\n");
    let width = (columns + 2) as f32 * CELL_WIDTH;
    let height = (lines.len() + 2) as f32 * CELL_HEIGHT;
    let svg = svgbob::to_svg_with_override_size(&padded, &settings, width, height);
    let svg = make_card(&svg);
    let svg = add_title(&svg, &figure.alt);
    let mut svg = svg.trim_end().to_owned();
    svg.push('\n');
    svg
}

/// The size of one character of the diagram in the SVG, at svgbob's
/// default scale.
const CELL_WIDTH: f32 = 8.0;
const CELL_HEIGHT: f32 = 16.0;

/// The colour of lines and text.
const INK: &str = "#1f1f1f";
/// The card's colour: near white, which reads on the dark themes too.
const CARD: &str = "#fdfdfb";
/// The card's rim, which marks its edge on the light theme.
const RIM: &str = "#b8b8b8";

/// `svg` with its backdrop rectangle given rounded corners and a rim, and
/// a viewBox from its width and height.
fn make_card(svg: &str) -> String {
    let (Some(width), Some(height)) = (attribute(svg, "width"), attribute(svg, "height")) else {
        return svg.to_owned();
    };
    let open_tag = format!("width=\"{width}\" height=\"{height}\"");
    let svg = svg.replacen(
        &open_tag,
        &format!("{open_tag} viewBox=\"0 0 {width} {height}\" role=\"img\""),
        1,
    );
    let backdrop =
        format!("<rect class=\"backdrop\" x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\">");
    let inner = |value: &str| {
        value
            .parse::<f32>()
            .map(|number| format!("{}", number - 2.0))
            .unwrap_or_else(|_| value.to_owned())
    };
    let card = format!(
        "<rect class=\"backdrop\" x=\"1\" y=\"1\" width=\"{}\" height=\"{}\" rx=\"10\" style=\"stroke:{RIM};stroke-width:1.5\">",
        inner(&width),
        inner(&height)
    );
    svg.replacen(&backdrop, &card, 1)
}

/// The value of the first `name="…"` in `svg` (the root's, for width and
/// height, which svgbob writes first).
fn attribute(svg: &str, name: &str) -> Option<String> {
    let start = svg.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = svg[start..].find('"')? + start;
    Some(svg[start..end].to_owned())
}

/// `svg` with `<title>` (the alt text) as the root's first child.
fn add_title(svg: &str, alt: &str) -> String {
    let Some(end_of_root) = svg.find('>') else {
        return svg.to_owned();
    };
    let escaped = alt
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "{}>\n<title>{escaped}</title>{}",
        &svg[..end_of_root],
        &svg[end_of_root + 1..]
    )
}

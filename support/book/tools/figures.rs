//! The book's figures: ASCII diagrams in `docs/figures/<name>.bob`, drawn
//! as `docs/src/figures/<name>.svg` by the `svgbob` crate (with the `draw`
//! feature; without it, the sources and the chapters' images are still read
//! and checked).
//!
//! A source file is a header, a line `---`, and the diagram:
//!
//! ```text
//! alt: What the figure shows, in words, for a reader who cannot see it.
//!   A header line that starts with a space continues the one above.
//! ---
//!  +--------+        +--------+
//!  | client |------->| server |
//!  +--------+        +--------+
//! ```
//!
//! The alt text is the figure's text alternative: the chapter's
//! `![alt](figures/<name>.svg)` must carry the same words (the book's tests
//! check it), and the SVG carries them too, as its `<title>`.
//!
//! The SVG is drawn dark on a light card with rounded corners and a grey
//! rim, so that it reads the same on mdBook's light and dark themes: an
//! `<img>` cannot take its colours from the page, and a
//! `prefers-color-scheme` rule would follow the reader's system, not the
//! theme chosen in the book.
//!
//! `cargo run -p book --features draw --bin draw-figures` writes the SVGs;
//! `cargo test -p book --features draw` fails when one is not what its
//! source gives.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, LinkType, Tag};

/// The line between a source's header and its diagram.
pub const SEPARATOR: &str = "---";

/// The widest diagram, in columns, that fits mdBook's content column at
/// full size.
pub const MAX_COLUMNS: usize = 88;

/// One figure, read from its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The file stem: `listen-queue` for `docs/figures/listen-queue.bob`.
    pub name: String,
    /// The text alternative, on one line.
    pub alt: String,
    /// The ASCII diagram, as svgbob reads it.
    pub diagram: String,
}

/// What is wrong with a figure's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub name: String,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "docs/figures/{}.bob: {}",
            self.name, self.message
        )
    }
}

/// Where the sources live, `docs/figures`: beside the book's source, not
/// in it, so that the built book does not ship them.
pub fn sources_directory() -> PathBuf {
    crate::workspace_root().join("docs").join("figures")
}

/// Where the drawn figures live, `docs/src/figures`.
pub fn svg_directory() -> PathBuf {
    crate::book_source().join("figures")
}

/// Reads the source `text` of the figure `name`.
pub fn parse(name: &str, text: &str) -> Result<Figure, SourceError> {
    let error = |message: String| SourceError {
        name: name.to_owned(),
        message,
    };
    let Some((header, diagram)) = text.split_once(&format!("\n{SEPARATOR}\n")).or_else(|| {
        text.strip_prefix(&format!("{SEPARATOR}\n"))
            .map(|d| ("", d))
    }) else {
        return Err(error(format!(
            "no line `{SEPARATOR}` between the header and the diagram"
        )));
    };
    // The header is `alt:` and the lines that continue it, indented.
    let mut alt: Option<String> = None;
    for (index, line) in header.lines().enumerate() {
        match (line.strip_prefix("alt:"), &mut alt) {
            (Some(value), None) => alt = Some(value.trim().to_owned()),
            (None, Some(alt)) if line.starts_with(char::is_whitespace) => {
                alt.push(' ');
                alt.push_str(line.trim());
            }
            _ if line.trim().is_empty() => {}
            _ => {
                let number = index + 1;
                return Err(error(format!(
                    "header line {number}: expected one `alt:` line and the indented lines that continue it"
                )));
            }
        }
    }
    let alt = alt.unwrap_or_default();
    if alt.split_whitespace().count() < 5 {
        return Err(error(
            "no alt text (an `alt:` line of at least five words, saying what the figure shows)"
                .to_owned(),
        ));
    }
    if alt.contains(['[', ']', '"']) {
        return Err(error(
            "the alt text has [, ] or \", which would break the Markdown image".to_owned(),
        ));
    }
    let diagram = diagram.trim_end().to_owned() + "\n";
    if diagram.trim().is_empty() {
        return Err(error("an empty diagram".to_owned()));
    }
    for (index, line) in diagram.lines().enumerate() {
        let columns = line.chars().count();
        if columns > MAX_COLUMNS {
            return Err(error(format!(
                "diagram line {} is {columns} columns wide, more than {MAX_COLUMNS}",
                index + 1
            )));
        }
        if line.contains('\t') {
            return Err(error(format!(
                "diagram line {} has a tab; svgbob counts columns",
                index + 1
            )));
        }
    }
    Ok(Figure {
        name: name.to_owned(),
        alt,
        diagram,
    })
}

/// Every source in `directory`, sorted by name, each read or refused.
pub fn read_sources(directory: &Path) -> io::Result<Vec<Result<Figure, SourceError>>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(directory)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "bob") {
            if let Some(stem) = path.file_stem() {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(directory.join(format!("{name}.bob")))?;
            Ok(parse(&name, &text))
        })
        .collect()
}

/// The drawing: svgbob, behind the `draw` feature (support/book/Cargo.toml).
#[cfg(feature = "draw")]
mod draw;
#[cfg(feature = "draw")]
pub use draw::render;

/// One image in a chapter: `![alt](target)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// 1-based line.
    pub line: usize,
    pub alt: String,
    pub target: String,
}

/// Every `![alt](target)` of Markdown `text` outside code, its alt text as
/// written in the source.
pub fn images_in(text: &str) -> Vec<Image> {
    let mut images = Vec::new();
    for (event, range) in crate::book_checks::markdown(text).into_offset_iter() {
        let Event::Start(Tag::Image {
            link_type: LinkType::Inline,
            dest_url,
            ..
        }) = event
        else {
            continue;
        };
        let source = &text[range.clone()];
        let alt = source.get(2..source.rfind("](").unwrap_or(2));
        images.push(Image {
            line: crate::book_checks::line_at(text, range.start),
            alt: alt.unwrap_or_default().to_owned(),
            target: dest_url.into_string(),
        });
    }
    images
}

/// The figure an image shows: `listen-queue` for `figures/listen-queue.svg`.
pub fn figure_name(target: &str) -> Option<&str> {
    target.strip_prefix("figures/")?.strip_suffix(".svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "alt: A box that says hello, and an arrow\n  to a second box.\n---\n+---+   +---+\n| a |-->| b |\n+---+   +---+\n";

    #[test]
    fn reads_the_alt_text_with_its_continuation_and_the_diagram() {
        let figure = parse("boxes", SOURCE).unwrap();
        assert_eq!(
            figure.alt,
            "A box that says hello, and an arrow to a second box."
        );
        assert!(figure.diagram.starts_with("+---+"));
    }

    #[test]
    fn refuses_a_source_without_alt_text_separator_or_diagram() {
        for bad in [
            "---\n+--+\n",
            "alt: too short\n---\n+--+\n",
            "alt: A box that says hello, and more\n+--+\n",
            "alt: A box that says hello, and more\n---\n\n",
            "alt: A box that says [hello], and more\n---\n+--+\n",
            "title: A box that says hello, and more\n---\n+--+\n",
        ] {
            assert!(parse("bad", bad).is_err(), "{bad:?}");
        }
        let wide = format!(
            "alt: A box that says hello, and more\n---\n{}\n",
            "-".repeat(89)
        );
        assert!(parse("wide", &wide).is_err());
    }

    #[test]
    #[cfg(feature = "draw")]
    fn draws_a_card_with_a_title_and_a_viewbox() {
        let svg = render(&parse("boxes", SOURCE).unwrap());
        assert!(svg.contains("<title>A box that says hello"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 "), "{svg}");
        assert!(svg.contains("rx=\"10\""), "{svg}");
        assert_eq!(render(&parse("boxes", SOURCE).unwrap()), svg);
    }

    #[test]
    fn finds_images_but_not_in_code() {
        let text = "![A figure](figures/a.svg)\n*caption*\n```\n![no](figures/b.svg)\n```\nText ![B](figures/c.svg \"t\") more\n";
        let images = images_in(text);
        let targets: Vec<&str> = images.iter().map(|image| image.target.as_str()).collect();
        assert_eq!(targets, ["figures/a.svg", "figures/c.svg"]);
        assert_eq!(images[0].alt, "A figure");
        assert_eq!(images[1].line, 6);
        assert_eq!(figure_name("figures/a.svg"), Some("a"));
        assert_eq!(figure_name("diffs/a.diff"), None);
    }
}

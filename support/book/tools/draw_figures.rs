//! Draws `docs/src/figures/<name>.svg` from every `docs/figures/<name>.bob`,
//! removes SVGs that no source draws any more, draws the performance
//! chapter's charts (`docs/src/runs/bench-*.svg`) from the benchmark's
//! `support/bench/results.json`, and gives every `![…](figures/<name>.svg)`
//! and `![…](runs/bench-<name>.svg)` of the chapters the alt text of its
//! source. Run it after changing a figure or running the benchmark:
//!
//! ```text
//! cargo run -p book --features draw --bin draw-figures
//! ```

use std::collections::BTreeMap;
use std::fs;

use book::{charts, figures};

fn main() {
    match draw_figures() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("draw-figures: {err}");
            std::process::exit(1);
        }
    }
}

/// Whether every source could be drawn.
fn draw_figures() -> std::io::Result<bool> {
    let mut svgs = BTreeMap::new();
    let mut alt_texts = BTreeMap::new();
    let mut all_drawn = true;
    for source in figures::read_sources(&figures::sources_directory())? {
        match source {
            Ok(figure) => {
                svgs.insert(format!("{}.svg", figure.name), figures::render(&figure));
                alt_texts.insert(format!("figures/{}.svg", figure.name), figure.alt);
            }
            Err(err) => {
                eprintln!("draw-figures: {err}");
                all_drawn = false;
            }
        }
    }
    // A figure whose source is broken is kept until it is mended.
    let is_svg = |name: &str| name.ends_with(".svg");
    book::update(&figures::svg_directory(), is_svg, &svgs, all_drawn)?;
    let mut charts = BTreeMap::new();
    for chart in charts::draw_committed()? {
        alt_texts.insert(chart.target(), chart.alt.clone());
        charts.insert(chart.file_name(), chart.svg);
    }
    book::update(&charts::directory(), charts::is_chart, &charts, true)?;
    copy_alt_texts(&alt_texts)?;
    Ok(all_drawn)
}

/// Rewrites the alt text of each figure's image in the chapters (keyed by
/// the image's target) to the one its source gives, so that the source is
/// the only place to edit it.
fn copy_alt_texts(alt_texts: &BTreeMap<String, String>) -> std::io::Result<()> {
    let source = book::book_source();
    for chapter in book::book_checks::markdown_files(&source) {
        let path = source.join(&chapter);
        let text = fs::read_to_string(&path)?;
        let mut updated = text.clone();
        for image in figures::images_in(&text) {
            if let Some(alt) = alt_texts.get(&image.target) {
                updated = updated.replacen(
                    &format!("![{}]({}", image.alt, image.target),
                    &format!("![{alt}]({}", image.target),
                    1,
                );
            }
        }
        if updated != text {
            fs::write(&path, updated)?;
            println!("copied alt texts into {}", path.display());
        }
    }
    Ok(())
}

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

use std::collections::{BTreeMap, BTreeSet};
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
    let directory = figures::svg_directory();
    fs::create_dir_all(&directory)?;
    let mut wanted = BTreeSet::new();
    let mut alt_texts = BTreeMap::new();
    let mut all_drawn = true;
    for source in figures::read_sources(&figures::sources_directory())? {
        let figure = match source {
            Ok(figure) => figure,
            Err(err) => {
                eprintln!("draw-figures: {err}");
                all_drawn = false;
                continue;
            }
        };
        let name = format!("{}.svg", figure.name);
        let path = directory.join(&name);
        let svg = figures::render(&figure);
        if fs::read_to_string(&path).ok().as_deref() != Some(svg.as_str()) {
            fs::write(&path, &svg)?;
            println!("wrote {}", path.display());
        }
        wanted.insert(name);
        alt_texts.insert(format!("figures/{}.svg", figure.name), figure.alt);
    }
    fs::create_dir_all(charts::directory())?;
    for chart in charts::draw_committed()? {
        let path = chart.path();
        if fs::read_to_string(&path).ok().as_deref() != Some(chart.svg.as_str()) {
            fs::write(&path, &chart.svg)?;
            println!("wrote {}", path.display());
        }
        alt_texts.insert(chart.target(), chart.alt);
    }
    copy_alt_texts(&alt_texts)?;
    if all_drawn {
        for entry in fs::read_dir(&directory)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".svg") && !wanted.contains(&name) {
                fs::remove_file(entry.path())?;
                println!("removed {}", entry.path().display());
            }
        }
    }
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
            let Some(alt) = alt_texts.get(&image.target) else {
                continue;
            };
            if &image.alt != alt {
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

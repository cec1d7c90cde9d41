//! Draws `docs/src/figures/<name>.svg` from every `docs/figures/<name>.bob`,
//! and removes SVGs that no source draws any more. Run it after changing a
//! figure:
//!
//! ```text
//! cargo run -p book --bin draw-figures
//! ```

use std::collections::BTreeSet;
use std::fs;

use book::figures;

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
    }
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

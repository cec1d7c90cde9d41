//! Figures drawn from the data of a real run: the process tree of a
//! forking server after its experiment, each child a box marked with its
//! state. `--write` saves the data (docs/src/runs/data/<name>.json) and
//! the drawing (docs/src/runs/<name>.svg), which has a light background
//! of its own, so that it reads the same in the book's light and dark themes.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use testkit::ProcessState;

/// The data of a process tree: the server, its PID, how many children it
/// forked in all (`served`, when known), the children left and their states.
pub fn tree_data(
    server: &str,
    parent: i32,
    served: Option<usize>,
    children: &[ProcessState],
) -> Value {
    let children: Vec<Value> = children
        .iter()
        .map(|child| json!({ "pid": child.pid, "state": child.state.to_string() }))
        .collect();
    json!({ "server": server, "parent": parent, "served": served, "children": children })
}

pub fn write(root: &Path, figures: &[(String, Value)]) -> Result<()> {
    let directory = root.join("docs/src/runs");
    fs::create_dir_all(directory.join("data"))?;
    for (name, data) in figures {
        let json_path = directory.join("data").join(format!("{name}.json"));
        let mut text = serde_json::to_string_pretty(data)?;
        text.push('\n');
        fs::write(&json_path, text).with_context(|| format!("write {}", json_path.display()))?;
        let svg_path = directory.join(format!("{name}.svg"));
        fs::write(&svg_path, tree_svg(data))
            .with_context(|| format!("write {}", svg_path.display()))?;
        eprintln!(
            "replay: wrote {} and {}",
            json_path.display(),
            svg_path.display()
        );
    }
    Ok(())
}

const COLUMNS: usize = 16;
const BOX: usize = 40;
const GAP: usize = 6;
const MARGIN: usize = 16;

/// The tree as SVG: the parent on top, its children in rows of 16 below,
/// zombies dark with a Z, living children light with their state letter.
pub fn tree_svg(data: &Value) -> String {
    let server = data["server"].as_str().unwrap_or("server");
    let parent = data["parent"].as_u64().unwrap_or(0);
    let children = data["children"].as_array().cloned().unwrap_or_default();
    let rows = children.len().div_ceil(COLUMNS).max(1);
    let width = MARGIN * 2 + COLUMNS * BOX + (COLUMNS - 1) * GAP;
    let middle = width / 2;
    let parent_x = (width - 300) / 2;
    // The parent's box is 44 high; the bar the children hang from is 28 below it.
    let (parent_bottom, bar) = (MARGIN + 44, MARGIN + 44 + 28);
    let top = bar + 8;
    let height = top + rows * (BOX + GAP) + 40;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="13">
<rect x="0" y="0" width="{width}" height="{height}" rx="8" fill="#f6f6f6" stroke="#888"/>
<rect x="{parent_x}" y="{MARGIN}" width="300" height="44" rx="6" fill="#ffffff" stroke="#333"/>
<text x="{middle}" y="{}" text-anchor="middle" fill="#111">{server}, PID {parent} (S)</text>
<line x1="{middle}" y1="{parent_bottom}" x2="{middle}" y2="{bar}" stroke="#333"/>
"##,
        MARGIN + 27
    );
    if !children.is_empty() {
        let right = width - MARGIN;
        let _ = writeln!(
            svg,
            r##"<line x1="{MARGIN}" y1="{bar}" x2="{right}" y2="{bar}" stroke="#333"/>"##
        );
    }
    for (index, child) in children.iter().enumerate() {
        let x = MARGIN + (index % COLUMNS) * (BOX + GAP);
        let y = top + (index / COLUMNS) * (BOX + GAP);
        let state = child["state"].as_str().unwrap_or("?");
        let pid = child["pid"].as_u64().unwrap_or(0);
        let (fill, ink) = if state == "Z" {
            ("#444444", "#ffffff")
        } else {
            ("#ffffff", "#111111")
        };
        let _ = writeln!(
            svg,
            r##"<g><title>PID {pid}, state {state}</title><rect x="{x}" y="{y}" width="{BOX}" height="{BOX}" rx="4" fill="{fill}" stroke="#333"/><text x="{}" y="{}" text-anchor="middle" fill="{ink}" font-weight="bold">{state}</text></g>"##,
            x + BOX / 2,
            y + BOX / 2 + 5
        );
    }
    let zombies = children
        .iter()
        .filter(|child| child["state"] == "Z")
        .count();
    let left = if children.is_empty() {
        "none".to_owned()
    } else {
        let alive = children.len() - zombies;
        format!("{zombies} zombies (Z, dark), {alive} alive (light)")
    };
    let caption = match data["served"].as_u64() {
        Some(served) => {
            let gone = served.saturating_sub(children.len() as u64);
            format!("{served} children forked, {gone} reaped and gone; left: {left}")
        }
        None => format!("children left: {left}"),
    };
    let _ = writeln!(
        svg,
        r##"<text x="{middle}" y="{}" text-anchor="middle" fill="#111">{caption}</text>"##,
        height - 16
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_box_per_child() {
        let data = tree_data(
            "webserver3f",
            10,
            Some(5),
            &[(11, 'Z'), (12, 'S'), (13, 'Z')].map(|(pid, state)| ProcessState { pid, state }),
        );
        let svg = tree_svg(&data);
        assert_eq!(svg.matches("<g>").count(), 3);
        assert!(svg.contains("5 children forked, 2 reaped and gone; left: 2 zombies"));
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn the_books_figures_are_drawn_from_their_data() {
        let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/src/runs");
        for name in ["3c-zombies", "3f-zombies", "3g-no-zombies"] {
            let data = fs::read_to_string(runs.join(format!("data/{name}.json"))).unwrap();
            let drawn = tree_svg(&serde_json::from_str(&data).unwrap());
            assert_eq!(
                drawn,
                fs::read_to_string(runs.join(format!("{name}.svg"))).unwrap()
            );
        }
    }
}

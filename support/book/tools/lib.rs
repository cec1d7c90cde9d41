//! The book's machinery: it writes the diffs the chapters show, and checks
//! that the book still matches the code.
//!
//! - [`stages`] lists the diffs (each stage against the one it grew from)
//!   and the chapter of each crate, as `stages.toml` gives them.
//! - [`unified_diff`] writes a diff in the format of `diff -u`.
//! - [`book_checks`] finds the `{{#include}}`s and links of the Markdown and
//!   says which point at nothing.
//! - [`figures`] draws the figures, ASCII diagrams in `docs/figures`, as the
//!   SVGs in `docs/src/figures`, and finds the images of a chapter.
//! - [`charts`] draws the performance chapter's charts from the
//!   benchmark's results, as `docs/src/runs/bench-*.svg`.
//!
//! The crates carry mdBook anchors (`// ANCHOR: name` … `// ANCHOR_END:
//! name`) so that a chapter can walk through its stage in excerpts; the
//! diffs are taken from the sources with those lines removed
//! ([`stage_source`]).
//!
//! `cargo run -p book --bin write-diffs` rewrites `docs/src/diffs/`, and
//! `cargo run -p book --features draw --bin draw-figures` `docs/src/figures/`;
//! `cargo test -p book` fails when a committed diff, chart, include or link
//! no longer matches its source, or a chapter has no figure; with
//! `--features draw` (svgbob), also when a committed figure does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub mod book_checks;
pub mod charts;
pub mod figures;
pub mod stages;
pub mod unified_diff;

/// The workspace root: two directories above this crate, `support/book`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("support/book sits two levels below the workspace root")
        .to_owned()
}

/// The mdBook's source directory, `docs/src`.
pub fn book_source() -> PathBuf {
    workspace_root().join("docs").join("src")
}

/// Where the diffs live, `docs/src/diffs`.
pub fn diffs_directory() -> PathBuf {
    book_source().join("diffs")
}

/// Whether `line` is one of mdBook's anchor markers, `// ANCHOR: name` or
/// `// ANCHOR_END: name`: book markup that lets a chapter include a piece of
/// a crate (`{{#include ../../crate/src/main.rs:name}}`), not code.
pub fn is_anchor_line(line: &str) -> bool {
    let code = line.trim_start();
    code.starts_with("// ANCHOR:") || code.starts_with("// ANCHOR_END:")
}

/// `text` without its anchor lines (see [`is_anchor_line`]).
pub fn without_anchor_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !is_anchor_line(line))
        .collect()
}

/// A stage's source as the book's diffs see it: the file at `path`
/// (relative to the workspace root) without its anchor lines. The anchors
/// are the book's markup, so a diff between two stages, its budget and the
/// check that it turns one stage into the next all leave them out; `diff`
/// run by hand on the crates shows them too.
pub fn stage_source(path: &str) -> io::Result<String> {
    fs::read_to_string(workspace_root().join(path))
        .map(|text| without_anchor_lines(&text))
        .map_err(|err| io::Error::new(err.kind(), format!("{path}: {err}")))
}

/// The text of `diff` as the current sources give it, anchor lines left out
/// (see [`stage_source`]).
pub fn expected_diff(diff: &stages::StageDiff) -> io::Result<String> {
    Ok(unified_diff::unified_diff(
        &diff.from,
        &stage_source(&diff.from)?,
        &diff.to,
        &stage_source(&diff.to)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_lines_are_left_out_and_nothing_else() {
        let text = "fn main() {\n    // ANCHOR: body\n    run();\n    // ANCHOR_END: body\n    // an ANCHOR: in prose stays\n}\n";
        assert_eq!(
            without_anchor_lines(text),
            "fn main() {\n    run();\n    // an ANCHOR: in prose stays\n}\n"
        );
    }
}

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
//! - [`translation`] reads the translations (`po/*.po`) and the glossary,
//!   and says what is untranslated, stale, left in English or changed
//!   that must stay as it is (po/README.md).
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

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub mod book_checks;
pub mod charts;
pub mod figures;
pub mod stages;
pub mod transcripts;
pub mod translation;
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

/// `text` without mdBook's anchor lines, `// ANCHOR: name` and `//
/// ANCHOR_END: name`: book markup that lets a chapter include a piece of
/// a crate (`{{#include ../../crate/src/main.rs:name}}`), not code.
pub fn without_anchor_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| {
            let code = line.trim_start();
            !code.starts_with("// ANCHOR:") && !code.starts_with("// ANCHOR_END:")
        })
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

/// The text of `diff` as the current sources give it.
pub fn expected_diff(diff: &stages::StageDiff) -> io::Result<String> {
    Ok(unified_diff::unified_diff(
        &diff.from,
        &stage_source(&diff.from)?,
        &diff.to,
        &stage_source(&diff.to)?,
    ))
}

/// Every diff of `docs/src/diffs`, by file name, as the sources give it.
pub fn expected_diffs() -> io::Result<BTreeMap<String, String>> {
    stages::stage_diffs()
        .iter()
        .map(|diff| Ok((diff.file_name(), expected_diff(diff)?)))
        .collect()
}

/// How a directory of generated files differs from what its sources give.
#[derive(Debug, Default)]
pub struct Outdated {
    /// Files whose text is not the one wanted, or that are missing.
    pub stale: Vec<String>,
    /// Generated files that nothing wants any more.
    pub left_over: Vec<String>,
}

/// Compares the files of `directory` with `wanted` (file name → text);
/// files that `generated` does not accept are someone else's, never left
/// over.
pub fn outdated(
    directory: &Path,
    generated: fn(&str) -> bool,
    wanted: &BTreeMap<String, String>,
) -> Outdated {
    let stale = wanted
        .iter()
        .filter(|(name, text)| fs::read_to_string(directory.join(name)).ok().as_ref() != Some(text))
        .map(|(name, _)| name.clone())
        .collect();
    let left_over = fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| generated(name) && !wanted.contains_key(name))
        .collect();
    Outdated { stale, left_over }
}

/// Writes the stale files of `directory` (see [`outdated`]) and, if
/// `remove_left_over`, removes those left over, saying what it does.
pub fn update(
    directory: &Path,
    generated: fn(&str) -> bool,
    wanted: &BTreeMap<String, String>,
    remove_left_over: bool,
) -> io::Result<()> {
    fs::create_dir_all(directory)?;
    let outdated = outdated(directory, generated, wanted);
    for name in outdated.stale {
        fs::write(directory.join(&name), &wanted[&name])?;
        println!("wrote {}", directory.join(name).display());
    }
    for name in outdated.left_over.iter().filter(|_| remove_left_over) {
        fs::remove_file(directory.join(name))?;
        println!("removed {}", directory.join(name).display());
    }
    Ok(())
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

//! The book's machinery: it writes the diffs the chapters show, and checks
//! that the book still matches the code.
//!
//! - [`stages`] lists the diffs (each stage against the one it grew from)
//!   and the chapter of each crate.
//! - [`unified_diff`] writes a diff in the format of `diff -u`.
//! - [`book_checks`] finds the `{{#include}}`s and links of the Markdown and
//!   says which point at nothing.
//! - [`figures`] draws the figures, ASCII diagrams in `docs/figures`, as the
//!   SVGs in `docs/src/figures`, and finds the images of a chapter.
//!
//! `cargo run -p book --bin write-diffs` rewrites `docs/src/diffs/`, and
//! `cargo run -p book --bin draw-figures` `docs/src/figures/`;
//! `cargo test -p book` fails when a committed diff, figure, include or link
//! no longer matches its source, or a chapter has no figure.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub mod book_checks;
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

/// The text of `diff` as the current sources give it.
pub fn expected_diff(diff: &stages::StageDiff) -> io::Result<String> {
    let root = workspace_root();
    let read = |path: &str| {
        fs::read_to_string(root.join(path))
            .map_err(|err| io::Error::new(err.kind(), format!("{path}: {err}")))
    };
    Ok(unified_diff::unified_diff(
        diff.from,
        &read(diff.from)?,
        diff.to,
        &read(diff.to)?,
    ))
}

//! Writes `docs/src/diffs/<from>-<to>.diff` for every pair of stages the book
//! shows, from the sources as they are now, and removes diff files that no
//! pair produces any more. Run it after changing a stage:
//!
//! ```text
//! cargo run -p book --bin write-diffs
//! ```

fn main() {
    let written = book::expected_diffs().and_then(|diffs| {
        let is_diff = |name: &str| name.ends_with(".diff");
        book::update(&book::diffs_directory(), is_diff, &diffs, true)
    });
    if let Err(err) = written {
        eprintln!("write-diffs: {err}");
        std::process::exit(1);
    }
}

//! Writes `docs/src/diffs/<from>-<to>.diff` for every pair of stages the book
//! shows, from the sources as they are now, and removes diff files that no
//! pair produces any more. Run it after changing a stage:
//!
//! ```text
//! cargo run -p book --bin write-diffs
//! ```

use std::collections::BTreeSet;
use std::fs;

use book::stages::stage_diffs;

fn main() {
    if let Err(err) = write_diffs() {
        eprintln!("write-diffs: {err}");
        std::process::exit(1);
    }
}

fn write_diffs() -> std::io::Result<()> {
    let directory = book::diffs_directory();
    fs::create_dir_all(&directory)?;
    let mut wanted = BTreeSet::new();
    for diff in &stage_diffs() {
        let name = diff.file_name();
        let path = directory.join(&name);
        let text = book::expected_diff(diff)?;
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, &text)?;
            println!("wrote {}", path.display());
        }
        wanted.insert(name);
    }
    for entry in fs::read_dir(&directory)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".diff") && !wanted.contains(&name) {
            fs::remove_file(entry.path())?;
            println!("removed {}", entry.path().display());
        }
    }
    Ok(())
}

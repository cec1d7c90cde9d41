//! Finding the binaries of a crate's examples (`cargo run --example`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The path of example `name` of the crate under test.
///
/// Cargo gives integration tests the paths of binaries
/// (`CARGO_BIN_EXE_name`) but not of examples. `cargo test` builds the
/// examples too, into `examples/` beside the `deps/` directory that holds
/// the test binary itself, so they are found from the test's own path.
///
/// `cargo test --test ...` builds no example, so the binary found may be
/// missing, or older than its source: then a test would pass or fail on
/// code that is no longer there. Both are refused with a message that says
/// how to build the examples. (The source is `examples/<name>.rs` of the
/// crate that cargo names in `CARGO_MANIFEST_DIR` when it runs the test.)
pub fn example_binary(name: &str) -> String {
    let test_binary = env::current_exe().expect("the test binary's path");
    let profile_directory = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in <target>/<profile>/deps");
    let example: PathBuf = profile_directory.join("examples").join(name);
    let build = "`cargo test` builds examples, `cargo test --test ...` does not";
    let built =
        modified(&example).unwrap_or_else(|| panic!("{} is not built: {build}", example.display()));
    if let Some(source) = env::var_os("CARGO_MANIFEST_DIR")
        .map(|crate_directory| Path::new(&crate_directory).join(format!("examples/{name}.rs")))
    {
        if let Some(written) = modified(&source) {
            assert!(
                written <= built,
                "{} is older than {}: {build}",
                example.display(),
                source.display()
            );
        }
    }
    example.to_string_lossy().into_owned()
}

/// When `path` was last written, if it exists.
fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
}

//! Finding the binaries of a crate's examples (`cargo run --example`).

use std::path::PathBuf;

/// The path of example `name` of the crate under test.
///
/// Cargo gives integration tests the paths of binaries
/// (`CARGO_BIN_EXE_name`) but not of examples. `cargo test` builds the
/// examples too, into `examples/` beside the `deps/` directory that holds
/// the test binary itself, so they are found from the test's own path.
pub fn example_binary(name: &str) -> String {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_directory = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in <target>/<profile>/deps");
    let example: PathBuf = profile_directory.join("examples").join(name);
    assert!(
        example.exists(),
        "{} is not built: `cargo test` builds examples, `cargo test --test ...` does not",
        example.display()
    );
    example.to_string_lossy().into_owned()
}

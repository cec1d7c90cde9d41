//! `cargo ex autograding`: GitHub Classroom's `.github/classroom/autograding.json`,
//! made from the exercise list (so from stages.toml), never by hand: one
//! test per exercise, in the order handed out, each `cargo ex check NAME`,
//! worth its minutes in points.

use serde::Serialize;

use crate::exercises::exercises;

/// A test as GitHub Classroom's autograding action reads it: `run` must
/// exit 0 (`comparison` against an empty `output` always matches), within
/// `timeout` minutes.
#[derive(Serialize)]
struct Test {
    name: &'static str,
    setup: &'static str,
    run: String,
    input: &'static str,
    output: &'static str,
    comparison: &'static str,
    timeout: u32,
    points: u32,
}

#[derive(Serialize)]
struct Autograding {
    tests: Vec<Test>,
}

/// Minutes a test may take: the first builds the dependencies (a few
/// minutes on a hosted runner); a check itself is bounded to 30 s.
const TIMEOUT_MINUTES: u32 = 10;

/// The file's text.
pub fn autograding_json() -> String {
    let tests = exercises()
        .iter()
        .map(|exercise| Test {
            name: exercise.name,
            setup: "",
            run: format!("cargo ex check {}", exercise.name),
            input: "",
            output: "",
            comparison: "included",
            timeout: TIMEOUT_MINUTES,
            points: exercise.minutes,
        })
        .collect();
    serde_json::to_string_pretty(&Autograding { tests }).expect("the tests serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the file is committed, from the repository's root.
    const PATH: &str = ".github/classroom/autograding.json";

    #[test]
    fn the_committed_file_is_the_generated_one_and_names_every_exercise() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == autograding_json(),
            "{PATH} is not what `cargo ex autograding` makes of stages.toml: run\n  cargo ex autograding > {PATH}"
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&committed).expect("autograding.json parses");
        let tests = parsed["tests"].as_array().expect("a list of tests");
        let names: Vec<&str> = tests
            .iter()
            .map(|test| test["name"].as_str().expect("a test's name"))
            .collect();
        let expected: Vec<&str> = exercises().iter().map(|exercise| exercise.name).collect();
        assert_eq!(names, expected, "one test per exercise, in order");
        for test in tests {
            let name = test["name"].as_str().unwrap_or_default();
            assert_eq!(test["run"], format!("cargo ex check {name}"));
            assert!(test["points"].as_u64().is_some_and(|points| points > 0));
        }
    }
}

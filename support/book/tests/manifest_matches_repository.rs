//! `stages.toml` is the course's one list of stages; these tests fail when
//! the workspace, the book's SUMMARY.md, the README's chapter map or the
//! exercises/ folder disagree with it. Adding a stage is one entry there,
//! one crate and one chapter: each test names what is missing.

use std::collections::BTreeSet;
use std::fs;

use common::manifest::manifest;

fn read(relative: &str) -> String {
    let path = book::workspace_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn every_stage_crate_is_a_workspace_member_and_every_top_member_a_stage() {
    let cargo: toml::Table = read("Cargo.toml").parse().expect("the root Cargo.toml");
    let members: BTreeSet<&str> = cargo["workspace"]["members"]
        .as_array()
        .expect("workspace.members")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    let stages: BTreeSet<&str> = manifest()
        .stage
        .iter()
        .map(|stage| stage.crate_name.as_str())
        .collect();
    // A member at the top of the workspace (not under support/, not an
    // exercises/ glob) is a lesson crate, and every lesson crate a member.
    let top: BTreeSet<&str> = members
        .iter()
        .copied()
        .filter(|member| !member.contains('/'))
        .collect();
    assert_eq!(
        top.symmetric_difference(&stages).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "the root Cargo.toml's top-level members and the stages of stages.toml differ by these"
    );
    // `cargo test`, the README's test command, proves every lesson: each
    // stage is a default member too.
    let defaults: BTreeSet<&str> = cargo["workspace"]["default-members"]
        .as_array()
        .expect("workspace.default-members")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    let untested: Vec<&&str> = stages.difference(&defaults).collect();
    assert!(
        untested.is_empty(),
        "stages that `cargo test` would not build (add them to default-members): {untested:?}"
    );
    // And no crate directory at the top is left out of both.
    let root = book::workspace_root();
    for entry in fs::read_dir(&root).expect("the workspace root").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("Cargo.toml").is_file() {
            assert!(
                stages.contains(name.as_str()),
                "{name}/ is a crate at the workspace's top but no stage of stages.toml"
            );
        }
    }
}

#[test]
fn the_summary_lists_every_stage_chapter_in_the_manifest_order() {
    let manifest = manifest();
    let chapter = |path: &str| {
        path.strip_prefix("docs/src/")
            .unwrap_or_else(|| panic!("stages.toml: {path} is not in docs/src"))
            .to_owned()
    };
    let stage_chapters: Vec<String> = manifest.stage.iter().map(|s| chapter(&s.chapter)).collect();
    let summary: Vec<String> = book::book_checks::summary_chapters(&book::book_source())
        .iter()
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    let listed: Vec<&String> = summary
        .iter()
        .filter(|entry| stage_chapters.contains(entry))
        .collect();
    assert_eq!(
        listed,
        stage_chapters.iter().collect::<Vec<_>>(),
        "docs/src/SUMMARY.md does not list the stages' chapters once each, in the order of stages.toml"
    );
    for other in &manifest.chapter {
        let other = chapter(&other.chapter);
        assert!(
            summary.contains(&other),
            "docs/src/SUMMARY.md does not list {other}, a [[chapter]] of stages.toml"
        );
    }
}

#[test]
fn the_readme_maps_every_stage_to_its_chapter_in_the_manifest_order() {
    let readme = read("README.md");
    let rows: Vec<&str> = readme
        .lines()
        .filter(|line| line.trim_start().starts_with('|'))
        .collect();
    let mut previous: Option<(usize, &str)> = None;
    for stage in &manifest().stage {
        let code = format!("({}/src/main.rs)", stage.crate_name);
        let chapter = format!("({})", stage.chapter);
        let Some(row) = rows
            .iter()
            .position(|row| row.contains(&code) && row.contains(&chapter))
        else {
            panic!(
                "README.md: no table row links {code} and {chapter} (the chapter map)",
                code = &code[1..code.len() - 1],
                chapter = &chapter[1..chapter.len() - 1]
            );
        };
        if let Some((before, name)) = previous {
            assert!(
                before < row,
                "README.md's chapter map has {} before {name}; stages.toml has them the other way",
                stage.crate_name
            );
        }
        previous = Some((row, &stage.crate_name));
    }
}

#[test]
fn every_exercise_folder_is_a_stage_exercise_and_every_stage_exercise_a_folder() {
    let named: BTreeSet<String> = manifest()
        .exercises()
        .map(|(_, exercise)| exercise.name.clone())
        .collect();
    let folders: BTreeSet<String> = fs::read_dir(book::workspace_root().join("exercises"))
        .expect("exercises/")
        .flatten()
        .filter(|entry| entry.path().is_dir() && entry.file_name() != "solutions")
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        folders.symmetric_difference(&named).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the folders of exercises/ and the exercises of stages.toml differ by these"
    );
}

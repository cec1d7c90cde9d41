//! Which stages the book diffs, and which chapter teaches which crate: both
//! read from `stages.toml` ([`common::manifest`]), the course's one list of
//! stages.

use common::manifest::{manifest, Stage};

/// One diff the book shows: what a stage changed from the one it grew from.
/// Both sources are read without their mdBook anchor lines (`// ANCHOR:`,
/// `// ANCHOR_END:`), which are the chapters' markup, not the stage's code:
/// see [`crate::stage_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDiff {
    /// The earlier source, relative to the workspace root.
    pub from: String,
    /// The later source, relative to the workspace root.
    pub to: String,
}

impl StageDiff {
    /// The name of the file under `docs/src/diffs/`: the two crates for two
    /// `src/main.rs` files (`webserver3a-webserver3b.diff`), else the two
    /// file stems (`nonblock_model-epoll_model.diff`).
    pub fn file_name(&self) -> String {
        format!("{}-{}.diff", short_name(&self.from), short_name(&self.to))
    }
}

/// `webserver3a` for `webserver3a/src/main.rs`; `epoll_model` for
/// `epoll_server/src/bin/epoll_model.rs`.
fn short_name(path: &str) -> &str {
    match path.strip_suffix("/src/main.rs") {
        Some(crate_directory) => crate_directory,
        None => {
            let file = path.rsplit('/').next().unwrap_or(path);
            file.strip_suffix(".rs").unwrap_or(file)
        }
    }
}

/// Every diff in the book, in the order of the chapters: each stage with a
/// `diff` against the stage it names (`X/src/main.rs` → `CRATE/src/main.rs`),
/// then each of its programs with a `diff` against the program it names,
/// looked for first in that stage, then in any stage.
pub fn stage_diffs() -> Vec<StageDiff> {
    let manifest = manifest();
    let mut diffs = Vec::new();
    for stage in &manifest.stage {
        let base = stage.diff.as_deref().and_then(|name| manifest.stage(name));
        if let Some(base) = base {
            diffs.push(StageDiff {
                from: base.main_source(),
                to: stage.main_source(),
            });
        }
        for program in &stage.program {
            let Some(from) = &program.diff else { continue };
            let source = base
                .into_iter()
                .chain(&manifest.stage)
                .find_map(|other| {
                    let found = other.program.iter().find(|p| &p.name == from)?;
                    Some(other.program_source(found))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "stages.toml: {}: diff against no program {from}",
                        program.name
                    )
                });
            diffs.push(StageDiff {
                from: source,
                to: stage.program_source(program),
            });
        }
    }
    diffs
}

/// A chapter that teaches one crate: it must show the crate's whole source
/// and, if the crate grew from another, the diff between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageChapter {
    /// The chapter, relative to `docs/src`.
    pub chapter: String,
    /// The sources the chapter includes whole, relative to the workspace root.
    pub sources: Vec<String>,
}

/// The chapter of `stage`: `CRATE/src/main.rs`, then its `sources`, then
/// each program's file unless already listed.
fn stage_chapter(stage: &Stage) -> StageChapter {
    let mut sources = vec![stage.main_source()];
    sources.extend(stage.sources.iter().cloned());
    for program in &stage.program {
        let file = stage.program_source(program);
        if !sources.contains(&file) {
            sources.push(file);
        }
    }
    let chapter = stage.chapter.strip_prefix("docs/src/");
    StageChapter {
        chapter: chapter.unwrap_or(&stage.chapter).to_owned(),
        sources,
    }
}

/// Every chapter that teaches a crate, in the book's order.
pub fn stage_chapters() -> Vec<StageChapter> {
    manifest().stage.iter().map(stage_chapter).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_files_are_named_after_the_crates_or_the_files() {
        let names: Vec<String> = stage_diffs().iter().map(StageDiff::file_name).collect();
        assert!(names.contains(&"webserver3a-webserver3b.diff".to_owned()));
        assert!(names.contains(&"nonblock_model-epoll_model.diff".to_owned()));
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "two diffs share a name: {names:?}"
        );
    }
}

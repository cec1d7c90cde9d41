//! `stages.toml`, the course's one list of stages, read once: every lesson's
//! `--help`, the book's checks, replay, `cargo ex` and the benchmark take
//! what they know of a stage from here. The file is built into the binary
//! (`include_str!`), so a lesson needs no checkout to answer `--help`.

use std::sync::OnceLock;

use serde::Deserialize;

/// The whole manifest: the stages in the book's order, and the chapters
/// that have no crate of their own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// One entry per lesson crate.
    pub stage: Vec<Stage>,
    /// Chapters with an experiment but no crate (C10K).
    #[serde(default)]
    pub chapter: Vec<Chapter>,
}

/// One lesson crate and its main binary.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The crate, a directory at the workspace's top; also its main binary.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// One line: what the program is and what it shows.
    pub description: String,
    /// The script or article it ports.
    pub original: String,
    /// The book's chapter, from the repository root.
    pub chapter: String,
    /// The port it listens on (or, for a client, connects to).
    pub port: u16,
    /// What `SLEEP_SECS` overrides, if anything.
    pub sleep: Option<Sleep>,
    /// The stage whose `src/main.rs` the book diffs this one's against.
    pub diff: Option<String>,
    /// What the chapter includes whole besides `src/main.rs`.
    #[serde(default)]
    pub sources: Vec<String>,
    /// replay's name for the chapter's experiment.
    pub replay: Option<String>,
    /// The chapter's exercises.
    #[serde(default)]
    pub exercises: Vec<Exercise>,
    /// How the benchmark runs it, if it does.
    pub bench: Option<Bench>,
    /// The crate's other binaries.
    #[serde(default)]
    pub program: Vec<Program>,
}

/// Another binary of a stage's crate (`src/bin/NAME.rs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// The binary, as `cargo run -p CRATE --bin NAME` knows it.
    pub name: String,
    /// One line: what the program is and what it shows.
    pub description: String,
    /// The script or article it ports.
    pub original: String,
    /// The port it listens on (or connects to).
    pub port: u16,
    /// What `SLEEP_SECS` overrides, if anything.
    pub sleep: Option<Sleep>,
    /// The program (of the stage this one's stage is diffed against) whose
    /// file the book diffs this one's against.
    pub diff: Option<String>,
}

/// `SLEEP_SECS`: the default it overrides and what that shortens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sleep {
    /// The default, in seconds.
    pub seconds: u64,
    /// What the sleep is, in a few words.
    pub what: String,
}

/// One exercise: the crate `exercises/NAME`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// The folder under `exercises/`, e.g. `11_reap_every_child`.
    pub name: String,
    /// What its check proves, in a few words.
    pub concept: String,
    /// About how long a student needs, in minutes.
    pub minutes: u32,
}

/// How the benchmark runs a stage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bench {
    /// The path asked for on the connection-per-request workload.
    pub path: String,
    /// Whether it serves a document root with static_http's options
    /// (`--root DIR`, and `--quiet` for no line per request).
    #[serde(default)]
    pub site: bool,
    /// Whether it forks a process per connection.
    #[serde(default)]
    pub forks: bool,
    /// Whether its loop never sleeps (nonblock_server): it asks every
    /// socket on every turn, so it is measured idle and left out of C10K,
    /// where that is the known answer.
    #[serde(default)]
    pub busy_loop: bool,
    /// One server of the comparison per variant.
    pub variants: Vec<Variant>,
}

/// One server of the benchmark's comparison.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Its name in the benchmark's tables (`epoll_server-edge`).
    pub name: String,
    /// Arguments after the site's (`--trigger edge`).
    #[serde(default)]
    pub args: Vec<String>,
    /// The worker processes it serves with (prefork_server's `--workers
    /// N`), 1 when it serves from one process. A server of more than one
    /// is given every core, is compared with nginx of as many workers, and
    /// is profiled with strace only.
    #[serde(default = "one")]
    pub workers: u32,
}

fn one() -> u32 {
    1
}

/// A chapter with no crate of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    /// The book's chapter, from the repository root.
    pub chapter: String,
    /// replay's name for its experiment.
    pub replay: Option<String>,
}

/// The text of `stages.toml`, as built into this binary.
pub const STAGES_TOML: &str = include_str!("../../../stages.toml");

/// The manifest, parsed on first use. `stages.toml` is part of the build
/// and a unit test parses it, so a broken one never reaches a learner.
pub fn manifest() -> &'static Manifest {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        toml::from_str(STAGES_TOML).unwrap_or_else(|err| panic!("stages.toml: {err}"))
    })
}

impl Manifest {
    /// The stage whose crate is `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stage.iter().find(|stage| stage.crate_name == name)
    }

    /// Every exercise, with its stage, in the order of the stages.
    pub fn exercises(&self) -> impl Iterator<Item = (&Stage, &Exercise)> {
        self.stage.iter().flat_map(|stage| {
            stage
                .exercises
                .iter()
                .map(move |exercise| (stage, exercise))
        })
    }

    /// What `--help` says of the binary `name`: a stage's main binary or one
    /// of its programs.
    pub fn binary(&self, name: &str) -> Option<Binary<'_>> {
        self.stage.iter().find_map(|stage| {
            if stage.crate_name == name {
                return Some(Binary {
                    stage,
                    description: &stage.description,
                    original: &stage.original,
                    port: stage.port,
                    sleep: stage.sleep.as_ref(),
                });
            }
            let program = stage.program.iter().find(|program| program.name == name)?;
            Some(Binary {
                stage,
                description: &program.description,
                original: &program.original,
                port: program.port,
                sleep: program.sleep.as_ref(),
            })
        })
    }
}

impl Stage {
    /// `CRATE/src/main.rs`.
    pub fn main_source(&self) -> String {
        format!("{}/src/main.rs", self.crate_name)
    }

    /// `CRATE/src/bin/NAME.rs`.
    pub fn program_source(&self, program: &Program) -> String {
        format!("{}/src/bin/{}.rs", self.crate_name, program.name)
    }
}

/// One binary as `--help` describes it.
pub struct Binary<'a> {
    /// The stage whose crate holds it.
    pub stage: &'a Stage,
    /// One line: what the program is and what it shows.
    pub description: &'a str,
    /// The script or article it ports.
    pub original: &'a str,
    /// The port it listens on (or connects to).
    pub port: u16,
    /// What `SLEEP_SECS` overrides, if anything.
    pub sleep: Option<&'a Sleep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_toml_parses_and_names_what_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let manifest = manifest();
        assert!(manifest.stage.len() >= 12);
        for stage in &manifest.stage {
            let mut files = vec![stage.chapter.clone(), stage.main_source()];
            files.extend(stage.sources.iter().cloned());
            files.extend(stage.program.iter().map(|p| stage.program_source(p)));
            files.extend(
                stage
                    .exercises
                    .iter()
                    .map(|e| format!("exercises/{}/Cargo.toml", e.name)),
            );
            for file in files {
                assert!(
                    root.join(&file).is_file(),
                    "{}: no {file}",
                    stage.crate_name
                );
            }
            if let Some(from) = &stage.diff {
                assert!(
                    manifest.stage(from).is_some(),
                    "{}: diff against no stage {from}",
                    stage.crate_name
                );
            }
        }
        for chapter in &manifest.chapter {
            assert!(
                root.join(&chapter.chapter).is_file(),
                "no {}",
                chapter.chapter
            );
        }
    }
}

//! replay: one command per chapter that starts the chapter's server(s),
//! runs its experiment (the clients, and the readings the chapter uses:
//! `ps`, `ss`, `/proc`, `strace`) and prints a narrated transcript.
//!
//! ```text
//! cargo run -p replay -- --list        # the chapters
//! cargo run -p replay -- 3d            # replay webserver3d's experiment
//! cargo run -p replay -- --write       # rewrite docs/src/transcripts/ (and the figures)
//! cargo run -p replay -- --check       # fail when the book's transcripts no longer match
//! ```
//!
//! Every process replay starts is in a process group of its own and is
//! killed by that group's id when its step ends, also on error; every step
//! has a deadline; the servers listen on a free port (`PORT=0`) and every
//! client connects to 127.0.0.1. Steps that need a tool that is missing say
//! how to install it; the step that needs root (to run a server as the user
//! `nobody` under `ulimit -u`) says so and is skipped for other users.

mod chapters;
mod figures;
mod lab;
mod normalize;
mod transcript;

use std::fs;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::chapters::{Chapter, CHAPTERS};
use crate::lab::Lab;
use crate::transcript::Step;

/// Replays a chapter's experiment and prints its narrated transcript.
#[derive(Parser)]
#[command(name = "replay")]
struct Cli {
    /// The chapters to replay (3d, webserver3d, client3, ...; see --list).
    /// With --write or --check and no chapter: all of them.
    #[arg(value_parser = chapters::find)]
    chapters: Vec<&'static Chapter>,
    /// List the chapters and what each experiment does.
    #[arg(long)]
    list: bool,
    /// Write the transcripts into docs/src/transcripts/ (and the figures).
    #[arg(long, conflicts_with = "check")]
    write: bool,
    /// Compare a fresh run with the transcripts in docs/src/transcripts/,
    /// with what legitimately varies normalized; fail with a diff.
    #[arg(long)]
    check: bool,
    /// Do not run `cargo build` first (the binaries are already built).
    #[arg(long)]
    no_build: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("replay: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<bool> {
    if cli.list {
        for chapter in CHAPTERS {
            let Chapter { short, what, .. } = chapter;
            println!("{short:<10} {}: {what}", chapter.crate_name);
        }
        return Ok(true);
    }
    if cli.chapters.is_empty() && !(cli.write || cli.check) {
        bail!("name a chapter (see --list), or give --write or --check for all of them");
    }
    let chosen: Vec<&Chapter> = if cli.chapters.is_empty() {
        CHAPTERS.iter().collect()
    } else {
        cli.chapters
    };

    // Two levels above this crate, `support/replay`; canonical, as the
    // servers print it (`Document root: …`), so that the transcripts can
    // show it as `./`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .context("the workspace root")?;
    // The commands run from the workspace root, as the book's do, so that
    // the binaries are ./target/debug/… for them and for ps.
    std::env::set_current_dir(&root).context("cd to the workspace root")?;
    if !cli.no_build {
        build(&root)?;
    }
    // The lesson binaries are beside replay's own (target/debug).
    let me = std::env::current_exe().context("find replay's own binary")?;
    let binaries = me.parent().context("replay's directory")?;
    lab::close_inherited_descriptors_on_exec();
    let scratch_directory = testkit::TempDir::new("replay");
    let scratch = scratch_directory.path().to_owned();
    let remove = scratch.clone();
    testkit::run::stop_everything_on_interrupt("replay", move || {
        let _ = fs::remove_dir_all(remove);
    });

    let transcripts = root.join("docs/src/transcripts");
    let started = Instant::now();
    let mut all_good = true;
    let mut written: Vec<String> = Vec::new();
    let every_chapter = chosen.len() == CHAPTERS.len();
    for chapter in chosen {
        let mut lab = Lab::new(&root, binaries, &scratch, chapter.short, !cli.check);
        let chapter_started = Instant::now();
        let outcome = (chapter.run)(&mut lab);
        lab.transcript.flush();
        if let Err(err) = outcome {
            eprintln!("replay: {}: {err:#}", chapter.short);
            all_good = false;
            continue;
        }
        let steps = &lab.transcript.steps;
        written.extend(steps.iter().map(|step| file_name(chapter, step)));
        if cli.write {
            write(&transcripts, chapter, &lab)?;
            figures::write(&root, &lab.figures)?;
        }
        if cli.check {
            let good = check(&transcripts, chapter, &lab);
            let verdict = if good {
                "matches the book"
            } else {
                "does not match the book (see above)"
            };
            let seconds = chapter_started.elapsed().as_secs_f64();
            eprintln!(
                "replay --check: {} {verdict} ({seconds:.1} s)",
                chapter.short
            );
            all_good &= good;
        }
    }
    if (cli.check || cli.write) && every_chapter && all_good {
        for stale in stale_transcripts(&transcripts, &written) {
            eprintln!(
                "replay: {stale} is a transcript no step writes any more: remove it \
                 (and its {{{{#include}}}})"
            );
            all_good &= !cli.check;
        }
    }
    if cli.check {
        let verdict = if all_good {
            "all transcripts match"
        } else {
            "FAILED"
        };
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("replay --check: {verdict} in {seconds:.1} s");
    }
    Ok(all_good)
}

/// Builds the binaries the experiments run.
fn build(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["build", "-q"]);
    // A chapter without a crate of its own (c10k) runs the others' binaries.
    for chapter in CHAPTERS
        .iter()
        .filter(|chapter| root.join(chapter.crate_name).join("Cargo.toml").is_file())
    {
        command.args(["-p", chapter.crate_name]);
    }
    // The load of the uring chapter's count of system calls: a tool, not a lesson.
    command.args(["-p", "loadgen"]);
    let status = command.status().context("run cargo build")?;
    if !status.success() {
        bail!("cargo build of the lesson crates failed");
    }
    Ok(())
}

fn file_name(chapter: &Chapter, step: &Step) -> String {
    format!("{}-{}.txt", chapter.crate_name, step.name)
}

/// Writes each step that ran; a skipped step keeps the file it had.
fn write(transcripts: &Path, chapter: &Chapter, lab: &Lab) -> Result<()> {
    fs::create_dir_all(transcripts)?;
    for step in &lab.transcript.steps {
        let name = file_name(chapter, step);
        let path = transcripts.join(name);
        if step.skipped.is_some() {
            eprintln!("replay: kept {} (the step was skipped)", path.display());
            continue;
        }
        fs::write(&path, &step.text).with_context(|| format!("write {}", path.display()))?;
        eprintln!("replay: wrote {}", path.display());
    }
    Ok(())
}

/// Compares each step with its file, normalized; prints a diff per difference.
fn check(transcripts: &Path, chapter: &Chapter, lab: &Lab) -> bool {
    let rules = normalize::Rules::new(chapter.varies, chapter.sort);
    let mut good = true;
    for step in &lab.transcript.steps {
        let name = file_name(chapter, step);
        if let Some(why) = &step.skipped {
            if lab.missing.contains(why) {
                eprintln!("replay --check: {name}: cannot be checked: {why}");
                good = false;
            } else {
                eprintln!("replay --check: {name}: not checked: {why}");
            }
            continue;
        }
        let Ok(committed) = fs::read_to_string(transcripts.join(&name)) else {
            eprintln!(
                "replay --check: {name}: the book has no such transcript; \
                 write it with `cargo run -p replay -- --write {}`",
                chapter.short
            );
            good = false;
            continue;
        };
        let expected = rules.apply(&committed);
        let fresh = rules.apply(&step.text);
        if expected != fresh {
            eprintln!(
                "replay --check: {name} no longer matches what the program prints \
                 (normalized; - the book, + this run). If the change is intended, \
                 rewrite it with `cargo run -p replay -- --write {}`:",
                chapter.short
            );
            eprint!(
                "{}",
                similar::TextDiff::from_lines(&expected, &fresh)
                    .unified_diff()
                    .header(&format!("book/{name}"), &format!("run/{name}"))
            );
            good = false;
        }
    }
    good
}

/// The files in docs/src/transcripts that no step wrote in this run.
fn stale_transcripts(transcripts: &Path, written: &[String]) -> Vec<String> {
    let Ok(entries) = fs::read_dir(transcripts) else {
        return Vec::new();
    };
    let mut stale: Vec<String> = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !written.contains(name))
        .collect();
    stale.sort();
    stale
}

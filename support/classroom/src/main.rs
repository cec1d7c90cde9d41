//! classroom: the exercise runner. `cargo ex list` (an alias for
//! `cargo run -q -p classroom --`, in .cargo/config.toml).
//!
//! Each exercise is a crate in `exercises/` whose `src/main.rs` a student
//! completes. A check builds it and runs its binary against the behaviour
//! the lesson's own tests prove: answers, concurrency, end-of-file, zombies,
//! EINTR. It says what it tried and, on failure, what it saw.
//!
//! Why not Rustlings: its third-party exercises are single files that it
//! compiles and then runs to completion or tests with `cargo test`, with no
//! time bound; a server never exits, and these checks must start it on a
//! free port, watch its children in /proc and kill its process group.

mod checks;
mod exercises;
mod probe;
mod workspace;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{self, Command};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use exercises::{exercises, Exercise};
use probe::Probe;
use workspace::{Build, Workspace};

/// How long one check may take, everything included but the build.
const CHECK_LIMIT: Duration = Duration::from_secs(30);

#[derive(Parser)]
#[command(
    name = "cargo ex",
    about = "Exercises for \"Let's Build A Web Server, in Rust\": write the lesson's key piece, and a check grades it by how your server behaves."
)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Every exercise, its chapter and concept, and your progress.
    List,
    /// Build an exercise and check how it behaves (no NAME: the next one not done).
    Check {
        /// The exercise, e.g. 10_reap_every_child (or just 10).
        name: Option<String>,
        /// Check every exercise, in order.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Show an exercise's hint.
    Hint {
        /// The exercise, e.g. 01_socket_steps (or just 01).
        name: String,
    },
    /// Check the next exercise, then re-check whichever exercise you save.
    Watch,
    /// Put an exercise's starter back (git checkout of its src/).
    Reset {
        /// The exercise, e.g. 01_socket_steps (or just 01).
        name: String,
    },
    /// CI: for every exercise, in a copy, the starter and each wrong answer fail its check
    /// (a wrong answer with the words it names) and the solution passes.
    Verify {
        /// Only these exercises (a name or its number); all by default.
        names: Vec<String>,
    },
    /// Instructors: write a student copy of the repository (no solutions) to DIR.
    Handout {
        /// Where to write it (must not exist yet).
        dir: PathBuf,
    },
    /// Instructors: check a folder of student copies; print student x exercise.
    Grade {
        /// One folder per student: a copy of exercises/ or of the whole repository.
        dir: PathBuf,
        /// Time for one student, builds and checks together.
        #[arg(long, default_value_t = 400)]
        seconds_per_student: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let outcome = match cli.verb {
        Verb::List => list(),
        Verb::Check {
            name: None,
            all: true,
        } => check_all(),
        Verb::Check { name, .. } => check_one(name.as_deref()),
        Verb::Hint { name } => hint(&name),
        Verb::Watch => watch(),
        Verb::Reset { name } => reset(&name),
        Verb::Verify { names } => verify(&names),
        Verb::Handout { dir } => workspace::handout(&dir),
        Verb::Grade {
            dir,
            seconds_per_student,
        } => grade(&dir, Duration::from_secs(seconds_per_student)),
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => process::exit(1),
        Err(err) => {
            eprintln!("cargo ex: {err:#}");
            process::exit(2);
        }
    }
}

/// The outcome of checking one exercise.
enum Outcome {
    Pass,
    /// The check failed: the first reason.
    Fail(String),
    /// The crate did not build: the compiler's messages.
    NoBuild(String),
}

/// Runs `exercise`'s check on `binary` in a thread of its own, for at most
/// [`CHECK_LIMIT`]; past it, kills what the check started.
fn run_check(exercise: &Exercise, binary: &Path, verbose: bool) -> Result<(), String> {
    let (done, outcome) = mpsc::channel();
    let probe = Probe {
        binary: binary.to_owned(),
        verbose,
    };
    let check = exercise.check;
    thread::spawn(move || {
        let _ = done.send(check(&probe));
    });
    match outcome.recv_timeout(CHECK_LIMIT) {
        Ok(result) => result,
        Err(_) => {
            testkit::run::kill_everything_started();
            Err(format!(
                "the check did not finish within {} s: your program stopped answering, so it was stopped",
                CHECK_LIMIT.as_secs()
            ))
        }
    }
}

/// Builds and checks one exercise in `workspace`, printing as it goes when
/// `verbose`.
fn build_and_check(
    workspace: &Workspace,
    exercise: &Exercise,
    verbose: bool,
    build_limit: Option<Duration>,
) -> Outcome {
    if verbose {
        println!("building {} ...", exercise.name);
    }
    let binary = match workspace.build(exercise, verbose, build_limit) {
        Build::Built(binary) => binary,
        Build::Failed(messages) => return Outcome::NoBuild(messages),
    };
    if verbose {
        println!("checking {} ({}):", exercise.name, exercise.concept);
    }
    match run_check(exercise, &binary, verbose) {
        Ok(()) => Outcome::Pass,
        Err(reason) => Outcome::Fail(reason),
    }
}

/// The exercise called `name`, or a list of the names when none is.
fn find(name: &str) -> Result<&'static Exercise> {
    let name = name.trim_end_matches('/').trim_start_matches("exercises/");
    exercises()
        .iter()
        .find(|exercise| exercise.name == name || exercise.name.split('_').next() == Some(name))
        .with_context(|| {
            let names: Vec<&str> = exercises().iter().map(|exercise| exercise.name).collect();
            format!("no exercise {name:?}; there are: {}", names.join(", "))
        })
}

/// Progress: which exercises last passed their check, kept in the target
/// directory (never committed).
struct Progress {
    path: PathBuf,
    passed: BTreeMap<String, bool>,
}

impl Progress {
    fn load(workspace: &Workspace) -> Progress {
        let path = workspace.target_dir.join("classroom-progress.txt");
        let passed = fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, state)| (name.to_owned(), state == "pass"))
            .collect();
        Progress { path, passed }
    }

    fn record(&mut self, name: &str, passed: bool) {
        self.passed.insert(name.to_owned(), passed);
        let text: String = self
            .passed
            .iter()
            .map(|(name, passed)| format!("{name} {}\n", if *passed { "pass" } else { "fail" }))
            .collect();
        let _ = fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")));
        let _ = fs::write(&self.path, text);
    }

    fn next_not_done(&self) -> Option<&'static Exercise> {
        exercises()
            .iter()
            .find(|exercise| self.passed.get(exercise.name) != Some(&true))
    }
}

fn list() -> Result<bool> {
    let workspace = Workspace::here()?;
    let progress = Progress::load(&workspace);
    let edited = workspace.edited_exercises();
    println!("     exercise                  chapter          time    concept");
    for exercise in exercises() {
        let mark = match progress.passed.get(exercise.name) {
            Some(true) => "[x]",
            Some(false) => "[!]",
            None => "[ ]",
        };
        let note = if edited.contains(exercise.name) {
            " (edited)"
        } else {
            ""
        };
        println!(
            "{mark}  {:<25} {:<16} {:>2} min  {}{note}",
            exercise.name, exercise.stage, exercise.minutes, exercise.concept
        );
    }
    let done = exercises()
        .iter()
        .filter(|exercise| progress.passed.get(exercise.name) == Some(&true))
        .count();
    println!(
        "\n{done}/{} done ([x] passed its last check, [!] failed it).",
        exercises().len()
    );
    match progress.next_not_done() {
        Some(next) => println!(
            "Next: read exercises/{}/README.md, edit its src/main.rs, then: cargo ex check {}",
            next.name, next.name
        ),
        None => println!("Every exercise passes. Well done."),
    }
    println!("Verbs: list, check [NAME|--all], hint NAME, watch, reset NAME (cargo ex --help).");
    Ok(true)
}

fn check_one(name: Option<&str>) -> Result<bool> {
    let workspace = Workspace::here()?;
    let mut progress = Progress::load(&workspace);
    let exercise = match name {
        Some(name) => find(name)?,
        None => match progress.next_not_done() {
            Some(next) => next,
            None => {
                println!("Every exercise passes; name one to check it again.");
                return Ok(true);
            }
        },
    };
    let passed = check_and_report(&workspace, exercise, &mut progress);
    Ok(passed)
}

/// Checks one exercise for the student: every step printed, then the
/// verdict and what to do next.
fn check_and_report(workspace: &Workspace, exercise: &Exercise, progress: &mut Progress) -> bool {
    let started = Instant::now();
    let outcome = build_and_check(workspace, exercise, true, None);
    let passed = matches!(outcome, Outcome::Pass);
    progress.record(exercise.name, passed);
    match outcome {
        Outcome::Pass => {
            println!(
                "PASS {}: your program does what the lesson says ({:.1} s).",
                exercise.name,
                started.elapsed().as_secs_f32()
            );
            match progress.next_not_done() {
                Some(next) => println!("Next: exercises/{}/README.md", next.name),
                None => println!("That was the last one: every exercise passes."),
            }
        }
        Outcome::Fail(reason) => {
            println!("FAIL {}: {reason}", exercise.name);
            println!(
                "Statement: exercises/{}/README.md; stuck? cargo ex hint {}",
                exercise.name, exercise.name
            );
        }
        Outcome::NoBuild(messages) => {
            println!("{messages}");
            println!(
                "DID NOT BUILD {}: the compiler's messages are above.",
                exercise.name
            );
        }
    }
    passed
}

fn check_all() -> Result<bool> {
    let workspace = Workspace::here()?;
    let mut progress = Progress::load(&workspace);
    let mut passed = 0;
    for exercise in exercises() {
        if check_and_report(&workspace, exercise, &mut progress) {
            passed += 1;
        }
        println!();
    }
    println!("{passed}/{} exercises pass.", exercises().len());
    Ok(passed == exercises().len())
}

fn hint(name: &str) -> Result<bool> {
    let workspace = Workspace::here()?;
    let exercise = find(name)?;
    let path = workspace.exercise_dir(exercise).join("hint.md");
    let text = fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    println!("{}", text.trim_end());
    Ok(true)
}

fn reset(name: &str) -> Result<bool> {
    let workspace = Workspace::here()?;
    let exercise = find(name)?;
    let source = format!("exercises/{}/src", exercise.name);
    // Git holds the starter: the version of the last commit. No copy of it
    // is kept elsewhere, so there is one truth to edit for instructors.
    let status = Command::new("git")
        .args(["checkout", "--", &source])
        .current_dir(&workspace.root)
        .status()
        .context("run git (reset restores the starter from git)")?;
    if !status.success() {
        bail!("git checkout -- {source} failed");
    }
    Progress::load(&workspace).record(exercise.name, false);
    println!("{source} is back to its last committed version (the starter, unless you committed your work).");
    Ok(true)
}

/// The newest modification time of any file under each exercise's folder.
fn modification_times(workspace: &Workspace) -> BTreeMap<&'static str, SystemTime> {
    exercises()
        .iter()
        .map(|exercise| {
            let folder = workspace.exercise_dir(exercise);
            let files = workspace::files_under(&folder, &|_| false).unwrap_or_default();
            let newest = files
                .iter()
                .filter_map(|file| fs::metadata(folder.join(file)).ok()?.modified().ok())
                .max();
            (exercise.name, newest.unwrap_or(SystemTime::UNIX_EPOCH))
        })
        .collect()
}

fn watch() -> Result<bool> {
    let workspace = Workspace::here()?;
    let mut progress = Progress::load(&workspace);
    let Some(first) = progress.next_not_done() else {
        println!("Every exercise passes. Nothing to watch.");
        return Ok(true);
    };
    check_and_report(&workspace, first, &mut progress);
    println!("\nWatching exercises/ (Ctrl-C to stop): save a file to check its exercise again.");
    // Polling modification times every 500 ms: no dependency, no inotify
    // limit, and it works on every file system (a shared folder, a VM, a
    // container mount), for a few dozen files.
    let mut seen = modification_times(&workspace);
    loop {
        thread::sleep(Duration::from_millis(500));
        let now = modification_times(&workspace);
        let changed: Vec<&'static str> = now
            .iter()
            .filter(|(name, time)| seen.get(*name) != Some(*time))
            .map(|(name, _)| *name)
            .collect();
        seen = now;
        for name in changed {
            let exercise = find(name)?;
            println!("\n{name} changed.");
            check_and_report(&workspace, exercise, &mut progress);
            println!("\nWatching exercises/ (Ctrl-C to stop).");
            seen = modification_times(&workspace);
        }
    }
}

fn verify(names: &[String]) -> Result<bool> {
    let chosen: Vec<&Exercise> = if names.is_empty() {
        exercises().iter().collect()
    } else {
        names.iter().map(|name| find(name)).collect::<Result<_>>()?
    };
    let source = Workspace::here()?;
    let copy = source.scratch_copy("verify")?;
    println!(
        "verify: in a copy ({}), every starter and every wrong answer must fail its check (a wrong answer, saying what it names), and every solution pass it.",
        copy.root.display()
    );
    let mut problems = Vec::new();
    let mut wrong_answers = 0;
    for exercise in chosen.iter().copied() {
        let started = Instant::now();
        copy.put_starter(&source, exercise)?;
        let starter = build_and_check(&copy, exercise, false, None);
        let starter_words = match &starter {
            Outcome::Fail(reason) => format!("fails: {reason}"),
            Outcome::Pass => {
                problems.push(format!("{}: the starter passes its check", exercise.name));
                "PASSES (it must fail)".to_owned()
            }
            Outcome::NoBuild(messages) => {
                problems.push(format!("{}: the starter does not build", exercise.name));
                format!("DOES NOT BUILD: {}", first_error(messages))
            }
        };
        copy.put_solution(&source, exercise)?;
        let solution = build_and_check(&copy, exercise, false, None);
        let solution_words = match &solution {
            Outcome::Pass => "passes".to_owned(),
            Outcome::Fail(reason) => {
                problems.push(format!("{}: the solution fails its check", exercise.name));
                format!("FAILS: {reason}")
            }
            Outcome::NoBuild(messages) => {
                problems.push(format!("{}: the solution does not build", exercise.name));
                format!("DOES NOT BUILD: {}", first_error(messages))
            }
        };
        println!(
            "{:<25} starter {starter_words}\n{:<25} solution {solution_words} ({:.1} s)",
            exercise.name,
            "",
            started.elapsed().as_secs_f32()
        );
        for wrong in source.wrong_answers(exercise)? {
            wrong_answers += 1;
            copy.put_main(exercise, &wrong.file)?;
            let name = wrong.file.file_stem().unwrap_or_default().to_string_lossy();
            let words = match build_and_check(&copy, exercise, false, None) {
                Outcome::Fail(reason) => {
                    let reason_lower = reason.to_lowercase();
                    let missing: Vec<&String> = wrong
                        .words
                        .iter()
                        .filter(|word| !reason_lower.contains(&word.to_lowercase()))
                        .collect();
                    if missing.is_empty() {
                        let quoted: Vec<String> =
                            wrong.words.iter().map(|word| format!("{word:?}")).collect();
                        format!("fails, saying {}", quoted.join(" and "))
                    } else {
                        problems.push(format!(
                            "{}: wrong answer {name} fails without saying {missing:?}",
                            exercise.name
                        ));
                        format!("FAILS FOR ANOTHER REASON: {reason}")
                    }
                }
                Outcome::Pass => {
                    problems.push(format!("{}: wrong answer {name} passes", exercise.name));
                    "PASSES (it must fail)".to_owned()
                }
                Outcome::NoBuild(messages) => {
                    problems.push(format!(
                        "{}: wrong answer {name} does not build",
                        exercise.name
                    ));
                    format!("DOES NOT BUILD: {}", first_error(&messages))
                }
            };
            println!("{:<25} wrong: {name} {words}", "");
        }
    }
    if problems.is_empty() {
        println!(
            "verify: all {} starters fail, all {} solutions pass, and all {wrong_answers} wrong answers fail for their reason.",
            chosen.len(),
            chosen.len()
        );
        Ok(true)
    } else {
        println!("verify: {}", problems.join("; "));
        Ok(false)
    }
}

/// The first `error` line of the compiler's messages.
fn first_error(messages: &str) -> String {
    messages
        .lines()
        .find(|line| line.trim_start().starts_with("error"))
        .unwrap_or("(no error line)")
        .trim()
        .to_owned()
}

fn grade(dir: &Path, per_student: Duration) -> Result<bool> {
    let source = Workspace::here()?;
    let copy = source.scratch_copy("grade")?;
    let mut students: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    students.sort();
    if students.is_empty() {
        bail!("{} holds no student folders", dir.display());
    }
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut reasons = Vec::new();
    for student in &students {
        let name = student
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A copy of the repository, or of its exercises/ folder.
        let exercises_dir = if student.join("exercises").is_dir() {
            student.join("exercises")
        } else {
            student.clone()
        };
        eprintln!("grading {name} ...");
        let deadline = Instant::now() + per_student;
        let mut cells = Vec::new();
        for exercise in exercises() {
            let theirs = exercises_dir.join(exercise.name).join("src");
            let left = deadline.saturating_duration_since(Instant::now());
            let cell = if !theirs.is_dir() {
                "missing".to_owned()
            } else if left.is_zero() {
                reasons.push(format!("{name} {}: not graded, out of time", exercise.name));
                "no time".to_owned()
            } else {
                copy.put_student(exercise, &theirs)?;
                match build_and_check(&copy, exercise, false, Some(left)) {
                    Outcome::Pass => "pass".to_owned(),
                    Outcome::Fail(reason) => {
                        reasons.push(format!("{name} {}: fail: {reason}", exercise.name));
                        "FAIL".to_owned()
                    }
                    Outcome::NoBuild(messages) => {
                        reasons.push(format!(
                            "{name} {}: did not build: {}",
                            exercise.name,
                            first_error(&messages)
                        ));
                        "NO BUILD".to_owned()
                    }
                }
            };
            cells.push(cell);
        }
        rows.push((name, cells));
    }
    // The table: a column per exercise, headed by its number.
    let width = rows
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let numbers: String = exercises()
        .iter()
        .map(|exercise| format!(" | {:<8}", &exercise.name[..2]))
        .collect();
    let header = format!("{:<width$}{numbers} | passed", "student");
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for (name, cells) in &rows {
        let row: String = cells.iter().map(|cell| format!(" | {cell:<8}")).collect();
        let passed = cells.iter().filter(|cell| *cell == "pass").count();
        println!("{name:<width$}{row} | {passed}/{}", exercises().len());
    }
    println!();
    println!(
        "Exercises: {}",
        exercises()
            .iter()
            .map(|exercise| exercise.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !reasons.is_empty() {
        println!("\nFirst reasons:");
        for reason in reasons {
            println!("  {reason}");
        }
    }
    Ok(true)
}

//! `cargo ex grade DIR`: every student's exercises, built and checked in a
//! scratch copy, told apart as untouched (the starter as handed out), does
//! not build, fails and passes; a summary for the instructor, and CSV, JSON
//! and JUnit XML for a spreadsheet, a learning platform or CI.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::exercises::{exercises, Exercise};
use crate::workspace::{files_under, Workspace};
use crate::{build_and_check, Outcome};

/// What grading one exercise of one student found.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Pass,
    /// The check failed: its first reason, on one line.
    Fail(String),
    /// The crate did not build: where and what the compiler's first error is.
    NoBuild(String),
    /// The student's `src/` is the starter, file for file: not attempted.
    Untouched,
    /// The student's folder has no `src/` for the exercise.
    Missing,
    /// The student's time ran out before this exercise.
    NoTime,
}

impl Cell {
    /// Its word (in the CSV, the JSON and the summary's table), its mark in
    /// the student × exercise grid, and its element in JUnit XML: a failing
    /// check, an untouched starter and a missing exercise are a `failure`
    /// (not attempted is not passed); a build that fails or a student out
    /// of time an `error` (the check could not run).
    fn kind(&self) -> (&'static str, char, Option<&'static str>) {
        match self {
            Cell::Pass => ("pass", 'P', None),
            Cell::Fail(_) => ("fail", 'F', Some("failure")),
            Cell::NoBuild(_) => ("no build", 'B', Some("error")),
            Cell::Untouched => ("untouched", '-', Some("failure")),
            Cell::Missing => ("missing", '?', Some("failure")),
            Cell::NoTime => ("no time", 'T', Some("error")),
        }
    }

    pub fn word(&self) -> &'static str {
        self.kind().0
    }

    /// The reason, for what failed or did not build.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Cell::Fail(reason) | Cell::NoBuild(reason) => Some(reason),
            _ => None,
        }
    }
}

/// One exercise of one student, graded.
#[derive(Clone, Debug)]
pub struct Graded {
    pub cell: Cell,
    /// Building and checking it took this long (0 when nothing ran).
    pub seconds: f32,
}

/// One student's results, one per exercise, in the order handed out.
#[derive(Clone, Debug)]
pub struct Student {
    pub name: String,
    pub results: Vec<Graded>,
}

impl Student {
    fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|graded| graded.cell == Cell::Pass)
            .count()
    }
}

/// A class, graded.
#[derive(Clone, Debug)]
pub struct Report {
    /// The exercises' names, in the order handed out: the columns.
    pub exercises: Vec<&'static str>,
    pub students: Vec<Student>,
}

/// Grades one exercise of one student: `theirs` is the student's `src/`,
/// `starter` the one handed out; `check` builds and checks it, and is only
/// called when there is something to check and time `left` for it.
pub fn classify(
    theirs: &Path,
    starter: &Path,
    left: Duration,
    check: impl FnOnce() -> Outcome,
) -> Cell {
    if !theirs.is_dir() {
        return Cell::Missing;
    }
    if same_files(theirs, starter) {
        return Cell::Untouched;
    }
    if left.is_zero() {
        return Cell::NoTime;
    }
    match check() {
        Outcome::Pass => Cell::Pass,
        Outcome::Fail(reason) => Cell::Fail(one_line(&reason)),
        Outcome::NoBuild(messages) => Cell::NoBuild(first_compiler_error(&messages)),
    }
}

/// Whether the two folders hold the same files with the same bytes.
pub fn same_files(a: &Path, b: &Path) -> bool {
    let listing = |folder: &Path| {
        let mut files = files_under(folder, &|_| false).ok()?;
        files.sort();
        Some(files)
    };
    let (Some(files_a), Some(files_b)) = (listing(a), listing(b)) else {
        return false;
    };
    files_a == files_b
        && files_a.iter().all(|file| {
            matches!(
                (fs::read(a.join(file)), fs::read(b.join(file))),
                (Ok(x), Ok(y)) if x == y
            )
        })
}

/// A reason on one line: its whitespace, line breaks included, made one space.
pub fn one_line(reason: &str) -> String {
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The compiler's first error, after where it is (`path:line:column: `), as
/// cargo's `--color=never` messages say it:
///
/// ```text
/// error[E0425]: cannot find value `x` in this scope
///   --> exercises/01_socket_steps/src/main.rs:12:5
/// ```
pub fn first_compiler_error(messages: &str) -> String {
    let lines: Vec<&str> = messages.lines().collect();
    let Some(at) = lines
        .iter()
        .position(|line| line.trim_start().starts_with("error"))
    else {
        return "the build failed, with no error line".to_owned();
    };
    let error = lines[at].trim();
    let place = lines[at + 1..]
        .iter()
        .take_while(|line| !line.trim_start().starts_with("error"))
        .find_map(|line| line.trim_start().strip_prefix("--> "));
    match place {
        Some(place) => format!("{}: {error}", place.trim()),
        None => error.to_owned(),
    }
}

/// Where grade writes, besides its summary on stdout.
#[derive(Default)]
pub struct Outputs {
    pub csv: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
}

/// `cargo ex grade DIR`: DIR holds one folder per student, each a copy of
/// the repository or of its `exercises/` folder.
pub fn grade(dir: &Path, per_student: Duration, outputs: &Outputs) -> Result<bool> {
    let source = Workspace::here()?;
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
    let copy = source.scratch_copy("grade")?;
    let mut report = Report {
        exercises: exercises().iter().map(|exercise| exercise.name).collect(),
        students: Vec::new(),
    };
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
        let mut results = Vec::new();
        for exercise in exercises() {
            results.push(grade_one(
                &source,
                &copy,
                exercise,
                &exercises_dir.join(exercise.name).join("src"),
                deadline,
            )?);
        }
        report.students.push(Student { name, results });
    }
    print!("{}", summary(&report));
    let writes = [
        (&outputs.csv, csv(&report)),
        (&outputs.json, json(&report)),
        (&outputs.junit, junit(&report)),
    ];
    for (path, text) in writes {
        if let Some(path) = path {
            fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
            println!("Wrote {}", path.display());
        }
    }
    Ok(true)
}

fn grade_one(
    source: &Workspace,
    copy: &Workspace,
    exercise: &Exercise,
    theirs: &Path,
    deadline: Instant,
) -> Result<Graded> {
    let started = Instant::now();
    let left = deadline.saturating_duration_since(started);
    let starter = source.exercise_dir(exercise).join("src");
    // A folder that cannot be copied (an unreadable file) fails this one
    // cell, with the reason; the rest of the class is still graded.
    let cell = classify(theirs, &starter, left, || {
        match copy.put_student(exercise, theirs) {
            Ok(()) => build_and_check(copy, exercise, false, Some(left)),
            Err(err) => Outcome::Fail(format!("could not copy the student's src/: {err:#}")),
        }
    });
    let seconds = if matches!(cell, Cell::Pass | Cell::Fail(_) | Cell::NoBuild(_)) {
        started.elapsed().as_secs_f32()
    } else {
        0.0
    };
    Ok(Graded { cell, seconds })
}

/// The two-digit number that starts an exercise's name: its column head.
fn number(name: &str) -> &str {
    name.get(..2).unwrap_or(name)
}

/// What the instructor reads: per exercise, how many of each outcome; a
/// grid of one mark per student and exercise; then, per student, the
/// reason for each exercise that failed or did not build.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Graded {} students on {} exercises, in the order handed out.\n",
        report.students.len(),
        report.exercises.len()
    );
    let kinds = [
        "pass",
        "fail",
        "no build",
        "untouched",
        "missing",
        "no time",
    ];
    let _ = write!(out, "{:<25}", "exercise");
    for kind in kinds {
        let _ = write!(out, " {kind:>9}");
    }
    out.push('\n');
    for (column, exercise) in report.exercises.iter().enumerate() {
        let _ = write!(out, "{exercise:<25}");
        for kind in kinds {
            let count = report
                .students
                .iter()
                .filter(|student| student.results[column].cell.word() == kind)
                .count();
            let _ = write!(out, " {count:>9}");
        }
        out.push('\n');
    }
    let width = report
        .students
        .iter()
        .map(|student| student.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("student".len());
    let _ = write!(out, "\n{:<width$} ", "student");
    for exercise in &report.exercises {
        let _ = write!(out, " {}", number(exercise));
    }
    out.push_str("  passed\n");
    for student in &report.students {
        let _ = write!(out, "{:<width$} ", student.name);
        for graded in &student.results {
            let _ = write!(out, "  {}", graded.cell.kind().1);
        }
        let _ = writeln!(out, "  {}/{}", student.passed(), report.exercises.len());
    }
    out.push_str(
        "(P pass, F fails its check, B does not build, - untouched starter, ? missing, T out of time)\n",
    );
    let _ = writeln!(out, "\nPer student, what to look at:");
    for student in &report.students {
        let _ = writeln!(
            out,
            "{}: {}/{} pass",
            student.name,
            student.passed(),
            report.exercises.len()
        );
        let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
        for (exercise, graded) in report.exercises.iter().zip(&student.results) {
            match graded.cell.detail() {
                Some(reason) => {
                    let _ = writeln!(out, "  {exercise} {}: {reason}", graded.cell.word());
                }
                None if graded.cell != Cell::Pass => {
                    let word = graded.cell.word();
                    match grouped.iter_mut().find(|(kind, _)| *kind == word) {
                        Some((_, names)) => names.push(number(exercise)),
                        None => grouped.push((word, vec![number(exercise)])),
                    }
                }
                None => {}
            }
        }
        for (word, names) in grouped {
            let _ = writeln!(out, "  {word}: {}", names.join(" "));
        }
    }
    out
}

/// One row per student: the count passed, then each exercise's outcome, in
/// the order handed out (the reasons are in the JSON and the JUnit XML).
pub fn csv(report: &Report) -> String {
    let mut out = String::from("student,passed");
    for exercise in &report.exercises {
        out.push(',');
        out.push_str(&testkit::csv::field(exercise));
    }
    out.push('\n');
    for student in &report.students {
        out.push_str(&testkit::csv::field(&student.name));
        let _ = write!(out, ",{}", student.passed());
        for graded in &student.results {
            out.push(',');
            out.push_str(graded.cell.word());
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    exercises: &'a [&'static str],
    students: Vec<JsonStudent<'a>>,
}

#[derive(Serialize)]
struct JsonStudent<'a> {
    student: &'a str,
    passed: usize,
    results: Vec<JsonResult<'a>>,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    exercise: &'a str,
    outcome: &'static str,
    /// The first reason of a failure, or where the build failed.
    detail: Option<&'a str>,
    seconds: f32,
}

/// Everything: each student's outcome, reason and time per exercise.
pub fn json(report: &Report) -> String {
    let document = JsonReport {
        exercises: &report.exercises,
        students: report
            .students
            .iter()
            .map(|student| JsonStudent {
                student: &student.name,
                passed: student.passed(),
                results: report
                    .exercises
                    .iter()
                    .zip(&student.results)
                    .map(|(exercise, graded)| JsonResult {
                        exercise,
                        outcome: graded.cell.word(),
                        detail: graded.cell.detail(),
                        seconds: (graded.seconds * 10.0).round() / 10.0,
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&document).expect("a report serializes") + "\n"
}

/// Text for an XML attribute.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per student, a test case per exercise, each
/// outcome but a pass a `<failure>` or an `<error>` ([`Cell::kind`]).
pub fn junit(report: &Report) -> String {
    let count = |student: &Student, element: &str| {
        let elements = student.results.iter().map(|graded| graded.cell.kind().2);
        elements.filter(|kind| *kind == Some(element)).count()
    };
    let tests = report.students.len() * report.exercises.len();
    let failures: usize = report.students.iter().map(|s| count(s, "failure")).sum();
    let errors: usize = report.students.iter().map(|s| count(s, "error")).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"cargo ex grade\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for student in &report.students {
        let time: f32 = student.results.iter().map(|graded| graded.seconds).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{time:.1}\">",
            xml(&student.name),
            student.results.len(),
            count(student, "failure"),
            count(student, "error"),
        );
        for (exercise, graded) in report.exercises.iter().zip(&student.results) {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.1}\"",
                xml(&student.name),
                xml(exercise),
                graded.seconds
            );
            let (word, _, Some(element)) = graded.cell.kind() else {
                out.push_str("/>\n");
                continue;
            };
            let message = match &graded.cell {
                Cell::Untouched => "the starter, untouched".to_owned(),
                Cell::Missing => format!("no {exercise}/src in the submission"),
                Cell::NoTime => "not graded: the student's time ran out".to_owned(),
                cell => cell.detail().unwrap_or_default().to_owned(),
            };
            let _ = writeln!(
                out,
                ">\n      <{element} type=\"{word}\" message=\"{}\"/>\n    </testcase>",
                xml(&message)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A starter and a student's copy of it, in a temporary folder.
    fn folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let starter = dir.path().join("starter");
        let theirs = dir.path().join("theirs");
        for folder in [&starter, &theirs] {
            fs::create_dir_all(folder.join("bin")).expect("create");
            fs::write(folder.join("main.rs"), "fn main() { todo!() }\n").expect("write");
            fs::write(folder.join("bin/extra.rs"), "fn main() {}\n").expect("write");
        }
        (dir, starter, theirs)
    }

    const TIME: Duration = Duration::from_secs(60);

    fn never_run() -> Outcome {
        panic!("nothing to build: the check must not run")
    }

    #[test]
    fn the_starter_as_handed_out_is_untouched_and_not_built() {
        let (_dir, starter, theirs) = folders();
        assert_eq!(
            classify(&theirs, &starter, TIME, never_run),
            Cell::Untouched
        );
        // Even out of time: untouched is what it is.
        assert_eq!(
            classify(&theirs, &starter, Duration::ZERO, never_run),
            Cell::Untouched
        );
    }

    #[test]
    fn any_change_is_an_attempt_and_is_checked() {
        let (_dir, starter, theirs) = folders();
        fs::write(theirs.join("bin/extra.rs"), "fn main() { }\n").expect("write");
        assert_eq!(
            classify(&theirs, &starter, TIME, || Outcome::Pass),
            Cell::Pass
        );
        let (_dir, starter, theirs) = folders();
        fs::write(theirs.join("new.rs"), "").expect("write");
        assert_eq!(
            classify(&theirs, &starter, TIME, || Outcome::Pass),
            Cell::Pass
        );
    }

    #[test]
    fn missing_and_out_of_time_are_told_apart() {
        let (dir, starter, theirs) = folders();
        assert_eq!(
            classify(&dir.path().join("nothing"), &starter, TIME, never_run),
            Cell::Missing
        );
        fs::write(theirs.join("main.rs"), "fn main() {}\n").expect("write");
        assert_eq!(
            classify(&theirs, &starter, Duration::ZERO, never_run),
            Cell::NoTime
        );
    }

    #[test]
    fn a_failure_is_its_first_reason_on_one_line() {
        let (_dir, starter, theirs) = folders();
        fs::write(theirs.join("main.rs"), "fn main() {}\n").expect("write");
        let cell = classify(&theirs, &starter, TIME, || {
            Outcome::Fail("the client read no end-of-file\n  within 3 s".to_owned())
        });
        assert_eq!(
            cell,
            Cell::Fail("the client read no end-of-file within 3 s".to_owned())
        );
    }

    /// What `cargo build --color=never` prints for a typo.
    const COMPILER: &str = "warning: unused import: `std::io`\n --> exercises/01_socket_steps/src/main.rs:3:5\n  |\n3 | use std::io;\n\nerror[E0425]: cannot find value `adress` in this scope\n  --> exercises/01_socket_steps/src/main.rs:21:22\n   |\n21 |     socket.bind(&adress.into())?;\n   |                  ^^^^^^ help: a local variable with a similar name exists: `address`\n\nerror: could not compile `ex01_socket_steps` (bin \"ex01_socket_steps\") due to 1 previous error\n";

    #[test]
    fn a_build_that_fails_says_where_its_first_error_is() {
        let (_dir, starter, theirs) = folders();
        fs::write(theirs.join("main.rs"), "fn main() { adress }\n").expect("write");
        let cell = classify(&theirs, &starter, TIME, || {
            Outcome::NoBuild(COMPILER.to_owned())
        });
        assert_eq!(
            cell,
            Cell::NoBuild(
                "exercises/01_socket_steps/src/main.rs:21:22: error[E0425]: cannot find value `adress` in this scope"
                    .to_owned()
            )
        );
        assert_eq!(
            first_compiler_error("error: the build ran out of time"),
            "error: the build ran out of time"
        );
        assert_eq!(
            first_compiler_error(""),
            "the build failed, with no error line"
        );
    }

    /// Three students on three exercises: every outcome once or more.
    fn class() -> Report {
        let graded = |cell: Cell| Graded {
            cell,
            seconds: 1.25,
        };
        Report {
            exercises: vec!["01_socket_steps", "03_read_whole_head", "04_wsgi_app"],
            students: vec![
                Student {
                    name: "ada".to_owned(),
                    results: vec![
                        graded(Cell::Pass),
                        graded(Cell::Fail(
                            "a request in two pieces was cut, \"GET\" & <more>".to_owned(),
                        )),
                        graded(Cell::NoBuild(
                            "exercises/04_wsgi_app/src/main.rs:4:1: error: expected item"
                                .to_owned(),
                        )),
                    ],
                },
                Student {
                    name: "bo, jr".to_owned(),
                    results: vec![
                        graded(Cell::Pass),
                        graded(Cell::Pass),
                        graded(Cell::Missing),
                    ],
                },
                Student {
                    name: "cy".to_owned(),
                    results: vec![
                        graded(Cell::Untouched),
                        graded(Cell::Untouched),
                        graded(Cell::NoTime),
                    ],
                },
            ],
        }
    }

    #[test]
    fn the_summary_counts_per_exercise_first_then_reasons_per_student() {
        let text = summary(&class());
        let lines: Vec<&str> = text.lines().collect();
        let row = |name: &str| {
            lines
                .iter()
                .find(|line| line.starts_with(name))
                .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
        };
        // pass, fail, no build, untouched, missing, no time
        assert_eq!(row("01_socket_steps"), ["2", "0", "0", "1", "0", "0"]);
        assert_eq!(row("03_read_whole_head"), ["1", "1", "0", "1", "0", "0"]);
        assert_eq!(row("04_wsgi_app"), ["0", "0", "1", "0", "1", "1"]);
        assert!(text.contains("01 03 04  passed"), "{text}");
        assert!(text.contains("ada       P  F  B  1/3"), "{text}");
        assert!(text.contains("cy        -  -  T  0/3"), "{text}");
        let counts = text.find("01_socket_steps").expect("counts");
        let reasons = text
            .find("03_read_whole_head fail: a request")
            .expect("reasons");
        assert!(counts < reasons, "the counts come first");
        assert!(text.contains("  04_wsgi_app no build: exercises/04_wsgi_app/src/main.rs:4:1"));
        assert!(
            text.contains("cy: 0/3 pass\n  untouched: 01 03\n  no time: 04\n"),
            "{text}"
        );
        assert!(
            lines.iter().all(|line| line.chars().count() <= 100),
            "no line wider than 100 columns:\n{text}"
        );
    }

    #[test]
    fn the_csv_has_a_row_per_student_and_a_column_per_exercise_in_order() {
        assert_eq!(
            csv(&class()),
            "student,passed,01_socket_steps,03_read_whole_head,04_wsgi_app\n\
             ada,1,pass,fail,no build\n\
             \"bo, jr\",2,pass,pass,missing\n\
             cy,0,untouched,untouched,no time\n"
        );
    }

    #[test]
    fn the_json_has_every_outcome_with_its_reason() {
        let parsed: serde_json::Value = serde_json::from_str(&json(&class())).expect("JSON");
        assert_eq!(parsed["exercises"][1], "03_read_whole_head");
        let ada = &parsed["students"][0];
        assert_eq!(ada["student"], "ada");
        assert_eq!(ada["passed"], 1);
        assert_eq!(ada["results"][1]["outcome"], "fail");
        assert_eq!(
            ada["results"][1]["detail"],
            "a request in two pieces was cut, \"GET\" & <more>"
        );
        assert_eq!(ada["results"][0]["detail"], serde_json::Value::Null);
        assert_eq!(parsed["students"][2]["results"][0]["outcome"], "untouched");
        assert_eq!(parsed["students"][1]["results"][2]["outcome"], "missing");
    }

    #[test]
    fn the_junit_xml_has_a_suite_per_student_and_escapes_reasons() {
        let xml = junit(&class());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"cargo ex grade\" tests=\"9\" failures=\"4\" errors=\"2\">"), "{xml}");
        assert!(xml.contains("<testsuite name=\"ada\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" time=\"3.8\">"), "{xml}");
        assert!(
            xml.contains("<testcase classname=\"ada\" name=\"01_socket_steps\" time=\"1.2\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<failure type=\"fail\" message=\"a request in two pieces was cut, &quot;GET&quot; &amp; &lt;more&gt;\"/>"), "{xml}");
        assert!(xml.contains("<error type=\"no build\" message=\"exercises/04_wsgi_app/src/main.rs:4:1: error: expected item\"/>"), "{xml}");
        assert!(xml.contains("<testsuite name=\"bo, jr\""), "{xml}");
        assert!(
            xml.contains("<failure type=\"untouched\" message=\"the starter, untouched\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<error type=\"no time\""), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 9);
        assert_eq!(
            xml.matches("</testcase>").count(),
            9 - 3,
            "three passed, closed inline"
        );
        assert_eq!(
            xml.matches("<testsuite ").count(),
            xml.matches("</testsuite>").count()
        );
    }
}

//! Where exercises are built: the repository itself (a student's `check`),
//! or a scratch copy of it (verify, grade) whose exercise sources are
//! swapped for a starter, a solution or a student's. Also the handout.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use testkit::run::{Limits, Output, Running};

use crate::exercises::{exercises, Exercise};

/// A build without a limit: a day, which nothing reaches (a wait's
/// deadline must be a time that exists).
const NO_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A copy of the repository that exercises are built in.
pub struct Workspace {
    /// The folder with the workspace's Cargo.toml.
    pub root: PathBuf,
    /// Where cargo puts what it builds (CARGO_TARGET_DIR).
    pub target_dir: PathBuf,
}

/// What building an exercise gave.
pub enum Build {
    /// The binary's path.
    Built(PathBuf),
    /// The compiler's messages (empty when they went to the terminal).
    Failed(String),
}

impl Workspace {
    /// The repository this runner was built from.
    pub fn here() -> Result<Workspace> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = root
            .canonicalize()
            .with_context(|| format!("find the repository at {}", root.display()))?;
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(Workspace { root, target_dir })
    }

    pub fn exercise_dir(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("exercises").join(exercise.name)
    }

    /// The exercises whose folder git sees as changed: the student's edits.
    pub fn edited_exercises(&self) -> BTreeSet<String> {
        let Ok(output) = Command::new("git")
            .args(["status", "--porcelain", "--", "exercises"])
            .current_dir(&self.root)
            .stderr(Stdio::null())
            .output()
        else {
            return BTreeSet::new();
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.get(3..)?.strip_prefix("exercises/"))
            .filter_map(|path| path.split('/').next())
            .map(str::to_owned)
            .collect()
    }

    /// Builds the exercise's binary. `verbose`: the compiler writes to the
    /// terminal, in colour, as it goes. `limit`: cargo and the rustc it
    /// starts, one process group, are killed past it.
    pub fn build(&self, exercise: &Exercise, verbose: bool, limit: Option<Duration>) -> Build {
        let package = exercise.package();
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .args(["build", "-q", "-p", &package, "--bin", &package])
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        let (built, messages) = if verbose {
            let status = cargo.stdin(Stdio::null()).stdout(Stdio::null()).status();
            (status.is_ok_and(|status| status.success()), String::new())
        } else {
            cargo.arg("--color=never");
            let mut running = match Running::start(cargo, Output::Separate, Limits::default()) {
                Ok(running) => running,
                Err(err) => return Build::Failed(format!("could not run cargo: {err}")),
            };
            // Dropping `running` past the limit kills the group.
            match running.wait_exit(limit.unwrap_or(NO_LIMIT)) {
                Some(status) => (status.success(), running.stderr()),
                None => return Build::Failed("error: the build ran out of time".to_owned()),
            }
        };
        if built {
            Build::Built(self.target_dir.join("debug").join(&package))
        } else {
            Build::Failed(messages)
        }
    }

    /// A fresh copy of this repository in `target/classroom/NAME`, without
    /// its build output and git history; its builds share one target
    /// directory, so the dependencies are compiled once.
    pub fn scratch_copy(&self, name: &str) -> Result<Workspace> {
        let classroom = self.target_dir.join("classroom");
        let root = classroom.join(format!("{name}-workspace"));
        if root.exists() {
            fs::remove_dir_all(&root).with_context(|| format!("remove {}", root.display()))?;
        }
        copy_tree(&self.root, &root, &|relative| {
            relative == Path::new("target") || relative == Path::new(".git")
        })?;
        Ok(Workspace {
            root,
            target_dir: classroom.join("target"),
        })
    }

    /// Puts `source`'s starter of `exercise` in this copy.
    pub fn put_starter(&self, source: &Workspace, exercise: &Exercise) -> Result<()> {
        self.put_student(exercise, &source.exercise_dir(exercise).join("src"))
    }

    /// Puts `source`'s solution of `exercise` in this copy.
    pub fn put_solution(&self, source: &Workspace, exercise: &Exercise) -> Result<()> {
        let solution = source
            .root
            .join("exercises/solutions")
            .join(format!("{}.rs", exercise.name));
        self.put_main(exercise, &solution)
    }

    /// Puts `file` in this copy as the `src/main.rs` of `exercise`.
    pub fn put_main(&self, exercise: &Exercise, file: &Path) -> Result<()> {
        let main = self.exercise_dir(exercise).join("src/main.rs");
        fs::copy(file, &main).with_context(|| format!("copy {}", file.display()))?;
        Ok(())
    }

    /// The wrong answers kept for `exercise` (`exercises/solutions/wrong/NAME/*.rs`),
    /// by file name, each with the words its check's failure must contain.
    pub fn wrong_answers(&self, exercise: &Exercise) -> Result<Vec<WrongAnswer>> {
        let folder = self
            .root
            .join("exercises/solutions/wrong")
            .join(exercise.name);
        let Ok(entries) = fs::read_dir(&folder) else {
            return Ok(Vec::new());
        };
        let mut answers = Vec::new();
        for entry in entries.flatten() {
            let file = entry.path();
            if file.extension().is_none_or(|extension| extension != "rs") {
                continue;
            }
            let text =
                fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
            let words = must_fail_saying(&text);
            if words.is_empty() {
                anyhow::bail!(
                    "{}: a wrong answer says which words its failure must contain, in a line `//! Must fail saying: \"…\"`",
                    file.display()
                );
            }
            answers.push(WrongAnswer { file, words });
        }
        answers.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(answers)
    }

    /// Puts a student's `src` folder of `exercise` in this copy.
    pub fn put_student(&self, exercise: &Exercise, src: &Path) -> Result<()> {
        let ours = self.exercise_dir(exercise).join("src");
        if ours.exists() {
            fs::remove_dir_all(&ours).with_context(|| format!("remove {}", ours.display()))?;
        }
        copy_tree(src, &ours, &|_| false)
    }
}

/// Every file under `root`, as a path relative to it, leaving out each
/// path that `skip` names (relative to `root`) and everything beneath it.
pub fn files_under(root: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        let path = root.join(&folder);
        for entry in fs::read_dir(&path).with_context(|| format!("read {}", path.display()))? {
            let entry = entry?;
            let relative = folder.join(entry.file_name());
            let kind = entry.file_type()?;
            if skip(&relative) {
                continue;
            } else if kind.is_dir() {
                folders.push(relative);
            } else if kind.is_file() {
                files.push(relative);
            }
        }
    }
    Ok(files)
}

/// Copies the files under `from` to `to` (which is created), leaving out
/// every path, relative to `from`, that `skip` names.
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    for file in files_under(from, skip)? {
        let target = to.join(&file);
        if let Some(folder) = target.parent() {
            fs::create_dir_all(folder).with_context(|| format!("create {}", folder.display()))?;
        }
        fs::copy(from.join(&file), &target).with_context(|| format!("copy {}", file.display()))?;
    }
    Ok(())
}

/// What a folded solution says in the student edition.
const WITHHELD: &str = "Not in the student edition: work it out, then ask your instructor.";

/// Empties each `<details>` block whose summary is `Solution` in a
/// chapter's Markdown, leaving the fold with a one-line note; the
/// predict-and-observe questions and hints stay. The fold stays so that the
/// student copy's own `cargo test -p book`, which counts each chapter's
/// exercises by their folds, still passes. A summary is either on one line,
/// `<summary>Solution</summary>`, or, as the book writes it so that its
/// label can be translated (docs/src, po/README.md), a paragraph between
/// `<summary>` and `</summary>` lines. Returns the text and the text of
/// each solution it withheld.
pub fn without_solutions(markdown: &str) -> (String, Vec<String>) {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut kept = Vec::new();
    let mut withheld = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let summary_end = (lines[index].trim() == "<details>")
            .then(|| summary_lines(&lines[index + 1..]))
            .flatten();
        if let Some((count, "Solution")) = summary_end {
            kept.extend(&lines[index..=index + count]);
            kept.extend(["", WITHHELD, ""]);
            let body = index + count + 1;
            while index < lines.len() && lines[index].trim() != "</details>" {
                index += 1;
            }
            withheld.push(lines[body.min(index)..index].join("\n"));
            continue; // the </details> line is kept as it comes
        }
        kept.push(lines[index]);
        index += 1;
    }
    let mut text = kept.join("\n");
    if markdown.ends_with('\n') {
        text.push('\n');
    }
    (text, withheld)
}

/// The `<summary>` that opens `lines`: how many lines it takes, and its
/// label (`<summary>Solution</summary>`, or `<summary>`, a blank line,
/// `Solution`, `</summary>`).
fn summary_lines<'a>(lines: &[&'a str]) -> Option<(usize, &'a str)> {
    let first = lines.first()?.trim();
    if let Some(label) = first
        .strip_prefix("<summary>")
        .and_then(|rest| rest.strip_suffix("</summary>"))
    {
        return Some((1, label.trim()));
    }
    if first != "<summary>" {
        return None;
    }
    let end = lines.iter().position(|line| line.trim() == "</summary>")?;
    let label: Vec<&str> = lines[1..end]
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect();
    match label[..] {
        [label] => Some((end + 1, label)),
        _ => Some((end + 1, "")),
    }
}

/// What the Chinese edition of a handout says in a withheld fold.
const WITHHELD_ZH_CN: &str = "学生版不含参考答案：先自己想出来，再去问老师。";

/// `text` as the withheld solutions are compared: its letters and digits,
/// lower-cased (the PO files hold each message re-written by
/// mdbook-xgettext, `*a*` as `_a_`, one line).
fn letters_and_digits(text: &str) -> String {
    text.chars()
        .filter(|character| character.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the message `msgid` comes from one of the `solutions`: it is one
/// of their paragraphs (or list items), or, if long enough not to be a
/// common phrase, part of one.
fn is_from_solutions(msgid: &str, solutions: &[String]) -> bool {
    let id = letters_and_digits(msgid);
    !id.is_empty()
        && solutions.iter().any(|solution| {
            let whole = letters_and_digits(solution);
            (id.len() >= 40 && whole.contains(&id))
                || solution
                    .split("\n\n")
                    .flat_map(|paragraph| paragraph.split("\n- "))
                    .any(|part| letters_and_digits(part) == id)
        })
}

/// Leaves the messages of withheld `solutions` out of the PO file (or
/// template) at `path`, and gives a Chinese translation the words of the
/// withheld fold.
fn withhold_translated_solutions(path: &Path, solutions: &[String]) -> Result<()> {
    use polib::message::Message;
    let mut catalog = polib::po_file::parse(path)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("read {}", path.display()))?;
    let withheld: Vec<String> = catalog
        .messages()
        .filter(|message| is_from_solutions(message.msgid(), solutions))
        .map(|message| message.msgid().to_owned())
        .collect();
    for msgid in &withheld {
        catalog.delete_message(None, msgid, None);
    }
    if path.file_name().is_some_and(|name| name == "zh-CN.po") {
        catalog.append_or_update(
            Message::build_singular()
                .with_msgid(WITHHELD.to_owned())
                .with_msgstr(WITHHELD_ZH_CN.to_owned())
                .done(),
        );
    }
    polib::po_file::write_to_file(&catalog, path)
        .with_context(|| format!("write {}", path.display()))
}

/// `cargo ex handout DIR`: a student copy of the repository.
pub fn handout(dir: &Path) -> Result<bool> {
    let source = Workspace::here()?;
    if dir.exists() {
        bail!("{} exists already; choose a new folder", dir.display());
    }
    copy_tree(&source.root, dir, &|relative| {
        relative == Path::new("target")
            || relative == Path::new(".git")
            || relative == Path::new("exercises/solutions")
            || relative == Path::new("docs/book")
    })?;
    let mut stripped = 0;
    let mut solutions = Vec::new();
    let chapters = dir.join("docs/src");
    for entry in fs::read_dir(&chapters).context("read docs/src")? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "md") {
            let text = fs::read_to_string(&path)?;
            let (student, withheld) = without_solutions(&text);
            if !withheld.is_empty() {
                stripped += withheld.len();
                solutions.extend(withheld);
                fs::write(&path, student)?;
            }
        }
    }
    // The translations hold the same solutions, in English and translated.
    for entry in fs::read_dir(dir.join("po")).into_iter().flatten().flatten() {
        let path = entry.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "po" || extension == "pot")
        {
            withhold_translated_solutions(&path, &solutions)?;
        }
    }
    // CI in the handout cannot verify solutions it does not have, and its
    // translation no longer matches chapters whose solutions are withheld.
    let ci = dir.join(".ci/run");
    if let Ok(text) = fs::read_to_string(&ci) {
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| !line.contains("classroom -- verify") && !line.contains("i18n.sh check"))
            .collect();
        fs::write(&ci, kept.join("\n") + "\n")?;
    }
    // A repository of its own, so that `cargo ex reset` has the starters.
    let git = |arguments: &[&str]| {
        Command::new("git")
            .args(arguments)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let committed = git(&["init", "-q"])
        && git(&["add", "-A"])
        && git(&[
            "-c",
            "user.name=classroom",
            "-c",
            "user.email=classroom@localhost",
            "commit",
            "-q",
            "-m",
            "Student handout: the exercises' starters, no solutions",
        ]);
    println!(
        "Wrote the student handout to {}: {} exercises (starters, statements, hints), no solutions; the book's {stripped} folded solutions withheld (each fold now says so).",
        dir.display(),
        exercises().len()
    );
    if committed {
        println!("It is a git repository with one commit, so `cargo ex reset NAME` works there.");
    } else {
        println!("git was not available: run `git init && git add -A && git commit` in it, so that `cargo ex reset` works.");
    }
    println!("Students start with: cd {} && cargo ex list", dir.display());
    println!(
        "The student book: mdbook build {}/docs, then open {}/docs/book/index.html (or mdbook serve {}/docs).",
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(true)
}

/// A plausible wrong answer to an exercise, kept so that `verify` proves
/// its check fails on it, and fails for the right reason.
pub struct WrongAnswer {
    /// The whole `main.rs` a student might write.
    pub file: PathBuf,
    /// What the check's reason must contain (each, ignoring case): the
    /// words that name this mistake.
    pub words: Vec<String>,
}

/// The quoted words of each `//! Must fail saying: "…"` line.
fn must_fail_saying(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("//! Must fail saying:"))
        .filter_map(|rest| Some(rest.trim().strip_prefix('"')?.strip_suffix('"')?.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withholds_folded_solutions_and_keeps_the_rest() {
        let chapter = "## Exercises\n\n**1. Q?**\n\n*Hint:* h\n\n<details>\n<summary>Solution</summary>\n\nA.\n\n</details>\n\n**2. R?**\n\n<details>\n<summary>Why</summary>\n\nkept\n\n</details>\n";
        let expected = format!("## Exercises\n\n**1. Q?**\n\n*Hint:* h\n\n<details>\n<summary>Solution</summary>\n\n{WITHHELD}\n\n</details>\n\n**2. R?**\n\n<details>\n<summary>Why</summary>\n\nkept\n\n</details>\n");
        assert_eq!(
            without_solutions(chapter),
            (expected, vec!["\nA.\n".to_owned()])
        );
    }

    #[test]
    fn withholds_a_solution_whose_summary_is_a_paragraph() {
        // The book's form: a label mdbook-xgettext extracts for translation.
        let chapter = "**1. Q?**\n\n<details>\n<summary>\n\nSolution\n</summary>\n\nA.\n\n</details>\n\n<details>\n<summary>\n\nThe whole of x.rs\n</summary>\n\nkept\n\n</details>\n";
        let expected = format!("**1. Q?**\n\n<details>\n<summary>\n\nSolution\n</summary>\n\n{WITHHELD}\n\n</details>\n\n<details>\n<summary>\n\nThe whole of x.rs\n</summary>\n\nkept\n\n</details>\n");
        assert_eq!(
            without_solutions(chapter),
            (expected, vec!["\nA.\n".to_owned()])
        );
    }

    #[test]
    fn the_translations_of_a_withheld_solution_are_withheld_too() {
        let solutions = ["\nThe parent closes its copy, so the count drops to *one*.\n\n- `fork` copies the table\n".to_owned()];
        let dir = tempfile::tempdir().expect("a folder");
        let po = dir.path().join("zh-CN.po");
        fs::write(
            &po,
            "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n\
             #: src/a.md\nmsgid \"The parent closes its copy, so the count drops to _one_.\"\nmsgstr \"父进程关闭它的副本。\"\n\n\
             #: src/a.md\nmsgid \"`fork` copies the table\"\nmsgstr \"`fork` 复制描述符表\"\n\n\
             #: src/a.md\nmsgid \"copies\"\nmsgstr \"复制\"\n\n\
             #: src/a.md\nmsgid \"Goal\"\nmsgstr \"目标\"\n",
        )
        .expect("write");
        withhold_translated_solutions(&po, &solutions).expect("withheld");
        let text = fs::read_to_string(&po).expect("read");
        assert!(
            !text.contains("parent closes")
                && !text.contains("父进程")
                && !text.contains("`fork` copies"),
            "{text}"
        );
        assert!(
            text.contains("msgid \"copies\"") && text.contains("msgid \"Goal\""),
            "short messages that are only part of a solution stay: {text}"
        );
        assert!(text.contains(WITHHELD_ZH_CN), "{text}");
    }
}

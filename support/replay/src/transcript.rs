//! A chapter's transcript, step by step: narration (`# …`), the commands a
//! learner would type (`$ …`), their real output, and what to look for
//! (`# Look for: …`). Each step is printed as soon as it is complete, and
//! is one file for the book (`docs/src/transcripts/<chapter>-<step>.txt`).
//! No path of the machine that ran it gets in: each is written as the
//! learner's checkout would show it (see [`crate::lab::Lab::new`]).

use std::io::Write;

/// The width narration is wrapped to, so that the book shows it without scrolling.
const WIDTH: usize = 76;

/// One step: its name (part of the file name) and its text.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub text: String,
    /// Why the step did not run (a missing tool, not root), if it did not.
    pub skipped: Option<String>,
}

pub struct Transcript {
    chapter: &'static str,
    pub steps: Vec<Step>,
    /// Print each step as it completes.
    echo: bool,
    /// This machine's paths, and what is written instead of each.
    paths: Vec<(String, &'static str)>,
}

impl Transcript {
    pub fn new(
        chapter: &'static str,
        echo: bool,
        paths: Vec<(String, &'static str)>,
    ) -> Transcript {
        Transcript {
            chapter,
            steps: Vec::new(),
            echo,
            paths,
        }
    }

    /// Starts the step `name`; the previous one is complete.
    pub fn step(&mut self, name: &str) {
        self.flush();
        self.steps.push(Step {
            name: name.to_owned(),
            text: String::new(),
            skipped: None,
        });
    }

    /// Marks the current step as not run, and says why.
    pub fn skip(&mut self, why: &str) {
        self.push(&wrap(&format!("# {}: skipped: {why}", self.chapter)));
        self.steps.last_mut().unwrap().skipped = Some(why.to_owned());
    }

    /// Adds `text` to the current step, each of this machine's paths in it
    /// written as the learner's checkout shows it.
    fn push(&mut self, text: &str) {
        if self.steps.is_empty() {
            self.step("main");
        }
        let mut text = text.to_owned();
        for (path, shown) in &self.paths {
            text = text.replace(path.as_str(), shown);
        }
        self.steps.last_mut().unwrap().text.push_str(&text);
    }

    /// Narration: what is happening.
    pub fn say(&mut self, text: &str) {
        self.push(&wrap(&format!("# {}: {text}", self.chapter)));
    }

    /// What to look for in the output above.
    pub fn look(&mut self, text: &str) {
        self.push(&wrap(&format!("# Look for: {text}")));
    }

    /// A command as the learner types it.
    pub fn command(&mut self, command: &str) {
        self.push(&format!("$ {command}\n"));
    }

    /// Output, as printed.
    pub fn output(&mut self, text: &str) {
        self.push(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.push("\n");
        }
    }

    /// Output given as lines.
    pub fn lines(&mut self, lines: &[String]) {
        for line in lines {
            self.output(&format!("{line}\n"));
        }
    }

    /// Prints the last step, if it has not been printed.
    pub fn flush(&mut self) {
        if !self.echo {
            return;
        }
        if let Some(step) = self.steps.last() {
            if !step.text.is_empty() {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", step.text);
                let _ = out.flush();
            }
        }
    }
}

/// Narration wrapped at [`WIDTH`] on spaces, continuation lines indented
/// as comments still.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = "#   ".to_owned();
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_narration_on_spaces() {
        let text = format!("# 3d: {}", "word ".repeat(30));
        let wrapped = wrap(text.trim_end());
        assert!(wrapped.lines().all(|line| line.len() <= super::WIDTH));
        assert!(wrapped.lines().skip(1).all(|line| line.starts_with("#   ")));
    }
}

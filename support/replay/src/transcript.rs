//! A chapter's transcript, step by step: narration (`# …`), the commands a
//! learner would type (`$ …`), their real output, and what to look for
//! (`# Look for: …`). Each step is printed as soon as it is complete, and
//! is one file for the book (`docs/src/transcripts/<chapter>-<step>.txt`).

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
    pub chapter: &'static str,
    pub steps: Vec<Step>,
    /// Print each step as it completes.
    pub echo: bool,
}

impl Transcript {
    pub fn new(chapter: &'static str, echo: bool) -> Transcript {
        Transcript {
            chapter,
            steps: Vec::new(),
            echo,
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
        let chapter = self.chapter;
        let step = self.current();
        step.skipped = Some(why.to_owned());
        step.text
            .push_str(&wrap(&format!("# {chapter}: skipped: {why}"), "#   "));
    }

    fn current(&mut self) -> &mut Step {
        if self.steps.is_empty() {
            self.steps.push(Step {
                name: "main".to_owned(),
                text: String::new(),
                skipped: None,
            });
        }
        self.steps.last_mut().unwrap()
    }

    /// Narration: what is happening.
    pub fn say(&mut self, text: &str) {
        let line = wrap(&format!("# {}: {text}", self.chapter), "#   ");
        self.current().text.push_str(&line);
    }

    /// What to look for in the output above.
    pub fn look(&mut self, text: &str) {
        let line = wrap(&format!("# Look for: {text}"), "#   ");
        self.current().text.push_str(&line);
    }

    /// A command as the learner types it.
    pub fn command(&mut self, command: &str) {
        self.current().text.push_str(&format!("$ {command}\n"));
    }

    /// Output, as printed.
    pub fn output(&mut self, text: &str) {
        let step = self.current();
        step.text.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            step.text.push('\n');
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

/// `text` wrapped at [`WIDTH`] on spaces, continuation lines starting with `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_owned();
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
        let wrapped = wrap(text.trim_end(), "#   ");
        assert!(wrapped.lines().all(|line| line.len() <= super::WIDTH));
        assert!(wrapped.lines().skip(1).all(|line| line.starts_with("#   ")));
    }
}

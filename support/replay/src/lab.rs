//! The bench an experiment runs on: where the binaries are, a scratch
//! directory, the transcript being written, and helpers that run a command
//! and write it and its output into the transcript.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::procs::{self, Limits, Running, STEP_TIMEOUT};
use crate::transcript::Transcript;

/// A server that printed its banner, and the port it named.
pub struct Server {
    pub process: Running,
    pub port: u16,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// A tool a step needs, and how to install it.
pub struct Tool {
    pub program: &'static str,
    pub install: &'static str,
}

pub const CURL: Tool = Tool {
    program: "curl",
    install: "sudo apt-get install curl (Debian, Ubuntu) or sudo dnf install curl (Fedora)",
};
pub const SS: Tool = Tool {
    program: "ss",
    install: "sudo apt-get install iproute2 (Debian, Ubuntu) or sudo dnf install iproute (Fedora)",
};
pub const STRACE: Tool = Tool {
    program: "strace",
    install: "sudo apt-get install strace (Debian, Ubuntu) or sudo dnf install strace (Fedora)",
};
pub const PS: Tool = Tool {
    program: "ps",
    install: "sudo apt-get install procps (Debian, Ubuntu) or sudo dnf install procps-ng (Fedora)",
};
pub const SETPRIV: Tool = Tool {
    program: "setpriv",
    install:
        "sudo apt-get install util-linux (Debian, Ubuntu) or sudo dnf install util-linux (Fedora)",
};

pub struct Lab {
    /// The workspace root: commands run there, as the book's do.
    pub root: PathBuf,
    /// Where the lesson binaries are (target/debug).
    pub binaries: PathBuf,
    /// A scratch directory for this run (strace output and the like).
    pub scratch: PathBuf,
    pub transcript: Transcript,
    /// Tools found missing, with how to install them.
    pub missing: Vec<String>,
    /// Data for figures, by name.
    pub figures: Vec<(String, serde_json::Value)>,
}

impl Lab {
    pub fn new(root: &Path, binaries: &Path, scratch: &Path, transcript: Transcript) -> Lab {
        Lab {
            root: root.to_owned(),
            binaries: binaries.to_owned(),
            scratch: scratch.to_owned(),
            transcript,
            missing: Vec::new(),
            figures: Vec::new(),
        }
    }

    /// The binary's path as the learner types it: relative to the
    /// workspace root, where the commands run, if it is inside it.
    pub fn binary(&self, name: &str) -> PathBuf {
        let path = self.binaries.join(name);
        match path.strip_prefix(&self.root) {
            Ok(relative) => Path::new(".").join(relative),
            Err(_) => path,
        }
    }

    pub fn binary_shown(&self, name: &str) -> String {
        self.binary(name).display().to_string()
    }

    pub fn say(&mut self, text: &str) {
        self.transcript.say(text);
    }

    pub fn look(&mut self, text: &str) {
        self.transcript.look(text);
    }

    pub fn step(&mut self, name: &str) {
        self.transcript.step(name);
    }

    /// Whether the tools are installed; if one is not, the step is marked
    /// skipped with how to install it, and false is returned.
    pub fn need(&mut self, tools: &[&Tool]) -> bool {
        for tool in tools {
            if !procs::installed(tool.program) {
                let why = format!(
                    "this step needs `{}`, which is not installed; install it with: {}",
                    tool.program, tool.install
                );
                eprintln!("replay: {why}");
                self.missing.push(why.clone());
                self.transcript.skip(&why);
                return false;
            }
        }
        true
    }

    /// Starts a server: shows `shown` as the command, runs `program` with
    /// `args` and `env` (and PORT=0), waits for its banner and shows it.
    pub fn server(
        &mut self,
        shown: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        limits: Limits,
    ) -> Result<Server> {
        self.transcript.command(shown);
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.root)
            .env("PORT", "0")
            .env("RUST_BACKTRACE", "0")
            .env("LC_ALL", "C")
            .env_remove("SLEEP_SECS");
        for (key, value) in env {
            command.env(key, value);
        }
        let process = Running::start(command, limits)?;
        let forks = forking_server(shown);
        let found = process.wait_for(STEP_TIMEOUT, |lines| banner_complete(lines, forks));
        let lines = process.lines();
        if !found {
            bail!(
                "{shown}: no banner naming a port within {} s; it printed: {lines:?}",
                STEP_TIMEOUT.as_secs()
            );
        }
        let port = lines.iter().find_map(|line| port_in(line)).unwrap();
        self.transcript.lines(&lines);
        Ok(Server { process, port })
    }

    /// Starts a server through bash (a pipe, a user change): shows
    /// `shown`, runs `script`, waits for the banner.
    pub fn server_script(&mut self, shown: &str, script: &str, limits: Limits) -> Result<Server> {
        self.server(shown, Path::new("bash"), &["-c", script], &[], limits)
    }

    /// Starts a server whose standard output goes to /dev/null (so that
    /// only its error shows, not interleaved with its children's prints):
    /// shows `shown`, runs `script` with bash (both naming `port`), and
    /// waits until the port is listening.
    pub fn server_on_port(&mut self, shown: &str, script: &str, port: u16) -> Result<Server> {
        self.transcript.command(shown);
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .current_dir(&self.root)
            .env("PORT", port.to_string())
            .env("LC_ALL", "C")
            .env_remove("SLEEP_SECS");
        let process = Running::start(command, Limits::default())?;
        let deadline = std::time::Instant::now() + STEP_TIMEOUT;
        while !procs::listening(port) {
            if std::time::Instant::now() > deadline {
                bail!(
                    "{shown}: nothing listens on port {port} after {} s; it printed: {:?}",
                    STEP_TIMEOUT.as_secs(),
                    process.lines()
                );
            }
            pause(20);
        }
        Ok(Server { process, port })
    }

    /// Shows the lines the server printed since `mark`.
    pub fn server_lines(&mut self, server: &Server, mark: usize) -> Vec<String> {
        let lines = server.process.lines_since(mark);
        self.transcript.lines(&lines);
        lines
    }

    /// Runs `command` with bash, shows it and its output; returns the output.
    pub fn sh(&mut self, command: &str) -> Result<String> {
        self.sh_as(command, command)
    }

    /// Shows `shown`, runs `actual` (the same command, spelled so that it
    /// needs no `cargo run`), shows the output.
    pub fn sh_as(&mut self, shown: &str, actual: &str) -> Result<String> {
        self.sh_as_within(shown, actual, STEP_TIMEOUT)
    }

    /// Runs client3 against the server on 127.0.0.1:`port` with `clients`
    /// clients of `connections` connections each, its report of every
    /// connection to /dev/null: shows the `cargo run` a learner types, runs
    /// the built binary, waits at most `timeout`, and returns what it printed
    /// (its summary, on stderr).
    pub fn client3(
        &mut self,
        port: u16,
        clients: u32,
        connections: u32,
        timeout: Duration,
    ) -> Result<String> {
        let arguments = format!(
            "--host=127.0.0.1 --port={port} --max-clients={clients} --max-conns={connections}"
        );
        let binary = self.binary_shown("client3");
        self.sh_as_within(
            &format!("cargo run -q -p client3 -- {arguments} >/dev/null"),
            &format!("{binary} {arguments} >/dev/null"),
            timeout,
        )
    }

    /// [`Lab::sh_as`] for a command that may take longer than a step usually does.
    pub fn sh_as_within(&mut self, shown: &str, actual: &str, timeout: Duration) -> Result<String> {
        self.transcript.command(shown);
        let (output, _) =
            procs::bash(&self.root, actual, timeout).with_context(|| format!("running {shown}"))?;
        self.transcript.output(&output);
        Ok(output)
    }

    /// Runs `command` without showing it (a preparation the learner does
    /// not need to see); returns its output.
    pub fn quietly(&self, command: &str) -> Result<String> {
        Ok(procs::bash(&self.root, command, STEP_TIMEOUT)?.0)
    }

    /// Starts `actual` in the background (shown later with its output).
    pub fn background(&self, actual: &str) -> Result<Running> {
        procs::bash_background(&self.root, actual)
    }

    /// Waits for a background command to end; shows `shown` and its output.
    pub fn finish(&mut self, shown: &str, mut running: Running) -> Result<String> {
        if running.wait_exit(STEP_TIMEOUT).is_none() {
            bail!("{shown}: did not end within {} s", STEP_TIMEOUT.as_secs());
        }
        let output = running.lines().join("\n");
        self.transcript.command(shown);
        self.transcript.output(&output);
        Ok(output)
    }

    pub fn figure(&mut self, name: &str, data: serde_json::Value) {
        self.figures.push((name.to_owned(), data));
    }
}

/// The port a banner names: `... on port N ...`.
/// Whether `shown` starts one of the forking servers (3c–3g), whose banner
/// is two lines and a blank one: `Serving HTTP on port N ...`, then
/// `Parent PID (PPID): N`.
fn forking_server(shown: &str) -> bool {
    ["3c", "3d", "3e", "3f", "3g"]
        .iter()
        .any(|stage| shown.contains(&format!("webserver{stage}")))
}

/// Whether the whole banner has arrived. Each line is its own write(2), and
/// a server under strace is slow between them: taking the lines as soon as
/// the port shows could leave the PPID line to turn up in a later step.
fn banner_complete(lines: &[String], forks: bool) -> bool {
    let Some(at) = lines.iter().position(|line| port_in(line).is_some()) else {
        return false;
    };
    !forks
        || lines[at..]
            .windows(2)
            .any(|pair| pair[0].starts_with("Parent PID (PPID)") && pair[1].is_empty())
}

pub fn port_in(line: &str) -> Option<u16> {
    let (_, after) = line.split_once("port ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Sleeps a little: for things the kernel does by itself (a FIN, a signal).
pub fn pause(milliseconds: u64) {
    std::thread::sleep(Duration::from_millis(milliseconds));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|line| line.to_string()).collect()
    }

    #[test]
    fn a_forking_servers_banner_is_whole_after_its_ppid_and_blank_line() {
        let forks = forking_server("strace -o t -e trace=wait4 ./target/debug/webserver3g");
        assert!(forks);
        let port_only = lines(&["Serving HTTP on port 4000 ..."]);
        assert!(!banner_complete(&port_only, forks));
        let no_blank = lines(&["Serving HTTP on port 4000 ...", "Parent PID (PPID): 7"]);
        assert!(!banner_complete(&no_blank, forks));
        let whole = lines(&["Serving HTTP on port 4000 ...", "Parent PID (PPID): 7", ""]);
        assert!(banner_complete(&whole, forks));
    }

    #[test]
    fn other_servers_banner_is_the_port_line() {
        let forks = forking_server("cargo run -p webserver3b");
        assert!(!forks);
        assert!(!banner_complete(&lines(&["Compiling"]), forks));
        assert!(banner_complete(
            &lines(&["Serving HTTP on port 4000 ..."]),
            forks
        ));
    }
}

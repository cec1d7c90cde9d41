//! The bench an experiment runs on: where the binaries are, a scratch
//! directory, the transcript being written, and helpers that run a command
//! and write it and its output into the transcript. Every process is a
//! `testkit::run::Running`: in a process group of its own, killed with it
//! when dropped, and every wait has a deadline.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use regex::{Captures, Regex};
use testkit::run::{within, Limits, Output, Running};
use testkit::tools::Tool;
pub use testkit::tools::{CURL, PS, SETPRIV, SS, STRACE};

use crate::transcript::Transcript;

/// How long any one step may take before replay gives up on it.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A server that is up, and the port it listens on.
pub struct Server {
    pub process: Running,
    pub port: u16,
    /// How many lines its banner was.
    banner: usize,
}

impl Server {
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// What it printed after its banner.
    pub fn new_lines(&self) -> Vec<String> {
        self.process.lines().split_off(self.banner)
    }

    /// Waits until `count` of the lines it printed after its banner are
    /// `wanted`, at most [`STEP_TIMEOUT`]; goes on either way (the
    /// transcript then shows what came).
    pub fn wait_for(&self, count: usize, wanted: impl Fn(&str) -> bool) {
        self.process.wait_for(STEP_TIMEOUT, |lines| {
            let after_banner = lines.get(self.banner..).unwrap_or_default();
            after_banner.iter().filter(|line| wanted(line)).count() >= count
        });
    }
}

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
    /// The bench for `chapter`; `echo` prints each step as it completes.
    pub fn new(
        root: &Path,
        binaries: &Path,
        scratch: &Path,
        chapter: &'static str,
        echo: bool,
    ) -> Lab {
        // What the transcript shows of this machine's paths: a scratch
        // file by its name, as if made in the current directory; the rest
        // relative to the workspace root, where a learner runs the commands.
        let shown = |path: &Path, as_shown| (format!("{}/", path.display()), as_shown);
        let paths = vec![
            shown(scratch, ""),
            shown(binaries, "./target/debug/"),
            shown(root, "./"),
        ];
        Lab {
            root: root.to_owned(),
            binaries: binaries.to_owned(),
            scratch: scratch.to_owned(),
            transcript: Transcript::new(chapter, echo, paths),
            missing: Vec::new(),
            figures: Vec::new(),
        }
    }

    /// The binary's path as the learner types it: relative to the
    /// workspace root, where the commands run, if it is inside it.
    pub fn binary(&self, name: &str) -> String {
        let path = self.binaries.join(name);
        match path.strip_prefix(&self.root) {
            Ok(relative) => Path::new(".").join(relative),
            Err(_) => path,
        }
        .display()
        .to_string()
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
            if !tool.is_installed() {
                let why = format!(
                    "this step needs `{}`, which is not installed; install it with: {}",
                    tool.command,
                    tool.install_hint()
                );
                eprintln!("replay: {why}");
                self.missing.push(why.clone());
                self.transcript.skip(&why);
                return false;
            }
        }
        true
    }

    /// `command` as replay runs it: each `cargo run -q -p PACKAGE [--bin
    /// BIN] [--]` in it is the binary that would run, already built, so
    /// that no step waits for cargo's lock and build check.
    fn actual(&self, command: &str) -> String {
        let cargo_run = Regex::new(r"cargo run -q -p (\w+)(?: --bin (\w+))?(?: --)?").unwrap();
        cargo_run
            .replace_all(command, |found: &Captures| {
                self.binary(found.get(2).or(found.get(1)).unwrap().as_str())
            })
            .into_owned()
    }

    /// A bash that runs `script` from the workspace root.
    fn bash(&self, script: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .current_dir(&self.root)
            .env("LC_ALL", "C");
        command
    }

    /// Shows `shown` and runs `actual` as a server: on a free port
    /// (`PORT=0`, unless it says otherwise), at the lessons' defaults.
    fn start_server(&mut self, shown: &str, actual: &str) -> Result<Running> {
        self.transcript.command(shown);
        let mut command = self.bash(actual);
        command
            .env("PORT", "0")
            .env("RUST_BACKTRACE", "0")
            .env_remove("SLEEP_SECS");
        Ok(Running::start(command, Output::Merged, Limits::default())?)
    }

    /// Starts the server `shown` starts (`PORT=0 cargo run -q -p …`, a
    /// pipe, strace), waits for its banner and shows it.
    pub fn server(&mut self, shown: &str) -> Result<Server> {
        let process = self.start_server(shown, &self.actual(shown))?;
        let forks = forking_server(shown);
        let prefork = shown.contains("prefork_server");
        let found = process.wait_for(STEP_TIMEOUT, |lines| {
            banner_complete(lines, forks)
                && (!prefork || lines.iter().any(|line| line.starts_with("Workers: ")))
        });
        let lines = process.lines();
        let seconds = STEP_TIMEOUT.as_secs();
        ensure!(
            found,
            "{shown}: no banner naming a port within {seconds} s; it printed: {lines:?}"
        );
        let port = lines.iter().find_map(|line| port_in(line)).unwrap();
        self.transcript.lines(&lines);
        Ok(Server {
            process,
            port,
            banner: lines.len(),
        })
    }

    /// Starts a server whose standard output goes to /dev/null (so that
    /// only its error shows, not interleaved with its children's prints):
    /// shows `shown`, runs `actual` (both naming `port`), and waits until
    /// the port is listening.
    pub fn quiet_server(&mut self, shown: &str, actual: &str, port: u16) -> Result<Server> {
        let process = self.start_server(shown, actual)?;
        let listening = within(STEP_TIMEOUT, || {
            testkit::procs::listening(port).then_some(())
        });
        let (seconds, lines) = (STEP_TIMEOUT.as_secs(), process.lines());
        ensure!(
            listening.is_some(),
            "{shown}: nothing listens on port {port} after {seconds} s; it printed: {lines:?}"
        );
        Ok(Server {
            process,
            port,
            banner: 0,
        })
    }

    /// Starts the server `name` under `strace -o NAME.strace -e
    /// trace=CALLS`, after `variables` (`SLEEP_SECS=1 `, or none); returns
    /// it and the trace's path.
    pub fn strace(&mut self, variables: &str, name: &str, calls: &str) -> Result<(Server, String)> {
        let trace = self.scratch_file(&format!("{name}.strace"));
        let binary = self.binary(name);
        let server = self.server(&format!(
            "{variables}strace -o {trace} -e trace={calls} {binary}"
        ))?;
        Ok((server, trace))
    }

    /// A file in the scratch directory; the transcript shows its name only.
    pub fn scratch_file(&self, name: &str) -> String {
        self.scratch.join(name).display().to_string()
    }

    /// Shows what the server printed after its banner.
    pub fn server_output(&mut self, server: &Server) {
        self.transcript.lines(&server.new_lines());
    }

    /// Waits for the server to exit; shows what it printed after its
    /// banner (with its standard output to /dev/null: its error) and its
    /// exit code, as a shell says it.
    pub fn last_words(&mut self, server: &mut Server) {
        let status = server.process.wait_exit(STEP_TIMEOUT);
        self.server_output(server);
        if let Some(status) = status {
            let said = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                _ => "ended".to_owned(),
            };
            self.transcript.command("echo \"exit code $?\"");
            self.transcript.output(&format!("{said}\n"));
        }
    }

    /// Runs `command` with bash, shows it and its output; returns the output.
    pub fn sh(&mut self, command: &str) -> Result<String> {
        self.sh_within(command, STEP_TIMEOUT)
    }

    /// [`Lab::sh`] for a command that may take longer than a step usually does.
    pub fn sh_within(&mut self, command: &str, timeout: Duration) -> Result<String> {
        let running = self.background(command)?;
        let output = ended(command, running, timeout)?;
        self.transcript.command(command);
        self.transcript.output(&output);
        Ok(output)
    }

    /// Runs client3 against the server on 127.0.0.1:`port` with `clients`
    /// clients of `connections` connections each, its report of every
    /// connection to /dev/null, for at most `timeout`; returns what it
    /// printed (its summary, on stderr).
    pub fn client3(
        &mut self,
        port: u16,
        clients: u32,
        connections: u32,
        timeout: Duration,
    ) -> Result<String> {
        let command = format!(
            "cargo run -q -p client3 -- --host=127.0.0.1 --port={port} \
             --max-clients={clients} --max-conns={connections} >/dev/null"
        );
        self.sh_within(&command, timeout)
    }

    /// Runs `command` without showing it (a preparation the learner does
    /// not need to see); returns its output.
    pub fn quietly(&self, command: &str) -> Result<String> {
        ended(command, self.background(command)?, STEP_TIMEOUT)
    }

    /// Starts `command` with bash in the background, to be shown with its
    /// output when it ends ([`Lab::finish`]).
    pub fn background(&self, command: &str) -> Result<Running> {
        let bash = self.bash(&self.actual(command));
        Ok(Running::start(bash, Output::Merged, Limits::default())?)
    }

    /// Waits for a background command to end; shows `shown` and its
    /// output, and returns the output.
    pub fn finish(&mut self, shown: &str, running: Running) -> Result<String> {
        let output = ended(shown, running, STEP_TIMEOUT)?;
        self.transcript.command(shown);
        self.transcript.output(&output);
        Ok(output)
    }

    pub fn figure(&mut self, name: &str, data: serde_json::Value) {
        self.figures.push((name.to_owned(), data));
    }
}

/// Waits at most `timeout` for `running` (which runs `shown`) to end, and
/// returns what it printed, by line, as a terminal shows it (without the
/// CR of a CR LF).
fn ended(shown: &str, mut running: Running, timeout: Duration) -> Result<String> {
    let exited = running.wait_exit(timeout).is_some();
    let seconds = timeout.as_secs();
    ensure!(exited, "{shown}: did not end within {seconds} s");
    Ok(running
        .lines()
        .iter()
        .map(|line| format!("{line}\n"))
        .collect())
}

/// Marks every descriptor above 2 that replay inherited (cargo's
/// jobserver, a terminal's extras) close-on-exec, so that the servers start
/// with 0, 1 and 2 only, as from a shell, and number their sockets from 3.
pub fn close_inherited_descriptors_on_exec() {
    let me = std::process::id() as i32;
    for (fd, _) in testkit::procs::descriptors(me)
        .into_iter()
        .filter(|(fd, _)| *fd > 2)
    {
        // SAFETY: only the flag of a descriptor number is changed; a number
        // that was the listing's own (now closed) fails harmlessly with EBADF.
        unsafe {
            let flags = nix::libc::fcntl(fd, nix::libc::F_GETFD);
            if flags >= 0 {
                nix::libc::fcntl(fd, nix::libc::F_SETFD, flags | nix::libc::FD_CLOEXEC);
            }
        }
    }
}

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

/// The port a banner names: `... on port N ...`.
fn port_in(line: &str) -> Option<u16> {
    let (_, after) = line.split_once("port ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A port that was free a moment ago (bound, read, and closed), where
/// nothing listens.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until `done` holds, at most [`STEP_TIMEOUT`]; goes on either way
/// (the transcript then shows how things were).
pub fn until(mut done: impl FnMut() -> bool) {
    within(STEP_TIMEOUT, || done().then_some(()));
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

//! Starting a lesson binary and watching it run: [`Launch`] (how to start
//! it), [`Process`] (the one runner, [`Running`], with waits that panic)
//! and [`Server`] (a process that printed its `Serving HTTP on port N ...`
//! banner, and the port it named).

use std::ffi::{OsStr, OsString};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::thread;

use crate::http::{connect, read_response, read_to_eof, request_for, send_request, Response};
use crate::procs::{children_of, process_state, ProcessState};
use crate::run::{Limits, Output, Running};
use crate::{eventually, TempDir, PATIENCE};

/// How to start a lesson binary: its path (`env!("CARGO_BIN_EXE_…")`), its
/// arguments, its environment and limits.
pub struct Launch {
    pub(crate) command: Command,
    /// Its descriptor and process limits, and the user it runs as.
    pub(crate) limits: Limits,
    /// A directory holding a copy of the binary to run instead (see
    /// `Launch::unprivileged_with_process_limit`), removed once it is running.
    pub(crate) scratch: Option<TempDir>,
}

impl Launch {
    /// A launch of `binary` with `PORT=0`, so that parallel tests never
    /// fight over a port. Override with `.env("PORT", …)` where a test needs to.
    pub fn new(binary: &str) -> Launch {
        Launch {
            command: standard_command(binary.as_ref()),
            limits: Limits::default(),
            scratch: None,
        }
    }

    /// The same launch of another program: its arguments, environment and
    /// directory carried over.
    pub(crate) fn with_program(mut self, program: &Path) -> Launch {
        let mut command = standard_command(program.as_os_str());
        command.args(self.command.get_args());
        for (key, value) in self.command.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(directory) = self.command.get_current_dir() {
            command.current_dir(directory);
        }
        self.command = command;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.command.env(key, value);
        self
    }

    pub fn arg(mut self, argument: impl Into<OsString>) -> Launch {
        self.command.arg(argument.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, arguments: I) -> Launch {
        for argument in arguments {
            self.command.arg(argument.into());
        }
        self
    }

    pub fn current_dir(mut self, directory: impl AsRef<std::path::Path>) -> Launch {
        self.command.current_dir(directory);
        self
    }

    /// Starts the binary with RLIMIT_NOFILE (soft and hard) set to `limit`,
    /// as `ulimit -n limit` would before running it.
    pub fn open_file_limit(mut self, limit: u64) -> Launch {
        self.limits.open_files = Some((limit, limit));
        self
    }

    /// Starts the binary with RLIMIT_NOFILE soft limit `soft` and hard limit
    /// `hard`, as `ulimit -Hn hard; ulimit -Sn soft` would: the binary may
    /// raise its own soft limit up to `hard`.
    pub fn open_file_limits(mut self, soft: u64, hard: u64) -> Launch {
        self.limits.open_files = Some((soft, hard));
        self
    }

    /// Starts the binary; does not wait for anything.
    pub fn spawn(self) -> Process {
        self.spawn_with(Output::Separate)
    }

    /// Starts the binary with its limits and `output`.
    pub(crate) fn spawn_with(mut self, output: Output) -> Process {
        let running =
            Running::start(self.command, output, self.limits).unwrap_or_else(|err| panic!("{err}"));
        // Running (spawn returns once exec has succeeded), the binary no
        // longer needs its file: a copy in `scratch` can go.
        drop(self.scratch.take());
        running
    }

    /// Starts the binary and waits for its `Serving HTTP on port N ...`
    /// banner, which must be the first line of its stdout.
    pub fn start_server(self) -> Server {
        self.start_with_banner("Serving HTTP on port ")
    }

    /// Starts the binary and waits for a first line of stdout of the form
    /// `{prefix}N ...`, N being the port: for servers that do not speak
    /// HTTP, whose banner says something else (`Listening on port N ...`).
    /// An empty prefix takes any line with `on port N`.
    pub fn start_with_banner(self, prefix: &str) -> Server {
        Server::after_banner(self.spawn(), prefix)
    }
}

impl Server {
    /// The server `process` is, once its first line of stdout, drained as
    /// it comes, is a banner `{prefix}N ...`.
    pub(crate) fn after_banner(process: Process, prefix: &str) -> Server {
        let banner = eventually(PATIENCE, "the server's first line", || {
            if let Some(first) = process.stdout_lines().into_iter().next() {
                return Some(first);
            }
            if let Some(status) = process.status_now() {
                panic!(
                    "{} exited with {status} before printing its banner; stderr: {}",
                    process.program(),
                    process.stderr()
                );
            }
            None
        });
        let port = port_in_banner(&banner, prefix)
            .unwrap_or_else(|| panic!("first line is not the banner: {banner:?}"));
        Server { process, port }
    }
}

/// The port in `Serving HTTP on port N ...`.
pub fn parse_banner(line: &str) -> Option<u16> {
    parse_port_line(line, "Serving HTTP on port ")
}

/// How every launch starts `program`: `PORT=0`, so that parallel tests
/// never fight over a port (a test may override it), no `SLEEP_SECS`, no
/// backtraces ([`Running`] adds its process group and the pipes).
fn standard_command(program: &OsStr) -> Command {
    let mut command = Command::new(program);
    command
        .env("PORT", "0")
        .env_remove("SLEEP_SECS")
        .env("RUST_BACKTRACE", "0");
    command
}

/// The port in a banner `{prefix}N ...`; with an empty prefix, in any line
/// that says `on port N`.
pub(crate) fn port_in_banner(line: &str, prefix: &str) -> Option<u16> {
    if prefix.is_empty() {
        line.split_once("on port ")
            .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
    } else {
        parse_port_line(line, prefix)
    }
}

pub(crate) fn parse_port_line(line: &str, prefix: &str) -> Option<u16> {
    line.strip_prefix(prefix)?
        .strip_suffix(" ...")?
        .parse()
        .ok()
}

/// A running lesson binary, for tests: the one process runner,
/// [`Running`], with the waits below, which panic with a message instead
/// of returning `None`. Dropping it kills its whole process group.
pub type Process = Running;

impl Running {
    /// Everything the process (and its children) printed so far.
    pub fn stdout(&self) -> String {
        self.output()
    }

    /// The same, by line.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.lines()
    }

    /// Waits until some line of stdout satisfies `matches`; returns it.
    pub fn wait_for_line(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        eventually(PATIENCE, what, || {
            self.stdout_lines().into_iter().find(|line| matches(line))
        })
    }

    /// How many lines of stdout so far satisfy `matches`.
    pub fn count_lines(&self, matches: impl Fn(&str) -> bool) -> usize {
        self.stdout_lines()
            .iter()
            .filter(|line| matches(line))
            .count()
    }

    /// Waits until at least `count` lines of stdout satisfy `matches`;
    /// returns them all.
    pub fn wait_for_lines(
        &self,
        count: usize,
        what: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        eventually(PATIENCE, what, || {
            let found: Vec<String> = self
                .stdout_lines()
                .into_iter()
                .filter(|line| matches(line))
                .collect();
            (found.len() >= count).then_some(found)
        })
    }

    /// The exit status, if the process has exited (`&mut`, as callers
    /// written for the former wrapper hold it).
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.try_status()
    }

    /// Waits (bounded) for the process to exit; returns its exit code.
    /// Panics if it is still running after [`PATIENCE`] or died of a signal.
    pub fn wait_for_exit(&mut self) -> i32 {
        let status = self.wait_exit(PATIENCE).unwrap_or_else(|| {
            panic!("timed out after {PATIENCE:?} waiting for the process to exit")
        });
        status.code().unwrap_or_else(|| {
            panic!(
                "{} was killed by signal {:?}; stderr: {}",
                self.program(),
                status.signal(),
                self.stderr()
            )
        })
    }

    /// Whether the process is still running (not exited, not a zombie).
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// The processes whose parent is this one, with their `/proc` state.
    pub fn children(&self) -> Vec<ProcessState> {
        children_of(self.pid())
    }

    /// The children of this process that have exited but were never waited
    /// for: zombies, state `Z` in `/proc`, `<defunct>` in `ps`.
    pub fn zombie_children(&self) -> Vec<ProcessState> {
        self.children()
            .into_iter()
            .filter(|child| child.state == 'Z')
            .collect()
    }

    /// This process's own state in `/proc` (`S`, `R`, `T` when stopped, …).
    pub fn state(&self) -> Option<char> {
        process_state(self.pid())
    }
}

/// A running server: the process and the port its banner named.
pub struct Server {
    pub process: Process,
    pub port: u16,
}

impl Server {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A new connection to the server, with read and write timeouts of
    /// [`PATIENCE`] so that a test never blocks forever.
    pub fn connect(&self) -> TcpStream {
        connect(self.address())
    }

    /// Sends `GET path` on a new connection and reads the response until
    /// the server closes the connection: the way curl reads a response that
    /// has no Content-Length.
    pub fn get_to_eof(&self, path: &str) -> Vec<u8> {
        let mut stream = self.connect();
        send_request(&mut stream, path);
        read_to_eof(&mut stream)
    }

    /// Sends `request`, raw bytes, on a new connection and reads one
    /// response with [`read_response`] (`head_request`: the request was a
    /// HEAD, so the response has no body). For tests that send malformed or
    /// hand-made requests and check the status, headers and body.
    pub fn exchange(&self, request: &[u8], head_request: bool) -> Response {
        let mut stream = self.connect();
        stream.write_all(request).expect("send the request");
        read_response(&mut BufReader::new(stream), head_request).unwrap_or_else(|err| {
            panic!(
                "reading the response to {:?}: {err}",
                String::from_utf8_lossy(request)
            )
        })
    }

    /// Sends `GET path` on a new connection and reads one response with
    /// [`read_response`].
    pub fn get(&self, path: &str) -> Response {
        self.exchange(request_for(path).as_bytes(), false)
    }

    /// Sends `GET path` on `count` connections at once, each from a thread
    /// of its own, and reads each to end-of-file, as [`Server::get_to_eof`]
    /// does: a burst of concurrent clients. Returns the answers.
    pub fn get_to_eof_concurrently(&self, count: usize, path: &str) -> Vec<Vec<u8>> {
        thread::scope(|scope| {
            let clients: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| self.get_to_eof(path)))
                .collect();
            clients
                .into_iter()
                .map(|client| client.join().expect("a client thread panicked"))
                .collect()
        })
    }

    /// Sends `request`, raw bytes, on a new connection and reads until the
    /// server closes it: every byte of the answer, for tests that look at
    /// the bytes themselves (what a response must never contain).
    pub fn exchange_to_eof(&self, request: &[u8]) -> Vec<u8> {
        let mut stream = self.connect();
        stream.write_all(request).expect("send the request");
        read_to_eof(&mut stream)
    }
}

impl std::ops::Deref for Server {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_banner() {
        assert_eq!(parse_banner("Serving HTTP on port 8888 ..."), Some(8888));
        assert_eq!(parse_banner("Serving HTTP on port x ..."), None);
        assert_eq!(parse_banner("Hello"), None);
    }
}

//! Starting a lesson binary and watching it run: [`Launch`] (how to start
//! it), [`Process`] (the running binary, its output and exit) and
//! [`Server`] (a process that printed its `Serving HTTP on port N ...`
//! banner, and the port it named).

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::http::{connect, read_response, read_to_eof, request_for, send_request, Response};
use crate::proc_fs::{children_of, process_state, ProcessState};
use crate::{eventually, TempDir, PATIENCE};

/// How to start a lesson binary: its path (`env!("CARGO_BIN_EXE_…")`), its
/// arguments, its environment and limits.
pub struct Launch {
    pub(crate) command: Command,
    /// RLIMIT_NOFILE for the binary: (soft, hard).
    open_file_limit: Option<(u64, u64)>,
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
            open_file_limit: None,
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
        self.open_file_limit = Some((limit, limit));
        self
    }

    /// Starts the binary with RLIMIT_NOFILE soft limit `soft` and hard limit
    /// `hard`, as `ulimit -Hn hard; ulimit -Sn soft` would: the binary may
    /// raise its own soft limit up to `hard`.
    pub fn open_file_limits(mut self, soft: u64, hard: u64) -> Launch {
        self.open_file_limit = Some((soft, hard));
        self
    }

    /// Starts the binary; does not wait for anything.
    pub fn spawn(self) -> Process {
        let (program, mut child) = self.spawn_child();
        let stdout = Collected::lines_of(child.stdout.take().expect("stdout is piped"));
        let stderr = Collected::text_of(child.stderr.take().expect("stderr is piped"));
        Process {
            program,
            child,
            stdout,
            stderr,
            exit_status: None,
        }
    }

    /// Starts the binary with its limits; returns its name and the child,
    /// whose stdout and stderr are pipes nobody reads yet.
    pub(crate) fn spawn_child(mut self) -> (String, Child) {
        if let Some((soft, hard)) = self.open_file_limit {
            // SAFETY: the closure runs in the forked child before exec, where
            // only async-signal-safe calls are allowed; setrlimit(2) is a
            // single system call and allocates nothing.
            unsafe {
                self.command.pre_exec(move || {
                    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).map_err(io::Error::from)
                });
            }
        }
        let program = self.command.get_program().to_string_lossy().into_owned();
        let child = self
            .command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
        // Running (spawn returns once exec has succeeded), the binary no
        // longer needs its file: a copy in `scratch` can go.
        drop(self.scratch.take());
        (program, child)
    }

    /// Starts the binary and waits for its `Serving HTTP on port N ...`
    /// banner, which must be the first line of its stdout.
    pub fn start_server(self) -> Server {
        self.start_with_banner("Serving HTTP on port ")
    }

    /// Starts the binary and waits for a first line of stdout that names a
    /// port (`... on port N ...`), whatever it says around it: for checks
    /// that every server binary shares.
    pub fn start_with_any_banner(self) -> Server {
        self.start_with_banner("")
    }

    /// Starts the binary and waits for a first line of stdout of the form
    /// `{prefix}N ...`, N being the port: for servers that do not speak
    /// HTTP, whose banner says something else (`Listening on port N ...`).
    /// An empty prefix takes any line with `on port N`.
    pub fn start_with_banner(self, prefix: &str) -> Server {
        let mut process = self.spawn();
        let banner = eventually(PATIENCE, "the server's first line", || {
            if let Some(first) = process.stdout_lines().into_iter().next() {
                return Some(first);
            }
            if let Some(status) = process.try_exit_status() {
                panic!(
                    "{} exited with {status} before printing its banner; stderr: {}",
                    process.program,
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

/// The port in `{prefix}N ...`.
/// How every launch starts `program`: `PORT=0`, so that parallel tests
/// never fight over a port (a test may override it), no `SLEEP_SECS`, no
/// backtraces, stdout and stderr piped to the test.
fn standard_command(program: &OsStr) -> Command {
    let mut command = Command::new(program);
    command
        .env("PORT", "0")
        .env_remove("SLEEP_SECS")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A process group of its own: the binary and everything it forks
        // can be killed together, and nothing else.
        .process_group(0);
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

/// Output of a child process, read by a background thread as it comes.
#[derive(Clone)]
pub(crate) struct Collected {
    /// What arrived so far.
    pub(crate) bytes: Arc<Mutex<Vec<u8>>>,
    /// Set when the pipe reached end-of-file: every holder has exited.
    pub(crate) finished: Arc<AtomicBool>,
}

impl Collected {
    pub(crate) fn lines_of(stdout: ChildStdout) -> Collected {
        Collected::spawn_reader(stdout)
    }

    pub(crate) fn text_of(stderr: ChildStderr) -> Collected {
        Collected::spawn_reader(stderr)
    }

    fn spawn_reader(source: impl Read + Send + 'static) -> Collected {
        let collected = Collected {
            bytes: Arc::new(Mutex::new(Vec::new())),
            finished: Arc::new(AtomicBool::new(false)),
        };
        let sink = collected.clone();
        thread::spawn(move || {
            // Read until every holder of the pipe has exited. Keeping the
            // pipe drained matters: a server whose stdout pipe is full or
            // closed would block or fail in println!.
            let mut reader = BufReader::new(source);
            loop {
                let mut chunk = Vec::new();
                match reader.read_until(b'\n', &mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => sink.bytes.lock().unwrap().extend_from_slice(&chunk),
                }
            }
            sink.finished.store(true, Ordering::SeqCst);
        });
        collected
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

/// A running lesson binary. Dropping it kills its whole process group.
pub struct Process {
    pub(crate) program: String,
    pub(crate) child: Child,
    pub(crate) stdout: Collected,
    pub(crate) stderr: Collected,
    pub(crate) exit_status: Option<ExitStatus>,
}

impl Process {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything the process (and its children) printed so far, by line.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.text().lines().map(str::to_owned).collect()
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
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

    /// The exit status, if the process has exited.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = self.child.try_wait().expect("waitpid on the child");
        }
        self.exit_status
    }

    /// Waits (bounded) for the process to exit; returns its exit code.
    /// Panics if it is still running after [`PATIENCE`] or died of a signal.
    pub fn wait_for_exit(&mut self) -> i32 {
        let status = eventually(PATIENCE, "the process to exit", || self.try_exit_status());
        // Its last words may still be in the pipes: give the reader threads
        // a moment to reach end-of-file. Children it forked may hold the
        // pipes open longer, so this wait is bounded and does not fail.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(self.stdout.is_finished() && self.stderr.is_finished()) && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(5));
        }
        status.code().unwrap_or_else(|| {
            panic!(
                "{} was killed by signal {:?}; stderr: {}",
                self.program,
                status.signal(),
                self.stderr()
            )
        })
    }

    /// Whether the process is still running (not exited, not a zombie).
    pub fn is_running(&mut self) -> bool {
        self.try_exit_status().is_none()
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

    /// Sends a signal to this process only (not its children).
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).expect("kill(2) our own child");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The group holds exactly this binary and what it forked (the tests
        // started it with a process group of its own).
        let _ = killpg(Pid::from_raw(self.pid()), Signal::SIGKILL);
        let _ = self.child.wait();
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

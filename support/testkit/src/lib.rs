//! Helpers shared by the integration tests of every lesson crate.
//!
//! - [`Launch`] starts a lesson binary the way a classroom would, but on a
//!   free port (`PORT=0`), reads the `Serving HTTP on port N ...` banner, and
//!   keeps collecting its stdout and stderr in the background.
//! - [`Process`] and [`Server`] are the running binary: its output, its exit,
//!   its children (and their zombie state) as `/proc` shows them. Dropping one
//!   kills the binary *and the processes it forked*, which share its process
//!   group, so no test leaves a server behind.
//! - [`connect`], [`send_request`] and [`read_response`] are a raw HTTP
//!   client: the tests see exactly the bytes the server sent.
//! - [`eventually`] polls for a condition with a deadline, so that no test
//!   sleeps a fixed time longer than it needs, and none waits forever.
//!
//! Every wait here is bounded: a test that goes wrong fails with a message
//! instead of hanging the suite.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

#[doc(hidden)]
pub mod contract_cli_log;
mod resources;
pub mod static_server;
mod stdout_pipe;
mod temp_dir;
mod unprivileged;

pub use resources::{cpu_time, raise_open_file_limit, resident_memory};
pub use stdout_pipe::StdoutPipe;
pub use temp_dir::TempDir;

/// How long any single wait in a test may take before the test fails.
/// Generous, because CI machines are small and run tests in parallel; a
/// passing test never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` every few milliseconds until it returns `Some`, and returns
/// that. Panics, naming `what`, when `timeout` passes first.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// How to start a lesson binary: its path (`env!("CARGO_BIN_EXE_…")`), its
/// arguments, its environment and limits.
pub struct Launch {
    command: Command,
    /// RLIMIT_NOFILE for the binary: (soft, hard).
    open_file_limit: Option<(u64, u64)>,
}

impl Launch {
    /// A launch of `binary` with `PORT=0`, so that parallel tests never
    /// fight over a port. Override with `.env("PORT", …)` where a test needs to.
    pub fn new(binary: &str) -> Launch {
        let mut command = Command::new(binary);
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
        Launch {
            command,
            open_file_limit: None,
        }
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
    fn spawn_child(mut self) -> (String, Child) {
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
        let port = if prefix.is_empty() {
            banner
                .split_once("on port ")
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|digits| digits.parse().ok())
        } else {
            parse_port_line(&banner, prefix)
        };
        let port = port.unwrap_or_else(|| panic!("first line is not the banner: {banner:?}"));
        Server { process, port }
    }
}

/// The port in `Serving HTTP on port N ...`.
pub fn parse_banner(line: &str) -> Option<u16> {
    parse_port_line(line, "Serving HTTP on port ")
}

/// The port in `{prefix}N ...`.
fn parse_port_line(line: &str, prefix: &str) -> Option<u16> {
    line.strip_prefix(prefix)?
        .strip_suffix(" ...")?
        .parse()
        .ok()
}

/// Output of a child process, read by a background thread as it comes.
#[derive(Clone)]
struct Collected {
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Set when the pipe reached end-of-file: every holder has exited.
    finished: Arc<AtomicBool>,
}

impl Collected {
    fn lines_of(stdout: ChildStdout) -> Collected {
        Collected::spawn_reader(stdout)
    }

    fn text_of(stderr: ChildStderr) -> Collected {
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
    program: String,
    child: Child,
    stdout: Collected,
    stderr: Collected,
    exit_status: Option<ExitStatus>,
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
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        parse_stat(&stat).map(|(state, _ppid)| state)
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

    /// Sends `request`, raw bytes, on a new connection and reads until the
    /// server closes it: every byte of the answer, for tests that look at
    /// the bytes themselves (what a response must never contain).
    pub fn exchange_to_eof(&self, request: &[u8]) -> Vec<u8> {
        let mut stream = self.connect();
        stream.write_all(request).expect("send the request");
        read_to_eof(&mut stream)
    }
}

/// Makes `count` children of a forking server exit while the server is
/// stopped, so that their SIGCHLDs arrive while one is already pending, then
/// lets the server run again. Returns once it has been continued.
///
/// The kernel keeps one pending bit per standard signal, not a count: all
/// `count` exits are delivered to the server as a single SIGCHLD. This is
/// the "burst of children exiting at once" of the article, made exact.
///
/// Steps: open `count` connections without sending anything, so each child
/// blocks in recv; wait until the server has `count` children; SIGSTOP it;
/// send every request and read every answer to end-of-file, so each child
/// exits; wait until all `count` are zombies; SIGCONT.
pub fn exit_children_while_server_is_stopped(server: &Server, count: usize) {
    let mut clients: Vec<TcpStream> = (0..count).map(|_| server.connect()).collect();
    eventually(PATIENCE, "a child per connection", || {
        (server.children().len() >= count).then_some(())
    });
    server.signal(Signal::SIGSTOP);
    eventually(PATIENCE, "the server to stop", || {
        (server.state() == Some('T')).then_some(())
    });
    for client in &mut clients {
        send_request(client, "/hello");
    }
    for client in &mut clients {
        assert_eq!(
            read_to_eof(client),
            b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n"
        );
    }
    eventually(PATIENCE, "every child to exit", || {
        (server.zombie_children().len() >= count).then_some(())
    });
    server.signal(Signal::SIGCONT);
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

/// Connects to `address` with read and write timeouts of [`PATIENCE`].
pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&address, PATIENCE)
        .unwrap_or_else(|err| panic!("connect to {address}: {err}"));
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// The request curl sends for `curl http://localhost:PORT/path`, near enough.
pub fn request_for(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: testkit\r\nAccept: */*\r\n\r\n")
}

pub fn send_request(stream: &mut TcpStream, path: &str) {
    stream
        .write_all(request_for(path).as_bytes())
        .expect("send the request");
}

/// Reads until the server closes the connection. Panics on a timeout.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .unwrap_or_else(|err| panic!("reading to end-of-file: {err}; got so far: {response:?}"));
    response
}

/// Reads until `wanted` has arrived (or the connection closes); returns
/// what was read. For waiting on a greeting without waiting for EOF.
pub fn read_until_contains(stream: &mut TcpStream, wanted: &[u8]) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while !contains(&received, wanted) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(err) => panic!("reading: {err}; got so far: {received:?}"),
        }
    }
    received
}

/// Whether the connection is still open after `wait`: no byte and no
/// end-of-file arrived in that time. Used to prove that a server holds a
/// connection open (webserver3d), so `wait` bounds the proof, not a speed.
pub fn stays_open_for(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    let open = match stream.read(&mut byte) {
        Ok(_) => false,
        Err(err) => matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
    };
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    open
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Whether `bytes` hold a control character other than the CR and LF that
/// end HTTP's lines: a C0 control (ESC, NUL, BEL, a tab...), DEL, or a C1
/// control as UTF-8 encodes it (0xC2 0x80 to 0xC2 0x9F). What a response
/// or a log must not echo from a hostile request: a terminal reads these as
/// commands.
pub fn has_control_characters(bytes: &[u8]) -> bool {
    let c0_or_delete = bytes
        .iter()
        .any(|&byte| (byte < 0x20 && byte != b'\r' && byte != b'\n') || byte == 0x7f);
    let c1 = bytes
        .windows(2)
        .any(|pair| pair[0] == 0xc2 && (0x80..=0x9f).contains(&pair[1]));
    c0_or_delete || c1
}

/// One HTTP response, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The whole status line, without CRLF.
    pub status_line: String,
    /// Header names lower-cased; a repeated header keeps its last value.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Reads one response from a keep-alive connection: the head, then a body of
/// `Content-Length` bytes (none after a HEAD request, `head_request`), or
/// up to end-of-file when there is no Content-Length. Bytes past the
/// response stay in `reader` for the next call (pipelining).
pub fn read_response(reader: &mut impl BufRead, head_request: bool) -> io::Result<Response> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status_line = status_line.trim_end().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line {status_line:?}"),
            )
        })?;
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the response head",
            ));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if !head_request {
        match headers.get("content-length") {
            Some(length) => {
                let length: usize = length.parse().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length")
                })?;
                body.resize(length, 0);
                reader.read_exact(&mut body)?;
            }
            None => {
                reader.read_to_end(&mut body)?;
            }
        }
    }
    Ok(Response {
        status,
        status_line,
        headers,
        body,
    })
}

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessState {
    pub pid: i32,
    /// `R` running, `S` sleeping, `Z` zombie, …: the STAT column of `ps`.
    pub state: char,
}

/// Every process whose parent is `parent`, read from `/proc/*/stat`.
pub fn children_of(parent: i32) -> Vec<ProcessState> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        // A process may exit between read_dir and read: skip it.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, ppid)) = parse_stat(&stat) {
            if ppid == parent {
                children.push(ProcessState { pid, state });
            }
        }
    }
    children
}

/// State and parent PID from a `/proc/PID/stat` line:
/// `pid (comm) state ppid …`. The command name may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
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

    #[test]
    fn parses_stat_with_odd_command_names() {
        assert_eq!(
            parse_stat("42 (a (weird) name) Z 7 42 42 0 -1"),
            Some(('Z', 7))
        );
    }

    #[test]
    fn reads_pipelined_responses_one_at_a_time() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let mut reader = io::Cursor::new(&wire[..]);
        let first = read_response(&mut reader, false).unwrap();
        assert_eq!((first.status, first.body.as_slice()), (200, &b"hi"[..]));
        let second = read_response(&mut reader, false).unwrap();
        assert_eq!(second.status, 404);
        assert!(second.body.is_empty());
    }

    #[test]
    fn finds_its_own_children_in_proc() {
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id() as i32;
        let found = children_of(me)
            .iter()
            .any(|state| state.pid == child.id() as i32);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found);
    }
}

/// The contract every server binary of the workspace keeps, as checks that
/// each crate's tests call on its own binary (see [`server_contract_tests`]).
pub mod contract {
    use super::*;
    use std::net::TcpListener;

    /// Asserts that a process failed the way a learner should see it fail:
    /// exit code 1 and one line on stderr, naming what is wrong; no panic,
    /// no backtrace.
    pub fn assert_one_line_error(process: &mut Process, mentions: &str) {
        let code = process.wait_for_exit();
        let stderr = process.stderr();
        assert_eq!(code, 1, "exit code; stderr: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line on stderr, got: {stderr:?}"
        );
        assert!(
            stderr.contains(mentions),
            "stderr should mention {mentions:?}: {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    }

    /// `PORT=nope` is refused with a one-line error and exit code 1.
    pub fn rejects_a_bad_port(binary: &str) {
        let mut process = Launch::new(binary).env("PORT", "nope").spawn();
        assert_one_line_error(&mut process, "PORT");
        let mut process = Launch::new(binary).env("PORT", "70000").spawn();
        assert_one_line_error(&mut process, "PORT");
    }

    /// A port another socket is listening on is refused with a one-line
    /// error naming the problem, and exit code 1.
    pub fn reports_an_address_in_use(binary: &str) {
        let holder = TcpListener::bind("0.0.0.0:0").expect("bind a port to hold");
        let port = holder.local_addr().unwrap().port().to_string();
        let mut process = Launch::new(binary).env("PORT", &port).spawn();
        assert_one_line_error(&mut process, "Address already in use");
    }

    /// `SLEEP_SECS=soon` is refused with a one-line error and exit code 1.
    pub fn rejects_a_bad_sleep(binary: &str) {
        let mut process = Launch::new(binary).env("SLEEP_SECS", "soon").spawn();
        assert_one_line_error(&mut process, "SLEEP_SECS");
    }

    /// Something a client does to a server that it should survive.
    type Misbehaviour = fn(&Server);

    /// Clients that misbehave do not bring the server down: one that
    /// connects and closes at once, one that sends bytes that are not UTF-8,
    /// one that resets the connection, one whose request is longer than the
    /// 1024 bytes the stages read. After each, a plain request still gets
    /// the greeting, and nothing panicked.
    pub fn survives_hostile_clients(server: &Server) {
        let greeting = b"Hello, World!";
        let hostile: [(&str, Misbehaviour); 4] = [
            ("an empty connection", |server| drop(server.connect())),
            ("bytes that are not UTF-8", |server| {
                let mut stream = server.connect();
                stream
                    .write_all(b"\xff\xfe\xfd GET /\x80 \r\n\r\n")
                    .unwrap();
                read_until_contains(&mut stream, b"Hello, World!");
            }),
            ("a reset", |server| {
                let mut stream = server.connect();
                stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
                // SO_LINGER with a zero timeout turns close into a reset (RST).
                socket2::SockRef::from(&stream)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }),
            ("a request longer than 1024 bytes", |server| {
                let mut stream = server.connect();
                let long_path = "/".to_owned() + &"x".repeat(4000);
                send_request(&mut stream, &long_path);
                // The server reads 1024 bytes and may close with the rest
                // unread, which resets the connection: either outcome is
                // the server's right. It must not crash.
                let _ = stream.read(&mut [0u8; 64]);
            }),
        ];
        for (what, misbehave) in hostile {
            misbehave(server);
            let mut stream = server.connect();
            send_request(&mut stream, "/hello");
            let answer = read_until_contains(&mut stream, greeting);
            assert!(
                contains(&answer, greeting),
                "no greeting after {what}; got {answer:?}; stderr: {}",
                server.stderr()
            );
        }
        assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    }
}

/// The contract of a server binary, as `#[test]`s: a bad `PORT` and an
/// address in use each give a one-line error and exit code 1; `--help`
/// exits 0 and an unknown argument 2; the server keeps answering when the
/// reader of its stdout goes away or stops reading; with `sleeps`, a bad
/// `SLEEP_SECS` is a one-line error too.
///
/// ```text
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3a"));
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3b"), sleeps);
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3e"), sleeps, dies_after_one_child);
/// ```
#[macro_export]
macro_rules! server_contract_tests {
    ($binary:expr) => {
        $crate::server_contract_tests!(@startup $binary);
        $crate::server_contract_tests!(@log $binary);
    };
    ($binary:expr, sleeps) => {
        $crate::server_contract_tests!($binary);
        $crate::server_contract_tests!(@sleep $binary);
    };
    // webserver3e dies of its first child's SIGCHLD by design: its log can
    // be checked on one client only.
    ($binary:expr, sleeps, dies_after_one_child) => {
        $crate::server_contract_tests!(@startup $binary);
        $crate::server_contract_tests!(@sleep $binary);

        #[test]
        fn keeps_answering_when_its_log_reader_goes_away() {
            $crate::contract_cli_log::survives_a_closed_stdout($binary, 1);
        }
    };
    (@startup $binary:expr) => {
        #[test]
        fn a_bad_port_is_a_one_line_error_with_exit_code_1() {
            $crate::contract::rejects_a_bad_port($binary);
        }

        #[test]
        fn an_address_in_use_is_a_one_line_error_with_exit_code_1() {
            $crate::contract::reports_an_address_in_use($binary);
        }

        #[test]
        fn answers_help_and_refuses_an_unknown_argument_with_exit_code_2() {
            $crate::contract_cli_log::answers_help_and_refuses_unknown_arguments($binary);
        }
    };
    (@log $binary:expr) => {
        #[test]
        fn keeps_answering_when_its_log_reader_goes_away() {
            $crate::contract_cli_log::survives_a_closed_stdout($binary, 3);
        }

        #[test]
        fn keeps_answering_when_nobody_reads_its_log() {
            $crate::contract_cli_log::survives_a_full_stdout($binary, 300);
        }
    };
    (@sleep $binary:expr) => {
        #[test]
        fn a_bad_sleep_is_a_one_line_error_with_exit_code_1() {
            $crate::contract::rejects_a_bad_sleep($binary);
        }
    };
}

/// The server side of a test of a *client*: a listener on 127.0.0.1 that
/// accepts every connection and reads each one to end-of-file, recording
/// the bytes that arrived on it, in the order the connections were
/// accepted. It never answers.
pub struct RecordingListener {
    address: SocketAddr,
    connections: Arc<Mutex<Vec<RecordedConnection>>>,
}

/// One accepted connection: what arrived so far, and whether it has ended
/// (end-of-file, or an error such as a reset or a read timeout).
#[derive(Clone, Default)]
struct RecordedConnection {
    received: Vec<u8>,
    ended: bool,
}

impl RecordingListener {
    /// What [`RecordingListener::connections_so_far`] sends on its own
    /// connection, to find it among the others.
    const MARKER: &'static [u8] = b"testkit: marker connection\n";

    /// Binds 127.0.0.1 on a free port and starts accepting in a background
    /// thread, which reads each connection in a thread of its own, so that
    /// a client holding one connection open does not stall the others.
    pub fn start() -> RecordingListener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("getsockname");
        let connections: Arc<Mutex<Vec<RecordedConnection>>> = Arc::default();
        let recorder = Arc::clone(&connections);
        thread::spawn(move || {
            // Ends with the test process: accept blocks until then.
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let index = {
                    let mut connections = recorder.lock().unwrap();
                    connections.push(RecordedConnection::default());
                    connections.len() - 1
                };
                let recorder = Arc::clone(&recorder);
                thread::spawn(move || {
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let read = stream.read(&mut chunk);
                        let mut connections = recorder.lock().unwrap();
                        let connection = &mut connections[index];
                        match read {
                            Ok(count) if count > 0 => {
                                connection.received.extend_from_slice(&chunk[..count])
                            }
                            _ => {
                                connection.ended = true;
                                break;
                            }
                        }
                    }
                });
            }
        });
        RecordingListener {
            address,
            connections,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bytes received on every connection made before this call, each
    /// read to end-of-file, in the order they were accepted. So the count
    /// is exact, not "at least": the call makes one connection of its own,
    /// a marker, and waits until it is accepted. The kernel's queue of
    /// connections waiting for accept is first in, first out, so every
    /// connection completed before the marker was accepted before it.
    /// Then it waits until each of those has ended. Bounded by [`PATIENCE`].
    pub fn connections_so_far(&self) -> Vec<Vec<u8>> {
        let mut marker = connect(self.address);
        marker
            .write_all(Self::MARKER)
            .expect("send on the marker connection");
        drop(marker);
        eventually(
            PATIENCE,
            "the marker connection and every connection before it to end",
            || {
                let connections = self.connections.lock().unwrap();
                let marker_index = connections.iter().position(|connection| {
                    connection.ended && connection.received == Self::MARKER
                })?;
                let before = &connections[..marker_index];
                before
                    .iter()
                    .all(|connection| connection.ended)
                    .then(|| before.iter().map(|c| c.received.clone()).collect())
            },
        )
    }
}

/// A port on 127.0.0.1 where every connect is refused, for as long as this
/// lives: a socket is bound to it but does not listen, so the kernel answers
/// each SYN with a reset (ECONNREFUSED), and no other test can bind the port
/// in the meantime, as it could if a listener were closed to free it.
pub struct RefusingPort {
    _bound: socket2::Socket,
    pub port: u16,
}

impl RefusingPort {
    pub fn new() -> RefusingPort {
        let bound = bound_to_a_free_port();
        let port = port_of(&bound);
        RefusingPort {
            _bound: bound,
            port,
        }
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A listener on 127.0.0.1 that never accepts, with a listen backlog of 0:
/// once the kernel's queue holds the one connection (or so) the backlog
/// allows, it drops each further SYN, and a client's connect waits, as
/// against a server too busy to accept, until its own timeout.
pub struct UnacceptingListener {
    _listening: socket2::Socket,
    pub port: u16,
}

impl UnacceptingListener {
    pub fn new() -> UnacceptingListener {
        let listening = bound_to_a_free_port();
        listening.listen(0).expect("listen");
        let port = port_of(&listening);
        UnacceptingListener {
            _listening: listening,
            port,
        }
    }
}

impl Default for UnacceptingListener {
    fn default() -> Self {
        Self::new()
    }
}

fn bound_to_a_free_port() -> socket2::Socket {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&address.into()).expect("bind 127.0.0.1:0");
    socket
}

fn port_of(socket: &socket2::Socket) -> u16 {
    socket
        .local_addr()
        .expect("getsockname")
        .as_socket()
        .expect("an internet address")
        .port()
}

mod scripted_listener;
pub use scripted_listener::{Reply, ScriptedListener};

/// The promises every static server keeps (issue 3), as `#[test]`s: each
/// runs one scenario of [`static_server`] against `$binary`, started with
/// the extra arguments `$extra` (e.g. `&["--trigger", "edge"]`). The one
/// list of shared scenarios lives here, so a new one reaches every server.
///
/// ```text
/// testkit::static_server_scenario_tests!(BINARY, &["--trigger", "edge"]);
/// ```
#[macro_export]
macro_rules! static_server_scenario_tests {
    ($binary:expr, $extra:expr) => {
        $crate::static_server_scenario_tests!(
            @each $binary, $extra,
            serves_files_with_length_and_type,
            answers_errors_with_the_right_status,
            head_sends_the_headers_without_the_body,
            keeps_a_connection_alive_over_100_requests,
            closes_or_keeps_the_connection_as_the_client_asks,
            answers_pipelined_requests_in_order,
            reads_a_request_sent_byte_by_byte,
            sends_a_large_file_whole_to_a_slow_reader,
            never_serves_a_file_outside_the_root,
            slow_and_silent_clients_do_not_delay_others,
            closes_idle_connections,
            serves_2000_keep_alive_connections,
            reports_a_missing_root,
            help_names_the_chapter_and_the_port,
            keeps_answering_after_its_stdout_is_closed,
            keeps_answering_when_nobody_reads_its_stdout,
            quiet_prints_no_line_per_client,
        );
    };
    (@each $binary:expr, $extra:expr, $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                $crate::static_server::$name($binary, $extra);
            }
        )*
    };
}

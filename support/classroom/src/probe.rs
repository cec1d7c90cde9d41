//! The steps a check takes, none of which panics: start the student's
//! binary and wait for its banner, connect, send, read with a deadline. Each
//! failure is a sentence for a student, returned as `Err(String)`.
//!
//! testkit's helpers panic on failure, which suits a test; a check must
//! instead say what it saw, so only testkit's non-panicking parts are used
//! here ([`Launch`], [`Process`]'s readings of output and `/proc`).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
// testkit's own: the byte search, and its bounded wait that returns None
// instead of panicking (named poll here, beside the checks' other steps).
pub use testkit::{contains, within as poll};
use testkit::{Launch, Process};

/// How long a server may take to print its banner.
pub const BANNER_WAIT: Duration = Duration::from_secs(10);

/// How long one read or connect may block.
pub const IO_WAIT: Duration = Duration::from_secs(5);

/// What a check works with: the binary it checks, and where its steps go.
pub struct Probe {
    /// The built binary of the student's exercise.
    pub binary: PathBuf,
    /// Print each step as it happens (false when grading a class).
    pub verbose: bool,
}

impl Probe {
    /// Prints one step of the check.
    pub fn step(&self, text: impl AsRef<str>) {
        if self.verbose {
            println!("  - {}", text.as_ref());
        }
    }

    /// A launch of the binary on a free port (`PORT=0`).
    pub fn launch(&self) -> Launch {
        Launch::new(&self.binary.to_string_lossy())
    }

    /// Starts a server and waits for its first line, `{prefix}N ...`.
    pub fn start(&self, launch: Launch, prefix: &str) -> Result<Running, String> {
        let process = launch.spawn();
        let deadline = Instant::now() + BANNER_WAIT;
        loop {
            if let Some(first) = process.stdout_lines().into_iter().next() {
                let port = first
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(" ..."))
                    .and_then(|digits| digits.parse::<u16>().ok())
                    .ok_or_else(|| {
                        format!("your program's first line should be '{prefix}N ...' (N the port), but it was {first:?}")
                    })?;
                self.step(format!("started your server: it printed '{first}'"));
                return Ok(Running { process, port });
            }
            if let Some(exit) = process.exited() {
                return Err(format!(
                    "your program {exit} before printing '{prefix}N ...'"
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "your program did not print '{prefix}N ...' within {} s (is it stuck before the banner?)",
                    BANNER_WAIT.as_secs()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts an HTTP server of the lessons: banner `Serving HTTP on port N ...`.
    pub fn start_http(&self, launch: Launch) -> Result<Running, String> {
        self.start(launch, "Serving HTTP on port ")
    }
}

/// A running binary started by a check; dropping it kills its process group.
pub struct Running {
    /// The process (its output, its children).
    pub process: Process,
    /// The port its banner named (0 for a program without a banner).
    pub port: u16,
}

impl Running {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl std::ops::Deref for Running {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

/// Words about a process that has exited, or `None` if it runs.
pub trait Exited {
    /// `exited with code 101 (panicked: not yet implemented: ...)`.
    fn exited(&self) -> Option<String>;
}

impl Exited for Process {
    fn exited(&self) -> Option<String> {
        // try_exit_status needs &mut; /proc tells without reaping: a
        // process that has exited is a zombie (or gone) until waited for.
        match testkit::process_state(self.pid()) {
            Some('Z') | None => {}
            Some(_) => return None,
        }
        let status = nix_wait_status(self.pid());
        let stderr = self.stderr();
        Some(format!("{status}{}", stderr_words(&stderr)))
    }
}

/// The exit status of a zombie child, read without reaping it (waitid with
/// WNOWAIT), so that Process's drop still reaps it.
fn nix_wait_status(pid: i32) -> String {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    match waitid(
        Id::Pid(Pid::from_raw(pid)),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
    ) {
        Ok(WaitStatus::Exited(_, code)) => format!("exited with code {code}"),
        Ok(WaitStatus::Signaled(_, signal, _)) => format!("was killed by {signal}"),
        _ => "exited".to_owned(),
    }
}

/// What stderr says, in a few words: the todo!() reached, the panic
/// message, or the last line.
pub fn stderr_words(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    if let Some(line) = lines
        .iter()
        .find(|line| line.starts_with("not yet implemented"))
    {
        let what = line
            .trim_start_matches("not yet implemented")
            .trim_start_matches(':')
            .trim();
        return if what.is_empty() {
            " (it reached a todo!(): that part is yours to write)".to_owned()
        } else {
            format!(" (it reached todo!(\"{what}\"): that part is yours to write)")
        };
    }
    if let Some(index) = lines.iter().position(|line| line.contains("panicked at")) {
        let message = lines.get(index + 1).copied().unwrap_or_default().trim();
        return format!("; it panicked: {message:?}");
    }
    match lines.iter().rev().find(|line| !line.trim().is_empty()) {
        Some(line) => format!("; its last words on stderr: {:?}", line.trim()),
        None => String::new(),
    }
}

/// A connection to 127.0.0.1:port, reads and writes bounded by [`IO_WAIT`].
pub fn connect(address: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&address, IO_WAIT)
        .map_err(|err| format!("could not connect to port {}: {err}", address.port()))?;
    stream.set_read_timeout(Some(IO_WAIT)).ok();
    stream.set_write_timeout(Some(IO_WAIT)).ok();
    Ok(stream)
}

/// `GET path HTTP/1.1` with a Host header, as curl sends it.
pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: classroom\r\n\r\n").into_bytes()
}

pub fn send(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream
        .write_all(bytes)
        .map_err(|err| format!("sending the request failed: {err}"))
}

/// Reads until the server closes the connection (end-of-file), for at most
/// `within`.
pub fn read_to_eof(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "after receiving {}, the connection stayed open for {} s: the client never saw end-of-file",
                shown(&received),
                within.as_secs()
            ));
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(received),
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(format!(
                    "reading the answer failed after {}: {err}",
                    shown(&received)
                ))
            }
        }
    }
}

/// Reads until `wanted` has arrived, for at most `within`.
pub fn read_until(
    stream: &mut TcpStream,
    wanted: &[u8],
    within: Duration,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while !contains(&received, wanted) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "waited {} s for {} but received only {}",
                within.as_secs_f32(),
                shown(wanted),
                shown(&received)
            ));
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "the server closed the connection after sending {}, before {}",
                    shown(&received),
                    shown(wanted)
                ))
            }
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(err) => return Err(format!("reading the answer failed: {err}")),
        }
    }
    Ok(received)
}

/// Sends `GET path` on a new connection and reads the answer to end-of-file.
pub fn get(address: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = connect(address)?;
    send(&mut stream, &get_request(path))?;
    read_to_eof(&mut stream, IO_WAIT)
}

/// Bytes as a student reads them: quoted, line ends shown, long ones cut.
pub fn shown(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".to_owned();
    }
    let text = String::from_utf8_lossy(bytes);
    let mut quoted = format!("{text:?}");
    if quoted.len() > 120 {
        let mut cut = 110;
        while !quoted.is_char_boundary(cut) {
            cut -= 1;
        }
        quoted.truncate(cut);
        quoted.push_str(&format!("...\" ({} bytes)", bytes.len()));
    }
    quoted
}

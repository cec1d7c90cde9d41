//! The steps a check takes, none of which panics: start the student's
//! binary and wait for its banner, connect, send, read with a deadline. Each
//! failure is a sentence for a student, returned as `Err(String)`.
//!
//! testkit's helpers panic on failure, which suits a test; a check must
//! instead say what it saw, so only testkit's non-panicking parts are used
//! here ([`Launch`], and [`Process`]'s readings of output and `/proc`).
//! Its [`Server`] (a process and the port its banner named) also has
//! panicking helpers (`connect`, `get`): checks use this file's instead.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
// testkit's own: the byte search, and its bounded wait that returns None
// instead of panicking (named poll here, beside the checks' other steps).
pub use testkit::{contains, within as poll, Server};
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

    /// The same probe, printing no step: for a step repeated many times.
    pub fn quiet(&self) -> Probe {
        Probe {
            binary: self.binary.clone(),
            verbose: false,
        }
    }

    /// A launch of the binary on a free port (`PORT=0`).
    pub fn launch(&self) -> Launch {
        Launch::new(&self.binary.to_string_lossy())
    }

    /// Starts a server and waits for its first line, `{prefix}N ...`.
    pub fn start(&self, launch: Launch, prefix: &str) -> Result<Server, String> {
        let process = launch.spawn();
        let first_line = || process.stdout_lines().into_iter().next();
        let first = poll(BANNER_WAIT, || {
            first_line().map(Ok).or_else(|| {
                // The exit is read from /proc at once, the banner from a
                // pipe drained by a thread that may lag behind: a server
                // that printed its banner and then exited must be seen to
                // have printed it, so its output gets a moment to arrive.
                let exit = process.exited()?;
                Some(poll(Duration::from_secs(1), first_line).ok_or(exit))
            })
        });
        let first = match first {
            Some(Ok(first)) => first,
            Some(Err(exit)) => {
                return Err(format!(
                    "your program {exit} before printing '{prefix}N ...'"
                ))
            }
            None => {
                return Err(format!(
                    "your program did not print '{prefix}N ...' within {} s (is it stuck before the banner?)",
                    BANNER_WAIT.as_secs()
                ))
            }
        };
        let port = first
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(" ..."))
            .and_then(|digits| digits.parse::<u16>().ok())
            .ok_or_else(|| {
                format!("your program's first line should be '{prefix}N ...' (N the port), but it was {first:?}")
            })?;
        self.step(format!("started your server: it printed '{first}'"));
        Ok(Server { process, port })
    }

    /// Starts an HTTP server of the lessons: banner `Serving HTTP on port N ...`.
    pub fn start_http(&self, launch: Launch) -> Result<Server, String> {
        self.start(launch, "Serving HTTP on port ")
    }
}

/// Words about a process that has exited, or `None` if it runs.
pub trait Exited {
    /// `exited with code 101 (panicked: not yet implemented: ...)`.
    fn exited(&self) -> Option<String>;
}

impl Exited for Process {
    fn exited(&self) -> Option<String> {
        // Seen without reaping, so that the process's drop still reaps it.
        let status = self.status_now()?;
        let status = match (status.code(), status.signal().map(Signal::try_from)) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(Ok(signal))) => format!("was killed by {signal}"),
            _ => "exited".to_owned(),
        };
        Some(format!("{status}{}", stderr_words(&self.stderr())))
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

/// Writes bytes that are not a request (a client's line): a failure is the
/// error alone.
pub fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).map_err(|err| err.to_string())
}

/// Reads until end-of-file, until `enough` holds for what arrived, or for
/// at most `within`: what arrived, and whether the read ended at
/// end-of-file (`Ok(true)`), stopped (`Ok(false)`) or failed.
pub fn read_for(
    stream: &mut TcpStream,
    within: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> (Vec<u8>, io::Result<bool>) {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if enough(&received) || left.is_zero() {
            return (received, Ok(false));
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut chunk) {
            Ok(0) => return (received, Ok(true)),
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(err) => return (received, Err(err)),
        }
    }
}

/// Reads until the server closes the connection (end-of-file), for at most
/// `within`.
pub fn read_to_eof(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>, String> {
    match read_for(stream, within, |_| false) {
        (received, Ok(true)) => Ok(received),
        (received, Ok(false)) => Err(format!(
            "after receiving {}, the connection stayed open for {} s: the client never saw end-of-file",
            shown(&received),
            within.as_secs()
        )),
        (received, Err(err)) => Err(format!(
            "reading the answer failed after {}: {err}",
            shown(&received)
        )),
    }
}

/// Reads until `wanted` has arrived, for at most `within`.
pub fn read_until(
    stream: &mut TcpStream,
    wanted: &[u8],
    within: Duration,
) -> Result<Vec<u8>, String> {
    match read_for(stream, within, |received| contains(received, wanted)) {
        (received, _) if contains(&received, wanted) => Ok(received),
        (received, Ok(true)) => Err(format!(
            "the server closed the connection after sending {}, before {}",
            shown(&received),
            shown(wanted)
        )),
        (received, Ok(false)) => Err(format!(
            "waited {} s for {} but received only {}",
            within.as_secs_f32(),
            shown(wanted),
            shown(&received)
        )),
        (_, Err(err)) => Err(format!("reading the answer failed: {err}")),
    }
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

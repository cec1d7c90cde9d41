//! What every Part 3 stage shares and that is *not* the lesson.
//!
//! The socket steps (create, `SO_REUSEADDR`, bind, listen, accept), `fork`,
//! the signal handlers and the closing of descriptors are the lessons, so each
//! stage writes them out itself. What lives here is the scenery around them:
//!
//! * the greeting every stage sends ([`HTTP_RESPONSE`]);
//! * the address the stages listen on, `'', 8888` in the Python
//!   ([`HOST`], [`DEFAULT_PORT`], [`server_address`]);
//! * the two environment overrides that tests and classrooms rely on:
//!   `PORT` (with `PORT=0`, the kernel picks a free port) and `SLEEP_SECS`
//!   (shortens a stage's 60 s or 3 s sleep) ([`sleep_duration`]);
//! * a line printer that is safe to call from a signal handler
//!   ([`SignalSafeLine`]);
//! * the percent-decoding of a request path, which the servers that read
//!   paths (hello_name, webserver2, the static servers) do the same way
//!   ([`percent_decode`]).

use std::env;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The Python scripts bind `''`, which means `INADDR_ANY`: every interface.
pub const HOST: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

/// The port of every Part 3 script, `SERVER_ADDRESS = (HOST, PORT) = '', 8888`.
pub const DEFAULT_PORT: u16 = 8888;

/// The response of every Part 3 stage: a status line, a blank line, a body.
///
/// There is no `Content-Length` on purpose. Without it the client can only
/// know the body is over when the server closes the connection and the
/// client reads end-of-file. That is what makes webserver3d's lesson
/// visible: while the parent still holds a copy of the client socket, no FIN
/// is sent, and curl prints the greeting and then hangs.
pub const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n";

/// The address to bind: [`HOST`] and the port, `PORT` from the environment
/// if set, else [`DEFAULT_PORT`]. `PORT=0` asks the kernel for a free port;
/// the stage then prints the port it really got.
pub fn server_address() -> Result<SocketAddrV4> {
    let port = match env::var("PORT") {
        Ok(text) => text
            .trim()
            .parse::<u16>()
            .with_context(|| format!("PORT must be a number from 0 to 65535, not {text:?}"))?,
        Err(env::VarError::NotPresent) => DEFAULT_PORT,
        Err(env::VarError::NotUnicode(text)) => {
            bail!("PORT must be a number from 0 to 65535, not {text:?}")
        }
    };
    Ok(SocketAddrV4::new(HOST, port))
}

/// How long a stage sleeps after answering: `SLEEP_SECS` from the
/// environment if set (whole seconds, fractions allowed, e.g. `0.5`), else
/// the stage's own default. The tests use it to keep the suite fast; a
/// learner can use it to shorten the 60 s waits of webserver3b and 3c.
pub fn sleep_duration(default_seconds: u64) -> Result<Duration> {
    match env::var("SLEEP_SECS") {
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .with_context(|| {
                format!("SLEEP_SECS must be a number of seconds, 0 or more, not {text:?}")
            }),
        Err(env::VarError::NotPresent) => Ok(Duration::from_secs(default_seconds)),
        Err(env::VarError::NotUnicode(text)) => {
            bail!("SLEEP_SECS must be a number of seconds, 0 or more, not {text:?}")
        }
    }
}

/// Decodes each `%XX` escape (two hex digits, RFC 3986 §2.1) into the byte
/// it stands for, once: `%2541` becomes `%41`, not `A`. A `+` stays a `+`
/// (it means a space only in form data). `None` when a `%` is not followed
/// by two hex digits: an error, not a literal, because guessing what a
/// malformed escape meant is how two programs end up disagreeing about a
/// path.
pub fn percent_decode(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let high = hex_digit_value(*after.first()?)?;
            let low = hex_digit_value(*after.get(1)?)?;
            decoded.push(high << 4 | low);
            rest = &after[2..];
        } else {
            decoded.push(byte);
            rest = after;
        }
    }
    Some(decoded)
}

fn hex_digit_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// A line of text built on the stack and written to standard output with a
/// single `write(2)`: the only kind of printing a signal handler may do.
///
/// A signal handler runs in the middle of whatever the process was doing.
/// If that was `println!`, the interrupted code holds the lock on `stdout`
/// and is halfway through changing its buffer. That lock is reentrant, so a
/// `println!` in the handler, on the same thread, gets in, finds the buffer
/// already borrowed, and panics; a panic in a signal handler aborts the
/// process. (In C, `printf` from a handler may deadlock or garble its buffer
/// instead.) If it was `malloc`, the allocator's state is half-updated, and
/// allocating again corrupts it. POSIX lists the functions that are safe in a handler
/// ("async-signal-safe"); `write(2)` is one of them, `printf` is not. So the
/// handlers of webserver3e–3g format into this fixed buffer (`core::fmt`
/// writes into it without allocating) and hand it to `write(2)` in one call.
///
/// ```
/// use std::fmt::Write;
/// let mut line = common::SignalSafeLine::new();
/// write!(line, "Child {} terminated with status {}", 42, 0).unwrap();
/// assert_eq!(line.as_bytes(), b"Child 42 terminated with status 0");
/// ```
pub struct SignalSafeLine {
    buffer: [u8; Self::CAPACITY],
    length: usize,
}

impl SignalSafeLine {
    /// Long enough for any line a handler here prints; longer text is cut.
    pub const CAPACITY: usize = 128;

    pub const fn new() -> Self {
        SignalSafeLine {
            buffer: [0; Self::CAPACITY],
            length: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer[..self.length]
    }

    /// Adds a newline and writes the line to file descriptor 1 with one
    /// `write(2)` call. Errors are ignored: a handler has nobody to report
    /// them to.
    pub fn write_to_stdout(mut self) {
        if self.length == Self::CAPACITY {
            self.length -= 1;
        }
        self.buffer[self.length] = b'\n';
        self.length += 1;
        // SAFETY: descriptor 1, standard output, is open for the whole life
        // of the process and nothing here closes it; we only borrow it for
        // this one call.
        let stdout = unsafe { BorrowedFd::borrow_raw(1) };
        let _ = nix::unistd::write(stdout, &self.buffer[..self.length]);
    }
}

impl Default for SignalSafeLine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for SignalSafeLine {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = Self::CAPACITY - self.length;
        let taken = text.len().min(room);
        self.buffer[self.length..self.length + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.length += taken;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn percent_decode_decodes_once_and_refuses_broken_escapes() {
        assert_eq!(percent_decode(b"%2541").unwrap(), b"%41");
        assert_eq!(percent_decode(b"a+b%20c").unwrap(), b"a+b c");
        assert_eq!(percent_decode(b"%E5%BC%A0").unwrap(), "张".as_bytes());
        assert_eq!(percent_decode(b"%+1"), None);
        assert_eq!(percent_decode(b"%4"), None);
        assert_eq!(percent_decode(b"%"), None);
    }

    #[test]
    fn signal_safe_line_cuts_text_longer_than_its_buffer() {
        let mut line = SignalSafeLine::new();
        for _ in 0..100 {
            write!(line, "0123456789").unwrap();
        }
        assert_eq!(line.as_bytes().len(), SignalSafeLine::CAPACITY);
    }
}

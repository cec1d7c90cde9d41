//! A server's standard output as a pipe the test holds itself, for the
//! scenarios about the log: a reader that goes away (`server | head -1`),
//! and one that never reads (`server | sleep 1000`).
//!
//! [`Launch::spawn`] drains stdout in a background thread, which is what
//! every other test wants and exactly what these two must not have.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::process::ChildStdout;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::process::port_in_banner;
use crate::run::Output;
use crate::{Launch, Server, PATIENCE};

/// The read end of a server's stdout, read only when the test says so.
///
/// While the test does not read, the pipe fills (64 KiB on Linux) and stays
/// full; once the test drops it, the server's writes to stdout find no
/// reader (EPIPE, and `poll` says POLLERR).
pub struct StdoutPipe {
    /// The read end of the pipe; the server holds the only write end.
    pipe: ChildStdout,
    /// Bytes read from the pipe past the last line returned.
    pending: Vec<u8>,
}

impl Launch {
    /// Starts the binary with its stdout a pipe that only the test reads,
    /// and reads from it a banner `{prefix}N ...` (an empty prefix takes
    /// any line that says `on port N`). The server's [`Process::stdout`]
    /// stays empty: its stdout is the pipe's.
    pub fn start_with_stdout_pipe(self, prefix: &str) -> (Server, StdoutPipe) {
        let mut process = self.spawn_with(Output::StdoutHeld);
        let mut pipe = StdoutPipe {
            pipe: process.running.take_stdout().expect("stdout is held"),
            pending: Vec::new(),
        };
        let Some(banner) = pipe.read_line(PATIENCE) else {
            let status = process.try_exit_status();
            panic!(
                "{} printed no banner (exit status {status:?}); stderr: {}",
                process.program(),
                process.stderr()
            );
        };
        let port = port_in_banner(&banner, prefix)
            .unwrap_or_else(|| panic!("first line is not the banner: {banner:?}"));
        (Server { process, port }, pipe)
    }
}

impl StdoutPipe {
    /// The next line (without its newline), waiting at most `timeout`.
    /// `None` on a timeout or at end-of-file.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Some(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.read_some(left) == Some(0) {
                return None;
            }
        }
    }

    /// Every byte the pipe holds now, without waiting for more: what a
    /// reader would find if it came back. Empties the pipe.
    pub fn read_what_is_there(&mut self) -> String {
        while self
            .read_some(Duration::ZERO)
            .is_some_and(|count| count > 0)
        {}
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }

    /// Reads what is there once the pipe is readable, waiting at most
    /// `wait`, into `pending`. `Some(0)` at end-of-file; `None` when nothing
    /// came in time (or a signal interrupted the wait).
    fn read_some(&mut self, wait: Duration) -> Option<usize> {
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut ready = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut ready, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return None,
            Ok(_) => {}
            Err(errno) => panic!("poll on the server's stdout: {errno}"),
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.pipe.read(&mut chunk) {
            Ok(count) => {
                self.pending.extend_from_slice(&chunk[..count]);
                Some(count)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => None,
            Err(err) => panic!("reading the server's stdout: {err}"),
        }
    }
}

//! A server's log (its stdout or its stderr) as a pipe or a terminal the
//! test holds itself, for the scenarios about the log: a reader that goes
//! away (`server | head -1`), one that never reads (`server | sleep 1000`),
//! and a terminal nobody reads (a stopped `less`, a paused ssh session).
//!
//! [`Launch::spawn`] drains stdout and stderr in background threads, which
//! is what every other test wants and exactly what these must not have.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::process::port_in_banner;
use crate::run::Output;
use crate::{Launch, Server, PATIENCE};

/// The reading end of a server's log, read only when the test says so: a
/// pipe, or the master side of the pseudo-terminal the server writes to.
///
/// While the test does not read, the pipe fills (64 KiB on Linux, or what
/// [`LogPipe::shrink`] set) and stays full; once the test drops it, the
/// server's writes find no reader (EPIPE, and `poll` says POLLERR).
pub struct LogPipe {
    /// The read end; the server holds the only write end.
    pipe: File,
    /// Bytes read past the last line returned.
    pending: Vec<u8>,
}

impl Launch {
    /// Starts the binary with its stdout a pipe that only the test reads,
    /// and reads from it a banner `{prefix}N ...` (an empty prefix takes
    /// any line that says `on port N`). The server's [`Process::stdout`]
    /// stays empty: its stdout is the pipe's.
    pub fn start_with_stdout_pipe(self, prefix: &str) -> (Server, LogPipe) {
        let mut process = self.spawn_with(Output::StdoutHeld);
        let pipe = process.take_stdout().expect("stdout is held");
        LogPipe::new(pipe.into()).read_banner(process, prefix)
    }

    /// Starts the binary with its stderr a pipe that only the test reads;
    /// stdout is drained as usual and carries the banner `{prefix}N ...`.
    pub fn start_with_stderr_pipe(self, prefix: &str) -> (Server, LogPipe) {
        let mut process = self.spawn_with(Output::StderrHeld);
        let pipe = process.take_stderr().expect("stderr is held");
        let server = Server::after_banner(process, prefix);
        (server, LogPipe::new(pipe.into()))
    }

    /// Starts the binary with its stdout a pseudo-terminal (openpty(3)),
    /// as when it runs in a terminal window, and reads the banner from the
    /// terminal's other side, which the test then reads only when it says
    /// so. The terminal is not the server's controlling terminal.
    pub fn start_with_stdout_on_terminal(mut self, prefix: &str) -> (Server, LogPipe) {
        let terminal = nix::pty::openpty(None, None).expect("openpty");
        self.command.stdout(Stdio::from(terminal.slave));
        let process = self.spawn_with(Output::StdoutGiven);
        LogPipe::new(terminal.master).read_banner(process, prefix)
    }
}

impl LogPipe {
    fn new(read_end: OwnedFd) -> LogPipe {
        LogPipe {
            pipe: File::from(read_end),
            pending: Vec::new(),
        }
    }

    /// Reads the banner, the server's first line, from this log.
    fn read_banner(mut self, process: crate::Process, prefix: &str) -> (Server, LogPipe) {
        let Some(banner) = self.read_line(PATIENCE) else {
            let status = process.status_now();
            panic!(
                "{} printed no banner (exit status {status:?}); stderr: {}",
                process.program(),
                process.stderr()
            );
        };
        let port = port_in_banner(&banner, prefix)
            .unwrap_or_else(|| panic!("first line is not the banner: {banner:?}"));
        (Server { process, port }, self)
    }

    /// Sets the pipe's capacity to `bytes` (F_SETPIPE_SZ; the kernel rounds
    /// up to a page, 4 KiB at least), so that a few dozen lines fill it.
    pub fn shrink(&self, bytes: i32) {
        nix::fcntl::fcntl(self.pipe.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(bytes))
            .expect("F_SETPIPE_SZ");
    }

    /// A second handle on the same reading end, for a reader thread.
    pub fn try_clone(&self) -> LogPipe {
        LogPipe::new(
            self.pipe
                .try_clone()
                .expect("dup the log's read end")
                .into(),
        )
    }

    /// The next line (without its `\n`, or a terminal's `\r\n`), waiting at
    /// most `timeout`. `None` on a timeout or at end-of-file.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
                return Some(String::from_utf8_lossy(line).into_owned());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.read_some(left, usize::MAX) == Some(0) {
                return None;
            }
        }
    }

    /// Every byte the pipe holds now, without waiting for more: what a
    /// reader would find if it came back. Empties the pipe.
    pub fn read_what_is_there(&mut self) -> String {
        while self
            .read_some(Duration::ZERO, usize::MAX)
            .is_some_and(|count| count > 0)
        {}
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }

    /// Reads at most `limit` bytes, waiting at most `wait` for them, and
    /// forgets them: a slow reader's one read. `Some(0)` at end-of-file.
    pub fn read_and_discard(&mut self, wait: Duration, limit: usize) -> Option<usize> {
        let count = self.read_some(wait, limit);
        self.pending.clear();
        count
    }

    /// Reads at most `limit` bytes of what is there once the pipe is
    /// readable, waiting at most `wait`, into `pending`. `Some(0)` at
    /// end-of-file (or EIO: a terminal whose other side is all closed);
    /// `None` when nothing came in time (or a signal interrupted the wait).
    fn read_some(&mut self, wait: Duration, limit: usize) -> Option<usize> {
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut ready = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut ready, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return None,
            Ok(_) => {}
            Err(errno) => panic!("poll on the server's log: {errno}"),
        }
        let mut chunk = [0u8; 64 * 1024];
        let limit = limit.min(chunk.len());
        match self.pipe.read(&mut chunk[..limit]) {
            Ok(count) => {
                self.pending.extend_from_slice(&chunk[..count]);
                Some(count)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => None,
            Err(err) if err.raw_os_error() == Some(nix::libc::EIO) => Some(0),
            Err(err) => panic!("reading the server's log: {err}"),
        }
    }
}

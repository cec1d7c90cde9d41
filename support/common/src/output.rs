//! Printing that never stops a server: [`println!`](crate::println),
//! [`eprintln!`](crate::eprintln) and [`SignalSafeLine`].
//!
//! A server has two logs, standard output and standard error, and whoever
//! reads either can go away (`server | head -1` closes the pipe after one
//! line) or stop reading (a pipe holds 64 KiB; `server | sleep 1000` fills
//! it; a terminal nobody reads, or that shows 100 bytes a second, fills
//! too). With std's `println!` and `eprintln!`, the first case panics
//! ("failed printing to stdout: Broken pipe") and kills the server, and the
//! second blocks the server inside `write(2)` until somebody reads: it stops
//! answering. Both are wrong for a server, whose job is its clients, not its
//! log.
//!
//! So every lesson prints through this module, under one rule for both
//! logs: each line goes out whole, with one `write(2)`, only when the log
//! can take all of it right now; otherwise it is dropped and counted, and
//! the next line that does get through is preceded by a note of how many
//! were lost. How "right now" is known depends on what the log is, which is
//! looked at once ([`fstat`](nix::sys::stat::fstat)):
//!
//! * a pipe (or anything else): `poll` with a zero timeout. POLLOUT on a
//!   pipe promises room for one write of `PIPE_BUF` bytes, so a line is cut
//!   to that and then always fits;
//! * a terminal: POLLOUT promises only "some room", and a line longer than
//!   that room would leave the write waiting. Setting O_NONBLOCK on
//!   descriptor 1 is not an option: that flag belongs to the open file
//!   description, which the user's shell shares, and would find set. So
//!   each line is written through a description of its own, opened
//!   non-blocking for that line (`open("/proc/self/fd/1", O_WRONLY |
//!   O_NONBLOCK)`) and closed after it: a full terminal answers EAGAIN
//!   (the line is dropped) or takes part of the line; the rest is then lost,
//!   and the next write first ends the cut line with a marker, [`CUT`];
//! * a socket: `send` with MSG_DONTWAIT, non-blocking for that call only
//!   (a part taken is marked the same way);
//! * a regular file: a plain `write`, which does not wait for a reader.
//!
//! A production server does the same in spirit: its log buffers or drops,
//! and never blocks the loop that accepts clients.
//!
//! One gap remains in the forking stages when a log is a pipe: parent and
//! children share it, so a child can fill it between the parent's `poll`
//! and its `write`. The parent then blocks until the reader drains the pipe;
//! the chapters on 3c–3g say so.

use std::ffi::CStr;
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::socket::{send, MsgFlags};
use nix::sys::stat::{fstat, Mode, SFlag};
use nix::sys::wait::WaitStatus;

/// One of the two logs a server writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log {
    /// Descriptor 1: what the lessons print.
    Stdout,
    /// Descriptor 2: the trouble of one client, a failed fork.
    Stderr,
}

/// What a log is counted in: lines dropped since the last line that got
/// out, and whether the last write took only part of its line. Atomics,
/// because the signal handlers of 3e–3g print too, and an atomic is
/// async-signal-safe where a lock is not.
#[derive(Default)]
struct Tally {
    dropped: AtomicU64,
    cut: AtomicBool,
}

/// Both logs' tallies.
#[derive(Default)]
struct Tallies {
    stdout: Tally,
    stderr: Tally,
}

/// The tallies of this process, used until
/// [`share_dropped_count_with_children`] moves them to memory that forked
/// children share.
static TALLIES: Tallies = Tallies {
    stdout: Tally {
        dropped: AtomicU64::new(0),
        cut: AtomicBool::new(false),
    },
    stderr: Tally {
        dropped: AtomicU64::new(0),
        cut: AtomicBool::new(false),
    },
};

/// The tallies in a page shared with every child forked after it was set
/// up: in the forking stages the children print, and each would otherwise
/// count its drops in its own copy of [`TALLIES`], lost when it exits.
static SHARED_TALLIES: OnceLock<&'static Tallies> = OnceLock::new();

/// What each log is, looked at once (see [`look_at_the_logs`]).
static STDOUT_KIND: OnceLock<Kind> = OnceLock::new();
static STDERR_KIND: OnceLock<Kind> = OnceLock::new();

/// What a log's descriptor is, which says how to write to it without
/// waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A terminal: written through a non-blocking description of its own.
    Terminal,
    /// A socket: `send` with MSG_DONTWAIT.
    Socket,
    /// A regular file: a plain `write`.
    File,
    /// A pipe, or anything else: `poll`, then `write`.
    Polled,
}

/// Ends a line of which a terminal or a socket took only a part, before the
/// next line: the rest of the cut line is lost.
pub const CUT: &str = " [line cut: the log had no room for the rest]\n";

impl Log {
    fn fd(self) -> BorrowedFd<'static> {
        // SAFETY: descriptors 1 and 2 are open for the whole life of the
        // process (std's runtime opens /dev/null there before `main` if
        // they were closed) and nothing here closes them; they are only
        // borrowed for each call.
        unsafe { BorrowedFd::borrow_raw(self as i32 + 1) }
    }

    /// The log's own path in /proc, to open a description of its own.
    fn proc_path(self) -> &'static CStr {
        match self {
            Log::Stdout => c"/proc/self/fd/1",
            Log::Stderr => c"/proc/self/fd/2",
        }
    }

    /// Where the log's lines are counted: the shared page when there is
    /// one. A `OnceLock::get` is one atomic load, safe in a signal handler.
    fn tally(self) -> &'static Tally {
        let tallies = SHARED_TALLIES.get().copied().unwrap_or(&TALLIES);
        match self {
            Log::Stdout => &tallies.stdout,
            Log::Stderr => &tallies.stderr,
        }
    }

    fn kind_cell(self) -> &'static OnceLock<Kind> {
        match self {
            Log::Stdout => &STDOUT_KIND,
            Log::Stderr => &STDERR_KIND,
        }
    }

    /// What the log is, as [`look_at_the_logs`] found it; if it has not
    /// run, `Polled`, which is safe for any descriptor but a terminal's
    /// "some room". Async-signal-safe: one atomic load.
    fn kind(self) -> Kind {
        self.kind_cell().get().copied().unwrap_or(Kind::Polled)
    }

    /// What the log says when lines were dropped.
    fn name(self) -> &'static str {
        match self {
            Log::Stdout => "standard output",
            Log::Stderr => "standard error",
        }
    }
}

/// Looks once at what standard output and standard error are (a terminal,
/// a socket, a file, a pipe), which says how to write to each without
/// waiting. Called at start by [`run`](crate::run), and by the first line
/// printed; until then a signal handler's line is written as to a pipe.
pub fn look_at_the_logs() {
    for log in [Log::Stdout, Log::Stderr] {
        log.kind_cell().get_or_init(|| kind_of(log.fd()));
    }
}

fn kind_of(fd: BorrowedFd) -> Kind {
    let Ok(status) = fstat(fd) else {
        return Kind::Polled;
    };
    let format = SFlag::from_bits_truncate(status.st_mode) & SFlag::S_IFMT;
    if format == SFlag::S_IFREG {
        Kind::File
    } else if format == SFlag::S_IFSOCK {
        Kind::Socket
    } else if format == SFlag::S_IFCHR && nix::unistd::isatty(fd).unwrap_or(false) {
        Kind::Terminal
    } else {
        Kind::Polled
    }
}

/// Moves the tallies of dropped lines into an anonymous `MAP_SHARED` page,
/// which `fork` shares instead of copying, so that the note of dropped lines
/// counts what every process of a forking server dropped. Called once, at
/// start, by [`run`](crate::run); without it the count is per process.
pub fn share_dropped_count_with_children() {
    if SHARED_TALLIES.get().is_some() {
        return;
    }
    let length = NonZeroUsize::new(std::mem::size_of::<Tallies>()).expect("not zero");
    // SAFETY: a fresh anonymous mapping, not backed by any file, and never
    // unmapped: the pointer stays valid for the whole life of the process
    // (and of its forked children, which share the page). The kernel fills
    // it with zeros, valid atomics of 0 and false, and mmap aligns it to a
    // page.
    let Ok(page) = (unsafe {
        mmap_anonymous(
            None,
            length,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }) else {
        return; // no shared page: each process counts its own
    };
    // SAFETY: see above; atomics allow shared access from any process.
    let tallies: &'static Tallies = unsafe { page.cast::<Tallies>().as_ref() };
    let _ = SHARED_TALLIES.set(tallies);
}

/// Like std's `println!`, for the lessons: the line is written with one
/// `write(2)`, is dropped (and counted) rather than block when standard
/// output is full, and is dropped rather than panic when it is closed.
///
/// A lesson imports it with `use common::println;`, and from then on reads
/// like the Python's `print(...)`.
#[macro_export]
macro_rules! println {
    () => {
        $crate::output::print_line("")
    };
    ($($argument:tt)*) => {
        $crate::output::print_line(&::std::format!($($argument)*))
    };
}

/// Like std's `eprintln!`, under [`println!`](crate::println)'s rule, for
/// standard error: one `write(2)` of the whole line when standard error can
/// take it now, else the line is dropped and counted; never a block, never
/// a panic (std's panics when the reader of stderr is gone).
///
/// A lesson imports both with `use common::{eprintln, println};`.
#[macro_export]
macro_rules! eprintln {
    () => {
        $crate::output::eprint_line("")
    };
    ($($argument:tt)*) => {
        $crate::output::eprint_line(&::std::format!($($argument)*))
    };
}

/// The most one `write(2)` to a pipe takes whole, with no other writer's
/// bytes in between and, once `poll` has said POLLOUT, without waiting for
/// room: POSIX's `PIPE_BUF`, 4096 bytes on Linux. A longer write takes what
/// fits and then sleeps until the reader makes room for the rest.
pub const PIPE_BUF: usize = 4096;

/// Writes `text` and a newline to standard output if it can take them now;
/// see [`println!`](crate::println). Not for signal handlers: it allocates.
///
/// A line longer than [`PIPE_BUF`] (newline included) is cut to fit, at a
/// character boundary: written whole, it could block.
pub fn print_line(text: &str) {
    write_line(Log::Stdout, text);
}

/// [`print_line`] for standard error; see [`eprintln!`](crate::eprintln).
pub fn eprint_line(text: &str) {
    write_line(Log::Stderr, text);
}

fn write_line(log: Log, text: &str) {
    look_at_the_logs();
    let prefix = LINE_PREFIX.get().map_or("", String::as_str);
    let mut line = String::with_capacity(prefix.len() + text.len() + 1);
    line.push_str(prefix);
    line.push_str(text);
    line.truncate(cut_to_fit_a_pipe_write(&line).len());
    line.push('\n');
    write_or_drop(log, line.as_bytes());
}

/// What every line this process prints starts with, once set: nothing in
/// most servers; `[worker PID] ` in each of prefork_server's workers, so
/// that the lines of processes sharing one log can be told apart.
static LINE_PREFIX: OnceLock<String> = OnceLock::new();

/// Starts every later line of [`println!`](crate::println) and
/// [`eprintln!`](crate::eprintln) in this process with `prefix`; a second
/// call changes nothing. Called in a forked child, it leaves its parent's
/// lines as they were: the child has its own copy of the memory it is set in.
pub fn prefix_every_line(prefix: String) {
    let _ = LINE_PREFIX.set(prefix);
}

/// The longest start of `text` that, with a newline, is at most
/// [`PIPE_BUF`] bytes, ending at a character boundary.
fn cut_to_fit_a_pipe_write(text: &str) -> &str {
    let mut end = text.len().min(PIPE_BUF - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A log opened for one line: how to write to it without waiting.
enum Target {
    /// The log's descriptor, written as its [`Kind`] says.
    Shared(BorrowedFd<'static>, Kind),
    /// A non-blocking description of the terminal, of this line's own;
    /// closed when dropped.
    Own(OwnedFd),
    /// A terminal this line cannot be written to without a risk of waiting:
    /// no descriptor was left to open a description of its own.
    Unwritable,
}

impl Target {
    fn open(log: Log) -> Target {
        let kind = log.kind();
        if kind == Kind::Terminal {
            // O_NOCTTY: never become the process's controlling terminal.
            let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
            return match open(log.proc_path(), flags, Mode::empty()) {
                Ok(own) => Target::Own(own),
                // Out of descriptors (the static servers meet it under
                // load): a terminal's POLLOUT promises less room than a
                // line may need, so the line is dropped, not risked.
                Err(Errno::EMFILE | Errno::ENFILE) => Target::Unwritable,
                // No /proc, or no permission: as a pipe, or the log would
                // stay empty for good.
                Err(_) => Target::Shared(log.fd(), Kind::Polled),
            };
        }
        Target::Shared(log.fd(), kind)
    }

    /// One write of `bytes` that does not wait: how many were taken, or
    /// EAGAIN when none could be now (or another error).
    fn write_now(&self, bytes: &[u8]) -> Result<usize, Errno> {
        match self {
            Target::Unwritable => Err(Errno::EAGAIN),
            Target::Own(own) => nix::unistd::write(own, bytes),
            Target::Shared(fd, Kind::Socket) => send(
                fd.as_raw_fd(),
                bytes,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
            ),
            Target::Shared(fd, Kind::File) => nix::unistd::write(fd, bytes),
            Target::Shared(fd, _) => {
                if can_take_a_write_now(*fd) {
                    nix::unistd::write(fd, bytes)
                } else {
                    Err(Errno::EAGAIN)
                }
            }
        }
    }

    /// Writes `bytes` whole, or tells why not: `Cut` when only a part went
    /// out (the line is then unfinished on the log).
    fn write_whole(&self, bytes: &[u8]) -> Written {
        match self.write_now(bytes) {
            Ok(count) if count == bytes.len() => Written::Whole,
            Ok(0) | Err(_) => Written::Not,
            Ok(_) => Written::Cut,
        }
    }
}

/// What became of one write.
#[derive(PartialEq, Eq)]
enum Written {
    Whole,
    Cut,
    Not,
}

/// Writes `bytes` (at most [`PIPE_BUF`]) to `log` whole if it can take
/// them now, else counts a dropped line. Async-signal-safe: `open`, `poll`,
/// `write`, `send` and `close` are, and nothing here allocates or locks.
fn write_or_drop(log: Log, bytes: &[u8]) {
    let tally = log.tally();
    let target = Target::open(log);
    // A line cut short on the log is ended first, so that this one starts
    // on a line of its own.
    if tally.cut.load(Ordering::Relaxed) {
        if target.write_whole(CUT.as_bytes()) != Written::Whole {
            tally.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tally.cut.store(false, Ordering::Relaxed);
    }
    let lost = tally.dropped.swap(0, Ordering::Relaxed);
    if lost > 0 {
        let mut note = SignalSafeLine::new();
        let _ = writeln!(
            note,
            "({lost} lines of log dropped: nobody was reading {})",
            log.name()
        );
        match target.write_whole(note.as_bytes()) {
            Written::Whole => {}
            Written::Cut => {
                // The note is cut: the count it carried is not told yet.
                tally.cut.store(true, Ordering::Relaxed);
                tally.dropped.fetch_add(lost + 1, Ordering::Relaxed);
                return;
            }
            Written::Not => {
                tally.dropped.fetch_add(lost + 1, Ordering::Relaxed);
                return;
            }
        }
    }
    // A failed write (EAGAIN: no room now; EPIPE: the reader is gone) loses
    // this line; Rust ignores SIGPIPE, so the process lives on.
    match target.write_whole(bytes) {
        Written::Whole => {}
        Written::Cut => tally.cut.store(true, Ordering::Relaxed),
        Written::Not => {
            tally.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether `poll` says a write of up to [`PIPE_BUF`] bytes to `fd` will not
/// block: POLLOUT, and nothing else (POLLERR: the reader of a pipe is gone;
/// POLLNVAL: not open).
fn can_take_a_write_now(fd: BorrowedFd) -> bool {
    let mut ready = [PollFd::new(fd, PollFlags::POLLOUT)];
    matches!(poll(&mut ready, PollTimeout::ZERO), Ok(1))
        && ready[0]
            .revents()
            .is_some_and(|events| events == PollFlags::POLLOUT)
}

/// Prints `Child PID terminated with status N` (or `terminated by SIGNAL`)
/// for what `wait` or `waitpid` returned, from a signal handler: formatted
/// on the stack, written with one `write(2)`. The Python's
/// `print('Child {pid} terminated with status {status}')`, for webserver3e–3g.
pub fn print_child_status(status: WaitStatus) {
    let mut line = SignalSafeLine::new();
    let _ = match status {
        WaitStatus::Exited(pid, code) => write!(line, "Child {pid} terminated with status {code}"),
        WaitStatus::Signaled(pid, signal, _) => {
            write!(line, "Child {pid} terminated by {}", signal.as_str())
        }
        _ => return,
    };
    line.write_to_stdout();
}

/// A line of text built on the stack and written to standard output with a
/// single `write(2)`: the only kind of printing a signal handler may do.
///
/// A signal handler runs in the middle of whatever the process was doing.
/// If that was `println!`, the interrupted code may be halfway through
/// formatting into a heap buffer; if it was `malloc`, the allocator's state
/// is half-updated, and allocating again corrupts it. (std's `println!` is
/// worse still: its stdout lock is reentrant, so a `println!` in the handler
/// gets in, finds the buffer already borrowed, and panics; a panic in a
/// signal handler aborts the process.) POSIX lists the functions that are
/// safe in a handler ("async-signal-safe"); `write(2)` and `poll(2)` are,
/// `printf` is not. So the handlers of webserver3e–3g format into this
/// fixed buffer (`core::fmt` writes into it without allocating) and hand it
/// to `write(2)` in one call, under the same never-block rule as
/// [`println!`](crate::println).
///
/// ```
/// use std::fmt::Write;
/// let mut line = common::SignalSafeLine::new();
/// write!(line, "Child {} terminated with status {}", 42, 0).unwrap();
/// assert_eq!(line.as_bytes(), b"Child 42 terminated with status 0");
/// ```
pub struct SignalSafeLine {
    /// The text so far, on the stack: no allocation in a handler.
    buffer: [u8; Self::CAPACITY],
    /// How many bytes of `buffer` hold text.
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

    /// Adds a newline and writes the line to standard output with one
    /// `write(2)`, or drops it when standard output cannot take it now.
    /// Errors are ignored: a handler has nobody to report them to.
    pub fn write_to_stdout(mut self) {
        if self.length == Self::CAPACITY {
            self.length -= 1;
        }
        self.buffer[self.length] = b'\n';
        self.length += 1;
        write_or_drop(Log::Stdout, &self.buffer[..self.length]);
    }
}

impl Default for SignalSafeLine {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Write for SignalSafeLine {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
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
    use nix::sys::wait::waitpid;
    use nix::unistd::{fork, ForkResult};

    #[test]
    fn a_forked_child_counts_its_dropped_lines_where_the_parent_sees_them() {
        share_dropped_count_with_children();
        let dropped = || &Log::Stdout.tally().dropped;
        let before = dropped().load(Ordering::SeqCst);
        // SAFETY: the child makes only async-signal-safe calls (an atomic
        // add and _exit), as a child of a multi-threaded process must.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                dropped().fetch_add(5, Ordering::SeqCst);
                // SAFETY: _exit ends the process at once, running nothing else.
                unsafe { nix::libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                waitpid(child, None).expect("waitpid");
                assert_eq!(dropped().load(Ordering::SeqCst), before + 5);
                dropped().fetch_sub(5, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn a_line_is_cut_to_fit_one_pipe_write() {
        assert_eq!(cut_to_fit_a_pipe_write("short"), "short");
        let long = "张".repeat(PIPE_BUF);
        let cut = cut_to_fit_a_pipe_write(&long);
        assert!(cut.len() < PIPE_BUF && cut.len() + "张".len() >= PIPE_BUF);
        assert!(long.starts_with(cut));
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

//! Printing that never stops a server: [`println!`](crate::println) and
//! [`SignalSafeLine`].
//!
//! A server's log is standard output, and whoever reads it can go away
//! (`server | head -1` closes the pipe after one line) or stop reading (a
//! pipe holds 64 KiB; `server | sleep 1000` fills it). With std's
//! `println!`, the first case panics ("failed printing to stdout: Broken
//! pipe") and kills the server, and the second blocks the server inside
//! `write(2)` until somebody reads: it stops answering. Both are wrong for a
//! server, whose job is its clients, not its log.
//!
//! So every lesson prints through this module. Each line goes out with one
//! `write(2)`, and only when standard output can take it at once (`poll`
//! with a zero timeout says so); otherwise the line is dropped and counted,
//! and the next line that does get through is preceded by a note of how
//! many were lost. (POLLOUT on a pipe promises room for one write of
//! `PIPE_BUF` bytes, no more, so a longer line is cut to that.) A production server does the same in spirit: its log
//! buffers or drops, and never blocks the loop that accepts clients.
//!
//! One gap remains in the forking stages: parent and children share the
//! pipe, so a child can fill it between the parent's `poll` and its
//! `write`. The parent then blocks until the reader drains the pipe; the
//! chapters on 3c–3g say so.

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::wait::WaitStatus;

/// Lines dropped since the last line that got out. An atomic, because the
/// signal handlers of 3e–3g print too, and an atomic is async-signal-safe
/// where a lock is not. Used until [`share_dropped_count_with_children`]
/// moves the count to memory that forked children share.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The count in a page shared with every child forked after it was set up:
/// in the forking stages the children print, and each would otherwise count
/// its drops in its own copy of [`DROPPED`], lost when it exits.
static SHARED_DROPPED: OnceLock<&'static AtomicU64> = OnceLock::new();

/// Where lines dropped are counted: the shared page when there is one. A
/// `OnceLock::get` is one atomic load, safe in a signal handler.
fn dropped() -> &'static AtomicU64 {
    SHARED_DROPPED.get().copied().unwrap_or(&DROPPED)
}

/// Moves the count of dropped lines into an anonymous `MAP_SHARED` page,
/// which `fork` shares instead of copying, so that the note of dropped lines
/// counts what every process of a forking server dropped. Called once, at
/// start, by [`run`](crate::run); without it the count is per process.
pub fn share_dropped_count_with_children() {
    if SHARED_DROPPED.get().is_some() {
        return;
    }
    let length = NonZeroUsize::new(std::mem::size_of::<AtomicU64>()).expect("not zero");
    // SAFETY: a fresh anonymous mapping, not backed by any file, and never
    // unmapped: the pointer stays valid for the whole life of the process
    // (and of its forked children, which share the page). The kernel fills
    // it with zeros, a valid AtomicU64 of 0, and mmap aligns it to a page.
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
    // SAFETY: see above; AtomicU64 allows shared access from any process.
    let counter: &'static AtomicU64 = unsafe { page.cast::<AtomicU64>().as_ref() };
    let _ = SHARED_DROPPED.set(counter);
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
    let text = cut_to_fit_a_pipe_write(text);
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    write_or_drop(line.as_bytes());
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

/// One `write(2)` of `bytes` (at most [`PIPE_BUF`]) to standard output if
/// `poll` says it will not block, else a dropped line. Async-signal-safe:
/// `poll` and `write` are, and nothing here allocates or locks.
fn write_or_drop(bytes: &[u8]) {
    // SAFETY: descriptor 1, standard output, is open for the whole life of
    // the process (std's runtime opens /dev/null there before `main` if it
    // was closed) and nothing here closes it; it is only borrowed for these
    // calls.
    let stdout = unsafe { BorrowedFd::borrow_raw(1) };
    if !can_take_a_write_now(stdout) {
        dropped().fetch_add(1, Ordering::Relaxed);
        return;
    }
    let lost = dropped().swap(0, Ordering::Relaxed);
    if lost > 0 {
        let mut note = SignalSafeLine::new();
        let _ = writeln!(
            note,
            "({lost} lines of log dropped: nobody was reading standard output)"
        );
        let _ = nix::unistd::write(stdout, note.as_bytes());
        // The note may have taken the last of the room POLLOUT promised.
        if !can_take_a_write_now(stdout) {
            dropped().fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // A short or failed write (EPIPE: the reader is gone) loses this line;
    // Rust ignores SIGPIPE, so the process lives on.
    if nix::unistd::write(stdout, bytes).is_err() {
        dropped().fetch_add(1, Ordering::Relaxed);
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
        write_or_drop(&self.buffer[..self.length]);
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

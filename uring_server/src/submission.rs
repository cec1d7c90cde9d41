//! Putting entries in the submission queue, and the one io_uring_enter of a turn.

use std::collections::VecDeque;

use anyhow::{Context, Result};
use io_uring::squeue;
use nix::errno::Errno;

use crate::WebServer;

/// Entries that found the submission queue full, in order, each group (a read and its
/// linked send) kept whole. Rare: the queue has 4096 entries, and a turn fills it only
/// when thousands of completions arrive at once.
pub(crate) type Backlog = VecDeque<Vec<squeue::Entry>>;

impl WebServer {
    /// Puts `entries` in the submission queue, together: a linked group is never split
    /// across two submissions, which would break its link. When the queue is full, what is
    /// in it is submitted first (io_uring_enter without waiting); if that cannot make room,
    /// the entries wait in the backlog for the next turn.
    ///
    /// # Safety
    ///
    /// Every buffer and timespec the entries point to must stay valid, and unchanged by
    /// anything but the kernel, until the kernel is done with it (for a buffer, until the
    /// operation's CQE).
    pub(crate) unsafe fn push(&mut self, entries: &[squeue::Entry]) {
        if self.backlog.is_empty() {
            // SAFETY: as the caller promises.
            if unsafe { self.ring.submission().push_multiple(entries) }.is_ok() {
                return;
            }
            let _ = self.ring.submit();
            // SAFETY: as the caller promises.
            if unsafe { self.ring.submission().push_multiple(entries) }.is_ok() {
                return;
            }
        }
        self.backlog.push_back(entries.to_vec());
    }

    // ANCHOR: submit_and_wait
    /// The turn's system call: io_uring_enter submits every SQE prepared since the last one
    /// (those that complete at once, a send to a socket with room, post their CQE before
    /// it returns) and sleeps until the completion queue holds at least one CQE.
    pub(crate) fn submit_and_wait(&mut self) -> Result<()> {
        while let Some(group) = self.backlog.front() {
            // SAFETY: pushed here by `push`, whose callers promised what it asks.
            if unsafe { self.ring.submission().push_multiple(group) }.is_ok() {
                self.backlog.pop_front();
            } else if self.ring.submit().is_err() {
                break; // let the wait below reap what blocks the queue
            }
        }
        match self.ring.submit_and_wait(1) {
            Ok(_) => Ok(()),
            // A signal (SIGSTOP and SIGCONT, a debugger), or completions the kernel could not
            // post yet: reap what is there, and enter again.
            Err(error)
                if matches!(
                    error.raw_os_error().map(Errno::from_raw),
                    Some(Errno::EINTR | Errno::EBUSY | Errno::EAGAIN)
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(error).context("io_uring_enter"),
        }
    }
    // ANCHOR_END: submit_and_wait
}

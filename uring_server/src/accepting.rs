//! The multishot accept's completions, and what to do when it ends: at once after a
//! transient error, after a ring timeout when descriptors have run out.
//!
//! A multishot accept ends with its first error (a CQE without MORE). EMFILE, "too many
//! open files", is the one that matters: the kernel looks for a free descriptor before it
//! looks at the listen queue, so an accept armed again at once would fail again at once,
//! and the server would spin, as a level-triggered epoll_server would without static_http's
//! spare descriptor. So: turn away the clients waiting, with the spare descriptor
//! (static_http's `descriptors`), and arm the accept again only after a ring timeout,
//! [`RETRY_ACCEPT_AFTER`]; a few wakeups a second while the server is full, none in a loop.

use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::time::Duration;

use common::println;
use nix::errno::Errno;
use static_http::{is_out_of_descriptors, turn_away_one_client};

use crate::{errno_of, is_errno, Operation, WebServer};

/// How long the server waits before it accepts again once descriptors have run out: a
/// client knocking meanwhile waits at most this long to be turned away.
pub(crate) const RETRY_ACCEPT_AFTER: Duration = Duration::from_millis(100);

impl WebServer {
    // ANCHOR: accepted
    /// A CQE of the multishot accept: a new connection's descriptor, or -errno; without
    /// MORE, the accept has ended.
    pub(crate) fn accepted(&mut self, result: i32, more: bool) {
        if result >= 0 {
            // SAFETY: a descriptor the kernel has just created for this process; nothing
            // else owns it, and the stream closes it when dropped.
            let stream = unsafe { TcpStream::from_raw_fd(result) };
            self.add_client(stream);
        }
        if more {
            return;
        }
        self.accepting = false;
        let error = errno_of(result);
        if result >= 0 || is_errno(result, Errno::ECONNABORTED) || is_errno(result, Errno::EINTR) {
            // Ended by the kernel (a full completion queue), or by a client that reset
            // while it waited: nothing wrong with the server, accept again.
            self.accept_multishot();
        } else if is_out_of_descriptors(&error) {
            while turn_away_one_client(&self.server_socket, &mut self.spare) {}
            self.accept_later();
        } else {
            println!("accept: {error}");
            self.accept_later();
        }
    }
    // ANCHOR_END: accepted

    /// Arms the ring timeout after which accepting starts again.
    fn accept_later(&mut self) {
        if self.accept_timer.armed {
            return;
        }
        let timeout = self.accept_timer.entry(Operation::RetryAccept);
        // SAFETY: the timeout points to the timer's timespec, boxed in the server, which
        // outlives every submission (the kernel copies it when the SQE is submitted).
        unsafe { self.push(&[timeout]) };
        self.accept_timer.armed = true;
    }

    /// The retry timer's CQE: accept again.
    pub(crate) fn accept_again(&mut self) {
        self.accept_timer.armed = false;
        if !self.accepting {
            self.accept_multishot();
        }
    }
}

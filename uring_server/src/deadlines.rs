//! Deadlines, on a ring timeout: closing the connections that have waited too long (idle,
//! a request head too slow, a graceful close that lingers).
//!
//! epoll_server gave epoll_wait a timeout. Here the timer is an operation like the others:
//! IORING_OP_TIMEOUT completes (with -ETIME) once its time has passed, which wakes the
//! io_uring_enter that waits. It is armed while there are connections, one check interval
//! ahead (a quarter of the shorter timeout, at most a second, static_http's `deadline`), and
//! each completion closes whichever connections are due, then arms it again. With no
//! connection, nothing is armed and the server sleeps until a client comes: no CPU at all.
//! A production server keeps its deadlines sorted (a timer wheel) and looks only at those
//! due; a scan of every connection once a second is cheap even for 10,000.

use std::time::{Duration, Instant};

use io_uring::{opcode, squeue, types};

use crate::{Operation, WebServer};

/// A timeout submitted to the ring: its duration, and whether it is armed.
pub(crate) struct RingTimer {
    /// How long it waits, boxed: the SQE points to it.
    timespec: Box<types::Timespec>,
    /// Whether it is in the kernel now; never twice.
    pub(crate) armed: bool,
}

impl RingTimer {
    pub(crate) fn new(after: Duration) -> RingTimer {
        let timespec = types::Timespec::new()
            .sec(after.as_secs())
            .nsec(after.subsec_nanos());
        RingTimer {
            timespec: Box::new(timespec),
            armed: false,
        }
    }

    /// The SQE of this timeout, to complete as `operation`.
    pub(crate) fn entry(&self, operation: Operation) -> squeue::Entry {
        opcode::Timeout::new(&*self.timespec)
            .build()
            .user_data(operation.user_data())
    }
}

impl WebServer {
    // ANCHOR: check_deadlines_later
    /// Arms the deadline timer, if there are connections and it is not armed.
    pub(crate) fn check_deadlines_later(&mut self) {
        if self.deadline_timer.armed || self.clients.is_empty() {
            return;
        }
        let timeout = self.deadline_timer.entry(Operation::CheckDeadlines);
        // SAFETY: the timeout points to the timer's timespec, boxed in the server, which
        // outlives every submission (the kernel copies it when the SQE is submitted).
        unsafe { self.push(&[timeout]) };
        self.deadline_timer.armed = true;
    }
    // ANCHOR_END: check_deadlines_later

    /// The deadline timer's CQE: closes the connections whose deadline has passed, and arms
    /// the timer again if connections remain.
    pub(crate) fn close_expired_clients(&mut self) {
        self.deadline_timer.armed = false;
        let now = Instant::now();
        let expired: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, client)| {
                !client.closing && client.connection.expired(now, &self.timeouts).is_some()
            })
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            if let Some(client) = self.clients.remove(&id) {
                if let Some(expiry) = client.connection.expired(now, &self.timeouts) {
                    self.log.expired(client.address, expiry);
                }
                self.close_client(id, client);
            }
        }
        self.check_deadlines_later();
    }
}

//! The second step, deadlines: closing the connections that have waited
//! too long (idle, a request head too slow, a graceful close that lingers).
//!
//! nonblock_server looked at every client's deadline on every turn of its
//! busy loop. epoll_server sleeps in `epoll_wait`, and a connection that
//! says nothing makes no event: so the sleep has a timeout, the time until
//! the next look, and each look closes whichever connections are due
//! (static_http's `deadline` says which deadline applies when).

use std::os::fd::RawFd;
use std::time::Instant;

use nix::sys::epoll::EpollTimeout;

use crate::WebServer;

impl WebServer {
    // ANCHOR: time_to_sleep
    /// How long epoll_wait may sleep: not at all while the ready list has
    /// work (fairness.rs); forever with no client; else until the next look
    /// for expired connections.
    pub(crate) fn time_to_sleep(&self) -> EpollTimeout {
        if !self.ready_list.is_empty() {
            return EpollTimeout::ZERO;
        }
        if self.fd_socket.is_empty() {
            return EpollTimeout::NONE;
        }
        let remaining = self
            .next_deadline_check
            .saturating_duration_since(Instant::now());
        // Rounded up: a timeout rounded down to 0 ms would return at once,
        // again and again, until the deadline: a short spin.
        let milliseconds = remaining.as_micros().div_ceil(1000);
        EpollTimeout::from(u16::try_from(milliseconds).unwrap_or(u16::MAX))
    }
    // ANCHOR_END: time_to_sleep

    /// Closes the connections whose deadline has passed, at most once per
    /// check interval. A scan of every client: cheap once a second even for
    /// 10,000 of them. A production server keeps its deadlines sorted (a
    /// timer wheel or heap) and looks only at the ones due.
    pub(crate) fn close_expired_clients(&mut self) {
        let now = Instant::now();
        if now < self.next_deadline_check {
            return;
        }
        self.next_deadline_check = now + self.timeouts.check_interval();
        let expired: Vec<RawFd> = self
            .fd_socket
            .iter()
            .filter(|(_, client)| client.connection.expired(now, &self.timeouts).is_some())
            .map(|(&fd, _)| fd)
            .collect();
        for fd in expired {
            if let Some(client) = self.fd_socket.remove(&fd) {
                if let Some(expiry) = client.connection.expired(now, &self.timeouts) {
                    self.log.expired(client.address, expiry);
                }
                self.close_client(client);
            }
        }
    }
}

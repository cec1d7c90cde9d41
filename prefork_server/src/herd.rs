//! The measure of the thundering herd: how often a worker was woken, and
//! what for.
//!
//! With a listening socket of its own (SO_REUSEPORT), a worker is woken
//! only for the connections the kernel put in its own queue. With one
//! socket shared by every worker (`--shared-listener`), each worker's epoll
//! instance waits on that socket, and a new connection wakes every worker
//! asleep; one accepts it, and the others were woken for nothing. Most of
//! them never see it: before `epoll_wait` returns, epoll asks the socket
//! again whether it is ready, finds the queue already empty, and puts the
//! worker back to sleep. So the herd is counted twice: the wakeups that
//! reached the loop and found nobody to accept (EAGAIN at once), and every
//! time the worker slept and was woken, as the kernel counts it (its
//! voluntary context switches, from getrusage). Printed when it stops.

use std::fmt;

use nix::sys::resource::{getrusage, UsageWho};

use crate::WebServer;

// ANCHOR: wakeups
/// One worker's wakeups for its listening socket.
#[derive(Debug, Default)]
pub(crate) struct Wakeups {
    /// The connections accepted and kept (those turned away when the
    /// descriptors run out are not counted).
    accepted: u64,
    /// How many times epoll reported the listening socket.
    reported: u64,
    /// How many of those found nobody to accept: accept said EAGAIN at once.
    for_nothing: u64,
}

impl WebServer {
    /// `accept_new_clients`, counted.
    pub(crate) fn accept_and_count(&mut self) {
        let before = self.fd_socket.len();
        self.accept_new_clients();
        let accepted = (self.fd_socket.len() - before) as u64;
        self.herd.accepted += accepted;
        self.herd.reported += 1;
        if accepted == 0 {
            self.herd.for_nothing += 1;
        }
    }
}
// ANCHOR_END: wakeups

impl fmt::Display for Wakeups {
    /// `accepted 18 connections; the listening socket reported 18 times, 0
    /// for nothing; woken 137 times in all`.
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // Each voluntary context switch is a sleep (in epoll_wait, nearly
        // always) that something ended: a wakeup.
        let woken = getrusage(UsageWho::RUSAGE_SELF)
            .map(|usage| usage.voluntary_context_switches())
            .unwrap_or(-1);
        write!(
            formatter,
            "accepted {} connections; the listening socket reported {} times, {} for nothing; \
             woken {woken} times in all",
            self.accepted, self.reported, self.for_nothing
        )
    }
}

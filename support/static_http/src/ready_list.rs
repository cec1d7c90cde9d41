//! The ready list of an edge-triggered server: the connections that still
//! have work, remembered by the server because epoll will not say so again.
//!
//! Edge-triggered, epoll reports a socket when it *becomes* ready. "Read
//! and write until EAGAIN" keeps that rule, but for a client that sends
//! and reads as fast as the server serves it, EAGAIN never comes, and every
//! other client waits. So each connection gets a budget per turn; one that
//! spends it with work left is put on the [`ReadyList`], and the server
//! serves that list again before it sleeps in `epoll_wait` (with a timeout
//! of 0 while the list is not empty). Nothing is left unread without being
//! remembered, and everyone gets a turn.

use std::collections::{HashSet, VecDeque};
use std::os::fd::RawFd;

/// Connections, by descriptor, to serve again before the next sleep: in
/// the order they were put there, each at most once.
#[derive(Debug, Default)]
pub struct ReadyList {
    queue: VecDeque<RawFd>,
    listed: HashSet<RawFd>,
}

impl ReadyList {
    pub fn new() -> ReadyList {
        ReadyList::default()
    }

    /// Puts `fd` at the end, unless it is on the list already.
    pub fn push(&mut self, fd: RawFd) {
        if self.listed.insert(fd) {
            self.queue.push_back(fd);
        }
    }

    /// Takes this round's connections off the list: those put back while
    /// they are served wait for the next round, after the next `epoll_wait`
    /// has had its say.
    pub fn take_round(&mut self) -> VecDeque<RawFd> {
        self.listed.clear();
        std::mem::take(&mut self.queue)
    }

    /// Forgets `fd`, whose connection is closed: its number may soon be a
    /// new connection's.
    pub fn remove(&mut self, fd: RawFd) {
        if self.listed.remove(&fd) {
            self.queue.retain(|&listed| listed != fd);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_lists_each_once_and_forgets_the_closed() {
        let mut list = ReadyList::new();
        for fd in [5, 7, 5, 9, 7] {
            list.push(fd);
        }
        list.remove(9);
        let round = list.take_round();
        assert_eq!(round, [5, 7]);
        assert!(list.is_empty());
        list.push(5);
        assert_eq!(list.take_round(), [5]);
    }
}

//! `--trigger`: how epoll reports a ready socket, and the flag that says it.
//! What each mode asks of the server is in main.rs, where it differs.

use clap::ValueEnum;
use nix::sys::epoll::EpollFlags;

/// `--trigger`: how epoll reports a ready socket, once when it becomes ready
/// (edge, EPOLLET) or for as long as it stays ready (level, epoll's own
/// default; this server's is edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Trigger {
    Edge,
    Level,
}

impl Trigger {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Trigger::Edge => "edge (EPOLLIN|EPOLLET: read and write until EAGAIN)",
            Trigger::Level => "level (EPOLLIN: one read or write per event)",
        }
    }
}

/// EPOLLET for edge-triggered, nothing for level-triggered (epoll's default).
pub(crate) fn trigger_flag(trigger: Trigger) -> EpollFlags {
    match trigger {
        Trigger::Edge => EpollFlags::EPOLLET,
        Trigger::Level => EpollFlags::empty(),
    }
}

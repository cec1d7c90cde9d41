//! When a connection has waited long enough: the three deadlines a
//! [`Connection`](crate::Connection) can be under, and why it was closed.
//!
//! * The **idle timeout** (`--idle-timeout`) always applies: nothing sent
//!   or received for that long and the connection is closed. It is the time
//!   a kept-alive connection may wait between two requests.
//! * The **head's deadline** (`--header-timeout`) applies while the server
//!   waits for a request head: from the moment the connection is accepted
//!   for the first request, from the first byte of the next one after that.
//!   Bytes arriving do not move it, so a client trickling one byte a second
//!   cannot hold a descriptor forever (nginx's `client_header_timeout`).
//! * The **lingering time** ([`LINGERING_TIME`]) applies once the server
//!   has shut down its writing side to close gracefully (see
//!   [`Connection::close_gracefully`](crate::Connection::close_gracefully)).

use std::fmt;
use std::time::Duration;

/// How long a connection closing gracefully may wait for the client's end
/// of file, discarding what it still sends, before the socket is closed
/// anyway (nginx's `lingering_time` is 30 s; a teaching server keeps
/// descriptors shorter).
pub const LINGERING_TIME: Duration = Duration::from_secs(2);

/// The two timeouts of the command line.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `--header-timeout`: the longest a request head may take to arrive.
    pub header: Duration,
    /// `--idle-timeout`: the longest a connection may be silent.
    pub idle: Duration,
}

impl Timeouts {
    /// How often a server that does not keep its deadlines sorted should
    /// look for expired connections: a quarter of the shorter timeout, and
    /// at least once a second. A timeout is then enforced at most a quarter
    /// late, and a lingering close lasts between [`LINGERING_TIME`] and a
    /// second more.
    pub fn check_interval(&self) -> Duration {
        (self.header.min(self.idle) / 4).min(Duration::from_secs(1))
    }
}

/// Why a connection's time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expiry {
    /// Silent for the idle timeout.
    Idle,
    /// Its request head did not complete within the head's deadline.
    HeadTooSlow,
    /// It was closing gracefully, and the client did not close its side
    /// within [`LINGERING_TIME`].
    LingerOver,
}

impl fmt::Display for Expiry {
    /// What the log says after the client's address.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Expiry::Idle => "idle, closing",
            Expiry::HeadTooSlow => "request head too slow, closing",
            Expiry::LingerOver => "closed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_a_quarter_of_the_shortest_deadline_and_at_least_each_second() {
        let timeouts = |header, idle| Timeouts {
            header: Duration::from_secs(header),
            idle: Duration::from_secs(idle),
        };
        assert_eq!(timeouts(60, 60).check_interval(), Duration::from_secs(1));
        assert_eq!(timeouts(1, 60).check_interval(), Duration::from_millis(250));
    }
}

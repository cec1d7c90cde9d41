//! Helpers for the forking servers of Part 3 (webserver3c to 3g): which
//! children they say they forked, and making those children exit at the
//! moment a test chooses.

use std::net::TcpStream;

use nix::sys::signal::Signal;

use crate::http::{read_to_eof, send_request};
use crate::{eventually, Process, Server, PATIENCE};

/// Makes `count` children of a forking server exit while the server is
/// stopped, so that their SIGCHLDs arrive while one is already pending, then
/// lets the server run again. Returns once it has been continued.
///
/// The kernel keeps one pending bit per standard signal, not a count: all
/// `count` exits are delivered to the server as a single SIGCHLD. This is
/// the "burst of children exiting at once" of the article, made exact.
///
/// Steps: open `count` connections without sending anything, so each child
/// blocks in recv; wait until the server has `count` children; SIGSTOP it;
/// send every request and read every answer to end-of-file, so each child
/// exits; wait until all `count` are zombies; SIGCONT.
pub fn exit_children_while_server_is_stopped(server: &Server, count: usize) {
    let mut clients: Vec<TcpStream> = (0..count).map(|_| server.connect()).collect();
    eventually(PATIENCE, "a child per connection", || {
        (server.children().len() >= count).then_some(())
    });
    server.signal(Signal::SIGSTOP);
    eventually(PATIENCE, "the server to stop", || {
        (server.state() == Some('T')).then_some(())
    });
    for client in &mut clients {
        send_request(client, "/hello");
    }
    for client in &mut clients {
        assert_eq!(
            read_to_eof(client),
            b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n"
        );
    }
    eventually(PATIENCE, "every child to exit", || {
        (server.zombie_children().len() >= count).then_some(())
    });
    server.signal(Signal::SIGCONT);
}

/// What a forking server's child prints first: `Child PID: 123. Parent PID 45`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildLine {
    /// The child's own PID (123).
    pub pid: i32,
    /// The PID of the child's parent, as the child saw it (45).
    pub parent: i32,
}

impl ChildLine {
    const PREFIX: &'static str = "Child PID: ";

    /// `Child PID: 123. Parent PID 45`; `None` for any other line.
    pub fn parse(line: &str) -> Option<ChildLine> {
        let (pid, parent) = line
            .strip_prefix(Self::PREFIX)?
            .split_once(". Parent PID ")?;
        Some(ChildLine {
            pid: pid.parse().ok()?,
            parent: parent.parse().ok()?,
        })
    }
}

/// Waits until `server` has printed at least `count` `Child PID` lines;
/// returns them all, in the order they were printed. Panics, showing it, on
/// a line that starts like one but does not parse.
pub fn wait_for_child_lines(server: &Process, count: usize) -> Vec<ChildLine> {
    let what = format!("{count} `Child PID` lines");
    server
        .wait_for_lines(count, &what, |line| line.starts_with(ChildLine::PREFIX))
        .iter()
        .map(|line| {
            ChildLine::parse(line).unwrap_or_else(|| panic!("a malformed child line: {line:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_child_line() {
        assert_eq!(
            ChildLine::parse("Child PID: 123. Parent PID 45"),
            Some(ChildLine {
                pid: 123,
                parent: 45
            })
        );
        assert_eq!(ChildLine::parse("Child PID: 123."), None);
        assert_eq!(ChildLine::parse("Parent PID (PPID): 45"), None);
    }
}

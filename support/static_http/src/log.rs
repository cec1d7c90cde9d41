//! The servers' log of their clients: a line when a client connects, one per
//! request answered, one when the connection closes.
//!
//! The lines are the same in both servers and are not their lesson; what
//! matters to the lesson is only that writing them never stops the loop.
//! A server's log is standard output, and whoever reads it can go away
//! (`server | head -1`) or stop reading (a pipe holds 64 KiB; `server |
//! sleep 1000` fills it after about 600 requests). std's `println!` then
//! panics, or blocks inside `write(2)`, and with one process serving every
//! client, one blocked write stops them all. So every line goes through
//! [`common::println!`]: one `write(2)`, made only when `poll(2)` says
//! standard output can take it now; otherwise the line is dropped and
//! counted, and a note of how many were lost precedes the next line that
//! gets out. Dropping lines, rather than buffering them in the server,
//! keeps the memory of a server bounded however long nobody reads; a log
//! nobody reads has nothing to lose.
//!
//! `--quiet` leaves out these per-client lines (the start-up lines and the
//! problems are still printed): each line costs two system calls, `poll`
//! and `write`, as many as answering a small request, which matters when
//! measuring the I/O model rather than the log.

use std::net::SocketAddr;

use common::println;

use crate::deadline::Expiry;
use crate::response::Response;

/// The longest request line the log shows, in bytes; longer ones are cut
/// and end with `...`. A request line may be nearly as long as the 8 KiB a
/// head may take, but a pipe takes a write of up to `PIPE_BUF` (4 KiB)
/// whole once `poll` says it has room; a longer line could leave the write
/// waiting for the reader. And a log line that long helps nobody.
const MAX_LOGGED_REQUEST_LINE: usize = 200;

/// What the server prints about its clients, or nothing with `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    /// `--quiet`: print no line per client or request.
    quiet: bool,
}

impl Log {
    pub fn new(quiet: bool) -> Log {
        Log { quiet }
    }

    /// `new client 127.0.0.1:50000`: a connection was accepted.
    pub fn new_client(&self, address: SocketAddr) {
        if !self.quiet {
            println!("new client {address}");
        }
    }

    /// `127.0.0.1:50000: GET / HTTP/1.1 -> 200 OK (1234 bytes)`: a
    /// response was queued. `request_line` is what the client sent (or why
    /// it was refused), shown with control characters escaped, so a hostile
    /// request cannot send commands to the terminal reading the log.
    pub fn answered(&self, address: SocketAddr, request_line: &str, response: &Response) {
        if !self.quiet {
            println!(
                "{address}: {} -> {} {} ({} bytes)",
                common::printable_line_cut(request_line, MAX_LOGGED_REQUEST_LINE),
                response.status().code(),
                response.status().reason(),
                response.content_length()
            );
        }
    }

    /// `127.0.0.1:50000: closed`: the connection ended (the client closed
    /// its side, or asked for `Connection: close`).
    pub fn closed(&self, address: SocketAddr) {
        if !self.quiet {
            println!("{address}: closed");
        }
    }

    /// `127.0.0.1:50000: idle, closing`: nothing sent or received for
    /// `--idle-timeout`; `request head too slow, closing` past
    /// `--header-timeout`; `closed` when a graceful close has lingered long
    /// enough.
    pub fn expired(&self, address: SocketAddr, expiry: Expiry) {
        if !self.quiet {
            println!("{address}: {expiry}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_request_lines_are_cut_and_control_characters_escaped() {
        let long = format!("GET /\u{1b}[2J{} HTTP/1.1", "张".repeat(3000));
        let shown = common::printable_line_cut(&long, MAX_LOGGED_REQUEST_LINE);
        assert!(
            shown.len() <= MAX_LOGGED_REQUEST_LINE + 3 + 3,
            "{}",
            shown.len()
        );
        assert!(shown.starts_with("GET /\\u{1b}[2J") && shown.ends_with("..."));
    }
}

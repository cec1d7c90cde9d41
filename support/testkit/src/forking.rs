//! Helpers for the forking servers of Part 3 (webserver3c to 3g): making
//! their children exit at the moment a test chooses.

use std::net::TcpStream;

use nix::sys::signal::Signal;

use crate::http::{read_to_eof, send_request};
use crate::{eventually, Server, PATIENCE};

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

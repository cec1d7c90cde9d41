//! blocking_server: a server that makes every client wait while it works
//! for one.
//!
//! Ports the blocking server of the chapter "非阻塞 Server" (seed 002); its
//! test client is the example `blocking_client`.
//!
//! Changed from webserver1:
//!
//! - Port 50007 and a listen queue of 5, as in the chapter.
//! - The request and the answer are plain text, the chapter's own protocol,
//!   not HTTP: the client sends `Hello, I'm client`, the server answers
//!   `Hello, I'm server`. So its first line is the chapter's
//!   `Server on port N ...`, not `Serving HTTP on port N ...`.
//! - Before answering, the server sleeps 10 s: the chapter's stand-in for
//!   slow work, a database query or a call to another service. The server is
//!   iterative, so while it works for one client no other is served: their
//!   connections wait, completed by the kernel, in the listen queue, and
//!   their messages wait in those sockets' receive buffers. That is what
//!   "blocking server" means here. The sockets are blocking too (every
//!   socket is, by default), but the chapter's cure is a process per client
//!   (fork, as in Part 3); sockets that never block come in a later chapter.
//!
//! Try it, in three terminals:
//!
//! ```text
//! cargo run -p webserver1 --bin blocking_server
//! cargo run -p webserver1 --bin blocking_client     # waits 10 s
//! cargo run -p webserver1 --bin blocking_client     # started at once: waits about 20 s
//! ```
//!
//! `SLEEP_SECS=2` shortens the work; `PORT` moves the server (give the
//! clients the same `PORT`).

use std::env;
use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use common::{eprintln, println}; // std's, except that a closed or full log cannot stop the server
use socket2::{Domain, Socket, Type};

/// The chapter's port. `PORT` overrides it, as for every server here.
const DEFAULT_PORT: u16 = 50007;

/// The `backlog` of listen(2): how many completed connections the kernel
/// queues while the server is busy with one client.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// How long the server "works" on each request (`SLEEP_SECS` overrides it).
const WORK_SECONDS: u64 = 10;

/// What the server answers every client.
const SERVER_MESSAGE: &[u8] = b"Hello, I'm server";

/// Every interface, port 50007, or the port `PORT` names (read by
/// `common::server_address`, so that the same values are accepted and
/// refused as by every other server).
fn server_address() -> Result<SocketAddrV4> {
    if env::var_os("PORT").is_some() {
        common::server_address()
    } else {
        Ok(SocketAddrV4::new(common::HOST, DEFAULT_PORT))
    }
}

/// Reads the client's message, prints it, works, answers.
///
/// Like the chapter, it reads once, at most 1024 bytes. The protocol has no
/// framing (no length, no end marker), so one read is all the server can
/// do: a longer message, or one that arrives in two segments, is cut. A real
/// protocol says where a message ends: a length prefix, a delimiter, or
/// HTTP's blank line and `Content-Length`.
fn handle_request(client_connection: &mut TcpStream, work: Duration) -> Result<()> {
    let client_address = client_connection.peer_addr().context("getpeername")?;
    let mut request = [0u8; 1024];
    let received = client_connection
        .read(&mut request)
        .context("recv from client")?;
    // Quoted, on one line, with control characters escaped, so that
    // whatever a client sends cannot drive the terminal the log goes to.
    let message = String::from_utf8_lossy(&request[..received]);
    let message = common::printable_line(&message);
    println!("Server recv from {client_address}: \"{message}\"");
    thread::sleep(work);
    client_connection
        .write_all(SERVER_MESSAGE)
        .context("send to client")?;
    Ok(())
}

fn serve_forever() -> Result<()> {
    let server_address = server_address()?;
    let work = common::sleep_duration(WORK_SECONDS);

    let listen_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    // Without SO_REUSEADDR, a restarted server could not bind its port
    // while connections of the previous run linger in TIME_WAIT.
    listen_socket
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    listen_socket
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    listen_socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
    let port = common::bound_port(&listen_socket)?;
    println!("Server on port {port} ...");

    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_request(&mut client_connection, work) {
            // One client's trouble (a reset, a closed connection) is not the
            // server's: say so and go on to the next client.
            eprintln!("{err:#}");
        }
        // Dropping the stream closes the socket: the kernel sends FIN, the
        // client reads end-of-file, and only now does the next accept run.
        drop(client_connection);
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

//! webserver3b: an iterative server that sleeps after each answer.
//!
//! Ports `part3/webserver3b.py` of "Let's Build A Web Server, Part 3".
//!
//! Changed from webserver3a:
//!
//! - `handle_request` sleeps `SLEEP_SECONDS` (60 s) after sending the
//!   greeting and before the connection is closed. The server is iterative:
//!   while it sleeps it does not call `accept`, so a second client's
//!   connection waits, completed by the kernel, in the listen queue. The
//!   first curl prints the greeting and hangs for a minute (the server has
//!   not closed yet); the second curl prints nothing until the first one is
//!   done. One process serves one client at a time.
//!
//! Try it, in two terminals at once:
//!
//! ```text
//! cargo run -p webserver3b
//! curl http://localhost:8888/hello      # greeting, then a 60 s wait
//! curl http://localhost:8888/hello      # nothing until the first is done
//! ```
//!
//! `SLEEP_SECS=5 cargo run -p webserver3b` shortens the wait.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// How long the server sleeps after answering (`SLEEP_SECS` overrides it).
const SLEEP_SECONDS: u64 = 60;

/// Reads the request, prints it, sends the greeting, then sleeps.
///
/// Like the Python, it reads once, at most 1024 bytes: enough for curl's
/// request. A production server reads until the blank line that ends the
/// request head, however many reads that takes, and limits its size.
fn handle_request(client_connection: &mut TcpStream, sleep: Duration) -> Result<()> {
    let mut request = [0u8; 1024];
    let received = client_connection
        .read(&mut request)
        .context("recv from client")?;
    // The bytes are whatever the client sent: print them lossily, so that a
    // client sending bytes that are not UTF-8 cannot stop the server.
    println!("{}", String::from_utf8_lossy(&request[..received]));
    client_connection
        .write_all(common::HTTP_RESPONSE)
        .context("send to client")?;
    // The connection is still open while we sleep: the client has its
    // greeting but no end-of-file, and nobody calls accept.
    thread::sleep(sleep);
    Ok(())
}

fn serve_forever() -> Result<()> {
    let server_address = common::server_address()?;
    let sleep = common::sleep_duration(SLEEP_SECONDS)?;

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
    let port = bound_port(&listen_socket)?;
    println!("Serving HTTP on port {port} ...");

    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_request(&mut client_connection, sleep) {
            // One client's trouble (a reset, a closed connection) is not the
            // server's: say so and go on to the next client.
            eprintln!("{err:#}");
        }
        // Dropping the stream closes the socket: the kernel sends FIN and
        // the client reads end-of-file. Python: client_connection.close().
        drop(client_connection);
    }
}

/// The port the kernel really bound: the one asked for, or a free one
/// picked by the kernel when `PORT=0`.
fn bound_port(listen_socket: &Socket) -> Result<u16> {
    let address = listen_socket.local_addr().context("getsockname")?;
    let address = address.as_socket().context("not an internet socket")?;
    Ok(address.port())
}

fn main() {
    if let Err(err) = serve_forever() {
        eprintln!("{}: {err:#}", env!("CARGO_BIN_NAME"));
        std::process::exit(1);
    }
}

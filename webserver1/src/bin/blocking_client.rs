//! blocking_client: the test client of `blocking_server`.
//!
//! Ports the test client of the chapter "非阻塞 Server" (seed 002).
//!
//! It connects to the server (127.0.0.1, port 50007 or `PORT`), sends
//! `Hello, I'm client`, and prints what comes back and how long it waited
//! for it. Run two at once against the blocking server: the first waits for
//! the server's 10 s of work, the second for both clients' work, about
//! 20 s, because the server does not read its message until it has finished
//! with the first.
//!
//! ```text
//! cargo run -p webserver1 --bin blocking_server             # terminal 1
//! cargo run -p webserver1 --bin blocking_client             # terminals 2 and 3
//! ```
//!
//! The client never calls bind: at connect(2) the kernel gives its end an
//! ephemeral port, which the first line it prints shows.

use std::env;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server

/// The server's port in the chapter. `PORT` overrides it.
const DEFAULT_PORT: u16 = 50007;

/// What the client sends.
const CLIENT_MESSAGE: &[u8] = b"Hello, I'm client";

/// The most the client keeps of an answer. The server it is written for
/// answers 17 bytes; the bound keeps a wrong server from filling memory.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The server on this machine: port 50007, or the one `PORT` names.
fn server_address() -> Result<SocketAddrV4> {
    let port = if env::var_os("PORT").is_some() {
        // Parsed by common, so PORT means the same here as for the servers.
        common::server_address()?.port()
    } else {
        DEFAULT_PORT
    };
    if port == 0 {
        bail!("PORT must name the server's port; 0 only makes sense for a server");
    }
    Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

fn run() -> Result<()> {
    let server_address = server_address()?;
    // std's connect is the Python's socket() and connect() in one call.
    let mut connection = TcpStream::connect(server_address)
        .with_context(|| format!("connect to {server_address}"))?;
    let client_address = connection.local_addr().context("getsockname")?;
    println!("Client connected from {client_address} to {server_address}");

    connection
        .write_all(CLIENT_MESSAGE)
        .context("send to server")?;
    println!("Client is waiting for the answer...");
    let started = Instant::now();

    // The Python reads once (recv(1024)). The server closes the connection
    // after answering, so reading to end-of-file gets the whole answer
    // however the network splits it.
    let mut answer = Vec::new();
    (&mut connection)
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .context("recv from server")?;
    let waited = started.elapsed();

    // Debug formatting quotes the answer like the Python's repr() and
    // escapes control characters, so a server cannot drive this terminal.
    let answer = String::from_utf8_lossy(&answer);
    println!(
        "Client recv: {answer:?} after waiting {:.1} s",
        waited.as_secs_f64()
    );
    Ok(())
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), run);
}

//! Exercise 05_read_and_answer (webserver3a): read the request, print it, answer.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 05_read_and_answer`. Everything but the part marked
//! `EXERCISE` is webserver3a as the lesson wrote it.
//!
//! Try it by hand:
//!
//! ```text
//! cargo run -p ex05_read_and_answer
//! curl -v http://localhost:8888/hello
//! ```

#[allow(unused_imports)] // Read and Write: for the reading and writing you add
use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Reads the request, prints it and sends the greeting.
///
/// Like the Python, it reads once, at most 1024 bytes: enough for curl's
/// request. A production server reads until the blank line that ends the
/// request head, however many reads that takes, and limits its size.
#[allow(unused_variables)] // client_connection: yours to read from and write to
fn handle_request(client_connection: &mut TcpStream) -> Result<()> {
    // EXERCISE: read the request (one read of at most 1024 bytes, as the
    // Python's recv(1024)), print it (lossily: the bytes may not be
    // UTF-8), then send common::HTTP_RESPONSE, the whole of it.
    todo!("read the request, print it, send the greeting")
}

fn serve_forever() -> Result<()> {
    let server_address = common::server_address()?;

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
    let port = common::bound_port(&listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");

    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_request(&mut client_connection) {
            // One client's trouble (a reset, a closed connection) is not the
            // server's: say so and go on to the next client.
            eprintln!("{err:#}");
        }
        // Dropping the stream closes the socket: the kernel sends FIN and
        // the client reads end-of-file. Python: client_connection.close().
        drop(client_connection);
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every stage.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

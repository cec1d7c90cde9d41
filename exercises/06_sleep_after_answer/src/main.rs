//! Exercise 06_sleep_after_answer (webserver3b): the sleep after answering: the next client waits.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 06_sleep_after_answer`. Everything but the part marked
//! `EXERCISE` is webserver3b as the lesson wrote it.
//!
//! Try it by hand:
//!
//! ```text
//! SLEEP_SECS=10 cargo run -p ex06_sleep_after_answer
//! curl http://localhost:8888/hello   # in two terminals at once: the second waits
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

#[allow(dead_code)] // for the sleep you add
const SLEEP_SECONDS: u64 = 60; // SLEEP_SECS=2 shortens it

/// Reads the request, prints it and sends the greeting.
///
/// Like the Python, it reads once, at most 1024 bytes: enough for curl's
/// request. A production server reads until the blank line that ends the
/// request head, however many reads that takes, and limits its size.
fn handle_request(client_connection: &mut TcpStream) -> Result<()> {
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
    // EXERCISE: after answering, sleep SLEEP_SECONDS (common::sleep_duration
    // reads the SLEEP_SECS override), with the connection still open.
    Ok(())
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

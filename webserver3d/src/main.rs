//! webserver3d (part3/webserver3d.py): the parent keeps client sockets: no FIN.
//! Part 3 of "Let's Build A Web Server"; its chapter in docs/src, named after the crate, says why.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3d
//! curl http://localhost:8888/hello   # the greeting, then it hangs: Ctrl-C
//! ulimit -n 256; cargo run -p webserver3d   # then, elsewhere:
//! cargo run -p client3 -- --max-clients=1 --max-conns=300   # "Too many open files"
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process;

use anyhow::{Context, Result};
use common::{eprintln, println}; // std's, except that a closed or full log cannot stop the server
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

// ANCHOR: handle_request
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
    println!("Child PID: {}. Parent PID {}", getpid(), getppid());
    // The bytes are whatever the client sent: print them lossily, so that a
    // client sending bytes that are not UTF-8 cannot stop the server, and
    // with control characters escaped, so that it cannot drive the terminal.
    println!("{}", common::printable(&request[..received]));
    client_connection
        .write_all(common::HTTP_RESPONSE)
        .context("send to client")?;
    Ok(())
}
// ANCHOR_END: handle_request

fn serve_forever() -> Result<()> {
    let server_address = common::server_address()?;

    // ANCHOR: socket_steps
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
    // ANCHOR_END: socket_steps
    let port = common::bound_port(&listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");
    println!("Parent PID (PPID): {}\n", getpid());

    // ANCHOR: accept_loop
    let mut clients = Vec::new();
    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        // SAFETY: the process has one thread, so the child is a consistent copy that may
        // allocate and print (with threads, only async-signal-safe calls until exec).
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                drop(listen_socket); // close child copy
                if let Err(err) = handle_request(&mut client_connection) {
                    eprintln!("{err:#}");
                }
                drop(client_connection);
                process::exit(0) // child exits here (Python's os._exit: no destructors, no flush)
            }
            ForkResult::Parent { .. } => {
                // BUG ON PURPOSE: the parent keeps its copy instead of closing it
                // (Python: `# client_connection.close()`), so the child's close is
                // never the last one: no FIN, and one descriptor used per client.
                // Merely forgetting it would not do: Drop would close it.
                clients.push(client_connection);
                println!("{}", clients.len());
            }
        }
    }
    // ANCHOR_END: accept_loop
}

fn main() {
    // --help, one-line errors and exit codes: the same for every stage.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

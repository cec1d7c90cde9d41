//! WRONG ANSWER to 09_sigchld_handler: no handler; the parent calls wait()
//! in the accept loop, right after forking. No zombie is left, but wait
//! blocks until the child exits: while one client is served, the parent
//! accepts no one, and the server is iterative again, the very thing
//! webserver3c's fork was for. Only a handler (SIGCHLD) tells the parent
//! when a child has exited, without waiting for it.
//! Must fail saying: "waiting for a child instead of accepting"

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::sys::wait::wait;
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 1024;

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
    // client sending bytes that are not UTF-8 cannot stop the server.
    println!("{}", String::from_utf8_lossy(&request[..received]));
    client_connection
        .write_all(common::HTTP_RESPONSE)
        .context("send to client")?;
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
    println!("Parent PID (PPID): {}\n", getpid());

    loop {
        // No handler runs here (SIGCHLD ignored, or left to its default), so
        // no signal interrupts this accept.
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
                drop(client_connection);
                // The mistake: wait here, for the child just forked.
                if let Ok(status) = wait() {
                    common::print_child_status(status);
                }
            }
        }
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every stage.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

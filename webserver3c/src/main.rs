//! webserver3c: a concurrent server, one child process per client.
//!
//! Ports `part3/webserver3c.py` of "Let's Build A Web Server, Part 3".
//!
//! Changed from webserver3b:
//!
//! - After `accept`, the server calls `fork`. The child handles the client
//!   and exits; the parent goes straight back to `accept`. The child still
//!   sleeps 60 s after answering, yet other clients are served at once: each
//!   by a child of its own.
//! - Both processes now hold a descriptor for the listening socket and one
//!   for the client socket (fork copies the descriptor table; each copy
//!   points to the same kernel socket and raises its reference count). Each
//!   closes the copy it does not need: the child the listening socket, the
//!   parent the client socket. The kernel closes the connection, sending
//!   FIN, only when the *last* descriptor for it is closed, so this is what
//!   lets the client see end-of-file when the child is done.
//! - The child prints `Child PID: X. Parent PID Y`, and the parent prints its
//!   own PID at start, so `ps` can be matched with the output.
//! - Nobody waits for the children: each one that exits stays a zombie
//!   (`Z`, `<defunct>` in `ps`) until the parent exits. webserver3e starts
//!   fixing that.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3c
//! curl http://localhost:8888/hello &  curl http://localhost:8888/hello &
//! ps -o pid,ppid,stat,cmd --ppid $(pgrep -o webserver3c)   # after 60 s: Z
//! ```
//!
//! `SLEEP_SECS=5 cargo run -p webserver3c` shortens the children's wait.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// How long the child sleeps after answering (`SLEEP_SECS` overrides it).
const SLEEP_SECONDS: u64 = 60;

/// Runs in the child: reads the request, prints it, sends the greeting,
/// then sleeps.
///
/// Like the Python, it reads once, at most 1024 bytes: enough for curl's
/// request. A production server reads until the blank line that ends the
/// request head, however many reads that takes, and limits its size.
fn handle_request(client_connection: &mut TcpStream, sleep: Duration) -> Result<()> {
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
    // The connection is still open while the child sleeps: the client has
    // its greeting but no end-of-file. The parent is already back in accept.
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
    println!("Parent PID (PPID): {}\n", getpid());

    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        // SAFETY: this process has a single thread (none was ever spawned),
        // so the child is a complete copy of a consistent process: no lock
        // is held by a thread that does not exist in the child, and the
        // child may allocate and print. (After fork in a multi-threaded
        // process, only async-signal-safe calls are allowed until exec.)
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                drop(listen_socket); // close child copy
                let exit_code = match handle_request(&mut client_connection, sleep) {
                    Ok(()) => 0,
                    Err(err) => {
                        eprintln!("{err:#}");
                        1
                    }
                };
                drop(client_connection);
                // Python uses os._exit here, as C uses _exit(2) and not
                // exit(3): the child must not flush stdio buffers it copied
                // from the parent, or their text would print twice. Rust's
                // process::exit runs no destructors, and println! flushed
                // each line as it printed it, so nothing is printed twice.
                process::exit(exit_code) // child exits here
            }
            ForkResult::Parent { .. } => {
                // Close the parent's copy and loop over to accept. The
                // connection stays open: the child still holds its copy.
                drop(client_connection);
            }
        }
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

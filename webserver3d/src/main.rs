//! webserver3d: the parent forgets to close the client socket (on purpose).
//!
//! Ports `part3/webserver3d.py` of "Let's Build A Web Server, Part 3".
//!
//! Changed from webserver3c:
//!
//! - BUG ON PURPOSE: the parent keeps every client socket in `clients`
//!   instead of closing its copy, and prints how many it holds. The child
//!   answers and closes its copy, but the connection is only shut down when
//!   the *last* descriptor for it is closed, and the parent still has one.
//!   No FIN is sent: curl prints the greeting and then hangs, waiting for an
//!   end-of-file that never comes.
//! - Each kept socket is an open descriptor of the parent. With a limit of
//!   256 open files (`ulimit -n 256`), `accept` soon fails with EMFILE and
//!   the server dies with "Too many open files".
//! - The child's sleep is gone, so the hang is the descriptor's doing alone;
//!   the children exit at once, and still nobody reaps them: zombies.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3d
//! curl http://localhost:8888/hello        # greeting, then hangs: Ctrl-C
//! ls -l /proc/$(pgrep -o webserver3d)/fd  # one socket per client, kept
//!
//! ulimit -n 256; cargo run -p webserver3d
//! cargo run -p client3 -- --max-clients=300   # in another terminal
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process;

use anyhow::{Context, Result};
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Runs in the child: reads the request, prints it, sends the greeting.
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
    let port = bound_port(&listen_socket)?;
    println!("Serving HTTP on port {port} ...");
    println!("Parent PID (PPID): {}\n", getpid());

    let mut clients = Vec::new();
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
                let exit_code = match handle_request(&mut client_connection) {
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
                // BUG ON PURPOSE: the parent keeps its copy instead of
                // closing it (Python: `# client_connection.close()`). The
                // kernel never sees the last close, so the client never
                // sees FIN, and each kept socket uses up one descriptor.
                // As in Python, merely forgetting the socket would not do:
                // Drop would close it at the end of this iteration, so the
                // parent has to store it somewhere that lives on.
                clients.push(client_connection);
                println!("{}", clients.len());
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

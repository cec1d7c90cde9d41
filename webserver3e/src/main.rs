//! webserver3e: a SIGCHLD handler reaps children, and accept is interrupted.
//!
//! Ports `part3/webserver3e.py` of "Let's Build A Web Server, Part 3".
//! Builds on webserver3c (webserver3d's unclosed sockets were the bug).
//!
//! Changed from webserver3c:
//!
//! - `grim_reaper`, a handler for SIGCHLD, calls `wait` once, which collects
//!   the exit status of one child, so that child does not stay a zombie.
//!   The kernel sends SIGCHLD to the parent whenever a child exits.
//! - The child sleeps 3 s (not 60) after answering, so that the parent is
//!   blocked in `accept` again when the child exits and the signal arrives.
//! - BUG ON PURPOSE: the handler is installed without `SA_RESTART`, as
//!   Python 2 and 3.4 did. When it returns, the interrupted `accept` does
//!   not resume: it fails with EINTR ("Interrupted system call"), and the
//!   server exits with that error after serving one client. webserver3f
//!   restarts `accept` instead.
//!
//! Why the crash needs care in Rust: Python 3.5 and later retry a system
//! call that a signal interrupted (PEP 475), and so does Rust's
//! `TcpListener::accept`, so neither shows the crash any more. This stage
//! accepts through socket2, which returns EINTR to its caller like the C
//! library does, and installs the handler with `sigaction` and no flags.
//! (`nix::sys::signal::signal` would set `SA_RESTART`, and the kernel would
//! restart `accept` by itself.)
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3e
//! curl http://localhost:8888/hello
//! # 3 s later: "Child N terminated with status 0", then the server exits:
//! # "webserver3e: accept: Interrupted system call (os error 4)"
//! ```

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use common::SignalSafeLine;
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{wait, WaitStatus};
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// How long the child sleeps after answering (`SLEEP_SECS` overrides it).
const SLEEP_SECONDS: u64 = 3;

/// The SIGCHLD handler: collects one exited child with `wait`.
///
/// It runs whenever a child exits, in the middle of whatever the parent was
/// doing, so it may only call async-signal-safe functions: `wait` and
/// `write` are; `println!` (it takes the stdout lock) and anything that
/// allocates are not. It also keeps `errno` as it found it, because the code
/// it interrupted may be about to read `errno`.
extern "C" fn grim_reaper(_signal_number: i32) {
    let saved_errno = Errno::last_raw();
    if let Ok(status) = wait() {
        report_terminated_child(status);
    }
    Errno::set_raw(saved_errno);
}

/// Prints `Child PID terminated with status N` from a signal handler:
/// formatted on the stack, written with one write(2).
fn report_terminated_child(status: WaitStatus) {
    let mut line = SignalSafeLine::new();
    let _ = match status {
        WaitStatus::Exited(pid, code) => write!(line, "Child {pid} terminated with status {code}"),
        WaitStatus::Signaled(pid, signal, _) => {
            write!(line, "Child {pid} terminated by {}", signal.as_str())
        }
        _ => return,
    };
    line.write_to_stdout();
}

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
    // Sleep so that the parent loops over to accept and blocks there
    // before this child exits and SIGCHLD arrives.
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

    let grim_reaper_action = SigAction::new(
        SigHandler::Handler(grim_reaper),
        // BUG ON PURPOSE: no SA_RESTART, so a blocked accept fails with
        // EINTR when the handler returns, instead of being resumed.
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: grim_reaper calls only async-signal-safe functions (wait
    // and write), touches no data shared with the interrupted code, and
    // restores errno; and no other handler for SIGCHLD is being replaced.
    unsafe { sigaction(Signal::SIGCHLD, &grim_reaper_action) }.context("sigaction SIGCHLD")?;

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

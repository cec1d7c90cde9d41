//! webserver3g: the handler reaps every exited child. No more zombies.
//!
//! Ports `part3/webserver3g.py` of "Let's Build A Web Server, Part 3".
//!
//! Changed from webserver3f:
//!
//! - `grim_reaper` calls `waitpid(-1, WNOHANG)` in a loop instead of `wait`
//!   once. One SIGCHLD may stand for many exited children (signals are not
//!   queued), so the handler collects every child that has exited, and stops
//!   when `waitpid` says no exited child is left (`StillAlive`: children
//!   exist but are running) or there is no child at all (ECHILD). `WNOHANG`
//!   is what makes the loop safe: without it, the last call would block the
//!   handler, and so the server, until some running child exits.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3g
//! cargo run -p client3 -- --max-clients=128 --max-conns=1   # in another terminal
//! ps -o pid,stat,cmd --ppid $(pgrep -o webserver3g) | grep -c defunct  # 0
//! ```

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process;

use anyhow::{Context, Result};
use common::SignalSafeLine;
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, getppid, ForkResult};
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2): how many connections the kernel keeps
/// completed and waiting for `accept` while the server is busy.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// The SIGCHLD handler: collects every exited child with `waitpid`.
///
/// It runs whenever a child exits, in the middle of whatever the parent was
/// doing, so it may only call async-signal-safe functions: `waitpid` and
/// `write` are; `println!` (it takes the stdout lock) and anything that
/// allocates are not. It also keeps `errno` as it found it, because the code
/// it interrupted may be about to read `errno`.
extern "C" fn grim_reaper(_signal_number: i32) {
    let saved_errno = Errno::last_raw();
    loop {
        // Wait for any child (pid -1), but do not block (WNOHANG).
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            // no more zombies: the children left are still running
            Ok(WaitStatus::StillAlive) => break,
            Ok(status) => report_terminated_child(status),
            // ECHILD: no children at all
            Err(_) => break,
        }
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

    let grim_reaper_action = SigAction::new(
        SigHandler::Handler(grim_reaper),
        // Still no SA_RESTART: a blocked accept fails with EINTR when the
        // handler returns, and the loop below restarts it by hand.
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: grim_reaper calls only async-signal-safe functions (waitpid
    // and write), touches no data shared with the interrupted code, and
    // restores errno; and no other handler for SIGCHLD is being replaced.
    unsafe { sigaction(Signal::SIGCHLD, &grim_reaper_action) }.context("sigaction SIGCHLD")?;

    loop {
        let (client_socket, _client_address) = match listen_socket.accept() {
            Ok(accepted) => accepted,
            // restart 'accept' if it was interrupted
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("accept"),
        };
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

//! client3 (part3/client3.py): many clients at once, each a process holding many connections,
//! the load Part 3 turns on webserver3d, 3f and 3g; its chapter, docs/src/client3.md, says why.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3g                   # one terminal
//! cargo run -p client3 -- --max-clients=3 --max-conns=10
//! ```

mod cli;
mod limits;
mod report;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use nix::unistd::{fork, pipe, ForkResult};
use socket2::{Domain, Socket, Type};

// ANCHOR: fork_clients
/// client3.py's `main`: a process per client, each opening its connections
/// one after another and holding them all until it exits.
fn run(arguments: &cli::Arguments) -> Result<bool> {
    let server = arguments.server_address()?;
    let request = arguments.request();
    let timeout = Duration::from_secs(arguments.connect_timeout);
    limits::raise_open_file_limit(arguments.max_conns)?;
    // Each client writes its counts into this pipe, for the summary.
    let (report_reader, report_writer) = pipe().context("pipe")?;
    let mut clients = Vec::new();
    for client_num in 1..=arguments.max_clients {
        // SAFETY: this process has a single thread, so the child is a whole
        // copy of a consistent process: no lock is held by a thread that
        // does not exist in the child, and the child may allocate and print.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                drop(report_reader);
                let mut socks = Vec::new();
                let mut failure = None;
                for connection_num in 1..=arguments.max_conns {
                    let connection = format!("client {client_num}: connection {connection_num}");
                    match connect(server, &request, timeout) {
                        Ok(sock) => socks.push(sock),
                        Err(err) => {
                            say(io::stderr(), &format!("{connection} failed: {err}"));
                            failure = Some(err.to_string());
                            break;
                        }
                    }
                    say(io::stdout(), &connection);
                }
                report::send(&report_writer, client_num, socks.len(), failure.as_deref());
                let _ = io::stdout().flush();
                // os._exit, as in the Python: no destructor runs; the kernel
                // closes `socks` as the process ends, and the server sees FINs.
                // SAFETY: _exit(2) only ends the process; it touches no state of ours.
                unsafe { nix::libc::_exit(i32::from(failure.is_some())) }
            }
            Ok(ForkResult::Parent { child }) => clients.push((client_num, child)),
            Err(errno) => {
                // EAGAIN at `ulimit -u`; the clients started so far run on.
                let line =
                    format!("client3: fork for client {client_num}: {errno}; no more clients");
                say(io::stderr(), &line);
                break;
            }
        }
    }
    // Now only the children hold a writing end, so the reader sees
    // end-of-file exactly when the last of them has exited.
    drop(report_writer);
    report::summarize(report_reader, &clients, arguments)
}
// ANCHOR_END: fork_clients

// ANCHOR: connect
/// socket, connect, sendall, as client3.py does.
fn connect(server: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(server), Type::STREAM, None)?;
    // A plain connect(2) waits as long as the kernel resends an unanswered
    // SYN (about two minutes on Linux); this gives up with "timed out".
    sock.connect_timeout(&server.into(), timeout)?;
    let mut sock = TcpStream::from(sock);
    // Like sendall: loops until every byte is sent. A server's reset is an
    // EPIPE error, not a SIGPIPE death: std sends with MSG_NOSIGNAL.
    sock.write_all(request)?;
    Ok(sock)
}
// ANCHOR_END: connect

// ANCHOR: say
/// Writes `line` and its newline with one write(2) (`println!` may make
/// several), so the lines of clients printing at once never mix. Errors are
/// ignored: a client whose output is gone (`| head`) goes on regardless.
fn say(mut output: impl Write, line: &str) {
    let _ = output.write_all(format!("{line}\n").as_bytes());
}
// ANCHOR_END: say

/// The Python's `if __name__ == '__main__'`. Exits 0 only if every connection
/// was opened; an error is one line, not `main`'s `Err`, printed with `Debug`.
fn main() {
    let all_opened = run(&cli::Arguments::parse()).unwrap_or_else(|err| {
        eprintln!("client3: {err:#}");
        false
    });
    std::process::exit(i32::from(!all_opened));
}

//! WRONG ANSWER to 16_reuseport_workers: SO_REUSEPORT set, but after bind.
//! The kernel decides at bind whether a port may be shared, from the
//! options set by then: the master's socket was bound without it, so each
//! worker's bind fails with EADDRINUSE, its own option notwithstanding.
//! Must fail saying: "SO_REUSEPORT before its bind"

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpStream};
use std::process;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use socket2::{Domain, Socket, Type};

/// How many workers the master forks: fixed, so that the check knows how
/// many to look for.
const WORKERS: usize = 3;

/// The `backlog` of listen(2), for each worker's socket.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// The socket steps. The master binds without listening, to hold the port
/// (and learn it, with PORT=0); each worker binds and listens.
fn bind_socket(server_address: SocketAddrV4, listen: bool) -> Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    socket
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    socket
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    socket
        .set_reuse_port(true)
        .context("setsockopt SO_REUSEPORT")?;
    if listen {
        socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
    }
    Ok(socket)
}

/// A worker's life: accept a client, read its request, answer with the
/// greeting and this worker's PID, close; again, until killed.
fn serve(listen_socket: Socket) -> ! {
    // The master blocked these, and fork copied its mask: unblocked, SIGTERM
    // and SIGINT end the worker, as their default action is.
    let _ = SigSet::from_iter([Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT]).thread_unblock();
    loop {
        let client = match listen_socket.accept() {
            Ok((client, _)) => client,
            Err(err) => {
                common::eprintln!("accept: {err}");
                continue;
            }
        };
        let mut client = TcpStream::from(client);
        let mut request = [0u8; 1024];
        let _ = client.read(&mut request);
        let answer = format!(
            "HTTP/1.1 200 OK\r\n\r\nHello from worker {}\r\n",
            process::id()
        );
        let _ = client.write_all(answer.as_bytes());
    }
}

/// The master: it forks the workers once, then waits for signals.
struct Master {
    /// The address each worker binds (its port the one the master got).
    server_address: SocketAddrV4,
    /// The workers running, by PID.
    workers: Vec<Pid>,
}

impl Master {
    /// Forks a worker and returns its PID; in the worker, never returns.
    fn fork_worker(&self) -> Result<Pid> {
        // SAFETY: the master has one thread: the child may allocate and print.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Parent { child } => Ok(child),
            // The worker's own socket, bound after the fork: one per worker.
            ForkResult::Child => match bind_socket(self.server_address, true) {
                Ok(listen_socket) => serve(listen_socket),
                Err(err) => common::exit_with_error(NAME, &err),
            },
        }
    }

    /// SIGCHLD: one or more workers have exited.
    fn replace_exited_workers(&mut self) -> Result<()> {
        loop {
            // WNOHANG: only those that have exited; the others run on.
            let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
                Ok(status) => status,
                Err(errno) => return Err(errno).context("waitpid"),
            };
            common::print_child_status(status);
            let dead = self.workers.iter().position(|&w| Some(w) == status.pid());
            if let Some(slot) = dead {
                self.workers[slot] = self.fork_worker()?;
            }
        }
    }

    /// Waits for a signal, and does what it says, until SIGTERM or SIGINT.
    fn supervise(&mut self, signals: &SigSet) -> Result<()> {
        loop {
            match signals.wait().context("sigwait")? {
                Signal::SIGCHLD => self.replace_exited_workers()?,
                _ => return self.stop_workers(),
            }
        }
    }

    /// SIGTERM to every worker, then a wait for each: no zombie is left.
    fn stop_workers(&mut self) -> Result<()> {
        for &worker in &self.workers {
            let _ = kill(worker, Signal::SIGTERM);
        }
        for &worker in &self.workers {
            match waitpid(worker, None) {
                Ok(_) | Err(Errno::ECHILD) => {}
                Err(errno) => return Err(errno).context("waitpid"),
            }
        }
        Ok(())
    }
}

/// The master's start: the port held, the signals blocked (so that they
/// wait for sigwait, and none is lost), the workers forked; then it waits.
fn serve_forever() -> Result<()> {
    let mut server_address = common::server_address()?;
    let _holds_the_port = {
        let socket = bind_socket(server_address, false)?;
        server_address.set_port(common::bound_port(&socket)?); // PORT=0: the kernel's choice
        socket
    };
    let signals = SigSet::from_iter([Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT]);
    signals.thread_block().context("sigprocmask")?;
    let mut master = Master {
        server_address,
        workers: Vec::new(),
    };
    for _ in 0..WORKERS {
        let worker = master.fork_worker()?;
        master.workers.push(worker);
    }
    println!("Serving HTTP on port {} ...", server_address.port());
    let pids: Vec<String> = master.workers.iter().map(Pid::to_string).collect();
    println!("Workers: {}", pids.join(" "));
    master.supervise(&signals)
}

/// The program's name, for its one-line errors.
const NAME: &str = env!("CARGO_BIN_NAME");

fn main() {
    // --help, one-line errors and exit codes: the same for every stage.
    common::run(NAME, serve_forever);
}

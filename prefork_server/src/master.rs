//! The master: it forks the workers once, each running epoll_server's loop
//! on a listening socket of its own (main.rs), then waits for signals:
//! SIGCHLD when a worker dies, to reap it and fork another in its place;
//! SIGTERM or SIGINT, to stop them all. nginx's master process and Apache's
//! prefork parent do this job.

use std::net::SocketAddrV4;
use std::os::fd::OwnedFd;
use std::process;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, getppid, pipe, read, ForkResult, Pid};
use socket2::Socket;
use static_http::Site;

use crate::{Arguments, WebServer};

// ANCHOR: master
/// The master process: it forks the workers once, then only waits for a
/// signal: a worker's death (SIGCHLD), or the order to stop.
pub(crate) struct Master {
    /// The command line, which each worker reads.
    arguments: Arguments,
    /// The address each worker binds.
    server_address: SocketAddrV4,
    /// The master's socket on the port: only bound, to hold the port (and
    /// learn it, with PORT=0); with `--shared-listener`, the one listening
    /// socket of every worker. None in a worker, which has taken its copy.
    socket: Option<Socket>,
    /// Its PID, which a new worker checks its parent against.
    pid: Pid,
    /// SIGCHLD, SIGTERM and SIGINT: blocked, and taken one by one by sigwait.
    signals: SigSet,
    /// The workers running, by PID.
    workers: Vec<Pid>,
}
// ANCHOR_END: master

impl Master {
    // ANCHOR: start
    /// Checks what would make every worker fail (the port, the root), once,
    /// forks the workers, and says so once they all listen.
    pub(crate) fn start(arguments: Arguments) -> Result<Master> {
        let mut server_address =
            static_http::server_address(arguments.site.port, static_http::options::DEFAULT_PORT)?;
        let socket = WebServer::bind_socket(server_address, arguments.shared_listener)?;
        let port = common::bound_port(&socket)?; // PORT=0: the one the kernel chose
        server_address.set_port(port); // which every worker binds
                                       // Opened to check it, and closed before the forks: each worker opens its own.
        let root = Site::open(&arguments.site.root)?.root().to_owned();
        // Blocked before the first fork, so that no SIGCHLD is lost, and in
        // every worker too (fork copies the mask). A blocked signal is not
        // delivered: it stays pending until the process takes it, here with
        // sigwait, in a worker from a signalfd. No handler ever runs, so
        // nothing has to be async-signal-safe, unlike webserver3e–3g.
        let signals = SigSet::from_iter([Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT]);
        signals.thread_block().context("sigprocmask")?;
        common::output::share_dropped_count_with_children();
        let mut master = Master {
            socket: Some(socket),
            pid: getpid(),
            workers: Vec::new(),
            arguments,
            server_address,
            signals,
        };
        for _ in 0..master.arguments.workers.map_or_else(cores, usize::from) {
            let worker = master.fork_worker()?;
            master.workers.push(worker);
        }
        println!("Serving HTTP on port {port} ...");
        println!("Document root: {}", root.display());
        println!("Trigger: {}", master.arguments.trigger.describe());
        println!(
            "Workers: {}, {}",
            pids(&master.workers),
            if master.arguments.shared_listener {
                "sharing one listening socket (--shared-listener)"
            } else {
                "each with a listening socket of its own (SO_REUSEPORT)"
            }
        );
        Ok(master)
    }
    // ANCHOR_END: start

    // ANCHOR: fork_worker
    /// Forks a worker, and returns its PID once it listens (in the worker,
    /// never returns).
    fn fork_worker(&mut self) -> Result<Pid> {
        // The worker closes its end of this pipe once it listens (or dies):
        // then the master's read returns, end of file.
        let (listening, said_listening) = pipe().context("pipe")?;
        // SAFETY: the master has one thread, so the child is a consistent
        // copy that may allocate and print (with threads, only
        // async-signal-safe calls until exec).
        match unsafe { fork() }.context("fork")? {
            ForkResult::Parent { child } => {
                drop(said_listening);
                let _ = read(&listening, &mut [0]);
                Ok(child)
            }
            ForkResult::Child => {
                drop(listening);
                self.run_worker(said_listening)
            }
        }
    }

    /// A worker: epoll_server on its listening socket, until SIGTERM.
    fn run_worker(&mut self, said_listening: OwnedFd) -> ! {
        // Die with the master, even of SIGKILL, which it cannot catch: the
        // kernel sends SIGTERM when the parent exits. Checked after asking:
        // had the master died before, the worker would already be another
        // process's child (init's), and no SIGTERM would ever come.
        if prctl::set_pdeathsig(Signal::SIGTERM).is_err() || getppid() != self.pid {
            process::exit(1);
        }
        common::output::prefix_every_line(format!("[worker {}] ", process::id()));
        let server = self.listening_socket().and_then(|socket| {
            WebServer::new(&self.arguments.site, self.arguments.trigger, socket)
        });
        drop(said_listening);
        match server.and_then(|mut server| server.run_forever()) {
            Ok(()) => process::exit(0),
            Err(err) => common::exit_with_error(env!("CARGO_BIN_NAME"), &err),
        }
    }

    /// The worker's listening socket: one of its own, bound with
    /// SO_REUSEPORT; with `--shared-listener`, the master's copy.
    fn listening_socket(&mut self) -> Result<Socket> {
        let masters = self.socket.take().context("the master's socket")?;
        if self.arguments.shared_listener {
            return Ok(masters);
        }
        drop(masters); // only bound: of no use to a worker
        WebServer::bind_socket(self.server_address, true)
    }
    // ANCHOR_END: fork_worker

    // ANCHOR: supervise
    /// The master's loop: sleep in sigwait until a signal is pending, then
    /// do what it says. Returns once every worker has stopped.
    pub(crate) fn supervise(&mut self) -> Result<()> {
        loop {
            match self.signals.wait().context("sigwait")? {
                Signal::SIGCHLD => self.replace_exited_workers()?,
                stop => return self.stop_workers(stop),
            }
        }
    }

    /// Reaps every worker that has exited (one SIGCHLD may stand for
    /// several, as in webserver3g), says how it ended, and forks another in
    /// its place; but not in place of one that exited with its own error
    /// (status 1, a line on stderr), which would fail again at once, and
    /// again: nginx does not restart a worker that exits with its fatal
    /// status either.
    fn replace_exited_workers(&mut self) -> Result<()> {
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
                Ok(status) => status,
                Err(errno) => return Err(errno).context("waitpid"),
            };
            common::print_child_status(status); // Child PID terminated by SIGKILL
            let pid = status.pid();
            let Some(slot) = self.workers.iter().position(|&w| Some(w) == pid) else {
                continue;
            };
            if matches!(status, WaitStatus::Exited(_, 1)) {
                println!("Not restarted: it failed on its own, and would again");
                self.workers.remove(slot);
                anyhow::ensure!(!self.workers.is_empty(), "every worker has failed");
            } else {
                self.workers[slot] = self.fork_worker()?;
                println!("Worker {} in its place", self.workers[slot]);
            }
        }
    }

    /// Sends every worker SIGTERM, and waits for each: no zombie is left,
    /// and no worker outlives the master.
    fn stop_workers(&mut self, signal: Signal) -> Result<()> {
        println!("{signal}: stopping workers {}", pids(&self.workers));
        for &worker in &self.workers {
            // A worker that has just died stays a zombie until waited for:
            // its PID is not yet free for another process to take.
            let _ = kill(worker, Signal::SIGTERM);
        }
        for &worker in &self.workers {
            waitpid(worker, None).context("waitpid")?;
        }
        Ok(())
    }
    // ANCHOR_END: supervise
}

/// `4242 4243`.
fn pids(workers: &[Pid]) -> String {
    let pids: Vec<String> = workers.iter().map(Pid::to_string).collect();
    pids.join(" ")
}

/// How many cores this process may run on: its CPU affinity, and the CPU
/// quota of its cgroup, rounded up (`nproc` says the first).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

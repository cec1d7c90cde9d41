//! prefork_server: epoll_server forked once into a worker per core, nginx's and Apache's
//! model, each worker with a listening socket of its own on the same port (SO_REUSEPORT).
//! Its chapter, docs/src/prefork_server.md, says why; the workers run epoll_server's loop,
//! with its own fairness.rs, deadlines.rs and trigger.rs; herd.rs counts their wakeups.
//!
//! Try it:
//!
//! ```text
//! cargo run -p prefork_server                     # ./html on port 7890, a worker per core
//! ss -ltnp 'sport = :7890'                        # a listening socket per worker
//! cargo run -p prefork_server -- --workers 4 --shared-listener   # one socket: the herd
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use socket2::{Domain, Socket, Type};
use static_http::{
    is_out_of_descriptors, turn_away_one_client, Connection, Log, ReadyList, Received, Request,
    RequestError, Response, Sent, Site, SiteOptions, Spare, Timeouts,
};

// epoll_server's own files, not copies: the workers run its loop unchanged.
#[path = "../../epoll_server/src/deadlines.rs"]
mod deadlines;
#[path = "../../epoll_server/src/fairness.rs"]
mod fairness;
mod herd;
mod master;
#[path = "../../epoll_server/src/trigger.rs"]
mod trigger;
use trigger::{trigger_flag, Trigger};

/// The `backlog` of listen(2): connections the kernel completes and queues
/// while the server is busy. The course says 128; a burst of a thousand
/// clients connecting at once overflows that, and the kernel then drops
/// their SYNs and each client retries a second later. The kernel caps it at
/// `net.core.somaxconn` (4096 on current kernels).
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// How much one `recv` may bring: the course's `recv(1024)`, made bigger so
/// that a whole browser request usually comes in one call. One buffer
/// serves every client; what a client's read brings is kept in its
/// `Connection` only until parsed.
const READ_BUFFER_SIZE: usize = 16 * 1024;

/// How many ready sockets one epoll_wait may return; more wait for the next
/// call. (Python's `epoll.poll()` asks for up to 1023.)
const MAX_EVENTS: usize = 1024;

/// A web server of static files (the Python's `WSGIServer`), on
/// non-blocking sockets registered with one epoll instance: one worker.
struct WebServer {
    /// The listening socket, non-blocking.
    server_socket: Socket,
    /// The epoll instance every socket is registered with.
    epoll: Epoll,
    /// Every client by its descriptor, what epoll hands back. Safe as a key:
    /// a descriptor is closed only while its own event is handled (or after
    /// the batch), so no later event is about a number a new one has taken.
    fd_socket: HashMap<RawFd, Client>,
    /// The document root, and how to answer a request for a file in it.
    site: Site,
    /// `--idle-timeout` and `--header-timeout`: how long a connection may
    /// be silent, and may take to send a request head.
    timeouts: Timeouts,
    /// When to look for expired connections next (deadlines.rs).
    next_deadline_check: Instant,
    /// `--trigger`: edge or level.
    trigger: Trigger,
    /// Edge-triggered, connections to serve again before sleeping (fairness.rs).
    ready_list: ReadyList,
    /// Where each `recv` lands, for every client in turn.
    read_buffer: Box<[u8]>,
    /// Given up to accept and turn away a client when descriptors run out.
    spare: Spare,
    /// The line per client and per request, or none with `--quiet`.
    log: Log,
    /// SIGTERM and SIGINT, read from a descriptor that epoll reports: how
    /// the worker learns, in its loop, that it must stop.
    stop_signals: SignalFd,
    /// Its wakeups for the listening socket, and what they found (herd.rs).
    herd: herd::Wakeups,
}

impl WebServer {
    // ANCHOR: socket_steps
    /// epoll_server's socket steps, with SO_REUSEPORT. A worker's socket
    /// listens; so does the master's with `--shared-listener`, which every
    /// worker inherits. Else the master's is only bound: it holds the port
    /// and takes no connection, since only listening sockets get any.
    fn bind_socket(server_address: SocketAddrV4, listen: bool) -> Result<Socket> {
        // 1. Create the socket.
        let server_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
        // 2. Bind, with SO_REUSEADDR so a restarted server can bind while
        //    connections of the previous run linger in TIME_WAIT.
        server_socket
            .set_reuse_address(true)
            .context("setsockopt SO_REUSEADDR")?;
        //    And SO_REUSEPORT, before bind, where the kernel checks the port
        //    is free: sockets of one user that all set it may bind the same
        //    port, and each new connection goes to one of those listening,
        //    chosen by a hash of its addresses and ports.
        server_socket
            .set_reuse_port(true)
            .context("setsockopt SO_REUSEPORT")?;
        server_socket
            .bind(&server_address.into())
            .with_context(|| format!("bind {server_address}"))?;
        if !listen {
            return Ok(server_socket);
        }
        // 3. Listen.
        server_socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
        // Non-blocking: accept returns EAGAIN at once when nobody is waiting,
        // instead of putting the process to sleep. Python:
        // server_socket.setblocking(False). Still needed with epoll: a client
        // reported may reset before accept runs, and edge mode loops to EAGAIN.
        server_socket
            .set_nonblocking(true)
            .context("set the listening socket non-blocking")?;
        Ok(server_socket)
    }
    // ANCHOR_END: socket_steps

    fn new(options: &SiteOptions, trigger: Trigger, server_socket: Socket) -> Result<WebServer> {
        // ANCHOR: epoll_create
        // The epoll instance: an interest list and a ready list, kept by the
        // kernel. Python: select.epoll(). EPOLL_CLOEXEC, as std does for every
        // descriptor it opens: a program we started would not inherit it.
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("epoll_create1")?;
        let listening = EpollFlags::EPOLLIN | trigger_flag(trigger);
        epoll
            .add(
                &server_socket,
                EpollEvent::new(listening, server_socket.as_raw_fd() as u64),
            )
            .context("epoll_ctl: register the listening socket")?;
        // ANCHOR_END: epoll_create

        // ANCHOR: stop_signals
        // SIGTERM and SIGINT are blocked (the master blocked them, and fork
        // copied its mask): no handler runs, they wait, pending, to be read
        // from this descriptor, which epoll reports like a socket.
        let stop_signals = SignalFd::with_flags(
            &SigSet::from_iter([Signal::SIGTERM, Signal::SIGINT]),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .context("signalfd")?;
        let signalled = EpollEvent::new(EpollFlags::EPOLLIN, stop_signals.as_raw_fd() as u64);
        epoll
            .add(&stop_signals, signalled)
            .context("epoll_ctl: register the signalfd")?;
        // ANCHOR_END: stop_signals

        let site = Site::open(&options.root)?;
        Ok(WebServer {
            server_socket,
            epoll,
            fd_socket: HashMap::new(),
            site,
            timeouts: options.timeouts(),
            next_deadline_check: Instant::now(),
            trigger,
            ready_list: ReadyList::new(),
            read_buffer: vec![0; READ_BUFFER_SIZE].into_boxed_slice(),
            spare: Spare::open()?,
            log: Log::new(options.quiet),
            stop_signals,
            herd: herd::Wakeups::default(),
        })
    }

    // ANCHOR: run_forever
    /// Runs the server: sleep in epoll_wait until some sockets are ready,
    /// serve those, and again, until SIGTERM or SIGINT.
    fn run_forever(&mut self) -> Result<()> {
        let mut events = vec![EpollEvent::empty(); MAX_EVENTS];
        loop {
            // Asleep until a socket is ready or a deadline check is due; not
            // at all while the ready list has work (deadlines.rs).
            let ready = match self.epoll.wait(&mut events, self.time_to_sleep()) {
                Ok(ready) => ready,
                // A signal woke the process (a debugger, SIGSTOP and SIGCONT):
                // nothing is ready, wait again; nix, like the kernel, won't retry.
                Err(Errno::EINTR) => 0,
                Err(errno) => return Err(errno).context("epoll_wait"),
            };
            // ANCHOR: events
            for event in &events[..ready] {
                let fd = event.data() as RawFd;
                if fd == self.server_socket.as_raw_fd() {
                    self.accept_and_count(); // herd.rs
                } else if fd == self.stop_signals.as_raw_fd() {
                    println!("stopping: {}", self.herd);
                    return Ok(());
                } else {
                    self.serve_descriptor(fd);
                }
            }
            // ANCHOR_END: events
            self.serve_ready_list(); // fairness.rs
            self.close_expired_clients(); // deadlines.rs
        }
    }
    // ANCHOR_END: run_forever

    // ANCHOR: accept_new_clients
    /// Accepts every client waiting in the listen queue.
    ///
    /// The Python tries one `accept` per turn. Here the loop goes on until
    /// EAGAIN: edge-triggered, the listening socket is reported when the
    /// queue goes from empty to not empty, and a second client connecting
    /// in the same instant would wait, unreported, until a third came.
    /// Level-triggered, one per event would be correct, but slow: each turn
    /// also serves every busy client, so under a storm of connects the queue
    /// fills, and new clients' SYNs are dropped and retried a second later.
    fn accept_new_clients(&mut self) {
        loop {
            match self.server_socket.accept() {
                Ok((socket, address)) => self.add_client(socket, address.as_socket()),
                // Nobody is waiting: the `except` of the Python.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                // The kernel looks for a free descriptor before it looks at
                // the queue: with the table full, accept says EMFILE even
                // when nobody is waiting.
                Err(error) if is_out_of_descriptors(&error) => {
                    if !turn_away_one_client(&self.server_socket, &mut self.spare) {
                        return;
                    }
                }
                // The client gave up (reset) while it waited in the queue, or a
                // signal arrived: nothing to do with the server, try again.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    println!("accept: {error}");
                    return;
                }
            }
        }
    }
    // ANCHOR_END: accept_new_clients

    // ANCHOR: add_client
    fn add_client(&mut self, socket: Socket, address: Option<SocketAddr>) {
        // Accepted sockets do not inherit O_NONBLOCK from the listening
        // socket on Linux, so each is set non-blocking too (Python:
        // new_socket.setblocking(False)); otherwise one recv on a silent
        // client would stop the whole loop (edge-triggered: the last read of
        // every turn, which must say EAGAIN).
        if let Err(error) = socket.set_nonblocking(true) {
            println!("set a client non-blocking: {error}");
            return;
        }
        let address = address.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let stream = TcpStream::from(socket);
        let fd = stream.as_raw_fd();
        // Register for reading: the request comes first. If bytes arrived
        // before this call, epoll_ctl finds the socket ready at once and the
        // next epoll_wait reports it, even in edge mode.
        // Python: epoll.register(new_socket.fileno(), EPOLLIN | EPOLLET).
        let interest = EpollFlags::EPOLLIN | trigger_flag(self.trigger);
        if let Err(errno) = self
            .epoll
            .add(&stream, EpollEvent::new(interest, fd as u64))
        {
            println!("epoll_ctl: register {address}: {errno}");
            return;
        }
        self.log.new_client(address);
        let client = Client {
            stream,
            address,
            connection: Connection::new(Instant::now()),
            interest,
        };
        self.fd_socket.insert(fd, client);
    }
    // ANCHOR_END: add_client

    /// Serves the client behind a descriptor that epoll (or the ready list)
    /// reported. It is taken out of the map for its turn, so that serving it
    /// can use the rest of the server, and put back if it stays open.
    fn serve_descriptor(&mut self, fd: RawFd) {
        let Some(mut client) = self.fd_socket.remove(&fd) else {
            return;
        };
        if self.serve_client(&mut client) {
            self.fd_socket.insert(fd, client);
        } else {
            self.close_client(client);
        }
    }

    /// One turn for one client: `take_turn`, then what it waits for next.
    /// Returns whether the connection stays open.
    fn serve_client(&mut self, client: &mut Client) -> bool {
        if let Err(error) = self.take_turn(client) {
            println!("{}: {error}", client.address);
            return false;
        }
        if client.connection.is_finished() {
            // The caller drops the client, and with it the socket. Python:
            // epoll.unregister(fd); fd_socket[fd].close(); del fd_socket[fd]
            self.log.closed(client.address);
            return false;
        }
        if let Err(errno) = self.register_what_it_waits_for(client) {
            println!("{}: epoll_ctl: {errno}", client.address);
            return false;
        }
        true
    }

    // ANCHOR: take_turn
    /// Level-triggered, one exchange, as in nonblock_server: what is left
    /// keeps the socket ready, and the next epoll_wait reports it again.
    /// Edge-triggered, exchanges until EAGAIN, since nothing left behind is
    /// reported again, or until the budget is spent (fairness.rs).
    fn take_turn(&mut self, client: &mut Client) -> io::Result<()> {
        let budget = fairness::Budget::for_one_turn(&client.connection);
        loop {
            let would_block = self.exchange_with(client)?;
            let work_left = !would_block
                && (client.connection.wants_to_read() || client.connection.has_output());
            if self.trigger == Trigger::Level || !work_left {
                return Ok(());
            }
            if budget.is_spent(&client.connection) {
                self.ready_list.push(client.stream.as_raw_fd());
                return Ok(());
            }
        }
    }
    // ANCHOR_END: take_turn

    // ANCHOR: exchange_with
    /// Tries to read, then tries to write, once each. EAGAIN is not an error
    /// here: edge-triggered, it ends the turn. Returns whether a call said
    /// so, or found the end of file: nothing more until the next event.
    fn exchange_with(&mut self, client: &mut Client) -> io::Result<bool> {
        let mut would_block = false;
        if client.connection.wants_to_read() {
            match client
                .connection
                .receive(&mut client.stream, &mut self.read_buffer)?
            {
                Received::Bytes(_) => self.deal_with_received_requests(client),
                // EAGAIN: the client has sent nothing since the last read
                // (the Python's `except Exception: pass`).
                Received::WouldBlock => would_block = true,
                // recv returned 0: the client's FIN; every later recv would
                // return 0 at once. `receive` noted it, and that is enough:
                // the connection reads no more, what is queued still goes out
                // below, and serve_client closes the socket once it is out.
                Received::EndOfStream => would_block = true,
            }
        }
        if client.connection.has_output() {
            match client.connection.send(&mut client.stream)? {
                // Some or all of the response is out (Nothing: a file shrank,
                // the connection ends). A request pipelined behind it, read
                // and held back until now (`next_request`), may be due: no
                // read to come would bring it up, so it is answered here.
                Sent::Bytes(_) | Sent::Nothing => self.deal_with_received_requests(client),
                // The socket buffer is full (a slow reader): next turn.
                Sent::WouldBlock => would_block = true,
            }
        }
        // The server ends the connection and its last response is out:
        // shut down writing, and read and discard until the client closes.
        if client.connection.wants_to_close_gracefully() {
            client.connection.close_gracefully(&client.stream)?;
        }
        Ok(would_block)
    }
    // ANCHOR_END: exchange_with

    /// Answers every complete request received whose turn it is: requests
    /// pipelined behind a response still being sent wait for it.
    fn deal_with_received_requests(&mut self, client: &mut Client) {
        while let Some(request) = client.connection.next_request() {
            self.deal_with_request(client, request);
        }
    }

    /// Answers one request: queues the response on the client's connection,
    /// to be sent as the socket takes it. The Python sends here, at once,
    /// and loses whatever the socket buffer could not take.
    fn deal_with_request(&self, client: &mut Client, request: Result<Request, RequestError>) {
        let (request_line, response) = match request {
            Ok(request) => (request.request_line.clone(), self.site.respond(&request)),
            Err(error) => (error.to_string(), Response::for_refused_head(error)),
        };
        self.log.answered(client.address, &request_line, &response);
        client.connection.queue(response);
    }

    // ANCHOR: register_what_it_waits_for
    /// EPOLLOUT while a response waits for room in the socket buffer,
    /// EPOLLIN otherwise. One epoll_ctl, and only when that changes.
    fn register_what_it_waits_for(&self, client: &mut Client) -> nix::Result<()> {
        let waits_for = if client.connection.has_output() {
            EpollFlags::EPOLLOUT
        } else {
            EpollFlags::EPOLLIN
        };
        let interest = waits_for | trigger_flag(self.trigger);
        if interest != client.interest {
            let fd = client.stream.as_raw_fd();
            self.epoll
                .modify(&client.stream, &mut EpollEvent::new(interest, fd as u64))?;
            client.interest = interest;
        }
        Ok(())
    }
    // ANCHOR_END: register_what_it_waits_for

    /// Unregisters and closes. Closing the last descriptor of a socket would
    /// take it out of epoll too; unregistering first says so.
    fn close_client(&mut self, client: Client) {
        let _ = self.epoll.delete(&client.stream);
        self.ready_list.remove(client.stream.as_raw_fd());
        drop(client);
    }
}

/// A client: its socket, its address (for the log), its buffers, and what
/// it is registered for in epoll.
struct Client {
    /// The connected socket, non-blocking; dropping it closes it.
    stream: TcpStream,
    /// Who it is, for the log.
    address: SocketAddr,
    /// What was received and not yet parsed, and what is left to send.
    connection: Connection,
    /// What it is registered for: EPOLLIN or EPOLLOUT, and EPOLLET if edge.
    interest: EpollFlags,
}

#[derive(Parser, Debug)]
#[command(
    about = "Static web server: epoll_server in a worker process per core, each with a listening socket of its own",
    after_help = "Chapter: docs/src/prefork_server.md (or the book: mdbook serve docs)."
)]
struct Arguments {
    #[command(flatten)]
    site: SiteOptions,

    /// How epoll reports a ready socket: once when it becomes ready (edge),
    /// or for as long as it stays ready (level)
    #[arg(long, value_enum, default_value_t = Trigger::Edge)]
    trigger: Trigger,

    /// How many worker processes to fork [default: the number of cores
    /// this process may run on]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,

    /// One listening socket, made by the master and inherited by every
    /// worker, instead of one each: every new connection wakes them all
    #[arg(long)]
    shared_listener: bool,
}

fn main() {
    // clap prints usage and exits with code 2 on a bad argument.
    let arguments = Arguments::parse();
    let result = master::Master::start(arguments).and_then(|mut master| master.supervise());
    if let Err(err) = result {
        // One line, a hint where a learner needs one, exit code 1.
        common::exit_with_error(env!("CARGO_BIN_NAME"), &err);
    }
}

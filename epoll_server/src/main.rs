//! epoll_server (seed 003, "web静态服务器-epool"): nonblock_server on epoll, edge or level.
//! Its chapter, docs/src/<crate>.md, says why; what is not the lesson is in static_http.
//!
//! Try it:
//!
//! ```text
//! cargo run -p epoll_server                      # ./html on port 7890, edge-triggered
//! cargo run -p epoll_server -- 7890 --trigger level
//! top -p $(pgrep epoll_server)                    # 0% CPU while idle
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Domain, Socket, Type};
use static_http::{
    is_out_of_descriptors, turn_away_one_client, Connection, Log, ReadyList, Received, Request,
    RequestError, Response, Sent, Site, SiteOptions, Spare, Timeouts,
};

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

/// Edge-triggered, how many bytes one connection may read and write in one
/// turn before the others get theirs: one read buffer. A client that sends
/// and reads as fast as it is served never makes the server's reads or
/// writes return EAGAIN; without a budget its turn would never end. With
/// this one, a client with little to say is still served until EAGAIN, and
/// a client with a lot gets about what level mode gives it: one full read
/// or one write per turn. (256 KiB per turn let a pipelining client delay
/// the others by 60 ms a request in a debug build; 16 KiB, by 4 ms.)
const BYTES_PER_TURN: usize = READ_BUFFER_SIZE;

#[derive(Parser, Debug)]
#[command(
    about = "Static web server on epoll, edge- or level-triggered",
    after_help = "Chapter: docs/src/epoll_server.md (or the book: mdbook serve docs)."
)]
struct Arguments {
    #[command(flatten)]
    site: SiteOptions,

    /// How epoll reports a ready socket: once when it becomes ready (edge),
    /// or for as long as it stays ready (level)
    #[arg(long, value_enum, default_value_t = Trigger::Edge)]
    trigger: Trigger,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Trigger {
    Edge,
    Level,
}

/// How a client's turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Nothing more to do until epoll reports the socket again.
    Done,
    /// Edge-triggered, the turn's budget ran out with work left: the client
    /// goes on the ready list.
    BudgetSpent,
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

/// A web server of static files on one epoll instance (the Python's
/// `WSGIServer`).
struct WebServer {
    /// The listening socket, non-blocking.
    server_socket: Socket,
    /// The epoll instance every socket is registered with.
    epoll: Epoll,
    /// Every client by its descriptor, which is what epoll hands back.
    ///
    /// Keying by descriptor is safe here because a descriptor is closed
    /// only while its own event is handled (or in the deadline check, after
    /// the batch): a later event of the same batch can never be about an
    /// old connection whose number a new one has taken. (The ready list
    /// forgets a descriptor when it is closed.)
    fd_socket: HashMap<RawFd, Client>,
    /// The document root, and how to answer a request for a file in it.
    site: Site,
    /// `--idle-timeout` and `--header-timeout`: how long a connection may
    /// be silent, and may take to send a request head.
    timeouts: Timeouts,
    /// When to look for expired connections next.
    next_deadline_check: Instant,
    /// `--trigger`: edge or level.
    trigger: Trigger,
    /// Edge-triggered: the connections that spent their turn's budget with
    /// work left, to be served again before the next sleep, since epoll
    /// will not report them again.
    ready_list: ReadyList,
    /// Where each `recv` lands, for every client in turn.
    read_buffer: Box<[u8]>,
    /// Given up to accept and turn away a client when descriptors run out.
    spare: Spare,
    /// The line per client and per request, or none with `--quiet`.
    log: Log,
}

impl WebServer {
    fn new(options: &SiteOptions, trigger: Trigger) -> Result<WebServer> {
        let server_address =
            static_http::server_address(options.port, static_http::options::DEFAULT_PORT)?;

        // ANCHOR: socket_steps
        // 1. Create the socket.
        let server_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
        // 2. Bind, with SO_REUSEADDR so a restarted server can bind while
        //    connections of the previous run linger in TIME_WAIT.
        server_socket
            .set_reuse_address(true)
            .context("setsockopt SO_REUSEADDR")?;
        server_socket
            .bind(&server_address.into())
            .with_context(|| format!("bind {server_address}"))?;
        // 3. Listen.
        server_socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
        // Non-blocking still: epoll says a client is waiting, but it may
        // have given up (reset) by the time accept runs, and in edge mode
        // the accept loop ends only on EAGAIN.
        server_socket
            .set_nonblocking(true)
            .context("set the listening socket non-blocking")?;
        // ANCHOR_END: socket_steps

        // ANCHOR: epoll_create
        // The epoll instance: an interest list and a ready list, kept by the
        // kernel. Python: select.epoll(). EPOLL_CLOEXEC, as std does for
        // every descriptor it opens, so a program we started would not
        // inherit it.
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("epoll_create1")?;
        let listening = EpollFlags::EPOLLIN | trigger_flag(trigger);
        epoll
            .add(
                &server_socket,
                EpollEvent::new(listening, server_socket.as_raw_fd() as u64),
            )
            .context("epoll_ctl: register the listening socket")?;
        // ANCHOR_END: epoll_create

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
        })
    }

    // ANCHOR: run_forever
    /// Runs the server: sleep in epoll_wait until some sockets are ready,
    /// serve those, and again, forever.
    fn run_forever(&mut self) -> Result<()> {
        let port = common::bound_port(&self.server_socket)?; // PORT=0: the one the kernel chose
        println!("Serving HTTP on port {port} ...");
        println!("Document root: {}", self.site.root().display());
        println!("Trigger: {}", self.trigger.describe());

        let mut events = vec![EpollEvent::empty(); MAX_EVENTS];
        loop {
            // Connections on the ready list have work now: look at epoll
            // without sleeping, then serve them too.
            let timeout = if self.ready_list.is_empty() {
                self.time_until_deadline_check()
            } else {
                EpollTimeout::ZERO
            };
            let ready = match self.epoll.wait(&mut events, timeout) {
                Ok(ready) => ready,
                // A signal woke the process (a debugger attaching, SIGSTOP
                // and SIGCONT): nothing is ready, wait again. nix, like the
                // system call, does not retry by itself.
                Err(Errno::EINTR) => 0,
                Err(errno) => return Err(errno).context("epoll_wait"),
            };
            for event in &events[..ready] {
                let fd = event.data() as RawFd;
                if fd == self.server_socket.as_raw_fd() {
                    self.accept_new_clients();
                } else {
                    self.serve_client(fd);
                }
            }
            for fd in self.ready_list.take_round() {
                self.serve_client(fd);
            }
            self.close_expired_clients();
        }
    }
    // ANCHOR_END: run_forever

    // ANCHOR: accept_new_clients
    /// Accepts waiting clients: all of them in edge mode, one per event in
    /// level mode.
    ///
    /// Edge-triggered, the listening socket is reported when the queue goes
    /// from empty to not empty. Two clients connecting together make one
    /// event; accept only one (as the Python does) and the other waits,
    /// unreported, until a third client comes.
    fn accept_new_clients(&mut self) {
        loop {
            match self.server_socket.accept() {
                Ok((socket, address)) => self.add_client(socket, address.as_socket()),
                // Nobody (else) is waiting.
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
            if self.trigger == Trigger::Level {
                // Still waiting clients keep the listening socket ready, and
                // the next epoll_wait reports it again.
                return;
            }
        }
    }
    // ANCHOR_END: accept_new_clients

    // ANCHOR: add_client
    fn add_client(&mut self, socket: Socket, address: Option<SocketAddr>) {
        // Non-blocking, so that a read or write can never put the process to
        // sleep: epoll's "ready" may be stale by the time the call runs, and
        // edge mode reads and writes until EAGAIN.
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
        self.fd_socket.insert(
            fd,
            Client {
                stream,
                address,
                connection: Connection::new(Instant::now()),
                interest,
            },
        );
    }
    // ANCHOR_END: add_client

    /// Handles an event on a client: does what the connection is waiting
    /// for, then closes it or registers for what it waits for next.
    ///
    /// The client is taken out of the map while it is served, so that the
    /// rest of the server can be used meanwhile, and put back if it stays.
    fn serve_client(&mut self, fd: RawFd) {
        let Some(mut client) = self.fd_socket.remove(&fd) else {
            return;
        };
        let turn = match self.exchange_with(&mut client) {
            Ok(turn) => turn,
            Err(error) => {
                println!("{}: {error}", client.address);
                self.close_client(client);
                return;
            }
        };
        if client.connection.is_finished() {
            self.log.closed(client.address);
            self.close_client(client);
            return;
        }
        if let Err(errno) = self.register_what_it_waits_for(&mut client) {
            println!("{}: epoll_ctl: {errno}", client.address);
            self.close_client(client);
            return;
        }
        if turn == Turn::BudgetSpent {
            self.ready_list.push(fd);
        }
        self.fd_socket.insert(fd, client);
    }

    // ANCHOR: exchange_with
    /// Reads and writes as far as the mode requires.
    ///
    /// Level-triggered: one read and one write per event. Whatever is left
    /// (more bytes to read, more room to write) keeps the socket ready, and
    /// the next epoll_wait reports it again.
    ///
    /// Edge-triggered: read until EAGAIN, write until EAGAIN, because
    /// nothing left behind will be reported again. One more subtlety: while
    /// a response is pending, reading stops (a client must not pipeline
    /// faster than it reads). When the response is out, bytes may still be
    /// waiting in the socket with no new edge to announce them: read again.
    ///
    /// And one hazard: a client that sends and reads as fast as it is
    /// served never lets EAGAIN come, and its turn would never end. So a
    /// turn ends after [`BYTES_PER_TURN`] too, and says so: the connection
    /// goes on the ready list, remembered, not forgotten.
    fn exchange_with(&mut self, client: &mut Client) -> io::Result<Turn> {
        let edge = self.trigger == Trigger::Edge;
        let mut budget = BYTES_PER_TURN;
        loop {
            let mut nothing_left_to_read = false;
            while client.connection.wants_to_read() {
                match client
                    .connection
                    .receive(&mut client.stream, &mut self.read_buffer)?
                {
                    Received::Bytes(count) => {
                        budget = budget.saturating_sub(count);
                        self.deal_with_received_requests(client);
                    }
                    Received::WouldBlock | Received::EndOfStream => {
                        nothing_left_to_read = true;
                        break;
                    }
                }
                if !edge || budget == 0 {
                    break;
                }
            }
            let mut socket_full = false;
            while client.connection.has_output() {
                match client.connection.send(&mut client.stream)? {
                    Sent::Bytes(count) => {
                        budget = budget.saturating_sub(count);
                        self.deal_with_received_requests(client);
                    }
                    Sent::Nothing => self.deal_with_received_requests(client),
                    Sent::WouldBlock => {
                        socket_full = true;
                        break;
                    }
                }
                if !edge || budget == 0 {
                    break;
                }
            }
            // The server ends the connection and its last response is out:
            // shut down writing, and read and discard until the client closes.
            if client.connection.wants_to_close_gracefully() {
                client.connection.close_gracefully(&client.stream)?;
            }
            let may_have_unread_bytes =
                !nothing_left_to_read && !socket_full && client.connection.wants_to_read();
            let may_write_more = !socket_full && client.connection.has_output();
            if !edge || !(may_have_unread_bytes || may_write_more) {
                return Ok(Turn::Done);
            }
            if budget == 0 {
                return Ok(Turn::BudgetSpent);
            }
        }
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

    /// Unregisters and closes. Python: epoll.unregister(fd);
    /// fd_socket[fd].close(); del fd_socket[fd]. (Closing the last
    /// descriptor of a socket also removes it from epoll; unregistering
    /// first says so explicitly.)
    fn close_client(&mut self, client: Client) {
        let _ = self.epoll.delete(&client.stream);
        self.ready_list.remove(client.stream.as_raw_fd());
        drop(client);
    }

    /// How long epoll_wait may sleep: forever with no client, else until
    /// the next look for expired connections.
    fn time_until_deadline_check(&self) -> EpollTimeout {
        if self.fd_socket.is_empty() {
            return EpollTimeout::NONE;
        }
        let remaining = self
            .next_deadline_check
            .saturating_duration_since(Instant::now());
        // Rounded up: a timeout rounded down to 0 ms would return at once,
        // again and again, until the deadline: a short spin.
        let milliseconds = remaining.as_micros().div_ceil(1000);
        EpollTimeout::from(u16::try_from(milliseconds).unwrap_or(u16::MAX))
    }

    /// Closes the connections whose deadline has passed (idle, head too
    /// slow, lingered enough), at most once per check interval. A scan of
    /// every client: cheap once a second even for 10,000 of them. A
    /// production server keeps its deadlines sorted (a timer wheel or heap)
    /// and looks only at the ones due.
    fn close_expired_clients(&mut self) {
        let now = Instant::now();
        if now < self.next_deadline_check {
            return;
        }
        self.next_deadline_check = now + self.timeouts.check_interval();
        let expired: Vec<RawFd> = self
            .fd_socket
            .iter()
            .filter(|(_, client)| client.connection.expired(now, &self.timeouts).is_some())
            .map(|(&fd, _)| fd)
            .collect();
        for fd in expired {
            if let Some(client) = self.fd_socket.remove(&fd) {
                if let Some(expiry) = client.connection.expired(now, &self.timeouts) {
                    self.log.expired(client.address, expiry);
                }
                self.close_client(client);
            }
        }
    }
}

impl Trigger {
    fn describe(self) -> &'static str {
        match self {
            Trigger::Edge => "edge (EPOLLIN|EPOLLET: read and write until EAGAIN)",
            Trigger::Level => "level (EPOLLIN: one read or write per event)",
        }
    }
}

/// EPOLLET for edge-triggered, nothing for level-triggered (epoll's default).
fn trigger_flag(trigger: Trigger) -> EpollFlags {
    match trigger {
        Trigger::Edge => EpollFlags::EPOLLET,
        Trigger::Level => EpollFlags::empty(),
    }
}

fn main() {
    // clap prints usage and exits with code 2 on a bad argument.
    let arguments = Arguments::parse();
    let result = WebServer::new(&arguments.site, arguments.trigger)
        .and_then(|mut server| server.run_forever());
    if let Err(err) = result {
        // One line, a hint where a learner needs one, exit code 1.
        common::exit_with_error(env!("CARGO_BIN_NAME"), &err);
    }
}

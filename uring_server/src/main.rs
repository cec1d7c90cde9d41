//! uring_server (issue 18): epoll_server's static server on io_uring. epoll said which
//! socket was ready, and the process then made the call; here the process *submits the
//! calls themselves* (accept, receive, send, splice, timeout) to a queue it shares with the
//! kernel, and reaps their results from another. One `io_uring_enter` per turn of the loop
//! submits everything prepared and sleeps until something has completed. Its chapter,
//! docs/src/uring_server.md, says why; what is not the lesson is in static_http and in the
//! modules below, each named for what it does.
//!
//! Try it:
//!
//! ```text
//! cargo run -p uring_server                          # ./html on port 7890
//! curl -i http://localhost:7890/
//! strace -c -f -p $(pgrep uring_server)              # io_uring_enter, and little else
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use io_uring::{cqueue, opcode, types, IoUring};
use nix::errno::Errno;
use socket2::{Domain, Socket, Type};
use static_http::Timeouts;
use static_http::{Connection, Log, Request, RequestError, Response, Site, SiteOptions, Spare};

mod accepting; // the multishot accept's completions; EMFILE, and accepting again later
mod buffer_ring; // the provided buffers receives land in
mod closing; // cancel what the kernel holds, then close
mod deadlines; // the ring timeout that closes idle and slow connections
mod files; // files' bodies: splice through a pipe, or read and send
mod operation; // user_data: what a completion is about
mod receiving; // the multishot receive of each connection
mod sending; // the send of each connection, and its completion
mod submission; // the submission queue, and the one io_uring_enter of a turn
mod unavailable; // where io_uring is missing or forbidden: one line, and why

use buffer_ring::BufferRing;
use deadlines::RingTimer;
use files::FileChunk;
use operation::Operation;
use receiving::Receiving;
use sending::Sending;

/// The `backlog` of listen(2), as in epoll_server.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// Entries of the submission queue (SQ): requests prepared in one turn. The completion
/// queue (CQ) gets twice as many. 64 bytes per SQE, 16 per CQE.
const RING_ENTRIES: u32 = 4096;
/// The provided buffers receives land in, shared by every connection: each is copied out
/// and given back as soon as its completion is reaped, so 4 MiB serve 10 connections or
/// 10,000. Registered as buffer group [`BUFFER_GROUP`].
const BUFFER_COUNT: u16 = 1024;
const BUFFER_SIZE: u32 = 4096;
const BUFFER_GROUP: u16 = 0;

impl WebServer {
    fn new(options: &SiteOptions) -> Result<WebServer> {
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
        // io_uring needs no O_NONBLOCK: it tries each operation without waiting, and when it
        // would wait, it waits inside the kernel, not in this process. The listening socket
        // is non-blocking all the same, for the one accept made by hand (accepting.rs).
        server_socket
            .set_nonblocking(true)
            .context("set the listening socket non-blocking")?;
        // ANCHOR_END: socket_steps

        // ANCHOR: ring_setup
        // The ring: io_uring_setup(2) creates a submission queue (SQ), where the process
        // writes requests (SQEs), and a completion queue (CQ), where the kernel writes their
        // results (CQEs), both in memory the two share, so that neither needs a system call
        // to read the other's entries. SINGLE_ISSUER: only this thread submits. DEFER_TASKRUN:
        // the kernel finishes completions when this thread asks for them in io_uring_enter,
        // instead of interrupting it whenever one is ready (Linux 6.1). In C, liburing's
        // io_uring_queue_init_params; the io-uring crate is as thin, and pushing an SQE is
        // `unsafe` in Rust: the kernel reads the memory it points to later, where the
        // borrow checker cannot see.
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(RING_ENTRIES)
            .map_err(unavailable::explain)?;

        // The provided buffers: a receive names a buffer group instead of a buffer, and the
        // kernel picks a buffer from the group when bytes arrive, not when the receive is
        // submitted. So 10,000 waiting receives hold no memory (buffer_ring.rs).
        let buffers = BufferRing::register(&ring, BUFFER_GROUP, BUFFER_COUNT, BUFFER_SIZE)
            .context("register the buffer ring (IORING_REGISTER_PBUF_RING)")?;
        // ANCHOR_END: ring_setup

        let site = Site::open(&options.root)?;
        let timeouts = options.timeouts();
        Ok(WebServer {
            server_socket,
            ring,
            buffers,
            clients: HashMap::new(),
            next_client: 0,
            completions: Vec::new(),
            backlog: submission::Backlog::new(),
            accepting: false,
            site,
            timeouts,
            deadline_timer: RingTimer::new(timeouts.check_interval()),
            accept_timer: RingTimer::new(accepting::RETRY_ACCEPT_AFTER),
            pipes: files::Kept::new(),
            buffers_kept: files::Kept::new(),
            spare: Spare::open()?,
            log: Log::new(options.quiet),
        })
    }

    // ANCHOR: run_forever
    /// Runs the server: submit what is prepared and sleep until something completes, handle
    /// every completion, and again, forever.
    fn run_forever(&mut self) -> Result<()> {
        let port = common::bound_port(&self.server_socket)?; // PORT=0: the one the kernel chose
        println!("Serving HTTP on port {port} ...");
        println!("Document root: {}", self.site.root().display());

        self.accept_multishot();
        loop {
            // The one system call of a turn: io_uring_enter hands the kernel every SQE
            // prepared since the last turn, and sleeps until at least one CQE is in the
            // completion queue (at once if one is already there).
            self.submit_and_wait()?; // submission.rs

            // Reap: copy the CQEs out of the shared ring, which frees their slots for the
            // kernel; then handle each, preparing the SQEs the next turn will submit.
            self.completions.extend(self.ring.completion());
            let mut completions = std::mem::take(&mut self.completions);
            for completion in completions.drain(..) {
                self.complete(&completion);
            }
            self.completions = completions;
        }
    }
    // ANCHOR_END: run_forever

    // ANCHOR: accept_multishot
    /// Arms the multishot accept: one SQE, after which the kernel accepts every client that
    /// connects, each with a CQE of its own (flag MORE: more will follow), until an error
    /// ends it (a CQE without MORE). Where epoll_server asked "is the socket readable?" and
    /// then called accept, here the accept itself waits in the kernel. The new sockets are
    /// non-blocking: not for io_uring, which waits for them itself, but for the splices that
    /// run in its worker threads, which must not sleep on a full socket (files.rs).
    fn accept_multishot(&mut self) {
        let listening = types::Fd(self.server_socket.as_raw_fd());
        let accept = opcode::AcceptMulti::new(listening)
            .flags(nix::libc::SOCK_CLOEXEC | nix::libc::SOCK_NONBLOCK)
            .build()
            .user_data(Operation::Accept.user_data());
        // SAFETY: the accept points to no memory of ours (the multishot form takes no
        // address buffer), and the listening socket lives as long as the server.
        unsafe { self.push(&[accept]) };
        self.accepting = true;
    }
    // ANCHOR_END: accept_multishot

    // ANCHOR: complete
    /// Handles one completion: its `user_data` says what completed, `result` is what the
    /// system call would have returned (a count, a descriptor, or -errno), and `flags` say
    /// whether more completions of the same request will follow (MORE) and which provided
    /// buffer the bytes are in (BUFFER).
    fn complete(&mut self, completion: &cqueue::Entry) {
        let (result, flags) = (completion.result(), completion.flags());
        match Operation::from_user_data(completion.user_data()) {
            Operation::Accept => self.accepted(result, cqueue::more(flags)), // accepting.rs
            Operation::Receive(id) => self.received(id, result, flags),      // receiving.rs
            Operation::Send(id) => self.sent(id, result),                    // sending.rs
            Operation::ReadFile(id) => self.file_read(id, result),           // files.rs
            Operation::CheckDeadlines => self.close_expired_clients(),       // deadlines.rs
            Operation::RetryAccept => self.accept_again(),                   // accepting.rs
            Operation::Cancel => {}
        }
    }
    // ANCHOR_END: complete
}

/// A web server of static files, on one io_uring instance.
struct WebServer {
    /// The listening socket, non-blocking (for turning a client away, accepting.rs).
    server_socket: Socket,
    /// The ring: the submission and completion queues, shared with the kernel.
    ring: IoUring,
    /// The provided buffers that receives land in (buffer_ring.rs).
    buffers: BufferRing,
    /// Every client by its number, the `user_data` of its operations.
    clients: HashMap<u64, Client>,
    /// The number the next client gets.
    next_client: u64,
    /// The completions of one turn, copied out of the completion queue.
    completions: Vec<cqueue::Entry>,
    /// Entries that found the submission queue full (submission.rs).
    backlog: submission::Backlog,
    /// Whether the multishot accept is armed.
    accepting: bool,
    /// The document root, and how to answer a request for a file in it.
    site: Site,
    /// `--idle-timeout` and `--header-timeout`.
    timeouts: Timeouts,
    /// The ring timeout after which expired connections are closed (deadlines.rs).
    deadline_timer: RingTimer,
    /// The ring timeout after which accepting starts again (accepting.rs).
    accept_timer: RingTimer,
    /// Idle pipes, kept for the next large file (files.rs).
    pipes: files::Kept,
    /// Idle buffers, kept for the next small file read from disk (files.rs).
    buffers_kept: files::Kept,
    /// Given up to accept and turn away a client when descriptors run out.
    spare: Spare,
    /// The line per client and per request, or none with `--quiet`.
    log: Log,
}

impl WebServer {
    // ANCHOR: add_client
    /// A new connection: its descriptor came in a CQE of the multishot accept. The multishot
    /// form returns no address, so it is asked for (getpeername), for the log.
    fn add_client(&mut self, stream: TcpStream) {
        let address = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        self.log.new_client(address);
        let id = self.next_client;
        self.next_client += 1;
        let mut client = Client {
            stream,
            address,
            connection: Connection::new(Instant::now()),
            receiving: Receiving::Off,
            sending: None,
            reading: false,
            chunk: FileChunk::default(),
            closing: false,
            failed: None,
        };
        // The request comes first: arm the multishot receive (receiving.rs).
        self.receive_as_needed(id, &mut client);
        self.clients.insert(id, client);
        self.check_deadlines_later(); // deadlines.rs
    }
    // ANCHOR_END: add_client

    // ANCHOR: serve_client
    /// After a completion about a client: its turn. The completion's handler took it out
    /// of the map, so that serving it can use the rest of the server; it is put back if it
    /// stays open.
    fn serve_client(&mut self, id: u64, mut client: Client) {
        if client.closing {
            self.close_client(id, client); // closing.rs: dropped once the kernel is done
            return;
        }
        match self.take_turn(id, &mut client) {
            Ok(true) => {
                self.clients.insert(id, client);
            }
            Ok(false) => {
                self.log.closed(client.address);
                self.close_client(id, client);
            }
            Err(error) => {
                println!("{}: {error}", client.address);
                self.close_client(id, client);
            }
        }
    }

    /// What the connection needs now that something completed: answer the requests received,
    /// start sending, begin closing gracefully, go on receiving or stop. Returns whether the
    /// connection stays open.
    fn take_turn(&mut self, id: u64, client: &mut Client) -> io::Result<bool> {
        if let Some(error) = client.failed.take() {
            return Err(error); // what a completion reported: a reset, a failed read
        }
        // While a send or a read is in flight, the kernel owns the bytes it reads or writes:
        // nothing is queued (which could move them) until its completion.
        if !client.is_busy() {
            self.deal_with_received_requests(client);
            if client.connection.has_output() {
                self.send_output(id, client); // sending.rs
            } else if client.connection.wants_to_close_gracefully() {
                // Shut down writing; read and discard until the client closes.
                client.connection.close_gracefully(&client.stream)?;
            }
            self.end_file_transfer(client); // files.rs
        }
        if client.connection.is_finished() && !client.is_busy() {
            return Ok(false);
        }
        self.receive_as_needed(id, client); // receiving.rs
        Ok(true)
    }
    // ANCHOR_END: serve_client

    /// Answers every complete request received whose turn it is: requests
    /// pipelined behind a response still being sent wait for it.
    fn deal_with_received_requests(&mut self, client: &mut Client) {
        while let Some(request) = client.connection.next_request() {
            self.deal_with_request(client, request);
        }
    }

    /// Answers one request: queues the response on the client's connection,
    /// to be sent as the socket takes it.
    fn deal_with_request(&self, client: &mut Client, request: Result<Request, RequestError>) {
        let (request_line, response) = match request {
            Ok(request) => (request.request_line.clone(), self.site.respond(&request)),
            Err(error) => (error.to_string(), Response::for_refused_head(error)),
        };
        self.log.answered(client.address, &request_line, &response);
        client.connection.queue(response);
    }
}

/// A client: its socket, its address (for the log), its buffers, and which of its
/// operations the kernel holds.
struct Client {
    /// The connected socket; dropping it closes it, once the kernel holds no operation on it.
    stream: TcpStream,
    /// Who it is, for the log.
    address: SocketAddr,
    /// What was received and not yet parsed, and what is left to send.
    connection: Connection,
    /// Whether its multishot receive is armed, being cancelled, or not (receiving.rs).
    receiving: Receiving,
    /// The send in flight, if any (sending.rs).
    sending: Option<Sending>,
    /// Whether a read of its file is in flight (files.rs).
    reading: bool,
    /// The chunk of its file read and not yet sent (files.rs).
    chunk: FileChunk,
    /// Being closed: its operations are cancelled, and it is dropped once all have
    /// completed (closing.rs).
    closing: bool,
    /// The error a completion reported, for its turn to end the connection with.
    failed: Option<io::Error>,
}

impl Client {
    /// Whether a send or a read is in flight: the kernel is using its buffers.
    fn is_busy(&self) -> bool {
        self.sending.is_some() || self.reading
    }
}

#[derive(Parser, Debug)]
#[command(
    about = "Static web server on io_uring: multishot accept and receive, provided buffers",
    after_help = "Needs io_uring (Linux 6.1 or later, not disabled by kernel.io_uring_disabled \
                  or a seccomp filter).\n\
                  Chapter: docs/src/uring_server.md (or the book: mdbook serve docs)."
)]
struct Arguments {
    #[command(flatten)]
    site: SiteOptions,
}

fn main() {
    // clap prints usage and exits with code 2 on a bad argument.
    let arguments = Arguments::parse();
    let result = WebServer::new(&arguments.site).and_then(|mut server| server.run_forever());
    if let Err(err) = result {
        // One line, a hint where a learner needs one, exit code 1.
        common::exit_with_error(env!("CARGO_BIN_NAME"), &err);
    }
}

/// The errno of a negative CQE result, as an error for the log.
fn errno_of(result: i32) -> io::Error {
    io::Error::from_raw_os_error(-result)
}

/// Whether a negative CQE result is this errno.
fn is_errno(result: i32, errno: Errno) -> bool {
    result == -(errno as i32)
}

//! nonblock_server (seed 003, "单进程非堵塞(长链接)"): non-blocking sockets, a busy loop.
//! Its chapter, docs/src/nonblock_server.md, says why; what is not the lesson is in static_http.
//!
//! Try it:
//!
//! ```text
//! cargo run -p nonblock_server           # serves ./html on port 7890
//! curl -v http://localhost:7890/
//! top -p $(pgrep nonblock_server)         # 100% CPU, serving nobody: the lesson
//! ```

use std::io;
use std::mem;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};
use static_http::{
    is_out_of_descriptors, turn_away_one_client, Connection, Log, Received, Request, RequestError,
    Response, Sent, Site, SiteOptions, Spare, Timeouts,
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

/// A web server of static files (the Python's `WSGIServer`), on
/// non-blocking sockets polled in a busy loop.
struct WebServer {
    /// The listening socket, non-blocking.
    server_socket: Socket,
    /// Every client, in the order they came.
    client_socket_list: Vec<Client>,
    /// The document root, and how to answer a request for a file in it.
    site: Site,
    /// `--idle-timeout` and `--header-timeout`: how long a connection may
    /// be silent, and may take to send a request head.
    timeouts: Timeouts,
    /// Where each `recv` lands, for every client in turn.
    read_buffer: Box<[u8]>,
    /// Given up to accept and turn away a client when descriptors run out.
    spare: Spare,
    /// The line per client and per request, or none with `--quiet`.
    log: Log,
}

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
        // Non-blocking: accept returns EAGAIN at once when nobody is waiting,
        // instead of putting the process to sleep. Python:
        // server_socket.setblocking(False).
        server_socket
            .set_nonblocking(true)
            .context("set the listening socket non-blocking")?;
        // ANCHOR_END: socket_steps

        let site = Site::open(&options.root)?;
        Ok(WebServer {
            server_socket,
            client_socket_list: Vec::new(),
            site,
            timeouts: options.timeouts(),
            read_buffer: vec![0; READ_BUFFER_SIZE].into_boxed_slice(),
            spare: Spare::open()?,
            log: Log::new(options.quiet),
        })
    }

    // ANCHOR: run_forever
    /// Runs the server: accept, then serve every client, and again, forever.
    ///
    /// Each turn of this loop makes at least one `accept` and one `recv` per
    /// client, whether or not anything happened: that is the busy loop, and
    /// the CPU it burns is what `epoll_server` exists to save.
    fn run_forever(&mut self) -> Result<()> {
        let port = common::bound_port(&self.server_socket)?; // PORT=0: the one the kernel chose
        println!("Serving HTTP on port {port} ...");
        println!("Document root: {}", self.site.root().display());

        loop {
            self.accept_new_clients();

            let now = Instant::now();
            // Taken out of `self` for the turn, so that serving a client can
            // use the rest of the server; `retain_mut` keeps the clients that
            // stay open, in order, without skipping any.
            let mut clients = mem::take(&mut self.client_socket_list);
            clients.retain_mut(|client| self.serve_client(client, now));
            self.client_socket_list = clients;
        }
    }
    // ANCHOR_END: run_forever

    // ANCHOR: accept_new_clients
    /// Accepts every client waiting in the listen queue.
    ///
    /// The Python tries one `accept` per turn. Here the loop goes on until
    /// EAGAIN: with many clients a turn is long (a `recv` per client), and
    /// a burst of connections would otherwise wait one turn each.
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
        // client would stop the whole loop.
        if let Err(error) = socket.set_nonblocking(true) {
            println!("set a client non-blocking: {error}");
            return;
        }
        let address = address.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let stream = TcpStream::from(socket);
        self.log.new_client(address);
        let client = Client {
            stream,
            address,
            connection: Connection::new(Instant::now()),
        };
        self.client_socket_list.push(client);
    }
    // ANCHOR_END: add_client

    /// One turn for one client: its deadline, then `exchange_with`.
    /// Returns whether the connection stays open.
    fn serve_client(&mut self, client: &mut Client, now: Instant) -> bool {
        if let Some(expiry) = client.connection.expired(now, &self.timeouts) {
            self.log.expired(client.address, expiry);
            return false;
        }
        if let Err(error) = self.exchange_with(client) {
            println!("{}: {error}", client.address);
            return false;
        }
        if client.connection.is_finished() {
            // The caller drops the client, and with it the socket. Python:
            // client_socket.close(); client_socket_list.remove(client_socket)
            self.log.closed(client.address);
            return false;
        }
        true
    }

    // ANCHOR: exchange_with
    /// Tries to read, then tries to write, once each. EAGAIN is not an error
    /// here, it is the common case: "nothing yet, ask again next turn".
    fn exchange_with(&mut self, client: &mut Client) -> io::Result<()> {
        if client.connection.wants_to_read() {
            match client
                .connection
                .receive(&mut client.stream, &mut self.read_buffer)?
            {
                Received::Bytes(_) => self.deal_with_received_requests(client),
                // EAGAIN: the client has sent nothing since the last read
                // (the Python's `except Exception: pass`).
                Received::WouldBlock => {}
                // recv returned 0: the client's FIN; every later recv would
                // return 0 at once. `receive` noted it, and that is enough:
                // the connection reads no more, what is queued still goes out
                // below, and serve_client closes the socket once it is out.
                Received::EndOfStream => {}
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
                Sent::WouldBlock => {}
            }
        }
        // The server ends the connection and its last response is out:
        // shut down writing, and read and discard until the client closes.
        if client.connection.wants_to_close_gracefully() {
            client.connection.close_gracefully(&client.stream)?;
        }
        Ok(())
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
}

/// A client: its socket, its address (for the log) and its buffers.
struct Client {
    /// The connected socket, non-blocking; dropping it closes it.
    stream: TcpStream,
    /// Who it is, for the log.
    address: SocketAddr,
    /// What was received and not yet parsed, and what is left to send.
    connection: Connection,
}

#[derive(Parser, Debug)]
#[command(
    about = "Static web server: non-blocking sockets polled in a busy loop",
    after_help = "Chapter: docs/src/nonblock_server.md (or the book: mdbook serve docs)."
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

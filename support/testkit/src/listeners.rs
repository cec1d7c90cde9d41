//! Stand-ins for a server, for the tests of a *client*: one that records
//! what arrives, one that answers as the test scripts it, a port that
//! refuses every connect, a listener that never accepts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::http::connect;
use crate::{eventually, PATIENCE};

/// Binds 127.0.0.1 on a free port and accepts every connection in a
/// background thread, which ends with the test process (accept blocks until
/// then). `accepted` runs in that thread, in the order of accept, and
/// returns the connection's work, which runs in a thread of its own, so
/// that a client holding one connection open does not stall the others.
fn accept_each<Work>(mut accepted: impl FnMut(TcpStream) -> Work + Send + 'static) -> SocketAddr
where
    Work: FnOnce() + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("getsockname");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(accepted(stream));
        }
    });
    address
}

/// The server side of a test of a *client*: accepts every connection and
/// reads each one to end-of-file, recording the bytes that arrived on it,
/// in the order the connections were accepted. It never answers.
pub struct RecordingListener {
    address: SocketAddr,
    connections: Arc<Mutex<Vec<RecordedConnection>>>,
}

/// One accepted connection: what arrived so far, and whether it has ended
/// (end-of-file, or an error such as a reset or a read timeout).
#[derive(Clone, Default)]
struct RecordedConnection {
    received: Vec<u8>,
    ended: bool,
}

impl RecordingListener {
    /// What [`RecordingListener::connections_so_far`] sends on its own
    /// connection, to find it among the others.
    const MARKER: &'static [u8] = b"testkit: marker connection\n";

    pub fn start() -> RecordingListener {
        let connections: Arc<Mutex<Vec<RecordedConnection>>> = Arc::default();
        let recorder = Arc::clone(&connections);
        let address = accept_each(move |mut stream| {
            let index = {
                let mut connections = recorder.lock().unwrap();
                connections.push(RecordedConnection::default());
                connections.len() - 1
            };
            let recorder = Arc::clone(&recorder);
            move || {
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                let mut chunk = [0u8; 4096];
                loop {
                    let read = stream.read(&mut chunk);
                    let connection = &mut recorder.lock().unwrap()[index];
                    match read {
                        Ok(count) if count > 0 => {
                            connection.received.extend_from_slice(&chunk[..count])
                        }
                        _ => {
                            connection.ended = true;
                            break;
                        }
                    }
                }
            }
        });
        RecordingListener {
            address,
            connections,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bytes received on every connection made before this call, each
    /// read to end-of-file, in the order they were accepted. So the count
    /// is exact, not "at least": the call makes one connection of its own,
    /// a marker, and waits until it is accepted. The kernel's queue of
    /// connections waiting for accept is first in, first out, so every
    /// connection completed before the marker was accepted before it.
    /// Then it waits until each of those has ended. Bounded by [`PATIENCE`].
    pub fn connections_so_far(&self) -> Vec<Vec<u8>> {
        let mut marker = connect(self.address);
        marker
            .write_all(Self::MARKER)
            .expect("send on the marker connection");
        drop(marker);
        eventually(
            PATIENCE,
            "the marker connection and every connection before it to end",
            || {
                let connections = self.connections.lock().unwrap();
                let marker_index = connections.iter().position(|connection| {
                    connection.ended && connection.received == Self::MARKER
                })?;
                let before = &connections[..marker_index];
                before
                    .iter()
                    .all(|connection| connection.ended)
                    .then(|| before.iter().map(|c| c.received.clone()).collect())
            },
        )
    }
}

/// What a [`ScriptedListener`] does with one connection once its request
/// head (up to the blank line) has arrived.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Sends these bytes, then keeps the connection open until the client
    /// closes it (keep-alive).
    AnswerAndKeepOpen(Vec<u8>),
    /// Sends these bytes for this request head and for every one after it
    /// on the connection (keep-alive), until the client closes it.
    AnswerEach(Vec<u8>),
    /// Sends these bytes, then closes the connection.
    AnswerAndClose(Vec<u8>),
    /// Closes the connection without a byte.
    Close,
    /// Sends nothing and keeps the connection open until the client closes
    /// it: a server that never answers.
    Ignore,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicUsize,
    requests: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
    /// Requests whose head carried `Connection: close`.
    asking_to_close: AtomicUsize,
}

/// The server side of a test of a *load tool*: answers each connection the
/// way the test scripts it (a good response, a bad one, none at all, a
/// close), and counts what the tool did: how many connections it made, how
/// many requests it sent, and how many of its connections were open at the
/// same time.
pub struct ScriptedListener {
    address: SocketAddr,
    counters: Arc<Counters>,
}

impl ScriptedListener {
    /// Serves each connection by `script`, which chooses the reply from the
    /// connection's number in accept order (from 0) and its request head
    /// (blank line included).
    pub fn start(script: impl Fn(usize, &[u8]) -> Reply + Send + Sync + 'static) -> Self {
        let counters = Arc::new(Counters::default());
        let script = Arc::new(script);
        let shared = Arc::clone(&counters);
        let address = accept_each(move |stream| {
            let index = shared.accepted.fetch_add(1, Ordering::SeqCst);
            let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
            shared.most_open.fetch_max(open, Ordering::SeqCst);
            let counters = Arc::clone(&shared);
            let script = Arc::clone(&script);
            move || {
                serve_one(stream, index, &counters, script.as_ref());
                counters.open.fetch_sub(1, Ordering::SeqCst);
            }
        });
        ScriptedListener { address, counters }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Complete request heads received so far.
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// Requests so far that asked for `Connection: close`.
    pub fn requests_asking_to_close(&self) -> usize {
        self.counters.asking_to_close.load(Ordering::SeqCst)
    }

    /// Connections open now (accepted, not yet ended).
    pub fn open(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// The most connections that were ever open at the same time.
    pub fn most_open_at_once(&self) -> usize {
        self.counters.most_open.load(Ordering::SeqCst)
    }
}

fn serve_one(
    mut stream: TcpStream,
    index: usize,
    counters: &Counters,
    script: impl Fn(usize, &[u8]) -> Reply,
) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        // The next request head, up to its blank line; what came after it
        // stays for the head after.
        let end = loop {
            if let Some(at) = received.windows(4).position(|window| window == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(count) => received.extend_from_slice(&chunk[..count]),
            }
        };
        let request: Vec<u8> = received.drain(..end).collect();
        counters.requests.fetch_add(1, Ordering::SeqCst);
        if String::from_utf8_lossy(&request)
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n")
        {
            counters.asking_to_close.fetch_add(1, Ordering::SeqCst);
        }
        let keep_open = match script(index, &request) {
            Reply::AnswerEach(bytes) => {
                if stream.write_all(&bytes).is_ok() {
                    continue;
                }
                return;
            }
            Reply::AnswerAndKeepOpen(bytes) => stream.write_all(&bytes).is_ok(),
            Reply::AnswerAndClose(bytes) => {
                let _ = stream.write_all(&bytes);
                false
            }
            Reply::Close => false,
            Reply::Ignore => true,
        };
        // Until the client closes (or resets) the connection, or PATIENCE passes.
        while keep_open && stream.read(&mut chunk).is_ok_and(|count| count > 0) {}
        return;
    }
}

/// A port on 127.0.0.1 where every connect is refused, for as long as this
/// lives: a socket is bound to it but does not listen, so the kernel answers
/// each SYN with a reset (ECONNREFUSED), and no other test can bind the port
/// in the meantime, as it could if a listener were closed to free it.
pub struct RefusingPort {
    _bound: socket2::Socket,
    pub port: u16,
}

impl RefusingPort {
    pub fn new() -> RefusingPort {
        let (bound, port) = bound_to_a_free_port();
        RefusingPort {
            _bound: bound,
            port,
        }
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A listener on 127.0.0.1 that never accepts, with a listen backlog of 0:
/// once the kernel's queue holds the one connection (or so) the backlog
/// allows, it drops each further SYN, and a client's connect waits, as
/// against a server too busy to accept, until its own timeout.
pub struct UnacceptingListener {
    _listening: socket2::Socket,
    pub port: u16,
}

impl UnacceptingListener {
    pub fn new() -> UnacceptingListener {
        let (listening, port) = bound_to_a_free_port();
        listening.listen(0).expect("listen");
        UnacceptingListener {
            _listening: listening,
            port,
        }
    }
}

impl Default for UnacceptingListener {
    fn default() -> Self {
        Self::new()
    }
}

fn bound_to_a_free_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&address.into()).expect("bind 127.0.0.1:0");
    let bound = socket.local_addr().expect("getsockname");
    let port = bound.as_socket().expect("an internet address").port();
    (socket, port)
}

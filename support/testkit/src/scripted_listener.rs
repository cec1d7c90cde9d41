//! The server side of a test of a *load tool*: a listener on 127.0.0.1 that
//! answers each connection the way the test scripts it (a good response, a
//! bad one, none at all, a close), and counts what the tool did: how many
//! connections it made, how many requests it sent, and how many of its
//! connections were open at the same time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::PATIENCE;

/// What the listener does with one connection once its request head (up to
/// the blank line) has arrived.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Sends these bytes, then keeps the connection open until the client
    /// closes it (keep-alive).
    AnswerAndKeepOpen(Vec<u8>),
    /// Sends these bytes, then closes the connection.
    AnswerAndClose(Vec<u8>),
    /// Closes the connection without a byte.
    Close,
    /// Sends nothing and keeps the connection open until the client closes
    /// it: a server that never answers.
    Ignore,
}

/// Chooses the reply for the connection accepted `index`-th (from 0) that
/// sent `request` (its head, blank line included).
pub type Script = dyn Fn(usize, &[u8]) -> Reply + Send + Sync;

#[derive(Default)]
struct Counters {
    accepted: AtomicUsize,
    requests: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
    /// Requests whose head carried `Connection: close`.
    asking_to_close: AtomicUsize,
}

pub struct ScriptedListener {
    address: SocketAddr,
    counters: Arc<Counters>,
}

impl ScriptedListener {
    /// Binds 127.0.0.1 on a free port with a listen backlog large enough
    /// for thousands of connections, and serves each connection in a thread
    /// of its own, by `script`.
    pub fn start(script: impl Fn(usize, &[u8]) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("getsockname");
        let counters = Arc::new(Counters::default());
        let script: Arc<Script> = Arc::new(script);
        let shared = Arc::clone(&counters);
        thread::spawn(move || {
            // Ends with the test process: accept blocks until then.
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let index = shared.accepted.fetch_add(1, Ordering::SeqCst);
                let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
                shared.most_open.fetch_max(open, Ordering::SeqCst);
                let counters = Arc::clone(&shared);
                let script = Arc::clone(&script);
                thread::spawn(move || {
                    serve_one(stream, index, &counters, script.as_ref());
                    counters.open.fetch_sub(1, Ordering::SeqCst);
                });
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

fn serve_one(mut stream: TcpStream, index: usize, counters: &Counters, script: &Script) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let Some(request) = read_head(&mut stream) else {
        return;
    };
    counters.requests.fetch_add(1, Ordering::SeqCst);
    if String::from_utf8_lossy(&request)
        .to_ascii_lowercase()
        .contains("\r\nconnection: close\r\n")
    {
        counters.asking_to_close.fetch_add(1, Ordering::SeqCst);
    }
    match script(index, &request) {
        Reply::AnswerAndKeepOpen(bytes) => {
            if stream.write_all(&bytes).is_ok() {
                wait_for_client_to_close(&mut stream);
            }
        }
        Reply::AnswerAndClose(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Close => {}
        Reply::Ignore => wait_for_client_to_close(&mut stream),
    }
}

/// Reads up to the blank line that ends a request head; `None` if the
/// connection ended first.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(count) => head.extend_from_slice(&chunk[..count]),
        }
    }
    Some(head)
}

/// Blocks until the client closes (or resets) the connection, or
/// [`PATIENCE`] passes.
fn wait_for_client_to_close(stream: &mut TcpStream) {
    let mut chunk = [0u8; 1024];
    while let Ok(count) = stream.read(&mut chunk) {
        if count == 0 {
            break;
        }
    }
}

//! Stand-ins for a server, for the tests of a *client*: one that records
//! what arrives, a port that refuses every connect, a listener that never
//! accepts. (The scripted one, which answers, is in `scripted_listener`.)

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::http::connect;
use crate::{eventually, PATIENCE};

/// The server side of a test of a *client*: a listener on 127.0.0.1 that
/// accepts every connection and reads each one to end-of-file, recording
/// the bytes that arrived on it, in the order the connections were
/// accepted. It never answers.
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

    /// Binds 127.0.0.1 on a free port and starts accepting in a background
    /// thread, which reads each connection in a thread of its own, so that
    /// a client holding one connection open does not stall the others.
    pub fn start() -> RecordingListener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("getsockname");
        let connections: Arc<Mutex<Vec<RecordedConnection>>> = Arc::default();
        let recorder = Arc::clone(&connections);
        thread::spawn(move || {
            // Ends with the test process: accept blocks until then.
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let index = {
                    let mut connections = recorder.lock().unwrap();
                    connections.push(RecordedConnection::default());
                    connections.len() - 1
                };
                let recorder = Arc::clone(&recorder);
                thread::spawn(move || {
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let read = stream.read(&mut chunk);
                        let mut connections = recorder.lock().unwrap();
                        let connection = &mut connections[index];
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
                });
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
        let bound = bound_to_a_free_port();
        let port = port_of(&bound);
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
        let listening = bound_to_a_free_port();
        listening.listen(0).expect("listen");
        let port = port_of(&listening);
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

fn bound_to_a_free_port() -> socket2::Socket {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&address.into()).expect("bind 127.0.0.1:0");
    socket
}

fn port_of(socket: &socket2::Socket) -> u16 {
    socket
        .local_addr()
        .expect("getsockname")
        .as_socket()
        .expect("an internet address")
        .port()
}

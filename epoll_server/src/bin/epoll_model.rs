//! epoll_model (seed 003, "epoll简单模型"): one edge-triggered epoll instance, no HTTP.
//! Its chapter, docs/src/epoll_server.md, says what it shows and why.
//!
//! Try it:
//!
//! ```text
//! cargo run -p epoll_server --bin epoll_model  # port 7788
//! nc localhost 7788                            # type lines; Ctrl-D to close
//! ```

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Domain, Socket, Type};

/// The port of the course's epoll model.
const DEFAULT_PORT: u16 = 7788;

/// A client: its socket and its address, for the prints. (The course keeps
/// two dictionaries, `connections` and `addresses`; one map of this does.)
struct Client {
    socket: TcpStream,
    address: SocketAddr,
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), run);
}

fn run() -> Result<()> {
    let server_address = static_http::server_address(None, DEFAULT_PORT)?;

    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    listener
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    listener
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    listener.listen(10).context("listen")?;
    // Edge-triggered accept loops until EAGAIN: only a non-blocking socket
    // ever says EAGAIN instead of putting the process to sleep.
    listener
        .set_nonblocking(true)
        .context("set the listening socket non-blocking")?;
    let port = common::bound_port(&listener)?; // PORT=0: the one the kernel chose
    println!("Listening on port {port} ...");

    // ANCHOR: model_epoll
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("epoll_create1")?;
    let edge_triggered_input = EpollFlags::EPOLLIN | EpollFlags::EPOLLET;
    // The event's data is the descriptor, as Python's epoll.poll() returns.
    epoll
        .add(
            &listener,
            EpollEvent::new(edge_triggered_input, listener.as_raw_fd() as u64),
        )
        .context("epoll_ctl: register the listening socket")?;
    // ANCHOR_END: model_epoll

    let mut connections: HashMap<RawFd, Client> = HashMap::new();
    let mut events = vec![EpollEvent::empty(); 64];
    let mut buffer = [0u8; 1024];
    // ANCHOR: model_loop
    loop {
        // Sleeps until something is ready: no timeout.
        let ready = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(ready) => ready,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno).context("epoll_wait"),
        };
        for event in &events[..ready] {
            let fd = event.data() as RawFd;
            if fd == listener.as_raw_fd() {
                accept_every_waiting_client(&listener, &epoll, &mut connections)?;
            } else if let Some(client) = connections.get_mut(&fd) {
                // Any event: EPOLLIN, or EPOLLIN with EPOLLHUP or EPOLLERR.
                // The course compares `events == select.EPOLLIN` and so
                // ignores a client that resets its connection.
                if !read_until_would_block(client, &mut buffer) {
                    let client = connections.remove(&fd).expect("just found");
                    // Python: epoll.unregister(fd); connections[fd].close()
                    let _ = epoll.delete(&client.socket);
                    println!("{} --- offline ---", client.address);
                    drop(client);
                }
            }
        }
    }
    // ANCHOR_END: model_loop
}

/// Accepts until EAGAIN: one edge may announce several clients.
fn accept_every_waiting_client(
    listener: &Socket,
    epoll: &Epoll,
    connections: &mut HashMap<RawFd, Client>,
) -> Result<()> {
    loop {
        let (socket, address) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => {
                // A client that reset while queued, or out of descriptors:
                // this model reports it and goes on (nonblock_server and
                // epoll_server show the full remedy for the latter).
                println!("accept: {error}");
                return Ok(());
            }
        };
        let address = address
            .as_socket()
            .context("a client that is not an internet socket")?;
        println!("new client {address}");
        socket
            .set_nonblocking(true)
            .context("set a client non-blocking")?;
        let socket = TcpStream::from(socket);
        let fd = socket.as_raw_fd();
        epoll
            .add(
                &socket,
                EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, fd as u64),
            )
            .context("epoll_ctl: register a client")?;
        connections.insert(fd, Client { socket, address });
    }
}

/// Reads and prints until EAGAIN. Returns false when the client is gone
/// (end of file, or an error such as a reset).
fn read_until_would_block(client: &mut Client, buffer: &mut [u8]) -> bool {
    loop {
        match client.socket.read(buffer) {
            Ok(0) => return false,
            Ok(count) => println!(
                "recv from {} ({count} bytes): {}",
                client.address,
                common::printable(&buffer[..count]).trim_end()
            ),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                println!("{}: {error}", client.address);
                return false;
            }
        }
    }
}

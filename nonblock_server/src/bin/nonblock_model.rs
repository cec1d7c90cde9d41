//! nonblock_model (seed 003, "单进程非堵塞 模型"): non-blocking accept and recv, no HTTP.
//! Its chapter, docs/src/nonblock_server.md, says what it shows and why.
//!
//! Try it:
//!
//! ```text
//! cargo run -p nonblock_server --bin nonblock_model  # port 7899
//! nc localhost 7899                                  # type lines; Ctrl-D to close
//! ```

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};

/// The port of the course's first model.
const DEFAULT_PORT: u16 = 7899;

/// The course's pause per turn, "用来测试"; `SLEEP_SECS` overrides it.
const PAUSE: Duration = Duration::from_millis(500);

/// A client: its socket and its address, for the prints.
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
    let pause = match std::env::var_os("SLEEP_SECS") {
        Some(_) => common::sleep_duration(0),
        None => PAUSE,
    };

    let tcp_server = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    tcp_server
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    tcp_server
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    tcp_server.listen(128).context("listen")?;
    // Python: tcp_server_tcp.setblocking(False)
    tcp_server
        .set_nonblocking(true)
        .context("set the listening socket non-blocking")?;
    let port = common::bound_port(&tcp_server)?; // PORT=0: the one the kernel chose
    println!("Listening on port {port} ...");

    let mut client_socket_list: Vec<Client> = Vec::new();
    let mut buffer = [0u8; 1024];
    // ANCHOR: model_loop
    loop {
        thread::sleep(pause);
        match tcp_server.accept() {
            Ok((socket, address)) => {
                let address = address
                    .as_socket()
                    .context("a client that is not an internet socket")?;
                println!("--- a new client arrived: {address} ---");
                // Accepted sockets do not inherit O_NONBLOCK on Linux.
                // Python: new_socket.setblocking(False)
                socket
                    .set_nonblocking(true)
                    .context("set a client non-blocking")?;
                client_socket_list.push(Client {
                    socket: TcpStream::from(socket),
                    address,
                });
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                println!("--- no new client ---");
            }
            Err(error) => println!("--- accept failed: {error} ---"),
        }

        // Python removes closed clients from the list while iterating over
        // it, which skips the client after each removed one; `retain_mut`
        // visits every client and keeps the open ones.
        client_socket_list.retain_mut(|client| match client.socket.read(&mut buffer) {
            Ok(0) => {
                // recv returned nothing: the client closed its side.
                println!("--- {} closed; closing it too ---", client.address);
                false // dropped: the socket is closed
            }
            Ok(count) => {
                println!(
                    "--- {} sent {count} bytes: {}",
                    client.address,
                    common::printable(&buffer[..count]).trim_end()
                );
                true
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                println!("--- {} sent nothing ---", client.address);
                true
            }
            Err(error) => {
                println!("--- {}: {error}; closing ---", client.address);
                false
            }
        });
    }
    // ANCHOR_END: model_loop
}

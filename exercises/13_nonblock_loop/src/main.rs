//! Exercise 13_nonblock_loop (nonblock_server): the non-blocking accept and recv loop.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 13_nonblock_loop`. Everything but the part marked
//! `EXERCISE` is nonblock_model, the chapter's first program
//! (nonblock_server/src/bin/nonblock_model.rs), as the lesson wrote it.
//!
//! Try it by hand:
//!
//! ```text
//! cargo run -p ex13_nonblock_loop    # port 7899
//! nc localhost 7899                    # in two terminals: type lines in each
//! ```

#[allow(unused_imports)] // io::ErrorKind::WouldBlock: for the case you add
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
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

/// Every interface, and PORT from the environment, DEFAULT_PORT if unset
/// (PORT=0: any free port).
fn server_address() -> Result<SocketAddrV4> {
    let port = match std::env::var("PORT") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("PORT must be a port number, not {text:?}"))?,
        Err(_) => DEFAULT_PORT,
    };
    Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
}

fn run() -> Result<()> {
    let server_address = server_address()?;
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
    // EXERCISE (1 of 3): this socket blocks: accept waits for a client.
    let port = common::bound_port(&tcp_server)?; // PORT=0: the one the kernel chose
    println!("Listening on port {port} ...");

    let mut client_socket_list: Vec<Client> = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        thread::sleep(pause);
        match tcp_server.accept() {
            Ok((socket, address)) => {
                let address = address
                    .as_socket()
                    .context("a client that is not an internet socket")?;
                println!("--- a new client arrived: {address} ---");
                // EXERCISE (2 of 3): this client's socket blocks: recv waits.
                client_socket_list.push(Client {
                    socket: TcpStream::from(socket),
                    address,
                });
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
                    String::from_utf8_lossy(&buffer[..count]).trim_end()
                );
                true
            }
            // EXERCISE (3 of 3): a non-blocking recv that has nothing to
            // read fails with WouldBlock (EAGAIN): that is not an error.
            Err(error) => {
                println!("--- {}: {error}; closing ---", client.address);
                false
            }
        });
    }
}

//! Exercise 12_client_connections (client3): the client's connection loop.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 12_client_connections`. A smaller client3:
//! `--max-clients` processes, each opening `--max-conns` connections to
//! 127.0.0.1:PORT (8888 by default), each sending one request, and holding
//! them all until the process exits.
//!
//! Try it by hand:
//!
//! ```text
//! cargo run -p webserver3g                     # in one terminal
//! cargo run -p ex12_client_connections -- --max-clients=2 --max-conns=3
//! ```

use std::io::Write;
#[allow(unused_imports)] // TcpStream: for the connections you open
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process;

use anyhow::{Context, Result};
use clap::Parser;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

/// The request every connection sends, as client3's Python does.
#[allow(dead_code)] // for the requests you send
const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: localhost:8888\r\n\r\n";

/// How many clients, and how many connections each.
#[derive(Parser)]
#[command(about = "Opens max-clients x max-conns connections to 127.0.0.1:PORT")]
struct Arguments {
    /// How many client processes to fork.
    #[arg(long, default_value_t = 1)]
    max_clients: u32,
    /// How many connections each client opens and holds.
    #[arg(long, default_value_t = 1)]
    max_conns: u32,
}

/// 127.0.0.1 and PORT from the environment, 8888 if unset.
fn server_address() -> Result<SocketAddr> {
    let port = match std::env::var("PORT") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("PORT must be a port number, not {text:?}"))?,
        Err(_) => 8888,
    };
    Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// One client: `max_conns` connections, each sending the request; all of
/// them stay open until the process exits.
fn client(client_number: u32, max_conns: u32, server: SocketAddr) -> Result<()> {
    // EXERCISE: open `max_conns` connections to `server`. On each, send
    // REQUEST, print "client {client_number}: connection {N}", and keep the
    // connection: all of them must stay open until the process exits (a
    // TcpStream closes when it is dropped).
    todo!("client {client_number}: open {max_conns} connections to {server}")
}

fn run() -> Result<()> {
    let arguments = Arguments::parse();
    let server = server_address()?;
    let mut children = Vec::new();
    for client_number in 1..=arguments.max_clients {
        // SAFETY: the process has one thread, so the child is a consistent
        // copy that may allocate and print.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                let code = match client(client_number, arguments.max_conns, server) {
                    Ok(()) => 0,
                    Err(err) => {
                        eprintln!("{err:#}");
                        1
                    }
                };
                let _ = std::io::stdout().flush();
                process::exit(code);
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    for child in children {
        waitpid(child, None).context("waitpid")?;
    }
    Ok(())
}

fn main() {
    if let Err(err) = run() {
        eprintln!("ex12_client_connections: {err:#}");
        process::exit(1);
    }
}

//! WRONG ANSWER to 12_client_connections: one connection, and the request
//! sent on it max-conns times. The server sees one socket per client (one
//! accept, one descriptor), however many requests travel on it: client3
//! opens a connection per request.
//! Must fail saying: "connections should make 12"
//! Must fail saying: "a connection of its own"

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process;

use anyhow::{Context, Result};
use clap::Parser;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

/// The request every connection sends, as client3's Python does.
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
    // The mistake: one connection for every request.
    let mut sock = TcpStream::connect(server)
        .with_context(|| format!("client {client_number}: connect to {server}"))?;
    for connection_number in 1..=max_conns {
        sock.write_all(REQUEST)
            .with_context(|| format!("client {client_number}: send the request"))?;
        println!("client {client_number}: connection {connection_number}");
    }
    Ok(())
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

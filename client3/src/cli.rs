//! The command line (argparse's part of client3.py) and what it names: the
//! server's address and the request. Setup around the lesson, not the lesson.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context, Result};
use clap::{value_parser, Parser};

/// Test client for LSBAWS: many processes, each holding many connections.
#[derive(Parser)]
pub struct Arguments {
    /// Maximum number of clients (processes), 1 to 1000.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..=1000))]
    pub max_clients: u32,
    /// Maximum number of connections per client, 1 to 65535 (each takes a
    /// local port of its own).
    #[arg(long, default_value_t = 1024, value_parser = value_parser!(u32).range(1..=65535))]
    pub max_conns: u32,
    /// The server's host name or IP address.
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// The server's port.
    #[arg(long, default_value_t = common::DEFAULT_PORT, value_parser = value_parser!(u16).range(1..))]
    pub port: u16,
    /// Seconds a connect may take before it counts as failed, 1 to 3600.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = value_parser!(u64).range(1..=3600))]
    pub connect_timeout: u64,
}

impl Arguments {
    /// client3.py's `SERVER_ADDRESS`, looked up once, in the parent, not by
    /// each child. IPv4 first: the servers listen on IPv4 only (the Python
    /// opens an AF_INET socket), and `localhost` may also resolve to `::1`.
    pub fn server_address(&self) -> Result<SocketAddr> {
        let host = &self.host;
        let addresses = (host.as_str(), self.port).to_socket_addrs();
        let addresses = addresses.with_context(|| format!("resolve {host}"))?;
        let ipv4_first = addresses.min_by_key(SocketAddr::is_ipv6);
        ipv4_first.with_context(|| format!("resolve {host}: no address"))
    }

    /// client3.py's `REQUEST`, with CRLF line ends as HTTP wants, and a
    /// `Host` header naming the server as the user did: `localhost:8888`.
    pub fn request(&self) -> Vec<u8> {
        // An IPv6 address in a Host header is written in brackets: [::1]:80.
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("GET /hello HTTP/1.1\r\nHost: {host}:{}\r\n\r\n", self.port).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_written_in_brackets() {
        let arguments = Arguments::parse_from(["client3", "--host=::1"]);
        let request = b"GET /hello HTTP/1.1\r\nHost: [::1]:8888\r\n\r\n";
        assert_eq!(arguments.request(), request);
    }
}

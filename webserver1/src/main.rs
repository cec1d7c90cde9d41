//! webserver1 (part1/webserver1.py): the socket steps, one greeting for any request.
//! Part 1 of "Let's Build A Web Server"; its chapter, docs/src/webserver1.md, says why.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver1
//! curl -v http://localhost:8888/hello
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpStream};

use anyhow::{Context, Result};
use common::{eprintln, println}; // std's, except that a closed or full log cannot stop the server
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2), 1 as in the Python: how many completed
/// connections the kernel queues while the server is busy elsewhere. Linux
/// queues one more than asked; when the queue is full it drops a new
/// client's SYN, and that client's kernel sends it again a second later.
/// Part 3 (webserver3b) makes that queue visible.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// A web server: a listening socket and what it does with each client.
///
/// The Python is a flat script; here it is a struct so that Part 2's server
/// is this same struct with an application added:
/// `diff webserver1/src/main.rs webserver2/src/main.rs` shows the split.
struct WebServer {
    /// The socket the kernel queues new connections on.
    listen_socket: Socket,
}

impl WebServer {
    // ANCHOR: socket_steps
    /// The socket steps, in the article's order, up to a socket that the
    /// kernel accepts connections on.
    fn bind(server_address: SocketAddrV4) -> Result<WebServer> {
        let listen_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
        // Without SO_REUSEADDR, a restarted server could not bind its port
        // while connections of the previous run linger in TIME_WAIT.
        listen_socket
            .set_reuse_address(true)
            .context("setsockopt SO_REUSEADDR")?;
        listen_socket
            .bind(&server_address.into())
            .with_context(|| format!("bind {server_address}"))?;
        listen_socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
        Ok(WebServer { listen_socket })
    }
    // ANCHOR_END: socket_steps

    // ANCHOR: accept_loop
    /// One client at a time, for ever: the next `accept` happens only after
    /// the previous client's connection is closed.
    fn serve_forever(&self) -> Result<()> {
        loop {
            let (client_socket, _client_address) = self.listen_socket.accept().context("accept")?;
            let mut client_connection = TcpStream::from(client_socket);
            if let Err(err) = self.handle_one_request(&mut client_connection) {
                // One client's trouble (a reset, a closed connection) is not
                // the server's: say so and go on to the next client.
                eprintln!("{err:#}");
            }
            // Dropping the stream closes the socket: the kernel sends FIN and
            // the client reads end-of-file, which ends the body. Python:
            // client_connection.close().
            drop(client_connection);
        }
    }
    // ANCHOR_END: accept_loop

    // ANCHOR: handle_request
    /// Reads the request, prints it and sends the greeting.
    ///
    /// Like the Python, it reads once, at most 1024 bytes, and answers
    /// whatever that read brought: that is why a line typed in telnet is
    /// answered at once. It is also a simplification: a request longer than
    /// one read is cut, and closing a socket with unread bytes makes Linux
    /// send RST instead of FIN, which can destroy the greeting before the
    /// client reads it. A production server reads until the blank line that
    /// ends the request head and bounds its size; webserver2 does.
    fn handle_one_request(&self, client_connection: &mut TcpStream) -> Result<()> {
        let mut request = [0u8; 1024];
        let received = client_connection
            .read(&mut request)
            .context("recv from client")?;
        // The bytes are whatever the client sent: print them lossily, so that
        // a client sending bytes that are not UTF-8 cannot stop the server,
        // and with control characters escaped, so that it cannot drive the
        // terminal (the chapter says why).
        println!("{}", common::printable(&request[..received]));
        client_connection
            .write_all(common::HTTP_RESPONSE)
            .context("send to client")?;
        Ok(())
    }
    // ANCHOR_END: handle_request
}

fn run() -> Result<()> {
    let server = WebServer::bind(common::server_address()?)?;
    let port = common::bound_port(&server.listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");
    server.serve_forever()
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), run);
}

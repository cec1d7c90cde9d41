//! Exercise 03_read_whole_head (webserver1's hello_name): read the whole
//! request head, however many reads it takes.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 03_read_whole_head`. A smaller hello_name (the
//! server of exercise 02, solved); `read_request_head` is the part to fix.
//!
//! Try it by hand:
//!
//! ```text
//! cargo run -p ex03_read_whole_head
//! curl http://localhost:8888/Alice                 # Hello, Alice!
//! curl -i http://localhost:8888/%1B%5B31mred       # 400 Bad Request
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};

/// The most bytes a request head may take: without a bound, one client
/// could make the server buffer without end.
#[allow(dead_code)] // for the bound you add
const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// What the server answers: the status line's code and reason, and the body.
struct Answer {
    /// `200 OK`, `400 Bad Request`...
    status: &'static str,
    /// The text after the head.
    body: String,
}

impl Answer {
    fn refusal(status: &'static str, reason: &str) -> Answer {
        Answer {
            status,
            body: format!("{reason}\n"),
        }
    }
}

/// The answer to `GET target`: `/Alice` greets `Hello, Alice!`, `/` greets
/// the World, the query string (`?lang=en`) is not part of the name, and the
/// name is percent-decoded once. A name that is not UTF-8, holds a control
/// character, or has a broken `%` escape is refused with 400.
fn greeting(target: &str) -> Answer {
    let path = target.split('?').next().unwrap_or_default();
    let encoded = path.strip_prefix('/').unwrap_or(path);
    let Some(decoded) = common::percent_decode(encoded.as_bytes()) else {
        return Answer::refusal(
            "400 Bad Request",
            "A % in the path must be followed by two hex digits.",
        );
    };
    let Ok(name) = String::from_utf8(decoded) else {
        return Answer::refusal("400 Bad Request", "The name is not UTF-8.");
    };
    // Refused, not escaped: nobody's name holds a line feed or an escape.
    if name.chars().any(char::is_control) {
        return Answer::refusal("400 Bad Request", "A name has no control characters.");
    }
    let name = if name.is_empty() { "World" } else { &name };
    Answer {
        status: "200 OK",
        body: format!("Hello, {name}!\n"),
    }
}

/// EXERCISE: reads once, at most 1024 bytes, as webserver1 does, and takes
/// that for the whole head. A request that arrives in two pieces is cut.
/// Read until the blank line (`\r\n\r\n`) that ends the head, however
/// many reads that takes; `None` if the client closes first or the head
/// grows past MAX_REQUEST_HEAD_BYTES.
fn read_request_head(client_connection: &mut TcpStream) -> Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 1024];
    let count = client_connection
        .read(&mut chunk)
        .context("recv from client")?;
    Ok(Some(chunk[..count].to_vec()))
}

fn handle_one_request(client_connection: &mut TcpStream) -> Result<()> {
    let answer = match read_request_head(client_connection)? {
        None => Answer::refusal("400 Bad Request", "The request head is cut or too long."),
        Some(head) => {
            let head = String::from_utf8_lossy(&head).into_owned();
            let request_line = head.lines().next().unwrap_or_default().to_owned();
            println!("{request_line}");
            match request_line.split(' ').collect::<Vec<_>>()[..] {
                ["GET" | "HEAD", target, _version] => greeting(target),
                [_, _, _] => Answer::refusal("405 Method Not Allowed", "Only GET is greeted."),
                _ => Answer::refusal("400 Bad Request", "The request line is malformed."),
            }
        }
    };
    let response = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
    client_connection
        .write_all(response.as_bytes())
        .context("send to client")
}

fn serve_forever() -> Result<()> {
    let server_address = common::server_address()?;
    let listen_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    listen_socket
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    listen_socket
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    listen_socket.listen(1).context("listen")?;
    let port = common::bound_port(&listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");
    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_one_request(&mut client_connection) {
            eprintln!("{err:#}");
        }
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

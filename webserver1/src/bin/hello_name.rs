//! hello_name: a command-line tool turned into a service.
//!
//! Ports the hello-name server of "from a tool to a service" (seed 004).
//! The tool, `tool.py Alice`, prints `Hello, Alice!` and ends. The service
//! takes the name from the request's path instead of its arguments, answers,
//! and keeps running: `GET /Alice` answers `Hello, Alice!`, `GET /` answers
//! `Hello, World!`.
//!
//! Changed from webserver1 (still one client at a time, `listen(1)`):
//!
//! - It reads the whole request head, until the blank line that ends it, at
//!   most 8 KiB (more is answered `431`), instead of one read: the name is in
//!   the request line, and closing a connection whose request was not read to
//!   its end can reset it (RST) before the client reads the answer. Reading
//!   and checking the head is `common::request_head`'s (httparse), shared
//!   with webserver2 and the static servers.
//! - The name is the path after the `/`, without the query string, and
//!   percent-decoded once: `/Zhuibing%20Dan` greets `Zhuibing Dan`, and
//!   `/%2541` greets `%41` (decoding twice would make it `A`, and let a
//!   client smuggle past a check what the first decoding should have shown).
//! - A name that is not UTF-8, or that holds a control character (`%0A`,
//!   `%1B`, a raw escape byte...), is refused with `400 Bad Request` and a
//!   fixed message. Refusing, not escaping: no one's name has a line feed or
//!   a terminal escape in it, so such a request is a mistake or an attack;
//!   escaping would greet a name the client never wrote (`\u{1b}`) and
//!   invent a notation for it. Nothing the client sent is echoed into a
//!   refusal.
//! - A head that is not HTTP/1.x gets `400` (`505` for another version), a
//!   method other than GET or HEAD gets `405` (the Python crashed on the
//!   first and greeted the second). So does an HTTP/1.1 request without a
//!   `Host`, or with two, or one that is not `host[:port]`: RFC 9112 §3.2's
//!   rule, checked by the same code as in the static servers.
//! - The response says what it is: `Content-Type: text/plain;
//!   charset=utf-8` (so `/%E5%BC%A0%E4%B8%89` greets 张三 correctly), and
//!   `X-Content-Type-Options: nosniff`, so that a browser shown
//!   `/<script>...` displays text instead of guessing HTML and running it.
//!   `Content-Length` and `Connection: close` tell the client where the
//!   body ends.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver1 --bin hello_name
//! curl http://localhost:8888/Alice                 # Hello, Alice!
//! curl http://localhost:8888/                      # Hello, World!
//! curl http://localhost:8888/Zhuibing%20Dan        # Hello, Zhuibing Dan!
//! curl -i http://localhost:8888/%1B%5B31mred       # 400 Bad Request
//! ```

use std::io::Write;
use std::net::TcpStream;

use anyhow::{Context, Result};
use common::request_head::{self, Incoming, RequestHead};
use common::{eprintln, println}; // std's, except that a closed or full log cannot stop the server
use socket2::{Domain, Socket, Type};

/// The `backlog` of listen(2), 1 as in the chapter's script.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// What the server answers.
struct Answer {
    /// The status line's code and reason: `200 OK`, `400 Bad Request`.
    status: &'static str,
    /// The text of the body: the greeting, or why there is none.
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

/// The answer to a request head such as `GET /Alice HTTP/1.1`.
fn answer_to(head: &RequestHead) -> Answer {
    if let Err(error) = head.check_host() {
        return Answer::refusal(error.status(), error.reason());
    }
    if head.method != "GET" && head.method != "HEAD" {
        return Answer::refusal("405 Method Not Allowed", "Only GET and HEAD greet.");
    }
    match name_in(&head.target) {
        Ok(name) => Answer {
            status: "200 OK",
            body: format!("Hello, {name}!\n"),
        },
        Err(reason) => Answer::refusal("400 Bad Request", reason),
    }
}

/// The name a request target asks to greet: the path after its `/`,
/// percent-decoded once; `World` for an empty one.
fn name_in(target: &str) -> Result<String, &'static str> {
    // The query string, if any, is not part of the name.
    let path = target.split('?').next().unwrap_or_default();
    let Some(encoded_name) = path.strip_prefix('/') else {
        return Err("The path must start with /.");
    };
    let decoded = common::percent_decode(encoded_name.as_bytes())
        .ok_or("A % in the path is not followed by two hex digits.")?;
    let name = String::from_utf8(decoded).map_err(|_| "The name is not UTF-8.")?;
    if name.chars().any(char::is_control) {
        return Err("A name cannot hold control characters.");
    }
    if name.is_empty() {
        return Ok("World".to_owned());
    }
    Ok(name)
}

/// The response on the wire. A HEAD request gets the head only, with the
/// Content-Length the body would have.
fn response_bytes(answer: &Answer, head_only: bool) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {length}\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n",
        status = answer.status,
        length = answer.body.len(),
    );
    if answer.status.starts_with("405") {
        // A 405 must say which methods would have worked (RFC 9110).
        response.push_str("Allow: GET, HEAD\r\n");
    }
    response.push_str("\r\n");
    let mut response = response.into_bytes();
    if !head_only {
        response.extend_from_slice(answer.body.as_bytes());
    }
    response
}

fn handle_request(client_connection: &mut TcpStream) -> Result<()> {
    let (request_line, answer) =
        match request_head::read(client_connection).context("recv from client")? {
            Incoming::Head(head, _body) => (head.request_line(), answer_to(&head)),
            // Connected and closed without a word: nobody to answer.
            Incoming::NothingSent => return Ok(()),
            // Not HTTP/1.x, cut short, or over 8 KiB: 400, 505 or 431.
            Incoming::Refused(error, received) => (
                request_head::first_line(&received),
                Answer::refusal(error.status(), error.reason()),
            ),
        };
    // Quoted, with control characters escaped, so that a hostile request
    // cannot drive the terminal the log goes to.
    println!(
        "request received: \"{}\", answered {}",
        common::printable_line(&request_line),
        answer.status
    );
    let head_only = request_line.starts_with("HEAD ");
    client_connection
        .write_all(&response_bytes(&answer, head_only))
        .context("send to client")?;
    Ok(())
}

fn serve_forever() -> Result<()> {
    let server_address = common::server_address()?;

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
    let port = common::bound_port(&listen_socket)?;
    println!("Serving HTTP on port {port} ...");

    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_request(&mut client_connection) {
            // One client's trouble (a reset, a closed connection) is not the
            // server's: say so and go on to the next client.
            eprintln!("{err:#}");
        }
        // Dropping the stream closes the socket: the kernel sends FIN.
        drop(client_connection);
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), serve_forever);
}

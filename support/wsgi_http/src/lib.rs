//! Not the lesson: the HTTP that webserver2 must get right around its WSGI
//! split, kept here so that its `main.rs` shows the split alone.
//!
//! - [`read_request`]: the head, read and checked by [`request_head`]
//!   (httparse), then what WSGI needs of it, then the body.
//! - [`check_response`]: what an application handed over is valid HTTP.
//! - [`print_message`]: what went in and out, a la `curl -v`.
//!
//! | what the client sent | answer |
//! | --- | --- |
//! | a head over 8 KiB | 431 Request Header Fields Too Large |
//! | a body over 1 MiB | 413 Content Too Large |
//! | not HTTP/1.x, a target that is not a path, a bad `%` escape or a control character in the path, a header value that is not UTF-8 text, an HTTP/1.1 request without one `Host`, a bad `Content-Length`, a connection closed halfway | 400 Bad Request |
//! | `Transfer-Encoding` (a chunked body) | 501 Not Implemented |
//! | `HTTP/2.0` or another version than 1.0 and 1.1 | 505 HTTP Version Not Supported |
//!
//! There is no timeout: a client that sends half a request and then waits
//! holds this one-client-at-a-time server (Part 3's reason to fork).

use std::io::{self, Read};

use anyhow::{bail, Result};
use common::println;
use common::request_head::{self, BodyLength, HeadError, RequestHead};

/// The most bytes a request body may take; the server holds it in memory.
const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// A body longer than this is not printed, only counted.
const MAX_PRINTED_BODY_BYTES: usize = 1024;

/// A request that passed every check.
pub struct Request {
    /// `GET`, `POST`, ...: any token; the application decides what it allows.
    pub method: String,
    /// The request target as sent: `/hello%20you?x=1`.
    pub target: String,
    /// The path, percent-decoded once, UTF-8, no control character: `/hello you`.
    pub path: String,
    /// The query string, as sent (still percent-encoded): `x=1`.
    pub query: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The header lines in order; names keep their case, values are text.
    pub headers: Vec<(String, String)>,
    /// The body, as long as `Content-Length` said.
    pub body: Vec<u8>,
}

/// What came in on a connection.
pub enum Incoming {
    /// A whole request, body included, that passed every check.
    Request(Request),
    /// The client closed the connection without sending a byte.
    NothingSent,
    /// Answer with this status (`400 Bad Request`) and reason, then close.
    /// The reason is fixed text, never an echo of what the client sent.
    Refused(&'static str, &'static str),
}

/// A status and its reason, for [`Incoming::Refused`].
type Refusal = (&'static str, &'static str);

/// Reads and checks one request. An `Err` is a failed connection: there is
/// nobody to answer.
pub fn read_request(connection: &mut impl Read) -> io::Result<Incoming> {
    let (head, mut body) = match request_head::read(connection)? {
        request_head::Incoming::Head(head, after_head) => (head, after_head),
        request_head::Incoming::NothingSent => return Ok(Incoming::NothingSent),
        request_head::Incoming::Refused(error, _) => {
            return Ok(Incoming::Refused(error.status(), error.reason()))
        }
    };
    let (request, length) = match check(head) {
        Ok(checked) => checked,
        Err((status, reason)) => return Ok(Incoming::Refused(status, reason)),
    };
    // Bytes past the body (a pipelined next request) are dropped: this
    // server answers one request per connection and says `Connection: close`.
    body.truncate(length);
    let missing = (length - body.len()) as u64;
    connection.take(missing).read_to_end(&mut body)?;
    if body.len() < length {
        let cut = "The connection closed before the whole body arrived.";
        return Ok(Incoming::Refused("400 Bad Request", cut));
    }
    Ok(Incoming::Request(Request { body, ..request }))
}

/// What WSGI needs of a head: one `Host`, a body it can read, a path it can
/// decode, and header values that are text. Returns the request without its
/// body, and the body's length.
fn check(head: RequestHead) -> Result<(Request, usize), Refusal> {
    let bad = |reason| ("400 Bad Request", reason);
    let as_refusal = |error: HeadError| (error.status(), error.reason());
    head.check_host().map_err(as_refusal)?;
    let length = match head.body_length().map_err(as_refusal)? {
        // A chunked body ends with a zero-size chunk, not at a known length.
        // This server does not decode that; it says so instead of guessing
        // where the body ends.
        BodyLength::Chunked => Err((
            "501 Not Implemented",
            "Transfer-Encoding is not supported: send Content-Length.",
        )),
        BodyLength::Known(length) if length <= MAX_BODY_BYTES => Ok(length as usize),
        BodyLength::Known(_) => Err((
            "413 Content Too Large",
            "The request body is larger than 1 MiB.",
        )),
    }?;
    let (raw_path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    // Origin form only: no `http://host/path` (proxies' absolute form), no
    // `*` (server-wide OPTIONS), no `host:port` (CONNECT).
    if !raw_path.starts_with('/') {
        return Err(bad("The request target must be a path starting with /."));
    }
    let path = common::percent_decode(raw_path.as_bytes())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .ok_or(bad(
            "The path has a % without two hex digits, or is not UTF-8.",
        ))?;
    // `%0A`, `%1B`, `%00` decode to control characters. No route has them;
    // passed on, they would reach the application's output and the
    // terminals that show it. Refused here, once for every application.
    if path.chars().any(char::is_control) {
        return Err(bad("The path, percent-decoded, holds control characters."));
    }
    let query = query.to_owned();
    // The environ holds Rust strings: a value must be UTF-8 (WSGI decodes
    // Latin-1 instead), and C1 controls, which httparse lets through as
    // bytes above 127, are refused as the C0 ones are.
    let headers = head
        .headers
        .into_iter()
        .map(|(name, value)| match String::from_utf8(value) {
            Ok(value) if !value.chars().any(|c| c.is_control() && c != '\t') => Ok((name, value)),
            _ => Err(bad("A header value is not UTF-8 text.")),
        })
        .collect::<Result<_, _>>()?;
    let request = Request {
        method: head.method,
        target: head.target,
        path,
        query,
        version: head.version,
        headers,
        body: Vec::new(),
    };
    Ok((request, length))
}

/// Headers about the connection rather than the response (RFC 9110
/// §7.6.1): the server's to send, and PEP 3333 forbids them to applications.
const HOP_BY_HOP_HEADERS: [&str; 8] = [
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
];

/// Whether an application's response is one the server may send: a final
/// status `NNN Reason` (200 to 599: 1xx codes announce a response, they are
/// not one), token header names, values without a line break (which would
/// let text chosen by a client become a header of its own: response
/// splitting), no hop-by-hop header, and a `Content-Length`, if any, that is
/// the body's.
pub fn check_response(
    status: &str,
    headers: &[(String, String)],
    body_length: usize,
) -> Result<()> {
    let has_control = |text: &str| text.chars().any(|c| c.is_control() && c != '\t');
    if !matches!(
        status.as_bytes(),
        [b'2'..=b'5', b'0'..=b'9', b'0'..=b'9', b' ', ..]
    ) || has_control(status)
    {
        bail!("the status {status:?} is not of the form \"200 OK\"");
    }
    for (name, value) in headers {
        let is_token_byte =
            |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte);
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            bail!("the header name {name:?} is not a token");
        }
        if has_control(value) {
            bail!("the value of header {name} holds control characters");
        }
        if HOP_BY_HOP_HEADERS
            .iter()
            .any(|hop| hop.eq_ignore_ascii_case(name))
        {
            bail!("the header {name} is about the connection, which is the server's to describe");
        }
        if name.eq_ignore_ascii_case("Content-Length") && *value != body_length.to_string() {
            bail!("Content-Length says {value:?}, but the body has {body_length} bytes");
        }
    }
    Ok(())
}

/// Prints a request as it came, one `< ` line per line.
pub fn print_request(request: &Request) {
    let mut head = format!("{} {} {}", request.method, request.target, request.version);
    for (name, value) in &request.headers {
        head.push_str(&format!("\n{name}: {value}"));
    }
    print_message('<', &head, &request.body);
}

/// Prints a message a la `curl -v`: `<` for what came in, `>` for what went
/// out. The head was checked for control characters; a body is printed if
/// it is short text without them (they could drive the terminal), else only
/// its size.
pub fn print_message(direction: char, head: &str, body: &[u8]) {
    for line in head.lines() {
        println!("{direction} {}", common::printable_line(line));
    }
    println!("{direction}");
    let text = std::str::from_utf8(body).ok().filter(|text| {
        body.len() <= MAX_PRINTED_BODY_BYTES
            && !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    });
    match text {
        Some(text) => text
            .lines()
            .for_each(|line| println!("{direction} {}", common::printable_line(line))),
        None if body.is_empty() => {}
        None => println!("{direction} [{} bytes of body]", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(wire: &[u8]) -> Incoming {
        read_request(&mut &wire[..]).unwrap()
    }

    fn refusal(wire: &[u8]) -> &'static str {
        match read(wire) {
            Incoming::Refused(status, _) => status,
            Incoming::Request(request) => panic!("not refused: {}", request.target),
            Incoming::NothingSent => panic!("not refused: nothing sent"),
        }
    }

    #[test]
    fn reads_the_body_content_length_announces_and_no_more() {
        let wire = b"\r\nPOST /a%20b?x=%31 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcNEXT";
        let Incoming::Request(request) = read(wire) else {
            panic!("no request")
        };
        assert_eq!(
            (request.method.as_str(), request.version),
            ("POST", "HTTP/1.1")
        );
        assert_eq!(
            (request.path.as_str(), request.query.as_str()),
            ("/a b", "x=%31")
        );
        assert_eq!(request.headers[0], ("Host".to_owned(), "h".to_owned()));
        assert_eq!(request.body, b"abc");
        assert!(matches!(read(b""), Incoming::NothingSent));
    }

    #[test]
    fn refuses_what_it_cannot_pass_on_with_the_status_that_says_why() {
        let post = |headers: &str| format!("POST / HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        assert_eq!(
            refusal(post("Content-Length: 1048577\r\n").as_bytes()),
            "413 Content Too Large"
        );
        assert_eq!(
            refusal(post("Transfer-Encoding: chunked\r\n").as_bytes()),
            "501 Not Implemented"
        );
        assert_eq!(
            refusal(b"GET / HTTP/2.0\r\n\r\n"),
            "505 HTTP Version Not Supported"
        );
        for bad in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /%FF HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /a%0Ab HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX: \xff\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX: \xc2\x9b31m\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc",
        ] {
            assert_eq!(
                refusal(bad),
                "400 Bad Request",
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn checks_what_an_application_hands_over() {
        let ok = |status: &str, headers: &[(&str, &str)], body: &[u8]| {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            check_response(status, &headers, body.len()).is_ok()
        };
        assert!(ok("200 OK", &[("Content-Type", "text/plain")], b"hi"));
        assert!(ok("404 ", &[], b""));
        assert!(ok(
            "200 OK",
            &[("Content-Length", "2"), ("X-Tab", "a\tb")],
            b"hi"
        ));
        assert!(!ok("OK", &[], b""));
        assert!(!ok("200", &[], b""));
        assert!(!ok("101 Switching Protocols", &[], b""));
        assert!(!ok("200 OK\r\nX: y", &[], b""));
        assert!(!ok("200 OK", &[("X-Name", "a\r\nSet-Cookie: b")], b""));
        assert!(!ok("200 OK", &[("Bad Name", "x")], b""));
        assert!(!ok("200 OK", &[("transfer-encoding", "chunked")], b""));
        assert!(!ok("200 OK", &[("Content-Length", "3")], b"hi"));
    }
}

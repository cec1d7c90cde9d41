//! Reading one HTTP/1.x request from a connection and checking it: what the
//! server must know before it can build an application's environ.
//!
//! The Python reads once (`recv(1024)`) and splits the first line. Here the
//! server reads until the blank line that ends the request head, however
//! many reads that takes, then the body that `Content-Length` announces,
//! and refuses what it cannot pass on safely:
//!
//! | what | answer |
//! | --- | --- |
//! | a head over 8 KiB | 431 Request Header Fields Too Large |
//! | a body over 1 MiB | 413 Content Too Large |
//! | a request line that is not `METHOD /path HTTP/1.x`, a header line that is not `Name: value`, a control character in the target or a header, a head that is not UTF-8, a bad `%` escape, an HTTP/1.1 request without `Host`, a bad `Content-Length`, a connection closed halfway | 400 Bad Request |
//! | `Transfer-Encoding` (a chunked body) | 501 Not Implemented |
//! | `HTTP/2.0` or another version than 1.0 and 1.1 | 505 HTTP Version Not Supported |
//!
//! There is no timeout: a client that sends half a request and then waits
//! holds this one-client-at-a-time server, and every other client waits
//! behind it (Part 3's reason to fork). A production server bounds the time
//! a request head may take (nginx: `client_header_timeout`, 60 s) and
//! serves other clients meanwhile.

use std::io::{self, Read};
use std::str;

/// The most bytes a request head may take: the order of size real servers
/// use (nginx: 8 KiB lines). Without a bound, one client could make the
/// server buffer without end.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The most bytes a request body may take; the server holds it in memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...: any token; the application decides what it allows.
    pub method: String,
    /// The request target as sent: `/hello%20you?x=1`.
    pub target: String,
    /// The path, percent-decoded once: `/hello you`. Holds no control
    /// character: the server refuses those (400) rather than pass them on.
    pub path: String,
    /// The query string, as sent (still percent-encoded): `x=1`.
    pub query: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// The header lines, in order, value trimmed. Names keep their case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A request the server refuses: the status to answer with and why. The
/// reason is fixed text, never an echo of what the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub status: &'static str,
    pub reason: &'static str,
}

fn bad_request(reason: &'static str) -> Rejection {
    Rejection {
        status: "400 Bad Request",
        reason,
    }
}

/// What came in on a connection.
#[derive(Debug)]
pub enum Incoming {
    Request(Request),
    /// The client closed the connection without sending a byte.
    NothingSent,
    /// Answer with this status, then close.
    Rejected(Rejection),
}

/// Why reading stopped before a whole request.
enum Stop {
    /// The connection failed (reset, timeout): there is nobody to answer.
    Connection(io::Error),
    NothingSent,
    Rejected(Rejection),
}

impl From<io::Error> for Stop {
    fn from(err: io::Error) -> Stop {
        Stop::Connection(err)
    }
}

impl From<Rejection> for Stop {
    fn from(rejection: Rejection) -> Stop {
        Stop::Rejected(rejection)
    }
}

/// Reads and checks one request. An `Err` is a failed connection; a
/// request the server must refuse is `Ok(Incoming::Rejected(..))`.
pub fn read_request(connection: &mut impl Read) -> io::Result<Incoming> {
    match read_checked_request(connection) {
        Ok(request) => Ok(Incoming::Request(request)),
        Err(Stop::NothingSent) => Ok(Incoming::NothingSent),
        Err(Stop::Rejected(rejection)) => Ok(Incoming::Rejected(rejection)),
        Err(Stop::Connection(err)) => Err(err),
    }
}

fn read_checked_request(connection: &mut impl Read) -> Result<Request, Stop> {
    let (head, after_head) = read_head(connection)?;
    let mut request = parse_head(&head)?;
    let body_length = body_length(&request)?;
    request.body = read_body(connection, after_head, body_length)?;
    Ok(request)
}

/// Reads until the blank line that ends the head. Returns the head and
/// whatever arrived after it (the start of the body).
fn read_head(connection: &mut impl Read) -> Result<(Vec<u8>, Vec<u8>), Stop> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // RFC 9112 §2.2: empty lines before the request line are ignored
        // (some clients send an extra CRLF after a POST body).
        let leading_empty_lines = received
            .iter()
            .take_while(|&&byte| byte == b'\r' || byte == b'\n')
            .count();
        received.drain(..leading_empty_lines);

        match end_of_head(&received) {
            Some(end) if end <= MAX_HEAD_BYTES => {
                let after_head = received.split_off(end);
                return Ok((received, after_head));
            }
            Some(_) => return Err(head_too_large().into()),
            None if received.len() > MAX_HEAD_BYTES => return Err(head_too_large().into()),
            None => {}
        }

        let count = match connection.read(&mut chunk) {
            Ok(count) => count,
            // read(2) interrupted by a signal before any byte came: std's
            // `read` reports EINTR (its `read_exact` and `read_to_end`
            // retry), so retry here, as Python 3.5+ does for every call.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        if count == 0 {
            if received.is_empty() {
                return Err(Stop::NothingSent);
            }
            return Err(bad_request("The connection closed before the request head ended.").into());
        }
        received.extend_from_slice(&chunk[..count]);
    }
}

fn head_too_large() -> Rejection {
    Rejection {
        status: "431 Request Header Fields Too Large",
        reason: "The request head is longer than 8 KiB.",
    }
}

/// Where the head ends: just after the first empty line. Lines end with
/// CRLF; a bare LF is accepted too, as RFC 9112 allows, so that a request
/// typed into `nc` works.
fn end_of_head(received: &[u8]) -> Option<usize> {
    received
        .iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'\n')
        .find_map(|(index, _)| match &received[index + 1..] {
            [b'\n', ..] => Some(index + 2),
            [b'\r', b'\n', ..] => Some(index + 3),
            _ => None,
        })
}

/// The request line and the header lines, checked. The body is read later.
fn parse_head(head: &[u8]) -> Result<Request, Rejection> {
    let head = str::from_utf8(head).map_err(|_| bad_request("The request head is not UTF-8."))?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let request_line = lines.next().unwrap_or_default();
    let (method, target, version) = parse_request_line(request_line)?;
    let (path, query) = split_target(target)?;

    let mut headers = Vec::new();
    // The head ends with an empty line: the headers are the lines before it.
    for line in lines.take_while(|line| !line.is_empty()) {
        headers.push(parse_header_line(line)?);
    }

    let request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        path,
        query: query.to_owned(),
        version: version.to_owned(),
        headers,
        body: Vec::new(),
    };
    check_host(&request)?;
    Ok(request)
}

/// `METHOD TARGET VERSION`, separated by single spaces (RFC 9112 §3).
fn parse_request_line(line: &str) -> Result<(&str, &str, &str), Rejection> {
    let [method, target, version] = line.split(' ').collect::<Vec<_>>()[..] else {
        return Err(bad_request(
            "The request line must be METHOD TARGET VERSION, separated by single spaces.",
        ));
    };
    if !is_token(method) {
        return Err(bad_request("The method is not a token."));
    }
    if has_control_characters(target) {
        return Err(bad_request("The request target holds control characters."));
    }
    if !target.starts_with('/') {
        // Origin form only: no `http://host/path` (proxies' absolute form),
        // no `*` (server-wide OPTIONS), no `host:port` (CONNECT).
        return Err(bad_request(
            "The request target must be a path starting with /.",
        ));
    }
    match version {
        "HTTP/1.0" | "HTTP/1.1" => Ok((method, target, version)),
        _ if is_http_version(version) => Err(Rejection {
            status: "505 HTTP Version Not Supported",
            reason: "This server speaks HTTP/1.0 and HTTP/1.1.",
        }),
        _ => Err(bad_request(
            "The request line must end with HTTP/1.0 or HTTP/1.1.",
        )),
    }
}

/// `HTTP/d.d`, any digits.
fn is_http_version(version: &str) -> bool {
    matches!(
        version.as_bytes(),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit()
    )
}

/// The path, percent-decoded once, and the raw query string.
fn split_target(target: &str) -> Result<(String, &str), Rejection> {
    let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
    let decoded = common::percent_decode(raw_path.as_bytes()).ok_or(bad_request(
        "A % in the path is not followed by two hex digits.",
    ))?;
    let path = String::from_utf8(decoded)
        .map_err(|_| bad_request("The path, percent-decoded, is not UTF-8."))?;
    // `%0A`, `%1B`, `%00` decode to control characters. No file or route
    // name has them; passed on, they would reach the application's output
    // and the terminals that show it. Refuse them here, once for every
    // application.
    if has_control_characters(&path) {
        return Err(bad_request(
            "The path, percent-decoded, holds control characters.",
        ));
    }
    Ok((path, query))
}

/// `Name: value` (RFC 9112 §5): a token, a colon right after it, a value
/// without control characters (a tab is allowed) once its surrounding
/// spaces and tabs are trimmed.
fn parse_header_line(line: &str) -> Result<(String, String), Rejection> {
    if line.starts_with([' ', '\t']) {
        // A line folded onto the previous one: obsolete since RFC 7230, and
        // a way to smuggle a header past a proxy that reads it differently.
        return Err(bad_request("Folded header lines are not accepted."));
    }
    let (name, value) = line
        .split_once(':')
        .ok_or(bad_request("A header line has no colon."))?;
    if !is_token(name) {
        return Err(bad_request("A header name is not a token."));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(bad_request("A header value holds control characters."));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// An HTTP/1.1 request must name the host it is for, exactly once
/// (RFC 9112 §3.2). HTTP/1.0 predates `Host`.
fn check_host(request: &Request) -> Result<(), Rejection> {
    match header_values(request, "Host").count() {
        0 if request.version == "HTTP/1.1" => {
            Err(bad_request("An HTTP/1.1 request must have a Host header."))
        }
        0 | 1 => Ok(()),
        _ => Err(bad_request("A request must not have two Host headers.")),
    }
}

/// The values of every header called `name`, in any case.
pub fn header_values<'a>(request: &'a Request, name: &'a str) -> impl Iterator<Item = &'a str> {
    request
        .headers
        .iter()
        .filter(move |(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// How many body bytes follow the head: `Content-Length`, or none.
fn body_length(request: &Request) -> Result<usize, Rejection> {
    if header_values(request, "Transfer-Encoding").next().is_some() {
        // A chunked body ends with a zero-size chunk, not at a known length.
        // This server does not decode that; it says so instead of guessing
        // where the body ends.
        return Err(Rejection {
            status: "501 Not Implemented",
            reason: "Transfer-Encoding is not supported: send Content-Length.",
        });
    }
    let mut lengths = header_values(request, "Content-Length");
    let Some(first) = lengths.next() else {
        return Ok(0);
    };
    // Two different lengths: the body's end is ambiguous, and a proxy that
    // picks the other one sees a different next request (request smuggling).
    if lengths.any(|other| other != first) {
        return Err(bad_request("The Content-Length headers disagree."));
    }
    if first.is_empty() || !first.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(bad_request("Content-Length must be a number."));
    }
    match first.parse::<usize>() {
        Ok(length) if length <= MAX_BODY_BYTES => Ok(length),
        // Digits too many for a usize are too large too.
        _ => Err(Rejection {
            status: "413 Content Too Large",
            reason: "The request body is larger than 1 MiB.",
        }),
    }
}

/// The body: the bytes that came with the head, and then the rest. Bytes
/// past the body (a pipelined next request) are dropped: this server
/// answers one request per connection and says `Connection: close`.
fn read_body(
    connection: &mut impl Read,
    mut body: Vec<u8>,
    length: usize,
) -> Result<Vec<u8>, Stop> {
    body.truncate(length);
    let missing = (length - body.len()) as u64;
    connection.take(missing).read_to_end(&mut body)?;
    if body.len() < length {
        return Err(bad_request("The connection closed before the whole body arrived.").into());
    }
    Ok(body)
}

/// A token (RFC 9110 §5.6.2): what methods and header names are made of.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// C0 controls, DEL and C1 controls: what a terminal or a header parser
/// reads as commands rather than text.
fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(wire: &[u8]) -> Incoming {
        read_request(&mut &wire[..]).unwrap()
    }

    fn rejection(wire: &[u8]) -> Rejection {
        match read(wire) {
            Incoming::Rejected(rejection) => rejection,
            other => panic!("not rejected: {other:?}"),
        }
    }

    #[test]
    fn reads_a_request_with_a_body() {
        let Incoming::Request(request) =
            read(b"\r\nPOST /a%20b?x=%31 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcNEXT")
        else {
            panic!("no request")
        };
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/a b");
        assert_eq!(request.query, "x=%31");
        assert_eq!(request.body, b"abc");
    }

    #[test]
    fn accepts_bare_line_feeds() {
        assert!(matches!(read(b"GET / HTTP/1.0\n\n"), Incoming::Request(_)));
    }

    #[test]
    fn tells_an_empty_connection_from_a_cut_one() {
        assert!(matches!(read(b""), Incoming::NothingSent));
        assert_eq!(rejection(b"GET / HT").status, "400 Bad Request");
    }

    #[test]
    fn knows_a_version_it_does_not_speak_from_garbage() {
        assert_eq!(
            rejection(b"GET / HTTP/2.0\r\n\r\n").status,
            "505 HTTP Version Not Supported"
        );
        assert_eq!(rejection(b"GET / HTTP/1\r\n\r\n").status, "400 Bad Request");
    }
}

//! A raw HTTP client: connect with timeouts, send a request, read the
//! response as bytes or parsed, so the tests see exactly what the server sent.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::PATIENCE;

/// Connects to `address` with read and write timeouts of [`PATIENCE`].
pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&address, PATIENCE)
        .unwrap_or_else(|err| panic!("connect to {address}: {err}"));
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// The request curl sends for `curl http://localhost:PORT/path`, near enough.
pub fn request_for(path: &str) -> String {
    request("GET", path)
}

/// The request curl sends for `curl -X METHOD http://localhost:PORT/target`,
/// near enough: `METHOD target HTTP/1.1`, then the headers curl sends.
pub fn request(method: &str, target: &str) -> String {
    String::from_utf8(raw_request(method, target.as_bytes())).expect("text in, text out")
}

/// [`request`] with a target that may be any bytes, for the hostile
/// requests that a `&str` cannot hold: invalid UTF-8, NUL, ESC.
pub fn raw_request(method: &str, target: &[u8]) -> Vec<u8> {
    let mut request = format!("{method} ").into_bytes();
    request.extend_from_slice(target);
    request.extend_from_slice(
        b" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: testkit\r\nAccept: */*\r\n\r\n",
    );
    request
}

pub fn send_request(stream: &mut TcpStream, path: &str) {
    stream
        .write_all(request_for(path).as_bytes())
        .expect("send the request");
}

/// Reads until the server closes the connection. Panics on a timeout.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .unwrap_or_else(|err| panic!("reading to end-of-file: {err}; got so far: {response:?}"));
    response
}

/// Reads until `wanted` has arrived (or the connection closes); returns
/// what was read. For waiting on a greeting without waiting for EOF.
pub fn read_until_contains(stream: &mut TcpStream, wanted: &[u8]) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while !contains(&received, wanted) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(err) => panic!("reading: {err}; got so far: {received:?}"),
        }
    }
    received
}

/// Whether the connection is still open after `wait`: no byte and no
/// end-of-file arrived in that time. Used to prove that a server holds a
/// connection open (webserver3d), so `wait` bounds the proof, not a speed.
pub fn stays_open_for(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    let open = match stream.read(&mut byte) {
        Ok(_) => false,
        Err(err) => matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
    };
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    open
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Whether `bytes` hold a control character other than the CR and LF that
/// end HTTP's lines: a C0 control (ESC, NUL, BEL, a tab...), DEL, or a C1
/// control as UTF-8 encodes it (0xC2 0x80 to 0xC2 0x9F). What a response
/// or a log must not echo from a hostile request: a terminal reads these as
/// commands.
pub fn has_control_characters(bytes: &[u8]) -> bool {
    let c0_or_delete = bytes
        .iter()
        .any(|&byte| (byte < 0x20 && byte != b'\r' && byte != b'\n') || byte == 0x7f);
    let c1 = bytes
        .windows(2)
        .any(|pair| pair[0] == 0xc2 && (0x80..=0x9f).contains(&pair[1]));
    c0_or_delete || c1
}

/// One HTTP response, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The whole status line, without CRLF.
    pub status_line: String,
    /// Header names lower-cased; a repeated header keeps its last value.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    /// The response in `bytes`, all that arrived on a connection read to
    /// its end ([`read_to_eof`]). Panics, showing the bytes, when they do
    /// not begin with a whole response.
    pub fn parse(bytes: &[u8]) -> Response {
        read_response(&mut &bytes[..], false).unwrap_or_else(|err| {
            panic!(
                "not a response ({err}): {:?}",
                String::from_utf8_lossy(bytes)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as text; bytes that are not UTF-8 show as U+FFFD.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a head, up to and with the empty line that ends it.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    loop {
        let line_start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            let message = match line_start {
                0 => "connection closed before a response",
                _ => "connection closed inside the response head",
            };
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
        }
        if matches!(&head[line_start..], b"\r\n" | b"\n") {
            return Ok(head);
        }
    }
}

/// Reads one response from a keep-alive connection: the head, then a body of
/// `Content-Length` bytes (none after a HEAD request, `head_request`, nor
/// in a 1xx, 204 or 304, RFC 9112 §6.3), or up to end-of-file when there is
/// no Content-Length. Bytes past the response stay in `reader` for the next
/// call (pipelining).
pub fn read_response(reader: &mut impl BufRead, head_request: bool) -> io::Result<Response> {
    let head = read_head(reader)?;
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut fields);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        other => {
            let head = String::from_utf8_lossy(&head);
            return Err(invalid(format!("bad response head ({other:?}): {head:?}")));
        }
    }
    let status = parsed.code.expect("a complete head has a status");
    let headers: BTreeMap<String, String> = parsed
        .headers
        .iter()
        .map(|header| {
            let value = String::from_utf8_lossy(header.value).trim().to_owned();
            (header.name.to_ascii_lowercase(), value)
        })
        .collect();
    let mut body = Vec::new();
    let has_no_body = matches!(status, 100..=199 | 204 | 304);
    if !head_request && !has_no_body {
        match headers.get("content-length") {
            Some(length) => {
                let length: usize = length
                    .parse()
                    .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
                body.resize(length, 0);
                reader.read_exact(&mut body)?;
            }
            None => {
                reader.read_to_end(&mut body)?;
            }
        }
    }
    let status_line = String::from_utf8_lossy(&head);
    let status_line = status_line.lines().next().unwrap_or_default().to_owned();
    Ok(Response {
        status,
        status_line,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_requests_with_any_method_and_target() {
        assert_eq!(
            request_for("/a"),
            "GET /a HTTP/1.1\r\nHost: localhost\r\nUser-Agent: testkit\r\nAccept: */*\r\n\r\n"
        );
        assert!(request("HEAD", "/b").starts_with("HEAD /b HTTP/1.1\r\nHost: localhost\r\n"));
        let hostile = raw_request("GET", b"/\xff\x1b[2J");
        assert!(hostile.starts_with(b"GET /\xff\x1b[2J HTTP/1.1\r\n"));
        assert!(hostile.ends_with(b"\r\n\r\n"));
    }

    #[test]
    #[should_panic(expected = "not a response")]
    fn parse_shows_bytes_that_are_not_a_response() {
        Response::parse(b"hello");
    }

    #[test]
    fn reads_pipelined_responses_one_at_a_time() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let mut reader = io::Cursor::new(&wire[..]);
        let first = read_response(&mut reader, false).unwrap();
        assert_eq!((first.status, first.body.as_slice()), (200, &b"hi"[..]));
        let second = read_response(&mut reader, false).unwrap();
        assert_eq!(second.status, 404);
        assert!(second.body.is_empty());
    }

    #[test]
    fn a_304_ends_at_its_head() {
        let wire = b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let mut reader = io::Cursor::new(&wire[..]);
        let first = read_response(&mut reader, false).unwrap();
        assert_eq!((first.status, first.body.len()), (304, 0));
        let second = read_response(&mut reader, false).unwrap();
        assert_eq!((second.status, second.body.as_slice()), (200, &b"hi"[..]));
    }
}

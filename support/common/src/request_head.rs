//! Not the lesson: finding and reading an HTTP/1.x request head, for every
//! server of the book that reads one (hello_name, webserver2, and the
//! static servers through static_http).
//!
//! TCP delivers a byte stream, not messages: one `read` may bring half a
//! request head, or a head and the start of the next request. The head ends
//! at its first empty line, however many reads that takes; [`parse`] says
//! whether the bytes received so far hold a whole head yet.
//!
//! The parsing itself is the `httparse` crate's, the parser under hyper: made
//! for exactly this, fuzzed, and strict where RFC 9112 asks a server to be (a
//! method and header names are tokens, single spaces in the request line, no
//! space before a header's colon, no folded lines, no control bytes). A
//! parser written by hand is what these lessons are not about. What this
//! module adds is what httparse leaves to its caller:
//!
//! | what | answer |
//! | --- | --- |
//! | a head over [`MAX_REQUEST_HEAD_BYTES`], or with over [`MAX_HEADERS`] header lines | 431 Request Header Fields Too Large |
//! | `HTTP/2.0`, or another version than 1.0 and 1.1 written as one | 505 HTTP Version Not Supported |
//! | anything else httparse refuses, a target that is not ASCII, a `Content-Length` that is not one number | 400 Bad Request |
//! | ([`RequestHead::check_host`]) an HTTP/1.1 request without `Host`, two `Host`s, a `Host` that is not `host[:port]` | 400 Bad Request |
//! | ([`RequestHead::body_length`]) a `Transfer-Encoding` with a coding other than `chunked` | 501 Not Implemented |
//! | ... with `chunked` twice, empty, or in HTTP/1.0: framing that cannot be trusted | 400 Bad Request |

use std::fmt;
use std::io::{self, Read};

/// The most bytes a request head may take, request line and headers
/// together: the order of size real servers use (nginx: 8 KiB). Without a
/// bound, one client could make a server buffer without end.
pub const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// The most header lines a head may have: Apache's default
/// (`LimitRequestFields`). httparse fills a fixed array, one slot a line.
pub const MAX_HEADERS: usize = 100;

/// A request head that httparse and this module accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// `GET`, `POST`, ...: a token; what it means is the server's business.
    pub method: String,
    /// The request target exactly as sent, e.g. `/a%20b?x=1`: visible
    /// ASCII, still percent-encoded.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The header lines in the order sent: the name as sent, the value
    /// without the spaces around it. Bytes: RFC 9110 lets a value hold
    /// bytes above 127, and leaves it to the server what they mean.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Why a request head was refused; each kind is one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// 400: not HTTP/1.x as RFC 9112 writes it; the text says what is wrong
    /// and never echoes what the client sent.
    Malformed(&'static str),
    /// 431: longer than [`MAX_REQUEST_HEAD_BYTES`], or more than
    /// [`MAX_HEADERS`] lines.
    TooLarge,
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
    /// 501: well-formed, but asks for what this server does not implement
    /// (a transfer coding other than chunked).
    NotImplemented(&'static str),
}

impl HeadError {
    /// The status line's code and reason phrase, e.g. `400 Bad Request`.
    pub fn status(self) -> &'static str {
        match self {
            HeadError::Malformed(_) => "400 Bad Request",
            HeadError::TooLarge => "431 Request Header Fields Too Large",
            HeadError::VersionNotSupported => "505 HTTP Version Not Supported",
            HeadError::NotImplemented(_) => "501 Not Implemented",
        }
    }

    /// One sentence for the client and the log.
    pub fn reason(self) -> &'static str {
        match self {
            HeadError::Malformed(reason) | HeadError::NotImplemented(reason) => reason,
            HeadError::TooLarge => "The request head is longer than 8 KiB or has over 100 lines.",
            HeadError::VersionNotSupported => "This server speaks HTTP/1.0 and HTTP/1.1.",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "{}: {}", self.status(), self.reason())
    }
}

/// What the bytes received so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// No empty line yet, and still within the limits: read more.
    Incomplete,
    /// A whole head, and how many bytes it took (empty lines before it
    /// included). What follows is a body or the next request.
    Complete(RequestHead, usize),
    /// A head to refuse. Where it ends is anyone's guess: answer, then
    /// close the connection.
    Refused(HeadError),
}

/// Looks for a complete request head at the start of `received`.
///
/// Lines end with CRLF, or a bare LF (RFC 9112 §2.2 allows it, and it lets a
/// request typed into `nc` work); empty lines before the request line are
/// skipped (§2.2: some clients send a CRLF after a body). A head is refused
/// as soon as its bytes show it wrong, even before it ends.
pub fn parse(received: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(received) {
        Ok(httparse::Status::Partial) if received.len() > MAX_REQUEST_HEAD_BYTES => {
            Parsed::Refused(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) => Parsed::Incomplete,
        Ok(httparse::Status::Complete(length)) if length > MAX_REQUEST_HEAD_BYTES => {
            Parsed::Refused(HeadError::TooLarge)
        }
        Ok(httparse::Status::Complete(length)) => match accept(&request) {
            Ok(head) => Parsed::Complete(head, length),
            Err(error) => Parsed::Refused(error),
        },
        Err(error) => Parsed::Refused(refusal(error, received)),
    }
}

/// The head httparse read, once this module's own checks pass.
fn accept(request: &httparse::Request) -> Result<RequestHead, HeadError> {
    // httparse lets UTF-8 through in a target; RFC 9112 §3.2 allows only
    // ASCII, other bytes percent-encoded by the client.
    let target = request.path.unwrap_or_default();
    if !target.is_ascii() {
        return Err(HeadError::Malformed(
            "The request target is not ASCII: other bytes must be percent-encoded.",
        ));
    }
    let headers = request
        .headers
        .iter()
        .map(|header| (header.name.to_owned(), header.value.trim_ascii().to_vec()))
        .collect();
    Ok(RequestHead {
        method: request.method.unwrap_or_default().to_owned(),
        target: target.to_owned(),
        version: if request.version == Some(0) {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        },
        headers,
    })
}

/// httparse's error, as the status and sentence a client gets.
fn refusal(error: httparse::Error, received: &[u8]) -> HeadError {
    match error {
        httparse::Error::TooManyHeaders => HeadError::TooLarge,
        httparse::Error::Version if names_another_version(received) => {
            HeadError::VersionNotSupported
        }
        httparse::Error::HeaderName => HeadError::Malformed(
            "A header line is not Name: value, with a token for the name and the colon right after it.",
        ),
        httparse::Error::HeaderValue => {
            HeadError::Malformed("A header value holds a control character.")
        }
        _ => HeadError::Malformed(
            "The request line must be METHOD TARGET HTTP/1.x, separated by single spaces.",
        ),
    }
}

/// Whether the request line is three words, the third `HTTP/d.d`: a version
/// this server does not speak, rather than garbage.
fn names_another_version(received: &[u8]) -> bool {
    let line = first_line(received);
    let words: Vec<&str> = line.split(' ').collect();
    matches!(
        words[..],
        [_, _, version] if matches!(
            version.as_bytes(),
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
                if major.is_ascii_digit() && minor.is_ascii_digit()
        )
    )
}

/// The first line that is not empty, without its line end, for a log:
/// lossy, since any bytes may come. Print it with `{:?}`, which escapes the
/// control characters a hostile client could drive a terminal with.
pub fn first_line(received: &[u8]) -> String {
    let line = received
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    String::from_utf8_lossy(line).into_owned()
}

/// How long the body that follows a head is (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// `Content-Length` bytes, 0 without one. Digits too many for a `u64`
    /// read as `u64::MAX`: too large for any server here.
    Known(u64),
    /// `Transfer-Encoding` (chunked): the body ends with a zero-size chunk,
    /// not at a length known in advance.
    Chunked,
}

impl RequestHead {
    /// The request line, as it came when the head was accepted.
    pub fn request_line(&self) -> String {
        format!("{} {} {}", self.method, self.target, self.version)
    }

    /// The values of every header called `name`, in any case.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.headers
            .iter()
            .filter(move |(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// How long the body is, or a 400 if `Content-Length` is not one
    /// number: two different lengths make the body's end ambiguous, and a
    /// proxy that picks the other one sees a different next request
    /// (request smuggling; RFC 9112 §6.3 says 400).
    ///
    /// `Transfer-Encoding` (which wins over `Content-Length`) must be
    /// `chunked` alone, the one coding every HTTP/1.1 server implements:
    /// another coding (`gzip`, `gzip, chunked`) gets 501 (RFC 9112 §6.1: a
    /// server SHOULD answer 501 to a coding it does not understand; `gzip`
    /// alone is also framing §6.3 calls unreliable, but the coding is the
    /// first thing wrong, and nginx says 501 too); `chunked` twice, an empty
    /// value, or any `Transfer-Encoding` in HTTP/1.0 (§6.1: faulty framing)
    /// gets 400.
    pub fn body_length(&self) -> Result<BodyLength, HeadError> {
        let mut encodings = self.header_values("Transfer-Encoding").peekable();
        if encodings.peek().is_some() {
            if self.version == "HTTP/1.0" {
                return Err(HeadError::Malformed(
                    "An HTTP/1.0 request cannot have a Transfer-Encoding.",
                ));
            }
            let codings: Vec<&[u8]> = encodings
                .flat_map(|value| value.split(|&byte| byte == b','))
                .map(<[u8]>::trim_ascii)
                .filter(|coding| !coding.is_empty())
                .collect();
            if codings
                .iter()
                .any(|coding| !coding.eq_ignore_ascii_case(b"chunked"))
            {
                return Err(HeadError::NotImplemented(
                    "The only transfer coding this server implements is chunked.",
                ));
            }
            if codings.len() != 1 {
                return Err(HeadError::Malformed(
                    "Transfer-Encoding must name chunked exactly once.",
                ));
            }
            return Ok(BodyLength::Chunked);
        }
        let mut lengths = self.header_values("Content-Length");
        let Some(first) = lengths.next() else {
            return Ok(BodyLength::Known(0));
        };
        if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
            return Err(HeadError::Malformed("Content-Length must be a number."));
        }
        if lengths.any(|other| other != first) {
            return Err(HeadError::Malformed("The Content-Length headers disagree."));
        }
        let digits = String::from_utf8_lossy(first);
        Ok(BodyLength::Known(digits.parse().unwrap_or(u64::MAX)))
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request names the host it is for, exactly
    /// once (HTTP/1.0 predates `Host`), as URIs write a host and port
    /// ([`is_valid_host`]); a server answers 400 otherwise, even one that
    /// never looks at the host: a request that breaks the rule may be meant
    /// for, or smuggled past, a proxy that reads it otherwise.
    pub fn check_host(&self) -> Result<(), HeadError> {
        let mut hosts = self.header_values("Host");
        match (hosts.next(), hosts.next()) {
            (None, _) if self.version == "HTTP/1.1" => Err(HeadError::Malformed(
                "An HTTP/1.1 request must have a Host header.",
            )),
            (None, _) => Ok(()),
            (Some(host), None) if is_valid_host(host) => Ok(()),
            (Some(_), None) => Err(HeadError::Malformed(
                "The Host header is not a host[:port].",
            )),
            (Some(_), Some(_)) => Err(HeadError::Malformed(
                "A request must not have two Host headers.",
            )),
        }
    }
}

/// Whether `value` is `host[:port]` as RFC 3986 writes the authority of a
/// URI without user information (RFC 9110 §7.2, the value of `Host` and the
/// authority of an absolute target): a name or IPv4 address made of
/// unreserved characters, sub-delimiters and `%XX` (possibly empty, as
/// `Host:` for a URI without one), or an IP literal in brackets; then
/// optionally `:` and digits. (The inside of the brackets is checked for
/// its characters, not for being an IPv6 address.)
pub fn is_valid_host(value: &[u8]) -> bool {
    let (host_is_valid, after_host) = match value.strip_prefix(b"[") {
        Some(literal) => match literal.iter().position(|&byte| byte == b']') {
            Some(end) => (
                end > 0
                    && literal[..end]
                        .iter()
                        .all(|&byte| is_host_byte(byte) || byte == b':'),
                &literal[end + 1..],
            ),
            None => return false,
        },
        None => {
            let end = value
                .iter()
                .position(|&byte| byte == b':')
                .unwrap_or(value.len());
            (is_reg_name(&value[..end]), &value[end..])
        }
    };
    let port_is_valid = match after_host {
        [] => true,
        [b':', port @ ..] => port.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    host_is_valid && port_is_valid
}

/// RFC 3986's reg-name: unreserved, sub-delims and `%XX`.
fn is_reg_name(name: &[u8]) -> bool {
    let mut bytes = name.iter();
    while let Some(&byte) = bytes.next() {
        let valid = match byte {
            b'%' => {
                bytes.next().is_some_and(u8::is_ascii_hexdigit)
                    && bytes.next().is_some_and(u8::is_ascii_hexdigit)
            }
            byte => is_host_byte(byte),
        };
        if !valid {
            return false;
        }
    }
    true
}

/// RFC 3986's unreserved and sub-delims: letters, digits, `-._~` and
/// `!$&'()*+,;=`.
fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&byte)
}

/// What came in on a blocking connection, for [`read`].
#[derive(Debug)]
pub enum Incoming {
    /// A whole head, and the bytes that came after it in the same reads.
    Head(RequestHead, Vec<u8>),
    /// The client closed the connection without sending a byte.
    NothingSent,
    /// Answer with this error's status, then close. The bytes received, for
    /// a log line ([`first_line`]).
    Refused(HeadError, Vec<u8>),
}

/// Reads one request head from a blocking connection, however many reads
/// it takes. An `Err` is a failed connection (a reset): nobody to answer.
pub fn read(connection: &mut impl Read) -> io::Result<Incoming> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse(&received) {
            Parsed::Complete(head, length) => {
                let after_head = received.split_off(length);
                return Ok(Incoming::Head(head, after_head));
            }
            Parsed::Refused(error) => return Ok(Incoming::Refused(error, received)),
            Parsed::Incomplete => {}
        }
        let count = match connection.read(&mut chunk) {
            Ok(count) => count,
            // read(2) interrupted by a signal before any byte came: std's
            // `read` reports EINTR (its `read_exact` and `read_to_end`
            // retry), so retry here, as Python 3.5+ does for every call.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if count == 0 && received.is_empty() {
            return Ok(Incoming::NothingSent);
        }
        if count == 0 {
            let cut = HeadError::Malformed("The connection closed before the request head ended.");
            return Ok(Incoming::Refused(cut, received));
        }
        received.extend_from_slice(&chunk[..count]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &[u8]) -> RequestHead {
        match parse(text) {
            Parsed::Complete(head, length) => {
                assert!(length <= text.len());
                head
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }

    fn refused(text: &[u8]) -> HeadError {
        match parse(text) {
            Parsed::Refused(error) => error,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }

    #[test]
    fn waits_for_the_empty_line_and_says_where_the_head_ends() {
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parsed::Incomplete);
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r"),
            Parsed::Incomplete
        );
        let two = b"\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let Parsed::Complete(first, length) = parse(two) else {
            panic!("no head")
        };
        assert_eq!(first.target, "/a");
        assert_eq!(head(&two[length..]).target, "/b");
    }

    #[test]
    fn reads_the_request_line_and_the_headers() {
        let head = head(b"\n\nPOST /a%20b?x=1 HTTP/1.0\nHost:  h \nX-Empty:\n\n");
        assert_eq!(head.request_line(), "POST /a%20b?x=1 HTTP/1.0");
        assert_eq!(
            head.headers,
            [
                ("Host".to_owned(), b"h".to_vec()),
                ("X-Empty".to_owned(), b"".to_vec())
            ]
        );
        assert_eq!(head.header_values("host").collect::<Vec<_>>(), [b"h"]);
    }

    #[test]
    fn refuses_what_is_not_http_1_x_with_400() {
        for text in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET /\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / HTTP/1\r\n\r\n",
            b"GET / SMTP\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
            b"GET /a\x1bb HTTP/1.1\r\n\r\n",
            b"GET /a\rb HTTP/1.1\r\n\r\n",
            b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rSet-Cookie: b\r\n\r\n",
        ] {
            assert!(
                matches!(refused(text), HeadError::Malformed(_)),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn knows_a_version_it_does_not_speak_from_garbage() {
        assert_eq!(
            refused(b"GET / HTTP/2.0\r\n\r\n"),
            HeadError::VersionNotSupported
        );
        assert_eq!(
            refused(b"GET / HTTP/2.0\r\n\r\n").status(),
            "505 HTTP Version Not Supported"
        );
        assert!(matches!(
            refused(b"GET / HTTP/2.0 extra\r\n\r\n"),
            HeadError::Malformed(_)
        ));
    }

    #[test]
    fn bounds_the_head() {
        let mut text = b"GET / HTTP/1.1\r\nX: ".to_vec();
        text.resize(MAX_REQUEST_HEAD_BYTES, b'a');
        // Exactly at the limit and still incomplete: wait for more.
        assert_eq!(parse(&text), Parsed::Incomplete);
        text.push(b'a');
        assert_eq!(parse(&text), Parsed::Refused(HeadError::TooLarge));
        // Complete, but too long.
        text.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse(&text), Parsed::Refused(HeadError::TooLarge));
        // Short, but too many lines.
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            refused(many.as_bytes()).status(),
            "431 Request Header Fields Too Large"
        );
    }

    #[test]
    fn reads_the_body_length() {
        let length = |text: &[u8]| head(text).body_length();
        assert_eq!(length(b"GET / HTTP/1.1\r\n\r\n"), Ok(BodyLength::Known(0)));
        assert_eq!(
            length(b"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n"),
            Ok(BodyLength::Known(3))
        );
        assert_eq!(
            length(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            Ok(BodyLength::Known(u64::MAX))
        );
        assert_eq!(
            length(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
            Ok(BodyLength::Chunked)
        );
        assert_eq!(
            length(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked , \r\n\r\n"),
            Ok(BodyLength::Chunked)
        );
        for unknown in ["gzip", "gzip, chunked", "chunked, gzip", "identity"] {
            let text = format!("POST / HTTP/1.1\r\nTransfer-Encoding: {unknown}\r\n\r\n");
            let error = length(text.as_bytes()).unwrap_err();
            assert_eq!(error.status(), "501 Not Implemented", "{unknown}");
        }
        for faulty in [
            &b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let error = length(faulty).unwrap_err();
            assert_eq!(error.status(), "400 Bad Request", "{faulty:?}");
        }
        for bad in [
            &b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        ] {
            assert!(matches!(length(bad), Err(HeadError::Malformed(_))));
        }
    }

    #[test]
    fn wants_one_host_in_http_1_1() {
        let host = |text: &[u8]| head(text).check_host().is_ok();
        assert!(host(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(host(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!host(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!host(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"));
        assert!(!host(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"));
        assert!(!host(b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n"));
    }

    #[test]
    fn knows_a_host_and_port_from_anything_else() {
        for valid in [
            "localhost",
            "localhost:7890",
            "127.0.0.1",
            "[::1]",
            "[::1]:8080",
            "[v1.fe80::a+en1]",
            "xn--bcher-kva.example",
            "a-b_c~d.e!$&'()*+,;=%41",
            "",
            "example.com:",
        ] {
            assert!(is_valid_host(valid.as_bytes()), "{valid:?}");
        }
        for invalid in [
            "a b", "a/b", "a@b", "u:p@h", "a:b", "a:80:81", "[::1", "[::1]x", "[]", "[a b]",
            "a\"b", "%zz", "%4", "a\\b", "é",
        ] {
            assert!(!is_valid_host(invalid.as_bytes()), "{invalid:?}");
        }
    }

    #[test]
    fn reads_a_head_that_comes_in_pieces_and_tells_a_cut_one_from_silence() {
        /// Hands out its bytes a few at a time, as TCP may.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                let count = self.0.len().min(buffer.len()).min(3);
                buffer[..count].copy_from_slice(&self.0[..count]);
                self.0 = &self.0[count..];
                Ok(count)
            }
        }
        let read_all = |text: &[u8]| read(&mut Trickle(text)).unwrap();
        let Incoming::Head(head, after) = read_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\nbody")
        else {
            panic!("no head")
        };
        assert_eq!(head.target, "/x");
        assert!(b"body".starts_with(&after));
        assert!(matches!(read_all(b""), Incoming::NothingSent));
        let Incoming::Refused(error, received) = read_all(b"GET /x HT") else {
            panic!("not refused")
        };
        assert_eq!(error.status(), "400 Bad Request");
        assert_eq!(first_line(&received), "GET /x HT");
    }
}

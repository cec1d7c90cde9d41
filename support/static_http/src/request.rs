//! Reading one HTTP/1.x request head out of the bytes a connection received.
//!
//! TCP delivers a byte stream, not messages: one `read` may return half a
//! request head, or three whole requests (pipelining). The course's servers
//! treat each `recv(1024)` as one request; here the head ends where the
//! first empty line is, however many reads it took, and whatever follows it
//! stays in the buffer for the next request.
//!
//! Finding and parsing the head is `common::request_head`'s (httparse, and
//! the one limit, [`MAX_REQUEST_HEAD_BYTES`], that every server of the book
//! shares); this module keeps what a static file server needs of it.

use common::request_head::MAX_REQUEST_HEAD_BYTES;
use common::request_head::{self, BodyLength, HeadError, Parsed, RequestHead};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Any other well-formed method (POST, DELETE, ...): answered with 405.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target exactly as sent, e.g. `/css/site.css?v=2`.
    pub target: Vec<u8>,
    pub version: Version,
    /// Whether the client wants the connection kept open after the response:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub keep_alive: bool,
    /// Whether a body follows the head (`Content-Length` above 0, or any
    /// `Transfer-Encoding`). These servers never read request bodies, so
    /// after answering such a request they close the connection instead of
    /// mistaking the body for the next request.
    pub has_body: bool,
    /// The request line, for the server's log.
    pub request_line: String,
    /// `If-Match`, every such header joined by commas (it is a list): see
    /// [`crate::conditional`].
    pub if_match: Option<Vec<u8>>,
    /// `If-Unmodified-Since`, if sent exactly once.
    pub if_unmodified_since: Option<Vec<u8>>,
    /// `If-None-Match`, every such header joined by commas.
    pub if_none_match: Option<Vec<u8>>,
    /// `If-Modified-Since`, if sent exactly once.
    pub if_modified_since: Option<Vec<u8>>,
    /// `Range`, if sent exactly once (two are ignored, as two ranges are):
    /// see [`crate::range`].
    pub range: Option<Vec<u8>>,
    /// `If-Range`, if sent exactly once.
    pub if_range: Option<Vec<u8>>,
}

impl Request {
    pub fn is_head(&self) -> bool {
        self.method == Method::Head
    }
}

/// Why a request head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// 400: the head is not HTTP/1.x as RFC 9112 describes it, or asks for
    /// another version (answered 400 here, not 505: RFC 9110 leaves the
    /// choice to the server).
    Malformed(&'static str),
    /// 431: the head passed [`MAX_REQUEST_HEAD_BYTES`] without ending, or
    /// has too many lines.
    HeadTooLarge,
    /// 501: the request uses what this server does not implement (a
    /// transfer coding other than chunked, RFC 9112 §6.1).
    NotImplemented(&'static str),
}

impl From<HeadError> for RequestError {
    fn from(error: HeadError) -> RequestError {
        match error {
            HeadError::TooLarge => RequestError::HeadTooLarge,
            HeadError::NotImplemented(reason) => RequestError::NotImplemented(reason),
            other => RequestError::Malformed(other.reason()),
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RequestError::Malformed(reason) => write!(formatter, "malformed request: {reason}"),
            RequestError::NotImplemented(reason) => write!(formatter, "not implemented: {reason}"),
            RequestError::HeadTooLarge => write!(
                formatter,
                "request head longer than {MAX_REQUEST_HEAD_BYTES} bytes"
            ),
        }
    }
}

/// Looks for a complete request head at the start of `received`.
///
/// Returns `None` while the head is incomplete and still within the limit
/// (wait for more bytes), else how many bytes the head took and the request
/// or the reason it was refused. A refused head takes everything received:
/// the connection is going to be closed.
pub fn parse_head(received: &[u8]) -> Option<(usize, Result<Request, RequestError>)> {
    match request_head::parse(received) {
        Parsed::Incomplete => None,
        Parsed::Complete(head, length) => Some((length, request(&head))),
        Parsed::Refused(error) => Some((received.len(), Err(error.into()))),
    }
}

/// What this server needs of a head: the method, the target, whether to
/// keep the connection, whether a body follows, and the headers of
/// conditional and range requests.
///
/// An HTTP/1.1 request without `Host`, or with two, is refused (400, RFC
/// 9112 §3.2): this server has one site and never looks at the host, but a
/// request that breaks the rule may be meant for, or smuggled past, a proxy
/// that reads it otherwise.
fn request(head: &RequestHead) -> Result<Request, RequestError> {
    head.check_host()?;
    let version = match head.version {
        "HTTP/1.0" => Version::Http10,
        _ => Version::Http11,
    };
    let mut says_close = false;
    let mut says_keep_alive = false;
    for value in head.header_values("Connection") {
        for option in value.split(|&byte| byte == b',').map(<[u8]>::trim_ascii) {
            says_close |= option.eq_ignore_ascii_case(b"close");
            says_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    // `close` wins over `keep-alive`, whatever their order.
    let keep_alive = !says_close && (version == Version::Http11 || says_keep_alive);
    let has_body = match head.body_length()? {
        BodyLength::Known(length) => length > 0,
        BodyLength::Chunked => true,
    };
    let method = match head.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    Ok(Request {
        method,
        target: head.target.clone().into_bytes(),
        version,
        keep_alive,
        has_body,
        request_line: head.request_line(),
        if_match: joined(head, "If-Match"),
        if_unmodified_since: single(head, "If-Unmodified-Since"),
        if_none_match: joined(head, "If-None-Match"),
        if_modified_since: single(head, "If-Modified-Since"),
        range: single(head, "Range"),
        if_range: single(head, "If-Range"),
    })
}

/// The value of the header `name` if the head has exactly one.
fn single(head: &RequestHead, name: &str) -> Option<Vec<u8>> {
    let mut values = head.header_values(name);
    match (values.next(), values.next()) {
        (Some(value), None) => Some(value.to_vec()),
        _ => None,
    }
}

/// Every value of the list header `name`, joined by commas as RFC 9110
/// §5.3 allows, or `None` without one.
fn joined(head: &RequestHead, name: &str) -> Option<Vec<u8>> {
    let values: Vec<&[u8]> = head.header_values(name).collect();
    (!values.is_empty()).then(|| values.join(&b","[..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[u8]) -> Result<Request, RequestError> {
        let (consumed, request) = parse_head(text).expect("a complete head");
        assert_eq!(consumed, text.len());
        request
    }

    #[test]
    fn leaves_pipelined_requests_in_the_buffer() {
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let (consumed, first) = parse_head(two).unwrap();
        assert_eq!(first.unwrap().target, b"/a");
        let (_, second) = parse_head(&two[consumed..]).unwrap();
        assert_eq!(second.unwrap().target, b"/b");
    }

    #[test]
    fn accepts_bare_line_feeds_and_leading_empty_lines() {
        let request = parsed(b"\r\n\nHEAD /x HTTP/1.0\nConnection: keep-alive\n\n").unwrap();
        assert_eq!(request.method, Method::Head);
        assert!(request.keep_alive);
        assert_eq!(request.request_line, "HEAD /x HTTP/1.0");
    }

    #[test]
    fn keep_alive_follows_the_version_and_the_connection_header() {
        let keep = |text: &[u8]| parsed(text).unwrap().keep_alive;
        assert!(keep(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"
        ));
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"
        ));
    }

    #[test]
    fn notices_a_body() {
        let body = |text: &[u8]| parsed(text).unwrap().has_body;
        assert!(!body(
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(body(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
        ));
        assert!(body(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert_eq!(
            parsed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
            Err(RequestError::Malformed("Content-Length must be a number."))
        );
    }

    #[test]
    fn refuses_another_version_as_malformed_and_a_long_head_as_too_large() {
        assert!(matches!(
            parsed(b"GET / HTTP/2.0\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        head.resize(MAX_REQUEST_HEAD_BYTES + 1, b'a');
        assert_eq!(
            parse_head(&head),
            Some((head.len(), Err(RequestError::HeadTooLarge)))
        );
    }

    #[test]
    fn an_http_1_1_request_names_its_host_exactly_once() {
        assert_eq!(
            parsed(b"GET / HTTP/1.1\r\n\r\n"),
            Err(RequestError::Malformed(
                "An HTTP/1.1 request must have a Host header."
            ))
        );
        assert!(matches!(
            parsed(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
        assert!(parsed(b"GET / HTTP/1.0\r\n\r\n").is_ok());
    }

    #[test]
    fn keeps_the_headers_of_conditional_and_range_requests() {
        let request = parsed(
            b"GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"a\"\r\nif-none-match: \"b\"\r\n\
              If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nRange: bytes=0-1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(request.if_none_match.as_deref(), Some(&b"\"a\",\"b\""[..]));
        assert!(request.if_modified_since.is_some());
        assert_eq!(request.range.as_deref(), Some(&b"bytes=0-1"[..]));
        assert_eq!(request.if_range, None);
        let two_ranges =
            parsed(b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n");
        assert_eq!(two_ranges.unwrap().range, None);
    }
}

//! Reading one HTTP/1.x request head out of the bytes a connection received.
//!
//! TCP delivers a byte stream, not messages: one `read` may return half a
//! request head, or three whole requests (pipelining). The course's servers
//! treat each `recv(1024)` as one request; here the head ends where the
//! first empty line is, however many reads it took, and whatever follows it
//! stays in the buffer for the next request.

/// The most a request head may take, request line and headers together.
/// A client sending more gets 431 and the connection is closed: without a
/// limit, one client could make the server buffer without end.
pub const MAX_HEAD_LENGTH: usize = 8 * 1024;

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
    /// The request line, for the server's log (lossy: any bytes may come).
    pub request_line: String,
}

impl Request {
    pub fn is_head(&self) -> bool {
        self.method == Method::Head
    }
}

/// Why a request head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// 400: the head is not HTTP/1.x as RFC 9112 describes it.
    Malformed(&'static str),
    /// 431: the head passed [`MAX_HEAD_LENGTH`] without ending.
    HeadTooLarge,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RequestError::Malformed(reason) => write!(formatter, "malformed request: {reason}"),
            RequestError::HeadTooLarge => write!(
                formatter,
                "request head longer than {MAX_HEAD_LENGTH} bytes"
            ),
        }
    }
}

/// Looks for a complete request head at the start of `received`.
///
/// Returns `None` while the head is incomplete and still within the limit
/// (wait for more bytes), else how many bytes the head took and the request
/// or the reason it was refused. A head that is too large takes everything
/// received: the connection is going to be closed.
pub fn parse_head(received: &[u8]) -> Option<(usize, Result<Request, RequestError>)> {
    match find_head_end(received) {
        Some(end) if end <= MAX_HEAD_LENGTH => Some((end, parse_complete_head(&received[..end]))),
        Some(_) => Some((received.len(), Err(RequestError::HeadTooLarge))),
        None if received.len() > MAX_HEAD_LENGTH => {
            Some((received.len(), Err(RequestError::HeadTooLarge)))
        }
        None => None,
    }
}

/// The offset just past the empty line that ends the head, if it has come.
///
/// Lines end with CRLF; a bare LF is accepted too, as RFC 9112 §2.2 allows.
/// Empty lines *before* the request line are skipped (§2.2: a server
/// SHOULD ignore at least one), since some clients send a CRLF after a body.
fn find_head_end(received: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    let mut seen_request_line = false;
    while let Some(offset) = received[line_start..]
        .iter()
        .position(|&byte| byte == b'\n')
    {
        let line = without_carriage_return(&received[line_start..line_start + offset]);
        line_start += offset + 1;
        if !line.is_empty() {
            seen_request_line = true;
        } else if seen_request_line {
            return Some(line_start);
        }
    }
    None
}

fn without_carriage_return(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_complete_head(head: &[u8]) -> Result<Request, RequestError> {
    let mut lines = head
        .split(|&byte| byte == b'\n')
        .map(without_carriage_return)
        .skip_while(|line| line.is_empty());
    let request_line = lines.next().unwrap_or_default();
    let (method, target, version) = parse_request_line(request_line)?;

    let mut says_close = false;
    let mut says_keep_alive = false;
    let mut has_body = false;
    for line in lines.take_while(|line| !line.is_empty()) {
        let (name, value) = parse_header_line(line)?;
        if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&byte| byte == b',').map(<[u8]>::trim_ascii) {
                says_close |= option.eq_ignore_ascii_case(b"close");
                says_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let length = std::str::from_utf8(value)
                .ok()
                .filter(|text| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()))
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or(RequestError::Malformed("Content-Length is not a number"))?;
            has_body |= length > 0;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            has_body = true;
        }
    }
    // `close` wins over `keep-alive`, whatever their order.
    let keep_alive = !says_close && (version == Version::Http11 || says_keep_alive);

    Ok(Request {
        method,
        target: target.to_vec(),
        version,
        keep_alive,
        has_body,
        request_line: String::from_utf8_lossy(request_line).into_owned(),
    })
}

/// `method SP request-target SP HTTP-version`, single spaces, nothing else.
fn parse_request_line(line: &[u8]) -> Result<(Method, &[u8], Version), RequestError> {
    let mut parts = line.split(|&byte| byte == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed(
            "the request line is not: method, space, target, space, version",
        ));
    };
    if method.is_empty() || !method.iter().all(|&byte| is_token_byte(byte)) {
        return Err(RequestError::Malformed("the method is not a token"));
    }
    // Visible ASCII only: a target with spaces, controls or bytes above 127
    // must be percent-encoded by the client (RFC 3986).
    if target.is_empty() || !target.iter().all(|byte| (0x21..=0x7e).contains(byte)) {
        return Err(RequestError::Malformed(
            "the request target is empty or not visible ASCII",
        ));
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => {
            return Err(RequestError::Malformed(
                "the version is not HTTP/1.0 or HTTP/1.1",
            ))
        }
    };
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        _ => Method::Other,
    };
    Ok((method, target, version))
}

/// `name: value`. No space before the colon (RFC 9112 §5.1: a server MUST
/// reject it, since proxies disagree on what it means) and no control bytes
/// other than tab in the value.
fn parse_header_line(line: &[u8]) -> Result<(&[u8], &[u8]), RequestError> {
    let colon = line
        .iter()
        .position(|&byte| byte == b':')
        .ok_or(RequestError::Malformed("a header line has no colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&byte| is_token_byte(byte)) {
        return Err(RequestError::Malformed("a header name is not a token"));
    }
    if value
        .iter()
        .any(|&byte| (byte < 0x20 && byte != b'\t') || byte == 0x7f)
    {
        return Err(RequestError::Malformed(
            "a header value holds a control byte",
        ));
    }
    Ok((name, value.trim_ascii()))
}

/// The bytes RFC 9110 §5.6.2 allows in a token (method and header names).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
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
    fn waits_for_the_empty_line() {
        assert_eq!(parse_head(b""), None);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r"), None);
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_some());
    }

    #[test]
    fn leaves_pipelined_requests_in_the_buffer() {
        let two = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
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
    }

    #[test]
    fn keep_alive_follows_the_version_and_the_connection_header() {
        let keep = |text: &[u8]| parsed(text).unwrap().keep_alive;
        assert!(keep(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!keep(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"
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
        assert!(!body(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
        assert!(body(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
        assert!(body(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert_eq!(
            parsed(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Err(RequestError::Malformed("Content-Length is not a number"))
        );
    }

    #[test]
    fn refuses_malformed_request_lines() {
        for line in [
            &b"GET\r\n\r\n"[..],
            b"GET /\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / HTTX/1.1\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"G@T / HTTP/1.1\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\n\r\n",
            b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
            b"GET /a\rb HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parsed(line), Err(RequestError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn refuses_malformed_header_lines() {
        for head in [
            &b"GET / HTTP/1.1\r\nHost x\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        ] {
            assert!(matches!(parsed(head), Err(RequestError::Malformed(_))));
        }
    }

    #[test]
    fn bounds_the_head() {
        let mut head = b"GET / HTTP/1.1\r\nX: ".to_vec();
        head.resize(MAX_HEAD_LENGTH, b'a');
        // Exactly at the limit and still incomplete: wait for more.
        assert_eq!(parse_head(&head), None);
        head.push(b'a');
        assert_eq!(
            parse_head(&head),
            Some((head.len(), Err(RequestError::HeadTooLarge)))
        );
        // Complete, but too long.
        head.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse_head(&head),
            Some((head.len(), Err(RequestError::HeadTooLarge)))
        );
    }
}

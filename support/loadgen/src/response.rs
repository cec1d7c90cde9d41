//! Checking one HTTP response as its bytes arrive, without keeping them.
//!
//! A load generator reads far more bytes than it can afford to store (10,000
//! connections, or a 1 MiB file many thousand times a second), so the check
//! keeps only the response head until it is complete, then counts body bytes
//! against `Content-Length` and throws them away. The head is read with
//! `httparse`, again at each read until it is whole (it is a few hundred
//! bytes, capped at [`MAX_HEAD_BYTES`]).

use std::fmt;

/// A response head longer than this is counted as malformed: no server of
/// the course sends more than a few hundred bytes of head, and the cap keeps
/// a misbehaving server from growing the loader's memory without bound.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The request said `Connection: close`: the response ends when the
    /// server closes the connection. A `Content-Length`, when there is one,
    /// must match the body; without one (webserver3a to 3g send none),
    /// end-of-file is all a client has.
    ///
    /// Waiting for the server to close, rather than closing once
    /// `Content-Length` bytes are in, also puts TIME_WAIT on the server's
    /// side of each connection, where it costs the load nothing: a client
    /// that closes first keeps each of its ports in TIME_WAIT for a minute,
    /// and a fast run would exhaust the ~28,000 ephemeral ports.
    UntilClose,
    /// A keep-alive connection: the connection stays open after the
    /// response, so `Content-Length` is the only way to know it is over, and
    /// a response without one cannot be checked.
    ContentLengthRequired,
}

/// Why a request counts as failed. The `Display` text is the "kind" the
/// report counts by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// connect(2) failed: refused, no address, ...
    Connect(String),
    /// The server reset the connection (ECONNRESET).
    Reset,
    /// Another error from send or recv.
    Io(String),
    /// End-of-file before any byte of a response.
    ClosedBeforeResponse,
    /// End-of-file in the middle of the head, or before `Content-Length`
    /// bytes of body.
    ClosedEarly,
    /// A status other than 200.
    Status(u16),
    /// Not an HTTP/1.x response head, or a head too long.
    Malformed,
    /// A keep-alive response without `Content-Length`.
    NoContentLength,
    /// More bytes than the head and `Content-Length` announce.
    ExtraBytes,
    /// A kept-alive connection closed by the server while the load still
    /// needed it open.
    ClosedWhileHeld,
    /// Not answered before the load's time bound.
    Timeout,
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect(reason) => write!(formatter, "connect: {reason}"),
            Failure::Reset => write!(formatter, "reset by server"),
            Failure::Io(reason) => write!(formatter, "i/o: {reason}"),
            Failure::ClosedBeforeResponse => write!(formatter, "closed before response"),
            Failure::ClosedEarly => write!(formatter, "closed inside response"),
            Failure::Status(code) => write!(formatter, "status {code}"),
            Failure::Malformed => write!(formatter, "malformed head"),
            Failure::NoContentLength => write!(formatter, "no Content-Length"),
            Failure::ExtraBytes => write!(formatter, "bytes past Content-Length"),
            Failure::ClosedWhileHeld => write!(formatter, "closed while held"),
            Failure::Timeout => write!(formatter, "timeout"),
        }
    }
}

/// Where a response stands after some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    NeedMore,
    Complete,
}

/// The state of one response being received.
#[derive(Debug)]
pub struct ResponseCheck {
    framing: Framing,
    /// The head so far; emptied (and its memory freed) once it is parsed.
    head: Vec<u8>,
    body: Option<Body>,
}

#[derive(Debug)]
struct Body {
    expected: Option<u64>,
    received: u64,
}

impl ResponseCheck {
    pub fn new(framing: Framing) -> ResponseCheck {
        ResponseCheck {
            framing,
            head: Vec::new(),
            body: None,
        }
    }

    /// Takes the next bytes the connection delivered.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Progress, Failure> {
        if self.body.is_some() {
            return self.count_body(bytes.len() as u64);
        }
        self.head.extend_from_slice(bytes);
        let Some((head_end, status, content_length)) = parse_head(&self.head)? else {
            if self.head.len() > MAX_HEAD_BYTES {
                return Err(Failure::Malformed);
            }
            return Ok(Progress::NeedMore);
        };
        if status != 200 {
            return Err(Failure::Status(status));
        }
        if content_length.is_none() && self.framing == Framing::ContentLengthRequired {
            return Err(Failure::NoContentLength);
        }
        let body_bytes_so_far = (self.head.len() - head_end) as u64;
        self.head = Vec::new();
        self.body = Some(Body {
            expected: content_length,
            received: 0,
        });
        self.count_body(body_bytes_so_far)
    }

    /// The connection reached end-of-file before [`Progress::Complete`]:
    /// the end of the response with [`Framing::UntilClose`] if the whole
    /// body is in, a failure otherwise.
    pub fn at_end_of_file(&self) -> Result<(), Failure> {
        match &self.body {
            None if self.head.is_empty() => Err(Failure::ClosedBeforeResponse),
            None => Err(Failure::ClosedEarly),
            Some(Body { expected: None, .. }) => Ok(()),
            Some(Body {
                expected: Some(expected),
                received,
            }) if received == expected => Ok(()),
            Some(_) => Err(Failure::ClosedEarly),
        }
    }

    fn count_body(&mut self, count: u64) -> Result<Progress, Failure> {
        let body = self.body.as_mut().expect("the head was parsed");
        body.received += count;
        match body.expected {
            Some(expected) if body.received > expected => Err(Failure::ExtraBytes),
            Some(expected)
                if body.received == expected && self.framing == Framing::ContentLengthRequired =>
            {
                Ok(Progress::Complete)
            }
            // Keep reading: more body, or (UntilClose) the end-of-file.
            _ => Ok(Progress::NeedMore),
        }
    }
}

/// The head's length, status code and `Content-Length`, read by `httparse`
/// once the head is whole; `None` while it is not.
fn parse_head(bytes: &[u8]) -> Result<Option<(usize, u16, Option<u64>)>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_end = match response.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Failure::Malformed),
    };
    let mut content_length = None;
    for header in response.headers.iter() {
        if !header.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = std::str::from_utf8(header.value)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or(Failure::Malformed)?;
        // Two different lengths: no way to know where the body ends
        // (RFC 9112 §6.3 says to treat the message as invalid).
        if content_length.is_some_and(|earlier| earlier != value) {
            return Err(Failure::Malformed);
        }
        content_length = Some(value);
    }
    let status = response.code.ok_or(Failure::Malformed)?;
    Ok(Some((head_end, status, content_length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all(framing: Framing, chunks: &[&[u8]]) -> Result<Progress, Failure> {
        let mut check = ResponseCheck::new(framing);
        let mut progress = Progress::NeedMore;
        for chunk in chunks {
            progress = check.feed(chunk)?;
        }
        Ok(progress)
    }

    #[test]
    fn a_response_split_anywhere_completes_at_its_content_length() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for split in 0..response.len() {
            let (first, second) = response.split_at(split);
            assert_eq!(
                check_all(Framing::ContentLengthRequired, &[first, second]),
                Ok(Progress::Complete),
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_empty_body_is_complete_with_the_head() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            check_all(Framing::ContentLengthRequired, &[response]),
            Ok(Progress::Complete)
        );
    }

    #[test]
    fn the_greeting_of_3a_ends_at_end_of_file() {
        let mut check = ResponseCheck::new(Framing::UntilClose);
        assert_eq!(
            check.feed(b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n"),
            Ok(Progress::NeedMore)
        );
        assert_eq!(check.at_end_of_file(), Ok(()));
    }

    #[test]
    fn with_connection_close_the_response_ends_at_end_of_file() {
        let mut check = ResponseCheck::new(Framing::UntilClose);
        assert_eq!(
            check.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
            Ok(Progress::NeedMore)
        );
        assert_eq!(check.at_end_of_file(), Ok(()));
        assert_eq!(check.feed(b"!"), Err(Failure::ExtraBytes));
    }

    #[test]
    fn a_keep_alive_response_needs_a_content_length() {
        assert_eq!(
            check_all(
                Framing::ContentLengthRequired,
                &[b"HTTP/1.1 200 OK\r\n\r\nHi"]
            ),
            Err(Failure::NoContentLength)
        );
    }

    #[test]
    fn failures_are_told_apart() {
        let framing = Framing::ContentLengthRequired;
        assert_eq!(
            check_all(framing, &[b"HTTP/1.1 404 Not Found\r\n\r\n"]),
            Err(Failure::Status(404))
        );
        assert_eq!(
            check_all(framing, &[b"SSH-2.0-OpenSSH\r\n\r\n"]),
            Err(Failure::Malformed)
        );
        assert_eq!(
            check_all(framing, &[b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"]),
            Err(Failure::Malformed)
        );
        assert_eq!(
            check_all(
                framing,
                &[b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"]
            ),
            Err(Failure::Malformed)
        );
        assert_eq!(
            check_all(
                framing,
                &[b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"]
            ),
            Err(Failure::ExtraBytes)
        );
        assert_eq!(
            check_all(framing, &[&[b'x'; MAX_HEAD_BYTES + 1]]),
            Err(Failure::Malformed)
        );
    }

    #[test]
    fn end_of_file_too_early_is_a_failure() {
        let mut check = ResponseCheck::new(Framing::UntilClose);
        assert_eq!(check.at_end_of_file(), Err(Failure::ClosedBeforeResponse));
        check.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        assert_eq!(check.at_end_of_file(), Err(Failure::ClosedEarly));
        check.feed(b"Content-Length: 4\r\n\r\nab").unwrap();
        assert_eq!(check.at_end_of_file(), Err(Failure::ClosedEarly));
    }
}

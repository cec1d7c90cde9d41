//! What a server keeps for one client connection between two events.
//!
//! In the course, a client is just its socket: each `recv(1024)` is taken
//! for a whole request and each `send` for a whole response. Neither is
//! true. A non-blocking `recv` returns whatever has arrived: half a request
//! head, or three requests at once. A non-blocking `send` copies into the
//! kernel's socket buffer only what fits and returns how much that was, or
//! fails with EAGAIN; the rest is the server's to keep and send later. The
//! Python ignores that count, so a large file sent to a slow client loses
//! its tail.
//!
//! A [`Connection`] keeps both halves:
//!
//! * `received`: bytes read and not yet parsed (a partial head, or requests
//!   waiting their turn behind a response still being sent);
//! * `unsent`, from `sent_until`: response bytes not yet accepted by the
//!   kernel (heads, and the bodies that are in memory: error pages and the
//!   small files of [`crate::file_cache`], so that a head and its body go
//!   out in one `send`), and the open `file` whose remaining bytes the
//!   kernel sends straight from the page cache with `sendfile(2)` as the
//!   socket takes them, so a 64 MiB file never passes through the server.
//!
//! Both buffers are freed when empty, so an idle keep-alive connection costs
//! a few dozen bytes here, plus the kernel's socket buffers.
//!
//! It also keeps the connection's clock (see [`crate::deadline`]): when it
//! was last active, when the request head it waits for began, and when it
//! began closing gracefully.
//!
//! Each method makes at most one `read(2)`, `send(2)` or `sendfile(2)` on
//! the socket. When
//! to call them, and how many times in a row, is the I/O model: that stays
//! in the servers.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use nix::sys::sendfile::sendfile64;
use nix::sys::socket::{send, MsgFlags};

use crate::deadline::{Expiry, Timeouts, LINGERING_TIME};
use crate::request::{parse_head, Request, RequestError};
use crate::response::{Body, Response};

/// How much response data may wait unsent before further pipelined
/// requests wait too.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// How many bytes received and not yet answered stop
/// [`Connection::accepts_input`]: a client that pipelines requests faster
/// than it reads the answers is made to wait, as one whose socket is not
/// read, instead of filling the server's memory.
pub const RECEIVE_LIMIT: usize = CHUNK_SIZE;

/// The most one `sendfile(2)` is asked to send (nginx's
/// `sendfile_max_chunk` is 2 MiB). On a non-blocking socket it sends what
/// fits in the socket buffer and returns; the cap keeps one call short
/// when the buffer is huge.
pub const SENDFILE_CHUNK: usize = 1024 * 1024;

/// What [`Connection::send`] needs of a socket: a write for the bytes in
/// memory, and `sendfile(2)` for a file. A trait so that the tests can use
/// a socket that takes a few bytes at a time.
pub trait Transmit: Write {
    /// Writes `bytes`, saying that more follows at once (`MSG_MORE`): a
    /// file's head, so that the kernel puts the first bytes of the file in
    /// the same TCP segment instead of sending a small one of its own.
    fn write_more(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write(bytes)
    }

    /// Sends up to `count` bytes of `file` from `offset`, and says how
    /// many went: `sendfile(2)`, the kernel copying from the page cache to
    /// the socket, with no trip through the server's memory.
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize>;
}

impl Transmit for TcpStream {
    fn write_more(&mut self, bytes: &[u8]) -> io::Result<usize> {
        // nix has no name for MSG_MORE; the flag is libc's.
        let more = MsgFlags::from_bits_retain(nix::libc::MSG_MORE);
        Ok(send(self.as_raw_fd(), bytes, more)?)
    }

    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        let mut offset = i64::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        Ok(sendfile64(self, file, Some(&mut offset), count)?)
    }
}

/// What one read from the socket brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// This many bytes, now in the connection's buffer.
    Bytes(usize),
    /// Nothing yet: the read would have blocked (EAGAIN/EWOULDBLOCK).
    WouldBlock,
    /// End of file: the client has closed its side (`recv` returned 0).
    EndOfStream,
}

/// What is to be sent next: see [`Connection::output`].
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Bytes in memory: response heads, error pages, small files from the
    /// cache. `more`: a file's bytes follow them (send with `MSG_MORE`).
    Bytes { bytes: &'a [u8], more: bool },
    /// `length` bytes of `file` from `offset`, the rest of a file's body.
    File {
        file: &'a File,
        offset: u64,
        length: u64,
    },
    /// Nothing to send.
    Nothing,
}

/// What one write to the socket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The kernel took this many bytes.
    Bytes(usize),
    /// The socket buffer is full (EAGAIN): wait until it is writable.
    WouldBlock,
    /// There was nothing to send.
    Nothing,
}

/// A file being sent: `remaining` bytes of it, from `offset`, are still
/// to be sent.
struct FileBody {
    file: File,
    offset: u64,
    remaining: u64,
}

/// One client connection's state between events.
pub struct Connection {
    received: Vec<u8>,
    unsent: Vec<u8>,
    sent_until: usize,
    file: Option<FileBody>,
    /// Set by a response that ends the connection: nothing more is read or
    /// answered, and the server closes once the output is out.
    close_after_sending: bool,
    /// The client closed its side: answer what it sent, then close.
    peer_closed: bool,
    last_activity: Instant,
    /// Bytes received and sent so far, all told: what an edge-triggered
    /// server's budget per turn counts.
    transferred: u64,
    /// When the request head the server waits for began: the accept for
    /// the first, the first byte of the next one after that. `None` between
    /// requests, and while a response is being sent.
    head_started: Option<Instant>,
    /// Set by [`close_gracefully`](Self::close_gracefully): the writing side
    /// is shut down, and what arrives is read and discarded until the
    /// client closes its side, or for [`LINGERING_TIME`].
    lingering_since: Option<Instant>,
}

impl Connection {
    pub fn new(now: Instant) -> Connection {
        Connection {
            received: Vec::new(),
            unsent: Vec::new(),
            sent_until: 0,
            file: None,
            close_after_sending: false,
            peer_closed: false,
            last_activity: now,
            transferred: 0,
            head_started: Some(now),
            lingering_since: None,
        }
    }

    /// One `read(2)` into `scratch` (a buffer the server shares between all
    /// its connections), keeping what arrived.
    ///
    /// A signal arriving during the call (EINTR) is retried: std's
    /// `read_exact` would do that, plain `read` does not.
    pub fn receive(&mut self, socket: &mut impl Read, scratch: &mut [u8]) -> io::Result<Received> {
        loop {
            return match socket.read(scratch) {
                Ok(count) => Ok(self.has_received(&scratch[..count])),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(Received::WouldBlock),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => Err(error),
            };
        }
    }

    /// Keeps `bytes`, what one read from the socket brought; no bytes is
    /// the end of the stream (`recv` returned 0). [`receive`](Self::receive)
    /// calls it after its `read(2)`; a server that does not read but is
    /// handed what arrived (io_uring's completions) calls it itself.
    pub fn has_received(&mut self, bytes: &[u8]) -> Received {
        if bytes.is_empty() {
            self.peer_closed = true;
            return Received::EndOfStream;
        }
        // Once the connection is ending (its last response queued, or
        // closing gracefully), what still arrives is never answered: thrown
        // away.
        if self.lingering_since.is_none() && !self.close_after_sending {
            self.received.extend_from_slice(bytes);
        }
        self.last_activity = Instant::now();
        self.transferred += bytes.len() as u64;
        Received::Bytes(bytes.len())
    }

    /// The next complete request received, if it is its turn.
    ///
    /// It is its turn when the previous response is (nearly) out: requests
    /// are answered in order, and a client that pipelines faster than it
    /// reads is made to wait rather than fill the server's memory. `None`
    /// also while the head is incomplete: wait for more bytes (and, from
    /// the first of them, the head's deadline runs).
    pub fn next_request(&mut self) -> Option<Result<Request, RequestError>> {
        if self.close_after_sending || self.file.is_some() || self.unsent_len() >= CHUNK_SIZE {
            return None;
        }
        let Some((consumed, request)) = parse_head(&self.received) else {
            if !self.received.is_empty() && self.head_started.is_none() {
                self.head_started = Some(Instant::now());
            }
            return None;
        };
        self.head_started = None;
        self.received.drain(..consumed);
        if self.received.is_empty() {
            // Give the memory back: an idle connection holds no buffer.
            self.received = Vec::new();
        }
        Some(request)
    }

    /// Queues `response` after whatever is still unsent.
    pub fn queue(&mut self, response: Response) {
        let (head, body, keep_alive) = response.into_parts();
        self.unsent.extend_from_slice(&head);
        match body {
            Body::Empty => {}
            Body::Text(text) => self.unsent.extend_from_slice(&text),
            Body::Cached {
                bytes,
                offset,
                length,
            } => {
                // A copy of a few kilobytes costs less than the system call
                // it saves: the head and the body go in one `send`.
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let end = start + usize::try_from(length).unwrap_or(usize::MAX);
                self.unsent.extend_from_slice(&bytes[start..end]);
            }
            Body::File {
                file,
                offset,
                length,
            } => {
                self.file = Some(FileBody {
                    file,
                    offset,
                    remaining: length,
                })
            }
        }
        if !keep_alive {
            self.close_after_sending = true;
            // Nothing after this response will be answered.
            self.received = Vec::new();
        }
    }

    /// One system call of pending output: a `send` of the bytes in memory
    /// (with `MSG_MORE` when a file follows), else a `sendfile` of the next
    /// part of the file.
    ///
    /// `sendfile` reads the file in the kernel; if its pages are not in the
    /// page cache, the server waits for the disk meanwhile: epoll cannot
    /// wait for regular files (they are always "ready"). A server for files
    /// larger than memory would use a thread pool or io_uring.
    pub fn send(&mut self, socket: &mut impl Transmit) -> io::Result<Sent> {
        loop {
            let result = match self.output() {
                Output::Bytes { bytes, more: true } => socket.write_more(bytes),
                Output::Bytes { bytes, more: false } => socket.write(bytes),
                Output::File {
                    file,
                    offset,
                    length,
                } => {
                    let count = usize::try_from(length)
                        .unwrap_or(usize::MAX)
                        .min(SENDFILE_CHUNK);
                    socket.send_file(file, offset, count)
                }
                Output::Nothing => return Ok(Sent::Nothing),
            };
            return match result {
                Ok(count) => self.sent(count),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(Sent::WouldBlock),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => Err(error),
            };
        }
    }

    /// What is to be sent next: the bytes in memory, else the file's
    /// remaining part, else nothing. [`send`](Self::send) hands it to one
    /// system call; a server that submits its sends and learns later how
    /// much went (io_uring) hands it to the kernel, and calls
    /// [`sent`](Self::sent) once the kernel says.
    ///
    /// Nothing but [`sent`](Self::sent) and [`queue`](Self::queue) changes
    /// the bytes in memory: while the kernel may still be reading them, call
    /// neither, and the slice stays where it is.
    pub fn output(&self) -> Output<'_> {
        if self.unsent_len() > 0 {
            Output::Bytes {
                bytes: &self.unsent[self.sent_until..],
                more: self.file.is_some(),
            }
        } else if let Some(body) = &self.file {
            Output::File {
                file: &body.file,
                offset: body.offset,
                length: body.remaining,
            }
        } else {
            Output::Nothing
        }
    }

    /// Accounts for `count` bytes the kernel took of [`output`](Self::output):
    /// from memory first, then from the file. `count` is at most what
    /// `output` offered. A file that yields 0 bytes has shrunk since its
    /// length went out: the connection ends (`Sent::Nothing`).
    pub fn sent(&mut self, count: usize) -> io::Result<Sent> {
        if self.unsent_len() > 0 {
            if count == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.sent_until += count;
            if self.unsent_len() == 0 {
                // Give the memory back: an idle connection holds no buffer.
                self.unsent = Vec::new();
                self.sent_until = 0;
            }
        } else if let Some(body) = &mut self.file {
            if count == 0 {
                // The file shrank after its length went out in
                // Content-Length. The promised body can never be completed:
                // close, so the client sees a short body and not the start
                // of the next response taken for the rest of this one.
                self.file = None;
                self.close_after_sending = true;
                return Ok(Sent::Nothing);
            }
            body.offset += count as u64;
            body.remaining -= count as u64;
            if body.remaining == 0 {
                // Dropping the file closes its descriptor.
                self.file = None;
            }
        }
        self.last_activity = Instant::now();
        self.transferred += count as u64;
        Ok(Sent::Bytes(count))
    }

    fn unsent_len(&self) -> usize {
        self.unsent.len() - self.sent_until
    }

    /// Whether response bytes are waiting for the socket to take them.
    pub fn has_output(&self) -> bool {
        self.unsent_len() > 0 || self.file.is_some()
    }

    /// Whether reading more is useful now: nothing waits to be sent (a
    /// client that does not read its responses is not allowed to send more
    /// requests), and the connection is not ending; or it is closing
    /// gracefully, and what arrives must be read to be discarded.
    pub fn wants_to_read(&self) -> bool {
        if self.lingering_since.is_some() {
            return !self.peer_closed;
        }
        !self.has_output() && !self.close_after_sending && !self.peer_closed
    }

    /// Whether bytes that arrive are still of use, for a server that does
    /// not read one call at a time but is handed what arrives (io_uring's
    /// multishot receive). Unlike [`wants_to_read`](Self::wants_to_read), a
    /// response being sent does not stop it (a keep-alive client's next
    /// request comes in meanwhile); what does: the connection ending (until
    /// it closes gracefully, when what arrives is read to be discarded), or
    /// [`RECEIVE_LIMIT`] bytes received and not yet answered, which only a
    /// client that pipelines faster than it reads its answers reaches.
    pub fn accepts_input(&self) -> bool {
        if self.lingering_since.is_some() {
            return !self.peer_closed;
        }
        !self.close_after_sending && !self.peer_closed && self.received.len() < RECEIVE_LIMIT
    }

    /// Whether the server has ended the connection and its last response is
    /// out: time for [`close_gracefully`](Self::close_gracefully).
    pub fn wants_to_close_gracefully(&self) -> bool {
        self.close_after_sending
            && !self.has_output()
            && !self.peer_closed
            && self.lingering_since.is_none()
    }

    /// Begins closing the way nginx does: `shutdown(SHUT_WR)`, so the
    /// client gets every byte sent and then end of file, while the socket
    /// stays open for reading.
    ///
    /// Closing at once would be wrong whenever the client has sent bytes
    /// the server never read (a body it did not want, requests pipelined
    /// after `Connection: close`): closing a socket with unread input makes
    /// Linux send RST instead of FIN, and a reset destroys whatever the
    /// client has not read yet, the end of the last response. So the server
    /// goes on reading, discards what comes, and closes at the client's end
    /// of file ([`is_finished`](Self::is_finished)) or after
    /// [`LINGERING_TIME`] ([`expired`](Self::expired)).
    pub fn close_gracefully(&mut self, socket: &TcpStream) -> io::Result<()> {
        socket.shutdown(Shutdown::Write)?;
        self.received = Vec::new();
        self.lingering_since = Some(Instant::now());
        Ok(())
    }

    /// Whether the connection is done: all output is out and the client has
    /// closed its side. The server closes the socket then.
    ///
    /// Call it after [`next_request`](Self::next_request) has returned
    /// `None`: requests received before the client closed are answered.
    pub fn is_finished(&self) -> bool {
        !self.has_output() && self.peer_closed
    }

    /// Whether the connection's time is up, and which deadline ran out: see
    /// [`crate::deadline`]. The server closes it then, without ceremony.
    pub fn expired(&self, now: Instant, timeouts: &Timeouts) -> Option<Expiry> {
        let (deadline, expiry) = self.deadline(timeouts);
        (now >= deadline).then_some(expiry)
    }

    /// The earliest deadline that applies now, and what it is.
    fn deadline(&self, timeouts: &Timeouts) -> (Instant, Expiry) {
        if let Some(since) = self.lingering_since {
            return (since + LINGERING_TIME, Expiry::LingerOver);
        }
        let idle = (self.last_activity + timeouts.idle, Expiry::Idle);
        let waits_for_a_head = !self.has_output() && !self.close_after_sending && !self.peer_closed;
        match self.head_started {
            Some(started) if waits_for_a_head => {
                idle.min((started + timeouts.header, Expiry::HeadTooSlow))
            }
            _ => idle,
        }
    }

    /// How many bytes went either way since the connection was accepted:
    /// those [`receive`](Self::receive) brought (discarded ones too) and
    /// those [`send`](Self::send) handed to the kernel.
    pub fn transferred(&self) -> u64 {
        self.transferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Site;
    use std::io::Cursor;
    use std::time::Duration;

    /// A socket that takes at most `capacity` bytes per write, then says
    /// EAGAIN once, like a full socket buffer.
    struct SlowSocket {
        taken: Vec<u8>,
        capacity: usize,
        blocked_last_time: bool,
    }

    impl Write for SlowSocket {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if !self.blocked_last_time {
                self.blocked_last_time = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.blocked_last_time = false;
            let count = bytes.len().min(self.capacity);
            self.taken.extend_from_slice(&bytes[..count]);
            Ok(count)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// `sendfile` done by hand: read the part, write what the socket takes.
    fn copy_file_part(
        socket: &mut impl Write,
        file: &File,
        offset: u64,
        count: usize,
    ) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut part = vec![0; count.min(CHUNK_SIZE)];
        let read = file.read_at(&mut part, offset)?;
        socket.write(&part[..read])
    }

    impl Transmit for SlowSocket {
        fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
            copy_file_part(self, file, offset, count)
        }
    }

    impl Transmit for Vec<u8> {
        fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
            copy_file_part(self, file, offset, count)
        }
    }

    fn site_with(files: &[(&str, &[u8])]) -> (Site, testkit::TempDir) {
        let root = testkit::TempDir::new("connection");
        for (name, content) in files {
            root.write(name, content);
        }
        (Site::open(root.path()).unwrap(), root)
    }

    fn answer_all(connection: &mut Connection, site: &Site) {
        while let Some(request) = connection.next_request() {
            let response = match request {
                Ok(request) => site.respond(&request),
                Err(error) => Response::for_refused_head(error),
            };
            connection.queue(response);
        }
    }

    #[test]
    fn sends_a_large_file_whole_through_short_writes() {
        let content: Vec<u8> = (0..300_000u32).map(|index| (index % 251) as u8).collect();
        let (site, _root) = site_with(&[("big.bin", &content)]);
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 1024];
        let mut client = Cursor::new(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
        connection.receive(&mut client, &mut scratch).unwrap();
        answer_all(&mut connection, &site);

        let mut socket = SlowSocket {
            taken: Vec::new(),
            capacity: 7_000,
            blocked_last_time: false,
        };
        let mut would_block = 0;
        while connection.has_output() {
            if connection.send(&mut socket).unwrap() == Sent::WouldBlock {
                would_block += 1;
            }
            assert!(connection.unsent.capacity() <= 2 * CHUNK_SIZE);
        }
        assert!(would_block > 10);
        let head_end = socket
            .taken
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        assert_eq!(&socket.taken[head_end..], &content[..]);
        assert!(!connection.is_finished());
        assert!(connection.wants_to_read());
    }

    #[test]
    fn answers_pipelined_requests_in_order_and_frees_its_buffers() {
        let (site, _root) = site_with(&[("a.txt", b"first"), ("b.txt", b"second")]);
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 4096];
        let mut client = Cursor::new(
            b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .to_vec(),
        );
        connection.receive(&mut client, &mut scratch).unwrap();
        let mut output = Vec::new();
        loop {
            answer_all(&mut connection, &site);
            if connection.send(&mut output).unwrap() == Sent::Nothing {
                break;
            }
        }
        let text = String::from_utf8(output).unwrap();
        let first = text.find("first").unwrap();
        let second = text.find("second").unwrap();
        assert!(first < second && text.rfind("first").unwrap() > second);
        assert!(text.ends_with("Connection: close\r\n\r\nfirst"));
        assert!(connection.wants_to_close_gracefully());
        assert!(!connection.is_finished());
        assert_eq!(connection.received.capacity(), 0);
        assert_eq!(connection.unsent.capacity(), 0);
    }

    #[test]
    fn a_head_arriving_byte_by_byte_is_answered_once_complete() {
        let (site, _root) = site_with(&[("index.html", b"<p>hi</p>")]);
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 1];
        let mut client = Cursor::new(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
        let mut answered = 0;
        while connection.receive(&mut client, &mut scratch).unwrap() != Received::EndOfStream {
            while let Some(request) = connection.next_request() {
                connection.queue(site.respond(&request.unwrap()));
                answered += 1;
            }
        }
        assert_eq!(answered, 1);
    }

    #[test]
    fn after_the_client_closes_it_finishes_once_answered() {
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 64];
        let mut client = Cursor::new(b"GET /partial".to_vec());
        connection.receive(&mut client, &mut scratch).unwrap();
        assert_eq!(
            connection.receive(&mut client, &mut scratch).unwrap(),
            Received::EndOfStream
        );
        assert!(connection.next_request().is_none());
        assert!(connection.is_finished());
        assert!(!connection.wants_to_read());
    }

    #[test]
    fn counts_the_bytes_that_went_either_way() {
        let (site, _root) = site_with(&[("a.txt", b"first")]);
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 64];
        let request = b"GET /a.txt HTTP/1.1\r\n\r\n";
        let mut client = Cursor::new(request.to_vec());
        connection.receive(&mut client, &mut scratch).unwrap();
        answer_all(&mut connection, &site);
        let mut output = Vec::new();
        while connection.has_output() {
            connection.send(&mut output).unwrap();
        }
        let both_ways = request.len() + output.len();
        assert_eq!(connection.transferred(), both_ways as u64);
    }

    /// What a completion-based server does (uring_server): hands what arrived to
    /// `has_received`, sends what `output` offers itself, and accounts with `sent`.
    #[test]
    fn a_server_that_does_its_own_io_gets_the_same_bytes_out() {
        let (site, _root) = site_with(&[("a.txt", b"first"), ("b.txt", b"second")]);
        let mut connection = Connection::new(Instant::now());
        let two = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(connection.has_received(two), Received::Bytes(two.len()));
        let mut out = Vec::new();
        loop {
            answer_all(&mut connection, &site);
            // A short send each time: three bytes at most.
            let count = match connection.output() {
                Output::Bytes { bytes, .. } => {
                    out.extend_from_slice(&bytes[..bytes.len().min(3)]);
                    bytes.len().min(3)
                }
                Output::File { file, offset, .. } => {
                    use std::os::unix::fs::FileExt;
                    let mut part = [0u8; 3];
                    let count = file.read_at(&mut part, offset).unwrap();
                    out.extend_from_slice(&part[..count]);
                    count
                }
                Output::Nothing => break,
            };
            assert_eq!(connection.sent(count).unwrap(), Sent::Bytes(count));
        }
        let text = String::from_utf8(out).unwrap();
        let responses: Vec<&str> = text.split("HTTP/1.1 200 OK\r\n").collect();
        assert_eq!(responses.len(), 3, "{text}");
        assert!(responses[1].ends_with("\r\n\r\nfirst"), "{text}");
        assert!(responses[2].ends_with("\r\n\r\nsecond"), "{text}");
        assert_eq!(connection.has_received(b""), Received::EndOfStream);
        assert!(connection.is_finished());
    }

    #[test]
    fn accepts_input_until_the_connection_ends_or_too_much_waits() {
        let mut connection = Connection::new(Instant::now());
        assert!(connection.accepts_input());
        // A response being sent does not stop it (unlike wants_to_read).
        connection.queue(Response::for_refused_head(RequestError::Malformed("bad")));
        assert!(!connection.wants_to_read());
        assert!(!connection.accepts_input(), "the last response is queued");
        // What arrives after the last response is thrown away.
        connection.has_received(b"GET / HTTP/1.1\r\n\r\n");
        assert!(connection.received.is_empty());

        let mut pipelining = Connection::new(Instant::now());
        let request = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        for _ in 0..RECEIVE_LIMIT / request.len() + 2 {
            if !pipelining.accepts_input() {
                break;
            }
            pipelining.has_received(request);
        }
        assert!(!pipelining.accepts_input());
        assert!(pipelining.received.len() >= RECEIVE_LIMIT);
        assert!(pipelining.received.len() < RECEIVE_LIMIT + request.len());
    }

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(1),
        idle: Duration::from_secs(10),
    };

    #[test]
    fn a_head_has_a_deadline_that_its_bytes_do_not_move() {
        let accepted = Instant::now();
        let mut connection = Connection::new(accepted);
        let mut scratch = [0u8; 64];
        let mut client = Cursor::new(b"GET /a.txt HTTP/1.1\r\nX-Slow: z".to_vec());
        connection.receive(&mut client, &mut scratch).unwrap();
        assert!(connection.next_request().is_none());
        let later = accepted + Duration::from_millis(1001);
        assert_eq!(
            connection.expired(later, &TIMEOUTS),
            Some(Expiry::HeadTooSlow)
        );
        assert_eq!(connection.expired(accepted, &TIMEOUTS), None);
    }

    #[test]
    fn between_requests_only_the_idle_timeout_counts() {
        let (site, _root) = site_with(&[("a.txt", b"first")]);
        let mut connection = Connection::new(Instant::now());
        let mut scratch = [0u8; 64];
        let mut client = Cursor::new(b"GET /a.txt HTTP/1.1\r\n\r\n".to_vec());
        connection.receive(&mut client, &mut scratch).unwrap();
        answer_all(&mut connection, &site);
        connection.send(&mut Vec::new()).unwrap();
        let now = Instant::now();
        assert_eq!(
            connection.expired(now + Duration::from_secs(5), &TIMEOUTS),
            None
        );
        assert_eq!(
            connection.expired(now + Duration::from_secs(11), &TIMEOUTS),
            Some(Expiry::Idle)
        );
    }

    #[test]
    fn closing_gracefully_shuts_down_writing_and_discards_what_comes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server_side, _) = listener.accept().unwrap();
        let mut connection = Connection::new(Instant::now());
        connection.queue(Response::for_refused_head(RequestError::Malformed("bad")));
        while connection.has_output() {
            connection.send(&mut server_side).unwrap();
        }
        assert!(connection.wants_to_close_gracefully());
        connection.close_gracefully(&server_side).unwrap();
        assert!(!connection.wants_to_close_gracefully());

        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap(); // the end of file came
        assert!(answer.starts_with(b"HTTP/1.1 400 "));
        client.write_all(b"more requests nobody reads").unwrap();
        let mut scratch = [0u8; 64];
        assert!(connection.wants_to_read());
        connection.receive(&mut server_side, &mut scratch).unwrap();
        assert!(connection.received.is_empty());
        drop(client);
        while connection.receive(&mut server_side, &mut scratch).unwrap() != Received::EndOfStream {
        }
        assert!(connection.is_finished());
        let later = Instant::now() + LINGERING_TIME;
        assert_eq!(
            connection.expired(later, &TIMEOUTS),
            Some(Expiry::LingerOver)
        );
    }
}

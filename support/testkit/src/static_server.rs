//! Scenarios for the static file servers, `nonblock_server`,
//! `epoll_server` and `prefork_server`.
//!
//! Both servers make the same promises about HTTP (the right status codes,
//! keep-alive, pipelining, large files to slow readers, paths kept under the
//! root, slow and idle clients, running out of descriptors), so the checks
//! are written once, here, and each crate's tests call them on its own
//! binary: `epoll_server` once per trigger mode. Every scenario takes the
//! binary's path and the extra arguments to start it with.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::http::read_head;
use crate::run::{Limits, Output, Running};
use crate::{
    contract, cpu_time, eventually, raise_open_file_limit, raw_request, read_response, request,
    request_for, resident_memory, stays_open_for, tcp_end, Launch, Response, Server, TempDir,
    PATIENCE,
};

/// The files of the test site, by path under the root, with their expected
/// `Content-Type`.
const TYPED_FILES: &[(&str, &str)] = &[
    ("index.html", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("data.json", "application/json"),
    ("a.txt", "text/plain; charset=utf-8"),
    ("logo.png", "image/png"),
    ("photo.jpg", "image/jpeg"),
    ("photo.jpeg", "image/jpeg"),
    ("anim.gif", "image/gif"),
    ("logo.svg", "image/svg+xml"),
    ("favicon.ico", "image/x-icon"),
    ("module.wasm", "application/wasm"),
    ("archive.tar.gz", "application/octet-stream"),
    ("docs/index.html", "text/html; charset=utf-8"),
];

/// A document root with a file of every type above, each holding its own
/// name (so a response shows which file it carries), plus `a.txt` =
/// `first` and `b.txt` = `second`.
pub fn test_site() -> TempDir {
    let site = TempDir::new("site");
    for (name, _) in TYPED_FILES {
        site.write(name, format!("this is {name}\n"));
    }
    site.write("a.txt", "first");
    site.write("b.txt", "second");
    site
}

/// The server, started on `root` with `extra` arguments (e.g. the trigger).
pub fn launch(binary: &str, extra: &[&str], root: &Path) -> Launch {
    Launch::new(binary)
        .arg("--root")
        .arg(root.as_os_str())
        .args(extra.iter().copied())
}

/// A [`test_site`] and the server started on it with `extra`, then `more`
/// arguments. The site must outlive the server: keep both.
fn serve_test_site(binary: &str, extra: &[&str], more: &[&str]) -> (TempDir, Server) {
    let site = test_site();
    let server = launch(binary, extra, site.path())
        .args(more.iter().copied())
        .start_server();
    (site, server)
}

/// [`request`] with more header lines, each given without its CRLF.
fn request_with(method: &str, target: &str, headers: &[&str]) -> Vec<u8> {
    let mut text = request(method, target);
    text.truncate(text.len() - 2); // the empty line that ends the head
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Asserts a response's status and body, naming `what` on failure.
fn assert_answer(response: &Response, status: u16, body: &str, what: &str) {
    assert_eq!(
        (response.status, response.body_text().as_str()),
        (status, body),
        "{what}"
    );
}

/// A keep-alive HTTP client on one connection. The reader's buffer keeps
/// bytes of a following response (pipelining) for the next read.
struct HttpClient {
    reader: BufReader<TcpStream>,
}

impl HttpClient {
    fn connect(server: &Server) -> HttpClient {
        HttpClient {
            reader: BufReader::new(server.connect()),
        }
    }

    fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    fn read_response(&mut self, head_request: bool) -> io::Result<Response> {
        read_response(&mut self.reader, head_request)
    }

    /// Sends `bytes` and reads the response; panics, showing the request,
    /// on any failure.
    fn exchange(&mut self, bytes: &[u8], head_request: bool) -> Response {
        let shown = String::from_utf8_lossy(bytes);
        self.send(bytes)
            .unwrap_or_else(|err| panic!("send {shown:?}: {err}"));
        self.read_response(head_request)
            .unwrap_or_else(|err| panic!("read the response to {shown:?}: {err}"))
    }

    fn get(&mut self, path: &str) -> Response {
        self.exchange(request_for(path).as_bytes(), false)
    }

    fn head(&mut self, path: &str) -> Response {
        self.exchange(request("HEAD", path).as_bytes(), true)
    }

    /// `method target` with more header lines ([`request_with`]).
    fn ask(&mut self, method: &str, target: &str, headers: &[&str]) -> Response {
        self.exchange(&request_with(method, target, headers), method == "HEAD")
    }

    /// `GET path`, and whether it got a 200, with no panic: for a server
    /// that may turn the connection away.
    fn try_get_ok(&mut self, path: &str) -> bool {
        self.send(request_for(path).as_bytes())
            .and_then(|()| self.read_response(false))
            .is_ok_and(|response| response.status == 200)
    }

    /// Asserts that the server has closed the connection: end-of-file (or
    /// a reset) on the next read, waiting at most [`PATIENCE`]. Panics if a
    /// byte arrives instead, or nothing at all.
    fn expect_closed_by_server(&mut self, what: &str) {
        loop {
            match self.reader.fill_buf() {
                Ok([]) => return,
                Ok(bytes) => panic!("{what}: expected the connection closed, got {bytes:?}"),
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => return,
                // A plain read(2) is not restarted after a signal (std
                // retries only in read_exact and the like): read again.
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => panic!("{what}: expected the connection closed, got {err}"),
            }
        }
    }
}

/// Sends `bytes` on a new connection; asserts the answer's status and that
/// the server then closes the connection. Each failure names the request.
fn assert_answered_then_closed(server: &Server, bytes: &[u8], status: u16) {
    let shown = format!("{:?}", String::from_utf8_lossy(bytes));
    let mut client = HttpClient::connect(server);
    // The server may close before taking all of a request it refuses (a
    // head too large): only the answer counts.
    let _ = client.send(bytes);
    let response = client
        .read_response(false)
        .unwrap_or_else(|err| panic!("{shown}: {err}"));
    assert_eq!(response.status, status, "{shown}: {response:?}");
    client.expect_closed_by_server(&shown);
}

/// A line of a server's log without the `[worker PID] ` that each worker of
/// prefork_server starts its lines with; any other line as it is.
pub fn without_worker(line: &str) -> &str {
    let prefix = worker_of(line);
    &line[prefix.len()..]
}

/// The `[worker PID] ` a line of a prefork_server worker starts with, or
/// "" (any other line).
pub fn worker_of(line: &str) -> &str {
    line.strip_prefix("[worker ")
        .and_then(|rest| rest.split_once("] "))
        .filter(|(pid, _)| !pid.is_empty() && pid.bytes().all(|byte| byte.is_ascii_digit()))
        .map_or("", |(pid, _)| {
            &line[.."[worker ".len() + pid.len() + "] ".len()]
        })
}

/// `/` is `index.html`; every file comes with its exact length and the
/// `Content-Type` of its extension, on one keep-alive connection.
pub fn serves_files_with_length_and_type(binary: &str, extra: &[&str]) {
    let (site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);

    let index = client.get("/");
    assert_answer(&index, 200, "this is index.html\n", "/");
    let index_type = index.header("content-type");
    assert_eq!(index_type, Some("text/html; charset=utf-8"));

    for (name, content_type) in TYPED_FILES {
        let response = client.get(&format!("/{name}"));
        let expected = fs::read(site.path().join(name)).unwrap();
        let length = expected.len().to_string();
        assert_eq!(response.status, 200, "{name}: {response:?}");
        assert_eq!(response.body, expected, "{name}");
        assert_eq!(response.header("content-length"), Some(&*length), "{name}");
        assert_eq!(
            response.header("content-type"),
            Some(*content_type),
            "{name}"
        );
        assert_eq!(response.header("connection"), Some("keep-alive"), "{name}");
    }
    // A directory with a trailing slash is its index; `?query` names no file.
    for (path, body) in [
        ("/docs/", "this is docs/index.html\n"),
        ("/a.txt?version=2", "first"),
        ("/%61.txt", "first"),
    ] {
        assert_eq!(client.get(path).body_text(), body, "{path}");
    }
}

/// The repository's sample site, from the default root `./html` when the
/// server runs in the repository root, as `cargo run -p ...` does.
pub fn serves_the_sample_site_from_the_default_root(
    binary: &str,
    extra: &[&str],
    repository: &Path,
) {
    let server = Launch::new(binary)
        .args(extra.iter().copied())
        .current_dir(repository)
        .start_server();
    let mut client = HttpClient::connect(&server);
    for (path, file, content_type) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        ("/images/socket.png", "images/socket.png", "image/png"),
        ("/images/socket.svg", "images/socket.svg", "image/svg+xml"),
    ] {
        let response = client.get(path);
        let expected = fs::read(repository.join("html").join(file)).unwrap();
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{path}"
        );
        assert_eq!(response.body, expected, "{path}");
    }
}

/// 404 with a small body, 301 from a directory to its slash, 405 with
/// `Allow`, 400 for a malformed request line, 431 for a head over 8 KiB;
/// the last two close the connection.
pub fn answers_errors_with_the_right_status(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);

    let mut client = HttpClient::connect(&server);
    let missing = client.get("/no/such/file.html");
    assert_eq!(missing.status, 404);
    assert!(missing.body.len() < 200, "a small body: {missing:?}");
    let length = missing.body.len().to_string();
    assert_eq!(missing.header("content-length"), Some(&*length));
    // A directory without its trailing slash is sent to it.
    let directory = client.get("/docs");
    assert_eq!(directory.status, 301);
    assert_eq!(directory.header("location"), Some("/docs/"));

    // A method without a body: 405, and the connection goes on.
    let delete = client.exchange(b"DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(delete.status, 405);
    assert_eq!(delete.header("allow"), Some("GET, HEAD"));
    assert_eq!(client.get("/a.txt").status, 200);

    // With a body, which the server does not read: 405 and closed, so the
    // body is never taken for a request.
    let post = client.exchange(
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\nGET /b.txt HTTP/1.1",
        false,
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("connection"), Some("close"));
    client.expect_closed_by_server("POST with a body");

    let huge_head = format!(
        "GET /a.txt HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
        "x".repeat(9000)
    );
    for (refused, status) in [
        (&b"GET\r\n\r\n"[..], 400),
        (b"GET /a.txt\r\n\r\n", 400),
        (b"GET  /a.txt HTTP/1.1\r\n\r\n", 400),
        (b"GET /a.txt HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET /a.txt HTTP/9.9\r\n\r\n", 400),
        (b"\xff\xfe /a.txt HTTP/1.1\r\n\r\n", 400),
        (b"GET /a.txt HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (huge_head.as_bytes(), 431),
    ] {
        assert_answered_then_closed(&server, refused, status);
    }

    // None of that disturbed the server.
    assert_eq!(HttpClient::connect(&server).get("/a.txt").status, 200);
}

/// HEAD: the same status and headers as GET (but `Date`, which the clock
/// may have moved), and no body, which the next response on the connection
/// proves (a body would be read as its start).
pub fn head_sends_the_headers_without_the_body(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);
    let mut get = client.get("/logo.svg");
    let mut head = client.head("/logo.svg");
    assert_eq!(head.status, 200);
    assert!(get.headers.remove("date").is_some() && head.headers.remove("date").is_some());
    assert_eq!(head.headers, get.headers);
    assert!(head.body.is_empty());
    assert_eq!(client.head("/missing").status, 404);
    assert_eq!(client.get("/b.txt").body_text(), "second");
}

/// One connection, 100 requests, 100 answers: the server accepts once.
pub fn keeps_a_connection_alive_over_100_requests(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);
    for round in 0..100 {
        let (path, body) = [("/a.txt", "first"), ("/b.txt", "second")][round % 2];
        assert_answer(&client.get(path), 200, body, &format!("request {round}"));
    }
    let accepted = server.count_lines(|line| without_worker(line).starts_with("new client"));
    assert_eq!(accepted, 1, "{}", server.stdout());
}

/// HTTP/1.0 closes after the response unless it asks for keep-alive;
/// HTTP/1.1 closes when it says `Connection: close`.
pub fn closes_or_keeps_the_connection_as_the_client_asks(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);

    let mut plain_1_0 = HttpClient::connect(&server);
    let response = plain_1_0.exchange(b"GET /a.txt HTTP/1.0\r\n\r\n", false);
    assert_answer(&response, 200, "first", "HTTP/1.0");
    assert_eq!(response.header("connection"), Some("close"));
    plain_1_0.expect_closed_by_server("HTTP/1.0");

    let mut kept_1_0 = HttpClient::connect(&server);
    for _ in 0..2 {
        let response = kept_1_0.exchange(
            b"GET /b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            false,
        );
        assert_eq!(response.body_text(), "second");
        assert_eq!(response.header("connection"), Some("keep-alive"));
    }

    let mut closing_1_1 = HttpClient::connect(&server);
    let response = closing_1_1.exchange(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        false,
    );
    assert_eq!(response.header("connection"), Some("close"));
    closing_1_1.expect_closed_by_server("HTTP/1.1 with Connection: close");
}

/// Requests sent together, in one write, are all answered, in order.
/// 300 of them are more than one read of the server brings (16 KiB), so an
/// edge-triggered server that reads once per event strands the rest.
pub fn answers_pipelined_requests_in_order(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);

    let script: Vec<(&str, &str, u16, &str)> = (0..300)
        .map(|index| match index % 5 {
            0 => ("GET", "/a.txt", 200, "first"),
            1 => ("GET", "/b.txt", 200, "second"),
            2 => ("GET", "/missing", 404, ""),
            3 => ("HEAD", "/a.txt", 200, ""),
            _ => ("GET", "/style.css", 200, "this is style.css\n"),
        })
        .collect();
    let all: String = script
        .iter()
        .map(|(method, path, _, _)| request(method, path))
        .collect();
    assert!(all.len() > 16 * 1024);
    client.send(all.as_bytes()).unwrap();
    for (index, (method, path, status, body)) in script.iter().enumerate() {
        let what = format!("response {index}: {method} {path}");
        let response = client
            .read_response(*method == "HEAD")
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(response.status, *status, "{what}");
        if *status == 200 {
            assert_eq!(response.body_text(), *body, "{what}");
        }
    }
}

/// A request that arrives one byte per segment is answered once complete.
pub fn reads_a_request_sent_byte_by_byte(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);
    client.stream().set_nodelay(true).unwrap();
    for byte in request_for("/b.txt").bytes() {
        client.send(&[byte]).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    let response = client.read_response(false).unwrap();
    assert_answer(&response, 200, "second", "the request sent byte by byte");
    // And the connection is still good for the next one.
    assert_eq!(client.get("/a.txt").body_text(), "first");
}

/// A 64 MiB file, sent to a client that reads slowly, arrives whole and
/// byte-identical, and the server never holds the file in memory.
///
/// The client reads nothing until the socket buffers are full and the
/// server's writes hit EAGAIN, which the test waits for and checks in
/// `/proc/net/tcp`; a server that ignores how much `send` took loses data.
/// It then reads in chunks with pauses. The file's bytes differ from one
/// position to the next (each MiB is stamped with its number), so a lost,
/// repeated or reordered chunk does not compare equal.
pub fn sends_a_large_file_whole_to_a_slow_reader(binary: &str, extra: &[&str]) {
    const SIZE: usize = 64 << 20;
    const MEBIBYTE: usize = 1 << 20;
    let site = test_site();
    let file_path = site.path().join("large.bin");
    write_stamped_file(&file_path, SIZE / MEBIBYTE, MEBIBYTE);

    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    client.send(request_for("/large.bin").as_bytes()).unwrap();
    wait_until_the_server_cannot_send(&server, client.stream());

    let head = read_head_text(&mut client.reader);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let length = format!("Content-Length: {SIZE}\r\n");
    assert!(head.contains(&length), "{head}");

    let mut expected = fs::File::open(&file_path).unwrap();
    let mut received = vec![0u8; 64 * 1024];
    let mut wanted = vec![0u8; 64 * 1024];
    let mut peak_memory = 0;
    let mut offset = 0;
    while offset < SIZE {
        let count = (SIZE - offset).min(received.len());
        client
            .reader
            .read_exact(&mut received[..count])
            .unwrap_or_else(|err| panic!("the body stopped at byte {offset} of {SIZE}: {err}"));
        expected.read_exact(&mut wanted[..count]).unwrap();
        assert!(
            received[..count] == wanted[..count],
            "bytes {offset}..{} differ from the file",
            offset + count
        );
        offset += count;
        if offset % (4 * MEBIBYTE) == 0 {
            peak_memory = peak_memory.max(resident_memory(server.pid()).unwrap_or(0));
            thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(
        peak_memory < (SIZE / 2) as u64,
        "the server's resident memory reached {peak_memory} bytes while sending a {SIZE}-byte file"
    );
    // Not a byte more: the next response starts right after the body.
    assert_eq!(client.get("/a.txt").body_text(), "first");
}

/// Responses held in memory (a small file from the cache, with its head)
/// reach a slow reader whole: a client pipelines 200 requests for a 60 KiB
/// page the server keeps in memory, reads nothing until the socket buffers
/// are full and the server's sends come short or fail with EAGAIN, then
/// reads them all. A server that takes a short send for a whole one loses
/// the rest of a response, and the next one starts in the middle of it.
pub fn sends_cached_files_whole_to_a_slow_reader(binary: &str, extra: &[&str]) {
    const REQUESTS: usize = 200;
    let site = test_site();
    // Bytes that differ from one offset to the next, so that a lost or
    // repeated piece does not compare equal.
    let page: Vec<u8> = (0..60 * 1024u32).map(|index| (index % 251) as u8).collect();
    site.write("page.bin", &page);
    // Left alone long enough to be kept in memory (see the cache test).
    thread::sleep(CACHE_BOUND);
    let server = launch(binary, extra, site.path())
        .arg("--quiet")
        .start_server();
    let mut client = HttpClient::connect(&server);
    assert!(client.get("/page.bin").body == page, "the first answer");
    client
        .send(request_for("/page.bin").repeat(REQUESTS).as_bytes())
        .unwrap();
    wait_until_the_server_cannot_send(&server, client.stream());
    for index in 0..REQUESTS {
        let response = client
            .read_response(false)
            .unwrap_or_else(|err| panic!("response {index}: {err}"));
        assert_eq!(response.status, 200, "response {index}");
        assert!(response.body == page, "response {index}: the body differs");
    }
}

/// Waits until the server can send no more to `client`, which reads
/// nothing meanwhile, and panics if that does not happen within
/// [`PATIENCE`]. "No more", as `/proc/net/tcp` shows the connection: the
/// client's receive buffer holds bytes and its window is closed (the
/// server's end runs its zero-window probe timer), and the server's send
/// buffer holds bytes that it has stopped adding to for 100 ms. A server
/// with a 64 MiB file to send that stops adding is one whose writes return
/// EAGAIN.
fn wait_until_the_server_cannot_send(server: &Server, client: &TcpStream) {
    const STILL_FOR: Duration = Duration::from_millis(100);
    // The accepted socket's local address is the one the client dialled.
    let server_end = server.address();
    let client_end = client.local_addr().expect("getsockname");
    // The largest send queue seen so far, and when it was first seen.
    let mut largest = (0, Instant::now());
    eventually(
        PATIENCE,
        "the socket buffers to fill: the client's window closed and the \
         server's send queue no longer growing",
        || {
            let server_side = tcp_end(server_end, client_end)?;
            let client_side = tcp_end(client_end, server_end)?;
            let now = Instant::now();
            if server_side.send_queue > largest.0 {
                largest = (server_side.send_queue, now);
            }
            (server_side.peer_window_closed
                && server_side.send_queue > 0
                && client_side.receive_queue > 0
                && now - largest.1 >= STILL_FOR)
                .then_some(())
        },
    );
}

/// Writes `blocks` blocks of `block_size` pseudo-random bytes, each block
/// starting with its number.
fn write_stamped_file(path: &Path, blocks: usize, block_size: usize) {
    let mut state: u32 = 0x2545_f491;
    let mut block: Vec<u8> = (0..block_size)
        .map(|_| {
            // xorshift32: cheap, and no period shorter than the file.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let mut file = io::BufWriter::new(fs::File::create(path).unwrap());
    for number in 0..blocks {
        block[..8].copy_from_slice(&(number as u64).to_be_bytes());
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

/// A response head, up to and with its empty line, as text.
fn read_head_text(reader: &mut impl BufRead) -> String {
    let head = read_head(reader).expect("read the head");
    String::from_utf8_lossy(&head).into_owned()
}

/// No request target reaches a file outside the root: `..` in every
/// encoding, backslashes, doubled slashes, absolute paths, NUL bytes, and a
/// symbolic link inside the root that points out of it. Each gets 400 or
/// 404, and never the secret.
pub fn never_serves_a_file_outside_the_root(binary: &str, extra: &[&str]) {
    const SECRET: &str = "the secret outside the root";
    let outside = TempDir::new("outside");
    let secret = outside.write("secret.txt", SECRET);
    let root = outside.path().join("site");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("index.html"), "inside").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("up")).unwrap();

    let server = launch(binary, extra, &root).start_server();
    let inside = HttpClient::connect(&server).get("/index.html");
    assert_eq!(inside.body_text(), "inside");

    let absolute = secret.to_str().unwrap();
    let (rooted, dotted) = (format!("/{absolute}"), format!("/..{absolute}"));
    for target in [
        "/../secret.txt",
        "/..",
        "/../",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..%5Csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "//secret.txt",
        "/%2fsecret.txt",
        "/index.html%00",
        "/%00../secret.txt",
        "../secret.txt",
        "secret.txt",
        "http://localhost/../secret.txt",
        "/escape.txt",
        "/up/secret.txt",
        "/up/site/../secret.txt",
        absolute,
        &rooted,
        &dotted,
        "/\0/../secret.txt",
    ] {
        let response =
            HttpClient::connect(&server).exchange(&raw_request("GET", target.as_bytes()), false);
        let status = &response.status_line;
        assert!(
            matches!(response.status, 400 | 404),
            "{target:?} gave {status}"
        );
        let body = response.body_text();
        assert!(!body.contains(SECRET), "{target:?} served the secret");
    }
}

/// A client that sends its request one byte every 200 ms, and one that
/// connects and says nothing, do not delay a fast client: the fast one's
/// requests are all answered while the slow one is still mid-request.
pub fn slow_and_silent_clients_do_not_delay_others(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let _silent = server.connect();
    let mut slow = server.connect();
    slow.set_nodelay(true).unwrap();
    slow.write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let mut trickled = slow.try_clone().unwrap();
    let trickle = Repeating::start(PATIENCE, move || {
        trickled.write_all(b"z").unwrap();
        thread::sleep(Duration::from_millis(200));
        true
    });

    let mut fast = HttpClient::connect(&server);
    for _ in 0..20 {
        assert_eq!(fast.get("/b.txt").body_text(), "second");
    }
    for _ in 0..5 {
        assert_eq!(HttpClient::connect(&server).get("/a.txt").status, 200);
    }
    assert!(
        trickle.is_running(),
        "the slow client was done before the fast one"
    );
    trickle.stop();
    slow.write_all(b"\r\n\r\n").unwrap();
    let slow_answer = read_response(&mut BufReader::new(slow), false);
    assert_answer(&slow_answer.unwrap(), 200, "first", "the slow client");
}

/// With `--idle-timeout 1`, a connection that has said nothing for a
/// second is closed, whether it sent a request before or never did; until
/// then it stays open.
pub fn closes_idle_connections(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &["--idle-timeout", "1"]);
    let mut silent = HttpClient::connect(&server);
    let mut used = HttpClient::connect(&server);
    assert_eq!(used.get("/a.txt").status, 200);
    // Within the timeout, the kept-alive connection is still open.
    assert!(stays_open_for(used.stream(), Duration::from_millis(300)));
    used.expect_closed_by_server("the kept-alive connection");
    silent.expect_closed_by_server("the silent connection");
    server.wait_for_lines(2, "two idle closes in the log", |line| {
        line.ends_with("idle, closing")
    });
}

/// Under a low RLIMIT_NOFILE, running out of descriptors does not crash
/// the server. A client it cannot accept is turned away (the connection is
/// closed at once, it does not hang); the clients it has go on being
/// answered (404 needs no descriptor; a file it cannot open gets 503); once
/// some clients leave, new ones are served again. With `expect_no_spin`,
/// the server also uses almost no CPU while it sits at the limit.
pub fn survives_running_out_of_descriptors(binary: &str, extra: &[&str], expect_no_spin: bool) {
    const LIMIT: u64 = 40;
    let site = test_site();
    let mut server = launch(binary, extra, site.path())
        .open_file_limit(LIMIT)
        .start_server();

    let mut clients = Vec::new();
    let mut turned_away = false;
    for _ in 0..LIMIT {
        let mut client = HttpClient::connect(&server);
        let answer = client
            .send(request_for("/a.txt").as_bytes())
            .and_then(|()| client.read_response(false));
        match answer {
            Ok(response) => {
                assert!(matches!(response.status, 200 | 503), "{response:?}");
                clients.push(client);
            }
            // Closed without an answer, at once: turned away. (A client
            // left waiting would time out instead, and fail here.)
            Err(err) => {
                let closed = [
                    io::ErrorKind::UnexpectedEof,
                    io::ErrorKind::ConnectionReset,
                    io::ErrorKind::BrokenPipe,
                ];
                assert!(
                    closed.contains(&err.kind()),
                    "a client over the limit should see its connection closed, got: {err}"
                );
                turned_away = true;
                break;
            }
        }
    }
    assert!(
        turned_away,
        "{} clients were all accepted under a limit of {LIMIT} descriptors",
        clients.len()
    );
    server.wait_for_line("the server saying it turned a client away", |line| {
        line.contains("out of file descriptors: turned away")
    });
    assert!(server.is_running(), "stderr: {}", server.stderr());

    let first = &mut clients[0];
    // What needs no descriptor is answered as usual. (Not a missing file
    // any more: the kernel takes a descriptor before `openat2` looks the
    // path up, so at the limit every file asked for gets 503.)
    assert_eq!(first.get("/../a.txt").status, 400);
    let at_the_limit = first.get("/a.txt");
    assert_eq!(at_the_limit.status, 503, "{at_the_limit:?}");
    assert_eq!(at_the_limit.header("retry-after"), Some("1"));

    // Another client knocks while the server is full: turned away too.
    let mut knocking = HttpClient::connect(&server);
    let _ = knocking.send(request_for("/a.txt").as_bytes());
    knocking.expect_closed_by_server("a client knocking at the limit");
    if expect_no_spin {
        assert_uses_almost_no_cpu(&server, "at the descriptor limit");
    }

    clients.truncate(clients.len() - 5);
    eventually(
        PATIENCE,
        "a new client to be served after others left",
        || {
            HttpClient::connect(&server)
                .try_get_ok("/a.txt")
                .then_some(())
        },
    );
    assert_eq!(clients[0].get("/b.txt").status, 200);
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// Asserts that the server uses less than a quarter of a core over one
/// second: it sleeps in epoll_wait rather than spinning. (A spinning
/// process uses all the core it gets.)
pub fn assert_uses_almost_no_cpu(server: &Server, when: &str) {
    let window = Duration::from_secs(1);
    let before = cpu_time(server.pid()).expect("the server's CPU time");
    thread::sleep(window);
    let used = cpu_time(server.pid()).expect("the server's CPU time") - before;
    assert!(
        used < window / 4,
        "the server used {used:?} of CPU in {window:?} {when}: it spins"
    );
}

/// An idle server that never sleeps: with no client at all, its CPU time
/// keeps growing (nonblock_server's busy loop).
pub fn burns_cpu_while_idle(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let before = cpu_time(server.pid()).expect("the server's CPU time");
    let target = Duration::from_millis(500);
    eventually(
        PATIENCE,
        "the idle server to burn half a second of CPU",
        || {
            let used = cpu_time(server.pid())? - before;
            (used >= target).then_some(())
        },
    );
}

/// An idle server that sleeps: with no client, and with clients connected
/// but quiet, it uses almost no CPU.
pub fn sleeps_while_idle(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    assert_uses_almost_no_cpu(&server, "with no client");
    let mut quiet: Vec<HttpClient> = (0..50).map(|_| HttpClient::connect(&server)).collect();
    for client in &mut quiet {
        assert_eq!(client.get("/a.txt").status, 200);
    }
    assert_uses_almost_no_cpu(&server, "with 50 quiet keep-alive clients");
}

/// 2,000 connections open at once, all kept alive, all answered: each gets
/// a first answer as the connections are made, then a second round of
/// requests is sent on all of them before any answer is read.
pub fn serves_2000_keep_alive_connections(binary: &str, extra: &[&str]) {
    const CONNECTIONS: usize = 2000;
    const BATCH: usize = 250;
    let limit = raise_open_file_limit();
    assert!(
        limit > 2 * CONNECTIONS as u64 + 100,
        "this test needs {} descriptors (client and server side); the hard limit is {limit}",
        2 * CONNECTIONS + 100
    );
    let (_site, server) = serve_test_site(binary, extra, &[]);

    let mut clients: Vec<HttpClient> = Vec::with_capacity(CONNECTIONS);
    while clients.len() < CONNECTIONS {
        let batch_start = clients.len();
        for _ in 0..BATCH {
            let mut client = HttpClient::connect(&server);
            client.send(request_for("/a.txt").as_bytes()).unwrap();
            clients.push(client);
        }
        for (index, client) in clients.iter_mut().enumerate().skip(batch_start) {
            let response = client
                .read_response(false)
                .unwrap_or_else(|err| panic!("client {index}: {err}"));
            assert_eq!(response.body_text(), "first", "client {index}");
        }
    }
    for client in &mut clients {
        client.send(request_for("/b.txt").as_bytes()).unwrap();
    }
    for (index, client) in clients.iter_mut().enumerate() {
        let response = client
            .read_response(false)
            .unwrap_or_else(|err| panic!("client {index}, second request: {err}"));
        assert_eq!(response.body_text(), "second", "client {index}");
    }
    let accepted = server.count_lines(|line| without_worker(line).starts_with("new client"));
    assert_eq!(accepted, CONNECTIONS);
}

/// A bad argument is refused the way clap refuses it: `error: ...` on
/// stderr, then the usage line (or, for a bad value, where to find it:
/// `try '--help'`), and exit code 2.
pub fn rejects_bad_arguments_with_usage(binary: &str, bad_argument_lists: &[&[&str]]) {
    for arguments in bad_argument_lists {
        let mut process = Launch::new(binary).args(arguments.iter().copied()).spawn();
        let code = process.wait_for_exit();
        let stderr = process.stderr();
        assert_eq!(code, 2, "{arguments:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{arguments:?}: {stderr}");
        let points_to_usage = stderr.contains("Usage: ") || stderr.contains("--help");
        assert!(points_to_usage, "{arguments:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{arguments:?}: {stderr}");
    }
}

/// A document root that does not exist: one line on stderr that names it
/// and says where to run the server from, and exit code 1. Both for
/// `--root` and for the default `./html`, missing when the server is
/// started anywhere but the repository root (`cd nonblock_server && cargo
/// run`).
pub fn reports_a_missing_root(binary: &str, extra: &[&str]) {
    const HINT: &str = "(run from the repository root, or pass --root DIR)";
    let elsewhere = TempDir::new("missing-root");
    let root = elsewhere.path().join("no-such-directory");
    let mut process = launch(binary, extra, &root).spawn();
    let named = format!(
        "document root {}: No such file or directory {HINT}",
        root.display()
    );
    contract::assert_one_line_error(&mut process, &named);

    let mut process = Launch::new(binary)
        .args(extra.iter().copied())
        .current_dir(elsewhere.path())
        .spawn();
    let default = format!("document root ./html: No such file or directory {HINT}");
    contract::assert_one_line_error(&mut process, &default);
}

/// `--help` says which chapter of the book the server belongs to
/// (`docs/src/NAME.md`, NAME being the binary's) and how the port is
/// chosen, and exits with code 0.
pub fn help_names_the_chapter_and_the_port(binary: &str, extra: &[&str]) {
    let name = Path::new(binary)
        .file_name()
        .and_then(|name| name.to_str())
        .expect("the binary's name");
    let mut process = Launch::new(binary)
        .args(extra.iter().copied())
        .arg("--help")
        .spawn();
    assert_eq!(process.wait_for_exit(), 0, "stderr: {}", process.stderr());
    let help = process.stdout();
    let chapter = format!("Chapter: docs/src/{name}.md");
    assert!(help.contains(&chapter), "{help}");
    assert!(help.contains("[PORT]") && help.contains("PORT=0"), "{help}");
}

/// `--quiet`: the start-up lines, and no line per client or request.
pub fn quiet_prints_no_line_per_client(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &["--quiet"]);
    let mut kept = HttpClient::connect(&server);
    for _ in 0..5 {
        assert_eq!(kept.get("/a.txt").status, 200);
        assert_eq!(HttpClient::connect(&server).get("/missing").status, 404);
    }
    drop(kept);
    // Lines are written before the response is sent, but the test's reader
    // thread may be a moment behind.
    thread::sleep(Duration::from_millis(200));
    let start_up = [
        "Serving HTTP on port ",
        "Document root: ",
        "Trigger: ",
        "Workers: ",
    ];
    let per_client: Vec<String> = server
        .stdout_lines()
        .into_iter()
        .filter(|line| {
            let line = without_worker(line);
            !start_up.iter().any(|start| line.starts_with(start))
        })
        .collect();
    assert!(per_client.is_empty(), "{per_client:?}");
}

/// The port on the command line wins over `PORT`, and the banner names it.
pub fn listens_on_the_port_given_as_argument(binary: &str) {
    // A port the kernel just reported free; another test could take it in
    // the instant between, which would fail this test with "in use".
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let (_site, server) = serve_test_site(binary, &[], &[&port.to_string()]);
    assert_eq!(server.port, port);
    assert_eq!(HttpClient::connect(&server).get("/a.txt").status, 200);
}

/// No path leaves the root even in a race: a file under the root is
/// swapped, as fast as a thread can, for a symbolic link to a file outside
/// it and back, while one client asks for it thousands of times (for about
/// 3 seconds). A server that checks the path and then opens it (realpath,
/// then open) serves the outside file whenever the swap falls between the
/// two; one whose kernel checks during the open (`openat2` with
/// `RESOLVE_BENEATH`) never does.
pub fn never_serves_a_file_outside_the_root_even_in_a_race(binary: &str, extra: &[&str]) {
    const SECRET: &str = "the secret outside the root";
    const RACE_FOR: Duration = Duration::from_secs(3);
    const MOST_REQUESTS: usize = 200_000;
    let outside = TempDir::new("race");
    let secret = outside.write("secret.txt", SECRET);
    outside.write("root/swapped.txt", "inside");
    let root = outside.path().join("root");
    let server = launch(binary, extra, &root).arg("--quiet").start_server();

    let served = root.join("swapped.txt");
    let (file, link) = (root.join("file.tmp"), root.join("link.tmp"));
    let swapper = Repeating::start(PATIENCE, move || {
        // rename(2) replaces atomically: the name is always either the file
        // or the link, never missing.
        fs::write(&file, "inside").unwrap();
        fs::rename(&file, &served).unwrap();
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        fs::rename(&link, &served).unwrap();
        true
    });

    let mut client = HttpClient::connect(&server);
    let deadline = Instant::now() + RACE_FOR;
    let (mut requests, mut served_inside) = (0, 0);
    while Instant::now() < deadline && requests < MOST_REQUESTS {
        let response = client.get("/swapped.txt");
        requests += 1;
        assert!(
            !response.body_text().contains(SECRET),
            "the file outside the root was served, at request {requests}"
        );
        match response.status {
            200 => served_inside += 1,
            404 => {} // the link, refused
            other => panic!("{other} at request {requests}"),
        }
    }
    let swaps = swapper.stop();
    // The race did run: the file was there for some requests, and swapped
    // many times meanwhile.
    assert!(served_inside > 0, "{requests} requests, none served");
    assert!(swaps > 100, "only {swaps} swaps in {requests} requests");
}

/// RFC 9112 §3.2: an HTTP/1.1 request without `Host`, or with two, gets
/// 400 and the connection closes; HTTP/1.0 needs none.
pub fn refuses_http_1_1_without_exactly_one_host(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    for head in [
        &b"GET /a.txt HTTP/1.1\r\n\r\n"[..],
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"HEAD /a.txt HTTP/1.1\r\nUser-Agent: x\r\n\r\n",
    ] {
        assert_answered_then_closed(&server, head, 400);
    }
    let plain_1_0 = HttpClient::connect(&server).exchange(b"GET /a.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(plain_1_0.body_text(), "first");
}

/// The absolute form (`GET http://host/path`) is served by its path, and a
/// directory asked for without its slash is redirected (301) to it, the
/// query kept.
pub fn serves_the_absolute_form_and_redirects_directories(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);
    for (target, body) in [
        ("http://localhost/a.txt", "first"),
        ("HTTP://example.com:8080/b.txt?x=1", "second"),
        ("http://localhost/docs/", "this is docs/index.html\n"),
        ("http://localhost", "this is index.html\n"),
    ] {
        assert_answer(&client.get(target), 200, body, target);
    }
    for (target, location) in [
        ("/docs", "/docs/"),
        ("/docs?lang=en", "/docs/?lang=en"),
        ("http://localhost/docs", "/docs/"),
    ] {
        let response = client.get(target);
        assert_eq!(response.status, 301, "{target}");
        assert_eq!(response.header("location"), Some(location), "{target}");
        assert_eq!(client.head(target).status, 301, "HEAD {target}");
    }
    let index = client.get("/docs/");
    assert_eq!(index.body_text(), "this is docs/index.html\n");
}

/// `Date` on every response; `ETag` and `Last-Modified` on a file's; a
/// client that sends them back (`If-None-Match`, `If-Modified-Since`) gets
/// 304 and no body, a HEAD the same, and the connection goes on.
pub fn answers_conditional_requests_with_304(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);

    let first = client.get("/a.txt");
    for response in [&first, &client.get("/missing"), &client.get("/docs")] {
        let date = response.header("date").expect("a Date");
        let parsed = httpdate::parse_http_date(date);
        assert!(parsed.is_ok(), "{date}: not an HTTP date");
    }
    let tag = first.header("etag").expect("an ETag");
    let last_modified = first.header("last-modified").expect("Last-Modified");
    assert!(httpdate::parse_http_date(last_modified).is_ok());

    for (method, header) in [
        ("GET", format!("If-None-Match: {tag}")),
        ("GET", format!("If-None-Match: \"other\", W/{tag}")),
        ("GET", format!("If-Modified-Since: {last_modified}")),
        ("HEAD", format!("If-None-Match: {tag}")),
    ] {
        let what = format!("{method} with {header}");
        let response = client.ask(method, "/a.txt", &[&header]);
        assert_eq!(response.status, 304, "{what}");
        assert_eq!(response.header("etag"), Some(tag), "{what}");
        let modified = response.header("last-modified");
        assert_eq!(modified, Some(last_modified), "{what}");
        assert!(response.header("date").is_some(), "{what}");
        // No body: the next response is read right after the head.
        assert_eq!(client.get("/b.txt").body_text(), "second", "after {what}");
    }
    // A tag that does not match wins over a date that does.
    let since = format!("If-Modified-Since: {last_modified}");
    let changed = client.ask("GET", "/a.txt", &["If-None-Match: \"other\"", &since]);
    assert_answer(&changed, 200, "first", "a tag that does not match");
    // An older date: the file is newer, 200.
    let old = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT";
    assert_eq!(client.ask("GET", "/a.txt", &[old]).status, 200, "{old}");
}

/// `Accept-Ranges: bytes`; one range gets 206 with `Content-Range` and
/// those bytes only (the next response on the connection proves no more
/// were sent); a range past the end 416 with `Content-Range: bytes */LEN`;
/// several ranges the whole file; HEAD the head GET gets.
pub fn answers_a_single_range_with_206(binary: &str, extra: &[&str]) {
    let site = test_site();
    let digits: Vec<u8> = (0..100_000u32)
        .map(|index| b'0' + (index % 10) as u8)
        .collect();
    site.write("digits.txt", &digits);
    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    let whole = client.get("/digits.txt");
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let ranged = |method: &str, range: &str| {
        request_with(method, "/digits.txt", &[&format!("Range: {range}")])
    };
    for (range, first, last) in [
        ("bytes=0-99", 0, 99),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-5", 99_995, 99_999),
        ("bytes=12345-99999999", 12_345, 99_999),
        ("bytes=7-7", 7, 7),
    ] {
        let part = client.exchange(&ranged("GET", range), false);
        assert_eq!(part.status, 206, "{range}");
        let content_range = format!("bytes {first}-{last}/100000");
        assert_eq!(
            part.header("content-range"),
            Some(&*content_range),
            "{range}"
        );
        assert_eq!(part.body, &digits[first..=last], "{range}");
        assert_eq!(client.get("/b.txt").body_text(), "second", "after {range}");

        let head = client.exchange(&ranged("HEAD", range), true);
        assert_eq!(head.status, 206, "HEAD {range}");
        for header in ["content-range", "content-length"] {
            assert_eq!(head.header(header), part.header(header), "HEAD {range}");
        }
        let next = client.get("/b.txt");
        assert_eq!(next.body_text(), "second", "after HEAD {range}");
    }

    let past_the_end = client.exchange(&ranged("GET", "bytes=100000-"), false);
    assert_eq!(past_the_end.status, 416);
    assert_eq!(past_the_end.header("content-range"), Some("bytes */100000"));
    let several = client.exchange(&ranged("GET", "bytes=0-1,5-6"), false);
    assert_eq!(several.status, 200);
    assert_eq!(several.body, digits);
}

/// How stale the servers' file cache may be (static_http's
/// `file_cache::REVALIDATE_AFTER`), and a margin for a busy machine.
const CACHE_BOUND: Duration = Duration::from_millis(1000 + 300);

/// A small file cached in memory is never served stale beyond the cache's
/// bound: changed in place (same length), it is served anew, with a new
/// `ETag`, once the bound has passed; deleted, it is 404.
pub fn a_changed_file_is_served_anew_within_a_second(binary: &str, extra: &[&str]) {
    let site = test_site();
    let page = site.write("page.html", "version 1");
    // Left alone for the bound, so that the server keeps it in memory.
    thread::sleep(CACHE_BOUND);
    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    let first = client.get("/page.html");
    assert_eq!(first.body_text(), "version 1");
    let first_tag = first.header("etag").expect("an ETag");
    // Twice: the second one from memory.
    assert_eq!(client.get("/page.html").body_text(), "version 1");

    fs::write(&page, "version 2").unwrap();
    thread::sleep(CACHE_BOUND);
    let second = client.get("/page.html");
    assert_eq!(second.body_text(), "version 2", "served stale");
    assert_ne!(second.header("etag"), Some(first_tag));

    fs::remove_file(&page).unwrap();
    thread::sleep(CACHE_BOUND);
    assert_eq!(client.get("/page.html").status, 404);
}

/// Ranges of a file larger than one `sendfile` (1 MiB) and than a socket
/// buffer come out byte for byte, at their offsets, and nothing after
/// them: the next response on the connection follows at once.
pub fn sends_ranges_of_a_large_file_byte_exact(binary: &str, extra: &[&str]) {
    const SIZE: usize = 3 << 20;
    let site = test_site();
    // Bytes that differ from one offset to the next, unlike a repeated
    // pattern a wrong offset could still match.
    let content: Vec<u8> = (0..SIZE as u64)
        .map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    site.write("large.bin", &content);
    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    assert!(client.get("/large.bin").body == content, "the whole file");
    for (first, last) in [
        (1, SIZE - 2),
        (1_000_003, 2_500_000),
        (SIZE - 70_000, SIZE - 1),
    ] {
        let range = format!("Range: bytes={first}-{last}");
        let part = client.ask("GET", "/large.bin", &[&range]);
        assert_eq!(part.status, 206, "{range}");
        assert!(part.body == content[first..=last], "bytes {first}-{last}");
        assert_eq!(client.get("/b.txt").body_text(), "second", "after {range}");
    }
}

/// How many requests [`answers_a_small_file_in_at_most_4_system_calls`]
/// counts over.
const COUNTED_REQUESTS: usize = 2000;

/// A keep-alive request for a small file costs the server at most four
/// system calls: counted by `strace -c -f -p PID` over
/// [`COUNTED_REQUESTS`] requests on one connection, one after the other
/// (epoll_wait, recv, one send of head and body, and edge-triggered the
/// recv that finds EAGAIN). A count, not a time: exact on a busy machine.
/// Skipped, saying so, where strace is missing or may not trace.
pub fn answers_a_small_file_in_at_most_4_system_calls(binary: &str, extra: &[&str]) {
    answers_a_small_file_in_at_most(binary, extra, 4);
}

/// [`answers_a_small_file_in_at_most_4_system_calls`] with another bound:
/// at most `calls_per_request` system calls per request, counted the same
/// way (uring_server: 2, the io_uring_enter that submits the send and finds
/// its completion, and the one that sleeps until the next request).
pub fn answers_a_small_file_in_at_most(binary: &str, extra: &[&str], calls_per_request: usize) {
    let site = test_site();
    site.write("small.html", "x".repeat(200));
    // Left alone long enough to be kept in memory (see the cache test).
    thread::sleep(CACHE_BOUND);
    let mut arguments = extra.to_vec();
    arguments.push("--quiet"); // a log line is a write(2)
    let server = launch(binary, &arguments, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    assert_eq!(client.get("/small.html").status, 200); // cached from now on
    let summary = site.path().join("strace.txt");
    let Some(strace_path) = crate::tools::STRACE.path() else {
        eprintln!("skipped: strace is not installed");
        return;
    };
    let mut command = std::process::Command::new(strace_path);
    command.args(["-c", "-f", "-o"]).arg(&summary);
    // The server and the processes it forked before (prefork_server's
    // workers): `-f` follows only those forked once strace is attached.
    for pid in server_processes(&server) {
        command.args(["-p", &pid.to_string()]);
    }
    // A group of its own, killed if an assertion below fails first.
    let counting_since = Instant::now();
    let mut strace = Running::start(command, Output::Separate, Limits::default())
        .unwrap_or_else(|err| panic!("{err}"));
    thread::sleep(Duration::from_secs(1)); // attached by then
    if strace.try_status().is_some() {
        eprintln!("skipped: strace could not attach (ptrace not permitted?)");
        return;
    }
    for _ in 0..COUNTED_REQUESTS {
        assert_eq!(client.get("/small.html").body.len(), 200);
    }
    // SIGINT: strace detaches and writes its summary.
    strace.signal(nix::sys::signal::Signal::SIGINT);
    strace.wait_exit(PATIENCE).expect("strace ends on SIGINT");
    // What the server does once a second whatever its load (a deadline check,
    // the cache's look at the disk: openat2, statx, close) is not per request:
    // a slow, busy machine that takes longer over the requests counts more.
    let seconds = counting_since.elapsed().as_secs() as usize + 1;
    let table = fs::read_to_string(&summary).unwrap();
    let calls: usize = table
        .lines()
        .find(|line| line.trim_end().ends_with(" total"))
        .and_then(|line| line.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or_else(|| panic!("no total in strace's summary:\n{table}"));
    assert!(
        calls <= calls_per_request * COUNTED_REQUESTS + 20 + 5 * seconds,
        "{calls} system calls for {COUNTED_REQUESTS} requests:\n{table}"
    );
}

/// A file modified after the year 9999 (`touch -d @253402387200`, which
/// tmpfs and btrfs store; ext4 stops in 2446) is served, with a
/// `Last-Modified` no later than the `Date` (RFC 9110 §8.8.2.1: a time in
/// the future is replaced by the message's date), and its `ETag` still
/// answers `If-None-Match`. The server lives on for the next client.
pub fn serves_a_file_modified_after_the_year_9999(binary: &str, extra: &[&str]) {
    const YEAR_10000: u64 = 253_402_387_200;
    let site = TempDir::in_memory("future");
    site.write("a.txt", "first");
    let future = site.write("future.txt", "from the future");
    let after_9999 = std::time::UNIX_EPOCH + Duration::from_secs(YEAR_10000);
    let file = fs::File::options().write(true).open(&future).unwrap();
    file.set_modified(after_9999).unwrap();
    drop(file);
    let stored = fs::metadata(&future).unwrap().modified().unwrap();
    if stored < after_9999 {
        // ext4 clamps it to 2446: still in the future, still checked.
        eprintln!("note: this file system keeps no date after 9999");
    }
    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    for attempt in 0..2 {
        let response = client.get("/future.txt");
        assert_answer(&response, 200, "from the future", "GET /future.txt");
        let date = response.header("date").expect("a Date");
        let date = httpdate::parse_http_date(date).expect("Date is an HTTP date");
        let modified = response.header("last-modified").expect("Last-Modified");
        let modified = httpdate::parse_http_date(modified)
            .unwrap_or_else(|err| panic!("Last-Modified {modified:?}: {err}"));
        assert!(modified <= date, "Last-Modified after Date ({attempt})");
        let tag = response.header("etag").expect("an ETag");
        let if_none_match = format!("If-None-Match: {tag}");
        let response = client.ask("GET", "/future.txt", &[&if_none_match]);
        assert_eq!(response.status, 304, "If-None-Match");
        let old = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            client.ask("GET", "/future.txt", &[old]).status,
            200,
            "{old}"
        );
        let range = client.ask("GET", "/future.txt", &["Range: bytes=0-3"]);
        assert_eq!(range.body_text(), "from");
    }
    assert_eq!(
        HttpClient::connect(&server).get("/a.txt").body_text(),
        "first"
    );
}

/// `--idle-timeout` and `--header-timeout` take seconds from 0.1 to 86400
/// (a day): `1e19` used to be accepted and overflow at the first client,
/// `1e-9` to close every connection at once. Out of range, the server says
/// so on one line that names the range, and exits with code 2; at the
/// ends of the range, it serves.
pub fn refuses_timeouts_out_of_range(binary: &str, extra: &[&str]) {
    for option in ["--idle-timeout", "--header-timeout"] {
        for value in ["1e19", "86401", "1e-9", "0.09", "0", "-1", "inf", "NaN"] {
            // A real root: a value let through starts a server, and the
            // wait for its exit fails.
            let site = test_site();
            let mut process = launch(binary, extra, site.path())
                .arg(format!("{option}={value}")) // `-1` would be read as an option
                .spawn();
            let code = process.wait_for_exit();
            let stderr = process.stderr();
            let what = format!("{option} {value}: {stderr}");
            assert_eq!(code, 2, "{what}");
            let mut lines = stderr.lines().filter(|line| !line.is_empty());
            let error = lines.next().unwrap_or_default();
            assert!(error.starts_with("error: "), "{what}");
            assert!(error.contains("from 0.1 to 86400"), "{what}");
            let rest: Vec<&str> = lines.collect();
            assert!(rest.iter().all(|line| line.contains("--help")), "{what}");
        }
        for value in ["0.1", "86400"] {
            let site = test_site();
            let server = launch(binary, extra, site.path())
                .args([option, value])
                .start_server();
            let response = HttpClient::connect(&server).get("/a.txt");
            assert_answer(&response, 200, "first", &format!("{option} {value}"));
        }
    }
}

/// RFC 9110 §13.2.2: `If-Match`, else `If-Unmodified-Since`, are evaluated
/// first, and a false one gets 412 Precondition Failed, even with a
/// `Range`; then `If-None-Match`, else `If-Modified-Since` (304); then
/// `If-Range` and `Range`.
pub fn evaluates_preconditions_in_the_order_of_rfc_9110(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    let mut client = HttpClient::connect(&server);
    let whole = client.get("/a.txt");
    let tag = whole.header("etag").expect("an ETag").to_owned();
    let modified = whole
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let old = "Sun, 06 Nov 1994 08:49:37 GMT";
    let if_match = format!("If-Match: {tag}");
    let weak_match = format!("If-Match: W/{tag}");
    let unmodified = format!("If-Unmodified-Since: {modified}");
    let unmodified_old = format!("If-Unmodified-Since: {old}");
    let none_match = format!("If-None-Match: {tag}");
    let modified_since = format!("If-Modified-Since: {modified}");
    let range = "Range: bytes=1-2";
    let cases: &[(&[&str], u16)] = &[
        (&["If-Match: \"stale\"", range], 412),
        (&["If-Match: \"stale\""], 412),
        (&[&weak_match, range], 412), // If-Match compares strongly
        (&[&if_match, range], 206),
        (&["If-Match: *", range], 206),
        (&[&format!("If-Match: \"x\", {tag}"), range], 206),
        (&[&unmodified_old, range], 412),
        (&[&unmodified, range], 206),
        (&["If-Unmodified-Since: yesterday", range], 206), // not a date: ignored
        // If-Match wins over If-Unmodified-Since, which it makes ignored.
        (&[&if_match, &unmodified_old], 200),
        // If-Match first, then If-None-Match.
        (&["If-Match: \"stale\"", &none_match], 412),
        (&[&if_match, &none_match, range], 304),
        (&[&unmodified_old, &modified_since], 412),
        (&[&unmodified, &modified_since, range], 304),
        // If-Range after them all.
        (&[&if_match, range, "If-Range: \"old\""], 200),
        (&[&if_match, range, &format!("If-Range: {tag}")], 206),
    ];
    for (headers, status) in cases {
        for method in ["GET", "HEAD"] {
            let response = client.ask(method, "/a.txt", headers);
            assert_eq!(
                response.status, *status,
                "{method} {headers:?}: {response:?}"
            );
            if *status == 412 {
                assert!(response.header("date").is_some(), "{headers:?}");
            }
            if *status == 206 {
                assert_eq!(response.header("content-range"), Some("bytes 1-2/5"));
            }
        }
        // The connection goes on after each.
        assert_eq!(client.get("/b.txt").body_text(), "second", "{headers:?}");
    }
}

/// RFC 9112 §3.2: a `Host` whose value is not `host[:port]` as URIs write
/// it gets 400; RFC 9110 §4.2.4: so does user information in an absolute
/// target (`http://user:pw@host/`). Valid forms are served.
pub fn refuses_an_invalid_host_and_userinfo_in_the_target(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    for host in [
        "a b", "a/b", "a@b", "a:b", "a:80:81", "[::1", "[::1]x", "a\"b", "%zz",
    ] {
        let head = format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_answered_then_closed(&server, head.as_bytes(), 400);
    }
    // A head read whole, with a target that names no file: 400, and the
    // connection goes on, as for `/../secret`.
    let mut client = HttpClient::connect(&server);
    for target in [
        "http://user:pw@localhost/a.txt",
        "http://user@localhost/a.txt",
        "http://@localhost/a.txt",
        "http:///a.txt",
    ] {
        let response = client.get(target);
        assert_eq!(response.status, 400, "{target}: {response:?}");
        assert_eq!(client.get("/b.txt").body_text(), "second", "after {target}");
    }
    for host in [
        "localhost",
        "localhost:7890",
        "127.0.0.1:80",
        "[::1]:8080",
        "[::1]",
        "xn--bcher-kva.example",
        "a-b_c~d.e!$&'()*+;=%41",
        "",
        "example.com:",
    ] {
        let head = format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let response = client.exchange(head.as_bytes(), false);
        assert_answer(&response, 200, "first", &format!("Host: {host}"));
    }
}

/// RFC 9112 §6.1 and §6.3: a request whose `Transfer-Encoding` names a
/// coding this server does not implement (only `chunked` is one) gets 501
/// Not Implemented; one whose framing is faulty (`chunked` twice, a
/// `Transfer-Encoding` in HTTP/1.0, an empty one) gets 400. Either way the
/// connection closes: where the body ends is unknown.
pub fn refuses_transfer_codings_it_does_not_implement(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &[]);
    for (version, coding, status) in [
        ("HTTP/1.1", "gzip", 501),
        ("HTTP/1.1", "gzip, chunked", 501),
        ("HTTP/1.1", "chunked, gzip", 501),
        ("HTTP/1.1", "identity", 501),
        ("HTTP/1.1", "chunked, chunked", 400),
        ("HTTP/1.1", "", 400),
        ("HTTP/1.0", "chunked", 400),
    ] {
        let head =
            format!("GET /a.txt {version}\r\nHost: x\r\nTransfer-Encoding: {coding}\r\n\r\n");
        assert_answered_then_closed(&server, head.as_bytes(), status);
    }
    // chunked alone is understood: the file is served, and the connection
    // closes, since this server reads no body.
    let head = "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_answered_then_closed(&server, head.as_bytes(), 200);
}

/// RFC 9110 §14.1.1: on an empty file, a suffix range with a non-zero
/// length (`bytes=-1`) is satisfiable, and is the whole file: 200 with no
/// body (a 206 would need a `Content-Range` for zero bytes, which its
/// grammar cannot write). `bytes=0-` and `bytes=-0` select nothing: 416.
pub fn a_suffix_range_of_an_empty_file_is_the_whole_file(binary: &str, extra: &[&str]) {
    let site = test_site();
    site.write("empty.txt", "");
    let server = launch(binary, extra, site.path()).start_server();
    let mut client = HttpClient::connect(&server);
    for (range, status) in [
        ("bytes=-1", 200),
        ("bytes=-100", 200),
        ("bytes=0-", 416),
        ("bytes=-0", 416),
    ] {
        let response = client.ask("GET", "/empty.txt", &[&format!("Range: {range}")]);
        assert_eq!(response.status, status, "{range}: {response:?}");
        if status == 200 {
            assert_eq!(response.header("content-length"), Some("0"), "{range}");
            assert_eq!(response.header("content-range"), None, "{range}");
        } else {
            assert_eq!(response.header("content-range"), Some("bytes */0"));
        }
        assert_eq!(client.get("/b.txt").body_text(), "second", "after {range}");
    }
}

/// A burst of clients waiting in the listen queue is accepted in one turn,
/// not one per turn: while the server is stopped (SIGSTOP), 100 clients
/// connect (the kernel completes the handshakes and queues them) and send
/// a request; once it runs again, every `new client` line comes before the
/// first answer. Accepting one per turn, each turn also serves the clients
/// already accepted, and under a storm the queue fills and new clients'
/// SYNs are dropped (a second's wait for the retry).
pub fn accepts_a_burst_of_waiting_clients_in_one_turn(binary: &str, extra: &[&str]) {
    const CLIENTS: usize = 100;
    let (_site, server) = serve_test_site(binary, extra, &[]);
    signal_server_processes(&server, nix::sys::signal::Signal::SIGSTOP);
    // kill(2) returns before the signal takes effect. A server whose kernel
    // accepts for it (io_uring's multishot accept) would accept the first
    // clients in that instant, and serve them before the rest: wait until
    // it is stopped.
    eventually(PATIENCE, "the server stopped", || {
        (server.state() == Some('T')).then_some(())
    });
    let mut clients: Vec<HttpClient> = (0..CLIENTS)
        .map(|_| {
            let mut client = HttpClient::connect(&server);
            client.send(request_for("/a.txt").as_bytes()).unwrap();
            client
        })
        .collect();
    signal_server_processes(&server, nix::sys::signal::Signal::SIGCONT);
    for (index, client) in clients.iter_mut().enumerate() {
        let response = client.read_response(false).unwrap();
        assert_answer(&response, 200, "first", &format!("client {index}"));
    }
    let lines = eventually(PATIENCE, "a log line per answer", || {
        let lines = server.stdout_lines();
        let answered = lines
            .iter()
            .filter(|line| line.contains(" -> 200 "))
            .count();
        (answered >= CLIENTS).then_some(lines)
    });
    // Each process that serves (prefork_server: each worker, its lines
    // prefixed `[worker PID] `) accepts its whole queue before answering.
    let mut accepted_before = 0;
    let processes: BTreeSet<&str> = lines.iter().map(|line| worker_of(line)).collect();
    for process in processes {
        let its: Vec<&str> = lines
            .iter()
            .filter(|line| worker_of(line) == process)
            .map(|line| without_worker(line))
            .collect();
        let first_answer = its
            .iter()
            .position(|line| line.contains(" -> "))
            .unwrap_or(its.len());
        let accepted = its
            .iter()
            .filter(|line| line.starts_with("new client "))
            .count();
        let before = its[..first_answer]
            .iter()
            .filter(|line| line.starts_with("new client "))
            .count();
        assert_eq!(
            before,
            accepted,
            "{process}: accepted before its first answer:\n{}",
            lines.join("\n")
        );
        accepted_before += before;
    }
    assert_eq!(accepted_before, CLIENTS, "{}", lines.join("\n"));
}

/// The server's process and its children (prefork_server's workers).
fn server_processes(server: &Server) -> Vec<i32> {
    let children = crate::children_of(server.pid()).into_iter();
    std::iter::once(server.pid())
        .chain(children.map(|child| child.pid))
        .collect()
}

/// Sends `signal` to the server and to each of its children, the workers
/// that serve for prefork_server's master.
fn signal_server_processes(server: &Server, signal: nix::sys::signal::Signal) {
    for pid in server_processes(server) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// The promises every static server keeps about HTTP, as `#[test]`s: each
/// runs one scenario of [`static_server`](crate::static_server) against
/// `$binary`, started with the extra arguments `$extra` (e.g.
/// `&["--trigger", "edge"]`). The one list of shared scenarios lives here,
/// so a new one reaches every server.
///
/// ```text
/// testkit::static_server_scenario_tests!(BINARY, &["--trigger", "edge"]);
/// ```
///
/// With `unless SKIP`, each test first calls `SKIP()`, a function that returns
/// `Some(reason)` where the server cannot run on this machine (uring_server
/// without io_uring), and then prints `skipped: reason` and passes:
///
/// ```text
/// testkit::static_server_scenario_tests!(BINARY, &[], unless io_uring_unavailable);
/// ```
#[macro_export]
macro_rules! static_server_scenario_tests {
    ($binary:expr, $extra:expr) => {
        $crate::static_server_scenario_tests!(@list {} $binary, $extra);
        $crate::static_server_scenario_tests!(
            @each {} $binary, $extra,
            trickling_clients_cannot_lock_others_out,
        );
    };
    // Every scenario but the one that fills the server's descriptor table
    // (`ulimit -n` is per process): a server of several processes
    // (prefork_server) runs it with one worker.
    ($binary:expr, $extra:expr, without_descriptor_limits) => {
        $crate::static_server_scenario_tests!(@list {} $binary, $extra);
    };
    // Every scenario, each skipped (saying why) where `$skip` gives a
    // reason the server cannot run here (uring_server without io_uring).
    ($binary:expr, $extra:expr, unless $skip:path) => {
        $crate::static_server_scenario_tests!(@list {
            if let Some(reason) = $skip() {
                eprintln!("skipped: {reason}");
                return;
            }
        } $binary, $extra);
        $crate::static_server_scenario_tests!(
            @each {
                if let Some(reason) = $skip() {
                    eprintln!("skipped: {reason}");
                    return;
                }
            } $binary, $extra,
            trickling_clients_cannot_lock_others_out,
        );
    };
    (@list $prelude:tt $binary:expr, $extra:expr) => {
        $crate::static_server_scenario_tests!(
            @each $prelude $binary, $extra,
            serves_files_with_length_and_type,
            answers_errors_with_the_right_status,
            head_sends_the_headers_without_the_body,
            keeps_a_connection_alive_over_100_requests,
            closes_or_keeps_the_connection_as_the_client_asks,
            answers_pipelined_requests_in_order,
            reads_a_request_sent_byte_by_byte,
            sends_a_large_file_whole_to_a_slow_reader,
            sends_cached_files_whole_to_a_slow_reader,
            never_serves_a_file_outside_the_root,
            slow_and_silent_clients_do_not_delay_others,
            closes_idle_connections,
            serves_2000_keep_alive_connections,
            reports_a_missing_root,
            help_names_the_chapter_and_the_port,
            quiet_prints_no_line_per_client,
            a_pipelining_client_does_not_starve_others,
            a_fast_download_does_not_starve_others,
            a_request_head_has_a_deadline,
            a_closing_response_arrives_whole_despite_unread_input,
            never_serves_a_file_outside_the_root_even_in_a_race,
            refuses_http_1_1_without_exactly_one_host,
            serves_the_absolute_form_and_redirects_directories,
            answers_conditional_requests_with_304,
            answers_a_single_range_with_206,
            a_changed_file_is_served_anew_within_a_second,
            sends_ranges_of_a_large_file_byte_exact,
            serves_a_file_modified_after_the_year_9999,
            refuses_timeouts_out_of_range,
            evaluates_preconditions_in_the_order_of_rfc_9110,
            refuses_an_invalid_host_and_userinfo_in_the_target,
            refuses_transfer_codings_it_does_not_implement,
            a_suffix_range_of_an_empty_file_is_the_whole_file,
            accepts_a_burst_of_waiting_clients_in_one_turn,
        );
    };
    (@each $prelude:tt $binary:expr, $extra:expr, $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                $prelude
                $crate::static_server::$name($binary, $extra);
            }
        )*
    };
}

/// How long a hog (below) keeps the server busy at most: the other client's
/// requests must all be answered before then.
const HOG_TIME: Duration = Duration::from_secs(5);

/// `step` again and again in a thread of its own, until it returns false,
/// [`Repeating::stop`] is called, or `longest` has passed: a client or a
/// file swap that goes on while a scenario's main client is served.
struct Repeating {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<usize>,
}

impl Repeating {
    fn start(longest: Duration, mut step: impl FnMut() -> bool + Send + 'static) -> Repeating {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let until = Instant::now() + longest;
        let thread = thread::spawn(move || {
            let mut steps = 0;
            while !stopped.load(Ordering::SeqCst) && Instant::now() < until && step() {
                steps += 1;
            }
            steps
        });
        Repeating { stop, thread }
    }

    fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }

    /// Stops the loop; returns how many steps it ran.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("a background thread")
    }
}

/// One connection that keeps a server as busy as one connection can: it
/// writes `request` (again and again if `repeat`) as fast as the server
/// takes it, and reads and discards the answers as fast as they come, on two
/// threads, until stopped or [`HOG_TIME`] has passed.
struct Hog {
    stream: TcpStream,
    received: Arc<AtomicUsize>,
    writer: Repeating,
    reader: Repeating,
}

impl Hog {
    fn start(server: &Server, request: Vec<u8>, repeat: bool) -> Hog {
        let stream = server.connect();
        let received = Arc::new(AtomicUsize::new(0));
        let mut writing = stream.try_clone().unwrap();
        let writer = Repeating::start(HOG_TIME, move || {
            writing.write_all(&request).is_ok() && repeat
        });
        let (mut reading, counted) = (stream.try_clone().unwrap(), Arc::clone(&received));
        let mut buffer = vec![0u8; 1 << 20];
        let reader = Repeating::start(HOG_TIME, move || match reading.read(&mut buffer) {
            Ok(0) | Err(_) => false,
            Ok(count) => {
                counted.fetch_add(count, Ordering::SeqCst);
                true
            }
        });
        eventually(PATIENCE, "the hog to be answered", || {
            (received.load(Ordering::SeqCst) >= 1 << 20).then_some(())
        });
        Hog {
            stream,
            received,
            writer,
            reader,
        }
    }

    /// Stops the hog; returns whether it was still hogging (it had not
    /// reached [`HOG_TIME`], nor been cut off by the server).
    fn stop(self) -> bool {
        let before = self.received.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
        let still_receiving = self.received.load(Ordering::SeqCst) > before;
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.writer.stop();
        self.reader.stop();
        still_receiving
    }
}

/// Asks for `/a.txt` ten times, each on a new connection, while `hog`
/// runs; panics unless all ten are answered before the hog stops.
fn answered_while_hogged(server: &Server, hog: Hog, what: &str) {
    let started = Instant::now();
    for round in 0..10 {
        let mut client = HttpClient::connect(server);
        client
            .stream()
            .set_read_timeout(Some(HOG_TIME * 2))
            .unwrap();
        let response = client.get("/a.txt");
        assert_eq!(response.body_text(), "first", "request {round}");
    }
    let waited = started.elapsed();
    assert!(
        hog.stop(),
        "ten requests were answered in {waited:?} only once {what} had stopped"
    );
}

/// A client that pipelines requests as fast as it can and reads the
/// answers as fast as they come does not keep another client waiting: ten
/// requests on ten new connections are all answered while it goes on.
/// (Edge-triggered, "read and write until EAGAIN" never ends for such a
/// client unless each turn has a budget.)
pub fn a_pipelining_client_does_not_starve_others(binary: &str, extra: &[&str]) {
    let (_site, server) = serve_test_site(binary, extra, &["--quiet"]);
    let batch = request_for("/b.txt").repeat(200).into_bytes();
    let hog = Hog::start(&server, batch, true);
    answered_while_hogged(&server, hog, "the pipelining client");
}

/// A client downloading a huge file as fast as it can does not keep
/// another client waiting: ten requests are all answered mid-download.
/// (The file is sparse: 64 GiB of holes, read as zeros, taking no disk.)
pub fn a_fast_download_does_not_starve_others(binary: &str, extra: &[&str]) {
    let site = test_site();
    let huge = fs::File::create(site.path().join("huge.bin")).unwrap();
    huge.set_len(64 << 30).unwrap();
    let server = launch(binary, extra, site.path())
        .arg("--quiet")
        .start_server();
    let hog = Hog::start(&server, request_for("/huge.bin").into_bytes(), false);
    answered_while_hogged(&server, hog, "the download");
}

/// With `--header-timeout 1`, a client that trickles its request head one
/// byte every 200 ms is closed after about a second, however many bytes it
/// sends; the time between two requests of a kept-alive connection is the
/// idle timeout's, not the head's.
pub fn a_request_head_has_a_deadline(binary: &str, extra: &[&str]) {
    let timeouts = ["--header-timeout", "1", "--idle-timeout", "10"];
    let (_site, server) = serve_test_site(binary, extra, &timeouts);

    let mut kept = HttpClient::connect(&server);
    assert_eq!(kept.get("/a.txt").status, 200);

    let mut trickling = server.connect();
    trickling.set_nodelay(true).unwrap();
    let started = Instant::now();
    trickling
        .write_all(b"GET /a.txt HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    let mut bytes = 0;
    while stays_open_for(&mut trickling, Duration::from_millis(200)) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a head trickled for {bytes} bytes is still open after {:?}",
            started.elapsed()
        );
        if trickling.write_all(b"z").is_err() {
            break;
        }
        bytes += 1;
    }
    let lasted = started.elapsed();
    let long_enough = lasted >= Duration::from_millis(500);
    assert!(long_enough, "closed after {lasted:?}");
    server.wait_for_line("the head's timeout in the log", |line| {
        line.ends_with("request head too slow, closing")
    });

    // 1.5 s between two requests: longer than the head's deadline, shorter
    // than the idle timeout.
    assert_eq!(kept.get("/b.txt").body_text(), "second");
    assert_eq!(HttpClient::connect(&server).get("/a.txt").status, 200);
}

/// Under a low RLIMIT_NOFILE, clients trickling their heads take every
/// descriptor the server has, and keep bytes coming so no idle timeout
/// fires; with `--header-timeout 1`, they are closed, and a new client is
/// served within seconds.
pub fn trickling_clients_cannot_lock_others_out(binary: &str, extra: &[&str]) {
    const LIMIT: u64 = 32;
    let site = test_site();
    let server = launch(binary, extra, site.path())
        .args(["--header-timeout", "1"])
        .open_file_limit(LIMIT)
        .start_server();

    let mut trickling: Vec<TcpStream> = (0..LIMIT)
        .map(|_| {
            let mut stream = server.connect();
            stream.set_nodelay(true).unwrap();
            let _ = stream.write_all(b"GET /a.txt HTTP/1.1\r\nX-Slow: ");
            stream
        })
        .collect();
    server.wait_for_line("the server full of trickling clients", |line| {
        line.contains("out of file descriptors: turned away")
    });
    let trickle = Repeating::start(Duration::from_secs(15), move || {
        for stream in &mut trickling {
            let _ = stream.write_all(b"z");
        }
        thread::sleep(Duration::from_millis(200));
        true
    });

    let started = Instant::now();
    let served = loop {
        if HttpClient::connect(&server).try_get_ok("/a.txt") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(8) {
            break false;
        }
        thread::sleep(Duration::from_millis(100));
    };
    trickle.stop();
    let waited = started.elapsed();
    assert!(
        served,
        "trickling clients kept a new client out for {waited:?}"
    );
}

/// A response that closes the connection arrives whole even when the
/// client sent more than the server read: `Connection: close` followed by
/// 32 KiB of pipelined requests, and 32 KiB more a moment later, while the
/// 8 MiB response is still on its way (more than the socket buffers hold
/// while the client does not read). The server never reads them as
/// requests. Closing a socket with unread input makes Linux send RST, which
/// destroys what the client has not read yet; a graceful close (shut down
/// writing, read and discard, then close) does not. (The later part is for
/// a server whose kernel receives for it, io_uring's multishot receive:
/// what came with the request it has taken in already.)
pub fn a_closing_response_arrives_whole_despite_unread_input(binary: &str, extra: &[&str]) {
    const SIZE: usize = 8 << 20;
    let site = test_site();
    let file_path = site.path().join("large.bin");
    write_stamped_file(&file_path, SIZE / (64 << 10), 64 << 10);
    let server = launch(binary, extra, site.path()).start_server();

    let mut client = HttpClient::connect(&server);
    let mut bytes = request_with("GET", "/large.bin", &["Connection: close"]);
    let mut more = Vec::new();
    while bytes.len() < 32 << 10 {
        bytes.extend_from_slice(request_for("/a.txt").as_bytes());
        more.extend_from_slice(request_for("/a.txt").as_bytes());
    }
    client.send(&bytes).unwrap();
    thread::sleep(Duration::from_millis(100));
    client.send(&more).unwrap();
    // Time for the server to answer, send what the socket takes, and close.
    thread::sleep(Duration::from_millis(500));

    let head = read_head_text(&mut client.reader);
    assert!(head.contains("Connection: close\r\n"), "{head}");
    let mut body = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        match client.reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => body.extend_from_slice(&chunk[..count]),
            Err(err) => panic!("after {} bytes of {SIZE}: {err}", body.len()),
        }
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(body.len(), SIZE, "the body's length");
    assert!(body == fs::read(&file_path).unwrap(), "the body's bytes");
}

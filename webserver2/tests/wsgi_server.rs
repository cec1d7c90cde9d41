//! webserver2, the server side: it starts with the application named on its
//! command line, reads whole requests, answers proper HTTP/1.1 responses,
//! refuses what it cannot read with a 4xx or 5xx, and lives on.

use std::io::Write;
use std::net::Shutdown;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testkit::{
    contract, has_control_characters, read_to_eof, request_for, stays_open_for, Launch, Response,
    Server,
};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver2");

const GREETING: &[u8] = b"Hello, World! (from a plain function)\n";

fn start(application: &str) -> Server {
    Launch::new(BINARY).arg(application).start_server()
}

/// The server with the simplest application: the contract's checks need
/// one to start it.
fn with_hello() -> Launch {
    Launch::new(BINARY).arg("hello")
}

#[test]
fn a_bad_port_is_a_one_line_error_with_exit_code_1() {
    contract::rejects_a_bad_port_of(with_hello);
}

#[test]
fn an_address_in_use_is_a_one_line_error_with_exit_code_1() {
    contract::reports_an_address_in_use_of(with_hello);
}

#[test]
fn answers_help_and_refuses_an_unknown_argument_with_exit_code_2() {
    testkit::contract_cli_log::answers_help_and_refuses_unknown_arguments(BINARY);
}

#[test]
fn keeps_answering_when_its_log_reader_goes_away() {
    testkit::contract_cli_log::survives_a_closed_stdout_of(with_hello, 3);
}

#[test]
fn keeps_answering_when_nobody_reads_its_log() {
    testkit::contract_cli_log::survives_a_full_stdout_of(with_hello, 400);
}

#[test]
fn keeps_answering_when_its_stderr_reader_goes_away() {
    testkit::contract_cli_log::survives_a_closed_stderr_of(with_hello, 3);
}

#[test]
fn keeps_answering_when_nobody_reads_its_stderr() {
    testkit::contract_cli_log::survives_a_full_stderr_of(with_hello, 200);
}

#[test]
fn keeps_answering_when_nobody_reads_its_terminal() {
    testkit::contract_cli_log::survives_a_terminal_nobody_reads_of(with_hello, 400);
}

#[test]
fn keeps_answering_when_its_terminal_reads_slowly() {
    testkit::contract_cli_log::survives_a_slow_terminal_of(with_hello, 400);
}

#[test]
fn shows_what_a_client_sent_with_control_characters_escaped() {
    let server = contract::start_for_the_log(with_hello());
    contract::escapes_what_clients_send(&server, true);
}

#[test]
fn without_a_known_application_it_lists_them_and_exits_with_2() {
    for arguments in [&[][..], &["flask"][..]] {
        let mut process = Launch::new(BINARY).args(arguments).spawn();
        assert_eq!(process.wait_for_exit(), 2, "{arguments:?}");
        let stderr = process.stderr();
        for name in ["hello", "router", "counter", "faulty"] {
            assert!(stderr.contains(name), "{arguments:?}: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn serves_one_application_only() {
    let mut process = Launch::new(BINARY).args(["hello", "router"]).spawn();
    assert_eq!(process.wait_for_exit(), 2);
    assert!(process.stderr().contains("unexpected argument"));
}

#[test]
fn says_which_application_it_serves() {
    let server = start("router");
    server.wait_for_line("the second line", |line| {
        line == "WSGIServer: serving the router application"
    });
}

/// The Unix time that `date` (GNU coreutils, a separate implementation)
/// reads in an HTTP date, and its own rewriting of that time in HTTP's
/// format.
fn read_http_date(value: &str) -> (u64, String) {
    let date = |arguments: &[&str]| {
        let output = Command::new("date")
            .env("LC_ALL", "C")
            .args(arguments)
            .output()
            .expect("run date");
        assert!(output.status.success(), "date {arguments:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let seconds: u64 = date(&["-u", "-d", value, "+%s"]).parse().unwrap();
    let rewritten = date(&[
        "-u",
        "-d",
        &format!("@{seconds}"),
        "+%a, %d %b %Y %H:%M:%S GMT",
    ]);
    (seconds, rewritten)
}

fn unix_seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn answers_a_proper_http_1_1_response_and_closes() {
    let server = start("hello");
    let before = unix_seconds_now();
    let mut stream = server.connect();
    stream.write_all(request_for("/hello").as_bytes()).unwrap();
    let raw = read_to_eof(&mut stream);
    let after = unix_seconds_now();

    // read_to_eof returned: the server closed the connection after one
    // response, as its Connection header says.
    let response = Response::parse(&raw);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, GREETING);
    assert_eq!(
        response.header("content-length"),
        Some(GREETING.len().to_string().as_str())
    );
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("server"), Some("webserver2/0.1.0"));
    assert_eq!(response.header("connection"), Some("close"));
    assert!(raw.ends_with(GREETING), "nothing after the body");

    // The date is the clock's, not one written into the program, and is
    // written exactly as HTTP wants it.
    let date = response.header("date").unwrap();
    let (seconds, rewritten) = read_http_date(date);
    assert_eq!(date, rewritten);
    assert!(before <= seconds && seconds <= after, "{date}");
}

#[test]
fn prints_each_request_and_response_like_curl_verbose() {
    let server = start("hello");
    server.get("/printed");
    server.wait_for_line("the request line", |line| line == "< GET /printed HTTP/1.1");
    server.wait_for_line("a request header", |line| line == "< Host: localhost");
    server.wait_for_line("the status line", |line| line == "> HTTP/1.1 200 OK");
    server.wait_for_line("the body", |line| {
        line == "> Hello, World! (from a plain function)"
    });
}

#[test]
fn reads_the_whole_request_even_when_it_comes_in_pieces() {
    let server = start("router");
    let mut stream = server.connect();
    // Half a head, then the rest of it, then a body announced by
    // Content-Length: a server that answered what one read brought would
    // answer before the end.
    stream.write_all(b"POST /echo HTT").unwrap();
    let waiting = "the server answered or closed before the request was complete";
    assert!(
        stays_open_for(&mut stream, Duration::from_millis(300)),
        "{waiting}; stdout: {}; stderr: {}",
        server.stdout(),
        server.stderr()
    );
    stream
        .write_all(b"P/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello")
        .unwrap();
    assert!(
        stays_open_for(&mut stream, Duration::from_millis(300)),
        "{waiting}; stdout: {}; stderr: {}",
        server.stdout(),
        server.stderr()
    );
    stream.write_all(b" world").unwrap();
    let response = Response::parse(&read_to_eof(&mut stream));
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello world");
}

#[test]
fn accepts_leading_empty_lines_and_bare_line_feeds() {
    let server = start("hello");
    let response = server.exchange(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(response.status, 200);
    let response = server.exchange(b"GET / HTTP/1.0\n\n", false);
    assert_eq!(response.status, 200);
}

#[test]
fn answers_head_with_the_head_of_the_get_response() {
    let server = start("hello");
    let raw = server.exchange_to_eof(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let length = format!("Content-Length: {}\r\n", GREETING.len());
    assert!(text.contains(&length), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "a body came: {text:?}");
}

/// Requests that are not HTTP/1.x as RFC 9112 writes it, or that a server
/// must not pass on to an application.
const BAD_REQUESTS: [&[u8]; 22] = [
    b"GARBAGE\r\n\r\n",
    b"GET /hello\r\n\r\n",
    b"GET /hello HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /hello HTTP/1.1\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost : x\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rSet-Cookie: b\r\n\r\n",
    b"GET /he\x1b[2Jllo HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a%0D%0ASet-Cookie:%20b HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /%FF HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
];

#[test]
fn bad_requests_get_400_and_the_server_lives_on() {
    let server = start("router");
    for request in BAD_REQUESTS {
        let shown = String::from_utf8_lossy(request);
        let raw = server.exchange_to_eof(request);
        let response = Response::parse(&raw);
        assert_eq!(response.status, 400, "{shown:?}: {response:?}");
        assert!(
            response.body.starts_with(b"400 Bad Request: "),
            "{response:?}"
        );
        // Nothing the client sent comes back: no control characters, no
        // header smuggled in.
        assert!(!has_control_characters(&raw), "{shown:?}");
        assert_eq!(response.header("set-cookie"), None, "{shown:?}");
    }
    assert!(
        !has_control_characters(server.stdout().as_bytes()),
        "{}",
        server.stdout()
    );
    assert_eq!(server.get("/hello").status, 200);
}

#[test]
fn requests_it_cannot_serve_get_the_status_that_says_why() {
    let server = start("router");
    let long_header = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "x".repeat(9000)
    );
    let endless_line = format!("GET /{}", "x".repeat(10_000));
    let cases: [(&[u8], u16); 6] = [
        (long_header.as_bytes(), 431),
        (endless_line.as_bytes(), 431),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
            413,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            413,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (b"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ];
    for (request, status) in cases {
        let response = server.exchange(request, false);
        assert_eq!(
            response.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&request[..request.len().min(60)])
        );
    }
    assert_eq!(server.get("/hello").status, 200);
}

#[test]
fn a_request_cut_short_gets_400_and_an_empty_connection_nothing() {
    let server = start("router");
    drop(server.connect());

    let mut cut_head = server.connect();
    cut_head
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    cut_head.shutdown(Shutdown::Write).unwrap();
    let response = Response::parse(&read_to_eof(&mut cut_head));
    assert_eq!(response.status, 400);

    let mut cut_body = server.connect();
    cut_body
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    cut_body.shutdown(Shutdown::Write).unwrap();
    let response = Response::parse(&read_to_eof(&mut cut_body));
    assert_eq!(response.status, 400);

    assert_eq!(server.get("/hello").status, 200);
}

#[test]
fn survives_hostile_clients() {
    let server = start("hello");
    contract::survives_hostile_clients(&server);
}

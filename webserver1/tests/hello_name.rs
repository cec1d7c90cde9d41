//! The hello-name service (example `hello_name`): greets the name in the
//! path, percent-decoded once; refuses names with control characters and
//! never echoes them; answers one client at a time and lives on.

use std::io::Write;
use std::time::Duration;

use testkit::{has_control_characters, raw_request, read_to_eof, stays_open_for, Launch, Server};

fn binary() -> String {
    env!("CARGO_BIN_EXE_hello_name").to_owned()
}

testkit::server_contract_tests!(&binary());

fn start() -> Server {
    Launch::new(&binary()).start_server()
}

fn assert_greets(server: &Server, target: &str, greeting: &str) {
    let response = server.get(target);
    assert_eq!(response.status, 200, "{target}: {response:?}");
    assert_eq!(response.body_text(), format!("{greeting}\n"), "{target}");
}

#[test]
fn greets_the_name_in_the_path() {
    let server = start();
    let response = server.get("/Alice");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Hello, Alice!\n");
    assert_eq!(response.header("content-length"), Some("14"));
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn greets_the_world_when_the_path_has_no_name() {
    let server = start();
    assert_greets(&server, "/", "Hello, World!");
    assert_greets(&server, "/?name=Alice", "Hello, World!");
}

#[test]
fn decodes_the_name_once_and_leaves_the_query_out() {
    let server = start();
    assert_greets(&server, "/Zhuibing%20Dan", "Hello, Zhuibing Dan!");
    assert_greets(&server, "/%E5%BC%A0%E4%B8%89", "Hello, 张三!");
    assert_greets(&server, "/Alice?from=Bob", "Hello, Alice!");
    // Once: %25 is the percent sign, and what follows it stays as it is.
    assert_greets(&server, "/%2541", "Hello, %41!");
    // A plus is a plus in a path (it means a space only in form data).
    assert_greets(&server, "/a+b", "Hello, a+b!");
}

#[test]
fn refuses_names_with_control_characters_and_never_echoes_them() {
    let server = start();
    let hostile: [&[u8]; 8] = [
        b"/%1B%5B31mred",                  // a terminal colour escape, encoded
        b"/\x1b[2Jcleared",                // the same kind of escape, raw
        b"/a%0D%0ASet-Cookie:%20stolen=1", // CRLF and a header after it
        b"/nul%00byte",                    // NUL
        b"/del%7F",                        // DEL
        b"/csi%C2%9B31m",                  // a C1 control, UTF-8 encoded
        b"/tab\there",                     // a raw tab
        b"/bell%07",                       // BEL
    ];
    for target in hostile {
        let response = server.exchange_to_eof(&raw_request("GET", target));
        let shown = String::from_utf8_lossy(&response);
        assert!(
            response.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
            "{shown:?}"
        );
        assert!(!has_control_characters(&response), "{shown:?}");
        assert!(!shown.contains("Set-Cookie"), "{shown:?}");
        assert!(!shown.contains("Hello"), "{shown:?}");
    }
    // The log is safe too: the server printed the request lines escaped.
    // Waited for: the log comes through a pipe and a reader thread, which a
    // loaded machine may not have run yet when the last answer is in.
    server.wait_for_line("the raw escape, escaped", |line| {
        line.contains(r"\u{1b}[2Jcleared")
    });
    assert!(
        !has_control_characters(server.stdout().as_bytes()),
        "{:?}",
        server.stdout()
    );
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

#[test]
fn refuses_bad_escapes_and_names_that_are_not_utf8() {
    let server = start();
    for target in ["/%zz", "/%4", "/abc%", "/%+1", "/%C3", "/%FF%FE"] {
        let response = server.get(target);
        assert_eq!(response.status, 400, "{target}: {response:?}");
    }
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

#[test]
fn refuses_bad_request_lines_and_other_methods() {
    let server = start();
    let bad: [&[u8]; 5] = [
        b"garbage\r\n\r\n",
        b"GET /Alice\r\n\r\n",
        b"GET  /Alice HTTP/1.1\r\n\r\n",
        b"GET Alice HTTP/1.1\r\n\r\n",
        b"GET /Alice SMTP\r\n\r\n",
    ];
    for request in bad {
        let response = server.exchange(request, false);
        assert_eq!(
            response.status,
            400,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    let response = server.exchange(b"POST /Alice HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

#[test]
fn answers_head_with_the_head_only() {
    let server = start();
    let response = server.exchange_to_eof(b"HEAD /Alice HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("Content-Length: 14\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\n"), "a body came: {response:?}");
}

#[test]
fn reads_the_whole_head_even_when_it_comes_in_pieces() {
    let server = start();
    let mut stream = server.connect();
    stream.write_all(b"GET /Al").unwrap();
    // Half a request line: a server that answered what one read brought
    // would answer now. This one waits for the blank line.
    assert!(stays_open_for(&mut stream, Duration::from_millis(300)));
    stream
        .write_all(b"ice HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    assert!(stays_open_for(&mut stream, Duration::from_millis(300)));
    stream.write_all(b"\r\n").unwrap();
    let response = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(
        response.ends_with("\r\n\r\nHello, Alice!\n"),
        "{response:?}"
    );
}

#[test]
fn refuses_a_head_longer_than_8_kib_and_lives_on() {
    let server = start();
    let long_header = format!("X-Padding: {}\r\n", "x".repeat(9000));
    let request = format!("GET /Alice HTTP/1.1\r\n{long_header}\r\n");
    let response = server.exchange(request.as_bytes(), false);
    assert_eq!(response.status, 431);
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

#[test]
fn a_client_that_closes_early_gets_nothing_and_the_server_lives_on() {
    let server = start();
    drop(server.connect());
    let mut half = server.connect();
    half.write_all(b"GET /Alice HTTP/1.1\r\n").unwrap();
    half.shutdown(std::net::Shutdown::Write).unwrap();
    // The head never ended: the server says so, and closes.
    let answer = String::from_utf8(read_to_eof(&mut half)).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

#[test]
fn wants_one_valid_host_in_http_1_1_as_the_static_servers_do() {
    let server = start();
    for request in [
        &b"GET /Alice HTTP/1.1\r\n\r\n"[..],
        b"GET /Alice HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /Alice HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET /Alice HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    ] {
        let response = server.exchange(request, false);
        let shown = String::from_utf8_lossy(request);
        assert_eq!(response.status, 400, "{shown:?}: {response:?}");
        assert!(!response.body_text().contains("Hello"), "{shown:?}");
    }
    // HTTP/1.0 predates Host: none is needed.
    let response = server.exchange(b"GET /Alice HTTP/1.0\r\n\r\n", false);
    assert_eq!(response.body_text(), "Hello, Alice!\n");
    assert_greets(&server, "/Alice", "Hello, Alice!");
}

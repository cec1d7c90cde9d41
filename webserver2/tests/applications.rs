//! webserver2, the application side: each application runs under the same
//! server, every path of the router answers as its table says, state lives
//! in the application, and every way an application can fail is a 500 that
//! the server survives.

use std::io::Write;

use testkit::{request_for, Launch, Response, Server};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver2");

fn start(application: &str) -> Server {
    Launch::new(BINARY).arg(application).start_server()
}

fn assert_answer(server: &Server, target: &str, status: u16, body: &str) {
    let response = server.get(target);
    assert_eq!(response.status, status, "{target}: {response:?}");
    assert_eq!(response.body_text(), body, "{target}");
}

#[test]
fn hello_greets_every_request_alike() {
    let server = start("hello");
    let greeting = "Hello, World! (from a plain function)\n";
    assert_answer(&server, "/", 200, greeting);
    assert_answer(&server, "/any/path?at=all", 200, greeting);
    let response = server.exchange(
        b"DELETE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        false,
    );
    assert_eq!(response.body_text(), greeting);
}

#[test]
fn the_router_answers_its_routes_and_their_parameters() {
    let server = start("router");
    assert_answer(&server, "/hello", 200, "Hello, World! (from the router)\n");
    assert_answer(&server, "/hello/Alice", 200, "Hello, Alice!\n");
    assert_answer(
        &server,
        "/hello/Zhuibing%20Dan",
        200,
        "Hello, Zhuibing Dan!\n",
    );
    assert_answer(&server, "/hello/%E5%BC%A0%E4%B8%89", 200, "Hello, 张三!\n");
    assert_answer(&server, "/hello/Alice?x=1", 200, "Hello, Alice!\n");
}

#[test]
fn the_router_answers_404_and_405_for_what_it_has_no_route_for() {
    let server = start("router");
    for target in ["/", "/nope", "/hello/", "/hello/a/b", "/hello/a%2Fb"] {
        assert_eq!(server.get(target).status, 404, "{target}");
    }
    let response = server.exchange(b"POST /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    let response = server.get("/echo");
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
}

#[test]
fn the_router_answers_head_as_get_without_the_body() {
    let server = start("router");
    let raw = server.exchange_to_eof(b"HEAD /hello/Alice HTTP/1.1\r\nHost: x\r\n\r\n");
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 14\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text:?}");
}

#[test]
fn the_router_echoes_a_body_byte_for_byte() {
    let server = start("router");
    let body: Vec<u8> = (0..=255).collect();
    let mut request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 256\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    let response = server.exchange(&request, false);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(response.body, body);
    // Too big to print: the log says how big instead.
    server.wait_for_line("the body's size", |line| line == "> [256 bytes of body]");
}

#[test]
fn the_environ_holds_the_request_as_cgi_variables() {
    let server = start("router");
    let mut stream = server.connect();
    stream
        .write_all(
            b"GET /environ?name=%41l+ice&x HTTP/1.1\r\n\
              Host: localhost\r\n\
              User-Agent: testkit\r\n\
              X-Repeated: a\r\n\
              X-Repeated: b\r\n\
              X_Underscored: dropped\r\n\
              Content-Type: text/plain\r\n\
              Content-Length: 3\r\n\
              Content-Length: 3\r\n\
              \r\n\
              abc",
        )
        .unwrap();
    let local_port = stream.local_addr().unwrap().port();
    let response = testkit::read_response(&mut std::io::BufReader::new(stream), false).unwrap();
    assert_eq!(response.status, 200);
    let listing = response.body_text();
    let lines: Vec<&str> = listing.lines().collect();
    let port = server.port;
    for expected in [
        "REQUEST_METHOD=GET",
        "SCRIPT_NAME=",
        "PATH_INFO=/environ",
        "QUERY_STRING=name=%41l+ice&x",
        "SERVER_PROTOCOL=HTTP/1.1",
        "SERVER_NAME=127.0.0.1",
        &format!("SERVER_PORT={port}"),
        "REMOTE_ADDR=127.0.0.1",
        &format!("REMOTE_PORT={local_port}"),
        "HTTP_HOST=localhost",
        "HTTP_USER_AGENT=testkit",
        "HTTP_X_REPEATED=a, b",
        "CONTENT_TYPE=text/plain",
        "CONTENT_LENGTH=3",
        "wsgi.url_scheme=http",
        "wsgi.input: 3 bytes",
    ] {
        assert!(lines.contains(&expected), "{expected} in:\n{listing}");
    }
    assert!(!listing.contains("UNDERSCORED"), "{listing}");
    assert!(!listing.contains("HTTP_CONTENT"), "{listing}");
}

#[test]
fn the_counter_keeps_its_state_across_connections() {
    let server = start("counter");
    for visit in 1..=3 {
        assert_answer(
            &server,
            "/",
            200,
            &format!("Hello, World! (visit number {visit}, counted by a struct)\n"),
        );
    }
    let response = server.exchange(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(response.status, 405);
    assert_answer(
        &server,
        "/another/path",
        200,
        "Hello, World! (visit number 4, counted by a struct)\n",
    );
}

#[test]
fn every_failure_of_an_application_is_a_500_and_the_server_lives_on() {
    let mut server = start("faulty");
    let listing = server.get("/").body_text();
    let failures = [
        (
            "/error",
            "it returned an error: the faulty application failed on purpose",
        ),
        (
            "/panic",
            "it panicked: the faulty application panicked on purpose",
        ),
        (
            "/no-start-response",
            "it returned without calling start_response",
        ),
        ("/bad-status", "the status \"OK\" is not of the form"),
        (
            "/header-injection",
            "the value of header X-Greeting holds control characters",
        ),
        (
            "/failing-body",
            "it returned an error: the second chunk failed on purpose",
        ),
        (
            "/wrong-length",
            "Content-Length says \"1000\", but the body has 26 bytes",
        ),
    ];
    for (path, reason) in failures {
        assert!(listing.contains(path), "{path} missing from {listing}");
        let raw = server.exchange_to_eof(request_for(path).as_bytes());
        let response = Response::parse(&raw);
        assert_eq!(response.status, 500, "{path}: {response:?}");
        assert_eq!(
            response.body_text(),
            "500 Internal Server Error: The application failed.\n"
        );
        // Nothing of the failed response leaks: no injected header, no
        // half of a body.
        let shown = String::from_utf8_lossy(&raw);
        assert!(!shown.contains("Set-Cookie"), "{path}: {shown}");
        assert!(!shown.contains("X-Greeting"), "{path}: {shown}");
        assert!(!shown.contains("first chunk"), "{path}: {shown}");
        // The reason goes to the server's stderr, for whoever runs it.
        testkit::eventually(testkit::PATIENCE, reason, || {
            server.stderr().contains(reason).then_some(())
        });
        // And the next request is served.
        assert_eq!(server.get("/").status, 200, "after {path}");
    }
    assert!(server.is_running());
}

//! webserver1: the first server answers every request with the greeting,
//! prints what it read, and closes the connection.

use std::io::Write;

use testkit::{contract, read_to_eof, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver1");

testkit::server_contract_tests!(BINARY);

#[test]
fn answers_with_the_greeting_and_closes_the_connection() {
    let server = Launch::new(BINARY).start_server();
    // read_to_eof returns only once the server has closed: the greeting is
    // the whole response, status line, blank line and body.
    let response = server.get_to_eof("/hello");
    assert_eq!(response, common::HTTP_RESPONSE);
}

#[test]
fn prints_each_request_it_reads() {
    let server = Launch::new(BINARY).start_server();
    server.get_to_eof("/first");
    server.get_to_eof("/second");
    server.wait_for_line("the first request", |line| line == "GET /first HTTP/1.1");
    server.wait_for_line("the second request", |line| line == "GET /second HTTP/1.1");
}

#[test]
fn answers_one_line_that_is_not_http_at_once() {
    // The article's telnet session: type any line, press Enter, and the
    // greeting comes back. One line with no blank line after it is not a
    // complete HTTP request; a server that waited for the end of the head
    // would still be waiting, and read_to_eof would time out.
    let server = Launch::new(BINARY).start_server();
    let mut stream = server.connect();
    stream.write_all(b"anything at all\r\n").unwrap();
    assert_eq!(read_to_eof(&mut stream), common::HTTP_RESPONSE);
    server.wait_for_line("the line it read", |line| line == "anything at all");
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}

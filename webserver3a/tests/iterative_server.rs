//! webserver3a: an iterative server answers each request with the greeting
//! and closes the connection.

use testkit::{contract, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3a");

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
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}

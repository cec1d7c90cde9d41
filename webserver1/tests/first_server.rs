//! webserver1: the first server answers every request with the greeting,
//! prints what it read, and closes the connection.

use std::io::Write;

use testkit::{contract, read_to_eof, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver1");

testkit::server_contract_tests!(BINARY);

#[test]
fn answers_with_the_greeting_and_closes_the_connection() {
    let server = Launch::new(BINARY).start_server();
    contract::answers_with_and_closes(&server, common::HTTP_RESPONSE);
}

#[test]
fn prints_each_request_it_reads() {
    let server = Launch::new(BINARY).start_server();
    contract::prints_each_request_line(&server);
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

//! webserver3a: an iterative server answers each request with the greeting
//! and closes the connection.

use testkit::{contract, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3a");

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
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}

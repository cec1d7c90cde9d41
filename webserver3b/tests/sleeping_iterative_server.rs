//! webserver3b: while the iterative server sleeps after answering one
//! client, the next client waits in the listen queue.

use std::io::{ErrorKind, Read};

use testkit::{contract, read_until_contains, send_request, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3b");

testkit::server_contract_tests!(BINARY, sleeps);

#[test]
fn the_second_client_is_served_only_after_the_first_is_closed() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "1").start_server();

    let mut first = server.connect();
    send_request(&mut first, "/first");
    read_until_contains(&mut first, b"Hello, World!");

    // The server now sleeps with the first connection open. The second
    // client's connection is completed by the kernel and waits in the
    // listen queue; its request waits in the socket's receive buffer.
    let mut second = server.connect();
    send_request(&mut second, "/second");
    let answer = read_until_contains(&mut second, b"Hello, World!");
    assert_eq!(answer, common::HTTP_RESPONSE);

    // The second answer has arrived. An iterative server sends it only after
    // it has closed the first connection, so the first client's end-of-file
    // is already waiting: a non-blocking read finds it (Ok(0)) instead of
    // WouldBlock, which is what a concurrent server would give here.
    first.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    match first.read(&mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("unexpected bytes after the greeting"),
        Err(err) if err.kind() == ErrorKind::WouldBlock => {
            panic!("the second client was answered while the first was still open")
        }
        Err(err) => panic!("reading the first connection: {err}"),
    }
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "0").start_server();
    contract::survives_hostile_clients(&server);
}

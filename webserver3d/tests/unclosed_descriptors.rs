//! webserver3d: the parent keeps its copy of every client socket, so no
//! client ever sees end-of-file, and the descriptors run out.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use testkit::{
    contract, eventually, read_until_contains, send_request, stays_open_for, Launch, PATIENCE,
};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3d");

testkit::server_contract_tests!(BINARY);

#[test]
fn the_client_never_sees_end_of_file() {
    let server = Launch::new(BINARY).start_server();
    let mut client = server.connect();
    send_request(&mut client, "/hello");
    let answer = read_until_contains(&mut client, b"Hello, World!");
    assert_eq!(answer, common::HTTP_RESPONSE);

    // The child has answered, closed its copy and exited: it is a zombie
    // now, and a zombie holds no descriptors.
    eventually(PATIENCE, "the child to exit", || {
        (!server.zombie_children().is_empty()).then_some(())
    });
    // Only the parent's copy keeps the connection open. Had it been closed,
    // the FIN would already be here and the read would return end-of-file
    // at once; instead, nothing comes.
    assert!(
        stays_open_for(&mut client, Duration::from_millis(500)),
        "the connection was closed"
    );
    server.wait_for_line("the count of kept clients", |line| line == "1");
}

#[test]
fn runs_out_of_descriptors_and_dies_with_too_many_open_files() {
    // As `ulimit -n 16`: stdin, stdout, stderr and the listening socket
    // leave room for at most 12 kept client sockets (fewer when the test
    // runner passes descriptors of its own down, as cargo's jobserver does).
    let mut server = Launch::new(BINARY).open_file_limit(16).start_server();
    let mut clients = Vec::new();
    for _ in 0..20 {
        // Once the server is dead, connections are refused: that is fine.
        let Ok(mut client) = TcpStream::connect(server.address()) else {
            break;
        };
        let _ = client.write_all(testkit::request_for("/hello").as_bytes());
        clients.push(client);
    }
    contract::assert_one_line_error(&mut server.process, "Too many open files");
    let kept = server
        .stdout_lines()
        .iter()
        .filter_map(|line| line.parse::<usize>().ok())
        .max();
    assert!(
        matches!(kept, Some(1..=12)),
        "clients kept before the limit: {kept:?}"
    );
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}
